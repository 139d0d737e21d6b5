/// A picture in planar 8-bit YUV 4:2:0 (I420), owned by Swift.
///
/// Planes are tightly packed (stride = plane width) so frames can be compared, hashed into tests and handed between
/// threads without any C memory attached. Chroma planes are half size, rounded up. Values are limited range
/// (BT.601/709 studio swing: Y 16–235, U/V 16–240), which is what H.264 and VP8 encoders expect by default.
public struct PlanarYUVFrame: Sendable, Equatable {
    public let width: Int
    public let height: Int
    /// Luma, `width × height` bytes, row after row.
    public var y: [UInt8]
    /// Blue-difference chroma, `chromaWidth × chromaHeight` bytes.
    public var u: [UInt8]
    /// Red-difference chroma, `chromaWidth × chromaHeight` bytes.
    public var v: [UInt8]

    public var chromaWidth: Int { (width + 1) / 2 }
    public var chromaHeight: Int { (height + 1) / 2 }

    /// A black picture (Y 16, U/V 128).
    public init(width: Int, height: Int) {
        precondition(width >= 0 && height >= 0, "negative picture size")
        self.width = width
        self.height = height
        let chromaCount = ((width + 1) / 2) * ((height + 1) / 2)
        self.y = [UInt8](repeating: 16, count: width * height)
        self.u = [UInt8](repeating: 128, count: chromaCount)
        self.v = [UInt8](repeating: 128, count: chromaCount)
    }

    /// A picture from existing planes; returns nil when a plane's size does not match the picture size.
    public init?(width: Int, height: Int, y: [UInt8], u: [UInt8], v: [UInt8]) {
        let chromaCount = ((width + 1) / 2) * ((height + 1) / 2)
        guard width >= 0, height >= 0, y.count == width * height, u.count == chromaCount, v.count == chromaCount else {
            return nil
        }
        self.width = width
        self.height = height
        self.y = y
        self.u = u
        self.v = v
    }

    /// The (Y, U, V) sample that covers pixel (x, y).
    public func sample(x: Int, y row: Int) -> (y: UInt8, u: UInt8, v: UInt8) {
        let chromaIndex = (row / 2) * chromaWidth + x / 2
        return (y[row * width + x], u[chromaIndex], v[chromaIndex])
    }
}
