internal import CFFmpeg

/// Converts decoded pictures to one output size in I420 with libswscale, into Swift-owned `PlanarYUVFrame`s.
///
/// One scaler per output size; it rebuilds its libswscale context only when the input size or pixel format
/// changes (a mid-stream resolution change), so steady state allocates nothing but the output planes.
/// Bilinear filtering: for downscaling by 1.5–6× it is within a few tenths of a dB of bicubic on natural content
/// and markedly cheaper, and every rung is scaled straight from the source, never from another rung.
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

    /// The picture at this scaler's size.
    public func scale(_ picture: DecodedVideoFrame) throws(TranscodeError) -> PlanarYUVFrame {
        let source = picture.frame
        if context == nil || source.pointee.width != inputWidth || source.pointee.height != inputHeight
            || source.pointee.format != inputFormat {
            sws_freeContext(context)
            context = sws_getContext(source.pointee.width, source.pointee.height,
                                     AVPixelFormat(rawValue: source.pointee.format),
                                     Int32(width), Int32(height), AV_PIX_FMT_YUV420P, SWS_BILINEAR, nil, nil, nil)
            guard context != nil else {
                throw .invalidParameter("no conversion from \(source.pointee.width)x\(source.pointee.height) "
                                        + "format \(source.pointee.format) to \(width)x\(height)")
            }
            inputWidth = source.pointee.width
            inputHeight = source.pointee.height
            inputFormat = source.pointee.format
        }
        let chromaWidth = width / 2
        let chromaHeight = height / 2
        var y = [UInt8](repeating: 0, count: width * height)
        var u = [UInt8](repeating: 0, count: chromaWidth * chromaHeight)
        var v = [UInt8](repeating: 0, count: chromaWidth * chromaHeight)
        // libswscale writes straight into the arrays' storage: no intermediate AVFrame and no second copy.
        let scaled: Int32 = y.withUnsafeMutableBufferPointer { yPlane in
            u.withUnsafeMutableBufferPointer { uPlane in
                v.withUnsafeMutableBufferPointer { vPlane in
                    var destinations: [UnsafeMutablePointer<UInt8>?] = [yPlane.baseAddress, uPlane.baseAddress,
                                                                        vPlane.baseAddress, nil]
                    var strides: [Int32] = [Int32(width), Int32(chromaWidth), Int32(chromaWidth), 0]
                    return withUnsafePointer(to: &source.pointee.data) { dataTuple in
                        withUnsafePointer(to: &source.pointee.linesize) { linesizeTuple in
                            dataTuple.withMemoryRebound(to: UnsafePointer<UInt8>?.self, capacity: 8) { sourcePlanes in
                                linesizeTuple.withMemoryRebound(to: Int32.self, capacity: 8) { sourceStrides in
                                    sws_scale(context, sourcePlanes, sourceStrides, 0, source.pointee.height,
                                              &destinations, &strides)
                                }
                            }
                        }
                    }
                }
            }
        }
        guard scaled > 0, let frame = PlanarYUVFrame(width: width, height: height, y: y, u: u, v: v) else {
            throw .library(operation: "sws_scale", code: scaled, message: "no output rows")
        }
        return frame
    }
}
