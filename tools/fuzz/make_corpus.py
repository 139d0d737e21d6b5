#!/usr/bin/env python3
"""Writes the fuzzers' seed corpus (tools/fuzz/corpus/TARGET/) from real traffic and the test suite's captures.

    python3 tools/fuzz/make_corpus.py

Captured on loopback, each with the tool that really produces it:
  RTMP   ffmpeg publishing H.264 + AAC to an ffmpeg RTMP listener, through a proxy that records what the publisher
         sent; the chunk stream after the handshake seeds the chunk-stream fuzzer, the command and data message
         bodies the AMF0 fuzzer, the audio/video tag bodies and their sequence headers the FLV/codec fuzzer.
  RTP    ffmpeg sending VP8 and Opus over RTP (and its RTCP sender reports and SDES) to a UDP socket.
  DTLS   openssl s_client and s_server over DTLS 1.2, through a UDP proxy that records each datagram.
From the tests: the RFC 5769 STUN vectors, the WHEP offers captured from aiortc, Chromium and Firefox, the
transport-cc known answer, and the API's JSON bodies as the integration tests send them.

Each seed stays small (libFuzzer's -max_len follows the largest); the fuzzers' first byte, where one picks a mode,
is written here too.
"""
import os
import pathlib
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tools/fuzz/corpus"
MAX_SEED = 4096


def write(target, name, data, limit=MAX_SEED):
    folder = CORPUS / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(bytes(data[:limit]))


def free_port(kind=socket.SOCK_STREAM):
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# MARK: RTMP

def capture_rtmp_publish():
    """The bytes an ffmpeg publisher sends, relayed to an ffmpeg RTMP listener so the session really reaches publish."""
    server_port, proxy_port = free_port(), free_port()
    listener = subprocess.Popen(["ffmpeg", "-loglevel", "error", "-listen", "1", "-i", f"rtmp://127.0.0.1:{server_port}/live/fuzz",
                                 "-f", "null", "-"], stdin=subprocess.DEVNULL)
    time.sleep(1.0)
    proxy = socket.socket()
    proxy.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    proxy.bind(("127.0.0.1", proxy_port))
    proxy.listen(1)
    sent = bytearray()

    def relay():
        client, _ = proxy.accept()
        upstream = socket.create_connection(("127.0.0.1", server_port))

        def back():
            try:
                while data := upstream.recv(65536):
                    client.sendall(data)
            except OSError:
                pass  # the publisher hung up first
        threading.Thread(target=back, daemon=True).start()
        while data := client.recv(65536):
            sent.extend(data)
            upstream.sendall(data)
        upstream.shutdown(socket.SHUT_WR)

    relay_thread = threading.Thread(target=relay, daemon=True)
    relay_thread.start()
    subprocess.run(["ffmpeg", "-loglevel", "error", "-re", "-f", "lavfi", "-i", "testsrc2=size=160x90:rate=10",
                    "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100", "-t", "1.5",
                    "-c:v", "libx264", "-preset", "ultrafast", "-g", "10", "-c:a", "aac", "-b:a", "32k",
                    "-f", "flv", f"rtmp://127.0.0.1:{proxy_port}/live/fuzz"], check=True, stdin=subprocess.DEVNULL)
    relay_thread.join(timeout=5)
    listener.wait(timeout=10)
    return bytes(sent)


def rtmp_messages(stream):
    """(type, body) of each message in a chunk stream, honouring Set Chunk Size (enough for what ffmpeg sends)."""
    chunk_size, offset, streams, messages = 128, 0, {}, []
    while offset < len(stream):
        first = stream[offset]
        fmt, csid = first >> 6, first & 0x3F
        offset += 1
        if csid == 0:
            csid, offset = 64 + stream[offset], offset + 1
        elif csid == 1:
            csid, offset = 64 + stream[offset] + 256 * stream[offset + 1], offset + 2
        state = streams.setdefault(csid, {"length": 0, "type": 0, "partial": None})
        if fmt <= 1:
            timestamp = int.from_bytes(stream[offset:offset + 3], "big")
            state["length"] = int.from_bytes(stream[offset + 3:offset + 6], "big")
            state["type"] = stream[offset + 6]
            offset += 11 if fmt == 0 else 7
            state["extended"] = timestamp == 0xFFFFFF
        elif fmt == 2:
            state["extended"] = int.from_bytes(stream[offset:offset + 3], "big") == 0xFFFFFF
            offset += 3
        if state.get("extended"):
            offset += 4
        if state["partial"] is None:
            state["partial"] = bytearray()
        take = min(chunk_size, state["length"] - len(state["partial"]))
        state["partial"].extend(stream[offset:offset + take])
        offset += take
        if len(state["partial"]) == state["length"]:
            body = bytes(state["partial"])
            state["partial"] = None
            if state["type"] == 1:
                chunk_size = int.from_bytes(body[:4], "big")
            messages.append((state["type"], body))
    return messages


