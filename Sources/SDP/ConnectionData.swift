/// A `c=` line. WebRTC puts a placeholder address here; the real addresses travel in ICE candidates.
public struct ConnectionData: Equatable, Hashable, Sendable {
    public var networkType: String
    public var addressType: String
    /// Kept as written: it may carry a multicast `/ttl` suffix or be an FQDN.
    public var address: String

    public init(networkType: String = "IN", addressType: String = "IP4", address: String = "0.0.0.0") {
        self.networkType = networkType
        self.addressType = addressType
        self.address = address
    }

    init(parsing text: String, line: Int) throws(SDPError) {
        let fields = SDPToken.fields(text)
        guard fields.count == 3, fields.allSatisfy(SDPToken.isVisibleField) else {
            throw .malformed(reason: "line \(line): c= needs <nettype> <addrtype> <address>")
        }
        self.init(networkType: String(fields[0]), addressType: String(fields[1]), address: String(fields[2]))
    }

    var text: String { "\(networkType) \(addressType) \(address)" }
}
