#!/usr/bin/env python3
"""Pacing: video loss of one viewer behind a narrow link, with each viewer's pacer on and off.

A viewer's access link is modelled by a network namespace whose incoming direction is throttled with `tc tbf`
(tools/interop/netns.py: a burst of two full frames or 10 ms at the rate, 50 ms of queue — a shallow buffer as on a
home router or a cell). `liverelay serve --demo` (release build) runs on the host side; one `liverelay-loadgen`
viewer (decrypt mode, capped at `--layer`, no feedback so the estimate never moves it) joins from the namespace and
counts its video loss from the sequence numbers. The same run is repeated for every `--factors` value of
`webrtc.pacingFactor` (0: off, a frame's packets back to back) and every `--rates` link rate, each on a fresh server.

The link is wider than the rung costs on average; what it loses is the bursts: a keyframe several times a delta
frame's size sent at the host's speed overflows the link's queue, while a paced keyframe is spread so the link
drains it as it comes.

usage: sudo tools/bench/pacing/bench.py --server-bin .build/release/liverelay --loadgen-bin .build/release/liverelay-loadgen
           [--rates 1mbit,1500kbit] [--factors 0,2.5] [--layer 360p] [--seconds 40]
Prints a table (stderr) and one JSON object (stdout, last line). Needs root (namespaces, tc, nft).
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "fanout"))
sys.path.insert(0, os.path.join(HERE, "..", "..", "interop"))
from bench import STREAM, SetupFailure, http_get, webrtc_metrics, write_config  # noqa: E402  (tools/bench/fanout)
from netns import ViewerHost  # noqa: E402  (tools/interop)


def log(message):
    print(f"[pacing {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def loadgen(args, host, seconds):
    command = ["ip", "netns", "exec", host.name, args.loadgen_bin,
               "--url", f"http://{host.host_address}:{args.http_port}/whep/{STREAM}", "--viewers", "1",
               "--seconds", f"{seconds:.1f}", "--mode", "decrypt", "--feedback", "none", "--max-layer", args.layer,
               "--json", "--summary-interval", "10"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 90)
    for line in reversed(result.stdout.strip().splitlines()):
        try:
            return json.loads(line)
        except ValueError:
            continue
    raise SetupFailure(f"no loadgen report: {result.stderr[-2000:]}")


def run_one(args, host, rate, factor, work):
    config = os.path.join(work, f"config-{rate}-{factor}.yaml")
    write_config(config, work, args, host="0.0.0.0", maximum_viewers=10,
                 webrtc_extra=f"  publicAddresses: [{host.host_address}]\n  pacingFactor: {factor}\n")
    shutil.rmtree(os.path.join(work, "data"), ignore_errors=True)
    server_log = open(os.path.join(work, f"server-{rate}-{factor}.log"), "w")
    server = subprocess.Popen([args.server_bin, "serve", "--demo", "--config", config],
                              stdout=server_log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{args.http_port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if server.poll() is not None:
                raise SetupFailure(f"server exited with {server.returncode}")
            try:
                if http_get(f"{base}/healthz", timeout=1)[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise SetupFailure("server did not answer /healthz")
            time.sleep(0.2)
        host.shape(rate)
        # The encoders need a few seconds before WHEP answers; a viewer that comes too early gets 409 and retries.
        report = None
        for _ in range(20):
            before = webrtc_metrics(base)
            report = loadgen(args, host, args.seconds)
            if report.get("joined", 0) == 1:
                break
            time.sleep(2)
        after = webrtc_metrics(base)
        status = host.status()
    finally:
        host.unshape()
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
        server_log.close()
    if not report or report.get("joined", 0) != 1:
        raise SetupFailure(f"the viewer did not join: {report}")

    def delta(name):
        return after.get(name, 0.0) - before.get(name, 0.0)
    video = delta('liverelay_webrtc_packets_sent_total{kind="video"}')
    return {
        "rate": rate, "pacingFactor": factor, "layer": args.layer, "seconds": args.seconds,
        "videoLossPercent": report.get("videoLossPercent"), "videoExpected": report.get("videoExpected"),
        "videoLost": report.get("videoLost"), "viewerKbps": (report.get("viewerBitrateKbps") or {}).get("p50"),
        "pacedPacketsPercent": round(delta("liverelay_webrtc_paced_packets_total") * 100 / video, 2) if video else None,
        "pacedFramesDropped": int(delta("liverelay_webrtc_paced_frames_dropped_total")),
        "linkDropped": (status.get("qdisc") or {}).get("drops"),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server-bin", required=True)
    parser.add_argument("--loadgen-bin", required=True)
    parser.add_argument("--rates", default="1mbit,1500kbit")
    parser.add_argument("--factors", default="0,2.5")
    parser.add_argument("--layer", default="360p")
    parser.add_argument("--seconds", type=float, default=40)
    parser.add_argument("--http-port", type=int, default=18480)
    parser.add_argument("--rtmp-port", type=int, default=18481)
    parser.add_argument("--udp-port", type=int, default=18482)
    args = parser.parse_args()
    for binary in (args.server_bin, args.loadgen_bin):
        if not os.access(binary, os.X_OK):
            raise SystemExit(f"not an executable: {binary}")
    args.server_bin, args.loadgen_bin = os.path.abspath(args.server_bin), os.path.abspath(args.loadgen_bin)
    work = tempfile.mkdtemp(prefix="liverelay-bench-pacing-")
    host = ViewerHost("lr-pacing")
    host.create(owner=os.getpid())
    results = []
    try:
        for rate in args.rates.split(","):
            for factor in (float(f) for f in args.factors.split(",")):
                log(f"link {rate}, pacingFactor {factor}: {args.seconds:.0f} s on {args.layer}")
                result = run_one(args, host, rate, factor, work)
                log(f"  video loss {result['videoLossPercent']} % ({result['videoLost']} of {result['videoExpected']}), "
                    f"{result['viewerKbps']} kbit/s, paced packets {result['pacedPacketsPercent']} %, "
                    f"link drops {result['linkDropped']}")
                results.append(result)
    finally:
        host.destroy()
    log("| link | pacing factor | video loss % | lost / expected | viewer kbit/s | paced packets % |")
    for r in results:
        log(f"| {r['rate']} | {r['pacingFactor'] or 'off'} | {r['videoLossPercent']} | {r['videoLost']} / "
            f"{r['videoExpected']} | {r['viewerKbps']} | {r['pacedPacketsPercent']} |")
    print(json.dumps({"results": results, "work": work}))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