def rtmp_seeds():
    sent = capture_rtmp_publish()
    chunks = sent[1 + 1536 + 1536:]  # C0, C1, C2
    # Chunk-stream fuzzer: first byte is the read size minus one.
    write("rtmp-chunk-stream", "publish-reads-256", b"\xff" + chunks, limit=16384)
    write("rtmp-chunk-stream", "publish-start-reads-7", b"\x06" + chunks[:1500])
    write("rtmp-chunk-stream", "publish-start-reads-128", b"\x7f" + chunks)
    messages = rtmp_messages(chunks)
    amf = [body for kind, body in messages if kind in (18, 20)]
    for index, body in enumerate(amf):
        name = re.sub(rb"[^a-zA-Z@]", b"", body[3:3 + int.from_bytes(body[1:3], "big")]).decode() or "value"
        write("amf0", f"{index:02d}-{name}", body)
    video = [body for kind, body in messages if kind == 9]
    audio = [body for kind, body in messages if kind == 8]
    tag = lambda kind, body: bytes([kind]) + len(body).to_bytes(2, "big") + body
    # FLV fuzzer mode 0: sequence headers then a few frames, interleaved as published.
    media = [(kind, body) for kind, body in messages if kind in (8, 9)]
    write("flv-codec-config", "mode0-publish", b"\x00" + b"".join(tag(kind, body[:1024]) for kind, body in media[:12]))
    write("flv-codec-config", "mode0-video-keyframe", b"\x00" + tag(9, video[0]) + tag(9, video[1][:3000]))
    write("flv-codec-config", "mode0-audio", b"\x00" + b"".join(tag(8, body) for body in audio[:6]))
    avc_config = video[0][5:]
    write("flv-codec-config", "mode1-avc-config", b"\x01" + avc_config)
    write("flv-codec-config", "mode2-aac-config", b"\x02" + audio[0][2:])
    sps_length = int.from_bytes(avc_config[6:8], "big")
    write("flv-codec-config", "mode3-sps", b"\x03" + avc_config[8:8 + sps_length])


# MARK: RTP and RTCP

