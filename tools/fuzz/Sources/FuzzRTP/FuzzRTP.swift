import NIOCore
import RTP

/// An RTP packet as a viewer's sender reports it back or a publisher sends it: header, CSRCs, one- and two-byte
/// header extensions, padding, then the VP8 payload descriptor the keyframe detection reads.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRTP(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let datagram = ByteBuffer(bytes: UnsafeBufferPointer(start: start, count: count))
    _ = RTPDemux.isRTCP(datagram)
    guard let packet = try? RTPPacket(parsing: datagram) else { return 0 }
    for id in UInt8(1)...14 { _ = packet.header.extensionData(id: id) }
    var rewritten = ByteBuffer()
    _ = packet.header.write(into: &rewritten)
    _ = try? VP8PayloadDescriptor.parse(packet.payload)
    return 0
}
