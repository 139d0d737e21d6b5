import MediaCore
import NIOCore
import RTMP
import Testing

/// Plays the encoder's side of a connection against `RTMPServerSession` and reads back what the server wrote.
struct ScriptedPublisher {
    var session = RTMPServerSession()
    private var encoder = RTMPChunkEncoder()
    private var serverBytes = ByteBuffer()
    private var serverDecoder = RTMPChunkDecoder()
    private var handshakeSkipped = false

    /// Server messages decoded so far, AMF values decoded for commands.
    var serverMessages: [RTMPMessage] = []
    var otherActions: [RTMPSessionAction] = []

    mutating func send(_ bytes: ByteBuffer) {
        absorb(session.receive(bytes))
    }

    mutating func absorb(_ actions: [RTMPSessionAction]) {
        for action in actions {
            if case .write(var bytes) = action {
                serverBytes.writeBuffer(&bytes)
            } else {
                otherActions.append(action)
            }
        }
        if !handshakeSkipped, serverBytes.readableBytes >= 3073 {
            serverBytes.moveReaderIndex(forwardBy: 3073)
            handshakeSkipped = true
        }
        guard handshakeSkipped else { return }
        while case .some(let result) = try? serverDecoder.parseStep(&serverBytes) {
            switch result {
            case .insufficientData: return
            case .continueParsing: continue
            case .message(let message): serverMessages.append(message)
            }
        }
    }

    func handshakeBytes() -> ByteBuffer {
        ByteBuffer(bytes: [3] + [UInt8](repeating: 1, count: 1536) + [UInt8](repeating: 2, count: 1536))
    }

    func message(_ typeID: UInt8, streamID: UInt32 = 0, timestamp: UInt32 = 0, _ payload: [UInt8], csid: UInt32 = 4) -> ByteBuffer {
        var buffer = ByteBuffer()
        encoder.encode(RTMPMessage(typeID: typeID, streamID: streamID, timestamp: timestamp, payload: ByteBuffer(bytes: payload)),
                       chunkStreamID: csid, into: &buffer)
        return buffer
    }

    func command(_ values: [AMF0Value], streamID: UInt32 = 0) -> ByteBuffer {
        var payload = ByteBuffer()
        AMF0Encoder.encode(values, into: &payload)
        return message(RTMPMessageType.commandAMF0, streamID: streamID, Array(payload.readableBytesView), csid: 3)
    }

    /// Commands the server sent, decoded: name, then the other values.
    var serverCommands: [[AMF0Value]] {
        serverMessages.filter { $0.typeID == RTMPMessageType.commandAMF0 }.compactMap { try? AMF0Decoder().decodeAll($0.payload) }
    }

    mutating func connect(app: String = "live") {
        send(handshakeBytes())
        send(command([.string("connect"), .number(1), .object([AMF0Property("app", .string(app)),
                                                              AMF0Property("tcUrl", .string("rtmp://localhost/\(app)"))])]))
    }

    mutating func requestPublish(key: String = "k1", extra: ByteBuffer? = nil) {
        connect()
        send(command([.string("releaseStream"), .number(2), .null, .string(key)]))
        send(command([.string("FCPublish"), .number(3), .null, .string(key)]))
        send(command([.string("createStream"), .number(4), .null]))
        var publish = command([.string("publish"), .number(5), .null, .string(key), .string("live")], streamID: 1)
        if var extra { publish.writeBuffer(&extra) }
        send(publish)
    }
}

private func statusCode(_ command: [AMF0Value]) -> String? {
    command.last?["code"]?.stringValue
}

@Suite("RTMP server session")
struct RTMPServerSessionTests {
    @Test func connectIsAnsweredWithControlMessagesAndResult() {
        var publisher = ScriptedPublisher()
        publisher.connect()
        #expect(publisher.session.isHandshakeComplete)
        let types = publisher.serverMessages.map(\.typeID)
        // Window Ack Size, Set Peer Bandwidth (Set Chunk Size is consumed by the decoder), then _result.
        #expect(types == [5, 6, 20])
        #expect(publisher.serverMessages.first?.payload.getInteger(at: 0, as: UInt32.self) == 2_500_000)
        let result = publisher.serverCommands.first ?? []
        #expect(result.first == .string("_result"))
        #expect(result.dropFirst().first == .number(1))
        #expect(statusCode(result) == RTMPStatusCode.connectSuccess)
        #expect(publisher.otherActions.isEmpty)
    }

