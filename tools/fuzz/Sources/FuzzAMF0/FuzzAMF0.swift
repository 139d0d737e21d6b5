import NIOCore
import RTMP

/// A command or data message body (`connect`, `publish`, `@setDataFrame onMetaData`), decoded value by value.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAMF0(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let body = ByteBuffer(bytes: UnsafeBufferPointer(start: start, count: count))
    if let values = try? AMF0Decoder().decodeAll(body) {
        // What the session does with a decoded command: re-encode replies that echo values back.
        var echoed = ByteBuffer()
        AMF0Encoder.encode(values, into: &echoed)
    }
    return 0
}
