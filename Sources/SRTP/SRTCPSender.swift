internal import COpenSSL

/// The outbound SRTCP transform of one SRTP key, on OpenSSL: the server's sender reports (and a test viewer's
/// feedback) protected in place, with the layouts `SRTCPReceiver` reads:
///
/// - AEAD_AES_128_GCM (RFC 7714 §9): `header(8) ‖ ciphertext ‖ tag(16) ‖ E ‖ index(31)`; the associated data is the
///   8-byte header and the E/index word.
/// - AES_CM_128_HMAC_SHA1_80 (RFC 3711 §3.4): `header(8) ‖ ciphertext ‖ E ‖ index(31) ‖ tag(10)`.
///
/// Every packet is encrypted (E = 1). Each sender SSRC counts its own SRTCP index from 1, as libsrtp2 does, so the
/// output is byte for byte libsrtp2's (tested against it). Confined to one thread, like the session it belongs to.
final class SRTCPSender {
    let profile: SRTPProfile
    private let keys: SRTPCipherContexts
    /// The last index used per SSRC; a viewer's server sends under two (video, audio).
    private var indexes: [(ssrc: UInt32, index: UInt32)] = []

    init(profile: SRTPProfile, key: [UInt8], salt masterSalt: [UInt8]) throws(SRTPError) {
        self.profile = profile
        keys = try SRTPCipherContexts(profile: profile, key: key, salt: masterSalt,
                                      labels: (encryption: 0x03, authentication: 0x04, salt: 0x05),
                                      encrypting: true)
    }

    /// Bytes SRTCP adds to an RTCP packet: the E/index word and the tag.
    var overhead: Int { 4 + profile.rtpOverhead }

    /// Protects the compound RTCP packet of `length` bytes at `bytes` in place; `capacity` must leave room for
    /// `overhead` more. Returns the SRTCP packet's length.
    func protect(_ bytes: UnsafeMutableRawPointer, length: Int, capacity: Int) -> Result<Int, SRTPError> {
        guard length >= SRTPSession.rtcpHeaderLength else { return .failure(.packetTooShort(length: length)) }
        guard length <= SRTPSession.maximumPacketLength, capacity >= length + overhead else {
            return .failure(.packetTooLong(length: length))
        }
        let packet = UnsafeMutableRawBufferPointer(start: bytes, count: length)
        let ssrc = UInt32(packet[4]) << 24 | UInt32(packet[5]) << 16 | UInt32(packet[6]) << 8 | UInt32(packet[7])
        guard let index = nextIndex(ssrc: ssrc) else { return .failure(.keyExpired) }
        var word = (0x8000_0000 | index).bigEndian
        let payload = (bytes + SRTPSession.rtcpHeaderLength).assumingMemoryBound(to: UInt8.self)
        let payloadLength = Int32(length - SRTPSession.rtcpHeaderLength)
        var outputLength: Int32 = 0
        switch profile {
        case .aeadAES128GCM:
            var iv = Self.gcmIV(salt: keys.salt, ssrc: ssrc, index: index)
            let sealed = withUnsafeBytes(of: &iv) { iv in
                withUnsafeBytes(of: &word) { wordBytes in
                    let header = bytes.assumingMemoryBound(to: UInt8.self)
                    let tag = payload + Int(payloadLength)
                    return EVP_EncryptInit_ex(keys.cipher, nil, nil, nil, iv.baseAddress!.assumingMemoryBound(to: UInt8.self)) == 1
                        && EVP_EncryptUpdate(keys.cipher, nil, &outputLength, header, Int32(SRTPSession.rtcpHeaderLength)) == 1
                        && EVP_EncryptUpdate(keys.cipher, nil, &outputLength,
                                             wordBytes.baseAddress!.assumingMemoryBound(to: UInt8.self), 4) == 1
                        && EVP_EncryptUpdate(keys.cipher, payload, &outputLength, payload, payloadLength) == 1
                        && EVP_EncryptFinal_ex(keys.cipher, tag, &outputLength) == 1
                        && EVP_CIPHER_CTX_ctrl(keys.cipher, EVP_CTRL_GCM_GET_TAG, 16, tag) == 1
                }
            }
            guard sealed else { return .failure(.cipherFailed) }
            (bytes + length + 16).storeBytes(of: word, as: UInt32.self)
        case .aes128CMHMACSHA1_80:
            guard let mac = keys.mac else { return .failure(.libraryUnavailable) }
            var iv = Self.counterIV(salt: keys.salt, ssrc: ssrc, index: index)
            let encrypted = withUnsafeBytes(of: &iv) { iv in
                EVP_EncryptInit_ex(keys.cipher, nil, nil, nil, iv.baseAddress!.assumingMemoryBound(to: UInt8.self)) == 1
                    && EVP_EncryptUpdate(keys.cipher, payload, &outputLength, payload, payloadLength) == 1
            }
            guard encrypted else { return .failure(.cipherFailed) }
            (bytes + length).storeBytes(of: word, as: UInt32.self)
            var tag = (UInt64(0), UInt64(0), UInt32(0))
            var tagLength = 0
            let authenticated = withUnsafeMutableBytes(of: &tag) { tagBytes in
                EVP_MAC_init(mac, nil, 0, nil) == 1
                    && EVP_MAC_update(mac, bytes.assumingMemoryBound(to: UInt8.self), length + 4) == 1
                    && EVP_MAC_final(mac, tagBytes.baseAddress!.assumingMemoryBound(to: UInt8.self), &tagLength, 20) == 1
            }
            guard authenticated, tagLength == 20 else { return .failure(.libraryUnavailable) }
            withUnsafeBytes(of: &tag) { tagBytes in
                (bytes + length + 4).copyMemory(from: tagBytes.baseAddress!, byteCount: profile.rtpOverhead)
            }
        }
        return .success(length + overhead)
    }

    /// The AEAD IV of an SRTCP packet (RFC 7714 §9.1), big-endian: (0x0000 ‖ SSRC ‖ 0x0000 ‖ index) ⊕ salt.
    static func gcmIV(salt: (UInt64, UInt64), ssrc: UInt32, index: UInt32) -> (UInt64, UInt64) {
        ((salt.0 ^ (UInt64(ssrc) << 16)).bigEndian, (salt.1 ^ (UInt64(index) << 32)).bigEndian)
    }

    /// The AES-CM IV of an SRTCP packet (RFC 3711 §4.1.1), big-endian: (salt·2¹⁶) ⊕ (SSRC·2⁶⁴) ⊕ (index·2¹⁶).
    static func counterIV(salt: (UInt64, UInt64), ssrc: UInt32, index: UInt32) -> (UInt64, UInt64) {
        ((salt.0 ^ UInt64(ssrc)).bigEndian, (salt.1 ^ (UInt64(index) << 16)).bigEndian)
    }

    /// The SSRC's next SRTCP index (from 1); nil once the 31-bit index is used up (RFC 3711 §9.2: rekey).
    private func nextIndex(ssrc: UInt32) -> UInt32? {
        guard let position = indexes.firstIndex(where: { $0.ssrc == ssrc }) else {
            if indexes.count >= 16 { indexes.removeFirst() }
            indexes.append((ssrc, 1))
            return 1
        }
        guard indexes[position].index < 0x7FFF_FFFF else { return nil }
        indexes[position].index += 1
        return indexes[position].index
    }
}
