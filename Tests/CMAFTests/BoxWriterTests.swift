import CMAF
import MediaCore
import NIOCore
import Testing

@Suite("ISO-BMFF boxes")
struct BoxWriterTests {
    @Test func fullBoxExactBytes() {
        var buffer = ByteBuffer()
        buffer.writeFullBox("tfdt", version: 1, flags: 0) { $0.writeInteger(UInt64(0x0102_0304_0506_0708)) }
        #expect(Array(buffer.readableBytesView) == [0, 0, 0, 20, 0x74, 0x66, 0x64, 0x74, 1, 0, 0, 0,
                                                     1, 2, 3, 4, 5, 6, 7, 8])
    }

    @Test func fourCCDescription() {
        let code: FourCC = "avc1"
        #expect(code.rawValue == 0x6176_6331)
        #expect(code.description == "avc1")
    }

    static let avcC: ByteBuffer = {
        var buffer = ByteBuffer()
        AVCDecoderConfigurationRecord(profileIndication: 0x64, profileCompatibility: 0x00, levelIndication: 0x1F, nalUnitLengthSize: 4,
                                      sequenceParameterSets: [ByteBuffer(bytes: [0x67, 0x64, 0x00, 0x1F, 0xAC])],
                                      pictureParameterSets: [ByteBuffer(bytes: [0x68, 0xEE, 0x3C, 0x80])]).write(to: &buffer)
        return buffer
    }()

    static let asc = ByteBuffer(bytes: [0x11, 0x90])  // AAC LC, 48 kHz, stereo

    @Test func codecsStrings() {
        #expect(CMAFTrack(timescale: 90000, codec: .avc(width: 1280, height: 720, configuration: Self.avcC)).codecsString == "avc1.64001f")
        #expect(CMAFTrack(timescale: 48000, codec: .aac(sampleRate: 48000, channels: 2, audioSpecificConfig: Self.asc)).codecsString == "mp4a.40.2")
        // HE-AAC signalled explicitly (AOT 5) reports its extension type.
        let heAAC = ByteBuffer(bytes: [0x2B, 0x92, 0x08, 0x00])
        #expect(CMAFTrack(timescale: 48000, codec: .aac(sampleRate: 24000, channels: 2, audioSpecificConfig: heAAC)).codecsString.hasPrefix("mp4a.40."))
    }

    @Test func videoInitSegmentParsesBack() throws {
        let segment = InitSegment.make(CMAFTrack(trackID: 1, timescale: 90000, codec: .avc(width: 1280, height: 720, configuration: Self.avcC)))
        let boxes = Box.read(segment)
        #expect(boxes.map(\.type) == ["ftyp", "moov"])
        var ftyp = boxes[0].payload
        #expect(ftyp.readString(length: 4) == "cmf2")
        var mdhd = try #require(Box.find("moov/trak/mdia/mdhd", in: boxes)).payload
        mdhd.moveReaderIndex(forwardBy: 12)
        #expect(mdhd.readInteger(as: UInt32.self) == 90000)
        var hdlr = try #require(Box.find("moov/trak/mdia/hdlr", in: boxes)).payload
        hdlr.moveReaderIndex(forwardBy: 8)
        #expect(hdlr.readString(length: 4) == "vide")
        #expect(Box.find("moov/trak/mdia/minf/vmhd", in: boxes) != nil)
        let stsd = try #require(Box.find("moov/trak/mdia/minf/stbl/stsd", in: boxes))
        var entries = stsd.payload
        entries.moveReaderIndex(forwardBy: 8)
        let avc1 = try #require(Box.read(entries).first)
        #expect(avc1.type == "avc1")
        var avc1Body = avc1.payload
        avc1Body.moveReaderIndex(forwardBy: 24)
        #expect(avc1Body.readInteger(as: UInt16.self) == 1280)
        #expect(avc1Body.readInteger(as: UInt16.self) == 720)
        avc1Body.moveReaderIndex(forwardBy: 50)
        let avcC = try #require(Box.read(avc1Body).first)
        #expect(avcC.type == "avcC")
        #expect(avcC.payload == Self.avcC)
        var trex = try #require(Box.find("moov/mvex/trex", in: boxes)).payload
        trex.moveReaderIndex(forwardBy: 4)
        #expect(trex.readInteger(as: UInt32.self) == 1)
    }

    @Test func audioInitSegmentCarriesTheAudioSpecificConfig() throws {
        let segment = InitSegment.make(CMAFTrack(trackID: 1, timescale: 48000,
                                                 codec: .aac(sampleRate: 48000, channels: 2, audioSpecificConfig: Self.asc)))
        let boxes = Box.read(segment)
        #expect(Box.find("moov/trak/mdia/minf/smhd", in: boxes) != nil)
        var entries = try #require(Box.find("moov/trak/mdia/minf/stbl/stsd", in: boxes)).payload
        entries.moveReaderIndex(forwardBy: 8)
        let mp4a = try #require(Box.read(entries).first)
        #expect(mp4a.type == "mp4a")
        var body = mp4a.payload
        body.moveReaderIndex(forwardBy: 16)
        #expect(body.readInteger(as: UInt16.self) == 2)
        body.moveReaderIndex(forwardBy: 6)
        #expect(body.readInteger(as: UInt32.self) == 48000 << 16)
        let esds = try #require(Box.read(body).first)
        #expect(esds.type == "esds")
        // version/flags, ES_Descriptor tag 3 ... DecoderSpecificInfo tag 5, length 2, the ASC, SLConfig tag 6.
        let bytes = Array(esds.payload.readableBytesView)
        #expect(bytes.prefix(6) == [0, 0, 0, 0, 0x03, 25])
        let tag5 = try #require(bytes.firstIndex(of: 0x05))
        #expect(Array(bytes[tag5...tag5 + 3]) == [0x05, 2, 0x11, 0x90])
        #expect(Array(bytes.suffix(3)) == [0x06, 1, 0x02])
    }

    @Test func chunkParsesBackWithDataOffsetsAndCompositionOffsets() throws {
        let samples = [
            CMAFSample(duration: 3000, compositionOffset: 6000, isSync: true, data: ByteBuffer(bytes: [1, 2, 3, 4, 5])),
            CMAFSample(duration: 3000, compositionOffset: -3000, isSync: false, data: ByteBuffer(bytes: [6, 7, 8])),
        ]
        let chunk = MediaChunk.make(trackID: 1, sequenceNumber: 7, baseDecodeTime: 123_456_789_012, samples: samples, startsSegment: true)
        let boxes = Box.read(chunk)
        #expect(boxes.map(\.type) == ["styp", "moof", "mdat"])
        var mfhd = try #require(Box.find("moof/mfhd", in: boxes)).payload
        mfhd.moveReaderIndex(forwardBy: 4)
        #expect(mfhd.readInteger(as: UInt32.self) == 7)
        var tfhd = try #require(Box.find("moof/traf/tfhd", in: boxes)).payload
        #expect(tfhd.readInteger(as: UInt32.self) == 0x0002_0000)
        #expect(tfhd.readInteger(as: UInt32.self) == 1)
        var tfdt = try #require(Box.find("moof/traf/tfdt", in: boxes)).payload
        #expect(tfdt.readInteger(as: UInt32.self) == 0x0100_0000)
        #expect(tfdt.readInteger(as: UInt64.self) == 123_456_789_012)
        var trun = try #require(Box.find("moof/traf/trun", in: boxes)).payload
        #expect(trun.readInteger(as: UInt32.self) == 0x0100_0F01)
        #expect(trun.readInteger(as: UInt32.self) == 2)
        let rawOffset = trun.readInteger(as: Int32.self)
        let dataOffset = Int(try #require(rawOffset))
        let moof = boxes[1]
        let mdat = boxes[2]
        #expect(moof.offset + dataOffset == mdat.offset + 8)
        #expect(trun.readMultipleIntegers(as: (UInt32, UInt32, UInt32, Int32).self)! == (3000, 5, 0x0200_0000, 6000))
        #expect(trun.readMultipleIntegers(as: (UInt32, UInt32, UInt32, Int32).self)! == (3000, 3, 0x0101_0000, -3000))
        #expect(Array(mdat.payload.readableBytesView) == [1, 2, 3, 4, 5, 6, 7, 8])
    }

    @Test func chunkWithoutStypStartsWithMoof() {
        let chunk = MediaChunk.make(trackID: 1, sequenceNumber: 1, baseDecodeTime: 0,
                                    samples: [CMAFSample(duration: 1024, isSync: true, data: ByteBuffer(bytes: [9]))], startsSegment: false)
        #expect(Box.read(chunk).map(\.type) == ["moof", "mdat"])
    }

    @Test func eventMessageVersion1ExactBytes() {
        var buffer = ByteBuffer()
        EventMessage(schemeIDURI: "urn:x", value: "1", timescale: 1000, presentationTime: 5, eventDuration: 2000, id: 9,
                     messageData: ByteBuffer(string: "hi")).write(to: &buffer)
        let expected: [UInt8] = [0, 0, 0, 42] + Array("emsg".utf8) + [1, 0, 0, 0,
                                 0, 0, 0x03, 0xE8, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0x07, 0xD0, 0, 0, 0, 9]
            + Array("urn:x".utf8) + [0] + Array("1".utf8) + [0] + Array("hi".utf8)
        #expect(Array(buffer.readableBytesView) == expected)
    }

    @Test func chunkPutsEventsBeforeMoof() {
        let event = EventMessage(schemeIDURI: "urn:x", value: "1", timescale: 90000, presentationTime: 0, eventDuration: 0, id: 1,
                                 messageData: ByteBuffer())
        let chunk = MediaChunk.make(trackID: 1, sequenceNumber: 1, baseDecodeTime: 0,
                                    samples: [CMAFSample(duration: 1, isSync: true, data: ByteBuffer(bytes: [1]))],
                                    startsSegment: true, events: [event])
        #expect(Box.read(chunk).map(\.type) == ["styp", "emsg", "moof", "mdat"])
    }
}
