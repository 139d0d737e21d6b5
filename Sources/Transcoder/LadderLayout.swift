/// A picture size.
public struct PictureSize: Sendable, Equatable, Hashable, CustomStringConvertible {
    public var width: Int
    public var height: Int

    public init(width: Int, height: Int) {
        self.width = width
        self.height = height
    }

    public var description: String { "\(width)x\(height)" }
}

/// The sizes the ladder takes for one source size.
///
/// Each rung is fitted inside its box keeping the source's aspect ratio, never above the source (no upscaling), and
/// rounded to even sizes (4:2:0). A 480p source therefore gets a top rung of 854x480, not 1280x720. Rungs that land
/// on the size of a larger rung are left out: they would cost an encoder and give viewers nothing new.
public struct LadderLayout: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public var rung: Rung
        public var size: PictureSize
    }

    public let source: PictureSize
    public let entries: [Entry]

    public init(source: PictureSize, ladder: [Rung]) {
        self.source = source
        var entries: [Entry] = []
        for rung in ladder {
            let size = Self.fit(source: source, into: rung)
            guard size.width >= 2, size.height >= 2, !entries.contains(where: { $0.size == size }) else { continue }
            entries.append(Entry(rung: rung, size: size))
        }
        self.entries = entries
    }

    static func fit(source: PictureSize, into rung: Rung) -> PictureSize {
        guard source.width > 0, source.height > 0 else { return PictureSize(width: 0, height: 0) }
        let factor = min(Double(rung.width) / Double(source.width), Double(rung.height) / Double(source.height), 1)
        func even(_ value: Double) -> Int { max(2, Int((value / 2).rounded()) * 2) }
        return PictureSize(width: min(even(Double(source.width) * factor), source.width & ~1),
                           height: min(even(Double(source.height) * factor), source.height & ~1))
    }
}
