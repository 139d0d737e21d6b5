import MediaCore
import NIOCore

/// What the connection handler must do for the session, in order.
public enum RTMPSessionAction: Sendable {
    case write(ByteBuffer)
    /// A publisher asked to publish `key` in `application`. The session waits (buffering input) until the handler
    /// answers with `acceptPublish()` or `rejectPublish(code:description:)`.
    case authorize(application: String, key: String)
    case media(FLVMediaOutput)
    case metadata(RTMPStreamMetadata)
    /// The publisher said it is done (FCUnpublish, deleteStream); the stream ends even if the TCP connection lingers.
    case endPublishing
    /// Flush the writes before it, then close. No more actions follow.
    case close(RTMPCloseReason)
}

public struct RTMPSessionConfiguration: Sendable {
    /// The only application name accepted in `connect` (the path segment of `rtmp://host/APP/key`).
    public var application: String
    public var chunkLimits: RTMPChunkLimits
    /// Chunk size the server announces for its own messages.
    public var outgoingChunkSize: Int
    /// The window after which the peer should acknowledge what it received from us; we send little, so it rarely
    /// matters, but encoders expect the announcement. 2.5 MB is what nginx-rtmp, SRS and FMS announce.
    public var windowAcknowledgementSize: UInt32

    public init(application: String = "live", chunkLimits: RTMPChunkLimits = RTMPChunkLimits(),
                outgoingChunkSize: Int = 4096, windowAcknowledgementSize: UInt32 = 2_500_000) {
        self.application = application
        self.chunkLimits = chunkLimits
        self.outgoingChunkSize = outgoingChunkSize
        self.windowAcknowledgementSize = windowAcknowledgementSize
    }
}

/// One RTMP publisher connection as a state machine: bytes in, actions out, no I/O (like swift-nio-ssh's
/// `SSHConnectionStateMachine`). Handles the handshake, the chunk layer, protocol control and the NetConnection /
/// NetStream commands an encoder sends, and demultiplexes FLV audio and video into frames.
public struct RTMPServerSession: Sendable {
    struct Connected {
        var application: String
    }

    struct Publishing {
        var application: String
        var key: String
        var messageStreamID: UInt32
    }

    enum State {
        case handshaking(RTMPServerHandshake)
        case awaitingConnect
        case connected(Connected)
        case awaitingPublishDecision(Publishing)
        case publishing(Publishing)
        case closed
    }

    public let configuration: RTMPSessionConfiguration
    private var state = State.handshaking(RTMPServerHandshake())
    private var decoder: RTMPChunkDecoder
    private var encoder = RTMPChunkEncoder()
    private var demuxer = FLVMediaDemuxer()
    private let amf = AMF0Decoder()
    /// Bytes received but not yet parsed: at most one partial chunk, or more while a publish decision is pending.
    private var input = ByteBuffer()
    /// Bytes received so far, modulo 2^32 as the Acknowledgement sequence number is (§5.4.3).
    private var bytesReceived: UInt32 = 0
    private var bytesAcknowledged: UInt32 = 0
    /// Set by the peer's Window Acknowledgement Size; 0 means it has not asked for acknowledgements.
    private var peerAcknowledgementWindow: UInt32 = 0
    /// Writes produced while handling one input, sent as one buffer.
    private var pendingOutput = ByteBuffer()

    public init(configuration: RTMPSessionConfiguration = RTMPSessionConfiguration()) {
        self.configuration = configuration
        self.decoder = RTMPChunkDecoder(limits: configuration.chunkLimits)
    }

    public var isHandshakeComplete: Bool {
        if case .handshaking = state { return false }
        return true
    }

    public var isPublishing: Bool {
        if case .publishing = state { return true }
        return false
    }

    /// Media messages that could not be decoded yet (frames before their sequence header).
    public var framesDroppedBeforeConfiguration: Int { demuxer.framesDroppedBeforeConfiguration }

