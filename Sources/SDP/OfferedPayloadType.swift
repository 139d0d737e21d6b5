/// One payload type of an offered m-line with the attributes that describe it.
public struct OfferedPayloadType: Equatable, Hashable, Sendable {
    public var number: UInt8
    /// From `a=rtpmap`; nil for a static payload type listed without one (0 = PCMU, 8 = PCMA, ...).
    public var encodingName: String?
    public var clockRate: UInt32?
    public var channels: UInt8?
    /// The `a=fmtp` parameters, verbatim.
    public var formatParameters: String?
    /// `a=rtcp-fb` values for this payload type and for `*`, e.g. `nack`, `nack pli`, `transport-cc`.
    public var feedback: [String]

    public init(number: UInt8, encodingName: String? = nil, clockRate: UInt32? = nil, channels: UInt8? = nil,
                formatParameters: String? = nil, feedback: [String] = []) {
        self.number = number
        self.encodingName = encodingName
        self.clockRate = clockRate
        self.channels = channels
        self.formatParameters = formatParameters
        self.feedback = feedback
    }

    /// Whether this is `<name>/<clock>[/<channels>]`, name compared case-insensitively (RFC 4855).
    public func isCodec(_ name: String, clockRate: UInt32, channels: UInt8? = nil) -> Bool {
        guard let encodingName, encodingName.lowercased() == name.lowercased(), self.clockRate == clockRate else {
            return false
        }
        return channels == nil || self.channels == channels
    }

    /// The value of one `key=value` fmtp parameter (`apt` for RTX).
    public func formatParameter(_ key: String) -> String? {
        guard let formatParameters else { return nil }
        for pair in formatParameters.split(separator: ";") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            if parts.count == 2, parts[0].trimmingSpaces.lowercased() == key.lowercased() {
                return String(parts[1].trimmingSpaces)
            }
        }
        return nil
    }

    /// Whether a feedback value is offered, compared without regard to case or extra spaces.
    public func offersFeedback(_ value: String) -> Bool {
        let wanted = value.lowercased().split(separator: " ")
        return feedback.contains { $0.lowercased().split(separator: " ") == wanted }
    }
}

extension Substring {
    var trimmingSpaces: Substring {
        var text = self
        while text.first == " " { text = text.dropFirst() }
        while text.last == " " { text = text.dropLast() }
        return text
    }
}
