/// Textual IP address checks for candidate hosts, written out because Foundation's are not on every platform.
enum IPAddressLiteral {
    /// Dotted quad, each part 0-255 without leading zeros (which some stacks read as octal).
    static func isIPv4(_ text: some StringProtocol) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return false }
        return parts.allSatisfy { part in
            guard let value = SDPToken.decimal(part, as: UInt16.self), value <= 255, part.utf8.count <= 3 else { return false }
            return part.utf8.count == 1 || part.first != "0"
        }
    }

    /// RFC 4291 §2.2 forms: eight groups, one `::` standing for one or more zero groups,
    /// and an optional dotted-quad tail counting as two groups.
    static func isIPv6(_ text: some StringProtocol) -> Bool {
        guard text.utf8.count <= 45, text.utf8.count >= 2 else { return false }
        var groups = 0
        let halves = splitAtDoubleColons(String(text))
        guard halves.count <= 2 else { return false }
        let compressed = halves.count == 2
        for (halfIndex, half) in halves.enumerated() where !half.isEmpty {
            let parts = half.split(separator: ":", omittingEmptySubsequences: false)
            for (partIndex, part) in parts.enumerated() {
                let isLast = halfIndex == halves.count - 1 && partIndex == parts.count - 1
                if isLast && part.contains(".") {
                    guard isIPv4(part) else { return false }
                    groups += 2
                } else {
                    guard (1...4).contains(part.utf8.count), part.utf8.allSatisfy({ $0.isHexDigit }) else { return false }
                    groups += 1
                }
            }
        }
        return compressed ? groups <= 7 : groups == 8
    }

    /// Splits at each `::`; in ":::" the leftover colon makes an empty group that the check rejects.
    private static func splitAtDoubleColons(_ text: String) -> [Substring] {
        var pieces: [Substring] = []
        var start = text.startIndex
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(after: index)
            if text[index] == ":", next < text.endIndex, text[next] == ":" {
                pieces.append(text[start..<index])
                start = text.index(after: next)
                index = start
            } else {
                index = next
            }
        }
        pieces.append(text[start...])
        return pieces
    }
}
