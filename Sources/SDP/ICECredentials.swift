/// ICE username fragment and password rules (RFC 8839 §5.4): the STUN checks are keyed on them,
/// so a value outside the grammar is refused rather than passed on.
enum ICECredentials {
    static let ufragLengths = 4...256
    static let pwdLengths = 22...256

    /// ice-char = ALPHA / DIGIT / "+" / "/"
    static func isICEChar(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A, UInt8(ascii: "+"), UInt8(ascii: "/"): true
        default: false
        }
    }

    static func validateUfrag(_ ufrag: String) throws(SDPError) {
        guard ufragLengths.contains(ufrag.utf8.count), ufrag.utf8.allSatisfy(isICEChar) else {
            throw .malformed(reason: "ice-ufrag must be 4 to 256 ice-chars (letters, digits, + or /)")
        }
    }

    static func validatePwd(_ pwd: String) throws(SDPError) {
        guard pwdLengths.contains(pwd.utf8.count), pwd.utf8.allSatisfy(isICEChar) else {
            throw .malformed(reason: "ice-pwd must be 22 to 256 ice-chars (letters, digits, + or /)")
        }
    }
}
