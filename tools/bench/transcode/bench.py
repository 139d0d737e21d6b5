#!/usr/bin/env python3
"""Live transcoder benchmark: LiveRelay's LiveTranscoder against ffmpeg's CLI doing the same job.

1. Makes the input: 1920x1080@30 testsrc2 + a tone, H.264 (x264 veryfast, 2 B-frames, 2 s GOP) + AAC, in FLV.
2. Runs LiveRelay's transcoder on it in real time (the opt-in test TranscodeBenchmark: FLV demuxed, pushed through a
   MediaRouter publication at the file's pace, default ladder: VP8 720p/360p/180p encoded together on libvpx's
   multi-resolution encoder as libwebrtc does (`--independent-vp8`: one encoder per rung), H.264 360p/180p for CMAF
   (the source itself is passed through as the top rendition), Opus 96 kb/s) and reads the CPU it used, per-layer
   encode latency p50/p99 and drops.
3. Runs ffmpeg's CLI on the same job with the same libraries and settings: one decode (one thread), one
   bilinear scale per size (720p from the source, 360p from 720p, 180p from 360p) split to its encoders, libvpx
   realtime CBR cpu-used -6 (-4 for 180p, as LiveRelay) one thread per layer with the same rate-control buffers and
   quantizer range, libx264 veryfast zerolatency without B-frames with keyframes forced at the source's, libopus
   96 kb/s 20 ms FEC. It runs as fast as it can; its CPU-seconds are what count.
4. With `--concurrent`, each round also runs the two side by side: ffmpeg at the input's pace (-re) starts with
   LiveRelay's run, so both share the machine's state of the moment (a drift of its speed between runs, which moves
   the sequential ratio by ±10 %, touches both alike); each one's CPU is its own (LiveRelay's rusage over its run,
   ffmpeg's from wait4). Both then run slower than alone (two live transcoders on two cores), so this ratio is the
   relative cost under the same load, not either one's cost alone.
Prints Markdown rows for docs/benchmarks.md.

usage: tools/bench/transcode/bench.py [--seconds 60] [--configuration release|debug] [--package-path .]
       [--scratch-path .build] [--skip-build] [--input file.flv] [--ffmpeg-live] [--concurrent] [--repeat N]
       [--independent-vp8]
"""
import argparse, json, os, resource, statistics, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))


def make_input(path, seconds):
    subprocess.run([
        "ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
        "-f", "lavfi", "-i", "testsrc2=size=1920x1080:rate=30", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
        "-t", str(seconds), "-c:v", "libx264", "-preset", "veryfast", "-bf", "2", "-g", "60", "-keyint_min", "60",
        "-sc_threshold", "0", "-b:v", "6M", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "128k", "-ac", "2",
        "-f", "flv", path], check=True)


def children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_liverelay(args, path):
    # A release build of the tests needs -enable-testing (the benchmark reads the transcoder's statistics).
    flags = ["-c", "release", "-Xswiftc", "-enable-testing"] if args.configuration == "release" else []
    scratch = ["--scratch-path", args.scratch_path] if args.scratch_path else []
    if not args.skip_build:
        subprocess.run(["swift", "build", "--build-tests", "--package-path", args.package_path] + flags + scratch, check=True)
    env = dict(os.environ, LIVERELAY_TRANSCODE_BENCH_INPUT=path,
               LIVERELAY_TRANSCODE_BENCH_SIMULCAST="0" if args.independent_vp8 else "1")
    command = ["swift", "test", "--skip-build", "--package-path", args.package_path,
               "--filter", "TranscodeBenchmark"] + flags + scratch
    output = subprocess.run(command, env=env, capture_output=True, text=True).stdout
    for line in output.splitlines():
        if line.startswith("transcode-bench "):
            return json.loads(line[len("transcode-bench "):])
    sys.exit("no transcode-bench line in the test output:\n" + output[-3000:])


def vp8(label, width, height, kbps):
    # LiveRelay's speed per layer (VP8EncoderConfiguration.effectiveCPUUsed, as libwebrtc): −4 below CIF, −6 above.
    speed = "-4" if width * height < 352 * 288 else "-6"
    return [f"[{label}]", "-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", speed, "-threads", "1",
            "-b:v", f"{kbps}k", "-minrate", f"{kbps}k", "-maxrate", f"{kbps}k", "-bufsize", f"{kbps}k",
            "-rc_init_occupancy", f"{kbps * 500 // 1000}k", "-undershoot-pct", "100", "-overshoot-pct", "15",
            "-qmin", "2", "-qmax", "56", "-lag-in-frames", "0", "-error-resilient", "1", "-g", "60",
            "-static-thresh", "1", "-max-intra-rate", "900", "-f", "null", "-"]


