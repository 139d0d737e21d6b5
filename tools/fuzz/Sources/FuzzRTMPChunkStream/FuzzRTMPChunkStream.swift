import NIOCore
import RTMP

/// The bytes a publisher sends after the handshake, read the way the ingest reads a socket: in pieces of
/// arbitrary size (the first input byte picks the piece size), each piece appended to what is still unread.
/// Reassembled commands and data messages go on to the AMF0 decoder, audio and video to the FLV demuxer,
/// as `RTMPServerSession` does with them.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRTMPChunkStream(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let input = UnsafeBufferPointer(start: start, count: count)
    guard let first = input.first else { return 0 }
    let pieceSize = Int(first) + 1
    let stream = input.dropFirst()

    var decoder = RTMPChunkDecoder()
    var demuxer = FLVMediaDemuxer()
    var unread = ByteBuffer()
    var offset = stream.startIndex
    while offset < stream.endIndex {
        let end = min(offset + pieceSize, stream.endIndex)
        unread.writeBytes(UnsafeBufferPointer(rebasing: stream[offset..<end]))
        offset = end
        decoding: while true {
            let result: RTMPChunkDecoder.ParseResult
            do {
                result = try decoder.parseStep(&unread)
            } catch {
                return 0  // the connection would be closed here
            }
            switch result {
            case .insufficientData: break decoding
            case .continueParsing: continue
            case .message(let message): deliver(message, to: &demuxer)
            }
        }
        unread.discardReadBytes()
    }
    return 0
}

private func deliver(_ message: RTMPMessage, to demuxer: inout FLVMediaDemuxer) {
    switch message.typeID {
    case RTMPMessageType.commandAMF0, RTMPMessageType.dataAMF0:
        _ = try? AMF0Decoder().decodeAll(message.payload)
    case RTMPMessageType.audio:
        _ = try? demuxer.demux(.audio, timestamp: message.timestamp, body: message.payload)
    case RTMPMessageType.video:
        _ = try? demuxer.demux(.video, timestamp: message.timestamp, body: message.payload)
    default:
        break
    }
}
