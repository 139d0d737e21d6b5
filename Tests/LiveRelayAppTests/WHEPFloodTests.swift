import Foundation
import Testing
@testable import LiveRelayApp

/// A WHEP flood from one address (127.0.0.2, the attacker) is answered 429 with Retry-After before any offer is
/// parsed, and an offer from another address (127.0.0.1) is still served.
@Suite("WHEP flood", .serialized)
struct WHEPFloodTests {
    @Test func aFloodFromOneAddressIsRefusedAndAnotherAddressIsServed() async throws {
        let node = try await TestServer { configuration in
            configuration.webrtc.host = "127.0.0.1"
            configuration.webrtc.offersPerSecondPerIP = 5
            configuration.webrtc.offerBurstPerIP = 10
        }
        _ = try await node.createStream("flooded")
        let url = node.baseURL + "/whep/flooded"
        // One curl, keep-alive, 60 offers from the attacker's address.
        var arguments = ["curl", "-s", "--interface", "127.0.0.2", "-X", "POST", "-H", "Content-Type: application/sdp",
                         "--data-binary", "v=0", "-w", "%{http_code} %header{retry-after}\\n"]
        for _ in 0..<60 { arguments += ["-o", "/dev/null", url] }
        let flood = ExternalProcess(arguments)
        try flood.start()
        #expect(await flood.wait(timeout: .seconds(60)) == 0, "curl: \(flood.log)")
        let answers = flood.log.split(separator: "\n").map { $0.split(separator: " ") }
        #expect(answers.count == 60, "\(flood.log)")
        let limited = answers.filter { $0.first == "429" }
        #expect(limited.count >= 20, "\(flood.log)")
        #expect(limited.allSatisfy { $0.count == 2 && (Int($0[1]) ?? 0) >= 1 }, "429 carries Retry-After: \(flood.log)")
        // What got through was the cheap refusal of a bad offer, not a session.
        #expect(answers.allSatisfy { $0.first == "429" || $0.first == "400" }, "\(flood.log)")

        // Meanwhile a viewer on another address is answered as usual (400 for this offer: parsed, not limited).
        let other = try await WHEPTests.whep(node, "POST", "/whep/flooded", body: "v=0")
        #expect(other.status == 400, "\(String(decoding: other.body, as: UTF8.self))")
        try await node.stop()
    }
}