    // MARK: Input

    public mutating func receive(_ bytes: ByteBuffer) -> [RTMPSessionAction] {
        if case .closed = state { return [] }
        if input.readableBytes == 0 {
            input = bytes
        } else {
            var incoming = bytes
            input.writeBuffer(&incoming)
        }
        var actions: [RTMPSessionAction] = []
        bytesReceived &+= UInt32(truncatingIfNeeded: bytes.readableBytes)
        if peerAcknowledgementWindow > 0, bytesReceived &- bytesAcknowledged >= peerAcknowledgementWindow {
            bytesAcknowledged = bytesReceived
            var payload = ByteBuffer()
            payload.writeInteger(bytesReceived)
            send(RTMPMessage(typeID: RTMPMessageType.acknowledgement, streamID: 0, timestamp: 0, payload: payload),
                 on: RTMPChunkEncoder.ChunkStreamID.protocolControl)
        }
        process(into: &actions)
        return actions
    }

    /// The handler allowed the pending publish.
    public mutating func acceptPublish() -> [RTMPSessionAction] {
        guard case .awaitingPublishDecision(let publishing) = state else { return [] }
        state = .publishing(publishing)
        var actions: [RTMPSessionAction] = []
        sendUserControl(RTMPUserControlEvent.streamBegin, value: publishing.messageStreamID)
        sendStatus(level: "status", code: RTMPStatusCode.publishStart, description: "\(publishing.key) is now published.",
                   streamID: publishing.messageStreamID)
        process(into: &actions)
        return actions
    }

    /// The handler refused the pending publish; the peer is told why and the connection closes.
    public mutating func rejectPublish(code: String, description: String) -> [RTMPSessionAction] {
        guard case .awaitingPublishDecision(let publishing) = state else { return [] }
        sendStatus(level: "error", code: code, description: description, streamID: publishing.messageStreamID)
        var actions: [RTMPSessionAction] = []
        close(.publishRejected(code: code, description: description), into: &actions)
        return actions
    }

    private mutating func process(into actions: inout [RTMPSessionAction]) {
        loop: while true {
            switch state {
            case .closed:
                return
            case .awaitingPublishDecision:
                // Media may follow the publish command before we answer; keep it, but not without bound.
                if input.readableBytes > configuration.chunkLimits.maximumBufferedBytes {
                    close(.protocolError(.bufferedBytesExceeded(limit: configuration.chunkLimits.maximumBufferedBytes)),
                          into: &actions)
                    return
                }
                break loop
            case .handshaking(var handshake):
                let step: RTMPServerHandshake.Step
                do {
                    step = try handshake.parseStep(&input)
                } catch {
                    close(.protocolError(error), into: &actions)
                    return
                }
                switch step {
                case .needMoreData:
                    break loop
                case .send(let reply):
                    state = .handshaking(handshake)
                    pendingOutput.writeImmutableBuffer(reply)
                case .complete:
                    state = .awaitingConnect
                }
            case .awaitingConnect, .connected, .publishing:
                let result: RTMPChunkDecoder.ParseResult
                do {
                    result = try decoder.parseStep(&input)
                } catch {
                    close(.protocolError(error), into: &actions)
                    return
                }
                switch result {
                case .insufficientData:
                    break loop
                case .continueParsing:
                    continue
                case .message(let message):
                    handle(message, into: &actions)
                }
            }
        }
        if input.readableBytes == 0 {
            input.clear()
        } else if input.readerIndex > 65536 {
            input.discardReadBytes()
        }
        flush(into: &actions)
    }

    // MARK: Messages

