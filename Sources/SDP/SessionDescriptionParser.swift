extension SessionDescription {
    /// Parses SDP text. `v=`, `o=`, `s=` must open the description (RFC 8866 §5) and at least one `t=`
    /// must follow; the other session lines and the lines of a media section may come in any order,
    /// because peers differ there and reordering changes nothing they mean.
    public static func parse(_ text: String) throws(SDPError) -> SessionDescription {
        let lines = try SDPLineReader.lines(of: text)
        guard lines.count >= 3, lines[0].type == "v", lines[1].type == "o", lines[2].type == "s" else {
            throw .malformed(reason: "SDP must start with v=, o= and s= lines")
        }
        guard lines[0].value == "0" else {
            throw .malformed(reason: "SDP version \"\(lines[0].value)\" is not 0")
        }
        var description = SessionDescription(origin: try Origin(parsing: lines[1].value, line: lines[1].number),
                                             sessionName: lines[2].value, timings: [])
        var position = 3
        while position < lines.count, lines[position].type != "m" {
            try description.addSessionLine(lines[position])
            position += 1
        }
        guard !description.timings.isEmpty else {
            throw .malformed(reason: "SDP has no t= line")
        }
        while position < lines.count {
            let line = lines[position]
            if line.type == "m" {
                guard description.media.count < SDPLimits.maxMediaSections else {
                    throw .malformed(reason: "SDP has more than \(SDPLimits.maxMediaSections) media sections")
                }
                description.media.append(try MediaDescription(parsingMediaLine: line.value,
                                                              index: description.media.count + 1))
            } else {
                try description.media[description.media.count - 1].addLine(line)
            }
            position += 1
        }
        return description
    }

    private mutating func addSessionLine(_ line: SDPLine) throws(SDPError) {
        switch line.type {
        case "i": information = try Self.single(information, line)
        case "u": uri = try Self.single(uri, line)
        case "e": emails.append(line.value)
        case "p": phones.append(line.value)
        case "c":
            guard connection == nil else { throw Self.repeated(line) }
            connection = try ConnectionData(parsing: line.value, line: line.number)
        case "b": bandwidths.append(line.value)
        case "t": timings.append(try Timing(parsing: line.value, line: line.number))
        case "r":
            guard !timings.isEmpty else {
                throw .malformed(reason: "line \(line.number): r= before any t=")
            }
            timings[timings.count - 1].repeats.append(line.value)
        case "z": timeZones = try Self.single(timeZones, line)
        case "k": encryptionKey = try Self.single(encryptionKey, line)
        case "a": attributes.append(try SDPAttribute(parsing: line.value, line: line.number))
        default:
            throw .malformed(reason: "line \(line.number): \"\(line.type)=\" is not allowed at session level")
        }
    }

    static func single(_ existing: String?, _ line: SDPLine) throws(SDPError) -> String {
        guard existing == nil else { throw repeated(line) }
        return line.value
    }

    static func repeated(_ line: SDPLine) -> SDPError {
        .malformed(reason: "line \(line.number): \"\(line.type)=\" appears twice")
    }
}

extension MediaDescription {
    fileprivate mutating func addLine(_ line: SDPLine) throws(SDPError) {
        switch line.type {
        case "i": information = try SessionDescription.single(information, line)
        case "c": connections.append(try ConnectionData(parsing: line.value, line: line.number))
        case "b": bandwidths.append(line.value)
        case "k": encryptionKey = try SessionDescription.single(encryptionKey, line)
        case "a": attributes.append(try SDPAttribute(parsing: line.value, line: line.number))
        default:
            throw .malformed(reason: "line \(line.number): \"\(line.type)=\" is not allowed in a media section")
        }
    }
}
