/// Small string edits for deriving broken offers from the captured ones, without Foundation.
extension String {
    func replacingOccurrences(of target: String, with replacement: String) -> String {
        precondition(!target.isEmpty)
        var result = ""
        var rest = self[...]
        while let range = rest.firstRange(of: target) {
            result += rest[..<range.lowerBound]
            result += replacement
            rest = rest[range.upperBound...]
        }
        result += rest
        return result
    }

    func replacingCRLF() -> String { replacingOccurrences(of: "\r\n", with: "\n") }

    /// Drops every CRLF-terminated line that starts with `prefix`.
    func removingLines(startingWith prefix: String) -> String {
        split(separator: "\r\n", omittingEmptySubsequences: false)
            .filter { !$0.hasPrefix(prefix) }
            .joined(separator: "\r\n")
    }

    func lines() -> [Substring] {
        split(separator: "\r\n")
    }
}
