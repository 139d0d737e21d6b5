#!/usr/bin/env python3
"""WebRTC glass-to-glass latency on loopback: RTMP in -> transcoder -> VP8 over WHEP -> aiortc.

Starts a LiveRelay node on free loopback ports, publishes a real-time 30 fps picture whose frame number is drawn as
large blocks (stamp.py) through ffmpeg (x264 ultrafast/zerolatency + AAC in FLV over RTMP, as OBS would), and joins
over WHEP with aiortc. Each decoded video frame's stamp is read back:

    latency = wall clock when aiortc returned the decoded frame - wall clock when the raw frame was handed to ffmpeg

so the publisher's own encode, interleaving and RTMP send are part of the figure, as they are for a camera behind
OBS. Then it times N sequential joins from the WHEP POST to the first decoded frame.

usage: tools/bench/latency/bench.py [--binary PATH] [--seconds 20] [--joins 10] [--size 1280x720] [--fps 30]
                                    [--ladder 720p,360p,180p] [--max-layer 360p] [--publisher-leg 10] [--json out.json]
Prints one JSON object, then a human summary line. Exits non-zero only when the setup fails.
"""
import argparse
import asyncio
import json
import multiprocessing
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

import numpy as np
from aiortc import RTCPeerConnection, RTCSessionDescription

import stamp

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
TOKEN = "latency-bench-admin-token-0123456789abcdef"
STREAM = "lat"
RUNGS = {
    "1080p": (1920, 1080, 4500), "720p": (1280, 720, 2500), "480p": (854, 480, 1200),
    "360p": (640, 360, 800), "240p": (426, 240, 400), "180p": (320, 180, 200),
}


class SetupFailure(Exception):
    pass


def http(method, url, body=None, content_type=None, token=None, timeout=10):
    request = urllib.request.Request(url, data=body, method=method)
    if content_type:
        request.add_header("Content-Type", content_type)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read().decode()


def free_port(kind):
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def default_binary():
    """The release build when there is one, else the debug build."""
    for configuration in ("release", "debug"):
        try:
            path = subprocess.run(["swift", "build", "-c", configuration, "--show-bin-path"], cwd=ROOT,
                                  capture_output=True, text=True, timeout=60).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            path = os.path.join(ROOT, ".build", configuration)
        candidate = os.path.join(path or os.path.join(ROOT, ".build", configuration), "liverelay")
        if os.path.exists(candidate):
            return candidate
    return None


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


COUNTERS = ("liverelay_ingest_frames_total", "liverelay_transcode_frames_total", "liverelay_transcode_dropped_frames_total",
            "liverelay_webrtc_frames_dropped_total", "liverelay_webrtc_feedback_received_total",
            "liverelay_webrtc_retransmissions_total", "liverelay_webrtc_datagrams_dropped_total")


def counters(base):
    """The server's frame and feedback counters, by series, for deltas over the window."""
    try:
        text = http("GET", f"{base}/metrics")[2]
    except OSError:
        return {}
    values = {}
    for line in text.splitlines():
        if line.startswith(COUNTERS):
            series, _, value = line.rpartition(" ")
            try:
                values[series] = float(value)
            except ValueError:
                pass
    return values


def percentiles(values):
    if not values:
        return {"count": 0}
    a = np.asarray(values, dtype=float)
    return {"count": len(values), "p50": round(float(np.percentile(a, 50)), 1), "p95": round(float(np.percentile(a, 95)), 1),
            "p99": round(float(np.percentile(a, 99)), 1), "max": round(float(a.max()), 1), "min": round(float(a.min()), 1)}


# --- publisher (own process, so the viewer's event loop and decoder never delay a frame's hand-off) ---------------

