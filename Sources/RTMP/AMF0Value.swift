/// An Action Message Format 0 value (AMF0 specification, Adobe 2007), the encoding of RTMP commands and metadata.
public indirect enum AMF0Value: Sendable, Equatable {
    case number(Double)
    case boolean(Bool)
    /// Up to 65535 UTF-8 bytes; longer strings are written as long strings.
    case string(String)
    case object([AMF0Property])
    case null
    case undefined
    /// An associative array; the count in its header is advisory, the object-end marker ends it.
    case ecmaArray([AMF0Property])
    case strictArray([AMF0Value])
    /// Milliseconds since the Unix epoch and a time zone offset in minutes (which the specification says to ignore).
    case date(milliseconds: Double, timeZone: Int16)
    case longString(String)

    /// Type markers (AMF0 §2.1).
    public enum Marker {
        public static let number: UInt8 = 0x00
        public static let boolean: UInt8 = 0x01
        public static let string: UInt8 = 0x02
        public static let object: UInt8 = 0x03
        public static let null: UInt8 = 0x05
        public static let undefined: UInt8 = 0x06
        public static let ecmaArray: UInt8 = 0x08
        public static let objectEnd: UInt8 = 0x09
        public static let strictArray: UInt8 = 0x0A
        public static let date: UInt8 = 0x0B
        public static let longString: UInt8 = 0x0C
    }

    public var stringValue: String? {
        switch self {
        case .string(let value), .longString(let value): return value
        default: return nil
        }
    }

    public var numberValue: Double? {
        if case .number(let value) = self { return value }
        return nil
    }

    /// The properties of an object or ECMA array.
    public var properties: [AMF0Property]? {
        switch self {
        case .object(let properties), .ecmaArray(let properties): return properties
        default: return nil
        }
    }

    /// The first property named `key` of an object or ECMA array.
    public subscript(key: String) -> AMF0Value? {
        properties?.first { $0.key == key }?.value
    }
}

/// One key/value pair of an AMF0 object; order is kept because peers compare encoded bytes.
public struct AMF0Property: Sendable, Equatable {
    public var key: String
    public var value: AMF0Value

    public init(_ key: String, _ value: AMF0Value) {
        self.key = key
        self.value = value
    }
}
