import CDatagram
import Glibc
import NIOCore
import SRTP

/// Where a viewer's media goes, as the kernel takes it: converted once when the path is chosen, not per packet.
///
/// Held in a `sockaddr_in6` (28 bytes), which also holds a `sockaddr_in`: media paths are IPv4 or IPv6. The
/// address is copied for every packet (out of the session, into the batch), and a 128-byte `sockaddr_storage` made
/// each of those copies a `memcpy` call. Any other kind of address keeps length 0, which the kernel refuses
/// (counted as a failed send).
public struct DatagramAddress {
    @usableFromInline var storage = sockaddr_in6()
    @usableFromInline var length: socklen_t = 0

    public init(_ address: SocketAddress) {
        address.withSockAddr { pointer, length in
            guard length <= MemoryLayout<sockaddr_in6>.size else { return }
            withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: UnsafeRawBufferPointer(start: pointer, count: length)) }
            self.length = socklen_t(length)
        }
    }
}

/// The egress's outgoing media datagrams, protected in place in storage allocated once and sent with one
/// sendmmsg(2) per batch: a frame fanned out to hundreds of viewers costs no allocation and a few system calls.
///
/// With UDP GSO, consecutive packets to one address (a frame's packets to one viewer: all of the packetizer's
/// maximum size but the last) go as one message the kernel cuts into datagrams, so the route lookup and the IP
/// and device layers run once for the run instead of once per packet. A socket or device that refuses GSO turns it
/// off for the batch and the refused run is counted as failed (NACKs repair it).
///
/// Confined to the egress event loop, like the socket's NIO channel, which keeps every other datagram (STUN,
/// DTLS, RTCP). A full socket buffer drops the rest of a batch (counted): UDP media late is media lost anyway, and
/// waiting for the socket would stall every viewer behind one burst.
public final class DatagramBatch {
    /// Datagrams per batch; a 720p frame to 64 viewers is a few calls.
    public static let capacity = 64
    /// The kernel's limits for one GSO message: 64 segments, 64 KiB of payload.
    static let maximumSegments = 64
    static let maximumMessageBytes = 65_000

    public struct Outcome {
        public var sent = 0
        public var droppedFull = 0
        public var failed = 0
        public var lastError: CInt = 0
    }

    public let slotSize: Int
    /// The bound UDP socket (owned by the NIO channel); -1 until it is set.
    public var descriptor: CInt = -1
    /// Whether runs to one address go as one GSO message.
    public private(set) var segmentation: Bool
    /// Datagrams queued.
    @usableFromInline private(set) var count = 0
    /// Messages queued (a GSO run is one).
    private var messageCount = 0
    /// The last message's run: its segment size, and whether it is closed (its last segment was shorter).
    private var runSegmentSize = 0
    private var runClosed = true
    @usableFromInline let storage: UnsafeMutableRawPointer
    private let addresses: UnsafeMutablePointer<sockaddr_in6>
    private let vectors: UnsafeMutablePointer<iovec>
    private let messages: UnsafeMutablePointer<lr_mmsghdr>
    private let controls: UnsafeMutableRawPointer
    private let controlSize: Int
    private(set) var totals = Outcome()

    public init(slotSize: Int, segmentation: Bool = true) {
        self.slotSize = slotSize
        self.segmentation = segmentation
        controlSize = Int(lr_udp_segment_control_size())
        storage = .allocate(byteCount: slotSize * Self.capacity, alignment: 16)
        addresses = .allocate(capacity: Self.capacity)
        vectors = .allocate(capacity: Self.capacity)
        messages = .allocate(capacity: Self.capacity)
        controls = .allocate(byteCount: controlSize * Self.capacity, alignment: 16)
        for index in 0..<Self.capacity {
            vectors[index] = iovec(iov_base: storage + index * slotSize, iov_len: 0)
            var header = msghdr()
            header.msg_name = UnsafeMutableRawPointer(addresses + index)
            messages[index] = lr_mmsghdr(msg_hdr: header, msg_len: 0)
        }
    }

    deinit {
        storage.deallocate()
        addresses.deallocate()
        vectors.deallocate()
        messages.deallocate()
        controls.deallocate()
    }

    /// Copies one RTP packet into the next slot, protects it there and queues it for `address`. Returns the
    /// datagram's size, or nil when it is larger than a slot or protection failed (counted as failed; nothing is
    /// queued then).
    public func append(_ packet: ByteBuffer, protectedBy srtp: SRTPSession, to address: DatagramAddress) -> Int? {
        let length = packet.readableBytes
        guard let slot = reserve(length) else { return nil }
        packet.withUnsafeReadableBytes { slot.copyMemory(from: $0.baseAddress!, byteCount: length) }
        return commit(length, protectedBy: srtp, to: address)
    }

