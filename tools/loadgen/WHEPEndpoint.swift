/// Where a WHEP resource lives: `http://host[:port]/path[?query]`, split the way a request needs it.
///
/// Plain HTTP only: a load run targets a server on its own network, and TLS in the load generator would add
/// its own CPU to the figures the run is meant to measure.
struct WHEPEndpoint: Sendable, Hashable, CustomStringConvertible {
    /// The host without IPv6 brackets.
    var host: String
    var port: Int
    /// Path and query, starting with "/".
    var target: String

    init(host: String, port: Int, target: String) {
        self.host = host
        self.port = port
        self.target = target
    }

    init?(url: String) {
        let scheme = "http://"
        guard url.lowercased().hasPrefix(scheme) else { return nil }
        let rest = url.dropFirst(scheme.count)
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
        let authority = rest[rest.startIndex..<authorityEnd]
        let remainder = rest[authorityEnd...]
        guard !authority.isEmpty, !authority.contains("@") else { return nil }

        var host: Substring
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { return nil }
                portText = after.dropFirst()
            }
        } else {
            let parts = authority.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count <= 2 else { return nil }   // an IPv6 literal must be bracketed
            host = parts[0]
            portText = parts.count == 2 ? parts[1] : nil
        }
        guard !host.isEmpty else { return nil }
        var port = 80
        if let portText {
            guard let value = Int(portText), (1...65535).contains(value) else { return nil }
            port = value
        }
        self.init(host: String(host), port: port, target: remainder.hasPrefix("/") ? String(remainder) : "/" + remainder)
    }

    /// The `Host` header: the port only when it is not the default, IPv6 literals in brackets.
    var hostHeader: String {
        let name = host.contains(":") ? "[\(host)]" : host
        return port == 80 ? name : "\(name):\(port)"
    }

    var description: String { "http://\(host.contains(":") ? "[\(host)]" : host):\(port)\(target)" }

    /// The same resource with `name=value` added to its query; the value is percent-encoded.
    func addingQuery(_ name: String, _ value: String) -> WHEPEndpoint {
        let unreserved = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~".utf8)
        var encoded = ""
        for byte in value.utf8 {
            if unreserved.contains(byte) {
                encoded.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                let hex = String(byte, radix: 16, uppercase: true)
                encoded += "%" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        var copy = self
        copy.target += (target.contains("?") ? "&" : "?") + "\(name)=\(encoded)"
        return copy
    }

    /// The session resource a `Location` header names: absolute, absolute-path or relative to this resource.
    func resolving(location: String) -> WHEPEndpoint? {
        if location.lowercased().hasPrefix("http://") { return WHEPEndpoint(url: location) }
        guard !location.isEmpty, !location.contains("://"), !location.hasPrefix("//") else { return nil }
        var copy = self
        if location.hasPrefix("/") {
            copy.target = location
        } else {
            let path = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let directory = path.lastIndex(of: "/").map { path[...$0] } ?? "/"
            copy.target = directory + location
        }
        return copy
    }
}