def background(width, height):
    """A diagonal ramp and vertical bars, scrolled 4 px a frame: motion everywhere outside the stamp."""
    y, x = np.mgrid[0:height, 0:width + 256]
    luma = 16 + ((x + y) % 128) * 219 // 127
    luma[:, (x[0] // 32) % 4 == 0] //= 2
    return luma.astype(np.uint8)


AUDIO_RATE = 48000
AUDIO_LEAD_SECONDS = 0.1


def publisher_main(url, width, height, fps, log_path, stop):
    """Video on stdin and a 440 Hz tone on a second pipe, both written in real time by this loop. The tone runs
    100 ms ahead so that ffmpeg's interleaving never holds a video packet waiting for an audio packet of a later
    timestamp (with `-re -f lavfi -i sine` it held video by ~0.4 s, a publisher artefact rather than LiveRelay's)."""
    audio_read, audio_write = os.pipe()
    command = [
        "ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin",
        "-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", f"{width}x{height}", "-r", str(fps), "-i", "pipe:0",
        "-thread_queue_size", "64", "-f", "s16le", "-ar", str(AUDIO_RATE), "-ac", "1", "-i", f"pipe:{audio_read}",
        "-map", "0:v", "-map", "1:a",
        "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", str(2 * fps), "-bf", "0",
        "-b:v", "3000k", "-maxrate", "3000k", "-bufsize", "1500k", "-pix_fmt", "yuv420p",
        "-c:a", "aac", "-b:a", "128k", "-flush_packets", "1", "-f", "flv", url,
    ]
    ffmpeg = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, pass_fds=(audio_read,))
    os.close(audio_read)
    audio = os.fdopen(audio_write, "wb", buffering=0)
    pattern = background(width, height)
    chroma = np.full(width * height // 2, 128, dtype=np.uint8).tobytes()
    luma = np.empty((height, width), dtype=np.uint8)
    tone = (np.sin(2 * np.pi * 440 * np.arange(AUDIO_RATE) / AUDIO_RATE) * 8000).astype("<i2")
    started = time.monotonic()

    def write_audio():
        # Its own thread: while ffmpeg probes one input it does not read the other, so one writer would deadlock.
        written = 0
        while not stop.is_set():
            target = int((time.monotonic() - started + AUDIO_LEAD_SECONDS) * AUDIO_RATE)
            try:
                while written < target:
                    start = written % AUDIO_RATE
                    count = min(target - written, AUDIO_RATE - start)
                    audio.write(tone[start:start + count].tobytes())
                    written += count
            except (BrokenPipeError, ValueError, OSError):
                return
            time.sleep(0.01)

    threading.Thread(target=write_audio, daemon=True).start()
    with open(log_path, "w") as log:
        number = 0
        while not stop.is_set() and ffmpeg.poll() is None:
            offset = (number * 4) % 256
            luma[:] = pattern[:, offset:offset + width]
            stamp.draw(luma, number)
            picture = luma.tobytes() + chroma
            # The camera's shutter: the frame is due at its slot and timed just before ffmpeg gets it.
            delay = started + number / fps - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            handed = time.time()
            try:
                ffmpeg.stdin.write(picture)
                ffmpeg.stdin.flush()
            except (BrokenPipeError, ValueError, OSError):
                break
            log.write(f"{number} {handed:.6f}\n")
            log.flush()
            number += 1
    for stream in (ffmpeg.stdin, audio):
        try:
            stream.close()
        except OSError:
            pass
    try:
        ffmpeg.wait(timeout=5)
    except subprocess.TimeoutExpired:
        ffmpeg.kill()


def published_times(log_path):
    times = {}
    with open(log_path) as log:
        for line in log:
            parts = line.split()
            if len(parts) == 2:
                times[int(parts[0])] = float(parts[1])
    return times


# --- viewer ------------------------------------------------------------------------------------------------------

class Viewer:
    """One aiortc peer joined over WHEP; records (frame number, receive time, size) of every decoded video frame."""

    def __init__(self, whep_url, token, max_layer):
        self.url = whep_url + (f"?maxLayer={max_layer}" if max_layer else "")
        self.token = token
        self.pc = RTCPeerConnection()
        self.pc.addTransceiver("video", direction="recvonly")
        self.pc.addTransceiver("audio", direction="recvonly")
        self.frames = []  # (number or None, wall time, "WxH")
        self.audio_frames = 0
        self.first_frame = asyncio.Event()
        self.first_frame_at = None
        self.location = None
        self.layer = None
        self.tasks = []
        self.pc.on("track", lambda track: self.tasks.append(asyncio.ensure_future(self.consume(track))))

    async def consume(self, track):
        while True:
            try:
                frame = await track.recv()
            except Exception:
                return
            if track.kind != "video":
                self.audio_frames += 1
                continue
            received = time.time()
            if self.first_frame_at is None:
                self.first_frame_at = time.monotonic()
                self.first_frame.set()
            self.frames.append((stamp.read(stamp.luma_of(frame)), received, f"{frame.width}x{frame.height}"))

    async def join(self, wait_live=0.0):
        """Returns (monotonic time the POST was sent, POST round trip in ms)."""
        await self.pc.setLocalDescription(await self.pc.createOffer())
        deadline = time.monotonic() + wait_live
        while True:
            sent = time.monotonic()
            status, headers, body = await asyncio.to_thread(
                http, "POST", self.url, self.pc.localDescription.sdp.encode(), "application/sdp", self.token)
            # 409: not live yet (no VP8 layer encoded); a WHEP client retries.
            if status != 409 or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.25)
        answered = time.monotonic()
        if status != 201:
            raise SetupFailure(f"WHEP POST answered {status}: {body[:300]}")
        self.location = headers.get("location")
        self.layer = headers.get("x-liverelay-layer")
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=body, type="answer"))
        return sent, (answered - sent) * 1000

    async def leave(self):
        if self.location:
            base = self.url.split("/whep/")[0]
            await asyncio.to_thread(http, "DELETE", base + self.location, None, None, self.token)
        await self.pc.close()
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


