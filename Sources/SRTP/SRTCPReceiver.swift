internal import COpenSSL

/// The inbound SRTCP transform of one SRTP key, on OpenSSL: verifies, decrypts and replay-checks the viewers'
/// feedback (receiver reports, transport-cc, NACK, PLI, REMB) in place. It runs for every feedback packet of every
/// viewer, so it keeps one cipher context and allocates nothing; libsrtp2 on Debian's NSS took locks and looked up a
/// PKCS#11 session for each one.
///
/// - AEAD_AES_128_GCM (RFC 7714 §9): `header(8) ‖ ciphertext ‖ tag(16) ‖ E ‖ index(31)`; IV = (0x0000 ‖ SSRC ‖
///   0x0000 ‖ index) ⊕ salt; the associated data is the 8-byte header and the E/index word.
/// - AES_CM_128_HMAC_SHA1_80 (RFC 3711 §3.4): `header(8) ‖ ciphertext ‖ E ‖ index(31) ‖ tag(10)`; the tag is
///   HMAC-SHA1 over everything before it; AES-CTR with IV = (salt·2¹⁶) ⊕ (SSRC·2⁶⁴) ⊕ (index·2¹⁶).
///
/// SRTCP keys are derived with labels 3 (encryption), 4 (authentication) and 5 (salt). Each sender SSRC has a
/// 128-packet replay window, as libsrtp2 keeps. Packets with the E flag clear (authenticated, not encrypted) are
/// refused: no WebRTC peer sends them. Confined to one thread, like the session it belongs to.
final class SRTCPReceiver {
    let profile: SRTPProfile
    private let keys: SRTPCipherContexts
    private var replay = SRTCPReplayWindows()

    init(profile: SRTPProfile, key: [UInt8], salt masterSalt: [UInt8]) throws(SRTPError) {
        self.profile = profile
        keys = try SRTPCipherContexts(profile: profile, key: key, salt: masterSalt,
                                      labels: (encryption: 0x03, authentication: 0x04, salt: 0x05),
                                      encrypting: false)
    }

    /// Bytes SRTCP adds to an RTCP packet: the E/index word and the tag.
    var overhead: Int { 4 + profile.rtpOverhead }

    /// Verifies and decrypts the SRTCP packet of `length` bytes at `bytes` in place; returns the RTCP packet's length.
    /// Nothing is changed in the replay window unless the packet authenticates.
    func unprotect(_ bytes: UnsafeMutableRawPointer, length: Int) -> Result<Int, SRTPError> {
        guard length >= SRTPSession.rtcpHeaderLength + overhead else { return .failure(.packetTooShort(length: length)) }
        let packet = UnsafeMutableRawBufferPointer(start: bytes, count: length)
        let ssrc = UInt32(packet[4]) << 24 | UInt32(packet[5]) << 16 | UInt32(packet[6]) << 8 | UInt32(packet[7])
        let indexOffset = profile == .aeadAES128GCM ? length - 4 : length - overhead
        let word = UInt32(packet[indexOffset]) << 24 | UInt32(packet[indexOffset + 1]) << 16
            | UInt32(packet[indexOffset + 2]) << 8 | UInt32(packet[indexOffset + 3])
        guard word & 0x8000_0000 != 0 else { return .failure(.badParameter) }
        let index = word & 0x7FFF_FFFF
        if let refusal = replay.check(ssrc: ssrc, index: index) { return .failure(refusal) }
        let payload = bytes + SRTPSession.rtcpHeaderLength
        let plainLength = length - overhead
        let payloadLength = Int32(plainLength - SRTPSession.rtcpHeaderLength)
        var outputLength: Int32 = 0
        switch profile {
        case .aeadAES128GCM:
            var iv = SRTCPSender.gcmIV(salt: keys.salt, ssrc: ssrc, index: index)
            let opened = withUnsafeBytes(of: &iv) { iv in
                let header = bytes.assumingMemoryBound(to: UInt8.self)
                let payload = payload.assumingMemoryBound(to: UInt8.self)
                let tag = bytes + plainLength
                return EVP_DecryptInit_ex(keys.cipher, nil, nil, nil, iv.baseAddress!.assumingMemoryBound(to: UInt8.self)) == 1
                    && EVP_DecryptUpdate(keys.cipher, nil, &outputLength, header, Int32(SRTPSession.rtcpHeaderLength)) == 1
                    && EVP_DecryptUpdate(keys.cipher, nil, &outputLength, header + indexOffset, 4) == 1
                    && EVP_DecryptUpdate(keys.cipher, payload, &outputLength, payload, payloadLength) == 1
                    && EVP_CIPHER_CTX_ctrl(keys.cipher, EVP_CTRL_GCM_SET_TAG, 16, tag) == 1
                    && EVP_DecryptFinal_ex(keys.cipher, payload + Int(payloadLength), &outputLength) == 1
            }
            // A failed tag check leaves the payload decrypted in place: the caller drops the packet.
            guard opened else { return .failure(.authenticationFailed) }
        case .aes128CMHMACSHA1_80:
            guard let mac = keys.mac else { return .failure(.libraryUnavailable) }
            let authenticatedLength = length - profile.rtpOverhead
            var tag = (UInt64(0), UInt64(0), UInt32(0))
            var tagLength = 0
            let computed = withUnsafeMutableBytes(of: &tag) { tagBytes in
                EVP_MAC_init(mac, nil, 0, nil) == 1
                    && EVP_MAC_update(mac, bytes.assumingMemoryBound(to: UInt8.self), authenticatedLength) == 1
                    && EVP_MAC_final(mac, tagBytes.baseAddress!.assumingMemoryBound(to: UInt8.self), &tagLength, 20) == 1
            }
            guard computed, tagLength == 20 else { return .failure(.libraryUnavailable) }
            let matches = withUnsafeBytes(of: &tag) { tagBytes in
                CRYPTO_memcmp(tagBytes.baseAddress!, bytes + authenticatedLength, profile.rtpOverhead) == 0
            }
            guard matches else { return .failure(.authenticationFailed) }
            var iv = SRTCPSender.counterIV(salt: keys.salt, ssrc: ssrc, index: index)
            let decrypted = withUnsafeBytes(of: &iv) { iv in
                EVP_EncryptInit_ex(keys.cipher, nil, nil, nil, iv.baseAddress!.assumingMemoryBound(to: UInt8.self)) == 1
                    && EVP_EncryptUpdate(keys.cipher, payload.assumingMemoryBound(to: UInt8.self), &outputLength,
                                         payload.assumingMemoryBound(to: UInt8.self), payloadLength) == 1
            }
            guard decrypted else { return .failure(.cipherFailed) }
        }
        replay.accept(ssrc: ssrc, index: index)
        return .success(plainLength)
    }
}

