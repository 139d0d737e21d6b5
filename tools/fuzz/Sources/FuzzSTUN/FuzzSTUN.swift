import NIOCore
import STUN

/// A datagram on the media port whose first byte says STUN, read as the ICE-lite agent reads a binding request:
/// parse, check FINGERPRINT and MESSAGE-INTEGRITY, then the attributes it acts on.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSTUN(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let datagram = ByteBuffer(bytes: UnsafeBufferPointer(start: start, count: count))
    guard let message = try? STUNMessage(parsing: datagram) else { return 0 }
    _ = message.verifyFingerprint()
    _ = message.verifyMessageIntegrity(password: "VOkJxbRl1RmTxUk/WvJxBt")
    _ = message.username
    _ = message.software
    _ = message.priority
    _ = message.useCandidate
    _ = message.iceControlling
    _ = message.iceControlled
    _ = message.errorCode
    _ = message.xorMappedAddress
    return 0
}
