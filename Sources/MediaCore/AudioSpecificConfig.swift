import NIOCore

/// The MPEG-4 audio decoder configuration carried by FLV AAC sequence headers and MP4 `esds` boxes
/// (ISO/IEC 14496-3 §1.6.2.1).
///
/// ```
/// audioObjectType(5) [=31: audioObjectTypeExt(6)]  samplingFrequencyIndex(4) [=0xF: samplingFrequency(24)]
/// channelConfiguration(4)  [SBR/PS (AOT 5, 29): extensionSamplingFrequencyIndex(4) [...], audioObjectType(5)]  ...
/// ```
public struct AudioSpecificConfig: Sendable, Equatable {
    /// 2 = AAC LC, 5 = SBR (HE-AAC), 29 = PS (HE-AAC v2), ...
    public var audioObjectType: Int
    public var sampleRate: Int
    /// 0 means "defined by a program config element", which LiveRelay does not read.
    public var channelConfiguration: Int
    /// The output sample rate of explicitly signalled SBR, when present.
    public var extensionSampleRate: Int?

    public init(audioObjectType: Int, sampleRate: Int, channelConfiguration: Int, extensionSampleRate: Int? = nil) {
        self.audioObjectType = audioObjectType
        self.sampleRate = sampleRate
        self.channelConfiguration = channelConfiguration
        self.extensionSampleRate = extensionSampleRate
    }

    /// Table 1.19 sampling frequencies, by index.
    public static let sampleRates = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350]

    /// Speaker count for the channel configuration (Table 1.19 / 23003-3); nil when a program config element decides.
    public var channelCount: Int? {
        switch channelConfiguration {
        case 1...6: return channelConfiguration
        case 7, 12, 14: return 8
        case 11: return 7
        case 13: return 24
        default: return nil
        }
    }

    public static func parse(_ config: ByteBuffer) throws(CodecConfigurationError) -> AudioSpecificConfig {
        var reader = BitReader(Array(config.readableBytesView))
        var objectType = try readObjectType(&reader)
        let sampleRate = try readSampleRate(&reader, "samplingFrequencyIndex")
        let channels = Int(try reader.readBits(4, "channelConfiguration"))
        var extensionRate: Int?
        if objectType == 5 || objectType == 29 {
            extensionRate = try readSampleRate(&reader, "extensionSamplingFrequencyIndex")
            objectType = try readObjectType(&reader)
        }
        return AudioSpecificConfig(audioObjectType: objectType, sampleRate: sampleRate, channelConfiguration: channels,
                                   extensionSampleRate: extensionRate)
    }

    private static func readObjectType(_ reader: inout BitReader) throws(CodecConfigurationError) -> Int {
        let type = Int(try reader.readBits(5, "audioObjectType"))
        guard type == 31 else {
            guard type != 0 else { throw .invalid("audioObjectType 0") }
            return type
        }
        return 32 + Int(try reader.readBits(6, "audioObjectTypeExt"))
    }

    private static func readSampleRate(_ reader: inout BitReader, _ field: String) throws(CodecConfigurationError) -> Int {
        let index = Int(try reader.readBits(4, field))
        if index == 0xF {
            let rate = Int(try reader.readBits(24, "samplingFrequency"))
            guard rate > 0 else { throw .invalid("samplingFrequency 0") }
            return rate
        }
        guard index < sampleRates.count else { throw .invalid("\(field) \(index)") }
        return sampleRates[index]
    }

    /// Writes the two-byte (or, with an explicit rate, five-byte) form for AAC without SBR signalling.
    public func write(to buffer: inout ByteBuffer) {
        var bits: UInt64 = 0
        var count = 0
        func put(_ value: Int, _ width: Int) {
            bits = (bits << UInt64(width)) | (UInt64(value) & ((1 << UInt64(width)) - 1))
            count += width
        }
        if audioObjectType >= 31 { put(31, 5); put(audioObjectType - 32, 6) } else { put(audioObjectType, 5) }
        if let index = Self.sampleRates.firstIndex(of: sampleRate) { put(index, 4) } else { put(0xF, 4); put(sampleRate, 24) }
        put(channelConfiguration, 4)
        let padding = (8 - count % 8) % 8
        bits <<= UInt64(padding)
        count += padding
        for byteIndex in stride(from: count / 8 - 1, through: 0, by: -1) {
            buffer.writeInteger(UInt8(truncatingIfNeeded: bits >> UInt64(byteIndex * 8)))
        }
    }
}
