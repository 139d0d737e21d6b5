import NIOCore

/// The three Binding messages an ICE-lite server and its test peers exchange (RFC 8445 §7).
extension STUNMessage {
    /// The answer to a valid connectivity check: the peer's address as seen by us, signed with our
    /// ICE password and fingerprinted. `mappedAddress` must be an IPv4 or IPv6 address.
    public static func bindingSuccessResponse(transactionID: STUNTransactionID, mappedAddress: SocketAddress,
                                              password: String) -> [UInt8] {
        var builder = STUNMessageBuilder(type: STUNMessageType(messageClass: .successResponse, method: .binding),
                                         transactionID: transactionID)
        builder.append(.xorMappedAddress, value: STUNXORAddress.encode(mappedAddress, transactionID: transactionID))
        builder.appendMessageIntegrity(key: Array(password.utf8))
        builder.appendFingerprint()
        return builder.bytes
    }

    /// An error answer (400 Bad Request, 401 Unauthorized, 487 Role Conflict...). Without a password
    /// there is no MESSAGE-INTEGRITY, which is what RFC 8489 §9.1.3 asks for when the request's
    /// credentials could not be checked. `code` must be in 300...699.
    public static func bindingErrorResponse(transactionID: STUNTransactionID, code: Int, reason: String,
                                            password: String?) -> [UInt8] {
        var builder = STUNMessageBuilder(type: STUNMessageType(messageClass: .errorResponse, method: .binding),
                                         transactionID: transactionID)
        builder.append(.errorCode, value: STUNErrorCode(code: code, reason: reason).attributeValue)
        if let password { builder.appendMessageIntegrity(key: Array(password.utf8)) }
        builder.appendFingerprint()
        return builder.bytes
    }

    /// A connectivity check as a full ICE agent sends it. `username` is "remote-ufrag:local-ufrag"
    /// and `password` the remote side's ICE password. Give `controlling` to send ICE-CONTROLLING
    /// or `controlled` to send ICE-CONTROLLED; each carries that agent's tie-breaker.
    public static func bindingRequest(transactionID: STUNTransactionID, username: String, password: String,
                                      priority: UInt32, useCandidate: Bool, controlling tieBreaker: UInt64?,
                                      controlled controlledTieBreaker: UInt64? = nil) -> [UInt8] {
        var builder = STUNMessageBuilder(type: STUNMessageType(messageClass: .request, method: .binding),
                                         transactionID: transactionID)
        builder.append(.username, value: Array(username.utf8))
        builder.append(.priority, uint32: priority)
        if let tieBreaker { builder.append(.iceControlling, uint64: tieBreaker) }
        if let controlledTieBreaker { builder.append(.iceControlled, uint64: controlledTieBreaker) }
        if useCandidate { builder.append(.useCandidate, value: []) }
        builder.appendMessageIntegrity(key: Array(password.utf8))
        builder.appendFingerprint()
        return builder.bytes
    }
}
