/// What a datagram on the shared media port is, by its first byte (RFC 7983 §7).
enum DatagramClass {
    case stun
    case dtls
    case rtpOrRTCP
    case unknown

    init(firstByte: UInt8) {
        switch firstByte {
        case 0...3: self = .stun
        case 20...63: self = .dtls
        case 128...191: self = .rtpOrRTCP
        default: self = .unknown
        }
    }
}
