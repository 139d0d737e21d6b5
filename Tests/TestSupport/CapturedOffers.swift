import Foundation

/// Offers exactly as real WHEP viewers produce them: the tests check the parser and answer writer
/// against these, not against hand-made samples. Each line ends with \r\n as on the wire.
public enum CapturedOffers {
    /// aiortc 1.16.0 (Python): RTCPeerConnection() with addTransceiver("video", direction="recvonly") and
    /// addTransceiver("audio", direction="recvonly"), then createOffer(), setLocalDescription(), and
    /// localDescription.sdp printed (aiortc gathers candidates inside setLocalDescription).
    public static let aiortc = """
v=0\r
o=- 4005116285 4005116285 IN IP4 0.0.0.0\r
s=-\r
t=0 0\r
a=group:BUNDLE 0 1\r
a=msid-semantic:WMS *\r
m=video 38184 UDP/TLS/RTP/SAVPF 97 98 99 100 101 102\r
c=IN IP4 192.0.2.2\r
a=recvonly\r
a=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid\r
a=extmap:3 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time\r
a=mid:0\r
a=msid:bf3a348a-0cbb-4389-bda0-9ac42197bdfe 428256c7-fab3-4582-b432-8773d5315d5f\r
a=rtcp:9 IN IP4 0.0.0.0\r
a=rtcp-mux\r
a=ssrc-group:FID 2242239124 1744174526\r
a=ssrc:2242239124 cname:883f2618-928d-4284-b92a-f9fa0046bc6a\r
a=ssrc:1744174526 cname:883f2618-928d-4284-b92a-f9fa0046bc6a\r
a=rtpmap:97 VP8/90000\r
a=rtcp-fb:97 nack\r
a=rtcp-fb:97 nack pli\r
a=rtcp-fb:97 goog-remb\r
a=rtpmap:98 rtx/90000\r
a=fmtp:98 apt=97\r
a=rtpmap:99 H264/90000\r
a=rtcp-fb:99 nack\r
a=rtcp-fb:99 nack pli\r
a=rtcp-fb:99 goog-remb\r
a=fmtp:99 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f\r
a=rtpmap:100 rtx/90000\r
a=fmtp:100 apt=99\r
a=rtpmap:101 H264/90000\r
a=rtcp-fb:101 nack\r
a=rtcp-fb:101 nack pli\r
a=rtcp-fb:101 goog-remb\r
a=fmtp:101 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r
a=rtpmap:102 rtx/90000\r
a=fmtp:102 apt=101\r
a=candidate:f957a2332b1715da3b0ef8ba684454eb 1 udp 2130706431 192.0.2.2 38184 typ host\r
a=candidate:d0bcf3d9c29a2bc887618212a1623bfa 1 udp 2130706431 fd00::2 35898 typ host\r
a=end-of-candidates\r
a=ice-ufrag:TJsu\r
a=ice-pwd:RWj8Q80vg7cIW7ypO4nB0b\r
a=fingerprint:sha-256 E1:C6:1F:EF:FB:5B:28:FD:CC:FB:A1:CF:90:25:78:B7:E4:55:F4:79:83:94:C2:F7:D3:85:6D:65:44:6E:82:87\r
a=fingerprint:sha-384 50:A1:A2:89:EC:29:08:25:50:A8:C1:4A:89:89:7C:C8:78:81:B5:20:76:B2:FD:91:61:2A:E6:91:51:63:58:8E:A6:CB:14:4A:51:4D:A1:FB:16:23:F4:93:55:51:98:C5\r
a=fingerprint:sha-512 6E:19:56:A8:A1:41:FB:8F:05:C7:8D:65:2D:20:58:5F:1F:AE:76:73:1C:10:E3:83:BE:62:22:F9:62:FC:9B:6C:98:8E:3C:48:25:E6:6B:47:9C:98:16:FB:56:EE:A4:44:7A:7B:ED:BC:3D:7E:75:AA:68:63:D4:F7:2F:A4:0C:78\r
a=setup:actpass\r
m=audio 35124 UDP/TLS/RTP/SAVPF 96 9 0 8\r
c=IN IP4 192.0.2.2\r
a=recvonly\r
a=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid\r
a=extmap:2 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r
a=mid:1\r
a=msid:bf3a348a-0cbb-4389-bda0-9ac42197bdfe 9bc0dc61-8f29-4930-8b7b-2f8758399af8\r
a=rtcp:9 IN IP4 0.0.0.0\r
a=rtcp-mux\r
a=ssrc:122622225 cname:883f2618-928d-4284-b92a-f9fa0046bc6a\r
a=rtpmap:96 opus/48000/2\r
a=rtpmap:9 G722/8000\r
a=rtpmap:0 PCMU/8000\r
a=rtpmap:8 PCMA/8000\r
a=candidate:f957a2332b1715da3b0ef8ba684454eb 1 udp 2130706431 192.0.2.2 35124 typ host\r
a=candidate:d0bcf3d9c29a2bc887618212a1623bfa 1 udp 2130706431 fd00::2 50784 typ host\r
a=end-of-candidates\r
a=ice-ufrag:TJsu\r
a=ice-pwd:RWj8Q80vg7cIW7ypO4nB0b\r
a=fingerprint:sha-256 E1:C6:1F:EF:FB:5B:28:FD:CC:FB:A1:CF:90:25:78:B7:E4:55:F4:79:83:94:C2:F7:D3:85:6D:65:44:6E:82:87\r
a=fingerprint:sha-384 50:A1:A2:89:EC:29:08:25:50:A8:C1:4A:89:89:7C:C8:78:81:B5:20:76:B2:FD:91:61:2A:E6:91:51:63:58:8E:A6:CB:14:4A:51:4D:A1:FB:16:23:F4:93:55:51:98:C5\r
a=fingerprint:sha-512 6E:19:56:A8:A1:41:FB:8F:05:C7:8D:65:2D:20:58:5F:1F:AE:76:73:1C:10:E3:83:BE:62:22:F9:62:FC:9B:6C:98:8E:3C:48:25:E6:6B:47:9C:98:16:FB:56:EE:A4:44:7A:7B:ED:BC:3D:7E:75:AA:68:63:D4:F7:2F:A4:0C:78\r
a=setup:actpass\r

"""

