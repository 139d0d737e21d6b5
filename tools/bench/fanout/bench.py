#!/usr/bin/env python3
"""WebRTC fan-out: server CPU per forwarded packet and memory per viewer, 100 to 1,000 WHEP viewers on loopback.

Starts `liverelay serve --demo` (release build) on fixed loopback ports with a temporary data directory and a YAML
config: the demo source (1280x720@30), the default ladder 720p/360p/180p with `cmaf: false` on every rung (no H.264
re-encode for DASH/HLS: this measures WebRTC fan-out, not the packager) and a 4 s packager window (the source's
passthrough rendition is still packaged; a longer window would grow the RSS while the steps run), WebRTC on one UDP
port.

1. Baseline: a hold with no viewers; the server's CPU then is the demo encoder, the decoder and the three VP8 rungs.
2. For each step N: `liverelay-loadgen --mode count` viewers split over the rung mix (by default three loadgen
   processes, one per `--max-layer` 720p / 360p / 180p, N/3 viewers each), all ramping together at `--ramp` joins/s
   in total. Once the ramp is over and the joins have settled, a window of `--seconds` is measured while the viewers
   hold: the server's CPU (utime+stime of /proc/PID/stat), SRTP packets and bytes sent (`/metrics`
   `liverelay_webrtc_packets_sent_total` summed over kinds, `liverelay_webrtc_bytes_sent_total`), the server's VmRSS,
   and the load generators' own CPU over the same window. Join time, joined/attempted and video loss come from the
   loadgen reports (their whole run: ramp and hold).
3. Derived: µs of server CPU per forwarded packet, raw (all the server's CPU in the window) and net (less the
   baseline rate, i.e. the encoders); KB of server RSS per viewer over the 0-viewer RSS.
4. Stops at the first step that saturates: fewer than `--min-joined` of the viewers joined, or video loss > `--max-loss` %.
   The load generators read GSO runs coalesced (UDP_GRO, their default; `--no-receive-offload` turns it off): on
   loopback the kernel otherwise re-cuts every run for the receiving socket inside the server's `sendmmsg`.
5. With `--profile-step N`, after that step's window `perf record -g` samples the server and the load generators for
   `--profile-seconds` (while the viewers still hold); the server's top symbols are printed (and kept in the JSON).
   The same samples split the kernel's receive work (stacks through `net_rx_action`) by the host it belongs to. On
   loopback a datagram is delivered to its socket inside the sender's system call: the viewers' receive of the media
   is charged to the server's egress loops, and the server's receive of the feedback to the load generators. With
   each direction's receive moved to its receiving host, as on a real network, the egress loops' µs per packet is
   printed as "own receive" next to the sampled figure.

usage: tools/bench/fanout/bench.py --server-bin PATH --loadgen-bin PATH [--steps 100,250,500,1000] [--seconds 20]
                                   [--mix 720p,360p,180p] [--ramp 50] [--profile-step 250] [--json out.json]
Prints a table (stderr) and one JSON summary object (stdout, last line). Exits non-zero only when the setup fails.
"""
import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

TOKEN = "fanout-bench-admin-token-0123456789abcdef"
STREAM = "demo"
RUNGS = {"720p": (1280, 720, 2500), "360p": (640, 360, 800), "180p": (320, 180, 200)}
TARGET_US_PER_PACKET = 3.0
TARGET_KB_PER_VIEWER = 150.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class SetupFailure(Exception):
    pass


