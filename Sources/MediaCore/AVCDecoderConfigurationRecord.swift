import NIOCore

/// The H.264 decoder configuration carried by FLV sequence headers and MP4 `avcC` boxes (ISO/IEC 14496-15 §5.3.3.1).
///
/// ```
/// configurationVersion(8)=1  AVCProfileIndication(8)  profile_compatibility(8)  AVCLevelIndication(8)
/// reserved(6)=111111  lengthSizeMinusOne(2)
/// reserved(3)=111  numOfSequenceParameterSets(5)  { sequenceParameterSetLength(16)  SPS NAL unit }*
/// numOfPictureParameterSets(8)  { pictureParameterSetLength(16)  PPS NAL unit }*
/// [high profiles: chroma_format, bit depths and SPS extensions — kept only as raw trailing bytes]
/// ```
public struct AVCDecoderConfigurationRecord: Sendable, Equatable {
    public var profileIndication: UInt8
    public var profileCompatibility: UInt8
    public var levelIndication: UInt8
    /// Bytes in each NAL unit length prefix of the frames that follow: 1, 2 or 4.
    public var nalUnitLengthSize: Int
    public var sequenceParameterSets: [ByteBuffer]
    public var pictureParameterSets: [ByteBuffer]

    public init(profileIndication: UInt8, profileCompatibility: UInt8, levelIndication: UInt8, nalUnitLengthSize: Int,
                sequenceParameterSets: [ByteBuffer], pictureParameterSets: [ByteBuffer]) {
        self.profileIndication = profileIndication
        self.profileCompatibility = profileCompatibility
        self.levelIndication = levelIndication
        self.nalUnitLengthSize = nalUnitLengthSize
        self.sequenceParameterSets = sequenceParameterSets
        self.pictureParameterSets = pictureParameterSets
    }

    public static func parse(_ record: ByteBuffer) throws(CodecConfigurationError) -> AVCDecoderConfigurationRecord {
        var buffer = record
        guard let version = buffer.readInteger(as: UInt8.self) else { throw .truncated("configurationVersion") }
        guard version == 1 else { throw .invalid("configurationVersion \(version)") }
        guard let profile = buffer.readInteger(as: UInt8.self),
              let compatibility = buffer.readInteger(as: UInt8.self),
              let level = buffer.readInteger(as: UInt8.self) else { throw .truncated("AVCProfileIndication") }
        guard let lengthByte = buffer.readInteger(as: UInt8.self) else { throw .truncated("lengthSizeMinusOne") }
        let lengthSize = Int(lengthByte & 0x03) + 1
        // A length size of 3 is reserved by the specification; nobody produces it and demuxers reject it.
        guard lengthSize != 3 else { throw .invalid("lengthSizeMinusOne 2") }
        guard let spsCountByte = buffer.readInteger(as: UInt8.self) else { throw .truncated("numOfSequenceParameterSets") }
        let sps = try readParameterSets(count: Int(spsCountByte & 0x1F), from: &buffer, field: "sequenceParameterSet")
        guard !sps.isEmpty else { throw .invalid("numOfSequenceParameterSets 0") }
        guard let ppsCount = buffer.readInteger(as: UInt8.self) else { throw .truncated("numOfPictureParameterSets") }
        let pps = try readParameterSets(count: Int(ppsCount), from: &buffer, field: "pictureParameterSet")
        return AVCDecoderConfigurationRecord(profileIndication: profile, profileCompatibility: compatibility,
                                             levelIndication: level, nalUnitLengthSize: lengthSize,
                                             sequenceParameterSets: sps, pictureParameterSets: pps)
    }

    private static func readParameterSets(count: Int, from buffer: inout ByteBuffer,
                                          field: String) throws(CodecConfigurationError) -> [ByteBuffer] {
        var sets: [ByteBuffer] = []
        sets.reserveCapacity(count)
        for _ in 0..<count {
            guard let length = buffer.readInteger(as: UInt16.self) else { throw .truncated("\(field)Length") }
            guard length > 0 else { throw .invalid("\(field)Length 0") }
            guard let set = buffer.readSlice(length: Int(length)) else { throw .truncated(field) }
            sets.append(set)
        }
        return sets
    }

    /// Writes the record in its minimal form (without the high-profile trailer, which decoders do not need).
    public func write(to buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt8(1))
        buffer.writeInteger(profileIndication)
        buffer.writeInteger(profileCompatibility)
        buffer.writeInteger(levelIndication)
        buffer.writeInteger(UInt8(0xFC | UInt8((nalUnitLengthSize - 1) & 0x03)))
        buffer.writeInteger(UInt8(0xE0 | UInt8(min(sequenceParameterSets.count, 31))))
        for set in sequenceParameterSets.prefix(31) {
            buffer.writeInteger(UInt16(set.readableBytes))
            buffer.writeImmutableBuffer(set)
        }
        buffer.writeInteger(UInt8(min(pictureParameterSets.count, 255)))
        for set in pictureParameterSets.prefix(255) {
            buffer.writeInteger(UInt16(set.readableBytes))
            buffer.writeImmutableBuffer(set)
        }
    }
}
