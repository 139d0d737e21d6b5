/// One `<type>=<value>` line of a session description, with its 1-based line number for error reasons.
struct SDPLine: Sendable {
    let number: Int
    let type: Character
    let value: String
}

/// Splits SDP text into lines, enforcing `SDPLimits` while scanning so that oversized input is refused
/// before any line is decoded.
enum SDPLineReader {
    private static let lineFeed = UInt8(ascii: "\n")
    private static let carriageReturn = UInt8(ascii: "\r")
    private static let tab = UInt8(ascii: "\t")

    /// Accepts `\r\n` and bare `\n` line ends; blank lines are skipped (some clients end the body with one).
    static func lines(of text: String) throws(SDPError) -> [SDPLine] {
        // String.utf8.count is O(1) for native strings: the size check comes before reading anything.
        guard text.utf8.count <= SDPLimits.maxBytes else {
            throw .malformed(reason: "SDP is larger than \(SDPLimits.maxBytes) bytes")
        }
        let bytes = Array(text.utf8)
        var lines: [SDPLine] = []
        var lineNumber = 0
        var start = 0
        var index = 0
        while index <= bytes.count {
            let atEnd = index == bytes.count
            if atEnd || bytes[index] == lineFeed {
                if atEnd && start == index { break }
                lineNumber += 1
                guard lineNumber <= SDPLimits.maxLines else {
                    throw .malformed(reason: "SDP has more than \(SDPLimits.maxLines) lines")
                }
                var end = index
                if end > start && bytes[end - 1] == carriageReturn { end -= 1 }
                if end > start {
                    lines.append(try line(bytes[start..<end], number: lineNumber))
                }
                start = index + 1
            } else if index - start >= SDPLimits.maxLineLength + 1 {
                // +1 leaves room for the carriage return that may still end this line.
                throw .malformed(reason: "line \(lineNumber + 1) is longer than \(SDPLimits.maxLineLength) bytes")
            }
            index += 1
        }
        return lines
    }

    private static func line(_ bytes: ArraySlice<UInt8>, number: Int) throws(SDPError) -> SDPLine {
        guard bytes.count <= SDPLimits.maxLineLength else {
            throw .malformed(reason: "line \(number) is longer than \(SDPLimits.maxLineLength) bytes")
        }
        for byte in bytes where (byte < 0x20 && byte != tab) || byte == 0x7F {
            throw .malformed(reason: "line \(number) contains control character 0x\(String(byte, radix: 16))")
        }
        let first = bytes[bytes.startIndex]
        guard bytes.count >= 2, first >= UInt8(ascii: "a"), first <= UInt8(ascii: "z"),
              bytes[bytes.startIndex + 1] == UInt8(ascii: "=") else {
            throw .malformed(reason: "line \(number) is not of the form <type>=<value>")
        }
        return SDPLine(number: number, type: Character(Unicode.Scalar(first)),
                       value: String(decoding: bytes.dropFirst(2), as: UTF8.self))
    }
}