    /// Chromium 156 (HeadlessChrome/156.0.0.0), headless under Selenium on a data: URL page: new RTCPeerConnection(),
    /// addTransceiver("video", {direction: "recvonly"}), addTransceiver("audio", {direction: "recvonly"}),
    /// createOffer(), setLocalDescription(), and localDescription.sdp read once iceGatheringState was "complete".
    public static let chromium = """
v=0\r
o=- 8645675632573425660 2 IN IP4 127.0.0.1\r
s=-\r
t=0 0\r
a=group:BUNDLE 0 1\r
a=extmap-allow-mixed\r
a=msid-semantic: WMS\r
m=video 9 UDP/TLS/RTP/SAVPF 96 97 98 99 100 101 35 36 37 38 102 103 104 107 108 109 114 115 116 117 39 40 41 42 43 44 45 46 47 48 118 119 120 49\r
c=IN IP4 0.0.0.0\r
a=rtcp:9 IN IP4 0.0.0.0\r
a=candidate:2811997793 1 udp 2113937151 3d283734-4339-4e84-8ef8-27bf29afd1de.local 35852 typ host generation 0 network-cost 999\r
a=candidate:1828548481 1 udp 2113942271 d7bb4b48-9c9a-4bf4-9551-825fe511a09d.local 60182 typ host generation 0 network-cost 999\r
a=ice-ufrag:nSTq\r
a=ice-pwd:koPIXaqvuGB41keybe2knOhE\r
a=ice-options:trickle\r
a=fingerprint:sha-256 D2:E8:F6:E9:29:74:6E:9D:35:E5:2A:DB:C6:7C:20:CF:73:A6:BD:D9:78:5B:2F:76:09:8E:AF:D0:53:B4:1E:1C\r
a=setup:actpass\r
a=mid:0\r
a=extmap:1 urn:ietf:params:rtp-hdrext:toffset\r
a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time\r
a=extmap:3 urn:3gpp:video-orientation\r
a=extmap:4 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01\r
a=extmap:5 http://www.webrtc.org/experiments/rtp-hdrext/playout-delay\r
a=extmap:6 http://www.webrtc.org/experiments/rtp-hdrext/video-content-type\r
a=extmap:7 http://www.webrtc.org/experiments/rtp-hdrext/video-timing\r
a=extmap:8 http://www.webrtc.org/experiments/rtp-hdrext/color-space\r
a=extmap:9 urn:ietf:params:rtp-hdrext:sdes:mid\r
a=extmap:10 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id\r
a=extmap:11 urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id\r
a=recvonly\r
a=rtcp-mux\r
a=rtcp-rsize\r
a=rtcp-xr:rcvr-rtt=all\r
a=rtpmap:96 VP8/90000\r
a=rtcp-fb:96 goog-remb\r
a=rtcp-fb:96 transport-cc\r
a=rtcp-fb:96 ccm fir\r
a=rtcp-fb:96 nack\r
a=rtcp-fb:96 nack pli\r
a=rtpmap:97 rtx/90000\r
a=fmtp:97 apt=96\r
a=rtpmap:98 VP9/90000\r
a=rtcp-fb:98 goog-remb\r
a=rtcp-fb:98 transport-cc\r
a=rtcp-fb:98 ccm fir\r
a=rtcp-fb:98 nack\r
a=rtcp-fb:98 nack pli\r
a=fmtp:98 profile-id=0\r
a=rtpmap:99 rtx/90000\r
a=fmtp:99 apt=98\r
a=rtpmap:100 VP9/90000\r
a=rtcp-fb:100 goog-remb\r
a=rtcp-fb:100 transport-cc\r
a=rtcp-fb:100 ccm fir\r
a=rtcp-fb:100 nack\r
a=rtcp-fb:100 nack pli\r
a=fmtp:100 profile-id=2\r
a=rtpmap:101 rtx/90000\r
a=fmtp:101 apt=100\r
a=rtpmap:35 VP9/90000\r
a=rtcp-fb:35 goog-remb\r
a=rtcp-fb:35 transport-cc\r
a=rtcp-fb:35 ccm fir\r
a=rtcp-fb:35 nack\r
a=rtcp-fb:35 nack pli\r
a=fmtp:35 profile-id=1\r
a=rtpmap:36 rtx/90000\r
a=fmtp:36 apt=35\r
a=rtpmap:37 VP9/90000\r
a=rtcp-fb:37 goog-remb\r
a=rtcp-fb:37 transport-cc\r
a=rtcp-fb:37 ccm fir\r
a=rtcp-fb:37 nack\r
a=rtcp-fb:37 nack pli\r
a=fmtp:37 profile-id=3\r
a=rtpmap:38 rtx/90000\r
a=fmtp:38 apt=37\r
a=rtpmap:102 H264/90000\r
a=rtcp-fb:102 goog-remb\r
a=rtcp-fb:102 transport-cc\r
a=rtcp-fb:102 ccm fir\r
a=rtcp-fb:102 nack\r
a=rtcp-fb:102 nack pli\r
a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f\r
a=rtpmap:103 rtx/90000\r
a=fmtp:103 apt=102\r
a=rtpmap:104 H264/90000\r
a=rtcp-fb:104 goog-remb\r
a=rtcp-fb:104 transport-cc\r
a=rtcp-fb:104 ccm fir\r
a=rtcp-fb:104 nack\r
a=rtcp-fb:104 nack pli\r
a=fmtp:104 level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42001f\r
a=rtpmap:107 rtx/90000\r
a=fmtp:107 apt=104\r
a=rtpmap:108 H264/90000\r
a=rtcp-fb:108 goog-remb\r
a=rtcp-fb:108 transport-cc\r
a=rtcp-fb:108 ccm fir\r
a=rtcp-fb:108 nack\r
a=rtcp-fb:108 nack pli\r
a=fmtp:108 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r
a=rtpmap:109 rtx/90000\r
a=fmtp:109 apt=108\r
a=rtpmap:114 H264/90000\r
a=rtcp-fb:114 goog-remb\r
a=rtcp-fb:114 transport-cc\r
a=rtcp-fb:114 ccm fir\r
a=rtcp-fb:114 nack\r
a=rtcp-fb:114 nack pli\r
a=fmtp:114 level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42e01f\r
a=rtpmap:115 rtx/90000\r
a=fmtp:115 apt=114\r
a=rtpmap:116 H264/90000\r
a=rtcp-fb:116 goog-remb\r
a=rtcp-fb:116 transport-cc\r
a=rtcp-fb:116 ccm fir\r
a=rtcp-fb:116 nack\r
a=rtcp-fb:116 nack pli\r
a=fmtp:116 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=4d001f\r
a=rtpmap:117 rtx/90000\r
a=fmtp:117 apt=116\r
a=rtpmap:39 H264/90000\r
a=rtcp-fb:39 goog-remb\r
a=rtcp-fb:39 transport-cc\r
a=rtcp-fb:39 ccm fir\r
a=rtcp-fb:39 nack\r
a=rtcp-fb:39 nack pli\r
a=fmtp:39 level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=4d001f\r
a=rtpmap:40 rtx/90000\r
a=fmtp:40 apt=39\r
a=rtpmap:41 H264/90000\r
a=rtcp-fb:41 goog-remb\r
a=rtcp-fb:41 transport-cc\r
a=rtcp-fb:41 ccm fir\r
a=rtcp-fb:41 nack\r
a=rtcp-fb:41 nack pli\r
a=fmtp:41 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=f4001f\r
a=rtpmap:42 rtx/90000\r
a=fmtp:42 apt=41\r
a=rtpmap:43 H264/90000\r
a=rtcp-fb:43 goog-remb\r
a=rtcp-fb:43 transport-cc\r
a=rtcp-fb:43 ccm fir\r
a=rtcp-fb:43 nack\r
a=rtcp-fb:43 nack pli\r
a=fmtp:43 level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=f4001f\r
a=rtpmap:44 rtx/90000\r
a=fmtp:44 apt=43\r
a=rtpmap:45 AV1/90000\r
a=rtcp-fb:45 goog-remb\r
a=rtcp-fb:45 transport-cc\r
a=rtcp-fb:45 ccm fir\r
a=rtcp-fb:45 nack\r
a=rtcp-fb:45 nack pli\r
a=fmtp:45 level-idx=5;profile=0;tier=0\r
a=rtpmap:46 rtx/90000\r
a=fmtp:46 apt=45\r
a=rtpmap:47 AV1/90000\r
a=rtcp-fb:47 goog-remb\r
a=rtcp-fb:47 transport-cc\r
a=rtcp-fb:47 ccm fir\r
a=rtcp-fb:47 nack\r
a=rtcp-fb:47 nack pli\r
a=fmtp:47 level-idx=5;profile=1;tier=0\r
a=rtpmap:48 rtx/90000\r
a=fmtp:48 apt=47\r
a=rtpmap:118 red/90000\r
a=rtpmap:119 rtx/90000\r
a=fmtp:119 apt=118\r
a=rtpmap:120 ulpfec/90000\r
a=rtpmap:49 flexfec-03/90000\r
a=rtcp-fb:49 goog-remb\r
a=rtcp-fb:49 transport-cc\r
a=fmtp:49 repair-window=10000000\r
m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126\r
c=IN IP4 0.0.0.0\r
a=rtcp:9 IN IP4 0.0.0.0\r
a=candidate:2811997793 1 udp 2113937151 3d283734-4339-4e84-8ef8-27bf29afd1de.local 54507 typ host generation 0 network-cost 999\r
a=candidate:1828548481 1 udp 2113942271 d7bb4b48-9c9a-4bf4-9551-825fe511a09d.local 52921 typ host generation 0 network-cost 999\r
a=ice-ufrag:nSTq\r
a=ice-pwd:koPIXaqvuGB41keybe2knOhE\r
a=ice-options:trickle\r
a=fingerprint:sha-256 D2:E8:F6:E9:29:74:6E:9D:35:E5:2A:DB:C6:7C:20:CF:73:A6:BD:D9:78:5B:2F:76:09:8E:AF:D0:53:B4:1E:1C\r
a=setup:actpass\r
a=mid:1\r
a=extmap:14 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r
a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time\r
a=extmap:4 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01\r
a=extmap:9 urn:ietf:params:rtp-hdrext:sdes:mid\r
a=recvonly\r
a=rtcp-mux\r
a=rtcp-rsize\r
a=rtcp-xr:rcvr-rtt=all\r
a=rtpmap:111 opus/48000/2\r
a=rtcp-fb:111 transport-cc\r
a=fmtp:111 minptime=10;useinbandfec=1\r
a=rtpmap:63 red/48000/2\r
a=fmtp:63 111/111\r
a=rtpmap:9 G722/8000\r
a=rtpmap:0 PCMU/8000\r
a=rtpmap:8 PCMA/8000\r
a=rtpmap:13 CN/8000\r
a=rtpmap:110 telephone-event/48000\r
a=rtpmap:126 telephone-event/8000\r

"""

