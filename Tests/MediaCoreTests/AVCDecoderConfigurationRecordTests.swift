import MediaCore
import NIOCore
import Testing

@Suite("AVCDecoderConfigurationRecord")
struct AVCDecoderConfigurationRecordTests {
    @Test func parsesCapturedRecord() throws {
        let record = try AVCDecoderConfigurationRecord.parse(CapturedCodecConfigurations.buffer(CapturedCodecConfigurations.avc720p))
        #expect(record.profileIndication == 0x64)
        #expect(record.profileCompatibility == 0x00)
        #expect(record.levelIndication == 0x1F)
        #expect(record.nalUnitLengthSize == 4)
        #expect(record.sequenceParameterSets.map(\.readableBytes) == [26])
        #expect(record.pictureParameterSets.map { Array($0.readableBytesView) } == [[0x68, 0xeb, 0xe3, 0xcb, 0x22, 0xc0]])
    }

    @Test func writesExactBytes() throws {
        let bytes = CapturedCodecConfigurations.avcBaseline360p
        let record = try AVCDecoderConfigurationRecord.parse(ByteBuffer(bytes: bytes))
        var written = ByteBuffer()
        record.write(to: &written)
        #expect(Array(written.readableBytesView) == bytes)
    }

    @Test func rejectsBadInput() {
        #expect(throws: CodecConfigurationError.truncated("configurationVersion")) {
            try AVCDecoderConfigurationRecord.parse(ByteBuffer())
        }
        #expect(throws: CodecConfigurationError.invalid("configurationVersion 2")) {
            try AVCDecoderConfigurationRecord.parse(ByteBuffer(bytes: [2, 0x64, 0, 0x1f, 0xff, 0xe1]))
        }
        #expect(throws: CodecConfigurationError.invalid("numOfSequenceParameterSets 0")) {
            try AVCDecoderConfigurationRecord.parse(ByteBuffer(bytes: [1, 0x64, 0, 0x1f, 0xff, 0xe0, 0]))
        }
        // An SPS length pointing past the end.
        #expect(throws: CodecConfigurationError.truncated("sequenceParameterSet")) {
            try AVCDecoderConfigurationRecord.parse(ByteBuffer(bytes: [1, 0x64, 0, 0x1f, 0xff, 0xe1, 0xFF, 0xFF, 0x67]))
        }
    }
}

@Suite("AudioSpecificConfig")
struct AudioSpecificConfigTests {
    @Test func parsesCapturedConfigs() throws {
        let mono44 = try AudioSpecificConfig.parse(CapturedCodecConfigurations.buffer(CapturedCodecConfigurations.aac44100Mono))
        #expect(mono44 == AudioSpecificConfig(audioObjectType: 2, sampleRate: 44100, channelConfiguration: 1))
        #expect(mono44.channelCount == 1)
        let mono48 = try AudioSpecificConfig.parse(CapturedCodecConfigurations.buffer(CapturedCodecConfigurations.aac48000Mono))
        #expect(mono48.sampleRate == 48000)
        let stereo = try AudioSpecificConfig.parse(ByteBuffer(bytes: [0x12, 0x10]))
        #expect(stereo.channelCount == 2)
        #expect(try AudioSpecificConfig.parse(ByteBuffer(bytes: [0x12, 0x38])).channelCount == 8)  // configuration 7 is 7.1
    }

    @Test func parsesExplicitSampleRateAndWritesItBack() throws {
        let config = AudioSpecificConfig(audioObjectType: 2, sampleRate: 12345, channelConfiguration: 2)
        var bytes = ByteBuffer()
        config.write(to: &bytes)
        // 00010 1111 <24-bit 12345> 0010, padded: five bytes.
        #expect(Array(bytes.readableBytesView) == [0x17, 0x80, 0x18, 0x1C, 0x90])
        #expect(try AudioSpecificConfig.parse(bytes) == config)
    }

    @Test func writesTwoByteForm() {
        var bytes = ByteBuffer()
        AudioSpecificConfig(audioObjectType: 2, sampleRate: 48000, channelConfiguration: 2).write(to: &bytes)
        #expect(Array(bytes.readableBytesView) == [0x11, 0x90])
    }

    @Test func parsesExplicitSBR() throws {
        // AOT 5 (SBR), 24 kHz core, stereo, extension 48 kHz, then AOT 2.
        let config = try AudioSpecificConfig.parse(ByteBuffer(bytes: [0x2B, 0x11, 0x88]))
        #expect(config == AudioSpecificConfig(audioObjectType: 2, sampleRate: 24000, channelConfiguration: 2, extensionSampleRate: 48000))
    }

    @Test func rejectsBadInput() {
        #expect(throws: CodecConfigurationError.truncated("audioObjectType")) { try AudioSpecificConfig.parse(ByteBuffer()) }
        #expect(throws: CodecConfigurationError.invalid("samplingFrequencyIndex 13")) {
            try AudioSpecificConfig.parse(ByteBuffer(bytes: [0x16, 0x88]))
        }
        #expect(throws: CodecConfigurationError.truncated("samplingFrequencyIndex")) {
            try AudioSpecificConfig.parse(ByteBuffer(bytes: [0x12]))
        }
    }
}
