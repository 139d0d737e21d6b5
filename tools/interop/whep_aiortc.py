#!/usr/bin/env python3
"""A WHEP viewer built on aiortc: joins a LiveRelay stream, decodes video and audio for a while, prints JSON.

    whep_aiortc.py http://127.0.0.1:8080/whep/demo --seconds 10 [--token T] [--max-layer 360p] [--progress]

Output: {"status": 201, "videoFrames": N, "audioFrames": N, "sizes": {"1280x720": N}, "firstFrameMs": ...,
         "timeline": [{"t": 1.0, "size": "320x180", "framesInSecond": 29, "bytes": N, ...}, ...], ...}
as the last line of stdout. The timeline has one sample a second from the answer on; with --progress each sample
is also printed as it is taken, as a line of its own: {"progress": true, "t": ..., ...}.
The exit code is 0 when the session was created, whatever was received: the caller judges the figures.
"""
import argparse
import asyncio
import json
import sys
import time
import urllib.error
import urllib.request

from aiortc import RTCPeerConnection, RTCSessionDescription


def http(method, url, body=None, content_type=None, token=None):
    request = urllib.request.Request(url, data=body, method=method)
    if content_type:
        request.add_header("Content-Type", content_type)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


async def run(args):
    report = {"videoFrames": 0, "audioFrames": 0, "audioSamples": 0, "sizes": {}, "firstFrameMs": None,
              "videoPts": [], "audioPts": [], "timeline": []}
    latest = {"size": None}
    pc = RTCPeerConnection()
    pc.addTransceiver("video", direction="recvonly")
    pc.addTransceiver("audio", direction="recvonly")
    done = asyncio.Event()
    tasks = []

    async def consume(track):
        while not done.is_set():
            try:
                frame = await asyncio.wait_for(track.recv(), timeout=1.0)
            except asyncio.TimeoutError:
                continue
            except Exception:
                return
            if track.kind == "video":
                report["videoFrames"] += 1
                now = time.monotonic()
                report["videoFirstAt"] = report.get("videoFirstAt") or now
                report["videoLastAt"] = now
                size = f"{frame.width}x{frame.height}"
                latest["size"] = size
                report["sizes"][size] = report["sizes"].get(size, 0) + 1
                if report["firstFrameMs"] is None:
                    report["firstFrameMs"] = round((time.monotonic() - started) * 1000, 1)
            else:
                report["audioFrames"] += 1
                now = time.monotonic()
                report["audioFirstAt"] = report.get("audioFirstAt") or now
                report["audioLastAt"] = now
                report["audioSamples"] += frame.samples

    def video_packet_counts():
        """Video RTP packets received and lost (before any retransmission) on the media SSRC, and RTX received.
        Read from the receiver itself: aiortc's getStats() gives every SSRC of a receiver the same id, so once
        the first retransmission arrives the RTX stream's entry replaces the media stream's."""
        counts = {"videoPackets": 0, "videoPacketsLost": 0, "videoRtxPackets": 0}
        for transceiver in pc.getTransceivers():
            if transceiver.kind != "video":
                continue
            receiver = transceiver.receiver
            rtx_ssrcs = getattr(receiver, "_RTCRtpReceiver__rtx_ssrc", {})
            for ssrc, stream in getattr(receiver, "_RTCRtpReceiver__remote_streams", {}).items():
                if ssrc in rtx_ssrcs:
                    counts["videoRtxPackets"] += stream.packets_received
                else:
                    counts["videoPackets"] += stream.packets_received
                    counts["videoPacketsLost"] += max(0, stream.packets_lost)
        return counts

    async def sample_every_second():
        """One timeline sample a second: what was decoded in that second, and what the transport received."""
        frames_before, bytes_before, tick = 0, 0, time.monotonic()
        while not done.is_set():
            tick += 1.0
            await asyncio.sleep(max(0.0, tick - time.monotonic()))
            stats = await pc.getStats()
            sample = {"t": round(time.monotonic() - started, 1), "size": latest["size"],
                      "framesInSecond": report["videoFrames"] - frames_before, "videoFrames": report["videoFrames"],
                      "audioFrames": report["audioFrames"],
                      "bytes": sum(entry.bytesReceived for entry in stats.values() if entry.type == "transport")}
            sample.update(video_packet_counts())
            sample["kbps"] = round((sample["bytes"] - bytes_before) * 8 / 1000, 1)
            frames_before, bytes_before = report["videoFrames"], sample["bytes"]
            report["timeline"].append(sample)
            if args.progress:
                print(json.dumps({"progress": True, **sample}), flush=True)

    @pc.on("track")
    def on_track(track):
        tasks.append(asyncio.ensure_future(consume(track)))

    await pc.setLocalDescription(await pc.createOffer())
    started = time.monotonic()
    url = args.url + (f"?maxLayer={args.max_layer}" if args.max_layer else "")
    deadline = time.monotonic() + args.wait_live
    while True:
        status, headers, body = http("POST", url, pc.localDescription.sdp.encode(), "application/sdp", args.token)
        # 409: the stream is not live yet; WHEP clients retry after Retry-After.
        if status != 409 or time.monotonic() > deadline:
            break
        await asyncio.sleep(float(headers.get("Retry-After", "1")) / 4)
    report["status"] = status
    report["postMs"] = round((time.monotonic() - started) * 1000, 1)
    if status != 201:
        report["error"] = body
        await pc.close()
        print(json.dumps(report), flush=True)
        return
    location = headers.get("Location") or headers.get("location")
    report["location"] = location
    report["layer"] = headers.get("X-LiveRelay-Layer") or headers.get("x-liverelay-layer")
    await pc.setRemoteDescription(RTCSessionDescription(sdp=body, type="answer"))
    sampler = asyncio.ensure_future(sample_every_second())
    await asyncio.sleep(args.seconds)
    report["connectionState"] = pc.connectionState
    done.set()
    # No progress line may follow the report: callers read the last line of stdout.
    sampler.cancel()
    await asyncio.gather(sampler, return_exceptions=True)
    if not args.keep:
        base = args.url.split("/whep/")[0]
        report["deleteStatus"] = http("DELETE", base + location, token=args.token)[0]
    await asyncio.gather(*tasks, return_exceptions=True)
    await pc.close()
    del report["videoPts"], report["audioPts"]
    for kind in ("video", "audio"):
        first, last = report.pop(f"{kind}FirstAt", None), report.pop(f"{kind}LastAt", None)
        report[f"{kind}SpanSeconds"] = round(last - first, 3) if first else 0
    print(json.dumps(report), flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--token")
    parser.add_argument("--max-layer")
    parser.add_argument("--wait-live", type=float, default=15, help="seconds to retry while the stream is offline (409)")
    parser.add_argument("--keep", action="store_true", help="leave without DELETE (consent expiry ends the session)")
    parser.add_argument("--progress", action="store_true", help="also print each timeline sample as a JSON line")
    args = parser.parse_args()
    asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
