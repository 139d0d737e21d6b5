internal import CSRTP
import NIOCore

/// One direction of one SRTP key: the server holds an outbound session with its DTLS-SRTP half and an
/// inbound session with the viewer's half.
///
/// Outbound RTP and SRTCP and inbound SRTCP — everything a server does — run on OpenSSL (`SRTPSender`,
/// `SRTCPSender`, `SRTCPReceiver`). libsrtp2 (on Debian built on NSS: a PKCS#11 context of some 35 KB per session
/// and locks per packet) is set up only when a packet needs it: inbound RTP (a test viewer or the load generator
/// decrypting media) and the reference sessions the tests compare with.
///
/// A session is confined to one event loop (it and libsrtp2 keep per-stream replay state without locks).
/// Every packet operation works in place on the caller's `ByteBuffer`, so a sender that reuses one
/// buffer with `SRTPSession.maximumTrailerLength` bytes of spare capacity allocates nothing per packet.
public final class SRTPSession {
    public enum Direction: Sendable, Hashable {
        /// Packets we protect; any SSRC we send is accepted (`ssrc_any_outbound`).
        case outbound
        /// Packets we unprotect; streams are created on first sight of an SSRC (`ssrc_any_inbound`).
        case inbound
    }

    /// Bytes `protect` may append after an RTP packet; SRTCP adds 4 more for the E-flag and index.
    public static let maximumTrailerLength = Int(lr_srtp_max_trailer_len())
    public static let maximumRTCPTrailerLength = maximumTrailerLength + 4

    /// Large enough for any UDP payload; libsrtp2 takes lengths as `int`.
    static let maximumPacketLength = 65_535
    static let rtpHeaderLength = 12
    static let rtcpHeaderLength = 8

    public let profile: SRTPProfile
    public let direction: Direction
    /// The master key and salt, kept for libsrtp2 until it is needed (wiped when the session goes).
    private var master: [UInt8]
    private var libsrtp: srtp_t?
    /// Outbound RTP, the per-packet path.
    private let sender: SRTPSender?
    /// `sender` without the reference counting: it is called for every packet, and `sender` keeps it alive.
    private let unmanagedSender: Unmanaged<SRTPSender>?
    /// Outbound SRTCP (sender reports).
    private let rtcpSender: SRTCPSender?
    /// Inbound SRTCP (every viewer's feedback).
    private let receiver: SRTCPReceiver?

    /// Replay window of 1024 packets: at 1.5 Mb/s a viewer sees ~150 packets/s, so reordering of several
    /// seconds stays inside the window. Repeated transmission is allowed because NACK answers resend the
    /// same protected packet index.
    public convenience init(profile: SRTPProfile, key: [UInt8], salt: [UInt8], direction: Direction) throws(SRTPError) {
        try self.init(profile: profile, key: key, salt: salt, direction: direction, openSSLForRTP: true)
    }

    /// `openSSLForRTP: false` leaves every packet to libsrtp2, the reference the tests compare with.
    init(profile: SRTPProfile, key: [UInt8], salt: [UInt8], direction: Direction, openSSLForRTP: Bool) throws(SRTPError) {
        guard key.count == profile.keyLength else {
            throw .invalidKeyLength(expected: profile.keyLength, actual: key.count)
        }
        guard salt.count == profile.saltLength else {
            throw .invalidKeyLength(expected: profile.saltLength, actual: salt.count)
        }
        self.profile = profile
        self.direction = direction
        self.master = key + salt
        let outbound = direction == .outbound && openSSLForRTP
        let inbound = direction == .inbound && openSSLForRTP
        self.sender = outbound ? try SRTPSender(profile: profile, key: key, salt: salt) : nil
        self.unmanagedSender = sender.map { Unmanaged.passUnretained($0) }
        self.rtcpSender = outbound ? try SRTCPSender(profile: profile, key: key, salt: salt) : nil
        self.receiver = inbound ? try SRTCPReceiver(profile: profile, key: key, salt: salt) : nil
        if !openSSLForRTP { _ = try libsrtpSession() }
    }

    deinit {
        if let libsrtp { srtp_dealloc(libsrtp) }
        // Do not leave key bytes in a heap block that is about to be freed.
        for index in master.indices { master[index] = 0 }
    }

