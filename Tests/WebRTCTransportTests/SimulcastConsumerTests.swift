import Adaptation
import DatagramIO
import MediaCore
import MediaRouter
import NIOCore
import RTP
import SRTP
@testable import WebRTCTransport
import XCTest

/// One viewer's consumer on its own: no socket, no event loop, no shard. Time is what the test says it is, so a
/// 10-second starvation timeout or a 1-second keyframe limit takes no time at all.
final class SimulcastConsumerTests: XCTestCase {
    let ladder = [
        RenditionLayout.Layer(rung: "720p", width: 1280, height: 720, fps: 30, bitrate: 2_500_000),
        RenditionLayout.Layer(rung: "360p", width: 640, height: 360, fps: 30, bitrate: 800_000),
        RenditionLayout.Layer(rung: "180p", width: 320, height: 180, fps: 15, bitrate: 250_000),
    ]
    var costs: [(rung: String, bitrate: Int)] { ladder.map { ($0.rung, $0.bitrate + 64_000) } }
    let policy = SimulcastConsumer.Policy(pacingFactor: 2.5, pacingBurst: 20_000, maximumPacingDelay: 500_000,
                                          maximumPacketSize: 1200, slowViewerTimeout: .seconds(10))
    var now = NIODeadline.uptimeNanoseconds(5_000_000_000)

    func makeConsumer(layer: String = "720p", rtx: Bool = true, pacingBitrate: Int = 1_000_000) -> SimulcastConsumer {
        let video = VideoSender(ssrc: 1111, payloadType: 96,
                                packetizer: VP8Packetizer(payloadType: 96, ssrc: 1111, maximumPacketSize: 1200, reservedTrailerLength: 18),
                                timestampOffset: 0,
                                rtx: rtx ? RTPHeaderTemplate(payloadType: 97, ssrc: 1112, extensions: .none) : nil)
        let audio = AudioSender(ssrc: 2222, payloadType: 111, packetizer: OpusPacketizer(payloadType: 111, ssrc: 2222), timestampOffset: 0)
        return SimulcastConsumer(layer: layer, maximumLayer: nil, video: video, audio: audio, transportWideFeedback: false,
                                 initialBitrate: 2_000_000,
                                 pacing: PacingBudget(bitrate: pacingBitrate, burstMicroseconds: 20_000, minimumCapacity: 2400,
                                                      now: EgressShard.microseconds(now)))
    }

    func advance(_ amount: TimeAmount) { now = now + amount }

    func testNothingGoesOutBeforeAKeyframeAndASwitchLandsOnTheNewRungsKeyframe() {
        var consumer = makeConsumer()
        XCTAssertEqual(consumer.connected(now: now), .requestKeyframe(rung: "720p"))
        guard case .skip = consumer.verdict(rung: "720p", isKeyframe: false) else { return XCTFail("a delta frame before any keyframe") }
        guard case .send = consumer.verdict(rung: "720p", isKeyframe: true) else { return XCTFail("the keyframe goes") }
        guard case .send = consumer.verdict(rung: "720p", isKeyframe: false) else { return XCTFail("then every frame") }
        guard case .skip = consumer.verdict(rung: "360p", isKeyframe: true) else { return XCTFail("another rung's frames do not") }

        XCTAssertEqual(consumer.switchLayer(to: "360p", now: now), .requestKeyframe(rung: "360p"))
        XCTAssertNil(consumer.switchLayer(to: "360p", now: now), "asked once")
        XCTAssertTrue(consumer.follows("720p") && consumer.follows("360p"))
        guard case .send = consumer.verdict(rung: "720p", isKeyframe: false) else { return XCTFail("the old rung goes on meanwhile") }
        guard case .skip = consumer.verdict(rung: "360p", isKeyframe: false) else { return XCTFail("the new rung's delta frames wait") }
        guard case .sendAfterSwitch(let from) = consumer.verdict(rung: "360p", isKeyframe: true) else {
            return XCTFail("the switch lands on the new rung's keyframe")
        }
        XCTAssertEqual(from, "720p")
        XCTAssertEqual(consumer.layer, "360p")
        XCTAssertNil(consumer.pendingLayer)
        guard case .skip = consumer.verdict(rung: "720p", isKeyframe: true) else { return XCTFail("the old rung stops") }
    }

