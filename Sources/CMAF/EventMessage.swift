import NIOCore

/// An in-band DASH event: `emsg` version 1 (ISO/IEC 23009-1 §5.10.3.3), with an absolute presentation time.
public struct EventMessage: Sendable, Equatable {
    public var schemeIDURI: String
    public var value: String
    public var timescale: UInt32
    public var presentationTime: UInt64
    /// 0xFFFFFFFF means unknown.
    public var eventDuration: UInt32
    public var id: UInt32
    public var messageData: ByteBuffer

    public init(schemeIDURI: String, value: String, timescale: UInt32, presentationTime: UInt64, eventDuration: UInt32,
                id: UInt32, messageData: ByteBuffer) {
        self.schemeIDURI = schemeIDURI
        self.value = value
        self.timescale = timescale
        self.presentationTime = presentationTime
        self.eventDuration = eventDuration
        self.id = id
        self.messageData = messageData
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeFullBox("emsg", version: 1, flags: 0) { box in
            box.writeInteger(timescale)
            box.writeInteger(presentationTime)
            box.writeInteger(eventDuration)
            box.writeInteger(id)
            box.writeString(schemeIDURI); box.writeInteger(UInt8(0))
            box.writeString(value); box.writeInteger(UInt8(0))
            box.writeImmutableBuffer(messageData)
        }
    }
}
