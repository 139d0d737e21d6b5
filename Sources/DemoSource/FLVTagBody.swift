import NIOCore

/// FLV audio and video tag bodies exactly as an RTMP publisher (OBS, ffmpeg) sends them in messages 8 and 9, so the
/// demo enters LiveRelay through the same demuxer as a real broadcast (Adobe FLV 10.1 §E.4.2.1, §E.4.3.1).
///
/// ```
/// video: frameType(4)=1 key | 2 inter  codecID(4)=7 AVC | AVCPacketType(8) 0 header, 1 NALUs | compositionTime(s24)
/// audio: soundFormat(4)=10 AAC  rate(2)=3  size(1)=1  type(1)=1 (fixed for AAC) | AACPacketType(8) 0 header, 1 raw
/// ```
enum FLVTagBody {
    /// AVC sequence header: the AVCDecoderConfigurationRecord.
    static func avcSequenceHeader(_ record: ByteBuffer) -> ByteBuffer {
        var body = ByteBuffer()
        body.reserveCapacity(5 + record.readableBytes)
        body.writeBytes([0x17, 0x00, 0x00, 0x00, 0x00])
        body.writeImmutableBuffer(record)
        return body
    }

    /// One access unit of length-prefixed NAL units; `compositionTime` is pts − dts in milliseconds.
    static func avcAccessUnit(_ data: ByteBuffer, isKeyframe: Bool, compositionTime: Int32) -> ByteBuffer {
        var body = ByteBuffer()
        body.reserveCapacity(5 + data.readableBytes)
        body.writeInteger(UInt8(isKeyframe ? 0x17 : 0x27))
        body.writeInteger(UInt8(0x01))
        let composition = UInt32(bitPattern: compositionTime) & 0x00FF_FFFF
        body.writeBytes([UInt8(composition >> 16 & 0xFF), UInt8(composition >> 8 & 0xFF), UInt8(composition & 0xFF)])
        body.writeImmutableBuffer(data)
        return body
    }

    /// AAC sequence header: the AudioSpecificConfig.
    static func aacSequenceHeader(_ audioSpecificConfig: ByteBuffer) -> ByteBuffer {
        var body = ByteBuffer()
        body.writeBytes([0xAF, 0x00])
        body.writeImmutableBuffer(audioSpecificConfig)
        return body
    }

    /// One raw AAC frame.
    static func aacFrame(_ data: ByteBuffer) -> ByteBuffer {
        var body = ByteBuffer()
        body.reserveCapacity(2 + data.readableBytes)
        body.writeBytes([0xAF, 0x01])
        body.writeImmutableBuffer(data)
        return body
    }
}
