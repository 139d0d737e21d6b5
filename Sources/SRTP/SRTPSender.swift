internal import COpenSSL
import NIOCore

/// The outbound RTP transform of one SRTP key, on OpenSSL's EVP (one cipher context per key, the IV set per packet).
/// It is what every forwarded packet goes through, so it works in place on raw bytes and allocates nothing.
///
/// Debian's libsrtp2 is built on NSS, whose PKCS#11 layer takes locks and looks up a session for every packet; that
/// was a third of the egress thread's time. Inbound SRTCP has its own transform (`SRTCPReceiver`); outbound SRTCP (a
/// sender report a second) and inbound RTP (viewers send none) stay with libsrtp2 (`SRTPSession`).
///
/// - AEAD_AES_128_GCM (RFC 7714 §8): IV = (0x0000 ‖ SSRC ‖ ROC ‖ SEQ) ⊕ session salt; the RTP header is the
///   associated data; a 16-byte tag follows the encrypted payload.
/// - AES_CM_128_HMAC_SHA1_80 (RFC 3711 §4.1.1, §4.2): AES-CTR with IV = (salt·2¹⁶) ⊕ (SSRC·2⁶⁴) ⊕ (index·2¹⁶);
///   HMAC-SHA1 over the packet and ROC, truncated to 10 bytes.
///
/// Session keys come from the master key with the AES-CM key derivation of RFC 3711 §4.3 (key derivation rate 0).
/// Confined to one thread, like the session it belongs to.
public final class SRTPSender {
    public let profile: SRTPProfile
    private let keys: SRTPCipherContexts
    private var rollover = RolloverCounters()

    public init(profile: SRTPProfile, key: [UInt8], salt masterSalt: [UInt8]) throws(SRTPError) {
        guard key.count == profile.keyLength else { throw .invalidKeyLength(expected: profile.keyLength, actual: key.count) }
        guard masterSalt.count == profile.saltLength else {
            throw .invalidKeyLength(expected: profile.saltLength, actual: masterSalt.count)
        }
        self.profile = profile
        keys = try SRTPCipherContexts(profile: profile, key: key, salt: masterSalt,
                                      labels: (encryption: 0x00, authentication: 0x01, salt: 0x02), encrypting: true)
    }

    /// Bytes `protect` appends.
    public var overhead: Int { profile.rtpOverhead }

    /// Protects the readable bytes of `packet` (one RTP packet) in place.
    public func protect(_ packet: inout ByteBuffer) throws(SRTPError) {
        try SRTPSession.inPlace(&packet, growth: overhead) { protect($0, length: $1, capacity: $2) }
    }

    /// Protects `length` bytes of RTP at `bytes` in place; `capacity` must leave room for `overhead` more.
    /// Returns the SRTP packet's length.
    public func protect(_ bytes: UnsafeMutableRawPointer, length: Int, capacity: Int) -> Result<Int, SRTPError> {
        guard length >= 12 else { return .failure(.packetTooShort(length: length)) }
        guard length <= SRTPSession.maximumPacketLength, capacity >= length + overhead else {
            return .failure(.packetTooLong(length: length))
        }
        let packet = UnsafeMutableRawBufferPointer(start: bytes, count: length)
        guard let headerLength = Self.headerLength(packet) else { return .failure(.packetTooShort(length: length)) }
        let sequenceNumber = UInt16(packet[2]) << 8 | UInt16(packet[3])
        let ssrc = UInt32(packet[8]) << 24 | UInt32(packet[9]) << 16 | UInt32(packet[10]) << 8 | UInt32(packet[11])
        let roc = rollover.counter(ssrc: ssrc, sequenceNumber: sequenceNumber)
        let payload = bytes + headerLength
        let payloadLength = Int32(length - headerLength)
        switch profile {
        case .aeadAES128GCM:
            // 96-bit IV in the first 12 bytes: 0x0000 ‖ SSRC ‖ ROC ‖ SEQ, XORed with the salt.
            var iv = ((keys.salt.0 ^ (UInt64(ssrc) << 16 | UInt64(roc >> 16))).bigEndian,
                      (keys.salt.1 ^ (UInt64(roc & 0xFFFF) << 48 | UInt64(sequenceNumber) << 32)).bigEndian)
            let sealed = withUnsafeBytes(of: &iv) { iv in
                lr_aes_gcm_seal(keys.cipher, iv.baseAddress!.assumingMemoryBound(to: UInt8.self),
                                bytes.assumingMemoryBound(to: UInt8.self), Int32(headerLength),
                                payload.assumingMemoryBound(to: UInt8.self), payloadLength) == 1
            }
            guard sealed else { return .failure(.libraryUnavailable) }
            return .success(length + 16)
        case .aes128CMHMACSHA1_80:
            // 128-bit IV: salt·2¹⁶ ⊕ SSRC·2⁶⁴ ⊕ index·2¹⁶, index = ROC ‖ SEQ.
            let index = UInt64(roc) << 16 | UInt64(sequenceNumber)
            var iv = ((keys.salt.0 ^ UInt64(ssrc)).bigEndian, (keys.salt.1 ^ (index << 16)).bigEndian)
            var outputLength: Int32 = 0
            let encrypted = withUnsafeBytes(of: &iv) { iv in
                EVP_EncryptInit_ex(keys.cipher, nil, nil, nil, iv.baseAddress!.assumingMemoryBound(to: UInt8.self)) == 1
                    && EVP_EncryptUpdate(keys.cipher, payload.assumingMemoryBound(to: UInt8.self), &outputLength,
                                         payload.assumingMemoryBound(to: UInt8.self), payloadLength) == 1
            }
            guard encrypted, let mac = keys.mac else { return .failure(.libraryUnavailable) }
            var rocBytes = roc.bigEndian
            var tag = (UInt64(0), UInt64(0), UInt32(0))
            var tagLength = 0
            let authenticated = withUnsafeMutableBytes(of: &tag) { tagBytes in
                withUnsafeBytes(of: &rocBytes) { rocBytes in
                    EVP_MAC_init(mac, nil, 0, nil) == 1
                        && EVP_MAC_update(mac, bytes.assumingMemoryBound(to: UInt8.self), length) == 1
                        && EVP_MAC_update(mac, rocBytes.baseAddress!.assumingMemoryBound(to: UInt8.self), 4) == 1
                        && EVP_MAC_final(mac, tagBytes.baseAddress!.assumingMemoryBound(to: UInt8.self), &tagLength, 20) == 1
                }
            }
            guard authenticated, tagLength == 20 else { return .failure(.libraryUnavailable) }
            withUnsafeBytes(of: &tag) { tagBytes in
                (bytes + length).copyMemory(from: tagBytes.baseAddress!, byteCount: 10)
            }
            return .success(length + 10)
        }
    }

