#!/usr/bin/env python3
"""Reactions through the event channel against a running LiveRelay server, with the load generated out of process:
accepted reactions per second and the delay from an aggregate's window to its arrival at every listener.

1. Starts the given liverelay binary on a loopback port (a temporary data directory, SQLite, the per-user reaction
   limit raised so that a few sender connections can carry the whole load).
2. A listener process opens --listeners WebSocket connections to /api/streams/bench/events and reads every
   `reactions` aggregate: the counts it carries, and (its arrival − its `at`) as the delivery delay.
3. --senders connections send `{"type":"reaction","reaction":"heart"}` frames at --rate per second in total, in
   bursts every 10 ms. Frames are built once (each with its own random mask key) and written in bulk, so the
   generator costs little CPU beside the server.
4. Prints a Markdown row: sent/s, accepted/s (the counts the aggregates carried, per listener), delay p50/p99.

usage: tools/bench/audience/reactions_ws.py [--binary .build/release/liverelay] [--rate 50000] [--seconds 10]
       [--listeners 1000] [--senders 8]
"""
import argparse, asyncio, base64, json, multiprocessing, os, struct, sys, time

from benchserver import mint, server_cpu, start

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
SECRET = "reactions-benchmark-secret-0123456789"
MESSAGE = b'{"type":"reaction","reaction":"heart"}'


def masked_frame(payload):
    mask = os.urandom(4)
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return bytes([0x81, 0x80 | len(payload)]) + mask + body


async def open_socket(port, path):
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 20)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    head = await reader.readuntil(b"\r\n\r\n")
    if b" 101 " not in head.split(b"\r\n")[0]:
        raise RuntimeError(f"upgrade refused: {head[:200]!r}")
    return reader, writer


async def read_frames(reader, writer, on_text):
    while True:
        first, second = await reader.readexactly(2)
        length = second & 0x7F
        if length == 126:
            length = struct.unpack("!H", await reader.readexactly(2))[0]
        elif length == 127:
            length = struct.unpack("!Q", await reader.readexactly(8))[0]
        payload = await reader.readexactly(length)
        opcode = first & 0x0F
        if opcode == 0x1:
            on_text(payload)
        elif opcode == 0x9:  # ping: answer with a masked pong
            mask = os.urandom(4)
            writer.write(bytes([0x8A, 0x80 | len(payload)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))
        elif opcode == 0x8:
            return


def listen(port, count, seconds, results):
    async def run():
        totals = [0] * count
        delays = []

        def handler(index):
            def on_text(payload):
                message = json.loads(payload)
                if message.get("type") == "reactions":
                    totals[index] += sum(message.get("counts", {}).values())
                    if index % 10 == 0:
                        delays.append(time.time() * 1000 - message.get("at", 0))
            return on_text

        connections = []
        for index in range(count):
            connections.append(await open_socket(port, "/api/streams/bench/events"))
        results.put(("ready", None))
        tasks = [asyncio.create_task(read_frames(reader, writer, handler(index))) for index, (reader, writer) in enumerate(connections)]
        await asyncio.sleep(seconds)
        for task in tasks:
            task.cancel()
        results.put(("done", (totals, delays)))
    asyncio.run(run())


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default=os.path.join(ROOT, ".build", "release", "liverelay"))
    parser.add_argument("--rate", type=int, default=50000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--listeners", type=int, default=1000)
    parser.add_argument("--senders", type=int, default=8)
    parser.add_argument("--http-port", type=int, default=18495)
    args = parser.parse_args()
    if not os.path.exists(args.binary):
        sys.exit("build liverelay first (swift build -c release --product liverelay) or pass --binary")
    server, base, work = start(args.binary, args.http_port, SECRET,
                               "audience:\n  tokenKey: {secret}\n  reactionsPerSecond: 1000000\n  reactionBurst: 1000000\n")
    try:
        results = multiprocessing.Queue()
        listener = multiprocessing.Process(target=listen, args=(args.http_port, args.listeners, args.seconds + 4, results))
        listener.start()
        assert results.get(timeout=120)[0] == "ready"
        cpu_before = server_cpu(server.pid)
        sent = asyncio.run(send(args))
        cpu = server_cpu(server.pid) - cpu_before
        _, (totals, delays) = results.get(timeout=120)
        listener.join(timeout=30)
        delays.sort()

        def percentile(p):
            return delays[min(len(delays) - 1, int(len(delays) * p / 100))] if delays else float("nan")
        accepted = min(totals) if totals else 0
        print(f"| reactions over the event channel from {args.senders} out-of-process senders, {args.listeners} listeners "
              f"(out of process), {args.seconds} s, release | {sent / args.seconds:,.0f}/s sent, {accepted / args.seconds:,.0f}/s "
              f"accepted and delivered to every listener (fewest any listener counted: {min(totals) if totals else 0:,}, most: "
              f"{max(totals) if totals else 0:,}); aggregate delay after its window p50 {percentile(50):.1f} ms, p99 "
              f"{percentile(99):.1f} ms; server CPU {cpu / args.seconds:.2f} cores | `tools/bench/audience/reactions_ws.py` |")
    finally:
        server.terminate()
        server.wait(timeout=30)


async def send(args):
    connections = []
    for index in range(args.senders):
        token = mint(SECRET, "bench", f"sender{index}", int(time.time()) + 3600)
        connections.append(await open_socket(args.http_port, f"/api/streams/bench/events?token={token}"))
    for reader, writer in connections:
        asyncio.create_task(read_frames(reader, writer, lambda payload: None))
    pool = b"".join(masked_frame(MESSAGE) for _ in range(4096))
    frame_size = len(pool) // 4096
    per_tick = max(1, -(-args.rate // (100 * args.senders)))  # rounded up: at least --rate
    chunk = pool[:per_tick * frame_size]
    sent = 0
    start = time.monotonic()
    tick = 0
    while time.monotonic() - start < args.seconds:
        for _, writer in connections:
            writer.write(chunk)
        sent += per_tick * len(connections)
        await asyncio.gather(*(writer.drain() for _, writer in connections))
        tick += 1
        delay = start + tick * 0.01 - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
    await asyncio.sleep(1.5)  # the last windows close and reach the listeners
    return sent



if __name__ == "__main__":
    main()
