/// Writes LiveRelay's answer to a WHEP offer: ICE-lite, DTLS passive, one VP8 track (with RTX when offered)
/// and one Opus track, all bundled on one transport.
public enum WHEPAnswer {
    static let proto = "UDP/TLS/RTP/SAVPF"
    static let placeholderConnection = ConnectionData(networkType: "IN", addressType: "IP4", address: "0.0.0.0")
    /// The extensions the RTP sender writes. One-byte header form (RFC 8285 §4.2) only carries ids 1-14,
    /// so an offered id above that is left out rather than renumbered: the answer may never invent ids.
    static let supportedExtensions = [HeaderExtension.midURI, HeaderExtension.absSendTimeURI, HeaderExtension.transportCCURI]
    static let oneByteExtensionIDs: ClosedRange<UInt8> = 1...14
    static let maxCandidates = 64

    public static func make(offer: WHEPOffer, parameters: AnswerParameters) throws(SDPError) -> (sdp: String, session: NegotiatedSession) {
        let localFingerprint = try parameters.validated()
        guard parameters.candidates.count <= maxCandidates else {
            throw .malformed(reason: "answer parameters: more than \(maxCandidates) candidates")
        }
        let selection = try select(from: offer)

        var acceptedMids: [String] = []
        var sections: [MediaDescription] = []
        var video: NegotiatedMedia?
        var audio: NegotiatedMedia?
        let transport = TransportLines(parameters: parameters, fingerprint: localFingerprint)
        for offered in offer.media {
            if let choice = selection.video, choice.media.index == offered.index {
                let (section, negotiated) = videoSection(choice, transport: transport, parameters: parameters)
                sections.append(section)
                video = negotiated
                acceptedMids.append(negotiated.mid)
            } else if let choice = selection.audio, choice.media.index == offered.index {
                let (section, negotiated) = audioSection(choice, transport: transport, parameters: parameters)
                sections.append(section)
                audio = negotiated
                acceptedMids.append(negotiated.mid)
            } else {
                sections.append(rejectedSection(offered))
            }
        }

        var sessionAttributes = [SDPAttribute("ice-lite")]
        if offer.bundle != nil {
            sessionAttributes.append(SDPAttribute("group", (["BUNDLE"] + acceptedMids).joined(separator: " ")))
        }
        sessionAttributes.append(SDPAttribute("msid-semantic", " WMS \(parameters.streamID)"))
        let answer = SessionDescription(origin: Origin(sessionID: parameters.sessionID, sessionVersion: 2),
                                        attributes: sessionAttributes, media: sections)
        let session = NegotiatedSession(bundleMids: acceptedMids, video: video, audio: audio,
                                        remoteFingerprint: offer.fingerprint, remoteUfrag: offer.iceUfrag,
                                        remotePwd: offer.icePwd, remoteCandidates: offer.candidates)
        return (answer.serialized(), session)
    }

    // MARK: Choosing sections

    struct VideoChoice {
        var media: OfferedMedia
        var vp8: OfferedPayloadType
        var rtx: OfferedPayloadType?
    }

    struct AudioChoice {
        var media: OfferedMedia
        var opus: OfferedPayloadType
    }

    /// The first video section offering VP8 and the first audio section offering Opus stereo; every other
    /// section (a second video, a data channel) is rejected, since LiveRelay sends one track of each.
    static func select(from offer: WHEPOffer) throws(SDPError) -> (video: VideoChoice?, audio: AudioChoice?) {
        let live = offer.media.filter { !$0.isRejected && ($0.kind == .video || $0.kind == .audio) }
        guard !live.isEmpty else {
            throw .unsupported(reason: "offer has no video or audio m-line")
        }
        var video: VideoChoice?
        var audio: AudioChoice?
        var codecOffered = false
        for media in live {
            switch media.kind {
            case .video:
                guard let vp8 = media.payloadTypes.first(where: { $0.isCodec("VP8", clockRate: 90000) }) else { continue }
                codecOffered = true
                guard video == nil, canCarry(media, in: offer) else { continue }
                let rtx = media.payloadTypes.first {
                    $0.isCodec("rtx", clockRate: 90000) && $0.formatParameter("apt") == String(vp8.number)
                }
                video = VideoChoice(media: media, vp8: vp8, rtx: rtx)
            case .audio:
                guard let opus = media.payloadTypes.first(where: { $0.isCodec("opus", clockRate: 48000, channels: 2) }) else { continue }
                codecOffered = true
                guard audio == nil, canCarry(media, in: offer) else { continue }
                audio = AudioChoice(media: media, opus: opus)
            default:
                continue
            }
        }
        guard codecOffered else {
            throw .unsupported(reason: "no VP8 or Opus in the offer")
        }
        guard video != nil || audio != nil else {
            throw .unsupported(reason: "no VP8 or Opus m-line uses UDP/TLS/RTP/SAVPF with rtcp-mux, a mid and BUNDLE")
        }
        // Without BUNDLE each section would need its own ICE and DTLS transport; LiveRelay runs one per viewer.
        if offer.bundle == nil, let videoIndex = video?.media.index, let audioIndex = audio?.media.index {
            if videoIndex < audioIndex { audio = nil } else { video = nil }
        }
        return (video, audio)
    }

