/// The `o=` line, which identifies the session and its version across renegotiations.
public struct Origin: Equatable, Hashable, Sendable {
    public var username: String
    public var sessionID: UInt64
    public var sessionVersion: UInt64
    public var networkType: String
    public var addressType: String
    public var address: String

    public init(username: String = "-", sessionID: UInt64, sessionVersion: UInt64,
                networkType: String = "IN", addressType: String = "IP4", address: String = "127.0.0.1") {
        self.username = username
        self.sessionID = sessionID
        self.sessionVersion = sessionVersion
        self.networkType = networkType
        self.addressType = addressType
        self.address = address
    }

    init(parsing text: String, line: Int) throws(SDPError) {
        let fields = SDPToken.fields(text)
        guard fields.count == 6, fields.allSatisfy(SDPToken.isVisibleField) else {
            throw .malformed(reason: "line \(line): o= needs six fields")
        }
        guard let sessionID = SDPToken.decimal(fields[1], as: UInt64.self),
              let sessionVersion = SDPToken.decimal(fields[2], as: UInt64.self) else {
            throw .malformed(reason: "line \(line): o= session id and version must be numbers")
        }
        self.init(username: String(fields[0]), sessionID: sessionID, sessionVersion: sessionVersion,
                  networkType: String(fields[3]), addressType: String(fields[4]), address: String(fields[5]))
    }

    var text: String { "\(username) \(sessionID) \(sessionVersion) \(networkType) \(addressType) \(address)" }
}
