#!/usr/bin/env python3
"""Live latency of a standard HLS player: headless Chromium playing LiveRelay's HLS natively, or hls.js in its
low-latency mode (`--player hlsjs`, hls.js from the `gradio` wheel on PyPI, which bundles it).

Starts a LiveRelay node (source passthrough rendition; `--transcoder` adds the default ladder's H.264 rungs), publishes
a real-time picture whose frame number is drawn as blocks (tools/bench/latency/stamp.py) through ffmpeg over RTMP,
opens `/watch/{stream}?mode=hls` in headless Chromium (its own HLS player, no hls.js) and reads the stamp of every
presented frame from a canvas inside the page (`requestVideoFrameCallback`):

    latency = wall clock when Chromium presented the frame - wall clock when the raw frame was handed to ffmpeg

so it includes the publisher's encode, segmenting, the player's hold-back and its buffer: what a viewer sees.

usage: tools/bench/dash/player_latency.py [--binary PATH] [--seconds 30] [--warmup 10] [--size 1280x720] [--fps 30]
                                          [--transcoder] [--player native|hlsjs] [--json out.json]
Prints one JSON object, then a summary line. Exits non-zero when the setup fails or no stamp is read.
"""
import argparse
import json
import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tools", "bench", "latency"))
import bench as webrtc_bench  # noqa: E402  (publisher, ports and helpers shared with the WebRTC latency bench)

STREAM = "hlslat"
TOKEN = webrtc_bench.TOKEN

# Installed in the page: reads the stamp of every presented frame (the same 8x4 grid and CRC-8 as stamp.py) from a
# 160x90 canvas and keeps [wall-clock ms of presentation, frame number, currentTime] for the harness to collect.
READER_SCRIPT = r"""
if (!window.__stamps) {
  window.__stamps = [];
  window.__unread = 0;
  const canvas = document.createElement("canvas");
  canvas.width = 160; canvas.height = 90;
  const context = canvas.getContext("2d", { willReadFrequently: true });
  const crc8 = (value) => {
    let crc = 0;
    for (const byte of [(value >> 16) & 255, (value >> 8) & 255, value & 255]) {
      crc ^= byte;
      for (let i = 0; i < 8; i++) crc = crc & 0x80 ? ((crc << 1) ^ 0x07) & 0xff : (crc << 1) & 0xff;
    }
    return crc;
  };
  const read = () => {
    const pixels = context.getImageData(0, 0, 160, 90).data;
    const bw = 160 / 16, bh = 90 / 9;
    let word = 0;
    for (let index = 0; index < 32; index++) {
      const row = Math.floor(index / 8), column = index % 8;
      const top = bh + row * bh, left = bw + column * bw;
      let sum = 0, count = 0;
      for (let y = Math.floor(top + bh / 4); y < Math.floor(top + 3 * bh / 4); y++) {
        for (let x = Math.floor(left + bw / 4); x < Math.floor(left + 3 * bw / 4); x++) {
          const at = (y * 160 + x) * 4;
          sum += 0.299 * pixels[at] + 0.587 * pixels[at + 1] + 0.114 * pixels[at + 2];
          count++;
        }
      }
      word = word * 2 + (sum / count > 127.5 ? 1 : 0);
    }
    const number = Math.floor(word / 256), check = word % 256;
    return crc8(number) === check ? number : null;
  };
  window.__stalls = 0;
  const attach = () => {
    const video = document.querySelector("video");
    if (!video || !video.requestVideoFrameCallback) { setTimeout(attach, 100); return; }
    video.addEventListener("waiting", () => { if (window.__stamps.length || window.__seen) window.__stalls++; });
    video.addEventListener("playing", () => { window.__seen = true; });
    const onFrame = (now, metadata) => {
      context.drawImage(video, 0, 0, 160, 90);
      const number = read();
      const shown = performance.timeOrigin + (metadata.expectedDisplayTime || now);
      if (number === null) window.__unread++;
      else window.__stamps.push([shown, number, video.currentTime]);
      if (window.__stamps.length > 10000) window.__stamps.splice(0, 5000);
      video.requestVideoFrameCallback(onFrame);
    };
    video.requestVideoFrameCallback(onFrame);
  };
  attach();
}
const video = document.querySelector("video");
const taken = window.__stamps.splice(0);
const ranges = video ? Array.from({ length: video.buffered.length }, (_, i) => [video.buffered.start(i), video.buffered.end(i)]) : [];
const seekable = video && video.seekable.length ? video.seekable.end(video.seekable.length - 1) : null;
const duration = video ? String(video.duration) : null;
return { stamps: taken, unread: window.__unread, stalls: window.__stalls, seekableEnd: seekable,
         duration: duration, currentTime: video ? video.currentTime : null,
         buffered: ranges, width: video ? video.videoWidth : 0, paused: video ? video.paused : null,
         src: video ? video.currentSrc : null };
"""