    /// The next slot, for a packet of up to `length` bytes to be written straight into it and then `commit`ted
    /// (the batch is sent first when it is full). Nil, counted as failed, when the packet would not fit a slot.
    @inlinable
    public func reserve(_ length: Int) -> UnsafeMutableRawPointer? {
        if count == Self.capacity { flush() }
        guard length + SRTPSession.maximumTrailerLength <= slotSize else {
            countFailure()
            return nil
        }
        return storage + count * slotSize
    }

    @usableFromInline
    func countFailure() {
        totals.failed += 1
    }

    /// Protects the `length` bytes of RTP written into the slot `reserve` returned and queues them for `address`.
    /// Returns the datagram's size, or nil when protection failed (counted; nothing is queued then).
    public func commit(_ length: Int, protectedBy srtp: SRTPSession, to address: DatagramAddress) -> Int? {
        let slot = storage + count * slotSize
        guard let size = try? srtp.protect(slot, length: length, capacity: slotSize) else {
            totals.failed += 1
            return nil
        }
        vectors[count].iov_len = size
        if !extendRun(size: size, to: address) { startMessage(size: size, to: address) }
        count += 1
        return size
    }

    /// Adds the datagram in slot `count` to the last message when it continues that message's run.
    private func extendRun(size: Int, to address: DatagramAddress) -> Bool {
        guard segmentation, messageCount > 0, !runClosed, size <= runSegmentSize else { return false }
        let last = messageCount - 1
        let segments = Int(messages[last].msg_hdr.msg_iovlen)
        guard segments < Self.maximumSegments, (segments + 1) * runSegmentSize <= Self.maximumMessageBytes,
              messages[last].msg_hdr.msg_namelen == address.length,
              Self.sameAddress(addresses + last, address) else { return false }
        if segments == 1 {
            let control = controls + last * controlSize
            lr_write_udp_segment(control, UInt16(runSegmentSize))
            messages[last].msg_hdr.msg_control = control
            messages[last].msg_hdr.msg_controllen = controlSize
        }
        messages[last].msg_hdr.msg_iovlen += 1
        if size < runSegmentSize { runClosed = true }
        return true
    }

    private func startMessage(size: Int, to address: DatagramAddress) {
        let index = messageCount
        addresses[index] = address.storage
        messages[index].msg_hdr.msg_namelen = address.length
        messages[index].msg_hdr.msg_iov = vectors + count
        messages[index].msg_hdr.msg_iovlen = 1
        messages[index].msg_hdr.msg_control = nil
        messages[index].msg_hdr.msg_controllen = 0
        messageCount += 1
        runSegmentSize = size
        runClosed = false
    }

    private static func sameAddress(_ stored: UnsafeMutablePointer<sockaddr_in6>, _ address: DatagramAddress) -> Bool {
        withUnsafeBytes(of: address.storage) { candidate in
            memcmp(UnsafeRawPointer(stored), candidate.baseAddress!, Int(address.length)) == 0
        }
    }

    /// Sends what is queued. A message the kernel refuses on its own (an unreachable address) is skipped.
    @discardableResult
    public func flush() -> Outcome {
        var outcome = Outcome()
        defer {
            count = 0
            messageCount = 0
            runClosed = true
            totals.sent += outcome.sent
            totals.droppedFull += outcome.droppedFull
            totals.failed += outcome.failed
            if outcome.lastError != 0 { totals.lastError = outcome.lastError }
        }
        guard messageCount > 0 else { return outcome }
        func datagrams(_ range: Range<Int>) -> Int {
            range.reduce(0) { $0 + Int(messages[$1].msg_hdr.msg_iovlen) }
        }
        guard descriptor >= 0 else {
            outcome.failed = count
            return outcome
        }
        var offset = 0
        while offset < messageCount {
            let sent = lr_sendmmsg(descriptor, messages + offset, UInt32(messageCount - offset), CInt(MSG_DONTWAIT))
            if sent > 0 {
                outcome.sent += datagrams(offset..<offset + Int(sent))
                offset += Int(sent)
                continue
            }
            let error = errno
            if error == EINTR { continue }
            outcome.lastError = error
            if error == EAGAIN || error == EWOULDBLOCK || error == ENOBUFS {
                outcome.droppedFull += datagrams(offset..<messageCount)
                break
            }
            if messages[offset].msg_hdr.msg_iovlen > 1, error == EIO || error == EINVAL || error == EOPNOTSUPP {
                segmentation = false  // no GSO on this path: one datagram per message from now on
            }
            outcome.failed += Int(messages[offset].msg_hdr.msg_iovlen)
            offset += 1
        }
        return outcome
    }

    /// Counters since the last call, reset.
    public func takeTotals() -> Outcome {
        defer { totals = Outcome() }
        return totals
    }
}
