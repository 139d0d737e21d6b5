#!/usr/bin/env python3
"""Headless Firefox as a WHEP viewer: a plain RTCPeerConnection (recvonly audio + video) against a WHEP URL.

Debian has no geckodriver, so Firefox is driven without WebDriver: this script serves a small page from its own
loopback HTTP server, starts `firefox-esr --headless` on it with a throwaway profile, and the page reports back to the
same server with fetch(): first its SDP offer (as Firefox wrote it) and the answer, then once a second getStats()
of the inbound video and audio. The WHEP POST goes from the page straight to the WHEP URL (cross-origin, so the
server's CORS is exercised as a browser on another origin would).

    whep_firefox.py http://127.0.0.1:8080/whep/demo [--seconds 15] [--token T] [--offer-only]

Prints progress lines and, last, one JSON object: {"offer", "answer", "status", "samples": [...], "error"?}.
--offer-only stops after the offer is captured (no WHEP request): that is how the SDP test fixture was taken.
"""
import argparse
import http.server
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

PAGE = r"""<!doctype html>
<meta charset="utf-8">
<video id="v" autoplay muted playsinline></video>
<script>
"use strict";
const settings = %SETTINGS%;
const report = (kind, body) => fetch("/report/" + kind, { method: "POST", body: JSON.stringify(body) });
async function main() {
  const pc = new RTCPeerConnection();
  // Video first, as the viewer page does.
  pc.addTransceiver("video", { direction: "recvonly" });
  pc.addTransceiver("audio", { direction: "recvonly" });
  const stream = new MediaStream();
  pc.ontrack = (event) => {
    stream.addTrack(event.track);
    const video = document.getElementById("v");
    video.srcObject = stream;
    video.play().catch(() => {});
  };
  await pc.setLocalDescription(await pc.createOffer());
  // Non-trickle WHEP: wait for host candidates (at most 2 s).
  await new Promise((resolve) => {
    if (pc.iceGatheringState === "complete") return resolve();
    pc.addEventListener("icegatheringstatechange", () => { if (pc.iceGatheringState === "complete") resolve(); });
    setTimeout(resolve, 2000);
  });
  const offer = pc.localDescription.sdp;
  if (settings.offerOnly) { await report("offer", { offer }); return; }
  const headers = { "Content-Type": "application/sdp" };
  if (settings.token) headers["Authorization"] = "Bearer " + settings.token;
  const response = await fetch(settings.whep, { method: "POST", headers, body: offer });
  const answer = await response.text();
  await report("offer", { offer, answer, status: response.status, location: response.headers.get("Location") });
  if (response.status !== 201) return;
  await pc.setRemoteDescription({ type: "answer", sdp: answer });
  const started = performance.now();
  setInterval(async () => {
    const sample = { t: Math.round(performance.now() - started) / 1000, connectionState: pc.connectionState,
                     iceConnectionState: pc.iceConnectionState };
    const stats = await pc.getStats();
    stats.forEach((entry) => {
      if (entry.type === "inbound-rtp" && entry.kind === "video") {
        Object.assign(sample, { framesDecoded: entry.framesDecoded || 0, frameWidth: entry.frameWidth || 0,
                                frameHeight: entry.frameHeight || 0, videoPackets: entry.packetsReceived || 0,
                                videoPacketsLost: entry.packetsLost || 0, nackCount: entry.nackCount || 0,
                                pliCount: entry.pliCount || 0 });
      } else if (entry.type === "inbound-rtp" && entry.kind === "audio") {
        Object.assign(sample, { audioPackets: entry.packetsReceived || 0 });
      }
    });
    const video = document.getElementById("v");
    sample.videoWidth = video.videoWidth;
    sample.currentTime = video.currentTime;
    report("sample", sample);
  }, 1000);
}
main().catch((error) => report("error", { error: String(error) }));
</script>
"""

# A fresh profile: no first-run pages, no telemetry, real host addresses (no mDNS). Firefox 153 gathers no loopback
# candidates even with `ice.loopback` set, so against a server on 127.0.0.1 run this on a host of its own (netns).
PREFERENCES = {
    "media.peerconnection.ice.loopback": True,
    "media.peerconnection.ice.obfuscate_host_addresses": False,
    "media.autoplay.default": 0,
    "browser.shell.checkDefaultBrowser": False,
    "browser.startup.homepage_override.mstone": "ignore",
    "datareporting.policy.dataSubmissionEnabled": False,
    "toolkit.telemetry.reportingpolicy.firstRun": False,
    "app.update.auto": False,
    "network.proxy.type": 0,
    "browser.tabs.remote.autostart": True,
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("whep", help="the WHEP endpoint, e.g. http://127.0.0.1:8080/whep/demo")
    parser.add_argument("--seconds", type=float, default=15, help="how long to sample once the answer is set")
    parser.add_argument("--token", help="bearer token for a private stream")
    parser.add_argument("--offer-only", action="store_true", help="print Firefox's offer and stop")
    parser.add_argument("--progress", action="store_true", help="print each sample as a JSON line")
    parser.add_argument("--binary", default=shutil.which("firefox-esr") or shutil.which("firefox") or "firefox-esr")
    args = parser.parse_args()

    result = {"samples": []}
    done = threading.Event()
    settings = json.dumps({"whep": args.whep, "token": args.token, "offerOnly": args.offer_only})

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *_):
            pass

        def do_GET(self):
            body = PAGE.replace("%SETTINGS%", settings).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self):
            length = min(int(self.headers.get("Content-Length") or 0), 1 << 20)
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
            except ValueError:
                body = {}
            kind = self.path.rsplit("/", 1)[-1]
            if kind == "sample":
                result["samples"].append(body)
                if args.progress:
                    print(json.dumps({"progress": True, **body}), flush=True)
            elif kind == "offer":
                result.update(body)
                if args.offer_only or body.get("status") != 201:
                    done.set()
            else:
                result.update(body)
                done.set()
            self.send_response(204)
            self.end_headers()

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    profile = tempfile.mkdtemp(prefix="liverelay-firefox-")
    with open(os.path.join(profile, "user.js"), "w") as prefs:
        for key, value in PREFERENCES.items():
            prefs.write(f"user_pref({json.dumps(key)}, {json.dumps(value)});\n")
    page = f"http://127.0.0.1:{server.server_address[1]}/"
    environment = dict(os.environ, MOZ_HEADLESS="1", HOME=profile)
    browser = subprocess.Popen([args.binary, "--headless", "--no-remote", "--profile", profile, page],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=environment,
                               start_new_session=True)

    def stop(*_):
        try:
            os.killpg(browser.pid, signal.SIGKILL)
        except OSError:
            pass
        os._exit(143)
    signal.signal(signal.SIGTERM, stop)

    try:
        # Start-up of a fresh profile takes a few seconds; then the samples run for `seconds`.
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline and "offer" not in result and not done.is_set():
            time.sleep(0.1)
        if "offer" not in result and "error" not in result:
            result["error"] = "Firefox did not report an offer within 40 s"
        elif not done.is_set():
            done.wait(timeout=args.seconds)
    finally:
        try:
            os.killpg(browser.pid, signal.SIGKILL)
        except OSError:
            pass
        browser.wait()
        server.shutdown()
        shutil.rmtree(profile, ignore_errors=True)
    print(json.dumps(result), flush=True)
    return 0 if "error" not in result else 1


if __name__ == "__main__":
    sys.exit(main())
