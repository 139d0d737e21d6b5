import NIOCore

/// The fields of an H.264 sequence parameter set (ISO/IEC 14496-10 §7.3.2.1.1) that LiveRelay needs: picture size
/// after cropping, profile and level, and the frame rate declared in the VUI timing information.
public struct H264SequenceParameterSet: Sendable, Equatable {
    public var profileIDC: UInt8
    public var constraintFlags: UInt8
    public var levelIDC: UInt8
    public var sequenceParameterSetID: UInt32
    public var chromaFormatIDC: UInt32
    public var bitDepthLuma: Int
    public var bitDepthChroma: Int
    public var picOrderCountType: UInt32
    public var maximumReferenceFrames: UInt32
    public var frameMacroblocksOnly: Bool
    /// Displayed picture size, after the frame cropping rectangle is applied.
    public var width: Int
    public var height: Int
    /// Sample aspect ratio from the VUI, when present.
    public var sampleAspectRatio: (width: Int, height: Int)?
    /// Frames per second from VUI timing (`time_scale / (2 · num_units_in_tick)`), when present.
    public var frameRate: Double?

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.profileIDC == rhs.profileIDC && lhs.constraintFlags == rhs.constraintFlags && lhs.levelIDC == rhs.levelIDC
            && lhs.sequenceParameterSetID == rhs.sequenceParameterSetID && lhs.chromaFormatIDC == rhs.chromaFormatIDC
            && lhs.bitDepthLuma == rhs.bitDepthLuma && lhs.bitDepthChroma == rhs.bitDepthChroma
            && lhs.picOrderCountType == rhs.picOrderCountType && lhs.maximumReferenceFrames == rhs.maximumReferenceFrames
            && lhs.frameMacroblocksOnly == rhs.frameMacroblocksOnly && lhs.width == rhs.width && lhs.height == rhs.height
            && lhs.sampleAspectRatio?.width == rhs.sampleAspectRatio?.width
            && lhs.sampleAspectRatio?.height == rhs.sampleAspectRatio?.height && lhs.frameRate == rhs.frameRate
    }

    /// Largest picture side accepted; level 6.2 tops out at 8192×4320, so twice that is never a real stream.
    public static let maximumDimension = 16384

    /// Profiles whose SPS carries chroma format, bit depth and scaling matrices (§7.3.2.1.1).
    private static let highProfiles: Set<UInt8> = [100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135]

    /// Parses an SPS NAL unit, header byte included (as stored in an AVCDecoderConfigurationRecord).
    public static func parse(nalUnit: ByteBuffer) throws(CodecConfigurationError) -> H264SequenceParameterSet {
        let bytes = removingEmulationPrevention(nalUnit.readableBytesView)
        guard let header = bytes.first else { throw .truncated("nal_unit_header") }
        guard header & 0x1F == 7 else { throw .invalid("nal_unit_type \(header & 0x1F) is not an SPS") }
        var reader = BitReader(Array(bytes.dropFirst()))
        return try parse(&reader)
    }

    private static func parse(_ reader: inout BitReader) throws(CodecConfigurationError) -> H264SequenceParameterSet {
        let profile = UInt8(try reader.readBits(8, "profile_idc"))
        let constraints = UInt8(try reader.readBits(8, "constraint_set_flags"))
        let level = UInt8(try reader.readBits(8, "level_idc"))
        let spsID = try reader.readUnsignedExpGolomb("seq_parameter_set_id")
        guard spsID <= 31 else { throw .invalid("seq_parameter_set_id \(spsID)") }

        var chromaFormat: UInt32 = 1
        var separateColourPlane = false
        var bitDepthLuma = 8
        var bitDepthChroma = 8
        if highProfiles.contains(profile) {
            chromaFormat = try reader.readUnsignedExpGolomb("chroma_format_idc")
            guard chromaFormat <= 3 else { throw .invalid("chroma_format_idc \(chromaFormat)") }
            if chromaFormat == 3 { separateColourPlane = try reader.readFlag("separate_colour_plane_flag") }
            let lumaMinus8 = try reader.readUnsignedExpGolomb("bit_depth_luma_minus8")
            let chromaMinus8 = try reader.readUnsignedExpGolomb("bit_depth_chroma_minus8")
            guard lumaMinus8 <= 6, chromaMinus8 <= 6 else { throw .invalid("bit_depth_minus8") }
            bitDepthLuma = Int(lumaMinus8) + 8
            bitDepthChroma = Int(chromaMinus8) + 8
            try reader.skipBits(1, "qpprime_y_zero_transform_bypass_flag")
            if try reader.readFlag("seq_scaling_matrix_present_flag") {
                let listCount = chromaFormat == 3 ? 12 : 8
                for index in 0..<listCount where try reader.readFlag("seq_scaling_list_present_flag") {
                    try skipScalingList(&reader, size: index < 6 ? 16 : 64)
                }
            }
        }

        let log2MaxFrameNumMinus4 = try reader.readUnsignedExpGolomb("log2_max_frame_num_minus4")
        guard log2MaxFrameNumMinus4 <= 12 else { throw .invalid("log2_max_frame_num_minus4 \(log2MaxFrameNumMinus4)") }
        let pocType = try reader.readUnsignedExpGolomb("pic_order_cnt_type")
        switch pocType {
        case 0:
            let lsb = try reader.readUnsignedExpGolomb("log2_max_pic_order_cnt_lsb_minus4")
            guard lsb <= 12 else { throw .invalid("log2_max_pic_order_cnt_lsb_minus4 \(lsb)") }
        case 1:
            try reader.skipBits(1, "delta_pic_order_always_zero_flag")
            _ = try reader.readSignedExpGolomb("offset_for_non_ref_pic")
            _ = try reader.readSignedExpGolomb("offset_for_top_to_bottom_field")
            let cycle = try reader.readUnsignedExpGolomb("num_ref_frames_in_pic_order_cnt_cycle")
            guard cycle <= 255 else { throw .invalid("num_ref_frames_in_pic_order_cnt_cycle \(cycle)") }
            for _ in 0..<cycle { _ = try reader.readSignedExpGolomb("offset_for_ref_frame") }
        case 2:
            break
        default:
            throw .invalid("pic_order_cnt_type \(pocType)")
        }
        let maxRefFrames = try reader.readUnsignedExpGolomb("max_num_ref_frames")
        try reader.skipBits(1, "gaps_in_frame_num_value_allowed_flag")
        let widthInMbsMinus1 = Int(try reader.readUnsignedExpGolomb("pic_width_in_mbs_minus1"))
        let heightInMapUnitsMinus1 = Int(try reader.readUnsignedExpGolomb("pic_height_in_map_units_minus1"))
        let frameMbsOnly = try reader.readFlag("frame_mbs_only_flag")
        if !frameMbsOnly { try reader.skipBits(1, "mb_adaptive_frame_field_flag") }
        try reader.skipBits(1, "direct_8x8_inference_flag")
        var crop = (left: 0, right: 0, top: 0, bottom: 0)
        if try reader.readFlag("frame_cropping_flag") {
            crop.left = Int(try reader.readUnsignedExpGolomb("frame_crop_left_offset"))
            crop.right = Int(try reader.readUnsignedExpGolomb("frame_crop_right_offset"))
            crop.top = Int(try reader.readUnsignedExpGolomb("frame_crop_top_offset"))
            crop.bottom = Int(try reader.readUnsignedExpGolomb("frame_crop_bottom_offset"))
        }

        // Crop units depend on chroma subsampling and on whether the picture is coded as fields (§7.4.2.1.1).
        let chromaArrayType = separateColourPlane ? 0 : chromaFormat
        let subWidth = (chromaArrayType == 1 || chromaArrayType == 2) ? 2 : 1
        let subHeight = chromaArrayType == 1 ? 2 : 1
        let fieldFactor = frameMbsOnly ? 1 : 2
        let cropUnitX = chromaArrayType == 0 ? 1 : subWidth
        let cropUnitY = chromaArrayType == 0 ? fieldFactor : subHeight * fieldFactor
        // Values come from ue(v) so each is below 2^32; Int is 64-bit, so none of this can overflow.
        let codedWidth = (widthInMbsMinus1 + 1) * 16
        let codedHeight = fieldFactor * (heightInMapUnitsMinus1 + 1) * 16
        let width = codedWidth - cropUnitX * (crop.left + crop.right)
        let height = codedHeight - cropUnitY * (crop.top + crop.bottom)
        guard codedWidth <= maximumDimension, codedHeight <= maximumDimension else {
            throw .invalid("picture size \(codedWidth)x\(codedHeight)")
        }
        guard width > 0, height > 0 else { throw .invalid("frame cropping leaves \(width)x\(height)") }

        var sps = H264SequenceParameterSet(
            profileIDC: profile, constraintFlags: constraints, levelIDC: level, sequenceParameterSetID: spsID,
            chromaFormatIDC: chromaFormat, bitDepthLuma: bitDepthLuma, bitDepthChroma: bitDepthChroma,
            picOrderCountType: pocType, maximumReferenceFrames: maxRefFrames, frameMacroblocksOnly: frameMbsOnly,
            width: width, height: height, sampleAspectRatio: nil, frameRate: nil)
        if try reader.readFlag("vui_parameters_present_flag") {
            // The VUI is informative: an encoder that truncates it still produced a decodable stream, so a short
            // VUI leaves the optional fields empty instead of rejecting the publisher.
            try? readVUI(&reader, into: &sps)
        }
        return sps
    }

    private static func readVUI(_ reader: inout BitReader, into sps: inout H264SequenceParameterSet) throws(CodecConfigurationError) {
        if try reader.readFlag("aspect_ratio_info_present_flag") {
            let idc = try reader.readBits(8, "aspect_ratio_idc")
            if idc == 255 {
                let width = Int(try reader.readBits(16, "sar_width"))
                let height = Int(try reader.readBits(16, "sar_height"))
                if width > 0, height > 0 { sps.sampleAspectRatio = (width, height) }
            } else if let ratio = predefinedAspectRatios[Int(idc)] {
                sps.sampleAspectRatio = ratio
            }
        }
        if try reader.readFlag("overscan_info_present_flag") { try reader.skipBits(1, "overscan_appropriate_flag") }
        if try reader.readFlag("video_signal_type_present_flag") {
            try reader.skipBits(4, "video_format, video_full_range_flag")
            if try reader.readFlag("colour_description_present_flag") { try reader.skipBits(24, "colour_description") }
        }
        if try reader.readFlag("chroma_loc_info_present_flag") {
            _ = try reader.readUnsignedExpGolomb("chroma_sample_loc_type_top_field")
            _ = try reader.readUnsignedExpGolomb("chroma_sample_loc_type_bottom_field")
        }
        if try reader.readFlag("timing_info_present_flag") {
            let unitsInTick = try reader.readBits(32, "num_units_in_tick")
            let timeScale = try reader.readBits(32, "time_scale")
            if unitsInTick > 0, timeScale > 0 {
                let fps = Double(timeScale) / (2 * Double(unitsInTick))
                sps.frameRate = (fps * 1000).rounded() / 1000
            }
        }
    }

    /// Table E-1: sample aspect ratios for aspect_ratio_idc 1...16.
    private static let predefinedAspectRatios: [Int: (width: Int, height: Int)] = [
        1: (1, 1), 2: (12, 11), 3: (10, 11), 4: (16, 11), 5: (40, 33), 6: (24, 11), 7: (20, 11), 8: (32, 11),
        9: (80, 33), 10: (18, 11), 11: (15, 11), 12: (64, 33), 13: (160, 99), 14: (4, 3), 15: (3, 2), 16: (2, 1),
    ]

    private static func skipScalingList(_ reader: inout BitReader, size: Int) throws(CodecConfigurationError) {
        var lastScale: Int32 = 8
        var nextScale: Int32 = 8
        for _ in 0..<size {
            if nextScale != 0 {
                let delta = try reader.readSignedExpGolomb("delta_scale")
                nextScale = (lastScale &+ delta &+ 256) % 256
            }
            lastScale = nextScale == 0 ? lastScale : nextScale
        }
    }

    /// Drops the 0x03 of every 0x00 0x00 0x03 sequence (§7.4.1), giving the raw bit stream the syntax describes.
    public static func removingEmulationPrevention<Bytes: Collection>(_ bytes: Bytes) -> [UInt8] where Bytes.Element == UInt8 {
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count)
        var zeros = 0
        for byte in bytes {
            if zeros >= 2 && byte == 0x03 {
                zeros = 0
                continue
            }
            zeros = byte == 0 ? zeros + 1 : 0
            output.append(byte)
        }
        return output
    }
}
