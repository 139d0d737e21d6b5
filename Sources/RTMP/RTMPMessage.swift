import NIOCore

/// One reassembled RTMP message (RTMP 1.0 §5.3.1, §6.1.1).
public struct RTMPMessage: Sendable {
    public var typeID: UInt8
    /// Message stream id: 0 for NetConnection traffic, the id from `createStream` for NetStream traffic.
    public var streamID: UInt32
    /// Milliseconds; RTMP timestamps are 32-bit and wrap.
    public var timestamp: UInt32
    public var payload: ByteBuffer

    public init(typeID: UInt8, streamID: UInt32, timestamp: UInt32, payload: ByteBuffer) {
        self.typeID = typeID
        self.streamID = streamID
        self.timestamp = timestamp
        self.payload = payload
    }
}

/// Message type ids (RTMP 1.0 §5.4, §7.1).
public enum RTMPMessageType {
    public static let setChunkSize: UInt8 = 1
    public static let abort: UInt8 = 2
    public static let acknowledgement: UInt8 = 3
    public static let userControl: UInt8 = 4
    public static let windowAcknowledgementSize: UInt8 = 5
    public static let setPeerBandwidth: UInt8 = 6
    public static let audio: UInt8 = 8
    public static let video: UInt8 = 9
    public static let dataAMF3: UInt8 = 15
    public static let commandAMF3: UInt8 = 17
    public static let dataAMF0: UInt8 = 18
    public static let commandAMF0: UInt8 = 20
}

/// User control event types (RTMP 1.0 §7.1.7).
public enum RTMPUserControlEvent {
    public static let streamBegin: UInt16 = 0
    public static let streamEOF: UInt16 = 1
    public static let setBufferLength: UInt16 = 3
    public static let pingRequest: UInt16 = 6
    public static let pingResponse: UInt16 = 7
}
