import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public enum SecretFileError: Error, CustomStringConvertible {
    case cannotCreate(path: String, reason: String)
    case tooShort(path: String, minimum: Int)

    public var description: String {
        switch self {
        case .cannotCreate(let path, let reason): return "cannot create \(path): \(reason)"
        case .tooShort(let path, let minimum):
            return "\(path) holds a secret shorter than \(minimum) bytes: replace it with at least \(minimum) random bytes " +
                "(e.g. `openssl rand -hex 32`) or delete it to have one generated"
        }
    }
}

/// The data directory and the secrets kept in it (the admin token, the audience token key, the SQLite database).
///
/// Both are created with their final mode (0700 for the directory, 0600 for files) in the same call that creates
/// them: a `chmod` afterwards would leave a moment in which another local user could open them.
public enum SecretFile {
    /// The shortest secret LiveRelay accepts, in bytes (256 bits for a random one).
    public static let minimumLength = 32

    /// Creates `path` (and missing parents) as a directory of mode 0700. A directory that already exists and belongs
    /// to this user is narrowed to 0700 if others could read it.
    public static func prepareDirectory(_ path: String) throws {
        var status = stat()
        if stat(path, &status) == 0 {
            guard (status.st_mode & S_IFMT) == S_IFDIR else {
                throw SecretFileError.cannotCreate(path: path, reason: "it exists and is not a directory")
            }
            if status.st_uid == geteuid(), status.st_mode & 0o077 != 0 { _ = chmod(path, 0o700) }
            return
        }
        let parent = (path as NSString).deletingLastPathComponent
        if !parent.isEmpty, parent != path, !FileManager.default.fileExists(atPath: parent) {
            do {
                try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
            } catch {
                throw SecretFileError.cannotCreate(path: parent, reason: "\(error.localizedDescription)")
            }
        }
        guard mkdir(path, 0o700) == 0 || errno == EEXIST else {
            throw SecretFileError.cannotCreate(path: path, reason: String(cString: strerror(errno)))
        }
    }

    /// Writes `contents` to a new file at `path` created with mode 0600. Fails if the file exists (two processes
    /// generating a secret at once must not overwrite each other's).
    public static func create(_ path: String, contents: String) throws {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw SecretFileError.cannotCreate(path: path, reason: String(cString: strerror(errno))) }
        defer { close(descriptor) }
        let bytes = Array(contents.utf8)
        var written = 0
        while written < bytes.count {
            let result = bytes[written...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            if result < 0, errno == EINTR { continue }
            guard result > 0 else { throw SecretFileError.cannotCreate(path: path, reason: String(cString: strerror(errno))) }
            written += result
        }
        guard fsync(descriptor) == 0 else { throw SecretFileError.cannotCreate(path: path, reason: String(cString: strerror(errno))) }
    }

    /// Creates an empty file of mode 0600 unless one exists (the SQLite database, before SQLite opens it with its
    /// default mode; its `-wal` and `-shm` files take the database's mode).
    public static func touch(_ path: String) throws {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw SecretFileError.cannotCreate(path: path, reason: String(cString: strerror(errno))) }
        close(descriptor)
    }

    /// The trimmed contents of `path`, nil when it does not exist; a secret shorter than `minimumLength` is an error.
    public static func read(_ path: String) throws -> String? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let stored = try String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        guard stored.utf8.count >= minimumLength else { throw SecretFileError.tooShort(path: path, minimum: minimumLength) }
        return stored
    }
}