def write_config(path, work, ports, transcoder):
    with open(path, "w") as f:
        f.write(f"http:\n  host: 127.0.0.1\n  port: {ports['http']}\n"
                f"rtmp:\n  host: 127.0.0.1\n  port: {ports['rtmp']}\n"
                f"admin:\n  token: {TOKEN}\nlog:\n  level: warning\n  format: text\n"
                f"dataDirectory: {work}/data\n"
                f"webrtc:\n  enabled: false\n"
                f"transcoder:\n  enabled: {'true' if transcoder else 'false'}\n")


HLSJS_PAGE = """<!doctype html>
<meta charset="utf-8"><title>hls.js LL-HLS</title>
<video muted autoplay playsinline style="width:640px"></video>
<script type="module">
// hls.js as a PyPI package ships it (gradio's frontend bundle): the bundle's exports are minified, so the helper
// that builds an Hls player in low-latency mode and attaches it is found by what it does.
import * as bundle from "./hls.js";
const attach = Object.values(bundle).find(f => typeof f === "function" && String(f).includes("lowLatencyMode")
                                                && String(f).includes("attachMedia"));
const video = document.querySelector("video");
window.__hlsjs = attach ? "found" : "missing";
if (attach) { attach(video, new URLSearchParams(location.search).get("src")); video.play().catch(() => {}); }
</script>
"""


def hlsjs_directory(work):
    """A directory with hls.js (from the `gradio` wheel on PyPI, which bundles hls.js 1.6 with its low-latency
    mode) and the page above; nil when pip cannot fetch it."""
    import glob
    import re
    import zipfile
    cache = os.path.join(os.path.expanduser("~"), ".cache", "liverelay", "hlsjs")
    os.makedirs(cache, exist_ok=True)
    wheels = glob.glob(os.path.join(cache, "gradio-*.whl"))
    if not wheels:
        subprocess.run([sys.executable, "-m", "pip", "download", "gradio", "--no-deps", "-q", "-d", cache], check=False)
        wheels = glob.glob(os.path.join(cache, "gradio-*.whl"))
    if not wheels:
        return None, None
    directory = os.path.join(work, "hlsjs")
    os.makedirs(directory, exist_ok=True)
    with zipfile.ZipFile(sorted(wheels)[-1]) as wheel:
        names = [n for n in wheel.namelist() if re.search(r"templates/frontend/assets/hls-[^/]*\.js$", n)]
        if not names:
            return None, None
        source = wheel.read(names[0])
    version = re.search(rb"static get version\(\)\{return (\w+)\}", source)
    number = re.search(rb"[,;]" + version.group(1) + rb"=`([0-9.]+)`", source) if version else None
    with open(os.path.join(directory, "hls.js"), "wb") as f:
        f.write(source)
    with open(os.path.join(directory, "index.html"), "w") as f:
        f.write(HLSJS_PAGE)
    return directory, number.group(1).decode() if number else "?"


