import MediaCore
import NIOCore
import Testing

@Suite("H.264 sequence parameter set")
struct H264SequenceParameterSetTests {
    private func sps(_ record: [UInt8]) throws -> H264SequenceParameterSet {
        let parsed = try AVCDecoderConfigurationRecord.parse(CapturedCodecConfigurations.buffer(record))
        return try H264SequenceParameterSet.parse(nalUnit: parsed.sequenceParameterSets[0])
    }

    @Test func parses720p() throws {
        let sps = try sps(CapturedCodecConfigurations.avc720p)
        #expect(sps.width == 1280)
        #expect(sps.height == 720)
        #expect(sps.profileIDC == 100)
        #expect(sps.levelIDC == 31)
        #expect(sps.chromaFormatIDC == 1)
        #expect(sps.bitDepthLuma == 8)
        #expect(sps.frameMacroblocksOnly)
        #expect(sps.frameRate == 30)
        #expect(sps.sampleAspectRatio?.width == 1)
        #expect(sps.sampleAspectRatio?.height == 1)
    }

    @Test func parses480pWithHorizontalCropping() throws {
        let sps = try sps(CapturedCodecConfigurations.avc480p)
        #expect(sps.width == 854)
        #expect(sps.height == 480)
        #expect(sps.frameRate == 30)
    }

    @Test func parses1080pWithVerticalCropping() throws {
        let sps = try sps(CapturedCodecConfigurations.avc1080p)
        #expect(sps.width == 1920)
        #expect(sps.height == 1080)
        #expect(sps.levelIDC == 40)
    }

    @Test func parsesBaseline() throws {
        let sps = try sps(CapturedCodecConfigurations.avcBaseline360p)
        #expect(sps.profileIDC == 66)
        #expect(sps.width == 640)
        #expect(sps.height == 360)
        #expect(sps.frameRate == 25)
    }

    @Test func rejectsOtherNALUnits() {
        #expect(throws: CodecConfigurationError.invalid("nal_unit_type 8 is not an SPS")) {
            try H264SequenceParameterSet.parse(nalUnit: ByteBuffer(bytes: [0x68, 0xeb, 0xe3, 0xcb]))
        }
        #expect(throws: CodecConfigurationError.truncated("nal_unit_header")) {
            try H264SequenceParameterSet.parse(nalUnit: ByteBuffer())
        }
    }

    @Test func rejectsTruncatedSPS() {
        #expect(throws: CodecConfigurationError.truncated("level_idc")) {
            try H264SequenceParameterSet.parse(nalUnit: ByteBuffer(bytes: [0x67, 0x64, 0x00]))
        }
    }

    @Test func everyPrefixOfAnSPSFailsCleanly() throws {
        let record = try AVCDecoderConfigurationRecord.parse(CapturedCodecConfigurations.buffer(CapturedCodecConfigurations.avc1080p))
        let bytes = Array(record.sequenceParameterSets[0].readableBytesView)
        // Truncation anywhere must be an error or (inside the VUI) a result without timing — never a crash.
        for length in 0..<bytes.count {
            _ = try? H264SequenceParameterSet.parse(nalUnit: ByteBuffer(bytes: bytes.prefix(length)))
        }
    }

    @Test func removesEmulationPrevention() {
        #expect(H264SequenceParameterSet.removingEmulationPrevention([0, 0, 3, 1, 0, 0, 3, 0, 0, 3]) == [0, 0, 1, 0, 0, 0, 0])
    }
}

@Suite("Bit reader")
struct BitReaderTests {
    @Test func readsExpGolomb() throws {
        // 1 | 010 | 011 | 00100 | 00101  → ue 0, 1, 2, 3 then se(4) = -2
        var reader = BitReader([0b1010_0110, 0b0100_0010, 0b1000_0000])
        #expect(try reader.readUnsignedExpGolomb("a") == 0)
        #expect(try reader.readUnsignedExpGolomb("b") == 1)
        #expect(try reader.readUnsignedExpGolomb("c") == 2)
        #expect(try reader.readUnsignedExpGolomb("d") == 3)
        #expect(try reader.readSignedExpGolomb("e") == -2)
    }

    @Test func rejectsOverlongExpGolomb() {
        var reader = BitReader([UInt8](repeating: 0, count: 8) + [0xFF])
        #expect(throws: CodecConfigurationError.invalid("x")) { try reader.readUnsignedExpGolomb("x") }
    }

    @Test func truncationNamesTheField() {
        var reader = BitReader([0xFF])
        #expect(throws: CodecConfigurationError.truncated("width")) { try reader.readBits(9, "width") }
    }
}
