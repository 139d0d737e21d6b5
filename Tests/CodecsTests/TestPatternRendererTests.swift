import Testing
@testable import Codecs

@Suite struct TestPatternRendererTests {
    let renderer = TestPatternRenderer(width: 640, height: 360)
    let noon = TimeOfDay(hours: 12, minutes: 0, seconds: 0)

    @Test func rendersTheSamePictureForTheSameInputs() {
        #expect(renderer.render(frameNumber: 42, time: noon) == renderer.render(frameNumber: 42, time: noon))
    }

    @Test func barsAreSeventyFivePercentColours() {
        let frame = renderer.render(frameNumber: 0, time: noon)
        let row = renderer.barsHeight - 2  // below the box, which starts at the top at frame 0
        let barWidth = 640 / 7
        for (index, colour) in TestPatternRenderer.barColours.enumerated() {
            let sample = frame.sample(x: index * barWidth + barWidth / 2, y: row)
            #expect(sample == colour, "bar \(index)")
        }
    }

    @Test func differentClockValuesDrawDifferentTextOnly() {
        let before = renderer.render(frameNumber: 10, time: noon)
        let after = renderer.render(frameNumber: 10, time: TimeOfDay(hours: 12, minutes: 0, seconds: 1))
        #expect(before != after)
        let textTop = renderer.barsHeight + renderer.rampHeight
        let changedRows = Set((0..<360).filter { row in
            before.y[(row * 640)..<((row + 1) * 640)] != after.y[(row * 640)..<((row + 1) * 640)]
        })
        #expect(!changedRows.isEmpty)
        #expect(changedRows.allSatisfy { $0 >= textTop })
        #expect(before.u == after.u && before.v == after.v)
    }

    @Test func frameCounterChangesTheText() {
        let first = renderer.render(frameNumber: 10, time: noon)
        let other = renderer.render(frameNumber: 11, time: noon)
        let textStart = (renderer.barsHeight + renderer.rampHeight) * 640
        #expect(first.y[textStart...] != other.y[textStart...])
    }

    @Test func textIsDrawnInWhite() {
        let frame = renderer.render(frameNumber: 0, time: noon)
        let textStart = (renderer.barsHeight + renderer.rampHeight) * 640
        let white = frame.y[textStart...].filter { $0 == TestPatternRenderer.textLuma }.count
        #expect(white > 500)
    }

    @Test func motionChangesTheBarsAndTheBoxMoves() {
        let first = renderer.render(frameNumber: 0, time: noon)
        let later = renderer.render(frameNumber: 15, time: noon)
        let barsEnd = renderer.barsHeight * 640
        #expect(first.y[..<barsEnd] != later.y[..<barsEnd])
        #expect(renderer.boxOrigin(frameNumber: 0) != renderer.boxOrigin(frameNumber: 15))
    }

    @Test func highlightTurnsTheBoxWhite() {
        let origin = renderer.boxOrigin(frameNumber: 20)
        let centre = (x: origin.x + renderer.boxSize / 2, y: origin.y + renderer.boxSize / 2)
        let plain = renderer.render(frameNumber: 20, time: noon, highlight: false)
        let flashed = renderer.render(frameNumber: 20, time: noon, highlight: true)
        #expect(plain.sample(x: centre.x, y: centre.y) == (16, 128, 128))
        #expect(flashed.sample(x: centre.x, y: centre.y) == (235, 128, 128))
    }

    @Test(arguments: [(2, 2), (160, 90), (1280, 720), (1920, 1080), (331, 187)])
    func rendersAnySize(width: Int, height: Int) {
        let frame = TestPatternRenderer(width: width, height: height).render(frameNumber: 12_345, time: noon)
        #expect(frame.y.count == width * height)
        #expect(frame.u.count == ((width + 1) / 2) * ((height + 1) / 2))
    }

    @Test func timeOfDayWrapsAtMidnight() {
        #expect(TimeOfDay(secondsSinceMidnight: 86_400 + 3_723).text == "01:02:03")
        #expect(TimeOfDay(secondsSinceMidnight: -1).text == "23:59:59")
    }
}
