import NIOCore

/// Reads AMF0 values from a complete message body. Messages are reassembled before decoding, so running out of
/// bytes is an error here, not a reason to wait.
///
/// Counts declared by the peer (strict and ECMA array lengths) are never used to reserve memory: collections grow
/// as their elements actually decode, and `maximumValues` bounds how many values one call may produce, since a
/// one-byte `null` still costs a whole `AMF0Value` once decoded.
public struct AMF0Decoder: Sendable {
    /// Commands nest two or three levels; metadata a few more. 32 stops stack exhaustion by hostile input.
    public var maximumDepth: Int
    /// Values (including nested ones and object properties) one `decode` or `decodeAll` may produce. A `connect`
    /// carries about 15, `onMetaData` about 25; 65,536 keeps an 8 MiB message of one-byte values from expanding
    /// into hundreds of megabytes of decoded values.
    public var maximumValues: Int

    public init(maximumDepth: Int = 32, maximumValues: Int = 65_536) {
        self.maximumDepth = maximumDepth
        self.maximumValues = maximumValues
    }

    /// Decodes every value in `buffer`.
    public func decodeAll(_ buffer: ByteBuffer) throws(AMF0Error) -> [AMF0Value] {
        var buffer = buffer
        var values: [AMF0Value] = []
        var budget = maximumValues
        while buffer.readableBytes > 0 {
            values.append(try decode(&buffer, depth: 0, budget: &budget))
        }
        return values
    }

    public func decode(_ buffer: inout ByteBuffer) throws(AMF0Error) -> AMF0Value {
        var budget = maximumValues
        return try decode(&buffer, depth: 0, budget: &budget)
    }

    private func decode(_ buffer: inout ByteBuffer, depth: Int, budget: inout Int) throws(AMF0Error) -> AMF0Value {
        guard budget > 0 else { throw .tooManyValues(limit: maximumValues) }
        budget -= 1
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
            return .object(try readProperties(&buffer, depth: depth + 1, budget: &budget))
        case AMF0Value.Marker.ecmaArray:
            // The declared count is only a hint (encoders get it wrong); the object-end marker ends the array.
            guard buffer.readInteger(as: UInt32.self) != nil else { throw .truncated }
            return .ecmaArray(try readProperties(&buffer, depth: depth + 1, budget: &budget))
        case AMF0Value.Marker.strictArray:
            guard depth + 1 <= maximumDepth else { throw .nestingTooDeep(limit: maximumDepth) }
            guard let count = buffer.readInteger(as: UInt32.self) else { throw .truncated }
            // Every element takes at least one byte, so a count above the remaining bytes is a lie. Even a count that
            // fits is not reserved up front: the elements are appended as they decode, within the value budget.
            guard Int(count) <= buffer.readableBytes else { throw .invalidArrayLength(count) }
            guard Int(count) <= budget else { throw .tooManyValues(limit: maximumValues) }
            var elements: [AMF0Value] = []
            for _ in 0..<count { elements.append(try decode(&buffer, depth: depth + 1, budget: &budget)) }
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

    private func readProperties(_ buffer: inout ByteBuffer, depth: Int, budget: inout Int) throws(AMF0Error) -> [AMF0Property] {
        guard depth <= maximumDepth else { throw .nestingTooDeep(limit: maximumDepth) }
        var properties: [AMF0Property] = []
        while true {
            let key = try readShortString(&buffer)
            if key.isEmpty, buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) == AMF0Value.Marker.objectEnd {
                buffer.moveReaderIndex(forwardBy: 1)
                return properties
            }
            properties.append(AMF0Property(key, try decode(&buffer, depth: depth, budget: &budget)))
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
