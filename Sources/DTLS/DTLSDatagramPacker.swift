import NIOCore

/// Rebuilds datagrams from what OpenSSL wrote into a memory BIO.
///
/// A memory BIO concatenates writes, losing the datagram boundaries OpenSSL chose (`BIO_s_dgram_mem`
/// only arrived in OpenSSL 3.2). Every DTLS record carries its own length (RFC 6347 §4.1: type, version,
/// epoch, sequence number, then a 16-bit length), so the records can be cut apart again and packed back
/// into datagrams no larger than the MTU. OpenSSL already sizes each record to fit the MTU.
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