def log(message):
    print(f"[fanout {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def http_get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.status, response.read().decode()


def loop_cpu_seconds(pid):
    """CPU seconds (user, system) of the server's NIO event-loop threads: with the demo source there is no RTMP and
    next to no HTTP, so this is the WebRTC egress shards (and their kernel send path) alone."""
    user = system = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/stat") as f:
                text = f.read()
        except OSError:
            continue
        name = text[text.index("(") + 1:text.rindex(")")]
        if not name.startswith("NIO-ELT"):
            continue
        fields = text[text.rindex(")") + 2:].split()
        user += int(fields[11])
        system += int(fields[12])
    return user / CLOCK_TICKS, system / CLOCK_TICKS


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


SERIES = re.compile(r'^(liverelay_webrtc_[a-z_]+)(\{[^}]*\})?\s+([0-9.eE+-]+)$')


def webrtc_metrics(base):
    """Every liverelay_webrtc_* series, summed by metric name (kinds, reasons)."""
    values = {}
    for line in http_get(f"{base}/metrics")[1].splitlines():
        match = SERIES.match(line.strip())
        if match:
            values[match.group(1)] = values.get(match.group(1), 0.0) + float(match.group(3))
            if match.group(2):
                key = match.group(1) + match.group(2)
                values[key] = values.get(key, 0.0) + float(match.group(3))
    return values


def write_config(path, work, args, host="127.0.0.1", maximum_viewers=None, webrtc_extra=""):
    """The server's YAML: the demo source, the ladder, HTTP and WebRTC on `host`; `webrtc_extra`: more `webrtc:` lines."""
    rungs = "".join(f"    - {{name: {name}, width: {w}, height: {h}, fps: 30, videoKbps: {kbps}, cmaf: false}}\n"
                    for name, (w, h, kbps) in RUNGS.items())
    viewers = maximum_viewers if maximum_viewers is not None else max(args.steps) + 100
    with open(path, "w") as f:
        f.write(f"http:\n  host: {host}\n  port: {args.http_port}\n"
                f"rtmp:\n  host: 127.0.0.1\n  port: {args.rtmp_port}\n"
                f"webrtc:\n  host: {host}\n  port: {args.udp_port}\n  maximumViewers: {viewers}\n"
                # every load-generator viewer comes from one address: lift the per-address WHEP limits
                f"  maximumPendingSessionsPerIP: {viewers}\n  offersPerSecondPerIP: 100000\n  offerBurstPerIP: {viewers}\n{webrtc_extra}"
                f"admin:\n  token: {TOKEN}\nlog:\n  level: warning\n  format: text\n"
                f"demo:\n  enabled: true\n  stream: {STREAM}\n  width: 1280\n  height: 720\n  fps: 30\n"
                f"dataDirectory: {work}/data\n"
                # The source is still packaged for DASH/HLS (its passthrough rendition); with the default 600 s
                # time-shift window the server's RSS would grow by the source's bitrate for ten minutes, with or
                # without viewers, and that growth would count as viewers' memory. The shortest window (4 s) is
                # full before the 0-viewer RSS is read.
                f"packager:\n  windowSeconds: 4\n"
                f"transcoder:\n  enabled: true\n  vp8Simulcast: {'false' if getattr(args, 'independent_vp8', False) else 'true'}\n"
                f"  ladder:\n{rungs}")


def wait_live(base, whep, server, loadgen_bin, work, timeout=120):
    """/healthz answers, then one loadgen viewer joins and receives video (WHEP answers 409 until the VP8 layers
    are encoding)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SetupFailure(f"server exited with {server.returncode}")
        try:
            if http_get(f"{base}/healthz", timeout=1)[0] == 200:
                break
        except OSError:
            pass
        time.sleep(0.2)
    else:
        raise SetupFailure("server did not answer /healthz")
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SetupFailure(f"server exited with {server.returncode}")
        report = Loadgen(loadgen_bin, whep, 1, None, 50, 1, work, "probe").report(timeout=30)
        if report and report.get("receivingVideo", 0) >= 1:
            return
        time.sleep(1.0)
    raise SetupFailure("the demo stream did not go live (no probe viewer received video)")


def split(n, parts):
    return [n // parts + (1 if i < n % parts else 0) for i in range(parts)]


class Loadgen:
    """One liverelay-loadgen process; its JSON report is the last stdout line."""

    def __init__(self, binary, whep, viewers, layer, ramp, seconds, work, tag, receive_offload=True):
        self.command = [binary, "--url", whep, "--viewers", str(viewers), "--ramp-per-second", f"{ramp:.3f}",
                        "--seconds", f"{seconds:.1f}", "--mode", "count", "--json", "--summary-interval", "5"]
        if not receive_offload:
            self.command.append("--no-receive-offload")
        if layer:
            self.command += ["--max-layer", layer]
        self.layer, self.viewers = layer, viewers
        self.stderr = open(os.path.join(work, f"loadgen-{tag}.log"), "w")
        self.process = subprocess.Popen(self.command, stdout=subprocess.PIPE, stderr=self.stderr, text=True)
        self.output = ""
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        self.output = self.process.stdout.read()

    def cpu(self):
        try:
            return cpu_seconds(self.process.pid)
        except OSError:
            return None

    def report(self, timeout):
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.reader.join(timeout=5)
        self.stderr.close()
        for line in reversed(self.output.strip().splitlines()):
            try:
                return json.loads(line)
            except ValueError:
                continue
        return None

    def kill(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def profile(pid, seconds, work, base, frequency=499, keep=None, call_graph="fp", viewer_pids=()):
    """perf record with call graphs on the server and the load generators; returns the server's top symbols by self
    time (perf report --no-children) and the receive attribution (`receive_attribution`)."""
    if shutil.which("perf") is None:
        return {"tool": None, "note": "perf not installed"}
    data = os.path.join(work, "perf.data")
    targets = ",".join(str(p) for p in (pid, *viewer_pids))
    before = webrtc_metrics(base).get("liverelay_webrtc_packets_sent_total", 0.0)
    record = subprocess.run(["perf", "record", "-F", str(frequency), "--call-graph", call_graph, "-o", data, "-p", targets, "--", "sleep", str(seconds)],
                            capture_output=True, text=True)
    packets = webrtc_metrics(base).get("liverelay_webrtc_packets_sent_total", 0.0) - before
    if record.returncode != 0 or not os.path.exists(data):
        return {"tool": "perf", "note": "perf record failed: " + record.stderr.strip()[-300:]}
    def perf_report(*options):
        return subprocess.run(["perf", "report", "-i", data, "--stdio", "--no-children", "-g", "none", "--pid", str(pid), *options],
                              capture_output=True, text=True).stdout

    def parse(text, pattern, key):
        return [{"percent": float(m.group(1)), key: m.group(2)}
                for m in (re.match(pattern, line) for line in text.splitlines()) if m]

    report = perf_report("--sort", "dso,symbol", "--percent-limit", "0.7")
    top = parse_symbols(report)
    dsos = parse(perf_report("--sort", "dso", "--percent-limit", "0.5"), r"^\s+([0-9.]+)%\s+(\S+)\s*$", "dso")
    threads = parse(perf_report("--sort", "comm", "--percent-limit", "0.5"), r"^\s+([0-9.]+)%\s+(.+?)\s*$", "thread")
    # The busiest event-loop thread is a WebRTC egress shard (its packets are the figure): its own top symbols, as
    # shares of its own samples.
    egress = next((t["thread"] for t in threads if t["thread"].startswith("NIO-ELT")), None)
    egress_top = []
    if egress:
        report_egress = perf_report("--comms", egress, "--percentage", "relative", "--sort", "dso,symbol",
                                    "--percent-limit", "0.7")
        egress_top = parse_symbols(report_egress)
        with open(os.path.join(work, "perf-report-egress.txt"), "w") as f:
            f.write(report_egress)
    for entries in (top, egress_top):
        demangle(entries)
    with open(os.path.join(work, "perf-report.txt"), "w") as f:
        f.write(report)
    if keep:
        shutil.copyfile(data, keep)
    return {"tool": f"perf record -F {frequency} --call-graph {call_graph}", "seconds": seconds, "top": top[:25], "byDso": dsos[:12],
            "byThread": threads[:12], "egressThread": egress, "egressTop": egress_top[:25],
            "receive": receive_attribution(data, pid, viewer_pids, frequency, packets)}


def receive_attribution(data, pid, viewer_pids, frequency, packets):
    """Splits the kernel's datagram receive (samples whose stack passes through `net_rx_action`) by where it ran:
    in the server's egress loops it is, on loopback, the load generators' sockets receiving the media; in the load
    generators it is mostly the server's socket receiving their feedback (a softirq can also run on whichever task
    is on the CPU, so the split is approximate). Samples are CPU time at `frequency` per second, so
    `usPerPacketLoopsSampled` is the egress loops' cost as the profile sees it and `usPerPacketLoopsOwnReceive` the
    same with each direction's receive charged to its receiver."""
    script = subprocess.run(["perf", "script", "-i", data, "-F", "comm,pid,tid,ip,sym"], capture_output=True, text=True)
    if script.returncode != 0:
        return {"note": "perf script failed: " + script.stderr.strip()[-300:]}
    # A sample is a header line "comm pid/tid" followed by its indented stack frames.
    samples = []
    for line in script.stdout.splitlines():
        if not line.strip():
            continue
        if not line[0].isspace():
            match = re.match(r"^(.*?)\s+(\d+)/\d+\s*$", line)
            samples.append([int(match.group(2)) if match else None, match.group(1).strip() if match else "", False])
        elif samples and "net_rx_action" in line:
            samples[-1][2] = True
    loops = [receiving for owner, comm, receiving in samples if owner == pid and comm.startswith("NIO-ELT")]
    viewers = [receiving for owner, _, receiving in samples if owner in set(viewer_pids)]
    if not packets or not loops:
        return {"note": "no egress-loop samples or no packets in the profile"}
    per_packet = 1e6 / frequency / packets
    loops_receive, viewers_receive = sum(loops), sum(viewers)
    return {"packets": int(packets), "loopSamples": len(loops), "loopSamplesReceiving": loops_receive,
            "loadgenSamples": len(viewers), "loadgenSamplesReceiving": viewers_receive,
            "loopReceivePercent": round(loops_receive * 100 / len(loops), 1),
            "usPerPacketLoopsSampled": round(len(loops) * per_packet, 2),
            "usPerPacketViewersReceiveInLoops": round(loops_receive * per_packet, 2),
            "usPerPacketServerReceiveInLoadgen": round(viewers_receive * per_packet, 2),
            "usPerPacketLoopsOwnReceive": round((len(loops) - loops_receive + viewers_receive) * per_packet, 2)}