def rtp_seeds():
    rtp_port = free_port(socket.SOCK_DGRAM) & ~1
    sockets = []
    for port in (rtp_port, rtp_port + 1):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", port))
        s.settimeout(0.2)
        sockets.append(s)
    for codec, source in (("libvpx", ["-f", "lavfi", "-i", "testsrc2=size=160x90:rate=10"]),
                          ("libopus", ["-f", "lavfi", "-i", "sine=sample_rate=48000"])):
        for s in sockets:  # what the previous encoder left unread
            s.setblocking(False)
            try:
                while s.recv(2048):
                    pass
            except BlockingIOError:
                pass
            s.settimeout(0.2)
        encoder = subprocess.Popen(["ffmpeg", "-loglevel", "error", "-re", *source, "-t", "6", "-c", codec,
                                    "-f", "rtp", f"rtp://127.0.0.1:{rtp_port}?rtcpport={rtp_port + 1}&pkt_size=1200"],
                                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        rtp, rtcp = [], []
        deadline = time.time() + 8
        while time.time() < deadline and encoder.poll() is None:
            for s, into in zip(sockets, (rtp, rtcp)):
                try:
                    into.append(s.recv(2048))
                except socket.timeout:
                    pass
        encoder.wait()
        for index, packet in enumerate(rtp[:4] + rtp[-2:]):
            write("rtp", f"{codec}-{index}", packet)
        for index, packet in enumerate(rtcp[:2]):
            write("rtcp", f"{codec}-sender-report-{index}", packet)
    for s in sockets:
        s.close()


def swift_byte_arrays(path):
    """`name: [UInt8] = [ 0x.., ... ]` literals in a Swift test file, as (name, bytes) in file order."""
    text = (ROOT / path).read_text()
    arrays = []
    for match in re.finditer(r"let (\w+): \[UInt8\] = \[(.*?)\]", text, re.S):
        body = re.sub(r"//[^\n]*", "", match.group(2))
        arrays.append((match.group(1), bytes(int(token, 0) for token in re.findall(r"0x[0-9a-fA-F]+|0b[01]+|\d+", body.replace("_", "")))))
    return arrays


def rtcp_seeds():
    tests = swift_byte_arrays("Tests/RTPTests/RTCPTests.swift")
    for index, (name, data) in enumerate(tests):
        write("rtcp", f"tests-{index}-{name}", data)
    transport_cc = next(data for _, data in tests if data[:2] == bytes([0xAF, 205]))
    # A viewer's compound packet as browsers send it: receiver report first, then transport-cc feedback.
    receiver_report = bytes([0x81, 201, 0x00, 0x07]) + (0x11223344).to_bytes(4, "big") + bytes(24)
    write("rtcp", "receiver-report-then-transport-cc", receiver_report + transport_cc)


# MARK: STUN, SDP, DTLS, JSON

def stun_seeds():
    for name, data in swift_byte_arrays("Tests/STUNTests/RFC5769Vectors.swift"):
        if len(data) > 20:
            write("stun", f"rfc5769-{name}", data)


def sdp_seeds():
    text = (ROOT / "Tests/TestSupport/CapturedOffers.swift").read_text()
    for match in re.finditer(r'static let (\w+) = """\n(.*?)\n"""', text, re.S):
        offer = match.group(2).replace("\\r", "\r")
        write("sdp", f"offer-{match.group(1)}", b"\x00" + offer.encode()[:MAX_SEED - 1])
    for name, fragment in (("candidates", "a=ice-ufrag:EsAw\r\na=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\n"
                                          "a=mid:0\r\na=candidate:1387637174 1 udp 2122260223 192.0.2.1 61764 typ host generation 0\r\n"
                                          "a=end-of-candidates\r\n"),
                           ("ice-restart", "a=ice-ufrag:Bn7s\r\na=ice-pwd:Qm4nbXOi9JpTQxq3fE4vKaUq\r\n")):
        write("sdp", f"trickle-{name}", b"\x01" + fragment.encode())


def dtls_seeds():
    """Each datagram of a DTLS 1.2 handshake between openssl s_client and s_server, and both flights joined."""
    work = pathlib.Path(tempfile.mkdtemp())
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-subj", "/CN=liverelay", "-keyout", work / "key.pem", "-out", work / "cert.pem", "-days", "1"],
                   check=True, capture_output=True)
    server_port, proxy_port = free_port(socket.SOCK_DGRAM), free_port(socket.SOCK_DGRAM)
    server = subprocess.Popen(["openssl", "s_server", "-dtls1_2", "-accept", str(server_port), "-cert", work / "cert.pem",
                               "-key", work / "key.pem", "-quiet"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    proxy = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    proxy.bind(("127.0.0.1", proxy_port))
    proxy.settimeout(0.3)
    upstream = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    upstream.connect(("127.0.0.1", server_port))
    upstream.settimeout(0.05)
    client = subprocess.Popen(["openssl", "s_client", "-dtls1_2", "-connect", f"127.0.0.1:{proxy_port}", "-quiet"],
                              stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    datagrams, client_address = [], None
    deadline = time.time() + 4
    while time.time() < deadline:
        try:
            data, client_address = proxy.recvfrom(65536)
            datagrams.append(data)
            upstream.send(data)
        except socket.timeout:
            pass
        try:
            while True:
                data = upstream.recv(65536)
                datagrams.append(data)
                if client_address:
                    proxy.sendto(data, client_address)
        except (socket.timeout, BlockingIOError):
            pass
    for process in (client, server):
        process.kill()
        process.wait()
    shutil.rmtree(work)
    # First byte: the MTU in units of 8 above 64 (0x9B → 1304, as the server's MTU; 0x00 → 64, records split up).
    for index, datagram in enumerate(datagrams[:8]):
        write("dtls-record-framing", f"handshake-datagram-{index}", b"\x9b" + datagram)
    write("dtls-record-framing", "handshake-joined-mtu-64", b"\x00" + b"".join(datagrams[:4]))


def json_seeds():
    bodies = [
        (0, b'{"name":"live"}'), (0, b'{"name":"backstage","private":true}'),
        (1, b'{"text":"hello from the chat \\u00e9\\ud83d\\ude00"}'),
        (2, b'{"sub":"viewer-42","reason":"spam"}'), (2, b'{"sub":"viewer-7"}'),
        (3, b'{"type":"clap"}'), (4, b'{"layer":"180p"}'), (4, b'{"layer":null}'),
        (5, b'{"type":"reaction","reaction":"heart"}'), (5, b'{"type":"ping"}'),
        (1, b'{"text":"x","extra":1}'), (3, b'[1,2.5e10,-0,"s",false,null,{}]'),
    ]
    for index, (route, body) in enumerate(bodies):
        write("http-json-bodies", f"{index:02d}-route{route}", bytes([route]) + body)


if __name__ == "__main__":
    if CORPUS.exists():
        shutil.rmtree(CORPUS)
    rtmp_seeds()
    rtp_seeds()
    rtcp_seeds()
    stun_seeds()
    sdp_seeds()
    dtls_seeds()
    json_seeds()
    for folder in sorted(CORPUS.iterdir()):
        files = list(folder.iterdir())
        print(f"{folder.name}: {len(files)} seeds, {sum(f.stat().st_size for f in files)} bytes")
