import NIOCore

/// A running viewer as seen from outside its event loop: its channel and its loop-bound handler.
struct ViewerHandle: Sendable {
    let channel: any Channel
    let handler: NIOLoopBound<ViewerHandler>
    /// Completes (never fails) when the viewer connected or gave up.
    let connected: EventLoopFuture<ViewerConnectOutcome>

    func start(_ session: ViewerSession) {
        let handler = self.handler
        channel.eventLoop.execute { handler.value.start(session) }
    }

    func snapshot() async -> ViewerSnapshot? {
        let handler = self.handler
        return try? await channel.eventLoop.submit { handler.value.currentSnapshot() }.get()
    }

    func quiesce() async {
        let handler = self.handler
        try? await channel.eventLoop.submit { handler.value.quiesce() }.get()
    }

    /// Sends close_notify and closes the socket.
    func close() async {
        let handler = self.handler
        try? await channel.eventLoop.submit { handler.value.leave() }.get()
        try? await channel.close()
    }
}

/// The viewers currently holding a session, for the live summary, and the tallies so far.
actor ViewerRegistry {
    private var active: [Int: ViewerHandle] = [:]
    private(set) var attempted = 0
    private(set) var joined = 0
    private(set) var failures: [String: Int] = [:]

    func attempt() { attempted += 1 }

    func joined(_ index: Int, _ handle: ViewerHandle) {
        joined += 1
        active[index] = handle
    }

    func left(_ index: Int) { active[index] = nil }

    /// Counts the failure; true for the first few of each kind, which are worth printing.
    func failed(_ failure: ViewerFailure) -> Bool {
        let count = (failures[failure.key] ?? 0) + 1
        failures[failure.key] = count
        return count <= 3
    }

    var activeHandles: [ViewerHandle] { Array(active.values) }
}
