import NIOCore

/// The addresses a viewer is told to send to: the configured public addresses, or every local interface address.
enum HostCandidates {
    static func addresses(configured: [String], bindHost: String) -> [String] {
        if !configured.isEmpty { return configured }
        if bindHost != "0.0.0.0" && bindHost != "::" { return [bindHost] }
        var found: [String] = []
        let devices = (try? System.enumerateDevices()) ?? []
        for device in devices {
            guard let address = device.address, let ip = address.ipAddress else { continue }
            // IPv6 link-local addresses need a zone the SDP cannot carry; a wildcard IPv4 bind does not reach IPv6 anyway.
            guard case .v4 = address else { continue }
            if !found.contains(ip) { found.append(ip) }
        }
        // Non-loopback first: browsers try candidates in priority order.
        found.sort { lhs, rhs in (lhs.hasPrefix("127.") ? 1 : 0) < (rhs.hasPrefix("127.") ? 1 : 0) }
        return found.isEmpty ? ["127.0.0.1"] : found
    }
}