    /// RTP and RTCP share the one bundled DTLS-SRTP transport, which needs rtcp-mux, a mid and a place in the group.
    static func canCarry(_ media: OfferedMedia, in offer: WHEPOffer) -> Bool {
        guard media.proto.uppercased() == proto, media.rtcpMux, let mid = media.mid else { return false }
        return offer.bundle?.contains(mid) ?? true
    }

    // MARK: Writing sections

    /// The ICE and DTLS lines every accepted section repeats, so each reads correctly on its own
    /// whether or not the viewer honours BUNDLE.
    struct TransportLines {
        var attributes: [SDPAttribute]

        init(parameters: AnswerParameters, fingerprint: String) {
            attributes = [SDPAttribute("rtcp", "9 IN IP4 0.0.0.0")]
            // Host candidates: type preference 126, local preference falling with list position (RFC 8445 §5.1.2.1).
            for (position, candidate) in parameters.candidates.enumerated() {
                let priority = (UInt32(126) << 24) | (UInt32(65535 - position) << 8) | 255
                attributes.append(SDPAttribute("candidate",
                                               "\(position + 1) 1 udp \(priority) \(candidate.host) \(candidate.port) typ host"))
            }
            attributes.append(SDPAttribute("end-of-candidates"))
            attributes += [SDPAttribute("ice-ufrag", parameters.iceUfrag), SDPAttribute("ice-pwd", parameters.icePwd),
                           SDPAttribute("fingerprint", "sha-256 \(fingerprint)"), SDPAttribute("setup", "passive")]
        }
    }

    static func direction(answering media: OfferedMedia) -> MediaDirection {
        media.direction.receives ? .sendonly : .inactive
    }

    /// The offered extensions we write, with the offer's ids; those the viewer only sends are useless to a sender.
    static func extensions(_ media: OfferedMedia) -> ([SDPAttribute], HeaderExtensionIDs) {
        var attributes: [SDPAttribute] = []
        var ids = HeaderExtensionIDs()
        for offered in media.extensions where supportedExtensions.contains(offered.uri) {
            guard oneByteExtensionIDs.contains(offered.id), offered.direction?.receives ?? true else { continue }
            // An offered recvonly extension must be answered sendonly (RFC 8285 §7); unsuffixed means sendrecv.
            let suffix = offered.direction == .recvonly ? "/sendonly" : ""
            attributes.append(SDPAttribute("extmap", "\(offered.id)\(suffix) \(offered.uri)"))
            switch offered.uri {
            case HeaderExtension.midURI: ids.mid = offered.id
            case HeaderExtension.absSendTimeURI: ids.absSendTime = offered.id
            default: ids.transportCC = offered.id
            }
        }
        return (attributes, ids)
    }

