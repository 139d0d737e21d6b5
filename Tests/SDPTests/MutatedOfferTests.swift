import SDP
import Testing
import TestSupport

/// Captured offers with random damage: whatever comes in, the parser and the answer writer either
/// succeed consistently or throw an `SDPError`; they never trap.
@Suite("Mutated offers")
struct MutatedOfferTests {
    static let alphabet = Array("v=oamc: \r\n0123456789/-*abcVP8opus".utf8)

    static func mutate(_ text: String, _ generator: inout SplitMix64) -> String {
        var bytes = Array(text.utf8)
        switch generator.next() % 4 {
        case 0:  // truncate
            bytes = Array(bytes.prefix(Int(generator.next() % UInt64(bytes.count))))
        case 1:  // overwrite a few bytes with SDP-ish characters
            for _ in 0..<(1 + generator.next() % 8) {
                bytes[Int(generator.next() % UInt64(bytes.count))] = alphabet[Int(generator.next() % UInt64(alphabet.count))]
            }
        case 2:  // delete a run
            let start = Int(generator.next() % UInt64(bytes.count))
            let length = min(bytes.count - start, Int(generator.next() % 200))
            bytes.removeSubrange(start..<(start + length))
        default:  // duplicate a run somewhere else
            let start = Int(generator.next() % UInt64(bytes.count))
            let run = bytes[start..<min(bytes.count, start + Int(generator.next() % 300))]
            bytes.insert(contentsOf: run, at: Int(generator.next() % UInt64(bytes.count)))
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    @Test(arguments: [CapturedOffers.aiortc, CapturedOffers.chromium, CapturedOffers.firefox])
    func mutationsNeverTrap(_ original: String) throws {
        var generator = SplitMix64(seed: UInt64(original.utf8.count))
        var parsedCount = 0
        var answeredCount = 0
        for _ in 0..<400 {
            let text = Self.mutate(original, &generator)
            guard let description = try? SessionDescription.parse(text) else { continue }
            parsedCount += 1
            #expect(try SessionDescription.parse(description.serialized()) == description)
            guard let offer = try? WHEPOffer(description) else { continue }
            do {
                let (sdp, session) = try WHEPAnswer.make(offer: offer, parameters: WHEPAnswerTests.parameters)
                answeredCount += 1
                let answer = try SessionDescription.parse(sdp)
                #expect(answer.media.count == offer.media.count)
                #expect(session.video != nil || session.audio != nil)
            } catch {
                #expect(error.httpStatus == 406 || error.httpStatus == 400)
            }
        }
        // The damage is light enough that many mutants still parse; otherwise this test would prove little.
        #expect(parsedCount > 100)
        #expect(answeredCount > 50)
    }
}
