import NIOCore
import RTP

/// A compound RTCP datagram from a viewer: reports, SDES, BYE, NACK, PLI, FIR, REMB and transport-wide
/// congestion control feedback (whose run-length and status-vector chunks are the densest format here).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRTCP(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let datagram = ByteBuffer(bytes: UnsafeBufferPointer(start: start, count: count))
    _ = try? RTCPPacket.parseCompound(datagram)
    return 0
}
