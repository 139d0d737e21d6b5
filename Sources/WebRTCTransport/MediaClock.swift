#if canImport(Glibc)
import Glibc
#endif
import NIOCore

/// Maps a stream's source timeline to wall-clock time, so sender reports can tell viewers which RTP timestamp
/// is "now" on every track (that is what keeps lips in sync across the audio and video streams).
struct MediaClock {
    /// Source time (seconds) of the first frame seen, and when it was seen.
    private var anchor: (source: Double, at: NIODeadline)?

    mutating func observe(sourceSeconds: Double, now: NIODeadline) {
        if let anchor, abs((sourceSeconds - anchor.source) - Double((now - anchor.at).nanoseconds) / 1e9) < 5 { return }
        // First frame, or the timeline jumped (a new publisher): re-anchor.
        anchor = (sourceSeconds, now)
    }

    mutating func reset() { anchor = nil }

    /// The source time that corresponds to `now`, or nil before the first frame.
    func sourceSeconds(at now: NIODeadline) -> Double? {
        guard let anchor else { return nil }
        return anchor.source + Double((now - anchor.at).nanoseconds) / 1e9
    }

    /// NTP timestamp (RFC 3550 §4: seconds since 1900 in 32.32 fixed point) of the wall clock now.
    static func ntpNow() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        let seconds = UInt64(spec.tv_sec) + 2_208_988_800
        let fraction = (UInt64(spec.tv_nsec) << 32) / 1_000_000_000
        return (seconds << 32) | fraction
    }
}
