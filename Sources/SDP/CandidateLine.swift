/// Shape check for `a=candidate` values (RFC 8839 §5.1). ICE-lite never dials the viewer's candidates
/// (it learns its address from the STUN checks), so they are only checked and passed on, not interpreted.
enum CandidateLine {
    static func validate(_ value: String) throws(SDPError) {
        let fields = SDPToken.fields(value)
        guard fields.count >= 8,
              (1...32).contains(fields[0].utf8.count), fields[0].utf8.allSatisfy(ICECredentials.isICEChar),
              fields[1].utf8.count <= 3, SDPToken.decimal(fields[1], as: UInt8.self) != nil,
              SDPToken.isToken(fields[2]),
              SDPToken.decimal(fields[3], as: UInt32.self) != nil,
              SDPToken.isVisibleField(fields[4]),
              SDPToken.decimal(fields[5], as: UInt16.self) != nil,
              fields[6] == "typ", SDPToken.isToken(fields[7]) else {
            throw .malformed(reason: "candidate \"\(value.prefix(80))\" is not <foundation> <component> <transport> <priority> <address> <port> typ <type>")
        }
    }
}
