import NIOCore

/// Writes AMF0 values. Strings longer than 65535 bytes become long strings, as the format requires.
public enum AMF0Encoder {
    public static func encode(_ value: AMF0Value, into buffer: inout ByteBuffer) {
        switch value {
        case .number(let number):
            buffer.writeInteger(AMF0Value.Marker.number)
            buffer.writeInteger(number.bitPattern)
        case .boolean(let flag):
            buffer.writeInteger(AMF0Value.Marker.boolean)
            buffer.writeInteger(UInt8(flag ? 1 : 0))
        case .string(let string):
            if string.utf8.count > Int(UInt16.max) {
                encode(.longString(string), into: &buffer)
            } else {
                buffer.writeInteger(AMF0Value.Marker.string)
                writeShortString(string, into: &buffer)
            }
        case .longString(let string):
            buffer.writeInteger(AMF0Value.Marker.longString)
            buffer.writeInteger(UInt32(truncatingIfNeeded: string.utf8.count))
            buffer.writeString(string)
        case .object(let properties):
            buffer.writeInteger(AMF0Value.Marker.object)
            writeProperties(properties, into: &buffer)
        case .ecmaArray(let properties):
            buffer.writeInteger(AMF0Value.Marker.ecmaArray)
            buffer.writeInteger(UInt32(truncatingIfNeeded: properties.count))
            writeProperties(properties, into: &buffer)
        case .strictArray(let elements):
            buffer.writeInteger(AMF0Value.Marker.strictArray)
            buffer.writeInteger(UInt32(truncatingIfNeeded: elements.count))
            for element in elements { encode(element, into: &buffer) }
        case .null:
            buffer.writeInteger(AMF0Value.Marker.null)
        case .undefined:
            buffer.writeInteger(AMF0Value.Marker.undefined)
        case .date(let milliseconds, let timeZone):
            buffer.writeInteger(AMF0Value.Marker.date)
            buffer.writeInteger(milliseconds.bitPattern)
            buffer.writeInteger(timeZone)
        }
    }

    public static func encode(_ values: [AMF0Value], into buffer: inout ByteBuffer) {
        for value in values { encode(value, into: &buffer) }
    }

    private static func writeProperties(_ properties: [AMF0Property], into buffer: inout ByteBuffer) {
        for property in properties {
            writeShortString(property.key, into: &buffer)
            encode(property.value, into: &buffer)
        }
        buffer.writeInteger(UInt16(0))
        buffer.writeInteger(AMF0Value.Marker.objectEnd)
    }

    /// Keys and short strings carry a 16-bit length; a longer key is cut at 65535 bytes rather than corrupt the frame.
    private static func writeShortString(_ string: String, into buffer: inout ByteBuffer) {
        let utf8 = string.utf8
        let length = min(utf8.count, Int(UInt16.max))
        buffer.writeInteger(UInt16(length))
        buffer.writeBytes(utf8.prefix(length))
    }
}
