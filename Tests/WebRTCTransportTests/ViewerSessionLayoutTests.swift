import NIOCore
import SDP
import Adaptation
import SRTP
@testable import WebRTCTransport
import XCTest

/// The fan-out prefetches a viewer's first `ViewerSession.hotBytes` a turn or two ahead (`EgressShard.prefetchAhead`),
/// and for a video frame only the first `selectionBytes` two ahead. That pays off only while the fields it reads per
/// packet lie there: a field added at the top of the class, or grown, would silently push them out.
final class ViewerSessionLayoutTests: XCTestCase {
    func testPerPacketFieldsLieWithinThePrefetchedBytes() async throws {
        let viewer = try await TestViewer(serverPort: 9)
        let offer = try WHEPOffer.parse(viewer.offer())
        let parameters = AnswerParameters(iceUfrag: "serverufrag", icePwd: "serverpasswordserverpassword",
                                          fingerprintSHA256: viewer.certificate.fingerprintSHA256, candidates: [],
                                          videoSSRC: 1, videoRTXSSRC: 2, audioSSRC: 3, cname: "layout",
                                          streamID: "liverelay", sessionID: 1)
        let negotiated = try WHEPAnswer.make(offer: offer, parameters: parameters).session
        let video = try XCTUnwrap(negotiated.video)
        let audio = try XCTUnwrap(negotiated.audio)
        let consumer = SimulcastConsumer(
            layer: "720p", maximumLayer: nil,
            video: VideoSender(ssrc: 1, payloadType: video.payloadType,
                               packetizer: EgressShard.videoPacketizer(video, ssrc: 1, maximumPacketSize: 1200),
                               timestampOffset: 0, rtx: nil),
            audio: AudioSender(ssrc: 3, payloadType: audio.payloadType, packetizer: EgressShard.audioPacketizer(audio, ssrc: 3),
                               timestampOffset: 0),
            transportWideFeedback: true, initialBitrate: 1_000_000,
            pacing: PacingBudget(bitrate: 1_000_000, burstMicroseconds: 20_000, minimumCapacity: 2400, now: 0))
        let session = ViewerSession(
            id: "layout", stream: "cam", localUfrag: "serverufrag", localPassword: "serverpasswordserverpassword",
            offer: offer, negotiated: negotiated, cname: "layout", consumer: consumer, now: .now())
        let base = Int(bitPattern: Unmanaged.passUnretained(session).toOpaque())
        // A final class's stored property without observers is reached in place: these are the object's own bytes.
        func offset<T>(_ field: inout T) -> Int {
            withUnsafeMutablePointer(to: &field) { Int(bitPattern: $0) } - base
        }
        let phase = offset(&session.phase)
        let pendingLayer = offset(&session.consumer.pendingLayer)
        let video_ = offset(&session.consumer.video)
        let estimator = offset(&session.consumer.estimator)
        XCTAssertLessThan(phase, 64, "phase is on the object's first line")
        XCTAssertLessThanOrEqual(pendingLayer + MemoryLayout<String?>.size, ViewerSession.selectionBytes,
                                 "what says whether a frame is for the viewer is within the first selectionBytes")
        XCTAssertLessThan(video_, estimator)
        // The consumer's state that is not read per packet lies past the prefetched bytes.
        XCTAssertGreaterThanOrEqual(offset(&session.consumer.selector), ViewerSession.hotBytes - 128)
        // The estimator's first field (its probe, whose tag `isProbing` reads for every packet) is within the
        // prefetched bytes, and the prefetch reaches little further.
        XCTAssertLessThanOrEqual(estimator + 128, ViewerSession.hotBytes, "the estimator's probe is prefetched")
        XCTAssertGreaterThan(estimator + 256, ViewerSession.hotBytes, "hotBytes reaches little beyond the estimator's probe")
        try await viewer.channel.close()
    }
}
