#!/usr/bin/env python3
"""Headless Chromium on LiveRelay's viewer page: loads /watch/{stream}, samples the page's <video> element
(currentTime, size, readyState, error: "video") and its RTCPeerConnection getStats() once a second, prints JSON.
With `?mode=hls&player=native` the page plays the HLS master natively in the <video> instead.

    whep_chromium.py http://127.0.0.1:8080/watch/demo --seconds 15 [--progress]

Output: {"samples": [{"t": s, "framesDecoded": N, "frameWidth": W, "frameHeight": H, "freezeCount": N,
         "audioPackets": N, "packetsLost": N}, ...], "srtpCipher": "...", "dtlsCipher": "...", "page": {...}}
as the last line of stdout; with --progress each sample is also printed as it is taken: {"progress": true, ...}.
"""
import argparse
import json
import os
import signal
import sys
import time

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service

STATS_SCRIPT = """
const done = arguments[arguments.length - 1];
const viewer = window.liverelayViewer;
const element = document.querySelector("video");
const video = element ? {currentTime: element.currentTime, videoWidth: element.videoWidth, videoHeight: element.videoHeight,
                         readyState: element.readyState, paused: element.paused, src: element.currentSrc,
                         error: element.error ? element.error.message || String(element.error.code) : null} : null;
const mode = (document.getElementById("mode") || {}).textContent || "";
if (!viewer || !viewer.pc) { done({ready: false, state: viewer ? viewer.state : "no viewer", video: video, mode: mode}); return; }
viewer.pc.getStats().then((report) => {
  const out = {ready: true, state: viewer.state, connectionState: viewer.pc.connectionState, video: video, mode: mode,
               resolutionText: (document.getElementById("resolution") || {}).textContent || ""};
  report.forEach((s) => {
    if (s.type === "inbound-rtp" && s.kind === "video") {
      out.framesDecoded = s.framesDecoded; out.frameWidth = s.frameWidth; out.frameHeight = s.frameHeight;
      out.freezeCount = s.freezeCount; out.videoPacketsLost = s.packetsLost; out.videoPackets = s.packetsReceived;
      out.nackCount = s.nackCount; out.pliCount = s.pliCount; out.jitterBufferDelay = s.jitterBufferDelay;
      out.jitterBufferEmittedCount = s.jitterBufferEmittedCount;
      out.framesDropped = s.framesDropped; out.totalFreezesDuration = s.totalFreezesDuration;
    }
    if (s.type === "inbound-rtp" && s.kind === "audio") {
      out.audioPackets = s.packetsReceived; out.audioPacketsLost = s.packetsLost;
      out.audioSamples = s.totalSamplesReceived;
    }
    if (s.type === "transport") {
      out.srtpCipher = s.srtpCipher; out.dtlsCipher = s.dtlsCipher; out.tlsVersion = s.tlsVersion;
      out.dtlsState = s.dtlsState;
    }
  });
  done(out);
}).catch((e) => done({ready: false, error: String(e)}));
"""


def descendants(root):
    """Every process below `root`, from /proc."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                # The command name may hold spaces; the parent pid is the second field after its closing paren.
                parent = int(stat.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(parent, []).append(int(entry))
    found, queue = [], [root]
    while queue:
        for child in children.get(queue.pop(), []):
            found.append(child)
            queue.append(child)
    return found


def stop_browser_on_sigterm():
    """A caller that stops the script early (SIGTERM) must not leave the browser behind: chromedriver and everything
    below it go at once."""
    def stop(*_):
        for pid in descendants(os.getpid()):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        os._exit(143)
    signal.signal(signal.SIGTERM, stop)
    # A parent may have started this process with SIGTERM blocked (it is inherited through exec): unblock it.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--progress", action="store_true", help="also print each sample as a JSON line")
    args = parser.parse_args()
    stop_browser_on_sigterm()

    options = Options()
    for flag in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--autoplay-policy=no-user-gesture-required", "--allow-loopback-in-peer-connection",
                 "--mute-audio", "--no-first-run", "--disable-features=WebRtcHideLocalIpsWithMdns"]:
        options.add_argument(flag)
    options.binary_location = "/usr/bin/chromium"
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.set_script_timeout(10)
    result = {"samples": []}
    try:
        started = time.monotonic()
        driver.get(args.url)
        deadline = started + args.seconds
        while time.monotonic() < deadline:
            sample = driver.execute_async_script(STATS_SCRIPT)
            sample["t"] = round(time.monotonic() - started, 2)
            result["samples"].append(sample)
            if args.progress:
                print(json.dumps({"progress": True, **sample}), flush=True)
            time.sleep(1)
        last = next((s for s in reversed(result["samples"]) if s.get("ready")), {})
        result["srtpCipher"] = last.get("srtpCipher")
        result["dtlsCipher"] = last.get("dtlsCipher")
        result["console"] = [entry.get("message") for entry in driver.get_log("browser")][-20:] if hasattr(driver, "get_log") else []
    except Exception as error:  # the caller judges; report what happened
        result["error"] = repr(error)
    finally:
        # chromedriver's quit does not always take the renderers and the GPU process with it: whatever of the
        # browser's process tree is still there afterwards is killed.
        browser = descendants(driver.service.process.pid)
        try:
            driver.quit()
        finally:
            for pid in browser:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