    @Test func publishWaitsForTheDecisionThenDeliversMedia() throws {
        var publisher = ScriptedPublisher()
        // The video sequence header arrives in the same read as publish: it must wait for the decision.
        let sequenceHeader = publisher.message(RTMPMessageType.video, streamID: 1, FLVMediaDemuxerTests.videoSequenceHeader)
        publisher.requestPublish(key: "k1?token=abc", extra: sequenceHeader)
        #expect(publisher.otherActions.count == 1)
        guard case .authorize(let application, let key) = publisher.otherActions.first else {
            Issue.record("expected authorize, got \(publisher.otherActions)")
            return
        }
        #expect(application == "live")
        #expect(key == "k1")
        let commands = publisher.serverCommands
        #expect(commands.map { $0.first?.stringValue } == ["_result", "_result", "onFCPublish", "_result"])
        #expect(commands.last == [.string("_result"), .number(4), .null, .number(1)])

        publisher.otherActions = []
        publisher.absorb(publisher.session.acceptPublish())
        #expect(publisher.session.isPublishing)
        #expect(statusCode(publisher.serverCommands.last ?? []) == RTMPStatusCode.publishStart)
        #expect(publisher.serverMessages.contains { $0.typeID == RTMPMessageType.userControl && $0.payload.getInteger(at: 0, as: UInt16.self) == 0 })
        guard case .media(.videoConfiguration(let config)) = publisher.otherActions.first else {
            Issue.record("expected video configuration, got \(publisher.otherActions)")
            return
        }
        #expect(config.width == 1280 && config.height == 720)

        var metadata = ByteBuffer()
        AMF0Encoder.encode([.string("@setDataFrame"), .string("onMetaData"),
                            .ecmaArray([AMF0Property("width", .number(854)), AMF0Property("height", .number(480)),
                                        AMF0Property("framerate", .number(25)), AMF0Property("videocodecid", .number(7))])],
                           into: &metadata)
        publisher.otherActions = []
        publisher.send(publisher.message(RTMPMessageType.dataAMF0, streamID: 1, Array(metadata.readableBytesView)))
        guard case .metadata(let declared) = publisher.otherActions.first else { Issue.record("no metadata"); return }
        #expect(declared == RTMPStreamMetadata(width: 854, height: 480, frameRate: 25, videoCodec: "7"))

        publisher.otherActions = []
        publisher.send(publisher.command([.string("FCUnpublish"), .number(6), .null, .string("k1")]))
        publisher.send(publisher.command([.string("deleteStream"), .number(7), .null, .number(1)]))
        #expect(publisher.otherActions.count == 1)
        guard case .endPublishing = publisher.otherActions.first else { Issue.record("no endPublishing"); return }
    }

    @Test func rejectedPublishIsToldAndClosed() {
        var publisher = ScriptedPublisher()
        publisher.requestPublish(key: "wrong")
        publisher.otherActions = []
        publisher.absorb(publisher.session.rejectPublish(code: RTMPStatusCode.publishBadName, description: "unknown stream key"))
        let status = publisher.serverCommands.last ?? []
        #expect(status.first == .string("onStatus"))
        #expect(status.last?["level"] == .string("error"))
        #expect(statusCode(status) == RTMPStatusCode.publishBadName)
        guard case .close(let reason) = publisher.otherActions.last else { Issue.record("not closed"); return }
        #expect(reason == .publishRejected(code: RTMPStatusCode.publishBadName, description: "unknown stream key"))
        #expect(reason.metricReason == "bad_name")
        // Nothing more happens after close.
        #expect(publisher.session.receive(publisher.command([.string("createStream"), .number(9), .null])).isEmpty)
    }