async def measure_latency(whep_url, args, log_path, server_pid):
    base = whep_url.split("/whep/")[0]
    viewer = Viewer(whep_url, TOKEN, args.max_layer)
    await viewer.join(wait_live=args.wait_live)
    try:
        await asyncio.wait_for(viewer.first_frame.wait(), timeout=30)
    except asyncio.TimeoutError:
        await viewer.leave()
        raise SetupFailure("joined, but no video frame decoded within 30 s")
    await asyncio.sleep(args.warmup)
    window_start = time.time()
    cpu_start, wall_start = cpu_seconds(server_pid), time.monotonic()
    before = await asyncio.to_thread(counters, base)
    await asyncio.sleep(args.seconds)
    after = await asyncio.to_thread(counters, base)
    cpu_used, wall_used = cpu_seconds(server_pid) - cpu_start, time.monotonic() - wall_start
    moved = {series: round(value - before.get(series, 0)) for series, value in after.items() if value != before.get(series, 0)}
    window_end = time.time()
    state = viewer.pc.connectionState
    layer = viewer.layer
    await viewer.leave()

    sent = published_times(log_path)
    window = [f for f in viewer.frames if window_start <= f[1] < window_end]
    latencies, unreadable, unknown, seen, sizes, series = [], 0, 0, set(), {}, []
    for number, received, size in window:
        sizes[size] = sizes.get(size, 0) + 1
        if number is None:
            unreadable += 1
        elif number not in sent:
            unknown += 1
        elif number not in seen:
            seen.add(number)
            latencies.append((received - sent[number]) * 1000)
            series.append((number, round(sent[number], 4), round(latencies[-1], 1)))
    # Frames that should have arrived inside the window: those sent one median latency before it.
    lag = float(np.median(latencies)) / 1000 if latencies else 0.0
    published = [n for n, t in sent.items() if window_start - lag <= t < window_end - lag]
    if args.series:
        with open(args.series, "w") as f:
            f.write("frame,sent,latency_ms\n" + "".join(f"{n},{t},{l}\n" for n, t, l in series))
    return {
        "glassToGlassMs": percentiles(latencies),
        "windowSeconds": round(window_end - window_start, 1),
        "framesDecoded": len(window),
        "framesPublishedInWindow": len(published),
        "stampUnreadable": unreadable,
        "stampUnknown": unknown,
        "sizes": sizes,
        "layer": layer,
        "audioFrames": viewer.audio_frames,
        "connectionState": state,
        "serverCpuPerSecond": round(cpu_used / wall_used, 2),
        "serverCountersInWindow": moved,
    }


