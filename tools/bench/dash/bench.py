#!/usr/bin/env python3
"""DASH/HLS packager benchmark: availability latency, serving throughput against nginx, window memory.

Starts a LiveRelay node, publishes a real-time ffmpeg test stream to it over RTMP, then measures
  (a) how long after a frame's arrival its LL-HLS part / full segment can be fetched (blocking playlist requests;
      PROGRAM-DATE-TIME of a segment is the wall-clock arrival time of its first frame, so a part's last frame
      arrived at PDT + the part's end offset),
  (b) requests/s and server CPU for one segment URL with wrk, against nginx serving the same bytes from disk,
  (c) bytes held by the window and the server's RSS, projected to a 10-minute window.
Prints a Markdown table for docs/benchmarks.md.

usage: tools/bench/dash/bench.py [--binary PATH] [--seconds 60] [--size 1280x720] [--fps 30] [--ladder source|default]
"""
import argparse, datetime, json, os, re, shutil, signal, statistics, subprocess, sys, tempfile, time, urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))


def http(url, method="GET", data=None, headers=None, timeout=30):
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.status, response.read()


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0


def pdt(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def parse_playlist(text):
    """Segments as dicts: number, pdt, duration, parts [(index, duration)]; plus the open segment's parts."""
    segments, parts, date = [], [], None
    for line in text.splitlines():
        if line.startswith("#EXT-X-PROGRAM-DATE-TIME:"):
            date = pdt(line.split(":", 1)[1])
        elif line.startswith("#EXT-X-PART:"):
            duration = float(re.search(r"DURATION=([0-9.]+)", line).group(1))
            uri = re.search(r'URI="([^"]+)"', line).group(1)
            number, index = map(int, uri.rsplit("/", 1)[1][:-4].split("."))
            parts.append((number, index, duration))
        elif line.startswith("#EXTINF:"):
            duration = float(line[8:].split(",")[0])
        elif line.endswith(".m4s") and not line.startswith("#"):
            number = int(line.rsplit("/", 1)[1][:-4])
            segments.append({"number": number, "pdt": date, "duration": duration})
            date = None
    return segments, parts


def percentile(values, p):
    values = sorted(values)
    if not values:
        return float("nan")
    k = (len(values) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def measure_latency(base, seconds, fps):
    """Follows the preload hint with blocking requests, part after part. A part's last frame arrived at the part's end
    on the PROGRAM-DATE-TIME clock minus one frame; latency = when the blocking request answered - that arrival."""
    playlist_url = f"{base}/hls/bench/source-video.m3u8"
    part_latency, segment_latency = [], []
    frame = 1.0 / fps
    deadline = time.time() + seconds
    _, body = http(playlist_url)
    while time.time() < deadline:
        hint = re.search(r'PRELOAD-HINT:TYPE=PART,URI="[^"]*/(\d+)\.(\d+)\.m4s"', body.decode())
        if not hint:
            time.sleep(0.2)
            _, body = http(playlist_url)
            continue
        number, index = int(hint.group(1)), int(hint.group(2))
        _, body = http(f"{playlist_url}?_HLS_msn={number}&_HLS_part={index}")
        answered = time.time()
        segments, parts = parse_playlist(body.decode())
        by_number = {s["number"]: s for s in segments}
        if number - 1 not in by_number:
            continue
        previous = by_number[number - 1]
        start = previous["pdt"] + previous["duration"]
        mine = [p for p in parts if p[0] == number and p[1] <= index]
        if len(mine) == index + 1:
            part_latency.append(answered - (start + sum(p[2] for p in mine) - frame))
            if number in by_number and not any(p[0] == number and p[1] > index for p in parts):
                segment_latency.append(part_latency[-1])
        elif number in by_number:
            # The part closed its segment: the segment became available with it.
            done = by_number[number]
            segment_latency.append(answered - (done["pdt"] + done["duration"] - frame))
    return part_latency, segment_latency


def wrk(url, seconds, connections, size, slack=1024):
    """Requests/s and bytes/s from wrk, refusing a run with any non-2xx answer or whose bytes per request are not
    `size` plus at most `slack` (headers; a live playlist also grows): an error page served fast is not throughput."""
    out = subprocess.run(["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds}s", url],
                         capture_output=True, text=True).stdout
    if "Non-2xx or 3xx responses" in out:
        sys.exit(f"wrk against {url} got error responses:\n{out}")
    requests = re.search(r"(\d+) requests in ([0-9.]+)s, ([0-9.]+)([KMGT]?B) read", out)
    rate = re.search(r"Requests/sec:\s+([0-9.]+)", out)
    if not requests or not rate:
        sys.exit(f"wrk against {url} printed no rate:\n{out}")
    scale = {"B": 1, "KB": 1024, "MB": 1024 ** 2, "GB": 1024 ** 3, "TB": 1024 ** 4}[requests.group(4)]
    per_request = float(requests.group(3)) * scale / int(requests.group(1))
    if not size <= per_request < size + slack:
        sys.exit(f"wrk against {url} read {per_request:.0f} bytes per request, not the {size}-byte object:\n{out}")
    return float(rate.group(1)), float(requests.group(3)) * scale / float(requests.group(2))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default=None)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--ladder", choices=("source", "default"), default="source",
                        help="source: passthrough rendition only (the serving figures get the cores); default: the "
                             "transcoder's default ladder as well, for the window memory of every rendition")
    parser.add_argument("--http-port", type=int, default=18480)
    parser.add_argument("--rtmp-port", type=int, default=11985)
    parser.add_argument("--nginx-port", type=int, default=18481)
    parser.add_argument("--profile", choices=("segment", "part", "playlist"),
                        help="perf record -g the server while wrk fetches this object; the report goes to stderr")
    args = parser.parse_args()
    binary = args.binary
    if binary is None:
        for build in ("release", "debug"):
            candidate = os.path.join(ROOT, ".build", build, "liverelay")
            if os.path.exists(candidate):
                binary = candidate
                break
    if binary is None:
        sys.exit("build liverelay first (swift build -c release) or pass --binary")

    work = tempfile.mkdtemp(prefix="liverelay-bench-dash-")
    config = os.path.join(work, "config.yaml")
    with open(config, "w") as f:
        f.write(f"http:\n  port: {args.http_port}\n  host: 127.0.0.1\nrtmp:\n  port: {args.rtmp_port}\n  host: 127.0.0.1\n"
                f"admin:\n  token: bench-admin-token-0123456789abcdef\nlog:\n  level: warning\ndataDirectory: {work}/data\n"
                # The source rendition only: a transcoder running beside it would take the cores the serving
                # figures are about.
                + ("transcoder:\n  enabled: true\n" if args.ladder == "default" else "transcoder:\n  enabled: false\n")
                + "webrtc:\n  enabled: false\n")
    server = subprocess.Popen([binary, "serve", "--config", config], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    publisher = nginx = None
    base = f"http://127.0.0.1:{args.http_port}"
    try:
        for _ in range(100):
            try:
                http(f"{base}/healthz")
                break
            except Exception:
                time.sleep(0.1)
        _, body = http(f"{base}/api/streams", "POST", json.dumps({"name": "bench"}).encode(),
                       {"Authorization": "Bearer bench-admin-token-0123456789abcdef", "Content-Type": "application/json"})
        key = json.loads(body)["publishKey"]
        # Encode first, publish with -re -c copy: frames then reach the server at the pace of their timestamps
        # whatever the load, so the PROGRAM-DATE-TIME clock is the arrival clock.
        total = args.seconds + 30
        source = os.path.join(work, "source.flv")
        subprocess.run([
            "ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin",
            "-f", "lavfi", "-i", f"testsrc2=size={args.size}:rate={args.fps}",
            "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", str(total),
            "-c:v", "libx264", "-preset", "veryfast", "-g", str(2 * args.fps), "-keyint_min", str(2 * args.fps),
            "-sc_threshold", "0", "-b:v", "3000k", "-maxrate", "3000k", "-bufsize", "3000k",
            "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "128k", "-y", source], check=True)
        publisher = subprocess.Popen([
            "ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-re", "-i", source, "-c", "copy", "-f", "flv",
            f"rtmp://127.0.0.1:{args.rtmp_port}/live/{key}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(6)
        rss_start = rss_mb(server.pid)
        part_latency, segment_latency = measure_latency(base, args.seconds, args.fps)
        # (c) what the window holds after `seconds` of media.
        held = 0
        held_seconds = 0.0
        held_by_track = {}
        _, master = http(f"{base}/hls/bench/master.m3u8")
        tracks = sorted(set(re.findall(r"([A-Za-z0-9_-]+)\.m3u8", master.decode())))
        for track in tracks:
            _, body = http(f"{base}/hls/bench/{track}.m3u8")
            segments, _ = parse_playlist(body.decode())
            for segment in segments:
                status, data = http(f"{base}/cmaf/bench/{track}/{segment['number']}.m4s", "HEAD")
                _, data = http(f"{base}/cmaf/bench/{track}/{segment['number']}.m4s")
                held += len(data)
                held_by_track[track] = held_by_track.get(track, 0) + len(data)
                if track == "source-video":
                    held_seconds += segment["duration"]
        rss_end = rss_mb(server.pid)

        # (b) serving one complete video segment and one LL part of it: LiveRelay from memory, nginx from disk.
        _, body = http(f"{base}/hls/bench/source-video.m3u8")
        segments, _ = parse_playlist(body.decode())
        number = segments[-1]["number"]
        objects = {"segment": f"{base}/cmaf/bench/source-video/{number}.m4s",
                   "part": f"{base}/cmaf/bench/source-video/{number}.1.m4s",
                   # Small and asked for every part by every LL-HLS player: the per-request cost, not the copy.
                   "playlist": f"{base}/hls/bench/source-video.m3u8"}
        root = os.path.join(work, "www")
        os.makedirs(root)
        # nginx's workers run as nobody: the temporary directory (0700) must let them in, or every answer is a 403.
        os.chmod(work, 0o755)
        os.chmod(root, 0o755)
        sizes = {}
        for name, url in objects.items():
            _, data = http(url)
            sizes[name] = len(data)
            with open(os.path.join(root, f"{name}.m4s"), "wb") as f:
                f.write(data)
            os.chmod(os.path.join(root, f"{name}.m4s"), 0o644)
        nginx_conf = os.path.join(work, "nginx.conf")
        with open(nginx_conf, "w") as f:
            f.write(f"daemon off; worker_processes 1; pid {work}/nginx.pid; error_log {work}/nginx.err;\n"
                    f"events {{ worker_connections 1024; }}\n"
                    f"http {{ access_log off; sendfile on; tcp_nopush on; keepalive_requests 100000;\n"
                    f"  server {{ listen 127.0.0.1:{args.nginx_port}; root {root}; }} }}\n")
        nginx = subprocess.Popen(["nginx", "-c", nginx_conf, "-p", work], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1)
        children = subprocess.run(["pgrep", "-P", str(nginx.pid)], capture_output=True, text=True).stdout.split()
        nginx_pids = [nginx.pid] + [int(c) for c in children]
        results = {}
        for kind, url in objects.items():
            for name, target, pids in (("liverelay", url, [server.pid]),
                                       ("nginx", f"http://127.0.0.1:{args.nginx_port}/{kind}.m4s", nginx_pids)):
                before = sum(cpu_seconds(p) for p in pids)
                started = time.time()
                # The live playlist gains a part line every ~0.33 s over the 10 s run.
                perf = None
                if args.profile == kind and name == "liverelay":
                    perf = subprocess.Popen(["perf", "record", "-F", "999", "-g", "-o", os.path.join(work, "perf.data"),
                                             "-p", str(server.pid), "--", "sleep", "8"],
                                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                rate, throughput = wrk(target, 10, 32, sizes[kind], slack=4096 if kind == "playlist" else 1024)
                if perf:
                    perf.wait()
                    report = subprocess.run(["perf", "report", "-i", os.path.join(work, "perf.data"), "--stdio",
                                             "--no-children", "-g", "none", "--sort", "dso,symbol", "--percent-limit", "0.8"],
                                            capture_output=True, text=True).stdout
                    print(report, file=sys.stderr)
                    for options in (["--no-children", "--sort", "comm"], ["--children", "--sort", "symbol"]):
                        print(subprocess.run(["perf", "report", "-i", os.path.join(work, "perf.data"), "--stdio", "-g", "none",
                                              "--percent-limit", "2", *options], capture_output=True, text=True).stdout,
                              file=sys.stderr)
                elapsed = time.time() - started
                used = sum(cpu_seconds(p) for p in pids) - before
                results[(kind, name)] = (rate, used / elapsed, throughput)

        print(f"\n| what | figure | command |\n|---|---|---|")
        print(f"| LL-HLS part available after its last frame arrived ({args.size}@{args.fps}, {len(part_latency)} parts) | "
              f"p50 {percentile(part_latency, 50) * 1000:.0f} ms, p95 {percentile(part_latency, 95) * 1000:.0f} ms | `tools/bench/dash/bench.py` |")
        print(f"| full segment available after its last frame arrived ({len(segment_latency)} segments) | "
              f"p50 {percentile(segment_latency, 50) * 1000:.0f} ms, p95 {percentile(segment_latency, 95) * 1000:.0f} ms | same |")
        for kind in objects:
            ours, theirs = results[(kind, "liverelay")], results[(kind, "nginx")]
            what = {"segment": "segment", "part": "LL-HLS part", "playlist": "media playlist (live, blocking-free GET)"}[kind]
            print(f"| serving one {sizes[kind] / 1024:.1f} KB {what}, wrk -t2 -c32 10 s, "
                  f"LiveRelay (memory) | {ours[0]:,.0f} req/s ({ours[2] / 1e9:.2f} GB/s) at {ours[1] * 100:.0f} % CPU | same |")
            print(f"| same bytes as a file from nginx 1.22 (page cache, sendfile, 1 worker) | {theirs[0]:,.0f} req/s "
                  f"({theirs[2] / 1e9:.2f} GB/s) at {theirs[1] * 100:.0f} % CPU (LiveRelay = {ours[0] / max(theirs[0], 1):.2f}x nginx) | same |")
        per_minute = held / max(held_seconds, 1) * 60
        renditions = ", ".join(f"{track} {bytes_ / max(held_seconds, 1) * 8 / 1000:.0f} kb/s" for track, bytes_ in held_by_track.items())
        ladder = "default ladder (source + H.264 rungs + AAC)" if args.ladder == "default" else "source rendition + AAC only"
        print(f"| window memory, {ladder}: {renditions} | {held / 1e6:.1f} MB held for {held_seconds:.0f} s "
              f"= {per_minute / 1e6:.1f} MB/min -> {per_minute * 10 / 1e6:.0f} MB for 10 min; RSS {rss_start:.0f} -> {rss_end:.0f} MB | same |")
        print(f"\nbinary: {binary}")
    finally:
        for process in (publisher, nginx):
            if process and process.poll() is None:
                process.terminate()
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
