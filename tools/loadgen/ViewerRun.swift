import DTLS
import NIOCore
import NIOPosix

/// One viewer's result at the end of its session (or of its failed attempt).
struct ViewerResult: Sendable {
    var failure: ViewerFailure?
    var snapshot: ViewerSnapshot?
}

/// Runs one viewer: socket, WHEP POST, ICE and DTLS through its handler, hold, WHEP DELETE.
struct ViewerRunner: Sendable {
    let group: any EventLoopGroup
    let client: WHEPClient
    let endpoint: WHEPEndpoint
    let configuration: ViewerConfiguration
    let certificateFingerprint: String
    let candidateHost: String?
    /// The address family of the target, which the chosen candidate and our socket must share.
    let family: NIOBSDSocket.ProtocolFamily
    let registry: ViewerRegistry

    func run(index: Int, leaveAt: NIODeadline) async -> ViewerResult {
        await registry.attempt()
        let handle: ViewerHandle
        switch await bind() {
        case .success(let bound): handle = bound
        case .failure(let error): return await failed(.socket, "UDP socket: \(error)", handle: nil, session: nil)
        }

        let credentials = ViewerCredentials.random()
        let offer = ViewerOffer.make(credentials: credentials, fingerprint: certificateFingerprint,
                                     transportCC: configuration.feedback == .transportCC)
        let postedAt = NIODeadline.now()
        var response: WHEPResponse
        // 409: the stream is not live yet; WHEP clients retry after Retry-After (for up to 15 s here).
        while true {
            switch await client.post(offer: offer, to: endpoint) {
            case .success(let value): response = value
            case .failure(let error): return await failed(.httpTransport, "POST: \(error)", handle: handle, session: nil)
            }
            guard response.status == 409, NIODeadline.now() - postedAt < .seconds(15) else { break }
            let retryAfter = response.headers.first(name: "Retry-After").flatMap(Double.init) ?? 1
            try? await Task.sleep(for: .milliseconds(Int(min(max(retryAfter, 0.1), 2) * 250)))
        }
        let answeredAt = NIODeadline.now()
        let location = response.headers.first(name: "Location").flatMap { endpoint.resolving(location: $0) }
        guard response.status == 201 || response.status == 200 else {
            return await failed(.httpStatus(response.status), "POST \(response.status): \(response.body.prefix(200))",
                                handle: handle, session: location)
        }
        let answer: WHEPAnswerSummary
        switch WHEPAnswerSummary.parse(response.body) {
        case .success(let value): answer = value
        case .failure(let problem): return await failed(.badAnswer, problem.reason, handle: handle, session: location)
        }
        guard let candidate = answer.candidate(preferredHost: candidateHost ?? endpoint.host, family: family) else {
            let listed = answer.candidates.map { "\($0.host):\($0.port)" }.joined(separator: ", ")
            return await failed(.noCandidate, "no usable candidate among [\(listed)]", handle: handle, session: location)
        }

        handle.start(ViewerSession(answer: answer, remote: candidate.address, credentials: credentials, postedAt: postedAt,
                                    answeredAt: answeredAt))
        let outcome = (try? await handle.connected.get()) ?? .failed(.socket, detail: "viewer channel went away")
        if case .failed(let failure, let detail) = outcome {
            return await failed(failure, detail, handle: handle, session: location)
        }

        await registry.joined(index, handle)
        let remaining = leaveAt - NIODeadline.now()
        if remaining > .zero { try? await Task.sleep(nanoseconds: UInt64(remaining.nanoseconds)) }
        let snapshot = await handle.snapshot()
        await registry.left(index)
        await handle.quiesce()
        if let location { _ = await client.delete(location) }
        await handle.close()
        return ViewerResult(failure: nil, snapshot: snapshot)
    }

    private func bind() async -> Result<ViewerHandle, any Error> {
        let configuration = self.configuration
        do {
            var bootstrap = DatagramBootstrap(group: group).channelOption(.socketOption(.so_rcvbuf), value: 1 << 20)
            if configuration.receiveOffload {
                // A coalesced run is up to 64 KiB; the default 2 KiB receive buffer would truncate it.
                bootstrap = bootstrap.channelOption(.datagramReceiveOffload, value: true)
                    .channelOption(.datagramReceiveSegmentSize, value: true)
                    .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: 65_536))
            }
            let handle = try await bootstrap
                .bind(host: family == .inet6 ? "::" : "0.0.0.0", port: 0) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let promise = channel.eventLoop.makePromise(of: ViewerConnectOutcome.self)
                        let handler = ViewerHandler(configuration: configuration, connectPromise: promise)
                        try channel.pipeline.syncOperations.addHandler(handler)
                        return ViewerHandle(channel: channel, handler: NIOLoopBound(handler, eventLoop: channel.eventLoop),
                                            connected: promise.futureResult)
                    }
                }
            return .success(handle)
        } catch {
            return .failure(error)
        }
    }

    /// Counts and reports the failure, frees what the server set up for the viewer, closes the socket.
    private func failed(_ failure: ViewerFailure, _ detail: String, handle: ViewerHandle?,
                        session: WHEPEndpoint?) async -> ViewerResult {
        if await registry.failed(failure) {
            Console.error("viewer failed (\(failure.key)): \(detail)")
        }
        if let session { _ = await client.delete(session) }
        await handle?.close()
        return ViewerResult(failure: failure, snapshot: nil)
    }
}
