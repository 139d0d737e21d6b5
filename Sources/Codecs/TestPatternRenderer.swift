/// Draws the demo stream's picture: scrolling 75 % colour bars with a bouncing box, a luma ramp, and text lines
/// with the clock and frame counter, straight into YUV 4:2:0.
///
/// Everything moves every frame (bars scroll, the box bounces) so encoders, players and layer switches can be seen
/// working; the clock and counter make latency and dropped frames readable off a screen; `highlight` turns the box
/// white while the audio beeps, so lip sync can be judged by eye and ear. Rows are built once and copied per frame,
/// so rendering 720p costs little next to encoding it.
public struct TestPatternRenderer: Sendable {
    public let width: Int
    public let height: Int
    /// Rows [0, barsHeight) hold the colour bars and the box; the ramp and text lie below.
    public let barsHeight: Int
    public let rampHeight: Int
    /// Side of the bouncing box in pixels.
    public let boxSize: Int
    /// Size of one font pixel in picture pixels.
    public let textScale: Int

    private let chromaWidth: Int
    private let chromaHeight: Int
    /// Bar rows laid out twice, so a scrolled row is one contiguous slice.
    private let barLuma: [UInt8]
    private let barBlue: [UInt8]
    private let barRed: [UInt8]
    private let rampLuma: [UInt8]
    private let scrollStep: Int

    /// 75 % bars (ITU-R BT.801 order: white, yellow, cyan, green, magenta, red, blue) in limited-range BT.601 YUV.
    static let barColours: [(y: UInt8, u: UInt8, v: UInt8)] = [
        (180, 128, 128), (162, 44, 142), (131, 156, 44), (112, 72, 58), (84, 184, 198), (65, 100, 212), (35, 212, 114),
    ]
    static let textBackgroundLuma: UInt8 = 40
    static let textLuma: UInt8 = 235
    static let boxLuma: UInt8 = 16
    static let highlightedBoxLuma: UInt8 = 235

    public init(width: Int, height: Int) {
        precondition(width >= 2 && height >= 2, "test pattern needs at least 2x2 pixels")
        self.width = width
        self.height = height
        chromaWidth = (width + 1) / 2
        chromaHeight = (height + 1) / 2
        // Even boundaries keep every region aligned to whole 2x2 chroma blocks.
        barsHeight = (height * 2 / 3) & ~1
        rampHeight = max(2, height / 24) & ~1
        boxSize = max(4, height / 6) & ~1
        let textRows = height - barsHeight - rampHeight
        // Three text lines of 7 font pixels plus spacing (28 font rows); the longest line has 14 characters.
        textScale = max(1, min(textRows / 28, width / (BitmapFont.advance * 15)))
        // One bar cycle scrolls past in about eight seconds at 30 frames per second.
        scrollStep = max(1, width / 240)

        let barIndex = { (x: Int) in min(6, x * 7 / width) }
        let lumaRow = (0..<width).map { Self.barColours[barIndex($0)].y }
        let blueRow = (0..<chromaWidth).map { Self.barColours[barIndex(min(width - 1, $0 * 2))].u }
        let redRow = (0..<chromaWidth).map { Self.barColours[barIndex(min(width - 1, $0 * 2))].v }
        barLuma = lumaRow + lumaRow
        barBlue = blueRow + blueRow
        barRed = redRow + redRow
        rampLuma = (0..<width).map { UInt8(16 + (219 * $0) / max(1, width - 1)) }
    }

    /// Renders frame `frameNumber` showing `time`.
    public func render(frameNumber: Int, time: TimeOfDay, highlight: Bool = false) -> PlanarYUVFrame {
        var frame = PlanarYUVFrame(width: width, height: height)
        render(frameNumber: frameNumber, time: time, highlight: highlight, into: &frame)
        return frame
    }