    /// Firefox ESR 153.8 (Debian firefox-esr, headless): RTCPeerConnection() with addTransceiver("video") and
    /// addTransceiver("audio"), both recvonly, then createOffer(), setLocalDescription() and localDescription.sdp
    /// after ICE gathering, as `tools/interop/whep_firefox.py --offer-only` prints it. Fingerprint and BUNDLE at session
    /// level, ICE credentials, setup:actpass and candidates (UDP and TCP, IPv4 and IPv6, RTP and RTCP components) per
    /// section, extmap with direction suffixes (`6/recvonly`), VP8 as 120 with RTX 124, Opus as 109.
    public static let firefox = """
v=0\r
o=mozilla...THIS_IS_SDPARTA-99.0 3010434846576891452 0 IN IP4 0.0.0.0\r
s=-\r
t=0 0\r
a=sendrecv\r
a=fingerprint:sha-256 C7:65:1C:E9:80:26:90:E3:A8:F6:AF:8E:FE:6B:0E:BA:C4:AF:E1:C9:8D:60:65:B0:58:31:D0:08:D1:B9:2A:B1\r
a=group:BUNDLE 0 1\r
a=ice-options:trickle\r
a=msid-semantic:WMS *\r
m=video 38406 UDP/TLS/RTP/SAVPF 120 124 121 125 99 100 123 122 119\r
c=IN IP4 192.0.2.2\r
a=candidate:0 1 UDP 2122187007 192.0.2.2 38406 typ host\r
a=candidate:1 1 UDP 2122252543 fd00::2 48840 typ host\r
a=candidate:2 1 TCP 2105458943 192.0.2.2 9 typ host tcptype active\r
a=candidate:3 1 TCP 2105524479 fd00::2 9 typ host tcptype active\r
a=candidate:0 2 UDP 2122187006 192.0.2.2 51005 typ host\r
a=candidate:1 2 UDP 2122252542 fd00::2 45140 typ host\r
a=candidate:2 2 TCP 2105458942 192.0.2.2 9 typ host tcptype active\r
a=candidate:3 2 TCP 2105524478 fd00::2 9 typ host tcptype active\r
a=recvonly\r
a=end-of-candidates\r
a=extmap:3 urn:ietf:params:rtp-hdrext:sdes:mid\r
a=extmap:4 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time\r
a=extmap:5 urn:ietf:params:rtp-hdrext:toffset\r
a=extmap:6/recvonly http://www.webrtc.org/experiments/rtp-hdrext/playout-delay\r
a=extmap:7 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01\r
a=extmap-allow-mixed\r
a=fmtp:120 max-fs=12288;max-fr=60\r
a=fmtp:124 apt=120\r
a=fmtp:121 max-fs=12288;max-fr=60\r
a=fmtp:125 apt=121\r
a=fmtp:100 apt=99\r
a=fmtp:119 apt=122\r
a=ice-pwd:de013c0dfaec138e8032e84d7719d375\r
a=ice-ufrag:4ea45e81\r
a=mid:0\r
a=rtcp:51005 IN IP4 192.0.2.2\r
a=rtcp-fb:120 nack\r
a=rtcp-fb:120 nack pli\r
a=rtcp-fb:120 ccm fir\r
a=rtcp-fb:120 goog-remb\r
a=rtcp-fb:120 transport-cc\r
a=rtcp-fb:121 nack\r
a=rtcp-fb:121 nack pli\r
a=rtcp-fb:121 ccm fir\r
a=rtcp-fb:121 goog-remb\r
a=rtcp-fb:121 transport-cc\r
a=rtcp-fb:99 nack\r
a=rtcp-fb:99 nack pli\r
a=rtcp-fb:99 ccm fir\r
a=rtcp-fb:99 goog-remb\r
a=rtcp-fb:99 transport-cc\r
a=rtcp-fb:123 nack\r
a=rtcp-fb:123 nack pli\r
a=rtcp-fb:123 ccm fir\r
a=rtcp-fb:123 goog-remb\r
a=rtcp-fb:123 transport-cc\r
a=rtcp-fb:122 nack\r
a=rtcp-fb:122 nack pli\r
a=rtcp-fb:122 ccm fir\r
a=rtcp-fb:122 goog-remb\r
a=rtcp-fb:122 transport-cc\r
a=rtcp-mux\r
a=rtcp-rsize\r
a=rtpmap:120 VP8/90000\r
a=rtpmap:124 rtx/90000\r
a=rtpmap:121 VP9/90000\r
a=rtpmap:125 rtx/90000\r
a=rtpmap:99 AV1/90000\r
a=rtpmap:100 rtx/90000\r
a=rtpmap:123 ulpfec/90000\r
a=rtpmap:122 red/90000\r
a=rtpmap:119 rtx/90000\r
a=setup:actpass\r
a=ssrc:3724354551 cname:{832de143-f498-4bb6-a113-a8c4bbc787dc}\r
m=audio 35543 UDP/TLS/RTP/SAVPF 109 9 0 8 101\r
c=IN IP4 192.0.2.2\r
a=candidate:0 1 UDP 2122187007 192.0.2.2 35543 typ host\r
a=candidate:1 1 UDP 2122252543 fd00::2 49486 typ host\r
a=candidate:2 1 TCP 2105458943 192.0.2.2 9 typ host tcptype active\r
a=candidate:3 1 TCP 2105524479 fd00::2 9 typ host tcptype active\r
a=candidate:0 2 UDP 2122187006 192.0.2.2 57985 typ host\r
a=candidate:1 2 UDP 2122252542 fd00::2 50197 typ host\r
a=candidate:2 2 TCP 2105458942 192.0.2.2 9 typ host tcptype active\r
a=candidate:3 2 TCP 2105524478 fd00::2 9 typ host tcptype active\r
a=recvonly\r
a=end-of-candidates\r
a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r
a=extmap:2/recvonly urn:ietf:params:rtp-hdrext:csrc-audio-level\r
a=extmap:3 urn:ietf:params:rtp-hdrext:sdes:mid\r
a=extmap:7 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01\r
a=extmap-allow-mixed\r
a=fmtp:109 maxplaybackrate=48000;stereo=1;useinbandfec=1\r
a=fmtp:101 0-15\r
a=ice-pwd:de013c0dfaec138e8032e84d7719d375\r
a=ice-ufrag:4ea45e81\r
a=mid:1\r
a=rtcp:57985 IN IP4 192.0.2.2\r
a=rtcp-fb:109 transport-cc\r
a=rtcp-fb:9 transport-cc\r
a=rtcp-fb:0 transport-cc\r
a=rtcp-fb:8 transport-cc\r
a=rtcp-mux\r
a=rtpmap:109 opus/48000/2\r
a=rtpmap:9 G722/8000/1\r
a=rtpmap:0 PCMU/8000\r
a=rtpmap:8 PCMA/8000\r
a=rtpmap:101 telephone-event/8000\r
a=setup:actpass\r
a=ssrc:3780990662 cname:{832de143-f498-4bb6-a113-a8c4bbc787dc}\r

"""

    /// The Chromium offer with every video codec made H.264 and Opus made G.711: well formed, nothing LiveRelay sends.
    public static let chromiumH264Only = chromium
        .replacingOccurrences(of: "VP8/90000", with: "H264/90000")
        .replacingOccurrences(of: "VP9/90000", with: "H264/90000")
        .replacingOccurrences(of: "AV1/90000", with: "H264/90000")
        .replacingOccurrences(of: "opus/48000/2", with: "PCMU/8000")
}