    @Test func unsupportedCodecFailsThePublishWithItsName() {
        var publisher = ScriptedPublisher()
        publisher.requestPublish()
        publisher.absorb(publisher.session.acceptPublish())
        publisher.otherActions = []
        publisher.send(publisher.message(RTMPMessageType.video, streamID: 1, [0x90, 0x68, 0x76, 0x63, 0x31, 0x01, 0x00]))
        let status = publisher.serverCommands.last ?? []
        #expect(statusCode(status) == RTMPStatusCode.publishFailed)
        #expect(status.last?["description"]?.stringValue?.contains("hvc1") == true)
        guard case .close(let reason) = publisher.otherActions.last else { Issue.record("not closed"); return }
        #expect(reason == .protocolError(.media(.unsupportedVideoCodec("hvc1"))))
    }

    @Test func unknownApplicationIsRefused() {
        var publisher = ScriptedPublisher()
        publisher.connect(app: "other")
        #expect(statusCode(publisher.serverCommands.last ?? []) == RTMPStatusCode.connectRejected)
        guard case .close(let reason) = publisher.otherActions.last else { Issue.record("not closed"); return }
        #expect(reason == .unknownApplication("other"))
    }

    @Test func bogusCommandsClose() {
        var publisher = ScriptedPublisher()
        publisher.send(publisher.handshakeBytes())
        publisher.send(publisher.message(RTMPMessageType.commandAMF0, [0x02, 0xFF, 0xFF, 0x41], csid: 3))
        guard case .close(let reason) = publisher.otherActions.last else { Issue.record("not closed"); return }
        #expect(reason == .protocolError(.malformedCommand(.truncated)))

        var early = ScriptedPublisher()
        early.send(early.handshakeBytes())
        early.send(early.command([.string("createStream"), .number(2), .null]))
        guard case .close(let earlyReason) = early.otherActions.last else { Issue.record("not closed"); return }
        #expect(earlyReason == .protocolError(.invalidCommand("createStream before connect")))
    }

    @Test func unknownCommandsGetAnErrorButKeepTheConnection() {
        var publisher = ScriptedPublisher()
        publisher.connect()
        publisher.send(publisher.command([.string("getStreamLength"), .number(8), .null, .string("k1")]))
        publisher.send(publisher.command([.string("_checkbw"), .number(0), .null]))
        let last = publisher.serverCommands.last ?? []
        #expect(last.first == .string("_error"))
        #expect(statusCode(last) == RTMPStatusCode.callFailed)
        #expect(publisher.otherActions.isEmpty)
    }

    @Test func answersPingsAndAcknowledgesWindows() {
        var publisher = ScriptedPublisher()
        publisher.connect()
        publisher.send(publisher.message(RTMPMessageType.userControl, [0x00, 0x06, 0x00, 0x00, 0x30, 0x39], csid: 2))
        let pong = publisher.serverMessages.last
        #expect(pong?.typeID == RTMPMessageType.userControl)
        #expect(pong.map { Array($0.payload.readableBytesView) } == [0x00, 0x07, 0x00, 0x00, 0x30, 0x39])

        publisher.send(publisher.message(RTMPMessageType.windowAcknowledgementSize, [0x00, 0x00, 0x10, 0x00], csid: 2))
        publisher.send(publisher.command([.string("_checkbw"), .number(0), .null, .string(String(repeating: "x", count: 5000))]))
        let ack = publisher.serverMessages.last { $0.typeID == RTMPMessageType.acknowledgement }
        let sequence = ack?.payload.getInteger(at: 0, as: UInt32.self) ?? 0
        #expect(sequence > 4096 + 3073)
    }

    @Test func hostileChunkSizeClosesWithExactError() {
        var publisher = ScriptedPublisher()
        publisher.send(publisher.handshakeBytes())
        publisher.send(publisher.message(RTMPMessageType.setChunkSize, [0x01, 0x00, 0x00, 0x00], csid: 2))
        guard case .close(let reason) = publisher.otherActions.last else { Issue.record("not closed"); return }
        #expect(reason == .protocolError(.chunkSizeAboveLimit(requested: 16 << 20, limit: 65536)))
        #expect(reason.metricReason == "chunk_size")
    }

    @Test func wrongHandshakeVersionCloses() {
        var session = RTMPServerSession()
        let actions = session.receive(ByteBuffer(string: "GET / HTTP/1.1\r\n"))
        guard case .close(let reason) = actions.last else { Issue.record("not closed"); return }
        #expect(reason == .protocolError(.unsupportedVersion(0x47)))
    }
}
