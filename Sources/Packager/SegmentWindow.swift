/// The segments of one track still held: consecutive numbers, oldest first; the last may still be being written.
struct SegmentWindow {
    private(set) var segments: [MediaSegment] = []
    private(set) var nextNumber = 1
    /// Generation changes that have left the window: HLS `EXT-X-DISCONTINUITY-SEQUENCE`.
    private(set) var evictedDiscontinuities = 0
    private(set) var byteCount = 0

    var openSegment: MediaSegment? {
        guard let last = segments.last, !last.isComplete else { return nil }
        return last
    }

    var firstNumber: Int? { segments.first?.number }

    mutating func open(generation: Int, initID: Int, startTime: UInt64) {
        segments.append(MediaSegment(number: nextNumber, generation: generation, startTime: startTime, duration: 0,
                                     parts: [], isComplete: false, sampleCount: 0, initID: initID))
        nextNumber += 1
    }

    mutating func appendPart(_ part: MediaPart, samples: Int) {
        guard let index = segments.indices.last, !segments[index].isComplete else { return }
        segments[index].parts.append(part)
        segments[index].duration += part.duration
        segments[index].sampleCount += samples
        byteCount += part.data.readableBytes
    }

    mutating func completeOpenSegment() {
        guard let index = segments.indices.last, !segments[index].isComplete else { return }
        if segments[index].parts.isEmpty {
            // Nothing was written: the number is reused rather than leaving a hole.
            segments.removeLast()
            nextNumber -= 1
            return
        }
        segments[index].isComplete = true
    }

    /// Drops the oldest complete segment; returns the bytes released.
    @discardableResult
    mutating func evictOldest() -> Int {
        guard let first = segments.first, first.isComplete else { return 0 }
        segments.removeFirst()
        if let next = segments.first, next.generation != first.generation { evictedDiscontinuities += 1 }
        byteCount -= first.byteCount
        return first.byteCount
    }

    func segment(number: Int) -> MediaSegment? {
        guard let first = segments.first?.number else { return nil }
        let index = number - first
        guard index >= 0, index < segments.count else { return nil }
        return segments[index]
    }

    /// Whether segment `msn` (and its part `part`, when given) exists or has already been passed.
    func reached(msn: Int, part: Int?) -> Bool {
        guard let last = segments.last else { return false }
        if last.number > msn { return true }
        guard last.number == msn else { return false }
        guard let part else { return last.isComplete }
        return last.parts.count > part || last.isComplete
    }
}