    /// libsrtp2's session for this key and direction, made on first use.
    private func libsrtpSession() throws(SRTPError) -> srtp_t {
        if let libsrtp { return libsrtp }
        guard SRTPLibrary.initialize() else { throw .libraryUnavailable }
        var policy = srtp_policy_t()
        switch profile {
        case .aeadAES128GCM:
            srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtp)
            srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtcp)
        case .aes128CMHMACSHA1_80:
            srtp_crypto_policy_set_rtp_default(&policy.rtp)
            srtp_crypto_policy_set_rtcp_default(&policy.rtcp)
        }
        switch direction {
        case .outbound: policy.ssrc.type = ssrc_any_outbound
        case .inbound: policy.ssrc.type = ssrc_any_inbound
        }
        policy.window_size = 1024
        policy.allow_repeat_tx = 1
        policy.next = nil
        // libsrtp2 copies the master key while expanding it, so the buffer only has to outlive srtp_create.
        var created: srtp_t?
        let status = master.withUnsafeMutableBufferPointer { bytes in
            policy.key = bytes.baseAddress
            return srtp_create(&created, &policy)
        }
        guard status == srtp_err_status_ok, let created else { throw SRTPError(status: status) }
        libsrtp = created
        return created
    }

    /// Where sealing an outbound packet reads this session's state, for a caller that asks for the next viewer's
    /// while it seals for this one. Opaque: the only thing to do with it is `prefetch()`.
    public struct SealingStateHint {
        let address: UnsafeRawPointer

        /// Asks for the sealing state to be brought into the cache; never reads it.
        public func prefetch() {
            lr_srtp_prefetch(address, 320)
        }
    }

    /// The hint for an outbound session sealed on OpenSSL (nil for any other).
    public var sealingStateHint: SealingStateHint? {
        unmanagedSender.map { SealingStateHint(address: UnsafeRawPointer($0.toOpaque())) }
    }

    /// Turns the readable bytes (one RTP packet) into SRTP in place, growing the writer index by the tag.
    public func protect(_ packet: inout ByteBuffer) throws(SRTPError) {
        if let sender { return try sender.protect(&packet) }
        try transform(&packet, minimumLength: Self.rtpHeaderLength, trailer: Self.maximumTrailerLength) {
            srtp_protect($0, $1, $2)
        }
    }

    /// Protects `length` bytes of RTP at `bytes` in place (room for `maximumTrailerLength` more must follow
    /// within `capacity`); returns the SRTP packet's length. For senders that keep packets in storage of their own.
    public func protect(_ bytes: UnsafeMutableRawPointer, length: Int, capacity: Int) throws(SRTPError) -> Int {
        if let unmanagedSender {
            return try unmanagedSender._withUnsafeGuaranteedRef { $0.protect(bytes, length: length, capacity: capacity) }.get()
        }
        guard length >= Self.rtpHeaderLength else { throw .packetTooShort(length: length) }
        guard length <= Self.maximumPacketLength, capacity >= length + Self.maximumTrailerLength else {
            throw .packetTooLong(length: length)
        }
        var newLength = Int32(length)
        let status = srtp_protect(try libsrtpSession(), bytes, &newLength)
        guard status == srtp_err_status_ok else { throw SRTPError(status: status) }
        return Int(newLength)
    }

    /// Turns the readable bytes (one compound RTCP packet) into SRTCP in place.
    public func protectRTCP(_ packet: inout ByteBuffer) throws(SRTPError) {
        if let rtcpSender {
            return try Self.inPlace(&packet, growth: rtcpSender.overhead) { rtcpSender.protect($0, length: $1, capacity: $2) }
        }
        try transform(&packet, minimumLength: Self.rtcpHeaderLength, trailer: Self.maximumRTCPTrailerLength) {
            srtp_protect_rtcp($0, $1, $2)
        }
    }

    /// Verifies and decrypts the readable bytes (one SRTP packet) in place, shrinking the writer index.
    /// On failure the buffer's contents are unspecified and the packet must be dropped.
    public func unprotect(_ packet: inout ByteBuffer) throws(SRTPError) {
        try transform(&packet, minimumLength: Self.rtpHeaderLength, trailer: 0) {
            srtp_unprotect($0, $1, $2)
        }
    }

    /// Verifies and decrypts the readable bytes (one SRTCP packet) in place; viewers' receiver reports,
    /// NACKs and PLIs arrive this way.
    public func unprotectRTCP(_ packet: inout ByteBuffer) throws(SRTPError) {
        if let receiver {
            let length = packet.readableBytes
            guard length >= Self.rtcpHeaderLength else { throw .packetTooShort(length: length) }
            guard length <= Self.maximumPacketLength else { throw .packetTooLong(length: length) }
            return try Self.inPlace(&packet, growth: 0) { bytes, length, _ in receiver.unprotect(bytes, length: length) }
        }
        try transform(&packet, minimumLength: Self.rtcpHeaderLength, trailer: 0) {
            srtp_unprotect_rtcp($0, $1, $2)
        }
    }

    /// Runs an OpenSSL transform on the readable bytes in place: `body(start, length, capacity)` returns the new
    /// length; `growth` bytes of room after the packet are made first.
    static func inPlace(_ packet: inout ByteBuffer, growth: Int,
                        _ body: (UnsafeMutableRawPointer, Int, Int) -> Result<Int, SRTPError>) throws(SRTPError) {
        let length = packet.readableBytes
        if packet.writableBytes < growth { packet.reserveCapacity(minimumWritableBytes: growth) }
        let start = packet.readerIndex
        let result = packet.withVeryUnsafeMutableBytes { storage in
            body(storage.baseAddress! + start, length, storage.count - start)
        }
        switch result {
        case .success(let newLength): packet.moveWriterIndex(to: start + newLength)
        case .failure(let error): throw error
        }
    }

    private func transform(
        _ packet: inout ByteBuffer,
        minimumLength: Int,
        trailer: Int,
        _ operation: (srtp_t, UnsafeMutableRawPointer, UnsafeMutablePointer<Int32>) -> srtp_err_status_t
    ) throws(SRTPError) {
        let length = packet.readableBytes
        guard length >= minimumLength else { throw .packetTooShort(length: length) }
        guard length <= Self.maximumPacketLength else { throw .packetTooLong(length: length) }
        if packet.writableBytes < trailer {
            packet.reserveCapacity(minimumWritableBytes: trailer)
        }
        let start = packet.readerIndex
        var newLength = Int32(length)
        let session = try libsrtpSession()
        let status = packet.withVeryUnsafeMutableBytes { storage in
            // Capacity covers start + length + trailer, checked above; libsrtp2 writes at most `trailer` past it.
            operation(session, storage.baseAddress! + start, &newLength)
        }
        guard status == srtp_err_status_ok else { throw SRTPError(status: status) }
        packet.moveWriterIndex(to: start + Int(newLength))
    }
}
