/// Character classes and small field parsers from the RFC 8866 grammar, shared by the parsers and by
/// the answer writer, which must never let a caller's string break a line.
enum SDPToken {
    /// RFC 8866 token-char: visible ASCII except the separators `"(),/:;<=>?@[\]{}`.
    static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x21, 0x23...0x27, 0x2A, 0x2B, 0x2D, 0x2E, 0x30...0x39, 0x41...0x5A, 0x5E...0x7E: true
        default: false
        }
    }

    static func isToken(_ text: some StringProtocol) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy(isTokenByte)
    }

    /// Visible ASCII without spaces: what may stand in one space-separated field.
    static func isVisibleField(_ text: some StringProtocol) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F }
    }

    /// Fields separated by exactly one space; an empty field (double space) is a syntax error.
    static func fields<Text: StringProtocol>(_ text: Text) -> [Text.SubSequence] {
        text.split(separator: " ", omittingEmptySubsequences: false)
    }

    /// Plain decimal, no sign, no leading `+`, at most 20 digits so the conversion cannot be slow.
    static func decimal<T: FixedWidthInteger & UnsignedInteger>(_ text: some StringProtocol, as: T.Type = T.self) -> T? {
        guard !text.isEmpty, text.utf8.count <= 20, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        return T(text, radix: 10)
    }
}
