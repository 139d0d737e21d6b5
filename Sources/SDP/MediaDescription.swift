/// One media section: the `m=` line and the `i=`, `c=`, `b=`, `k=`, `a=` lines under it.
public struct MediaDescription: Equatable, Hashable, Sendable {
    /// The media token as written: `video`, `audio`, `application`, or anything else.
    public var media: String
    /// 0 marks a rejected (or bundled-only) section.
    public var port: UInt16
    /// The rarely used `<port>/<count>` form.
    public var portCount: UInt16?
    public var proto: String
    /// Payload type numbers for RTP protocols, other tokens (`webrtc-datachannel`) otherwise.
    public var formats: [String]
    public var information: String?
    public var connections: [ConnectionData]
    /// `b=` values, verbatim.
    public var bandwidths: [String]
    public var encryptionKey: String?
    public var attributes: [SDPAttribute]

    public init(media: String, port: UInt16, portCount: UInt16? = nil, proto: String, formats: [String],
                information: String? = nil, connections: [ConnectionData] = [], bandwidths: [String] = [],
                encryptionKey: String? = nil, attributes: [SDPAttribute] = []) {
        self.media = media
        self.port = port
        self.portCount = portCount
        self.proto = proto
        self.formats = formats
        self.information = information
        self.connections = connections
        self.bandwidths = bandwidths
        self.encryptionKey = encryptionKey
        self.attributes = attributes
    }

    /// Parses the value of an `m=` line; `index` is the 1-based section number used in reasons.
    init(parsingMediaLine text: String, index: Int) throws(SDPError) {
        let fields = SDPToken.fields(text)
        guard fields.count >= 4, fields.allSatisfy(SDPToken.isVisibleField) else {
            throw .malformed(reason: "m-line \(index) needs <media> <port> <proto> <fmt> ...")
        }
        guard SDPToken.isToken(fields[0]) else {
            throw .malformed(reason: "m-line \(index) has an invalid media type")
        }
        let portField = fields[1].split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let port = SDPToken.decimal(portField[0], as: UInt16.self) else {
            throw .malformed(reason: "m-line \(index) port \"\(fields[1])\" is not a number 0-65535")
        }
        var portCount: UInt16?
        if portField.count == 2 {
            guard let count = SDPToken.decimal(portField[1], as: UInt16.self), count > 0 else {
                throw .malformed(reason: "m-line \(index) port \"\(fields[1])\" has an invalid port count")
            }
            portCount = count
        }
        self.init(media: String(fields[0]), port: port, portCount: portCount, proto: String(fields[2]),
                  formats: fields[3...].map(String.init))
    }

    /// The value of the `m=` line as it is written.
    public var mediaLine: String {
        let port = portCount.map { "\(self.port)/\($0)" } ?? "\(self.port)"
        return ([media, port, proto] + formats).joined(separator: " ")
    }

    /// First value of the named attribute; nil when absent or a property without value.
    public func attribute(_ name: String) -> String? {
        attributes.first { $0.name == name }?.value
    }

    public func hasAttribute(_ name: String) -> Bool {
        attributes.contains { $0.name == name }
    }

    public func attributes(named name: String) -> [String] {
        attributes.compactMap { $0.name == name ? ($0.value ?? "") : nil }
    }
}
