internal import CFFmpeg
import MediaCore
import NIOCore

/// H.264 decoder on libavcodec for AVCC input (FLV, RTMP, MP4), configured from the AVCDecoderConfigurationRecord.
///
/// Frame threading (`threads` > 1) decodes several pictures at once at the price of `threads − 1` frames of delay;
/// B-frames come out in presentation order with the pts given to `decode`. Errors never throw out of `decode`: a
/// packet whose NAL lengths run past its end, or that libavcodec rejects, is counted in `errorCount`, the decoder
/// is flushed and everything up to the next keyframe is skipped, so a damaged GOP costs one GOP, not the stream.
///
/// Not Sendable: one decoder per stream, used from that stream's decoding thread.
public final class H264Decoder {
    /// Packets rejected or found damaged so far (each starts a resync).
    public private(set) var errorCount = 0
    /// Packets skipped while waiting for a keyframe (after an error, or at a start without one).
    public private(set) var skippedCount = 0
    public let nalUnitLengthSize: Int

    private let decoder: DecoderContext
    private var awaitingKeyframe = true

    /// - Parameters:
    ///   - decoderConfiguration: the AVCDecoderConfigurationRecord (ISO/IEC 14496-15), given to libavcodec as extradata.
    ///   - threads: frame threads; 1 gives the lowest latency, more use more cores for big pictures.
    public init(decoderConfiguration: ByteBuffer, threads: Int = 1) throws(TranscodeError) {
        LibAVLogging.errorsOnly
        let record: AVCDecoderConfigurationRecord
        do {
            record = try AVCDecoderConfigurationRecord.parse(decoderConfiguration)
        } catch {
            throw .invalidParameter("AVCDecoderConfigurationRecord: \(error)")
        }
        guard !record.pictureParameterSets.isEmpty else {
            throw .invalidParameter("AVCDecoderConfigurationRecord without picture parameter set")
        }
        nalUnitLengthSize = record.nalUnitLengthSize
        decoder = try DecoderContext(codec: AV_CODEC_ID_H264, name: "h264", extradata: decoderConfiguration) { context in
            context.pointee.thread_count = Int32(max(1, threads))
            context.pointee.thread_type = FF_THREAD_FRAME
        }
    }

    /// Decodes one access unit (AVCC NAL units) and returns the pictures that became ready, in presentation order.
    public func decode(_ data: ByteBuffer, pts: Int64, dts: Int64, isKeyframe: Bool) -> [DecodedVideoFrame] {
        if awaitingKeyframe {
            guard isKeyframe else {
                skippedCount += 1
                return []
            }
            awaitingKeyframe = false
        }
        var frames: [DecodedVideoFrame] = []
        guard Self.lengthsAreConsistent(data, lengthSize: nalUnitLengthSize) else {
            resync(keeping: &frames)
            return frames
        }
        guard data.readableBytes > 0 else { return [] }
        let sent = decoder.send(data, pts: pts, dts: dts, isKeyframe: isKeyframe)
        if sent < 0, sent != lr_averror_eagain() {
            resync(keeping: &frames)
            return frames
        }
        drain(into: &frames)
        return frames
    }

    /// Skips everything up to the next keyframe: the caller dropped compressed frames the following ones refer to.
    public func skipUntilKeyframe() {
        awaitingKeyframe = true
        decoder.reset()
    }

    /// Returns the pictures still held for reordering or by frame threads; the decoder can continue afterwards.
    public func flush() -> [DecodedVideoFrame] {
        var frames: [DecodedVideoFrame] = []
        if decoder.sendEnd() { drain(into: &frames) }
        decoder.reset()
        return frames
    }

    private func drain(into frames: inout [DecodedVideoFrame]) {
        while true {
            switch decoder.receive() {
            case .needsInput:
                return
            case .failed:
                errorCount += 1
                awaitingKeyframe = true
                decoder.reset()
                return
            case .frame(let owned):
                if owned.pointee.decode_error_flags != 0 || owned.pointee.flags & AV_FRAME_FLAG_CORRUPT != 0 {
                    // Concealed damage: show it (better than a freeze) but count it; the next keyframe cleans it up.
                    errorCount += 1
                }
                let timestamp = owned.pointee.best_effort_timestamp != lr_av_nopts_value()
                    ? owned.pointee.best_effort_timestamp : owned.pointee.pts
                frames.append(DecodedVideoFrame(taking: owned, pts: timestamp))
            }
        }
    }

    /// Counts the error and waits for the next keyframe; the good pictures still held for reordering or by frame
    /// threads are drained first, so the damage costs only the pictures that depend on the broken one.
    private func resync(keeping frames: inout [DecodedVideoFrame]) {
        errorCount += 1
        awaitingKeyframe = true
        if decoder.sendEnd() { drain(into: &frames) }
        decoder.reset()
    }

    /// True when the length prefixes tile the packet exactly; a truncated NAL unit would make libavcodec read a
    /// partial slice and conceal garbage.
    static func lengthsAreConsistent(_ data: ByteBuffer, lengthSize: Int) -> Bool {
        data.withUnsafeReadableBytes { bytes in
            var index = 0
            while index < bytes.count {
                guard index + lengthSize <= bytes.count else { return false }
                var length = 0
                for offset in 0..<lengthSize { length = length << 8 | Int(bytes[index + offset]) }
                index += lengthSize
                guard length > 0, index + length <= bytes.count else { return false }
                index += length
            }
            return true
        }
    }
}