    /// The RTP header's length: 12 bytes, the CSRCs, and the extension block when the X bit is set.
    static func headerLength(_ packet: UnsafeMutableRawBufferPointer) -> Int? {
        var length = 12 + Int(packet[0] & 0x0F) * 4
        if packet[0] & 0x10 != 0 {
            guard packet.count >= length + 4 else { return nil }
            length += 4 + (Int(packet[length + 2]) << 8 | Int(packet[length + 3])) * 4
        }
        return length <= packet.count ? length : nil
    }

    // MARK: Keys

    /// RFC 3711 §4.3.1 with kdr = 0: AES-CM keystream under the master key, IV = (label at byte 7 ⊕ master salt)·2¹⁶.
    /// A 96-bit (GCM) master salt fills bytes 0–11 (RFC 7714 §11).
    static func derive(label: UInt8, length: Int, key: [UInt8], salt: [UInt8]) -> [UInt8] {
        var iv = [UInt8](repeating: 0, count: 16)
        for (index, byte) in salt.enumerated() { iv[index] = byte }
        iv[7] ^= label
        var output = [UInt8](repeating: 0, count: length)
        let zeros = [UInt8](repeating: 0, count: length)
        guard let context = EVP_CIPHER_CTX_new() else { return output }
        defer { EVP_CIPHER_CTX_free(context) }
        var written: Int32 = 0
        _ = EVP_EncryptInit_ex(context, EVP_aes_128_ctr(), nil, key, iv)
        _ = EVP_EncryptUpdate(context, &output, &written, zeros, Int32(length))
        return output
    }

    static func hmacSHA1(key: [UInt8]) -> OpaquePointer? {
        guard let algorithm = EVP_MAC_fetch(nil, "HMAC", nil) else { return nil }
        defer { EVP_MAC_free(algorithm) }
        guard let context = EVP_MAC_CTX_new(algorithm) else { return nil }
        // The digest name is read during EVP_MAC_init, so the parameters live inside the C string's scope.
        // ("digest" is OSSL_MAC_PARAM_DIGEST.)
        let ok = "digest".withCString { name in
            "SHA1".withCString { digest -> Bool in
                let parameters = [OSSL_PARAM_construct_utf8_string(name, UnsafeMutablePointer(mutating: digest), 0),
                                  OSSL_PARAM_construct_end()]
                return EVP_MAC_init(context, key, key.count, parameters) == 1
            }
        }
        guard ok else {
            EVP_MAC_CTX_free(context)
            return nil
        }
        return context
    }

    static func bigEndian(_ bytes: [UInt8], _ offset: Int) -> UInt64 {
        (0..<8).reduce(UInt64(0)) { $0 << 8 | UInt64(bytes[offset + $1]) }
    }

    static func wipe(_ bytes: inout [UInt8]) {
        for index in bytes.indices { bytes[index] = 0 }
    }
}

