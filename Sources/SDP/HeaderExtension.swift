/// An offered RTP header extension (`a=extmap`, RFC 8285). The answer must reuse the offer's id.
public struct HeaderExtension: Equatable, Hashable, Sendable {
    public var id: UInt8
    /// The `/direction` suffix, when the offer gave one (Firefox does for some extensions).
    public var direction: MediaDirection?
    public var uri: String

    public static let midURI = "urn:ietf:params:rtp-hdrext:sdes:mid"
    public static let absSendTimeURI = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
    public static let transportCCURI = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"

    public init(id: UInt8, direction: MediaDirection? = nil, uri: String) {
        self.id = id
        self.direction = direction
        self.uri = uri
    }

    /// Parses `<id>[/<direction>] <uri> [<attributes>]`; ids are 1-255 (RFC 8285 §5).
    init(parsing text: String, mediaIndex: Int) throws(SDPError) {
        let fields = SDPToken.fields(text)
        guard fields.count >= 2, SDPToken.isVisibleField(fields[1]) else {
            throw .malformed(reason: "m-line \(mediaIndex): extmap must be <id> <uri>")
        }
        let idField = fields[0].split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let id = SDPToken.decimal(idField[0], as: UInt8.self), id >= 1 else {
            throw .malformed(reason: "m-line \(mediaIndex): extmap id \"\(fields[0])\" is not 1-255")
        }
        var direction: MediaDirection?
        if idField.count == 2 {
            guard let parsed = MediaDirection(rawValue: String(idField[1])) else {
                throw .malformed(reason: "m-line \(mediaIndex): extmap direction \"\(idField[1])\" is unknown")
            }
            direction = parsed
        }
        self.init(id: id, direction: direction, uri: String(fields[1]))
    }
}
