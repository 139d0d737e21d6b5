@testable import DTLSRecordFraming
import NIOCore

/// What OpenSSL wrote to the outgoing memory BIO, cut into datagrams by the records' own length fields.
/// The first byte picks the MTU (a small one forces records into datagrams of their own). Every byte must come out
/// once, in order, and no datagram may be empty.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDTLSRecordFraming(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let input = UnsafeRawBufferPointer(start: start, count: count)
    guard let first = input.first else { return 0 }
    let mtu = 64 + Int(first) * 8
    let records = UnsafeRawBufferPointer(rebasing: input.dropFirst())
    let datagrams = DTLSDatagramPacker.pack(records, mtu: mtu, allocator: ByteBufferAllocator())
    var joined: [UInt8] = []
    joined.reserveCapacity(records.count)
    for datagram in datagrams {
        precondition(datagram.readableBytes > 0, "an empty datagram")
        joined.append(contentsOf: datagram.readableBytesView)
    }
    precondition(joined.elementsEqual(records), "the datagrams do not carry the records' bytes in order")
    return 0
}