def x264(label, kbps):
    return [f"[{label}]", "-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency", "-bf", "0",
            "-b:v", f"{kbps}k", "-maxrate", f"{kbps}k", "-bufsize", f"{kbps}k", "-threads", "1",
            "-x264-params", "scenecut=0:open-gop=0", "-force_key_frames", "source", "-f", "null", "-"]


def ffmpeg_command(path, live=False):
    # Each size scaled once, from the smallest larger one at twice its size, as LiveRelay does: 1080p → 720p → 360p → 180p.
    graph = ("[0:v]scale=1280:720:flags=bilinear,split=2[v720][s720];"
             "[s720]scale=640:360:flags=bilinear,split=3[v360][h360][s360];"
             "[s360]scale=320:180:flags=bilinear,split=2[v180][h180]")
    # One decoding thread, as LiveRelay uses up to 1080p60.
    command = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-threads", "1"] + (["-re"] if live else [])
    command += ["-i", path, "-filter_complex", graph]
    for label, width, height, kbps in [("v720", 1280, 720, 2500), ("v360", 640, 360, 800), ("v180", 320, 180, 200)]:
        command += ["-map"] + vp8(label, width, height, kbps)
    # The top rung of the DASH/HLS ladder is the 1080p source itself (passthrough): H.264 360p and 180p only.
    for label, kbps in [("h360", 800), ("h180", 200)]:
        command += ["-map"] + x264(label, kbps)
    command += ["-map", "0:a", "-c:a", "libopus", "-b:a", "96k", "-frame_duration", "20", "-fec", "1",
                "-packet_loss", "10", "-ar", "48000", "-ac", "2", "-f", "null", "-"]
    return command


def run_ffmpeg(path, live=False):
    """ffmpeg's CPU-seconds and wall time; `live`: reading the input at its own pace (-re), as LiveRelay gets it."""
    command = ffmpeg_command(path, live)
    before = children_cpu()
    start = time.monotonic()
    subprocess.run(command, check=True)
    return children_cpu() - before, time.monotonic() - start