    static func videoSection(_ choice: VideoChoice, transport: TransportLines,
                             parameters: AnswerParameters) -> (MediaDescription, NegotiatedMedia) {
        let media = choice.media
        let mid = media.mid ?? ""
        let pt = choice.vp8.number
        let direction = direction(answering: media)
        let (extmaps, extensionIDs) = extensions(media)
        // Generic NACK only with RTX: a lost packet resent under its own sequence number but a new header (send time,
        // transport-wide number) would be sealed twice under one SRTP nonce with different bytes, which for AES-GCM
        // gives away the authentication key. Without RTX a viewer repairs loss with PLI.
        let feedback = RTCPFeedback.allCases.filter { choice.vp8.offersFeedback($0.sdpValue) && ($0 != .nack || choice.rtx != nil) }

        var attributes = transport.attributes + [SDPAttribute("mid", mid)] + extmaps
        attributes.append(SDPAttribute(direction.rawValue))
        if direction == .sendonly { attributes.append(SDPAttribute("msid", "\(parameters.streamID) video")) }
        attributes.append(SDPAttribute("rtcp-mux"))
        if media.rtcpReducedSize { attributes.append(SDPAttribute("rtcp-rsize")) }
        attributes.append(SDPAttribute("rtpmap", "\(pt) VP8/90000"))
        attributes += feedback.map { SDPAttribute("rtcp-fb", "\(pt) \($0.sdpValue)") }
        var formats = [String(pt)]
        if let rtx = choice.rtx {
            formats.append(String(rtx.number))
            attributes.append(SDPAttribute("rtpmap", "\(rtx.number) rtx/90000"))
            attributes.append(SDPAttribute("fmtp", "\(rtx.number) apt=\(pt)"))
        }
        if direction == .sendonly {
            var ssrcs = [parameters.videoSSRC]
            if choice.rtx != nil {
                ssrcs.append(parameters.videoRTXSSRC)
                attributes.append(SDPAttribute("ssrc-group", "FID \(parameters.videoSSRC) \(parameters.videoRTXSSRC)"))
            }
            attributes += ssrcAttributes(ssrcs, track: "video", parameters: parameters)
        }
        let section = MediaDescription(media: media.mediaToken, port: 9, proto: proto, formats: formats,
                                       connections: [placeholderConnection], attributes: attributes)
        let negotiated = NegotiatedMedia(mid: mid, payloadType: pt, rtxPayloadType: choice.rtx?.number,
                                         feedback: Set(feedback), extensionIDs: extensionIDs, direction: direction,
                                         rtcpReducedSize: media.rtcpReducedSize)
        return (section, negotiated)
    }

    static func audioSection(_ choice: AudioChoice, transport: TransportLines,
                             parameters: AnswerParameters) -> (MediaDescription, NegotiatedMedia) {
        let media = choice.media
        let mid = media.mid ?? ""
        let pt = choice.opus.number
        let direction = direction(answering: media)
        let (extmaps, extensionIDs) = extensions(media)
        let feedback = [RTCPFeedback.transportCC].filter { choice.opus.offersFeedback($0.sdpValue) }

        var attributes = transport.attributes + [SDPAttribute("mid", mid)] + extmaps
        attributes.append(SDPAttribute(direction.rawValue))
        if direction == .sendonly { attributes.append(SDPAttribute("msid", "\(parameters.streamID) audio")) }
        attributes.append(SDPAttribute("rtcp-mux"))
        if media.rtcpReducedSize { attributes.append(SDPAttribute("rtcp-rsize")) }
        attributes.append(SDPAttribute("rtpmap", "\(pt) opus/48000/2"))
        attributes += feedback.map { SDPAttribute("rtcp-fb", "\(pt) \($0.sdpValue)") }
        attributes.append(SDPAttribute("fmtp", "\(pt) minptime=10;useinbandfec=1"))
        if direction == .sendonly {
            attributes += ssrcAttributes([parameters.audioSSRC], track: "audio", parameters: parameters)
        }
        let section = MediaDescription(media: media.mediaToken, port: 9, proto: proto, formats: [String(pt)],
                                       connections: [placeholderConnection], attributes: attributes)
        let negotiated = NegotiatedMedia(mid: mid, payloadType: pt, feedback: Set(feedback), extensionIDs: extensionIDs,
                                         direction: direction, rtcpReducedSize: media.rtcpReducedSize)
        return (section, negotiated)
    }

    static func ssrcAttributes(_ ssrcs: [UInt32], track: String, parameters: AnswerParameters) -> [SDPAttribute] {
        ssrcs.flatMap { ssrc in
            [SDPAttribute("ssrc", "\(ssrc) cname:\(parameters.cname)"),
             SDPAttribute("ssrc", "\(ssrc) msid:\(parameters.streamID) \(track)")]
        }
    }

    /// JSEP §5.3.1: a section we do not take is still answered, at its position, with port 0.
    static func rejectedSection(_ media: OfferedMedia) -> MediaDescription {
        var attributes: [SDPAttribute] = []
        if let mid = media.mid { attributes.append(SDPAttribute("mid", mid)) }
        attributes.append(SDPAttribute("inactive"))
        return MediaDescription(media: media.mediaToken, port: 0, proto: media.proto,
                                formats: Array(media.formats.prefix(1)), connections: [placeholderConnection],
                                attributes: attributes)
    }
}
