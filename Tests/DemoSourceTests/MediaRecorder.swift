import MediaCore
import MediaRouter
import Synchronization

/// Records everything a publication delivers, with the time each event arrived.
final class MediaRecorder: MediaObserver {
    struct Entry {
        let event: MediaEvent
        let at: ContinuousClock.Instant
    }

    private let entries = Mutex<[Entry]>([])

    func handle(_ event: MediaEvent, stream: String) {
        let entry = Entry(event: event, at: .now)
        entries.withLock { $0.append(entry) }
    }

    var events: [Entry] { entries.withLock { $0 } }

    var frames: [EncodedFrame] {
        events.compactMap { if case .frame(let frame) = $0.event { frame } else { nil } }
    }

    var videoFrames: [EncodedFrame] { frames.filter { $0.kind == .video } }
    var audioFrames: [EncodedFrame] { frames.filter { $0.kind == .audio } }

    var publishers: [PublisherDescription] {
        events.compactMap { if case .started(let publisher) = $0.event { publisher } else { nil } }
    }

    var startedAt: ContinuousClock.Instant? {
        events.first { if case .started = $0.event { true } else { false } }?.at
    }

    var endedCount: Int {
        events.filter { if case .ended = $0.event { true } else { false } }.count
    }

    /// Polls until `condition` holds or `timeout` passes; returns whether it held.
    func wait(timeout: Duration = .seconds(15), until condition: (MediaRecorder) -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if condition(self) { return true }
            try await Task.sleep(for: .milliseconds(20))
        }
        return condition(self)
    }
}
