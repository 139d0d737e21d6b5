internal import COpus
import NIOCore

/// Settings for `OpusEncoder`; defaults suit music-or-speech WebRTC audio.
public struct OpusEncoderConfiguration: Sendable, Equatable {
    public var bitrate: Int
    /// In-band forward error correction: each packet carries a low-rate copy of the previous one.
    public var inbandFEC: Bool
    /// Expected loss the encoder spends FEC bits on.
    public var expectedPacketLossPercent: Int
    public var complexity: Int

    public init(bitrate: Int = 96_000, inbandFEC: Bool = true, expectedPacketLossPercent: Int = 10, complexity: Int = 9) {
        self.bitrate = bitrate
        self.inbandFEC = inbandFEC
        self.expectedPacketLossPercent = expectedPacketLossPercent
        self.complexity = complexity
    }
}

/// Opus encoder (libopus) for 48 kHz stereo in 20 ms frames, the framing WebRTC peers expect
/// (`opus/48000/2`, RTP timestamp +960 per packet).
///
/// Takes interleaved float samples of any count, keeps the remainder for the next call, and stamps each packet with
/// the 48 kHz time of its first sample: `start` (set with `reset(startingAt:)`) plus the samples coded before it.
///
/// Not Sendable: one encoder per stream, used from that stream's audio thread.
public final class OpusEncoder {
    public static let sampleRate = 48_000
    public static let channels = 2
    /// 20 ms at 48 kHz.
    public static let samplesPerFrame = 960
    public static let timescale: Int32 = 48_000

    public let configuration: OpusEncoderConfiguration
    private let encoder: OpaquePointer
    private var pending: [Float] = []
    private var output = [UInt8](repeating: 0, count: 4000)
    /// 48 kHz time of the next packet's first sample.
    public private(set) var nextPTS: Int64 = 0

    public init(configuration: OpusEncoderConfiguration = OpusEncoderConfiguration()) throws(TranscodeError) {
        guard (6_000...510_000).contains(configuration.bitrate) else {
            throw .invalidParameter("Opus bitrate \(configuration.bitrate) b/s")
        }
        var error: Int32 = 0
        guard let encoder = opus_encoder_create(Int32(Self.sampleRate), Int32(Self.channels), OPUS_APPLICATION_AUDIO,
                                                &error), error == OPUS_OK else {
            throw Self.error(error, "opus_encoder_create")
        }
        self.encoder = encoder
        self.configuration = configuration
        try check(lr_opus_set_bitrate(encoder, Int32(configuration.bitrate)), "OPUS_SET_BITRATE")
        try check(lr_opus_set_inband_fec(encoder, configuration.inbandFEC ? 1 : 0), "OPUS_SET_INBAND_FEC")
        try check(lr_opus_set_packet_loss_perc(encoder, Int32(configuration.expectedPacketLossPercent)),
                  "OPUS_SET_PACKET_LOSS_PERC")
        try check(lr_opus_set_complexity(encoder, Int32(configuration.complexity)), "OPUS_SET_COMPLEXITY")
        pending.reserveCapacity(Self.samplesPerFrame * Self.channels * 4)
    }

    deinit {
        opus_encoder_destroy(encoder)
    }

    /// Samples waiting for a whole frame, per channel.
    public var pendingSamples: Int { pending.count / Self.channels }

    /// Drops pending samples and restarts the timeline at `pts` (48 kHz), after a gap or a configuration change.
    public func reset(startingAt pts: Int64) {
        pending.removeAll(keepingCapacity: true)
        nextPTS = pts
    }

    /// Queues interleaved stereo samples and returns one packet per complete 20 ms frame.
    public func encode(interleavedSamples samples: [Float]) throws(TranscodeError) -> [EncodedPacket] {
        pending.append(contentsOf: samples)
        let frameLength = Self.samplesPerFrame * Self.channels
        var packets: [EncodedPacket] = []
        var consumed = 0
        while pending.count - consumed >= frameLength {
            let length: Int32 = pending.withUnsafeBufferPointer { source in
                output.withUnsafeMutableBufferPointer { destination in
                    opus_encode_float(encoder, source.baseAddress! + consumed, Int32(Self.samplesPerFrame),
                                      destination.baseAddress!, Int32(destination.count))
                }
            }
            guard length > 0 else { throw Self.error(length, "opus_encode_float") }
            var data = ByteBuffer()
            data.writeBytes(output[0..<Int(length)])
            packets.append(EncodedPacket(data: data, pts: nextPTS, dts: nextPTS, duration: Int64(Self.samplesPerFrame),
                                         timescale: Self.timescale, isKeyframe: true))
            nextPTS += Int64(Self.samplesPerFrame)
            consumed += frameLength
        }
        pending.removeFirst(consumed)
        return packets
    }

    private func check(_ result: Int32, _ request: String) throws(TranscodeError) {
        guard result == OPUS_OK else { throw Self.error(result, request) }
    }

    static func error(_ code: Int32, _ operation: String) -> TranscodeError {
        .library(operation: operation, code: code, message: String(cString: opus_strerror(code)))
    }
}

/// Opus decoder (libopus) at 48 kHz stereo: used to check what the encoder produced and by tools.
///
/// Not Sendable: one decoder per stream, used from one thread.
public final class OpusDecoder {
    private let decoder: OpaquePointer
    private var output = [Float](repeating: 0, count: 5760 * 2)

    public init() throws(TranscodeError) {
        var error: Int32 = 0
        guard let decoder = opus_decoder_create(Int32(OpusEncoder.sampleRate), Int32(OpusEncoder.channels), &error),
              error == OPUS_OK else {
            throw OpusEncoder.error(error, "opus_decoder_create")
        }
        self.decoder = decoder
    }

    deinit {
        opus_decoder_destroy(decoder)
    }

    /// Decodes one packet into interleaved stereo samples.
    public func decode(_ packet: ByteBuffer) throws(TranscodeError) -> [Float] {
        let bytes = Array(packet.readableBytesView)
        let samples: Int32 = bytes.withUnsafeBufferPointer { source in
            output.withUnsafeMutableBufferPointer { destination in
                opus_decode_float(decoder, source.baseAddress, Int32(source.count), destination.baseAddress!,
                                  Int32(destination.count / OpusEncoder.channels), 0)
            }
        }
        guard samples >= 0 else { throw OpusEncoder.error(samples, "opus_decode_float") }
        return Array(output[0..<(Int(samples) * OpusEncoder.channels)])
    }
}
