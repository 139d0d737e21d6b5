import Crypto

extension STUNMessage {
    static let fingerprintXOR: UInt32 = 0x5354_554E

    /// Checks MESSAGE-INTEGRITY with the short-term credential ICE uses (RFC 8489 §9.1): the key
    /// is the password's UTF-8 bytes. SASLprep/OpaqueString is skipped on purpose: ICE passwords
    /// are generated from the ice-char set (ALPHA / DIGIT / "+" / "/"), which it leaves unchanged.
    ///
    /// The HMAC covers the message up to the attribute, with the header's length rewritten to end
    /// just after MESSAGE-INTEGRITY (RFC 8489 §14.5), so a FINGERPRINT after it does not count.
    public func verifyMessageIntegrity(password: String) -> Bool {
        verifyMessageIntegrity(key: Array(password.utf8))
    }

    public func verifyMessageIntegrity(key: [UInt8]) -> Bool {
        guard let integrity = attribute(.messageIntegrity), integrity.value.count == 20 else { return false }
        var covered = Array(rawBytes[0..<integrity.offset])
        let adjustedLength = UInt16(integrity.offset - Self.headerLength + 24)
        covered[2] = UInt8(adjustedLength >> 8)
        covered[3] = UInt8(adjustedLength & 0xFF)
        return HMAC<Insecure.SHA1>.isValidAuthenticationCode(
            Array(integrity.value), authenticating: covered, using: SymmetricKey(data: key))
    }

    /// Checks FINGERPRINT (RFC 8489 §14.7): CRC-32 of everything before it, XORed with
    /// 0x5354554e. FINGERPRINT is always last, so the received length already includes it.
    public func verifyFingerprint() -> Bool {
        guard let fingerprint = attributes.last, fingerprint.type == .fingerprint, fingerprint.value.count == 4 else {
            return false
        }
        let expected = fingerprint.value.reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        return CRC32.checksum(rawBytes[0..<fingerprint.offset]) ^ Self.fingerprintXOR == expected
    }
}
