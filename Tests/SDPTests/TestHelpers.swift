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

/// Deterministic generator so the garbage tests read the same bytes on every run.
struct SplitMix64 {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