    private mutating func handle(_ message: RTMPMessage, into actions: inout [RTMPSessionAction]) {
        switch message.typeID {
        case RTMPMessageType.audio, RTMPMessageType.video:
            handleMedia(message, into: &actions)
        case RTMPMessageType.commandAMF0, RTMPMessageType.commandAMF3:
            guard let values = decodeAMF(message, into: &actions) else { return }
            handleCommand(values, messageStreamID: message.streamID, into: &actions)
        case RTMPMessageType.dataAMF0, RTMPMessageType.dataAMF3:
            guard let values = decodeAMF(message, into: &actions) else { return }
            if case .publishing = state, let metadata = RTMPStreamMetadata(dataMessage: values) {
                flush(into: &actions)
                actions.append(.metadata(metadata))
            }
        case RTMPMessageType.userControl:
            handleUserControl(message.payload, into: &actions)
        case RTMPMessageType.windowAcknowledgementSize:
            guard let window = message.payload.getInteger(at: message.payload.readerIndex, as: UInt32.self) else {
                close(.protocolError(.malformedControlMessage(type: message.typeID)), into: &actions)
                return
            }
            peerAcknowledgementWindow = window
        default:
            // Acknowledgement, Set Peer Bandwidth, shared objects, aggregates: nothing an ingest needs to act on.
            break
        }
    }

    private mutating func handleMedia(_ message: RTMPMessage, into actions: inout [RTMPSessionAction]) {
        // Media outside an accepted publish has nowhere to go.
        guard case .publishing = state else { return }
        let type: FLVTagType = message.typeID == RTMPMessageType.video ? .video : .audio
        do {
            let outputs = try demuxer.demux(type, timestamp: message.timestamp, body: message.payload)
            guard !outputs.isEmpty else { return }
            flush(into: &actions)
            for output in outputs { actions.append(.media(output)) }
        } catch {
            if case .publishing(let publishing) = state {
                switch error {
                case .unsupportedVideoCodec(let codec), .unsupportedAudioCodec(let codec):
                    sendStatus(level: "error", code: RTMPStatusCode.publishFailed,
                               description: "unsupported codec \(codec): LiveRelay accepts H.264 video and AAC audio",
                               streamID: publishing.messageStreamID)
                case .malformed:
                    break
                }
            }
            close(.protocolError(.media(error)), into: &actions)
        }
    }

    private mutating func decodeAMF(_ message: RTMPMessage, into actions: inout [RTMPSessionAction]) -> [AMF0Value]? {
        var payload = message.payload
        // AMF3 command and data messages start with a format byte of 0, after which encoders write AMF0.
        if message.typeID == RTMPMessageType.commandAMF3 || message.typeID == RTMPMessageType.dataAMF3 {
            payload.moveReaderIndex(forwardBy: min(1, payload.readableBytes))
        }
        do {
            return try amf.decodeAll(payload)
        } catch {
            close(.protocolError(.malformedCommand(error)), into: &actions)
            return nil
        }
    }

    private mutating func handleUserControl(_ payload: ByteBuffer, into actions: inout [RTMPSessionAction]) {
        var payload = payload
        guard let event = payload.readInteger(as: UInt16.self) else {
            close(.protocolError(.malformedControlMessage(type: RTMPMessageType.userControl)), into: &actions)
            return
        }
        if event == RTMPUserControlEvent.pingRequest {
            guard let timestamp = payload.readInteger(as: UInt32.self) else {
                close(.protocolError(.malformedControlMessage(type: RTMPMessageType.userControl)), into: &actions)
                return
            }
            sendUserControl(RTMPUserControlEvent.pingResponse, value: timestamp)
        }
    }

    // MARK: Commands