def serve_directory(directory):
    """A static HTTP server for the page (another origin than LiveRelay's: the player goes by CORS, as on a site)."""
    import functools
    import http.server
    import threading
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=directory)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def chromium():
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    options = Options()
    for flag in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--autoplay-policy=no-user-gesture-required", "--mute-audio", "--no-first-run"]:
        options.add_argument(flag)
    options.binary_location = "/usr/bin/chromium"
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--binary", help="liverelay executable (default: the release build if present, else debug)")
    parser.add_argument("--seconds", type=float, default=30, help="sampling window once playing")
    parser.add_argument("--warmup", type=float, default=10, help="seconds of playback before sampling")
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--transcoder", action="store_true", help="also the default ladder's H.264 rungs")
    parser.add_argument("--page-query", default="", help="added to the watch page's query, e.g. liveOffset=1")
    parser.add_argument("--join-after", type=int, default=3,
                        help="segments in the playlist before the player opens it (at least 3: Chromium's minimum)")
    parser.add_argument("--json", help="also write the summary to this file")
    parser.add_argument("--player", choices=("native", "hlsjs"), default="native",
                        help="Chromium's own HLS player (no LL-HLS), or hls.js in low-latency mode")
    args = parser.parse_args()
    width, height = map(int, args.size.lower().split("x"))
    for tool in ("ffmpeg", "/usr/bin/chromium", "/usr/bin/chromedriver"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is not installed (tools/setup.sh installs it)")
    binary = args.binary or webrtc_bench.default_binary()
    if not binary:
        sys.exit("no liverelay binary: swift build -c release --product liverelay")

    work = tempfile.mkdtemp(prefix="liverelay-hls-latency-")
    ports = {"http": webrtc_bench.free_port(webrtc_bench.socket.SOCK_STREAM),
             "rtmp": webrtc_bench.free_port(webrtc_bench.socket.SOCK_STREAM)}
    config = os.path.join(work, "config.yaml")
    write_config(config, work, ports, args.transcoder)
    base = f"http://127.0.0.1:{ports['http']}"
    server_log = open(os.path.join(work, "server.log"), "w")
    server = subprocess.Popen([binary, "serve", "--config", config], stdout=server_log, stderr=subprocess.STDOUT)
    stop = multiprocessing.Event()
    publisher = driver = None
    try:
        for _ in range(100):
            try:
                webrtc_bench.http("GET", f"{base}/healthz")
                break
            except OSError:
                time.sleep(0.1)
        status, _, body = webrtc_bench.http("POST", f"{base}/api/streams", json.dumps({"name": STREAM}).encode(),
                                            "application/json", TOKEN)
        if status not in (200, 201):
            sys.exit(f"stream creation failed: {status} {body}")
        key = json.loads(body)["publishKey"]
        log_path = os.path.join(work, "published.log")
        publisher = multiprocessing.Process(
            target=webrtc_bench.publisher_main,
            args=(f"rtmp://127.0.0.1:{ports['rtmp']}/live/{key}", width, height, args.fps, log_path, stop))
        publisher.start()
        # Chromium refuses a live playlist shorter than three target durations: wait for three segments (or more,
        # to see where in a longer window the player starts).
        deadline = time.monotonic() + 60 + 2 * args.join_after
        while time.monotonic() < deadline:
            status, _, text = webrtc_bench.http("GET", f"{base}/hls/{STREAM}/source-video.m3u8")
            if status == 200 and text.count("#EXTINF") >= max(3, args.join_after):
                break
            time.sleep(0.5)
        else:
            sys.exit(f"the stream did not reach {max(3, args.join_after)} segments in time")
        playlist = text
        driver = chromium()
        driver.set_script_timeout(10)
        page = f"{base}/watch/{STREAM}?mode=hls" + (f"&{args.page_query}" if args.page_query else "")
        player = f"Chromium {driver.capabilities.get('browserVersion')} native HLS ({page[len(base):]})"
        if args.player == "hlsjs":
            directory, version = hlsjs_directory(work)
            if directory is None:
                sys.exit("hls.js not available: pip could not fetch the gradio wheel that bundles it")
            static = serve_directory(directory)
            page = f"http://127.0.0.1:{static.server_address[1]}/index.html?src={base}/hls/{STREAM}/master.m3u8"
            player = f"hls.js {version} (lowLatencyMode) in Chromium {driver.capabilities.get('browserVersion')}"
        driver.get(page)
        samples, unread, first_frame, stalls_at_start = [], 0, None, None
        opened = time.monotonic()
        end = None
        state = {}
        while True:
            state = driver.execute_script(READER_SCRIPT)
            unread = state["unread"]
            now = time.monotonic()
            if state["stamps"] and first_frame is None:
                first_frame = now - opened
            if first_frame is not None and end is None:
                end = now + args.warmup + args.seconds
                sample_from = now + args.warmup
            if end is not None and now >= sample_from:
                samples.extend(state["stamps"])
                if stalls_at_start is None:
                    stalls_at_start = state["stalls"]
            if end is not None and now >= end:
                break
            if first_frame is None and now - opened > 60:
                sys.exit(f"Chromium presented no stamped frame in 60 s: {state}")
            time.sleep(0.5)
        published = webrtc_bench.published_times(log_path)
        latencies = [shown / 1000 - published[number] for shown, number, _ in samples if number in published]
        latencies_ms = [value * 1000 for value in latencies]
        summary = {
            "player": player,
            "source": f"{width}x{height}@{args.fps}, x264 ultrafast zerolatency, 2 s GOP, over RTMP",
            "ladder": "default (source + H.264 rungs)" if args.transcoder else "source passthrough",
            "firstFrameSeconds": round(first_frame, 2),
            "segmentsAtJoin": playlist.count("#EXTINF"),
            "framesRead": len(latencies), "framesUnread": unread,
            "stallsWhileSampling": state.get("stalls", 0) - (stalls_at_start or 0),
            "behindSeekableEndSeconds": round(state["seekableEnd"] - state["currentTime"], 2)
            if state.get("seekableEnd") is not None and state.get("currentTime") is not None else None,
            "latencyMs": webrtc_bench.percentiles(latencies_ms),
            "playlistHead": [line for line in playlist.splitlines()
                             if line.startswith(("#EXT-X-TARGETDURATION", "#EXT-X-SERVER-CONTROL", "#EXT-X-PART-INF"))],
            "videoWidth": state.get("width"), "duration": state.get("duration"), "buffered": state.get("buffered"),
            "currentTime": state.get("currentTime"),
        }
        print(json.dumps(summary))
        if args.json:
            with open(args.json, "w") as f:
                json.dump(summary, f, indent=2)
        if not latencies:
            return 1
        figures = summary["latencyMs"]
        print(f"{summary['player']}: live latency p50 {figures['p50']:.0f} ms, p95 {figures['p95']:.0f} ms over "
              f"{len(latencies)} frames; first frame {first_frame:.1f} s after the page opened")
        return 0
    finally:
        stop.set()
        if driver is not None:
            try:
                driver.quit()
            except Exception:
                pass
        if publisher is not None:
            publisher.join(timeout=10)
            if publisher.is_alive():
                publisher.kill()
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
        server_log.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
