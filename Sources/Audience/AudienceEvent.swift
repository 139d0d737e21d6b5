import Foundation

/// One server → client message on the event channel, already serialized: a broadcast is encoded once and the
/// same text goes to every connection.
public struct AudienceEvent: Sendable {
    /// Who receives it.
    public enum Audience: Sendable {
        case everyone
        case moderators
    }

    /// Essential events (comments, deletions, flashes) must reach every listener or the listener is dropped;
    /// a skippable one (a reaction aggregate) is left out for a listener that is behind: the next one supersedes it.
    public enum Delivery: Sendable {
        case essential
        case skippable
    }

    public var text: String
    public var audience: Audience
    public var delivery: Delivery

    public init(text: String, audience: Audience = .everyone, delivery: Delivery = .essential) {
        self.text = text
        self.audience = audience
        self.delivery = delivery
    }

    /// `{"type": type, ...payload fields}`.
    public static func encode<Payload: Encodable>(type: String, _ payload: Payload, audience: Audience = .everyone,
                                                  delivery: Delivery = .essential) -> AudienceEvent {
        let data = (try? eventEncoder.encode(Envelope(type: type, payload: payload))) ?? Data(#"{"type":"\#(type)"}"#.utf8)
        return AudienceEvent(text: String(decoding: data, as: UTF8.self), audience: audience, delivery: delivery)
    }

    private struct Envelope<Payload: Encodable>: Encodable {
        var type: String
        var payload: Payload

        private struct TypeKey: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: TypeKey.self)
            try container.encode(type, forKey: TypeKey(stringValue: "type"))
            try payload.encode(to: encoder)
        }
    }

    private static var eventEncoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}

/// Timestamps in API bodies and events: ISO 8601 with milliseconds, UTC.
public enum AudienceTime {
    public static func string(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }

    public static func milliseconds(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
    }

    public static func date(milliseconds: Int64) -> Date {
        Date(timeIntervalSince1970: Double(milliseconds) / 1000)
    }
}
