internal import CFFmpeg
import MediaCore
import NIOCore

/// Settings for `AACEncoder` (AAC-LC).
public struct AACEncoderConfiguration: Sendable, Equatable {
    public var sampleRate: Int
    public var channels: Int
    /// Bits per second for all channels together.
    public var bitrate: Int

    public init(sampleRate: Int = 48_000, channels: Int = 2, bitrate: Int = 128_000) {
        self.sampleRate = sampleRate
        self.channels = channels
        self.bitrate = bitrate
    }
}

/// AAC-LC encoder on libavcodec's native `aac` encoder, taking interleaved float samples of any count.
///
/// AAC codes fixed frames of 1024 samples per channel, so input is queued in a FIFO and encoded a frame at a time.
/// Timestamps count samples (timescale = sample rate) from the first sample passed in. Like every AAC encoder this
/// one starts with `primingSamples` of encoder delay: the first packet's pts is negative by that amount, and a
/// decoder that does not trim priming plays the input that much late — timelines that cannot hold negative times
/// (FLV, RTMP) shift everything by it.
///
/// Not Sendable: use one encoder from one thread (or task) at a time.
public final class AACEncoder {
    public let configuration: AACEncoderConfiguration
    /// The AudioSpecificConfig (ISO/IEC 14496-3 §1.6.2.1) for the stream this encoder produces.
    public let audioSpecificConfig: ByteBuffer
    /// Samples per channel in each encoded frame (1024 for AAC-LC).
    public let samplesPerFrame: Int
    /// Encoder delay in samples per channel (`initial_padding`).
    public let primingSamples: Int

    private let context: EncoderContext
    private let frame: CodecFrame
    /// Interleaved samples waiting for a whole frame.
    private var pending: [Float] = []
    /// Samples per channel sent to the encoder so far: the pts of the next frame.
    private var samplesEncoded: Int64 = 0
    private var flushed = false

    public init(configuration: AACEncoderConfiguration) throws(TranscodeError) {
        guard AudioSpecificConfig.sampleRates.contains(configuration.sampleRate) else {
            throw .invalidParameter("sample rate \(configuration.sampleRate) Hz (AAC takes 7350–96000 Hz standard rates)")
        }
        guard (1...8).contains(configuration.channels) else {
            throw .invalidParameter("\(configuration.channels) channels")
        }
        guard configuration.bitrate >= 8_000 else { throw .invalidParameter("bitrate \(configuration.bitrate) b/s") }
        self.configuration = configuration
        context = try EncoderContext(encoderName: "aac") { encoder throws(TranscodeError) in
            let codec = encoder.context
            codec.pointee.sample_fmt = AV_SAMPLE_FMT_FLTP
            codec.pointee.sample_rate = Int32(configuration.sampleRate)
            av_channel_layout_default(&codec.pointee.ch_layout, Int32(configuration.channels))
            codec.pointee.bit_rate = Int64(configuration.bitrate)
            codec.pointee.time_base = AVRational(num: 1, den: Int32(configuration.sampleRate))
            // Global header: the AudioSpecificConfig comes out as extradata instead of ADTS headers in the stream.
            codec.pointee.flags |= AV_CODEC_FLAG_GLOBAL_HEADER
        }
        samplesPerFrame = Int(context.context.pointee.frame_size)
        primingSamples = Int(context.context.pointee.initial_padding)
        let extradata = context.extradata
        guard !extradata.isEmpty else {
            throw .library(operation: "aac global header", code: 0, message: "encoder wrote no AudioSpecificConfig")
        }
        audioSpecificConfig = ByteBuffer(bytes: extradata)
        frame = try CodecFrame(samples: samplesPerFrame, channels: configuration.channels,
                               sampleRate: configuration.sampleRate)
    }

    /// Queues interleaved samples (`channels` values per instant, nominally −1…1) and returns the packets of every
    /// frame that became complete.
    public func encode(interleavedSamples samples: [Float]) throws(TranscodeError) -> [EncodedPacket] {
        guard !flushed else { throw .alreadyFlushed }
        guard samples.count % configuration.channels == 0 else {
            throw .invalidParameter("\(samples.count) samples do not divide into \(configuration.channels) channels")
        }
        pending.append(contentsOf: samples)
        let frameLength = samplesPerFrame * configuration.channels
        var packets: [EncodedPacket] = []
        var consumed = 0
        while pending.count - consumed >= frameLength {
            packets += try encodeFrame(pending[consumed..<(consumed + frameLength)])
            consumed += frameLength
        }
        pending.removeFirst(consumed)
        return packets
    }

    /// Encodes what is left in the FIFO (a short last frame) and drains the encoder's delay.
    public func flush() throws(TranscodeError) -> [EncodedPacket] {
        guard !flushed else { return [] }
        var packets: [EncodedPacket] = []
        if !pending.isEmpty {
            packets += try encodeFrame(pending[...])
            pending.removeAll()
        }
        flushed = true
        packets += try context.encode(nil, convert: packet)
        return packets
    }

    private func encodeFrame(_ samples: ArraySlice<Float>) throws(TranscodeError) -> [EncodedPacket] {
        try frame.fill(interleaved: samples, channels: configuration.channels, pts: samplesEncoded)
        samplesEncoded += Int64(samples.count / configuration.channels)
        return try context.encode(frame, convert: packet)
    }

    private func packet(_ raw: EncoderContext.RawPacket) -> EncodedPacket {
        EncodedPacket(data: ByteBuffer(bytes: raw.bytes), pts: raw.pts, dts: raw.dts,
                      duration: raw.duration > 0 ? raw.duration : Int64(samplesPerFrame),
                      timescale: Int32(configuration.sampleRate), isKeyframe: true)
    }
}
