/// A wall-clock time of day as a test picture shows it ("HH:MM:SS").
public struct TimeOfDay: Sendable, Equatable {
    public var hours: Int
    public var minutes: Int
    public var seconds: Int

    public init(hours: Int, minutes: Int, seconds: Int) {
        self.hours = hours
        self.minutes = minutes
        self.seconds = seconds
    }

    /// The time of day `seconds` after some midnight (e.g. seconds since the Unix epoch for UTC).
    public init(secondsSinceMidnight seconds: Int64) {
        let ofDay = Int(((seconds % 86_400) + 86_400) % 86_400)
        self.init(hours: ofDay / 3600, minutes: ofDay / 60 % 60, seconds: ofDay % 60)
    }

    public var text: String {
        [hours, minutes, seconds].map { $0 < 10 ? "0\($0)" : "\($0)" }.joined(separator: ":")
    }
}
