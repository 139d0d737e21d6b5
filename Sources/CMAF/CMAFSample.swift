import NIOCore

/// One access unit ready for a `trun`: its duration and composition offset in the track timescale, and its bytes.
public struct CMAFSample: Sendable {
    public var duration: UInt32
    /// pts − dts; negative values need `trun` version 1, which is always written.
    public var compositionOffset: Int32
    public var isSync: Bool
    public var data: ByteBuffer

    public init(duration: UInt32, compositionOffset: Int32 = 0, isSync: Bool, data: ByteBuffer) {
        self.duration = duration
        self.compositionOffset = compositionOffset
        self.isSync = isSync
        self.data = data
    }

    /// `sample_flags` (ISO/IEC 14496-12 §8.8.3.1): sync samples depend on nothing; others depend on others and are
    /// non-sync.
    var flags: UInt32 {
        isSync ? 0x0200_0000 : 0x0101_0000
    }
}