def parse_symbols(text):
    """`perf report --sort dso,symbol` lines: percent, object, symbol."""
    entries = []
    for line in text.splitlines():
        match = re.match(r"^\s+([0-9.]+)%\s+(\S+)\s+\[[.k]\]\s+(.*)$", line)
        if match:
            entries.append({"percent": float(match.group(1)), "dso": match.group(2), "symbol": match.group(3).strip()[:160]})
    return entries


def demangle(entries):
    demangler = shutil.which("swift-demangle")
    if not demangler or not entries:
        return
    names = subprocess.run([demangler, "--simplified"], input="\n".join(e["symbol"] for e in entries),
                           capture_output=True, text=True).stdout.splitlines()
    if len(names) == len(entries):
        for entry, name in zip(entries, names):
            entry["symbol"] = name.strip()[:160]


def run_step(n, args, server, base, whep, work, baseline_rate, rss_zero):
    layers = args.mix or [None]
    counts = [c for c in split(n, len(layers))]
    ramp_seconds = n / args.ramp
    settle = args.settle
    extra = args.profile_seconds + 5 if args.profile_step == n else 0
    hold = args.seconds + settle + 6 + extra
    rss_before = rss_kib(server.pid)
    metrics_before_step = webrtc_metrics(base)
    started = time.monotonic()
    loadgens = [Loadgen(args.loadgen_bin, whep, count, layer, args.ramp * count / n, hold, work, f"{n}-{layer or 'any'}",
                        receive_offload=not args.no_receive_offload)
                for count, layer in zip(counts, layers) if count > 0]
    try:
        # Wait for the ramp to end, then until the viewer gauge stops climbing (or `settle` seconds pass).
        time.sleep(max(0.0, started + ramp_seconds - time.monotonic()))
        previous, deadline = -1, time.monotonic() + settle
        while time.monotonic() < deadline:
            viewers = webrtc_metrics(base).get("liverelay_webrtc_viewers", 0)
            if viewers >= n or viewers == previous:
                break
            previous = viewers
            time.sleep(1.0)
        time.sleep(1.0)
        window_start = time.monotonic()
        cpu0, m0, lg0 = cpu_seconds(server.pid), webrtc_metrics(base), [g.cpu() for g in loadgens]
        loops0 = loop_cpu_seconds(server.pid)
        rss_samples = []
        while time.monotonic() < window_start + args.seconds:
            rss_samples.append(rss_kib(server.pid))
            time.sleep(min(1.0, max(0.0, window_start + args.seconds - time.monotonic())))
        cpu1, m1, lg1 = cpu_seconds(server.pid), webrtc_metrics(base), [g.cpu() for g in loadgens]
        loops1 = loop_cpu_seconds(server.pid)
        window = time.monotonic() - window_start
        rss_hold = rss_kib(server.pid)
        rss_samples.append(rss_hold)
        viewers_in_window = m1.get("liverelay_webrtc_viewers", 0)
        perf = profile(server.pid, args.profile_seconds, work, base, args.profile_frequency, args.perf_data,
                       args.profile_call_graph, [g.process.pid for g in loadgens]) if args.profile_step == n else None
        reports = [g.report(timeout=hold + ramp_seconds + 60) for g in loadgens]
    finally:
        for g in loadgens:
            g.kill()
    metrics_after_step = webrtc_metrics(base)

    def delta(name):
        return m1.get(name, 0.0) - m0.get(name, 0.0)
    packets, sent_bytes = delta("liverelay_webrtc_packets_sent_total"), delta("liverelay_webrtc_bytes_sent_total")
    video = delta('liverelay_webrtc_packets_sent_total{kind="video"}')
    cpu = cpu1 - cpu0
    net_cpu = cpu - baseline_rate * window
    lg_cpu = sum((b or 0) - (a or 0) for a, b in zip(lg0, lg1))
    valid = [r for r in reports if r]
    attempted = sum(r["attempted"] for r in valid)
    joined = sum(r["joined"] for r in valid)
    expected = sum(r["videoExpected"] for r in valid)
    lost = sum(r["videoLost"] for r in valid)
    failures = {}
    for r in valid:
        for key, value in r.get("failures", {}).items():
            failures[key] = failures.get(key, 0) + value
    joins = [r["joinMilliseconds"] for r in valid if r.get("joinMilliseconds")]
    # Join percentiles over the processes: weighted by each one's joined count (p50) and the worst p95.
    join_p50 = (sum(j["p50"] * r["joined"] for j, r in zip(joins, valid)) / max(1, joined)) if joins else None
    join_p95 = max(j["p95"] for j in joins) if joins else None
    rss_peak = max(rss_samples)
    result = {
        "viewers": n, "mix": {layer or "any": count for count, layer in zip(counts, layers)},
        "attempted": attempted, "joined": joined, "failures": failures,
        "serverViewersInWindow": int(viewers_in_window),
        "windowSeconds": round(window, 2),
        "serverCpuSeconds": round(cpu, 3), "serverCpuPercent": round(cpu * 100 / window, 1),
        "serverNetCpuSeconds": round(net_cpu, 3),
        "packets": int(packets), "videoPackets": int(video), "bytes": int(sent_bytes),
        "packetsPerSecond": round(packets / window), "mbitPerSecond": round(sent_bytes * 8 / window / 1e6, 1),
        "usPerPacketRaw": round(cpu / packets * 1e6, 2) if packets else None,
        "usPerPacketNet": round(net_cpu / packets * 1e6, 2) if packets else None,
        # The egress event loops alone, split into user space and the kernel (on loopback the kernel's share
        # includes delivering each datagram to the receiving socket, which a NIC would not cost).
        "usPerPacketLoops": round((loops1[0] + loops1[1] - loops0[0] - loops0[1]) / packets * 1e6, 2) if packets else None,
        "usPerPacketLoopsUser": round((loops1[0] - loops0[0]) / packets * 1e6, 2) if packets else None,
        "usPerPacketLoopsKernel": round((loops1[1] - loops0[1]) / packets * 1e6, 2) if packets else None,
        "rssBeforeKiB": rss_before, "rssHoldKiB": rss_hold, "rssHoldPeakKiB": rss_peak,
        "kbPerViewer": round((rss_peak - rss_zero) * 1.024 / max(1, viewers_in_window or joined), 1),
        "kbPerViewerStep": round((rss_peak - rss_before) * 1.024 / max(1, viewers_in_window or joined), 1),
        "videoLossPercent": round(lost * 100 / expected, 3) if expected else None,
        "joinP50Ms": round(join_p50, 1) if join_p50 is not None else None, "joinP95Ms": join_p95,
        "loadgenCpuSecondsInWindow": round(lg_cpu, 2), "loadgenCpuPercentInWindow": round(lg_cpu * 100 / window, 1),
        "loadgenCpuPercentWholeRun": [r["loadgen"]["cpuPercent"] for r in valid],
        "loadgenPeakRssMiB": [r["loadgen"]["maximumResidentMiB"] for r in valid],
        "viewerKbpsP50": [r["viewerBitrateKbps"]["p50"] for r in valid if r.get("viewerBitrateKbps")],
        "retransmissions": int(delta("liverelay_webrtc_retransmissions_total")),
        "serverFramesDropped": int(delta("liverelay_webrtc_frames_dropped_total")),
        # Video packets that waited for their viewer's pacer, and frames dropped from a viewer's send queue.
        "pacedPacketsPercent": round(delta("liverelay_webrtc_paced_packets_total") * 100 / video, 2) if video else None,
        "pacedFramesDropped": int(delta("liverelay_webrtc_paced_frames_dropped_total")),
        "feedbackInStep": int(metrics_after_step.get("liverelay_webrtc_feedback_received_total", 0)
                              - metrics_before_step.get("liverelay_webrtc_feedback_received_total", 0)),
        "loadgenReports": len(valid),
    }
    if perf is not None:
        result["profile"] = perf
    return result