/// The SRTCP indexes seen per sender SSRC (RFC 3711 §3.3.2): the highest, and which of the 127 before it.
struct SRTCPReplayWindows {
    private struct Window {
        var ssrc: UInt32
        var highest: UInt32
        /// Bit n: index `highest - n` was seen (bit 0 is `highest` itself).
        var seen: (UInt64, UInt64)
    }

    static let size: UInt32 = 128
    /// A viewer sends RTCP under one or two SSRCs; a linear search of a few entries beats hashing.
    private var windows: [Window] = []

    /// Nil when the index may be accepted; else why not.
    func check(ssrc: UInt32, index: UInt32) -> SRTPError? {
        guard let window = windows.first(where: { $0.ssrc == ssrc }), index <= window.highest else { return nil }
        let behind = window.highest - index
        guard behind < Self.size else { return .replayTooOld }
        let seen = behind < 64 ? window.seen.0 >> behind & 1 : window.seen.1 >> (behind - 64) & 1
        return seen == 1 ? .replayed : nil
    }

    /// Notes an index that `check` allowed and that authenticated.
    mutating func accept(ssrc: UInt32, index: UInt32) {
        guard let position = windows.firstIndex(where: { $0.ssrc == ssrc }) else {
            if windows.count >= 16 { windows.removeFirst() }
            windows.append(Window(ssrc: ssrc, highest: index, seen: (1, 0)))
            return
        }
        var window = windows[position]
        if index > window.highest {
            let ahead = index - window.highest
            window.seen = ahead >= Self.size ? (0, 0) : Self.shift(window.seen, by: ahead)
            window.seen.0 |= 1
            window.highest = index
        } else {
            let behind = window.highest - index
            if behind < 64 { window.seen.0 |= 1 << behind } else { window.seen.1 |= 1 << (behind - 64) }
        }
        windows[position] = window
    }

    /// The 128-bit window moved `count` (1...127) places: older indexes move to higher bits.
    private static func shift(_ bits: (UInt64, UInt64), by count: UInt32) -> (UInt64, UInt64) {
        if count >= 64 { return (0, bits.0 << (count - 64)) }
        return (bits.0 << count, bits.1 << count | bits.0 >> (64 - count))
    }
}
