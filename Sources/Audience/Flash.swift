import Foundation

/// A news flash or disclaimer pushed by a moderator.
public struct Flash: Sendable, Equatable, Encodable {
    public enum Kind: String, Codable, Sendable {
        case news
        case disclaimer
    }

    public enum Severity: String, Codable, Sendable {
        case info
        case warning
        case breaking
    }

    public var id: String
    public var kind: Kind
    public var severity: Severity
    public var text: String
    /// Nil: shown until replaced (a disclaimer pinned for the broadcast).
    public var durationSeconds: Int?
    public var pinned: Bool
    public var createdAt: Date
    public var createdBy: String

    enum CodingKeys: String, CodingKey {
        case id, kind, severity, text, durationSeconds, pinned, createdAt
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(kind, forKey: .kind)
        try container.encode(severity, forKey: .severity)
        try container.encode(text, forKey: .text)
        try container.encodeIfPresent(durationSeconds, forKey: .durationSeconds)
        try container.encode(pinned, forKey: .pinned)
        try container.encode(AudienceTime.string(createdAt), forKey: .createdAt)
    }
}
