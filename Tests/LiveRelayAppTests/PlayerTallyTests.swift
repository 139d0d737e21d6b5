import HTTPServer
import Testing

/// DASH/HLS players counted at the origin from their manifest fetches.
@Suite("DASH/HLS player tally")
struct PlayerTallyTests {
    @Test func playersAreCountedByProtocolAndAgeOut() {
        let tally = PlayerTally(window: 10, capacity: 3)
        tally.saw(stream: "s", kind: "hls", client: "10.0.0.1 Chrome", now: 100)
        tally.saw(stream: "s", kind: "hls", client: "10.0.0.1 Chrome", now: 101)  // the same player reloading
        tally.saw(stream: "s", kind: "hls", client: "10.0.0.2 Safari", now: 102)
        tally.saw(stream: "s", kind: "dash", client: "10.0.0.3 dash.js", now: 103)
        tally.saw(stream: "other", kind: "dash", client: "10.0.0.1 Chrome", now: 103)
        #expect(tally.counts(stream: "s", now: 104) == ["hls": 2, "dash": 1])
        #expect(tally.counts(stream: "other", now: 104) == ["dash": 1])
        // Full: a fourth client is not remembered, a known one still refreshes.
        tally.saw(stream: "s", kind: "hls", client: "10.0.0.4 Firefox", now: 105)
        tally.saw(stream: "s", kind: "hls", client: "10.0.0.1 Chrome", now: 109)
        #expect(tally.counts(stream: "s", now: 110) == ["hls": 2, "dash": 1])
        // Players that stop fetching drop out after the window.
        #expect(tally.counts(stream: "s", now: 115) == ["hls": 1])
        #expect(tally.counts(stream: "s", now: 120).isEmpty)
        // Once aged out, room for new players again.
        tally.saw(stream: "s", kind: "hls", client: "10.0.0.4 Firefox", now: 121)
        #expect(tally.counts(stream: "s", now: 121) == ["hls": 1])
    }
}
