import NIOCore

/// Splits VP8 frames into RTP packets (RFC 7741) written one at a time into a buffer the caller
/// owns, so sending a frame allocates nothing per packet.
///
/// Each packet is: RTP header (with the stream's header extensions), the 4-byte payload
/// descriptor (X=1, I=1, M=1: a 15-bit PictureID that lets receivers spot whole lost frames),
/// then a fragment of the frame. S is set on the first packet of the frame and the RTP marker on
/// the last. Packets are at most `maximumPacketSize - reservedTrailerLength` bytes, leaving room
/// for the SRTP authentication tag added afterwards.
public struct VP8Packetizer: Sendable {
    public var header: RTPHeaderTemplate
    /// Path MTU budget for the whole UDP payload once SRTP is applied.
    public var maximumPacketSize: Int
    /// Bytes kept free at the end of each packet (10 for AES_CM_128_HMAC_SHA1_80, 16 for AEAD GCM).
    public var reservedTrailerLength: Int
    /// The sequence number of the next packet; wraps at 65535.
    public var sequenceNumber: UInt16
    /// The PictureID of the next frame; wraps at 2^15.
    public var pictureID: UInt16 {
        didSet { pictureID &= 0x7FFF }
    }
    /// PictureID of the last frame the caller said was a key frame (the descriptor itself has no key-frame flag;
    /// VP8 signals that in the frame's own payload header).
    public private(set) var lastKeyframePictureID: UInt16?

    public init(payloadType: UInt8, ssrc: UInt32, extensions: RTPHeaderExtensionLayout = .none,
                maximumPacketSize: Int = 1200, reservedTrailerLength: Int = 16,
                sequenceNumber: UInt16 = .random(in: 0...UInt16.max), pictureID: UInt16 = .random(in: 0...0x7FFF)) {
        self.header = RTPHeaderTemplate(payloadType: payloadType, ssrc: ssrc, extensions: extensions)
        self.maximumPacketSize = maximumPacketSize
        self.reservedTrailerLength = reservedTrailerLength
        self.sequenceNumber = sequenceNumber
        self.pictureID = pictureID & 0x7FFF
    }

    /// Frame bytes carried per packet.
    public var maximumFragmentLength: Int {
        maximumPacketSize - reservedTrailerLength - header.headerLength - VP8PayloadDescriptor.sentLength
    }

    /// Packets `packetize` will emit for a frame of that many bytes.
    public func packetCount(frameLength: Int) -> Int {
        frameLength == 0 ? 0 : (frameLength + maximumFragmentLength - 1) / maximumFragmentLength
    }

    /// Writes each packet of `frame` (its readable bytes) into `buffer` and hands it to `emit`.
    ///
    /// `buffer` is cleared before every packet, so `emit` must be done with the bytes when it
    /// returns (copy them, protect them into another buffer, or write them out); keeping a
    /// reference to the buffer is allowed but makes the next packet reallocate. An empty frame
    /// emits nothing and does not use up a PictureID. `absSendTime` (24 bits) is written into
    /// every packet when the layout has that extension.
    ///
    /// - Returns: the number of packets emitted.
    @discardableResult
    public mutating func packetize(frame: ByteBuffer, timestamp: UInt32, isKeyframe: Bool, absSendTime: UInt32 = 0,
                                   into buffer: inout ByteBuffer, emit: (inout ByteBuffer) -> Void) -> Int {
        let packets = nextFrame(frame, timestamp: timestamp, isKeyframe: isKeyframe, absSendTime: absSendTime)
        for index in 0..<packets.count {
            buffer.clear(minimumCapacity: maximumPacketSize)
            buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: packets.length(ofPacket: index)) { bytes in
                packets.write(index, to: bytes.baseAddress!)
            }
            emit(&buffer)
        }
        return packets.count
    }

    /// Takes the sequence numbers and PictureID of the next frame and returns its packets, for the caller to
    /// write one by one wherever it wants them (a send slot): the fan-out writes each packet straight into the
    /// memory it is encrypted and sent from, with no intermediate buffer. An empty frame has no packets and uses
    /// up no PictureID.
    public mutating func nextFrame(_ frame: ByteBuffer, timestamp: UInt32, isKeyframe: Bool,
                                   absSendTime: UInt32 = 0) -> VP8FramePackets {
        let fragmentLength = maximumFragmentLength
        precondition(fragmentLength > 0, "maximumPacketSize \(maximumPacketSize) leaves no room for VP8 data")
        let count = packetCount(frameLength: frame.readableBytes)
        let packets = VP8FramePackets(frame: frame, header: RTPHeaderBytes(header, timestamp: timestamp, absSendTime: absSendTime),
                                      fragmentLength: fragmentLength, count: count,
                                      firstSequenceNumber: sequenceNumber, pictureID: pictureID)
        guard count > 0 else { return packets }
        if isKeyframe { lastKeyframePictureID = pictureID }
        sequenceNumber &+= UInt16(truncatingIfNeeded: count)
        pictureID = (pictureID + 1) & 0x7FFF
        return packets
    }
}

/// The RTP packets of one VP8 frame as one viewer's packetizer numbered them: its header laid out once, the
/// frame shared (not copied). Packet `index` is written on demand into memory the caller owns.
public struct VP8FramePackets {
    public let frame: ByteBuffer
    public let header: RTPHeaderBytes
    public let fragmentLength: Int
    public let count: Int
    public let firstSequenceNumber: UInt16
    public let pictureID: UInt16

    init(frame: ByteBuffer, header: RTPHeaderBytes, fragmentLength: Int, count: Int, firstSequenceNumber: UInt16,
         pictureID: UInt16) {
        self.frame = frame
        self.header = header
        self.fragmentLength = fragmentLength
        self.count = count
        self.firstSequenceNumber = firstSequenceNumber
        self.pictureID = pictureID
    }

    /// No packets (`count` 0).
    public init() {
        self.init(frame: ByteBuffer(), header: RTPHeaderBytes(), fragmentLength: 1, count: 0, firstSequenceNumber: 0, pictureID: 0)
    }

    /// Bytes of packet `index` (0-based, below `count`).
    @inline(__always)
    public func length(ofPacket index: Int) -> Int {
        header.length + VP8PayloadDescriptor.sentLength + min(fragmentLength, frame.readableBytes - index * fragmentLength)
    }

    /// Writes packet `index` (0-based, below `count`) at `destination`, which must have room for
    /// `length(ofPacket:)` bytes; returns that length.
    @inline(__always)
    @discardableResult
    public func write(_ index: Int, to destination: UnsafeMutableRawPointer) -> Int {
        let offset = index * fragmentLength
        let length = min(fragmentLength, frame.readableBytes - offset)
        let last = offset + length == frame.readableBytes
        let headerLength = header.write(to: destination, marker: last, sequenceNumber: firstSequenceNumber &+ UInt16(truncatingIfNeeded: index))
        VP8PayloadDescriptor.writeSentForm(to: destination + headerLength, start: index == 0, pictureID: pictureID)
        let payload = destination + headerLength + VP8PayloadDescriptor.sentLength
        frame.withUnsafeReadableBytes { bytes in
            payload.copyMemory(from: bytes.baseAddress! + offset, byteCount: length)
        }
        return headerLength + VP8PayloadDescriptor.sentLength + length
    }
}
