import NIOConcurrencyHelpers

/// The listeners of every stream's event channel. A broadcast is handed to each connection's bounded outbox and
/// never waits for a connection's socket: one slow listener costs the others nothing.
public final class EventHub: Sendable {
    public struct Counts: Sendable, Equatable, Encodable {
        public var viewers: Int
        public var moderators: Int
    }

    private let connections = NIOLockedValueBox<[String: [ObjectIdentifier: EventConnection]]>([:])
    /// Messages an outbox holds before a listener is considered too slow.
    public let outboxCapacity: Int

    public init(outboxCapacity: Int = 512) {
        self.outboxCapacity = outboxCapacity
    }

    public func connect(stream: String, role: AudienceRole?, subject: String? = nil, tokenID: String? = nil) -> EventConnection {
        let connection = EventConnection(stream: stream, isModerator: role == .moderator, subject: subject, tokenID: tokenID,
                                         capacity: outboxCapacity)
        connections.withLockedValue { $0[stream, default: [:]][ObjectIdentifier(connection)] = connection }
        return connection
    }

    public func disconnect(_ connection: EventConnection) {
        connection.close()
        connections.withLockedValue { streams in
            streams[connection.stream]?[ObjectIdentifier(connection)] = nil
            if streams[connection.stream]?.isEmpty == true { streams[connection.stream] = nil }
        }
    }

    public func broadcast(_ event: AudienceEvent, stream: String) {
        let listeners = connections.withLockedValue { $0[stream].map { Array($0.values) } ?? [] }
        for connection in listeners where event.audience == .everyone || connection.isModerator {
            connection.enqueue(event)
        }
    }

    public func counts(stream: String) -> Counts {
        connections.withLockedValue { streams in
            let listeners = streams[stream]?.values ?? [:].values
            let moderators = listeners.filter(\.isModerator).count
            return Counts(viewers: listeners.count - moderators, moderators: moderators)
        }
    }

    /// Ends every listener's outbox (server shutdown): each connection sends what it holds, then closes.
    public func closeAll() {
        let all = connections.withLockedValue { $0.values.flatMap(\.values) }
        for connection in all { connection.close() }
    }

    /// Ends the listeners of one stream that `matches` picks (a banned user's, a revoked token's), with `reason`.
    public func close(stream: String, reason: EventConnection.CloseReason, where matches: (EventConnection) -> Bool) {
        let listeners = connections.withLockedValue { $0[stream].map { Array($0.values) } ?? [] }
        for connection in listeners where matches(connection) { connection.close(reason: reason) }
    }

    /// Ends and forgets every listener of one stream (the stream was deleted).
    public func close(stream: String) {
        let listeners = connections.withLockedValue { $0.removeValue(forKey: stream).map { Array($0.values) } ?? [] }
        for connection in listeners { connection.close() }
    }

    public var streamsWithListeners: [String] {
        connections.withLockedValue { Array($0.keys) }
    }
}

/// One listener's outbox: at most `capacity` messages. When it is half full, skippable messages are left out;
/// when it is full, the listener is too slow and is dropped (`overflowed`), so memory per listener stays bounded.
public final class EventConnection: Sendable {
    /// Why the server ended a connection, when it was not the listener's doing or an overflow.
    public enum CloseReason: Sendable, Equatable {
        /// The user was banned from the stream.
        case banned
        /// The token the connection was opened with was revoked.
        case revoked
    }

    public let stream: String
    public let isModerator: Bool
    /// Who opened it (`sub` of its token) and with which token (`jti`); nil for anonymous listeners.
    public let subject: String?
    public let tokenID: String?
    private let capacity: Int
    private let state = NIOLockedValueBox(State())

    struct State {
        var queue: [String] = []
        var head = 0
        var waiter: CheckedContinuation<String?, Never>?
        var closed = false
        var overflowed = false
        var skipped = 0
        var onOverflow: (@Sendable () -> Void)?
        var closeReason: CloseReason?

        var count: Int { queue.count - head }

        mutating func pop() -> String? {
            guard head < queue.count else { return nil }
            let text = queue[head]
            head += 1
            if head > 64, head * 2 > queue.count {
                queue.removeFirst(head)
                head = 0
            }
            return text
        }
    }

    init(stream: String, isModerator: Bool, subject: String? = nil, tokenID: String? = nil, capacity: Int) {
        self.stream = stream
        self.isModerator = isModerator
        self.subject = subject
        self.tokenID = tokenID
        self.capacity = max(capacity, 2)
    }

    /// Called once, from the enqueuing task, when the outbox overflows; the transport closes the socket.
    public func onOverflow(_ action: @escaping @Sendable () -> Void) {
        state.withLockedValue { $0.onOverflow = action }
    }

    public var overflowed: Bool { state.withLockedValue { $0.overflowed } }
    public var skipped: Int { state.withLockedValue { $0.skipped } }

    /// Queues one message (or hands it straight to a waiting writer).
    public func enqueue(_ event: AudienceEvent) {
        enqueue(event.text, delivery: event.delivery)
    }

    public func enqueue(_ text: String, delivery: AudienceEvent.Delivery = .essential) {
        var overflowAction: (@Sendable () -> Void)?
        let waiter: CheckedContinuation<String?, Never>? = state.withLockedValue { state in
            guard !state.closed else { return nil }
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            if delivery == .skippable, state.count * 2 >= capacity {
                state.skipped += 1
                return nil
            }
            if state.count >= capacity {
                state.overflowed = true
                state.closed = true
                state.queue = []
                state.head = 0
                overflowAction = state.onOverflow
                return nil
            }
            state.queue.append(text)
            return nil
        }
        waiter?.resume(returning: text)
        overflowAction?()
    }

    /// The next message, waiting for one; nil once the connection is closed (or the waiting task is cancelled).
    public func next() async -> String? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<String?, Never>) in
                let immediate: String?? = state.withLockedValue { state in
                    if let text = state.pop() { return .some(text) }
                    if state.closed { return .some(nil) }
                    state.waiter = continuation
                    return nil
                }
                if let immediate { continuation.resume(returning: immediate) }
            }
        } onCancel: {
            close()
        }
    }

    /// Set when the server ended the connection for a reason the listener should be told.
    public var closeReason: CloseReason? { state.withLockedValue { $0.closeReason } }

    public func close(reason: CloseReason? = nil) {
        let waiter = state.withLockedValue { state -> CheckedContinuation<String?, Never>? in
            if let reason, !state.closed { state.closeReason = reason }
            state.closed = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: nil)
    }
}
