internal import CFFmpeg

/// Converts pictures to one output size in I420 with libswscale, into Swift-owned `PlanarYUVFrame`s.
///
/// One scaler per output size; it rebuilds its libswscale context only when the input size or pixel format
/// changes (a mid-stream resolution change), so steady state allocates nothing but the output planes, which
/// libswscale writes without their being cleared first.
/// Bilinear filtering: for downscaling by 1.5–6× it is within a few tenths of a dB of bicubic on natural content
/// and markedly cheaper. The input is either the decoder's picture or a larger rung's scaled picture: libswscale's
/// downscaling filter reads every input row and column, so its cost follows the input's area, and a rung half the
/// size of the one above is cheaper to make from that rung than from the source (see `scale(_:)` for I420 input).
///
/// Not Sendable: used from the stream's decoding thread.
public final class Scaler {
    public let width: Int
    public let height: Int
    private var context: OpaquePointer?
    private var inputWidth: Int32 = 0
    private var inputHeight: Int32 = 0
    private var inputFormat: Int32 = -1

    public init(width: Int, height: Int) throws(TranscodeError) {
        guard width > 0, height > 0, width % 2 == 0, height % 2 == 0, width <= 16384, height <= 16384 else {
            throw .invalidDimensions(width: width, height: height)
        }
        self.width = width
        self.height = height
    }

    deinit {
        sws_freeContext(context)
    }

    /// The decoder's picture at this scaler's size.
    public func scale(_ picture: DecodedVideoFrame) throws(TranscodeError) -> PlanarYUVFrame {
        let source = picture.frame
        return try withUnsafePointer(to: &source.pointee.data) { dataTuple throws(TranscodeError) in
            try withUnsafePointer(to: &source.pointee.linesize) { linesizeTuple throws(TranscodeError) in
                try dataTuple.withMemoryRebound(to: UnsafePointer<UInt8>?.self, capacity: 8) { planes throws(TranscodeError) in
                    try linesizeTuple.withMemoryRebound(to: Int32.self, capacity: 8) { strides throws(TranscodeError) in
                        try scale(planes: planes, strides: strides, width: source.pointee.width,
                                  height: source.pointee.height, format: source.pointee.format)
                    }
                }
            }
        }
    }

    /// An I420 picture (a larger rung's) at this scaler's size.
    public func scale(_ frame: PlanarYUVFrame) throws(TranscodeError) -> PlanarYUVFrame {
        try frame.y.withUnsafeBufferPointer { y throws(TranscodeError) in
            try frame.u.withUnsafeBufferPointer { u throws(TranscodeError) in
                try frame.v.withUnsafeBufferPointer { v throws(TranscodeError) in
                    let planes: [UnsafePointer<UInt8>?] = [y.baseAddress, u.baseAddress, v.baseAddress, nil]
                    let strides: [Int32] = [Int32(frame.width), Int32(frame.chromaWidth), Int32(frame.chromaWidth), 0]
                    return try scale(planes: planes, strides: strides, width: Int32(frame.width),
                                     height: Int32(frame.height), format: AV_PIX_FMT_YUV420P.rawValue)
                }
            }
        }
    }

    private func scale(planes: UnsafePointer<UnsafePointer<UInt8>?>, strides: UnsafePointer<Int32>, width sourceWidth: Int32,
                       height sourceHeight: Int32, format: Int32) throws(TranscodeError) -> PlanarYUVFrame {
        if context == nil || sourceWidth != inputWidth || sourceHeight != inputHeight || format != inputFormat {
            sws_freeContext(context)
            context = sws_getContext(sourceWidth, sourceHeight, AVPixelFormat(rawValue: format),
                                     Int32(width), Int32(height), AV_PIX_FMT_YUV420P, SWS_BILINEAR, nil, nil, nil)
            guard context != nil else {
                throw .invalidParameter("no conversion from \(sourceWidth)x\(sourceHeight) format \(format) to \(width)x\(height)")
            }
            inputWidth = sourceWidth
            inputHeight = sourceHeight
            inputFormat = format
        }
        let chromaWidth = width / 2
        let lumaCount = width * height
        let chromaCount = chromaWidth * (height / 2)
        var scaled: Int32 = 0
        var u: [UInt8] = []
        var v: [UInt8] = []
        // libswscale writes straight into the arrays' storage: no intermediate AVFrame, no second copy, no clearing.
        let y = [UInt8](unsafeUninitializedCapacity: lumaCount) { yPlane, yCount in
            u = [UInt8](unsafeUninitializedCapacity: chromaCount) { uPlane, uCount in
                v = [UInt8](unsafeUninitializedCapacity: chromaCount) { vPlane, vCount in
                    var destinations: [UnsafeMutablePointer<UInt8>?] = [yPlane.baseAddress, uPlane.baseAddress,
                                                                        vPlane.baseAddress, nil]
                    var destinationStrides: [Int32] = [Int32(width), Int32(chromaWidth), Int32(chromaWidth), 0]
                    scaled = sws_scale(context, planes, strides, 0, sourceHeight, &destinations, &destinationStrides)
                    vCount = chromaCount
                }
                uCount = chromaCount
            }
            yCount = lumaCount
        }
        guard scaled > 0, let frame = PlanarYUVFrame(width: width, height: height, y: y, u: u, v: v) else {
            throw .library(operation: "sws_scale", code: scaled, message: "no output rows")
        }
        return frame
    }
}
