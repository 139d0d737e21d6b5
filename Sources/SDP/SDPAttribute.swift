/// An `a=` line: a property (`a=rtcp-mux`) or a value attribute (`a=mid:0`).
/// The value is kept verbatim after the first colon, leading spaces included (`a=msid-semantic: WMS`),
/// so a parsed offer serializes back to the same text.
public struct SDPAttribute: Equatable, Hashable, Sendable {
    public var name: String
    public var value: String?

    public init(_ name: String, _ value: String? = nil) {
        self.name = name
        self.value = value
    }

    init(parsing text: String, line: Int) throws(SDPError) {
        let name: Substring
        if let colon = text.firstIndex(of: ":") {
            name = text[..<colon]
            value = String(text[text.index(after: colon)...])
        } else {
            name = Substring(text)
            value = nil
        }
        guard !name.isEmpty, name.utf8.allSatisfy(SDPToken.isTokenByte) else {
            throw .malformed(reason: "line \(line) has an invalid attribute name")
        }
        self.name = String(name)
    }

    var text: String {
        guard let value else { return name }
        return name + ":" + value
    }
}