async def measure_joins(whep_url, args):
    times, posts, layers = [], [], {}
    failures = 0
    for _ in range(args.joins):
        viewer = Viewer(whep_url, TOKEN, args.max_layer)
        try:
            sent, post_ms = await viewer.join()
            await asyncio.wait_for(viewer.first_frame.wait(), timeout=10)
            times.append((viewer.first_frame_at - sent) * 1000)
            posts.append(post_ms)
            layers[viewer.layer] = layers.get(viewer.layer, 0) + 1
        except (asyncio.TimeoutError, SetupFailure):
            failures += 1
        await viewer.leave()
        await asyncio.sleep(args.join_gap)
    return {"postToFirstFrameMs": percentiles(times), "postRoundTripMs": percentiles(posts),
            "joins": args.joins, "failedJoins": failures, "layers": layers}


def measure_publisher_leg(context, width, height, fps, seconds, work):
    """The same publisher into a bare `ffmpeg -listen` that decodes to a pipe: the share of glass-to-glass that is
    x264, FLV interleaving, RTMP and an H.264 decode, with no LiveRelay in between."""
    port = free_port(socket.SOCK_STREAM)
    url = f"rtmp://127.0.0.1:{port}/live/leg"
    sink = subprocess.Popen([
        "ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-listen", "1", "-fflags", "nobuffer",
        "-flags", "low_delay", "-probesize", "32", "-analyzeduration", "0", "-threads", "1", "-i", url,
        "-map", "0:v", "-f", "rawvideo", "-pix_fmt", "gray", "pipe:1"], stdout=subprocess.PIPE)
    time.sleep(0.5)
    log_path = os.path.join(work, "leg.txt")
    stop = context.Event()
    publisher = context.Process(target=publisher_main, args=(url, width, height, fps, log_path, stop), daemon=True)
    publisher.start()
    received = []
    size = width * height
    ends = time.time() + seconds + 3
    while time.time() < ends:
        picture = sink.stdout.read(size)
        if len(picture) < size:
            break
        received.append((stamp.read(np.frombuffer(picture, np.uint8).reshape(height, width)), time.time()))
    stop.set()
    publisher.join(timeout=10)
    sink.kill()
    sink.wait()
    sent = published_times(log_path)
    # The first 3 s cover the sink's start-up.
    latencies = [(t - sent[n]) * 1000 for n, t in received if n in sent and t >= received[0][1] + 3] if received else []
    return percentiles(latencies)


# --- orchestration -----------------------------------------------------------------------------------------------

