import NIOCore

/// Reads AMF0 values from a complete message body. Messages are reassembled before decoding, so running out of
/// bytes is an error here, not a reason to wait.
public struct AMF0Decoder: Sendable {
    /// Commands nest two or three levels; metadata a few more. 32 stops stack exhaustion by hostile input.
    public var maximumDepth: Int

    public init(maximumDepth: Int = 32) {
        self.maximumDepth = maximumDepth
    }

    /// Decodes every value in `buffer`.
    public func decodeAll(_ buffer: ByteBuffer) throws(AMF0Error) -> [AMF0Value] {
        var buffer = buffer
        var values: [AMF0Value] = []
        while buffer.readableBytes > 0 {
            values.append(try decode(&buffer))
        }
        return values
    }

    public func decode(_ buffer: inout ByteBuffer) throws(AMF0Error) -> AMF0Value {
        try decode(&buffer, depth: 0)
    }

    private func decode(_ buffer: inout ByteBuffer, depth: Int) throws(AMF0Error) -> AMF0Value {
        guard let marker = buffer.readInteger(as: UInt8.self) else { throw .truncated }
        switch marker {
        case AMF0Value.Marker.number:
            guard let bits = buffer.readInteger(as: UInt64.self) else { throw .truncated }
            return .number(Double(bitPattern: bits))
        case AMF0Value.Marker.boolean:
            guard let byte = buffer.readInteger(as: UInt8.self) else { throw .truncated }
            return .boolean(byte != 0)
        case AMF0Value.Marker.string:
            return .string(try readShortString(&buffer))
        case AMF0Value.Marker.longString:
            guard let length = buffer.readInteger(as: UInt32.self) else { throw .truncated }
            return .longString(try readUTF8(&buffer, length: Int(length)))
        case AMF0Value.Marker.object:
            return .object(try readProperties(&buffer, depth: depth + 1))
        case AMF0Value.Marker.ecmaArray:
            guard buffer.readInteger(as: UInt32.self) != nil else { throw .truncated }
            return .ecmaArray(try readProperties(&buffer, depth: depth + 1))
        case AMF0Value.Marker.strictArray:
            guard depth + 1 <= maximumDepth else { throw .nestingTooDeep(limit: maximumDepth) }
            guard let count = buffer.readInteger(as: UInt32.self) else { throw .truncated }
            // Every element takes at least one byte, so a count above the remaining bytes is a lie, not a reason
            // to reserve memory.
            guard Int(count) <= buffer.readableBytes else { throw .invalidArrayLength(count) }
            var elements: [AMF0Value] = []
            elements.reserveCapacity(Int(count))
            for _ in 0..<count { elements.append(try decode(&buffer, depth: depth + 1)) }
            return .strictArray(elements)
        case AMF0Value.Marker.null:
            return .null
        case AMF0Value.Marker.undefined:
            return .undefined
        case AMF0Value.Marker.date:
            guard let bits = buffer.readInteger(as: UInt64.self), let zone = buffer.readInteger(as: Int16.self) else {
                throw .truncated
            }
            return .date(milliseconds: Double(bitPattern: bits), timeZone: zone)
        default:
            throw .unsupportedMarker(marker)
        }
    }

    private func readProperties(_ buffer: inout ByteBuffer, depth: Int) throws(AMF0Error) -> [AMF0Property] {
        guard depth <= maximumDepth else { throw .nestingTooDeep(limit: maximumDepth) }
        var properties: [AMF0Property] = []
        while true {
            let key = try readShortString(&buffer)
            if key.isEmpty, buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) == AMF0Value.Marker.objectEnd {
                buffer.moveReaderIndex(forwardBy: 1)
                return properties
            }
            properties.append(AMF0Property(key, try decode(&buffer, depth: depth)))
        }
    }

    private func readShortString(_ buffer: inout ByteBuffer) throws(AMF0Error) -> String {
        guard let length = buffer.readInteger(as: UInt16.self) else { throw .truncated }
        return try readUTF8(&buffer, length: Int(length))
    }

    private func readUTF8(_ buffer: inout ByteBuffer, length: Int) throws(AMF0Error) -> String {
        guard let view = buffer.readSlice(length: length) else { throw .truncated }
        guard let string = String(validating: view.readableBytesView, as: UTF8.self) else { throw .invalidString }
        return string
    }
}