    private mutating func handleCommand(_ values: [AMF0Value], messageStreamID: UInt32, into actions: inout [RTMPSessionAction]) {
        guard let name = values.first?.stringValue else {
            close(.protocolError(.invalidCommand("command message without a name")), into: &actions)
            return
        }
        let transactionID = values.count > 1 ? values[1].numberValue ?? 0 : 0
        let commandObject = values.count > 2 ? values[2] : .null
        let arguments = Array(values.dropFirst(3))

        if name == "connect" {
            handleConnect(transactionID: transactionID, commandObject: commandObject, into: &actions)
            return
        }
        let application: String
        switch state {
        case .connected(let connected): application = connected.application
        case .publishing(let publishing), .awaitingPublishDecision(let publishing): application = publishing.application
        case .awaitingConnect:
            close(.protocolError(.invalidCommand("\(Self.printable(name)) before connect")), into: &actions)
            return
        case .handshaking, .closed:
            return
        }

        switch name {
        case "releaseStream", "FCUnpublish":
            if name == "FCUnpublish" { endPublishing(into: &actions) }
            if transactionID != 0 { sendResult(transactionID: transactionID, values: [.null, .undefined]) }
        case "FCPublish":
            let key = arguments.first?.stringValue ?? ""
            sendCommand("onFCPublish", transactionID: 0, values: [.null, .object([
                AMF0Property("code", .string(RTMPStatusCode.publishStart)),
                AMF0Property("description", .string(Self.printable(key))),
            ])], streamID: 0)
        case "createStream":
            // One publisher per connection: stream id 1 is the only NetStream we hand out.
            sendResult(transactionID: transactionID, values: [.null, .number(1)])
        case "publish":
            guard case .connected = state else {
                sendError(transactionID: transactionID, code: RTMPStatusCode.publishFailed, description: "already publishing")
                return
            }
            guard let rawKey = arguments.first?.stringValue, !rawKey.isEmpty else {
                close(.protocolError(.invalidCommand("publish without a stream key")), into: &actions)
                return
            }
            // Encoders may append a query string (`key?param=...`); the key is what precedes it.
            let key = String(rawKey.prefix { $0 != "?" })
            state = .awaitingPublishDecision(Publishing(application: application, key: key, messageStreamID: messageStreamID))
            flush(into: &actions)
            actions.append(.authorize(application: application, key: key))
        case "deleteStream", "closeStream":
            endPublishing(into: &actions)
        default:
            // getStreamLength, _checkbw, play, ...: an ingest has nothing to answer, but callers waiting on a
            // transaction get an error instead of silence.
            if transactionID != 0 {
                sendError(transactionID: transactionID, code: RTMPStatusCode.callFailed,
                          description: "\(Self.printable(name)) is not supported by this server")
            }
        }
    }

    private mutating func handleConnect(transactionID: Double, commandObject: AMF0Value, into actions: inout [RTMPSessionAction]) {
        guard case .awaitingConnect = state else {
            sendError(transactionID: transactionID, code: RTMPStatusCode.connectRejected, description: "already connected")
            return
        }
        guard let rawApplication = commandObject["app"]?.stringValue else {
            close(.protocolError(.invalidCommand("connect without app")), into: &actions)
            return
        }
        var application = String(rawApplication.prefix { $0 != "?" })
        while application.hasSuffix("/") { application.removeLast() }
        guard application == configuration.application else {
            sendError(transactionID: transactionID, code: RTMPStatusCode.connectRejected,
                      description: "unknown application \(Self.printable(application))")
            close(.unknownApplication(Self.printable(application)), into: &actions)
            return
        }
        state = .connected(Connected(application: application))

        var windowSize = ByteBuffer()
        windowSize.writeInteger(configuration.windowAcknowledgementSize)
        send(RTMPMessage(typeID: RTMPMessageType.windowAcknowledgementSize, streamID: 0, timestamp: 0, payload: windowSize),
             on: RTMPChunkEncoder.ChunkStreamID.protocolControl)
        var bandwidth = ByteBuffer()
        bandwidth.writeInteger(configuration.windowAcknowledgementSize)
        bandwidth.writeInteger(UInt8(2))  // dynamic limit
        send(RTMPMessage(typeID: RTMPMessageType.setPeerBandwidth, streamID: 0, timestamp: 0, payload: bandwidth),
             on: RTMPChunkEncoder.ChunkStreamID.protocolControl)
        var chunkSize = ByteBuffer()
        chunkSize.writeInteger(UInt32(configuration.outgoingChunkSize))
        send(RTMPMessage(typeID: RTMPMessageType.setChunkSize, streamID: 0, timestamp: 0, payload: chunkSize),
             on: RTMPChunkEncoder.ChunkStreamID.protocolControl)
        encoder.chunkSize = configuration.outgoingChunkSize

        let objectEncoding = commandObject["objectEncoding"]?.numberValue ?? 0
        sendResult(transactionID: transactionID, values: [
            .object([AMF0Property("fmsVer", .string("FMS/3,0,1,123")), AMF0Property("capabilities", .number(31))]),
            .object([
                AMF0Property("level", .string("status")),
                AMF0Property("code", .string(RTMPStatusCode.connectSuccess)),
                AMF0Property("description", .string("Connection succeeded.")),
                AMF0Property("objectEncoding", .number(objectEncoding)),
            ]),
        ])
    }

