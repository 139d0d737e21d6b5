import Foundation
@testable import HTTPRequestBodies

/// An API request body, decoded the way its route decodes it. The first byte picks the route; the rest is the body.
/// The allowed fields are the routes' own lists.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTPJSONBodies(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    guard count > 0 else { return 0 }
    let route = start[0]
    let body = Data(bytes: start + 1, count: count - 1)
    switch route % 6 {
    case 0: _ = try? JSONDecoder().decode(CreateStreamRequest.self, from: body)  // Hummingbird's request.decode
    case 1: _ = try? StrictJSON.decode(CommentRequest.self, from: body, fields: ["text"])
    case 2: _ = try? StrictJSON.decode(BanRequest.self, from: body, fields: ["sub", "reason"])
    case 3: _ = try? StrictJSON.decode(ReactionRequest.self, from: body, fields: ["type"])
    case 4: _ = try? StrictJSON.decode(LayerPinRequest.self, from: body, fields: ["layer"])
    default: _ = try? JSONDecoder().decode(EventChannelMessage.self, from: body)  // event channel text frames
    }
    return 0
}
