/// A session description (RFC 8866) kept close to its text: every line survives a parse and serialize,
/// in the RFC's field order, so a canonical offer serializes back byte for byte.
public struct SessionDescription: Equatable, Hashable, Sendable {
    public var version: Int
    public var origin: Origin
    public var sessionName: String
    public var information: String?
    public var uri: String?
    public var emails: [String]
    public var phones: [String]
    public var connection: ConnectionData?
    public var bandwidths: [String]
    public var timings: [Timing]
    /// `z=`, verbatim.
    public var timeZones: String?
    public var encryptionKey: String?
    public var attributes: [SDPAttribute]
    public var media: [MediaDescription]

    public init(version: Int = 0, origin: Origin, sessionName: String = "-", information: String? = nil,
                uri: String? = nil, emails: [String] = [], phones: [String] = [], connection: ConnectionData? = nil,
                bandwidths: [String] = [], timings: [Timing] = [Timing()], timeZones: String? = nil,
                encryptionKey: String? = nil, attributes: [SDPAttribute] = [], media: [MediaDescription] = []) {
        self.version = version
        self.origin = origin
        self.sessionName = sessionName
        self.information = information
        self.uri = uri
        self.emails = emails
        self.phones = phones
        self.connection = connection
        self.bandwidths = bandwidths
        self.timings = timings
        self.timeZones = timeZones
        self.encryptionKey = encryptionKey
        self.attributes = attributes
        self.media = media
    }

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