    private mutating func endPublishing(into actions: inout [RTMPSessionAction]) {
        guard case .publishing(let publishing) = state else { return }
        state = .connected(Connected(application: publishing.application))
        flush(into: &actions)
        actions.append(.endPublishing)
    }

    // MARK: Output

    private mutating func close(_ reason: RTMPCloseReason, into actions: inout [RTMPSessionAction]) {
        state = .closed
        flush(into: &actions)
        actions.append(.close(reason))
    }

    private mutating func flush(into actions: inout [RTMPSessionAction]) {
        guard pendingOutput.readableBytes > 0 else { return }
        actions.append(.write(pendingOutput))
        pendingOutput = ByteBuffer()
    }

    private mutating func send(_ message: RTMPMessage, on chunkStreamID: UInt32) {
        encoder.encode(message, chunkStreamID: chunkStreamID, into: &pendingOutput)
    }

    private mutating func sendUserControl(_ event: UInt16, value: UInt32) {
        var payload = ByteBuffer()
        payload.writeInteger(event)
        payload.writeInteger(value)
        send(RTMPMessage(typeID: RTMPMessageType.userControl, streamID: 0, timestamp: 0, payload: payload),
             on: RTMPChunkEncoder.ChunkStreamID.protocolControl)
    }

    private mutating func sendCommand(_ name: String, transactionID: Double, values: [AMF0Value], streamID: UInt32) {
        var payload = ByteBuffer()
        AMF0Encoder.encode(.string(name), into: &payload)
        AMF0Encoder.encode(.number(transactionID), into: &payload)
        AMF0Encoder.encode(values, into: &payload)
        let chunkStream = streamID == 0 ? RTMPChunkEncoder.ChunkStreamID.command : RTMPChunkEncoder.ChunkStreamID.streamStatus
        send(RTMPMessage(typeID: RTMPMessageType.commandAMF0, streamID: streamID, timestamp: 0, payload: payload), on: chunkStream)
    }

    private mutating func sendResult(transactionID: Double, values: [AMF0Value]) {
        sendCommand("_result", transactionID: transactionID, values: values, streamID: 0)
    }

    private mutating func sendError(transactionID: Double, code: String, description: String) {
        sendCommand("_error", transactionID: transactionID, values: [.null, Self.status(level: "error", code: code, description: description)],
                    streamID: 0)
    }

    private mutating func sendStatus(level: String, code: String, description: String, streamID: UInt32) {
        sendCommand("onStatus", transactionID: 0, values: [.null, Self.status(level: level, code: code, description: description)],
                    streamID: streamID)
    }

    private static func status(level: String, code: String, description: String) -> AMF0Value {
        .object([
            AMF0Property("level", .string(level)),
            AMF0Property("code", .string(code)),
            AMF0Property("description", .string(description)),
        ])
    }

    /// Peer-supplied names end up in logs and replies: keep them short and printable.
    static func printable(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.prefix(128).filter { $0.value >= 0x20 && $0.value != 0x7F }))
    }
}
