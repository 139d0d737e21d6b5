extension SessionDescription {
    /// The text form with `\r\n` line ends, lines in RFC 8866 order.
    public func serialized() -> String {
        var text = ""
        text.reserveCapacity(2048)
        func line(_ type: String, _ value: String) {
            text += type
            text += "="
            text += value
            text += "\r\n"
        }
        line("v", String(version))
        line("o", origin.text)
        line("s", sessionName)
        information.map { line("i", $0) }
        uri.map { line("u", $0) }
        emails.forEach { line("e", $0) }
        phones.forEach { line("p", $0) }
        connection.map { line("c", $0.text) }
        bandwidths.forEach { line("b", $0) }
        for timing in timings {
            line("t", timing.text)
            timing.repeats.forEach { line("r", $0) }
        }
        timeZones.map { line("z", $0) }
        encryptionKey.map { line("k", $0) }
        attributes.forEach { line("a", $0.text) }
        for section in media {
            line("m", section.mediaLine)
            section.information.map { line("i", $0) }
            section.connections.forEach { line("c", $0.text) }
            section.bandwidths.forEach { line("b", $0) }
            section.encryptionKey.map { line("k", $0) }
            section.attributes.forEach { line("a", $0.text) }
        }
        return text
    }
}