    /// Renders into an existing frame of this renderer's size, reusing its storage (no allocation per frame).
    public func render(frameNumber: Int, time: TimeOfDay, highlight: Bool = false, into frame: inout PlanarYUVFrame) {
        precondition(frame.width == width && frame.height == height, "frame size differs from the renderer's")
        let offset = (frameNumber * scrollStep) % width
        let chromaOffset = (offset / 2) % chromaWidth
        let chromaBarsHeight = barsHeight / 2

        frame.y.withUnsafeMutableBufferPointer { luma in
            let base = luma.baseAddress!
            barLuma.withUnsafeBufferPointer { bars in
                for row in 0..<barsHeight { (base + row * width).update(from: bars.baseAddress! + offset, count: width) }
            }
            rampLuma.withUnsafeBufferPointer { ramp in
                for row in barsHeight..<min(height, barsHeight + rampHeight) {
                    (base + row * width).update(from: ramp.baseAddress!, count: width)
                }
            }
            let textTop = min(height, barsHeight + rampHeight)
            (base + textTop * width).update(repeating: Self.textBackgroundLuma, count: (height - textTop) * width)
        }
        for (plane, bars) in [(\PlanarYUVFrame.u, barBlue), (\PlanarYUVFrame.v, barRed)] {
            frame[keyPath: plane].withUnsafeMutableBufferPointer { chroma in
                let base = chroma.baseAddress!
                bars.withUnsafeBufferPointer { bars in
                    for row in 0..<chromaBarsHeight {
                        (base + row * chromaWidth).update(from: bars.baseAddress! + chromaOffset, count: chromaWidth)
                    }
                }
                // Ramp and text area are grey: neutral chroma.
                (base + chromaBarsHeight * chromaWidth).update(repeating: 128,
                                                               count: (chromaHeight - chromaBarsHeight) * chromaWidth)
            }
        }

        drawBox(frameNumber: frameNumber, highlight: highlight, into: &frame)
        let lines = ["LIVERELAY DEMO", "\(time.text) UTC", "FRAME " + Self.zeroPadded(frameNumber % 1_000_000, digits: 6)]
        let lineHeight = 9 * textScale
        var top = barsHeight + rampHeight + textScale * 2
        for line in lines {
            guard top + BitmapFont.glyphHeight * textScale <= height else { break }
            drawText(line, left: textScale * 4, top: top, into: &frame)
            top += lineHeight
        }
    }

    /// Where the box's top-left corner is in frame `frameNumber`: it bounces between the edges of the bar area.
    public func boxOrigin(frameNumber: Int) -> (x: Int, y: Int) {
        let x = Self.bounce(frameNumber * max(2, width / 160), range: width - boxSize)
        let y = Self.bounce(frameNumber * max(2, height / 120), range: barsHeight - boxSize)
        return (x & ~1, y & ~1)
    }

    private func drawBox(frameNumber: Int, highlight: Bool, into frame: inout PlanarYUVFrame) {
        let origin = boxOrigin(frameNumber: frameNumber)
        let luma = highlight ? Self.highlightedBoxLuma : Self.boxLuma
        let right = min(width, origin.x + boxSize)
        let bottom = min(barsHeight, origin.y + boxSize)
        guard right > origin.x, bottom > origin.y else { return }
        frame.y.withUnsafeMutableBufferPointer { plane in
            for row in origin.y..<bottom {
                (plane.baseAddress! + row * width + origin.x).update(repeating: luma, count: right - origin.x)
            }
        }
        let chromaLeft = origin.x / 2
        let chromaRight = min(chromaWidth, (right + 1) / 2)
        for plane in [\PlanarYUVFrame.u, \PlanarYUVFrame.v] {
            frame[keyPath: plane].withUnsafeMutableBufferPointer { chroma in
                for row in (origin.y / 2)..<((bottom + 1) / 2) {
                    (chroma.baseAddress! + row * chromaWidth + chromaLeft).update(repeating: 128,
                                                                                  count: chromaRight - chromaLeft)
                }
            }
        }
    }

    /// Draws text in white; its background is already neutral grey, so chroma needs no change.
    private func drawText(_ text: String, left: Int, top: Int, into frame: inout PlanarYUVFrame) {
        let scale = textScale
        let width = self.width
        let height = self.height
        frame.y.withUnsafeMutableBufferPointer { plane in
            let base = plane.baseAddress!
            for (index, character) in text.enumerated() {
                let glyphLeft = left + index * BitmapFont.advance * scale
                let rows = BitmapFont.rows(of: character)
                for (glyphRow, bits) in rows.enumerated() where bits != 0 {
                    for column in 0..<BitmapFont.glyphWidth where bits & (0x10 >> UInt8(column)) != 0 {
                        let x = glyphLeft + column * scale
                        let y = top + glyphRow * scale
                        guard x + scale <= width, y + scale <= height else { continue }
                        for dy in 0..<scale {
                            (base + (y + dy) * width + x).update(repeating: Self.textLuma, count: scale)
                        }
                    }
                }
            }
        }
    }

    private static func bounce(_ position: Int, range: Int) -> Int {
        guard range > 0 else { return 0 }
        let phase = position % (2 * range)
        return phase < range ? phase : 2 * range - phase
    }

    private static func zeroPadded(_ value: Int, digits: Int) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, digits - text.count)) + text
    }
}
