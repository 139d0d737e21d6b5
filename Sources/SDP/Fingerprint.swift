/// A certificate fingerprint (`a=fingerprint`, RFC 8122): the DTLS handshake is checked against it.
public struct Fingerprint: Equatable, Hashable, Sendable {
    /// Lowercase hash function name, e.g. `sha-256`.
    public var algorithm: String
    /// Uppercase hex bytes joined by colons, e.g. `AB:CD:...`.
    public var value: String

    public init(algorithm: String, value: String) {
        self.algorithm = algorithm
        self.value = value
    }

    /// Parses `<hash-func> <fingerprint>`, normalising case; sha-256 values must be exactly 32 bytes.
    init(parsing text: String) throws(SDPError) {
        let fields = SDPToken.fields(text)
        guard fields.count == 2, SDPToken.isToken(fields[0]) else {
            throw .malformed(reason: "fingerprint must be <hash-function> <hex bytes>")
        }
        let algorithm = fields[0].lowercased()
        guard let value = Self.normalizedHex(fields[1], byteCount: algorithm == "sha-256" ? 32 : nil) else {
            throw .malformed(reason: algorithm == "sha-256"
                             ? "sha-256 fingerprint is not 32 colon-separated hex bytes"
                             : "\(algorithm) fingerprint is not colon-separated hex bytes")
        }
        self.init(algorithm: algorithm, value: value)
    }

    /// Uppercase `AB:CD:..` form of a colon-separated hex string, or nil when it is not one.
    /// Without `byteCount`, 1 to 64 bytes are accepted (RFC 8122 hash functions go up to SHA-512).
    static func normalizedHex(_ text: some StringProtocol, byteCount: Int?) -> String? {
        let bytes = text.split(separator: ":", omittingEmptySubsequences: false)
        if let byteCount, bytes.count != byteCount { return nil }
        guard (1...64).contains(bytes.count) else { return nil }
        for byte in bytes {
            guard byte.utf8.count == 2, byte.utf8.allSatisfy({ $0.isHexDigit }) else { return nil }
        }
        return bytes.map { $0.uppercased() }.joined(separator: ":")
    }
}

extension UInt8 {
    var isHexDigit: Bool {
        (0x30...0x39).contains(self) || (0x41...0x46).contains(self) || (0x61...0x66).contains(self)
    }
}
