import SDP

/// A WHEP POST body (an offer) or PATCH body (a trickle fragment): the first byte picks which, the rest is the text.
/// An offer that parses is answered, as the WHEP route does, so the negotiation code sees every accepted offer.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSDP(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let input = UnsafeBufferPointer(start: start, count: count)
    guard let mode = input.first else { return 0 }
    let text = String(decoding: input.dropFirst(), as: UTF8.self)
    if mode & 1 == 0 {
        guard let offer = try? WHEPOffer.parse(text) else { return 0 }
        _ = try? WHEPAnswer.make(offer: offer, parameters: answerParameters)
    } else {
        _ = try? WHEPOffer.candidates(fromTrickleFragment: text)
    }
    return 0
}

/// LiveRelay's side of every answer: fixed, valid values, so an answer fails only because of the offer.
private let answerParameters = AnswerParameters(
    iceUfrag: "LRfz", icePwd: "0123456789abcdefABCDEF+/",
    fingerprintSHA256: "0A:1B:2C:3D:4E:5F:60:71:82:93:A4:B5:C6:D7:E8:F9:0A:1B:2C:3D:4E:5F:60:71:82:93:A4:B5:C6:D7:E8:F9",
    candidates: [ICECandidate(host: "192.0.2.10", port: 5004)],
    videoSSRC: 1111, videoRTXSSRC: 2222, audioSSRC: 3333, cname: "liverelay", streamID: "live", sessionID: 1)
