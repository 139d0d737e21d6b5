// The JSON bodies the API decodes whose fields are plain values; they import nothing but Foundation so that the
// fuzzers can decode them without the server. TokenRequest and FlashRequest stay in AudienceAPI: their fields are
// the Audience module's enums.

/// `POST /api/streams`.
struct CreateStreamRequest: Decodable {
    var name: String
    var `private`: Bool?
}

/// `POST /api/streams/:name/comments`.
struct CommentRequest: Decodable {
    var text: String
}

/// `POST /api/streams/:name/bans`.
struct BanRequest: Decodable {
    var sub: String
    var reason: String?
}

/// `POST /api/streams/:name/reactions`.
struct ReactionRequest: Decodable {
    var type: String
}

/// `PUT /api/webrtc/sessions/:session/layer`: a rung (`{"layer":"180p"}`), or back to the estimate (`{"layer":null}`).
struct LayerPinRequest: Decodable {
    var layer: String?
}

/// A text frame a client sends on the event channel (`{"type":"reaction","reaction":"clap"}`, `{"type":"ping"}`).
struct EventChannelMessage: Decodable {
    var type: String
    var reaction: String?
}