def wait_viewers_gone(base, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if webrtc_metrics(base).get("liverelay_webrtc_viewers", 0) == 0:
            return True
        time.sleep(0.5)
    return False


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server-bin", required=True, help="liverelay executable (release build)")
    parser.add_argument("--loadgen-bin", required=True, help="liverelay-loadgen executable (release build)")
    parser.add_argument("--steps", default="100,250,500,1000")
    parser.add_argument("--seconds", type=float, default=20, help="measured window while the viewers hold")
    parser.add_argument("--baseline-seconds", type=float, default=20, help="0-viewer hold measured first")
    parser.add_argument("--independent-vp8", action="store_true",
                        help="one VP8 encoder per rung instead of libvpx's multi-resolution encoder (transcoder.vp8Simulcast: false)")
    parser.add_argument("--webrtc-threads", type=int, default=0,
                        help="the server's webrtc.threads (egress shards); 0: its default, one per core")
    parser.add_argument("--mix", default="720p,360p,180p",
                        help="one loadgen process per listed --max-layer, viewers split evenly; 'any' = one process, no cap")
    parser.add_argument("--ramp", type=float, default=50, help="joins per second over all loadgen processes")
    parser.add_argument("--settle", type=float, default=10, help="at most this long after the ramp for joins to finish")
    parser.add_argument("--http-port", type=int, default=18780)
    parser.add_argument("--rtmp-port", type=int, default=19735)
    parser.add_argument("--udp-port", type=int, default=19300)
    parser.add_argument("--min-joined", type=float, default=0.95, help="saturated below this joined/attempted")
    parser.add_argument("--max-loss", type=float, default=5.0, help="saturated above this video loss, %%")
    parser.add_argument("--profile-step", type=int, default=0, help="perf-record the server at this step (0: never)")
    parser.add_argument("--profile-seconds", type=float, default=10)
    parser.add_argument("--profile-frequency", type=int, default=499, help="perf samples per second")
    parser.add_argument("--profile-call-graph", default="fp",
                        help="perf's call-graph mode: fp (cheap; leaf runtime calls lose their caller) or dwarf,16384")
    parser.add_argument("--perf-data", help="keep the perf.data of the profile here (for perf report -g caller)")
    parser.add_argument("--no-receive-offload", action="store_true",
                        help="viewers without UDP_GRO: on loopback the server's kernel then also re-cuts every GSO run")
    parser.add_argument("--json", help="also write the summary to this file")
    parser.add_argument("--keep-work", action="store_true")
    args = parser.parse_args()
    args.steps = [int(s) for s in args.steps.split(",") if s.strip()]
    args.mix = [] if args.mix.strip() == "any" else [m.strip() for m in args.mix.split(",") if m.strip()]
    for binary in (args.server_bin, args.loadgen_bin):
        if not os.access(binary, os.X_OK):
            sys.exit(f"not an executable: {binary}")

    work = tempfile.mkdtemp(prefix="liverelay-bench-fanout-")
    config = os.path.join(work, "config.yaml")
    write_config(config, work, args, webrtc_extra=f"  threads: {args.webrtc_threads}\n" if args.webrtc_threads else "")
    server_log = open(os.path.join(work, "server.log"), "w")
    server = subprocess.Popen([args.server_bin, "serve", "--demo", "--config", config],
                              stdout=server_log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{args.http_port}"
    whep = f"{base}/whep/{STREAM}"
    steps, saturated, baseline = [], None, {}
    try:
        wait_live(base, whep, server, args.loadgen_bin, work)
        wait_viewers_gone(base)
        log(f"server pid {server.pid} live; warming up 5 s")
        time.sleep(5)
        rss_zero = rss_kib(server.pid)
        cpu0, t0 = cpu_seconds(server.pid), time.monotonic()
        time.sleep(args.baseline_seconds)
        baseline_cpu, baseline_wall = cpu_seconds(server.pid) - cpu0, time.monotonic() - t0
        baseline_rate = baseline_cpu / baseline_wall
        # Memory per viewer is read over `rss_zero`: a server that grows without viewers would be charged to them.
        rss_drift = rss_kib(server.pid) - rss_zero
        baseline = {"seconds": round(baseline_wall, 1), "cpuSeconds": round(baseline_cpu, 3),
                    "cpuPercent": round(baseline_rate * 100, 1), "rssKiB": rss_zero, "rssDriftKiB": rss_drift}
        log(f"baseline (0 viewers): {baseline['cpuPercent']} % of a core, RSS {rss_zero / 1024:.1f} MiB, "
            f"{rss_drift / 1024:+.1f} MiB over the {baseline_wall:.0f} s hold")
        for n in args.steps:
            log(f"step {n} viewers, mix {args.mix or ['any']}")
            step = run_step(n, args, server, base, whep, work, baseline_rate, rss_zero)
            steps.append(step)
            log(f"step {n}: joined {step['joined']}/{step['attempted']}, loss {step['videoLossPercent']} %, "
                f"server {step['serverCpuPercent']} % ({step['usPerPacketRaw']} µs/pkt raw, {step['usPerPacketNet']} net, "
                f"{step['usPerPacketLoops']} on the egress loops: {step['usPerPacketLoopsUser']} user + "
                f"{step['usPerPacketLoopsKernel']} kernel), "
                f"{step['packetsPerSecond']} pkt/s, {step['kbPerViewer']} KB/viewer, loadgen {step['loadgenCpuPercentInWindow']} %")
            reasons = []
            if step["attempted"] == 0 or step["joined"] < args.min_joined * step["attempted"]:
                reasons.append(f"joined {step['joined']}/{step['attempted']}")
            if step["videoLossPercent"] is not None and step["videoLossPercent"] > args.max_loss:
                reasons.append(f"video loss {step['videoLossPercent']} %")
            if reasons:
                saturated = {"viewers": n, "reasons": reasons}
                log(f"saturated at {n}: {', '.join(reasons)}")
                break
            if not wait_viewers_gone(base):
                log("viewers still on the server 30 s after the step; going on")
            time.sleep(3)
    except SetupFailure as failure:
        log(f"setup failed: {failure} (work directory {work})")
        args.keep_work = True
        return 2
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        server_log.close()
        with open(os.path.join(work, "server.log"), errors="replace") as f:
            warnings = [line for line in f if "WARNING" in line or "ERROR" in line]
        demo_behind = sum(1 for line in warnings if "fell behind" in line)
        if not args.keep_work:
            shutil.rmtree(work, ignore_errors=True)

    summary = {
        "serverBin": args.server_bin, "loadgenBin": args.loadgen_bin, "cpus": os.cpu_count(),
        "demo": "1280x720@30", "ladder": {k: f"{w}x{h} {kbps}k, cmaf false" for k, (w, h, kbps) in RUNGS.items()},
        "mix": args.mix or ["any"], "rampPerSecond": args.ramp, "windowSeconds": args.seconds,
        "baseline": baseline, "steps": steps, "saturated": saturated,
        "targets": {"usPerPacket": TARGET_US_PER_PACKET, "kbPerViewer": TARGET_KB_PER_VIEWER},
        "loadAverage1m": round(os.getloadavg()[0], 2),
        "serverLog": {"warningsOrErrors": len(warnings), "demoFellBehind": demo_behind,
                      "sample": [line.strip()[:200] for line in warnings[-5:]]},
    }
    header = ("| viewers | joined | server CPU % | pkt/s | Mbit/s | µs/pkt raw | µs/pkt net | µs/pkt egress loops (user + kernel) | RSS MiB | KB/viewer "
              "| join p50/p95 ms | loss % | loadgen CPU % |")
    lines = [header, "|" + "---|" * (header.count("|") - 1)]
    lines.append(f"| 0 (baseline) | - | {baseline.get('cpuPercent')} | - | - | - | - | - | {baseline.get('rssKiB', 0) / 1024:.1f} "
                 f"| - | - | - | - |")
    for s in steps:
        lines.append(f"| {s['viewers']} | {s['joined']}/{s['attempted']} | {s['serverCpuPercent']} | {s['packetsPerSecond']} "
                     f"| {s['mbitPerSecond']} | {s['usPerPacketRaw']} | {s['usPerPacketNet']} "
                     f"| {s['usPerPacketLoops']} ({s['usPerPacketLoopsUser']} + {s['usPerPacketLoopsKernel']}) | {s['rssHoldPeakKiB'] / 1024:.1f} "
                     f"| {s['kbPerViewer']} | {s['joinP50Ms']} / {s['joinP95Ms']} | {s['videoLossPercent']} "
                     f"| {s['loadgenCpuPercentInWindow']} |")
    print("\n".join(lines), file=sys.stderr)
    for s in steps:
        if "profile" in s and s["profile"].get("top"):
            print(f"\nprofile at {s['viewers']} viewers (self time):", file=sys.stderr)
            for entry in s["profile"]["top"][:15]:
                print(f"  {entry['percent']:5.2f}%  {entry['dso']}  {entry['symbol']}", file=sys.stderr)
            print("  by thread: " + ", ".join(f"{t['thread']} {t['percent']}%" for t in s["profile"].get("byThread", [])),
                  file=sys.stderr)
            print("  by object: " + ", ".join(f"{d['dso']} {d['percent']}%" for d in s["profile"].get("byDso", [])),
                  file=sys.stderr)
            receive = s["profile"].get("receive", {})
            if "usPerPacketLoopsOwnReceive" in receive:
                print(f"  egress loops, sampled: {receive['usPerPacketLoopsSampled']} µs/pkt, of which the viewers' receive "
                      f"{receive['usPerPacketViewersReceiveInLoops']} ({receive['loopReceivePercent']} %); the server's "
                      f"receive in the load generators {receive['usPerPacketServerReceiveInLoadgen']}; own receive: "
                      f"{receive['usPerPacketLoopsOwnReceive']} µs/pkt", file=sys.stderr)
            elif receive:
                print(f"  receive attribution: {receive.get('note')}", file=sys.stderr)
            if s["profile"].get("egressThread"):
                print(f"  egress thread {s['profile']['egressThread']} (share of its own samples):", file=sys.stderr)
                for entry in s["profile"].get("egressTop", [])[:20]:
                    print(f"  {entry['percent']:5.2f}%  {entry['dso']}  {entry['symbol']}", file=sys.stderr)
    print(f"saturated: {saturated or 'not within the steps'}", file=sys.stderr)
    print(json.dumps(summary))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(summary, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