    func testKeyframeRequestsAreLimitedByTheClockGiven() {
        var consumer = makeConsumer()
        XCTAssertEqual(consumer.keyframeWanted(now: now), .requestKeyframe(rung: "720p"))
        advance(.milliseconds(299))
        XCTAssertNil(consumer.keyframeWanted(now: now), "at most one every 300 ms")
        XCTAssertEqual(consumer.keyframeWanted(force: true, now: now), .requestKeyframe(rung: "720p"), "unless forced")
        advance(.milliseconds(300))
        XCTAssertEqual(consumer.keyframeWanted(now: now), .requestKeyframe(rung: "720p"))

        XCTAssertEqual(consumer.viewerAskedForKeyframe(now: now), .requestKeyframe(rung: "720p"))
        advance(.milliseconds(999))
        XCTAssertNil(consumer.viewerAskedForKeyframe(now: now), "a viewer's PLIs reach the encoder once a second")
        advance(.milliseconds(1))
        XCTAssertEqual(consumer.viewerAskedForKeyframe(now: now), .requestKeyframe(rung: "720p"))
    }

    func testAnEstimateFarBelowTheRungMovesTheViewerDownAndItsKeyframeIsAskedForAgainUntilItComes() {
        var consumer = makeConsumer()
        _ = consumer.connected(now: now)
        var switched: String?
        for _ in 0..<50 where switched == nil {
            consumer.receivedREMB(bitrate: 600_000, now: now)
            for action in consumer.adapt(costs: costs, cap: 0, policy: policy, now: now) {
                if case .requestKeyframe(let rung) = action, rung != "720p" { switched = rung }
            }
            advance(.milliseconds(100))
        }
        XCTAssertEqual(switched, "180p", "600 kbit/s carries the 180p rung, not 360p (864 kbit/s)")
        XCTAssertEqual(consumer.pendingLayer, "180p")
        XCTAssertEqual(consumer.layer, "720p", "still on 720p until the keyframe")
        XCTAssertEqual(consumer.pacing.bitrate, Int(2.5 * Double(costs[0].bitrate)), "paced for the dearer of the two")

        advance(.milliseconds(501))
        XCTAssertTrue(consumer.adapt(costs: costs, cap: 0, policy: policy, now: now).contains(.requestKeyframe(rung: "180p")),
                      "the keyframe is asked for again after 500 ms")
        guard case .sendAfterSwitch = consumer.verdict(rung: "180p", isKeyframe: true) else { return XCTFail("lands") }
        XCTAssertEqual(consumer.layer, "180p")
        _ = consumer.adapt(costs: costs, cap: 0, policy: policy, now: now)
        XCTAssertEqual(consumer.pacing.bitrate, Int(2.5 * Double(max(600_000, costs[2].bitrate))))
    }

    func testAViewerStarvedOnTheBottomRungIsClosedWhenTheTimeoutHasPassed() {
        var consumer = makeConsumer(layer: "180p")
        _ = consumer.connected(now: now)
        let start = now
        var closedAfter: TimeAmount?
        while closedAfter == nil, now - start < .seconds(20) {
            consumer.receivedREMB(bitrate: 80_000, now: now)
            if consumer.adapt(costs: costs, cap: 0, policy: policy, now: now).contains(.close(.tooSlow)) { closedAfter = now - start }
            advance(.milliseconds(250))
        }
        XCTAssertEqual(closedAfter, .seconds(10), "closed at the slow-viewer timeout, not before")

        var pinned = makeConsumer(layer: "180p")
        XCTAssertEqual(pinned.pin("180p", ladder: ladder, now: now), [])
        for _ in 0..<60 {
            pinned.receivedREMB(bitrate: 80_000, now: now)
            XCTAssertFalse(pinned.adapt(costs: costs, cap: 0, policy: policy, now: now).contains(.close(.tooSlow)), "a pinned viewer stays")
            advance(.milliseconds(250))
        }
    }

