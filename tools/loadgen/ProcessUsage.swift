#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The load generator's own CPU time and peak memory (getrusage), so a benchmark on the same machine can
/// subtract what the viewers cost from what the server used.
struct ProcessUsage: Sendable {
    var userSeconds: Double
    var systemSeconds: Double
    /// Peak resident set size in MiB (ru_maxrss is KiB on Linux, bytes on Darwin).
    var maximumResidentMiB: Double

    var cpuSeconds: Double { userSeconds + systemSeconds }

    static func current() -> ProcessUsage {
        var usage = rusage()
        #if canImport(Glibc)
        _ = getrusage(RUSAGE_SELF.rawValue, &usage)
        #else
        _ = getrusage(RUSAGE_SELF, &usage)
        #endif
        func seconds(_ value: timeval) -> Double { Double(value.tv_sec) + Double(value.tv_usec) / 1e6 }
        #if canImport(Darwin)
        let resident = Double(usage.ru_maxrss) / 1_048_576
        #else
        let resident = Double(usage.ru_maxrss) / 1024
        #endif
        return ProcessUsage(userSeconds: seconds(usage.ru_utime), systemSeconds: seconds(usage.ru_stime),
                            maximumResidentMiB: resident)
    }
}