def write_config(path, work, ports, ladder):
    rungs = "".join(f"    - {{name: {name}, width: {RUNGS[name][0]}, height: {RUNGS[name][1]}, fps: 30, videoKbps: {RUNGS[name][2]}}}\n"
                    for name in ladder)
    with open(path, "w") as f:
        f.write(f"http:\n  host: 127.0.0.1\n  port: {ports['http']}\n"
                f"rtmp:\n  host: 127.0.0.1\n  port: {ports['rtmp']}\n"
                f"webrtc:\n  host: 127.0.0.1\n  port: {ports['webrtc']}\n"
                f"admin:\n  token: {TOKEN}\nlog:\n  level: warning\n  format: text\n"
                f"dataDirectory: {work}/data\n"
                f"transcoder:\n  enabled: true\n  ladder:\n{rungs}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--binary", help="liverelay executable (default: the release build if present, else debug)")
    parser.add_argument("--seconds", type=float, default=20, help="latency sampling window")
    parser.add_argument("--warmup", type=float, default=3, help="seconds after the first frame before sampling")
    parser.add_argument("--joins", type=int, default=10, help="sequential joins timed from POST to first frame")
    parser.add_argument("--join-gap", type=float, default=1.0)
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--ladder", default="720p,360p,180p", help=f"rungs from {','.join(RUNGS)}")
    parser.add_argument("--max-layer", help="maxLayer query of the WHEP POST (default: the top rung)")
    parser.add_argument("--wait-live", type=float, default=60, help="seconds to retry WHEP 409 while the stream comes up")
    parser.add_argument("--publisher-leg", type=float, default=10,
                        help="seconds of the publisher alone into ffmpeg -listen before the server starts (0: skip)")
    parser.add_argument("--json", help="also write the summary to this file")
    parser.add_argument("--series", help="write every frame's number, hand-off time and latency (CSV) to this file")
    parser.add_argument("--keep-work", action="store_true", help="keep the temporary directory (config, server log)")
    args = parser.parse_args()
    width, height = map(int, args.size.lower().split("x"))
    ladder = [r.strip() for r in args.ladder.split(",") if r.strip()]
    if any(r not in RUNGS for r in ladder):
        sys.exit(f"unknown rung in --ladder {args.ladder}; known: {', '.join(RUNGS)}")
    if shutil.which("ffmpeg") is None:
        sys.exit("ffmpeg is not on PATH")
    binary = args.binary or default_binary()
    if binary is None or not os.path.exists(binary):
        sys.exit("no liverelay binary: swift build -c release --product liverelay, or pass --binary")
    build = "release" if "/release/" in binary else "debug" if "/debug/" in binary else "unknown"
    print(f"server binary: {binary} ({build} build)", file=sys.stderr)

    work = tempfile.mkdtemp(prefix="liverelay-bench-latency-")
    context = multiprocessing.get_context("spawn")
    leg = measure_publisher_leg(context, width, height, args.fps, args.publisher_leg, work) if args.publisher_leg > 0 else None
    ports = {"http": free_port(socket.SOCK_STREAM), "rtmp": free_port(socket.SOCK_STREAM), "webrtc": free_port(socket.SOCK_DGRAM)}
    config = os.path.join(work, "config.yaml")
    write_config(config, work, ports, ladder)
    server_log = open(os.path.join(work, "server.log"), "w")
    server = subprocess.Popen([binary, "serve", "--config", config], stdout=server_log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{ports['http']}"
    stop = context.Event()
    publisher = None
    log_path = os.path.join(work, "published.txt")
    try:
        for _ in range(300):
            if server.poll() is not None:
                raise SetupFailure(f"server exited with {server.returncode}; see {work}/server.log")
            try:
                if http("GET", f"{base}/healthz", timeout=1)[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.1)
        else:
            raise SetupFailure("server did not answer /healthz within 30 s")
        status, _, body = http("POST", f"{base}/api/streams", json.dumps({"name": STREAM}).encode(), "application/json", TOKEN)
        if status not in (200, 201):
            raise SetupFailure(f"creating the stream answered {status}: {body[:300]}")
        key = json.loads(body)["publishKey"]
        publisher = context.Process(target=publisher_main, daemon=True,
                                    args=(f"rtmp://127.0.0.1:{ports['rtmp']}/live/{key}", width, height, args.fps, log_path, stop))
        publisher.start()
        whep_url = f"{base}/whep/{STREAM}"
        latency = asyncio.run(measure_latency(whep_url, args, log_path, server.pid))
        joins = asyncio.run(measure_joins(whep_url, args))
    except SetupFailure as failure:
        print(f"setup failed: {failure} (work directory {work})", file=sys.stderr)
        args.keep_work = True
        return 2
    finally:
        stop.set()
        if publisher is not None:
            publisher.join(timeout=10)
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
        server_log.close()
        if not args.keep_work:
            shutil.rmtree(work, ignore_errors=True)

    summary = {
        "binary": binary, "build": build, "source": f"{width}x{height}@{args.fps}", "ladder": ladder,
        "maxLayer": args.max_layer, "cpus": os.cpu_count(), "loadAverage1m": round(os.getloadavg()[0], 2),
        "targets": {"glassToGlassP95Ms": 250, "postToFirstFrameP95Ms": 400},
        **latency, "publisherLegMs": leg, **joins,
    }
    g2g, join = latency["glassToGlassMs"], joins["postToFirstFrameMs"]
    print(json.dumps(summary))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(summary, f, indent=2)

    def verdict(figure, target):
        return "n/a" if figure is None else ("met" if figure <= target else "MISSED")
    print(f"glass-to-glass ({latency['layer']}, {g2g['count']} frames): p50 {g2g.get('p50')} ms, p95 {g2g.get('p95')} ms, "
          f"p99 {g2g.get('p99')} ms, max {g2g.get('max')} ms [target p95 <= 250: {verdict(g2g.get('p95'), 250)}]; "
          f"WHEP POST -> first frame ({join['count']}/{args.joins} joins): p50 {join.get('p50')} ms, p95 {join.get('p95')} ms "
          f"[target p95 <= 400: {verdict(join.get('p95'), 400)}]; publisher leg alone p50 {(leg or {}).get('p50')} ms; "
          f"{build} build, load {summary['loadAverage1m']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