    func testANewLadderWithoutTheViewersRungMovesItAndWaitsForAKeyframe() {
        var consumer = makeConsumer(layer: "720p")
        _ = consumer.connected(now: now)
        _ = consumer.verdict(rung: "720p", isKeyframe: true)
        XCTAssertNil(consumer.ladderChanged(ladder, now: now), "its rung is still there")
        let smaller = Array(ladder.dropFirst())
        XCTAssertEqual(consumer.ladderChanged(smaller, now: now), .requestKeyframe(rung: "360p"))
        XCTAssertEqual(consumer.layer, "360p")
        XCTAssertTrue(consumer.awaitingKeyframe)
        XCTAssertNil(consumer.pin("720p", ladder: smaller, now: now), "a rung not in the ladder cannot be pinned")
    }

    func testThePacerSpreadsAKeyframeOverTheClockAndRepairsAreNotRepeatedWithin50Milliseconds() throws {
        // 1 Mbit/s (125 bytes a millisecond) with a 20 ms burst: a 30 kB keyframe takes about 220 ms.
        var consumer = makeConsumer(pacingBitrate: 1_000_000)
        _ = consumer.connected(now: now)
        let batch = DatagramBatch(slotSize: 1200 + 64 + SRTPSession.maximumTrailerLength)
        let sealer = try SRTPSession(profile: .aes128CMHMACSHA1_80, key: Array(repeating: 7, count: 16),
                                     salt: Array(repeating: 9, count: 14), direction: .outbound)
        let outlet = SimulcastConsumer.Outlet(batch: batch, sealer: sealer,
                                              address: DatagramAddress(try SocketAddress(ipAddress: "127.0.0.1", port: 9)))
        var tally = SentPacketTally()
        var data = ByteBuffer()
        data.writeRepeatingByte(0x5a, count: 30_000)
        let (dropped, _) = consumer.enqueue(data: data, pts: 0, isKeyframe: true, policy: policy, now: now,
                                            at: EgressShard.microseconds(now))
        XCTAssertEqual(dropped, 0)
        var sent = consumer.sendQueued(through: outlet, tally: &tally, at: EgressShard.microseconds(now), stamp: 0)
        XCTAssertGreaterThan(sent, 0)
        XCTAssertLessThan(sent, 5, "only the burst goes at once")
        XCTAssertTrue(consumer.hasQueuedVideo)
        var steps = 0
        while consumer.hasQueuedVideo, steps < 200 {
            advance(.milliseconds(5))
            sent += consumer.sendQueued(through: outlet, tally: &tally, at: EgressShard.microseconds(now), stamp: 0)
            batch.flush()
            steps += 1
        }
        XCTAssertEqual(sent, 26, "every packet of the frame left")
        XCTAssertGreaterThanOrEqual(steps * 5, 180, "spread over about 220 ms")
        XCTAssertLessThanOrEqual(steps * 5, 260)

        var scratch = ByteBuffer()
        let first = consumer.video!.history.last!.firstSequenceNumber
        var repair = consumer.retransmit([first, first &+ 1], through: outlet, scratch: &scratch, tally: &tally, now: now)
        XCTAssertEqual(repair.sent, 2)
        advance(.milliseconds(49))
        repair = consumer.retransmit([first], through: outlet, scratch: &scratch, tally: &tally, now: now)
        XCTAssertEqual(repair.repeated, 1, "asked again within 50 ms: not answered twice")
        advance(.milliseconds(1))
        repair = consumer.retransmit([first, first &- 1], through: outlet, scratch: &scratch, tally: &tally, now: now)
        XCTAssertEqual(repair.sent, 1)
        XCTAssertEqual(repair.missed, 1, "a packet never sent is not in the history")
        batch.flush()
    }
}
