import CDatagram
import Glibc
import NIOCore
import SRTP

/// Where a viewer's media goes, as the kernel takes it: converted once when the path is chosen, not per packet.
struct DatagramAddress {
    var storage = sockaddr_storage()
    var length: socklen_t = 0

    init(_ address: SocketAddress) {
        address.withSockAddr { pointer, length in
            withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: UnsafeRawBufferPointer(start: pointer, count: length)) }
            self.length = socklen_t(length)
        }
    }
}

/// The egress's outgoing media datagrams, protected in place in storage allocated once and sent with one
/// sendmmsg(2) per batch: a frame fanned out to hundreds of viewers costs no allocation and a few system calls.
///
/// Confined to the egress event loop, like the socket's NIO channel, which keeps every other datagram (STUN,
/// DTLS, RTCP). A full socket buffer drops the rest of a batch (counted): UDP media late is media lost anyway, and
/// waiting for the socket would stall every viewer behind one burst.
final class DatagramBatch {
    /// Datagrams per sendmmsg; a 720p frame to 64 viewers is a few calls.
    static let capacity = 64

    struct Outcome {
        var sent = 0
        var droppedFull = 0
        var failed = 0
        var lastError: CInt = 0
    }

    let slotSize: Int
    /// The bound UDP socket (owned by the NIO channel); -1 until it is set.
    var descriptor: CInt = -1
    private(set) var count = 0
    private let storage: UnsafeMutableRawPointer
    private let addresses: UnsafeMutablePointer<sockaddr_storage>
    private let vectors: UnsafeMutablePointer<iovec>
    private let messages: UnsafeMutablePointer<lr_mmsghdr>
    private(set) var totals = Outcome()

    init(slotSize: Int) {
        self.slotSize = slotSize
        storage = .allocate(byteCount: slotSize * Self.capacity, alignment: 16)
        addresses = .allocate(capacity: Self.capacity)
        vectors = .allocate(capacity: Self.capacity)
        messages = .allocate(capacity: Self.capacity)
        for index in 0..<Self.capacity {
            vectors[index] = iovec(iov_base: storage + index * slotSize, iov_len: 0)
            var header = msghdr()
            header.msg_name = UnsafeMutableRawPointer(addresses + index)
            header.msg_iov = vectors + index
            header.msg_iovlen = 1
            messages[index] = lr_mmsghdr(msg_hdr: header, msg_len: 0)
        }
    }

    deinit {
        storage.deallocate()
        addresses.deallocate()
        vectors.deallocate()
        messages.deallocate()
    }

    /// Copies one RTP packet into the next slot, protects it there and queues it for `address`. Returns the
    /// datagram's size, or nil when it is larger than a slot or protection failed (counted as failed; nothing is
    /// queued then).
    func append(_ packet: ByteBuffer, protectedBy srtp: SRTPSession, to address: DatagramAddress) -> Int? {
        if count == Self.capacity { flush() }
        let slot = storage + count * slotSize
        let length = packet.readableBytes
        guard length + SRTPSession.maximumTrailerLength <= slotSize else {
            totals.failed += 1
            return nil
        }
        packet.withUnsafeReadableBytes { slot.copyMemory(from: $0.baseAddress!, byteCount: length) }
        guard let size = try? srtp.protect(slot, length: length, capacity: slotSize) else {
            totals.failed += 1
            return nil
        }
        vectors[count].iov_len = size
        addresses[count] = address.storage
        messages[count].msg_hdr.msg_namelen = address.length
        count += 1
        return size
    }

    /// Sends what is queued. A message the kernel refuses on its own (an unreachable address) is skipped.
    @discardableResult
    func flush() -> Outcome {
        var outcome = Outcome()
        defer {
            count = 0
            totals.sent += outcome.sent
            totals.droppedFull += outcome.droppedFull
            totals.failed += outcome.failed
            if outcome.lastError != 0 { totals.lastError = outcome.lastError }
        }
        guard count > 0 else { return outcome }
        guard descriptor >= 0 else {
            outcome.failed = count
            return outcome
        }
        var offset = 0
        while offset < count {
            let sent = lr_sendmmsg(descriptor, messages + offset, UInt32(count - offset), CInt(MSG_DONTWAIT))
            if sent > 0 {
                offset += Int(sent)
                outcome.sent += Int(sent)
                continue
            }
            let error = errno
            if error == EINTR { continue }
            outcome.lastError = error
            if error == EAGAIN || error == EWOULDBLOCK || error == ENOBUFS {
                outcome.droppedFull += count - offset
                break
            }
            outcome.failed += 1
            offset += 1
        }
        return outcome
    }

    /// Counters since the last call, reset.
    func takeTotals() -> Outcome {
        defer { totals = Outcome() }
        return totals
    }
}
