import NIOCore

/// Cuts bytes from the outgoing memory BIO into datagrams of at most `mtu` bytes.
///
/// `DTLSConnection` already keeps one datagram per OpenSSL write; this is the guard for a write that is
/// larger than the MTU or was not seen by the write callback. Every DTLS record carries its own length
/// (RFC 6347 §4.1: type, version, epoch, sequence number, then a 16-bit length), so records can be cut
/// apart and packed back into datagrams; OpenSSL already sizes each record to fit the MTU.
enum DTLSDatagramPacker {
    static let recordHeaderLength = 13

    static func pack(_ bytes: UnsafeRawBufferPointer, mtu: Int, allocator: ByteBufferAllocator) -> [ByteBuffer] {
        var datagrams: [ByteBuffer] = []
        var current: ByteBuffer?
        var offset = 0
        while offset < bytes.count {
            let remaining = bytes.count - offset
            var recordLength = remaining
            if remaining >= recordHeaderLength {
                let bodyLength = Int(bytes[offset + 11]) << 8 | Int(bytes[offset + 12])
                recordLength = min(recordHeaderLength + bodyLength, remaining)
            }
            if let full = current, full.readableBytes + recordLength > mtu {
                datagrams.append(full)
                current = nil
            }
            if current == nil {
                current = allocator.buffer(capacity: min(max(recordLength, mtu), remaining))
            }
            current!.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + recordLength)]))
            offset += recordLength
        }
        if let last = current { datagrams.append(last) }
        return datagrams
    }
}
