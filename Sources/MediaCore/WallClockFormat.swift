/// Wall-clock times as the protocols write them, from a count since 1970-01-01 UTC: ISO 8601 with milliseconds
/// (DASH `availabilityStartTime`, UTCTiming, HLS `PROGRAM-DATE-TIME`) and the HTTP `Date` header. Written by hand:
/// every manifest and response carries one, and Foundation's formatters cost far more and are not thread-safe to
/// share.
public enum WallClockFormat {
    /// `2026-12-07T15:40:16.123Z`.
    public static func iso8601(epochMilliseconds milliseconds: Int64) -> String {
        let (seconds, millisecond) = floorDivide(milliseconds, 1000)
        let (days, secondOfDay) = floorDivide(seconds, 86_400)
        let (year, month, day) = civilDate(daysSince1970: days)
        var out = ""
        out.reserveCapacity(24)
        func append(_ value: Int64, digits: Int) {
            let text = String(value)
            if text.count < digits { out += String(repeating: "0", count: digits - text.count) }
            out += text
        }
        append(year, digits: 4); out += "-"
        append(month, digits: 2); out += "-"
        append(day, digits: 2); out += "T"
        append(secondOfDay / 3600, digits: 2); out += ":"
        append(secondOfDay / 60 % 60, digits: 2); out += ":"
        append(secondOfDay % 60, digits: 2); out += "."
        append(millisecond, digits: 3); out += "Z"
        return out
    }

    /// The HTTP `Date` header's IMF-fixdate (RFC 9110 §5.6.7): `Mon, 07 Dec 2026 15:40:16 GMT`.
    public static func httpDate(epochSeconds: Int64) -> String {
        let (days, secondOfDay) = floorDivide(epochSeconds, 86_400)
        let (year, month, day) = civilDate(daysSince1970: days)
        // 1970-01-01 was a Thursday.
        let weekday = Int(((days % 7) + 7 + 4) % 7)
        let names = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : String(value) }
        return "\(names[weekday]), \(two(day)) \(months[Int(month) - 1]) \(year) "
            + "\(two(secondOfDay / 3600)):\(two(secondOfDay / 60 % 60)):\(two(secondOfDay % 60)) GMT"
    }

    /// The proleptic Gregorian year, month and day of a day count from 1970-01-01 (the era-based conversion:
    /// 400-year eras of 146,097 days, years starting in March so the leap day is last).
    public static func civilDate(daysSince1970 days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let shifted = days + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    private static func floorDivide(_ value: Int64, _ divisor: Int64) -> (Int64, Int64) {
        let remainder = value % divisor
        return remainder < 0 ? (value / divisor - 1, remainder + divisor) : (value / divisor, remainder)
    }
}
