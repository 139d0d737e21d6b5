#if canImport(Glibc)
import Glibc
#endif

/// Names the calling thread, as `top -H`, `perf` and `/proc/PID/task/*/comm` show it.
///
/// Linux keeps 15 bytes of a thread's name; a longer one is cut (on a character boundary). Foundation's
/// `Thread.name` is no help here: set before `start()` it never reaches the thread, and set from inside the thread it
/// only takes effect if the starting thread has already recorded the new thread's handle, which is a race. So the
/// name is written to `/proc/thread-self/comm`, which names exactly the calling thread.
public enum ThreadName {
    /// The longest name Linux keeps, in bytes (`TASK_COMM_LEN` less its terminating zero).
    public static let maximumLength = 15

    /// `name` cut to `maximumLength` bytes without splitting a character.
    public static func fitted(_ name: String) -> String {
        var fitted = ""
        for character in name {
            guard fitted.utf8.count + character.utf8.count <= maximumLength else { break }
            fitted.append(character)
        }
        return fitted
    }

    /// Names the calling thread `fitted(name)`; returns false where the system does not allow it.
    @discardableResult
    public static func setCurrent(_ name: String) -> Bool {
        #if os(Linux)
        let descriptor = open("/proc/thread-self/comm", O_WRONLY)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        let bytes = Array(fitted(name).utf8)
        return bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) } == bytes.count
        #else
        return false
        #endif
    }
}
