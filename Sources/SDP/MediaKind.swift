/// What an m-line carries; `other` keeps the token so a rejected section can be answered with it.
public enum MediaKind: Equatable, Hashable, Sendable {
    case audio
    case video
    case application
    case other(String)

    public init(token: String) {
        switch token.lowercased() {
        case "audio": self = .audio
        case "video": self = .video
        case "application": self = .application
        default: self = .other(token)
        }
    }
}