/// One direction's OpenSSL contexts for one SRTP key, owned (freed with the value): what `SRTPSender`, `SRTCPSender`
/// and `SRTCPReceiver` each keep.
struct SRTPCipherContexts: ~Copyable {
    let cipher: OpaquePointer
    let mac: OpaquePointer?
    let salt: (UInt64, UInt64)

    /// Keyed with the session keys the labels derive from the master key (RFC 3711 §4.3: 0/1/2 for SRTP, 3/4/5 for
    /// SRTCP): the AES context (GCM, or CTR, which is its own inverse), the HMAC-SHA1 one for AES-CM, and the
    /// session salt as two big-endian words (zero-padded to 16 bytes).
    init(profile: SRTPProfile, key: [UInt8], salt masterSalt: [UInt8],
         labels: (encryption: UInt8, authentication: UInt8, salt: UInt8), encrypting: Bool) throws(SRTPError) {
        guard let cipher = EVP_CIPHER_CTX_new() else { throw .libraryUnavailable }
        var encryptionKey = SRTPSender.derive(label: labels.encryption, length: 16, key: key, salt: masterSalt)
        var sessionSalt = SRTPSender.derive(label: labels.salt, length: masterSalt.count, key: key, salt: masterSalt)
        defer {
            SRTPSender.wipe(&encryptionKey)
            SRTPSender.wipe(&sessionSalt)
        }
        sessionSalt += [UInt8](repeating: 0, count: 16 - sessionSalt.count)
        let salt = (SRTPSender.bigEndian(sessionSalt, 0), SRTPSender.bigEndian(sessionSalt, 8))
        switch profile {
        case .aeadAES128GCM:
            guard EVP_CipherInit_ex(cipher, EVP_aes_128_gcm(), nil, encryptionKey, nil, encrypting ? 1 : 0) == 1 else {
                EVP_CIPHER_CTX_free(cipher)
                throw .libraryUnavailable
            }
            (self.cipher, self.mac, self.salt) = (cipher, nil, salt)
        case .aes128CMHMACSHA1_80:
            var authenticationKey = SRTPSender.derive(label: labels.authentication, length: 20, key: key, salt: masterSalt)
            defer { SRTPSender.wipe(&authenticationKey) }
            guard EVP_EncryptInit_ex(cipher, EVP_aes_128_ctr(), nil, encryptionKey, nil) == 1,
                  let mac = SRTPSender.hmacSHA1(key: authenticationKey) else {
                EVP_CIPHER_CTX_free(cipher)
                throw .libraryUnavailable
            }
            (self.cipher, self.mac, self.salt) = (cipher, mac, salt)
        }
    }

    deinit {
        EVP_CIPHER_CTX_free(cipher)
        if let mac { EVP_MAC_CTX_free(mac) }
    }
}

/// The sender's rollover counter per SSRC (RFC 3711 §3.3.1): it counts the wraps of the 16-bit sequence number,
/// and a packet sent again after a wrap (a retransmission) keeps the counter it was first sent with.
struct RolloverCounters {
    private struct Entry {
        var ssrc: UInt32
        var highest: UInt16
        var roc: UInt32
    }

    /// A viewer has three SSRCs (video, its RTX, audio); a linear search of a few entries beats hashing. Stored
    /// inline: the entry changes with every packet, and an array would be checked for uniqueness each time.
    private static let capacity = 16
    private var entries = InlineArray<16, Entry>(repeating: Entry(ssrc: 0, highest: 0, roc: 0))
    private var count = 0
    private var last = 0

    mutating func counter(ssrc: UInt32, sequenceNumber: UInt16) -> UInt32 {
        // Packets of one SSRC come in runs (a frame's packets): the last one's entry is tried first.
        var index = last
        if index >= count || entries[index].ssrc != ssrc {
            guard let found = (0..<count).first(where: { entries[$0].ssrc == ssrc }) else {
                if count == Self.capacity {
                    // The oldest SSRC goes.
                    for position in 1..<count { entries[position - 1] = entries[position] }
                    count -= 1
                }
                entries[count] = Entry(ssrc: ssrc, highest: sequenceNumber, roc: 0)
                last = count
                count += 1
                return 0
            }
            index = found
            last = found
        }
        let entry = entries[index]
        let ahead = sequenceNumber &- entry.highest  // distance forward, modulo 2^16
        if ahead == 0 { return entry.roc }
        if ahead < 0x8000 {
            // Newer: a wrap when the number went down.
            let roc = sequenceNumber < entry.highest ? entry.roc &+ 1 : entry.roc
            entries[index].highest = sequenceNumber
            entries[index].roc = roc
            return roc
        }
        // Older than the highest: from before the last wrap if the number is above it.
        return sequenceNumber > entry.highest ? entry.roc &- 1 : entry.roc
    }
}
