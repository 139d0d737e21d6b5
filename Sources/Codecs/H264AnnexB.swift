/// Conversions between the two ways H.264 NAL units are framed.
///
/// x264 (and so libavcodec's libx264 wrapper, extradata included) writes Annex B: each NAL unit preceded by a
/// `00 00 01` or `00 00 00 01` start code. FLV, RTMP and MP4 carry AVCC instead: each NAL unit preceded by its
/// length as a 4-byte big-endian number, with SPS and PPS moved out into the AVCDecoderConfigurationRecord.
public enum H264AnnexB {
    /// NAL unit type of a sequence parameter set (ITU-T H.264 Table 7-1).
    public static let sequenceParameterSetType: UInt8 = 7
    /// NAL unit type of a picture parameter set.
    public static let pictureParameterSetType: UInt8 = 8

    /// The NAL units of an Annex B byte stream, start codes removed. Bytes before the first start code are ignored;
    /// trailing zero bytes belong to the next start code (H.264 B.1.1 `trailing_zero_8bits`) and are dropped.
    public static func nalUnits(_ stream: [UInt8]) -> [ArraySlice<UInt8>] {
        var units: [ArraySlice<UInt8>] = []
        var unitStart: Int?
        var index = 0
        while index + 2 < stream.count {
            if stream[index] == 0, stream[index + 1] == 0, stream[index + 2] == 1 {
                if let start = unitStart { units.append(trimmingTrailingZeros(stream[start..<index])) }
                index += 3
                unitStart = index
            } else {
                index += 1
            }
        }
        if let start = unitStart, start < stream.count {
            units.append(trimmingTrailingZeros(stream[start...]))
        }
        return units.filter { !$0.isEmpty }
    }

    /// Annex B → AVCC with 4-byte lengths.
    public static func lengthPrefixed(_ stream: [UInt8]) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(stream.count + 8)
        for unit in nalUnits(stream) {
            appendLength(UInt32(unit.count), to: &output)
            output.append(contentsOf: unit)
        }
        return output
    }

    /// AVCC with `lengthSize`-byte lengths → the NAL units; nil if a length runs past the end.
    public static func nalUnits(lengthPrefixed data: [UInt8], lengthSize: Int = 4) -> [ArraySlice<UInt8>]? {
        var units: [ArraySlice<UInt8>] = []
        var index = 0
        while index < data.count {
            guard index + lengthSize <= data.count else { return nil }
            var length = 0
            for byte in data[index..<(index + lengthSize)] { length = length << 8 | Int(byte) }
            index += lengthSize
            guard index + length <= data.count else { return nil }
            units.append(data[index..<(index + length)])
            index += length
        }
        return units
    }

    /// AVCC → Annex B with 4-byte start codes (what a raw `.h264` file holds); nil if the lengths are inconsistent.
    public static func annexB(lengthPrefixed data: [UInt8], lengthSize: Int = 4) -> [UInt8]? {
        guard let units = nalUnits(lengthPrefixed: data, lengthSize: lengthSize) else { return nil }
        var output: [UInt8] = []
        output.reserveCapacity(data.count + units.count * 4)
        for unit in units {
            output.append(contentsOf: [0, 0, 0, 1])
            output.append(contentsOf: unit)
        }
        return output
    }

    /// The `nal_unit_type` of a NAL unit (low five bits of its header byte).
    public static func type(of unit: ArraySlice<UInt8>) -> UInt8? {
        unit.first.map { $0 & 0x1F }
    }

    private static func trimmingTrailingZeros(_ unit: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        var end = unit.endIndex
        while end > unit.startIndex, unit[end - 1] == 0 { end -= 1 }
        return unit[unit.startIndex..<end]
    }

    private static func appendLength(_ length: UInt32, to output: inout [UInt8]) {
        output.append(UInt8(truncatingIfNeeded: length >> 24))
        output.append(UInt8(truncatingIfNeeded: length >> 16))
        output.append(UInt8(truncatingIfNeeded: length >> 8))
        output.append(UInt8(truncatingIfNeeded: length))
    }
}