def run_side_by_side(args, path):
    """LiveRelay's run and ffmpeg at the input's pace at the same time: (LiveRelay's report, ffmpeg's CPU-seconds)."""
    ffmpeg = subprocess.Popen(ffmpeg_command(path, live=True))
    try:
        ours = run_liverelay(args, path)
    finally:
        _, status, usage = os.wait4(ffmpeg.pid, 0)
        ffmpeg.returncode = os.waitstatus_to_exitcode(status)
    if ffmpeg.returncode != 0:
        sys.exit(f"ffmpeg side by side exited with {ffmpeg.returncode}")
    counters = {"minor_faults": usage.ru_minflt, "context_switches": usage.ru_nvcsw + usage.ru_nivcsw}
    return ours, usage.ru_utime + usage.ru_stime, counters


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--package-path", default=ROOT)
    parser.add_argument("--scratch-path")
    parser.add_argument("--skip-build", action="store_true")
    parser.add_argument("--configuration", choices=["debug", "release"], default="release")
    parser.add_argument("--input", help="reuse an FLV made earlier")
    parser.add_argument("--repeat", type=int, default=1, help="rounds of LiveRelay and ffmpeg, medians printed")
    parser.add_argument("--ffmpeg-live", action="store_true",
                        help="also run ffmpeg at the input's pace (-re), the way a live transcoder receives it")
    parser.add_argument("--independent-vp8", action="store_true",
                        help="LiveRelay with one VP8 encoder per rung instead of libvpx's multi-resolution encoder")
    parser.add_argument("--concurrent", action="store_true",
                        help="also run LiveRelay and ffmpeg -re side by side in each round (ratio under the same load)")
    args = parser.parse_args()
    directory = tempfile.mkdtemp(prefix="liverelay-transcode-bench-")
    path = args.input or os.path.join(directory, "input.flv")
    if not args.input:
        make_input(path, args.seconds)
    # Rounds interleave LiveRelay and ffmpeg, so a drift of the machine's speed touches both; medians are printed.
    rounds = []
    for number in range(1, args.repeat + 1):
        ours = run_liverelay(args, path)
        args.skip_build = True
        fast_cpu, fast_wall = run_ffmpeg(path)
        live_cpu, live_wall = run_ffmpeg(path, live=True) if args.ffmpeg_live else (None, None)
        paired = run_side_by_side(args, path) if args.concurrent else None
        media = ours["media_seconds"]
        rounds.append({"ours": ours, "fast": fast_cpu, "fastWall": fast_wall, "live": live_cpu, "liveWall": live_wall,
                       "paired": paired})
        if args.repeat > 1 or paired:
            live = f", ffmpeg at the input's pace {live_cpu / media:.2f}" if live_cpu else ""
            side = (f"; side by side: LiveRelay {paired[0]['cpu_seconds'] / media:.2f}, ffmpeg -re {paired[1] / media:.2f}, "
                    f"ratio {paired[0]['cpu_seconds'] / paired[1]:.3f}; minor faults {paired[0].get('minor_faults', -1)} "
                    f"vs {paired[2]['minor_faults']}, context switches {paired[0].get('context_switches', -1)} "
                    f"vs {paired[2]['context_switches']}") if paired else ""
            print(f"round {number}: LiveRelay {ours['cpu_seconds'] / media:.2f} CPU-s/s, ffmpeg as fast as it goes "
                  f"{fast_cpu / media:.2f}{live}{side}", file=sys.stderr)
    rounds.sort(key=lambda r: r["ours"]["cpu_seconds"])
    ours = rounds[len(rounds) // 2]["ours"]
    media = ours["media_seconds"]
    ours_rate = ours["cpu_seconds"] / media
    ffmpeg_cpu = statistics.median(r["fast"] for r in rounds)
    ffmpeg_wall = statistics.median(r["fastWall"] for r in rounds)
    ffmpeg_rate = ffmpeg_cpu / media
    drops = sum(int(layer["dropped"]) for layer in ours["layers"].values()) + ours["decoder_drops"]
    runs = f"median of {len(rounds)} rounds, " if len(rounds) > 1 else ""
    print(f"| live transcoder, 1080p30 H.264 (2 B-frames) + AAC, {media:.0f} s, default ladder "
          f"(VP8 720/360/180 + H.264 360/180 + source passthrough + Opus), {args.configuration} build, {runs}load average {os.getloadavg()[0]:.1f} | {ours_rate:.2f} CPU-s per s of input "
          f"(ffmpeg CLI, same job: {ffmpeg_rate:.2f}; ratio {ours_rate / ffmpeg_rate:.2f}); "
          f"real-time factor {1 / ours_rate:.1f}× per core; drops {drops} | `tools/bench/transcode/bench.py` |")
    for name in sorted(ours["layers"]):
        layer = ours["layers"][name]
        print(f"| live transcoder encode latency, {name} | p50 {layer['p50_ms']:.0f} ms, p99 {layer['p99_ms']:.0f} ms, "
              f"{int(layer['frames'])} frames, {int(layer['dropped'])} dropped, {layer['kbps']:.0f} kb/s "
              f"| same run |")
    print(f"| ffmpeg CLI on the same job (as fast as it goes) | {ffmpeg_cpu:.1f} CPU-s in {ffmpeg_wall:.1f} s wall "
          f"| same run |")
    if args.ffmpeg_live:
        live_cpu = statistics.median(r["live"] for r in rounds)
        live_wall = statistics.median(r["liveWall"] for r in rounds)
        print(f"| ffmpeg CLI on the same job at the input's pace (-re) | {live_cpu:.1f} CPU-s in {live_wall:.1f} s wall: "
              f"{live_cpu / media:.2f} CPU-s per s of input; LiveRelay ÷ this: {ours['cpu_seconds'] / live_cpu:.2f} "
              f"| same run, `--ffmpeg-live` |")
    if args.concurrent:
        ratios = sorted(r["paired"][0]["cpu_seconds"] / r["paired"][1] for r in rounds)
        paired_ours = statistics.median(r["paired"][0]["cpu_seconds"] for r in rounds) / media
        paired_ffmpeg = statistics.median(r["paired"][1] for r in rounds) / media
        paired_drops = [sum(int(layer["dropped"]) for layer in r["paired"][0]["layers"].values()) + r["paired"][0]["decoder_drops"]
                        for r in rounds]
        print(f"| side by side (LiveRelay and ffmpeg -re at the same time) | LiveRelay {paired_ours:.2f}, ffmpeg {paired_ffmpeg:.2f} "
              f"CPU-s per s of input; ratio median {statistics.median(ratios):.3f} (rounds: {' · '.join(f'{x:.3f}' for x in ratios)}); "
              f"LiveRelay's drops {paired_drops} | same run, `--concurrent` |")

if __name__ == "__main__":
    main()
