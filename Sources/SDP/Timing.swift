/// A `t=` line with the `r=` repeat lines that belong to it. WebRTC always sends `t=0 0` (unbounded).
public struct Timing: Equatable, Hashable, Sendable {
    public var start: UInt64
    public var stop: UInt64
    /// `r=` values, kept verbatim: no WebRTC peer uses them.
    public var repeats: [String]

    public init(start: UInt64 = 0, stop: UInt64 = 0, repeats: [String] = []) {
        self.start = start
        self.stop = stop
        self.repeats = repeats
    }

    init(parsing text: String, line: Int) throws(SDPError) {
        let fields = SDPToken.fields(text)
        guard fields.count == 2, let start = SDPToken.decimal(fields[0], as: UInt64.self),
              let stop = SDPToken.decimal(fields[1], as: UInt64.self) else {
            throw .malformed(reason: "line \(line): t= needs <start> <stop> as numbers")
        }
        self.init(start: start, stop: stop)
    }

    var text: String { "\(start) \(stop)" }
}
