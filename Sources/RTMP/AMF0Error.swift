public enum AMF0Error: Error, Equatable, Sendable {
    /// The message ended inside a value.
    case truncated
    /// A type marker LiveRelay does not accept (references, typed objects, AMF3 switch, ...), with its value.
    case unsupportedMarker(UInt8)
    /// Objects or arrays nested deeper than the decoder's limit.
    case nestingTooDeep(limit: Int)
    /// A strict array claimed more elements than the remaining bytes could hold.
    case invalidArrayLength(UInt32)
    /// One message decoded to more values than the decoder's limit.
    case tooManyValues(limit: Int)
    /// A string was not valid UTF-8.
    case invalidString
}
