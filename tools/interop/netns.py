#!/usr/bin/env python3
"""Puts a WebRTC viewer on its own host: a network namespace joined to this one by a veth pair, with the
server→viewer direction optionally throttled (tc tbf) and lossy (nftables `numgen random`). netem is not
needed (the CI kernel has none). Root only; addresses come from 10.201.0.0/16 and nothing else is touched.

    netns.py check                                   exit 0 when ip, tc tbf, nft and root are all there
    netns.py create viewer1 [--subnet K] [--owner PID]  netns + veth, 10.201.K.1 (host side) / 10.201.K.2 (viewer)
    netns.py shape viewer1 --rate 400kbit [--burst 3028] [--latency 50ms] | --off
    netns.py loss viewer1 --percent 5 | --off        (per datagram: the veth cuts UDP GSO messages as a NIC would)
    netns.py rebind viewer1 --port 40001 --media-port 10000   a NAT rebinding (see ViewerHost.rebind)
    netns.py status viewer1                          addresses, tbf and loss counters
    netns.py measure viewer1 --rate 1mbit --seconds 5   UDP from the host to the viewer: delivered rate and loss
    netns.py destroy viewer1                         never fails if already gone

Without --subnet, K is the first free one from a hash of the name. With --owner, the host is recorded as belonging
to that process, and any create first removes the recorded hosts whose owner has died (a test run that was killed
before it could clean up), so their addresses are free again.

Every command prints one JSON object. The viewer runs as `ip netns exec viewer1 ...` and reaches the server at
the host address, so the server must listen on 0.0.0.0 or on that address.
As a module: `ViewerHost("viewer1").create()`, `.shape("400kbit")`, `.set_loss(5)`, `.destroy()`.
"""
import argparse
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time

SUBNET_PREFIX = "10.201"
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")
# veth MTU 1500 plus the Ethernet header: the largest frame tbf is handed (skb->len at the qdisc).
LARGEST_FRAME = 1514
# Owner records: one file per host, holding the owner's pid; /run is a tmpfs, so a reboot clears it with the hosts.
OWNERS = "/run/liverelay-netns"


class NetnsError(Exception):
    pass


def run(*arguments, check=True, stdin=None):
    """Runs a command, returning its stdout; raises NetnsError with its stderr when it fails and `check` is set."""
    completed = subprocess.run(arguments, input=stdin, capture_output=True, text=True)
    if check and completed.returncode != 0:
        raise NetnsError(f"{' '.join(arguments)}: {completed.stderr.strip() or 'exit ' + str(completed.returncode)}")
    return completed.stdout if completed.returncode == 0 else None


def bits_per_second(rate):
    """tc's rate syntax (the units tc documents: bit/kbit/mbit/gbit are bits, bps/kbps/mbps/gbps are bytes)."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(bit|kbit|mbit|gbit|bps|kbps|mbps|gbps)?", rate.strip().lower())
    if not match:
        raise NetnsError(f"rate {rate!r}: expected a number with bit, kbit, mbit, gbit, bps, kbps, mbps or gbps")
    value, unit = float(match.group(1)), match.group(2) or "bit"
    scale = {"bit": 1, "kbit": 1e3, "mbit": 1e6, "gbit": 1e9, "bps": 8, "kbps": 8e3, "mbps": 8e6, "gbps": 8e9}[unit]
    return value * scale


def seconds(duration):
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(s|ms|us)?", duration.strip().lower())
    if not match:
        raise NetnsError(f"duration {duration!r}: expected a number with s, ms or us")
    return float(match.group(1)) * {"s": 1, "ms": 1e-3, "us": 1e-6}[match.group(2) or "s"]


class ViewerHost:
    """One viewer host named `name`: netns `name`, veth `<base>-h` (here) and `<base>-v` (inside)."""

    def __init__(self, name, subnet=None):
        if not NAME_PATTERN.match(name):
            raise NetnsError(f"name {name!r}: letters, digits, '_' and '-', at most 32, starting alphanumeric")
        self.name = name
        # Interface names are at most 15 characters; long names keep a prefix and a hash so they stay distinct.
        base = name if len(name) <= 12 else name[:7] + hashlib.sha1(name.encode()).hexdigest()[:5]
        self.host_interface = base + "-h"
        self.viewer_interface = base + "-v"
        self.table = "liverelay_netns_" + name.replace("-", "_")
        self.subnet = subnet if subnet is not None else self._current_subnet()

    # Naming and addresses

    @staticmethod
    def derived_subnet(name):
        return 1 + int(hashlib.sha1(name.encode()).hexdigest(), 16) % 250

    def _current_subnet(self):
        """The K of an existing host-side address, else the one derived from the name."""
        for address in self._addresses(self.host_interface):
            if address.startswith(SUBNET_PREFIX + "."):
                return int(address.split(".")[2])
        return None

    @staticmethod
    def _addresses(interface=None, namespace=None):
        command = ["ip"] + (["-n", namespace] if namespace else []) + ["-j", "-4", "addr", "show"]
        output = run(*command, *(["dev", interface] if interface else []), check=False)
        return [info["local"] for link in json.loads(output or "[]") for info in link.get("addr_info", [])]

    @property
    def host_address(self):
        return f"{SUBNET_PREFIX}.{self.subnet}.1"

    @property
    def viewer_address(self):
        return f"{SUBNET_PREFIX}.{self.subnet}.2"

    def describe(self):
        return {"namespace": self.name, "hostAddress": self.host_address, "viewerAddress": self.viewer_address,
                "hostInterface": self.host_interface, "viewerInterface": self.viewer_interface}

    def exists(self):
        namespaces = run("ip", "netns", "list", check=False) or ""
        return any(line.split()[0] == self.name for line in namespaces.splitlines() if line.strip())

    # Lifecycle

    def create(self, subnet=None, owner=None):
        """Creates the host from scratch (an existing one of the same name is destroyed first)."""
        reap_orphans()
        self.destroy()
        in_use = {address.split(".")[2] for address in self._addresses() if address.startswith(SUBNET_PREFIX + ".")}
        if subnet is not None:
            if not 0 <= subnet <= 255:
                raise NetnsError(f"subnet {subnet}: expected 0...255")
            if str(subnet) in in_use:
                raise NetnsError(f"{SUBNET_PREFIX}.{subnet}.0/30 is already used by another interface")
            self.subnet = subnet
        else:
            # The name's own K, or the next free one when another host (or anything else) already holds it.
            start = self.derived_subnet(self.name)
            free = [k for k in (1 + (start - 1 + step) % 250 for step in range(250)) if str(k) not in in_use]
            if not free:
                raise NetnsError(f"no free /30 left in {SUBNET_PREFIX}.0.0/16")
            self.subnet = free[0]
        try:
            run("ip", "netns", "add", self.name)
            run("ip", "link", "add", self.host_interface, "type", "veth",
                "peer", "name", self.viewer_interface, "netns", self.name)
            # No IPv6 link-local addresses: router solicitations and DAD would otherwise share the shaped link.
            run("ip", "link", "set", self.host_interface, "addrgenmode", "none")
            # A veth passes UDP GSO messages whole, so one loss-rule drop would take a sender's whole run; with one
            # segment at most the kernel cuts them into datagrams on the way in, as a NIC does on the wire.
            run("ip", "link", "set", self.host_interface, "gso_max_segs", "1")
            run("ip", "-n", self.name, "link", "set", self.viewer_interface, "addrgenmode", "none")
            run("ip", "addr", "add", f"{self.host_address}/30", "dev", self.host_interface)
            run("ip", "link", "set", self.host_interface, "up")
            run("ip", "-n", self.name, "addr", "add", f"{self.viewer_address}/30", "dev", self.viewer_interface)
            # lo matters: chromedriver and the browser talk over 127.0.0.1 inside the namespace.
            run("ip", "-n", self.name, "link", "set", "lo", "up")
            run("ip", "-n", self.name, "link", "set", self.viewer_interface, "up")
            run("ip", "-n", self.name, "route", "add", "default", "via", self.host_address)
        except NetnsError:
            self.destroy()
            raise
        if owner is not None:
            os.makedirs(OWNERS, exist_ok=True)
            with open(os.path.join(OWNERS, self.name), "w") as record:
                record.write(f"{owner}\n")
        return self.describe()

    def destroy(self):
        """Removes the loss table, the qdisc, the veth pair and the namespace; whatever is already gone is skipped."""
        if self.exists():
            self._nft("delete", "table", "inet", self.table, check=False)
        run("tc", "qdisc", "del", "dev", self.host_interface, "root", check=False)
        run("ip", "link", "del", self.host_interface, check=False)
        if self.exists():
            run("ip", "netns", "del", self.name, check=False)
        try:
            os.unlink(os.path.join(OWNERS, self.name))
        except FileNotFoundError:
            pass
        return {"namespace": self.name, "destroyed": True}

    def _require(self):
        if self.subnet is None or not self.exists():
            raise NetnsError(f"viewer host {self.name!r} does not exist (run: netns.py create {self.name})")

    # Shaping (server → viewer: egress of the host-side veth)

    def shape(self, rate, burst=None, latency="50ms"):
        """A token bucket on the host-side veth: `rate` on average, `burst` bytes back to back, queueing at most
        `latency` worth of bytes beyond the burst before tail-dropping.

        The defaults are meant to look like a real narrow link to 1200-byte RTP packets (1242-byte frames):
        - burst: two full frames, or 10 ms at the rate when that is more. A bucket smaller than one frame drops
          every packet; a large one (tc examples use 10-32 KB) lets a whole 400 kbit/s keyframe through at veth
          speed, so a video burst would not feel the link at all. Two frames keeps packet spacing close to
          serialization at the rate, while a faster rate (10 mbit: 12.5 KB) still gets enough tokens per timer tick.
        - latency 50 ms: a modest access-link buffer. At 400 kbit/s it queues ~2.5 KB beyond the burst, about four
          packets in all, so a keyframe sent faster than the rate is tail-dropped as on a real link instead of
          being buffered for seconds (tc turns latency into limit = rate * latency + burst).
        """
        self._require()
        rate_bits = bits_per_second(rate)
        if burst is None:
            burst = str(max(2 * LARGEST_FRAME, int(rate_bits / 8 * 0.010)))
        run("tc", "qdisc", "replace", "dev", self.host_interface, "root", "tbf",
            "rate", rate, "burst", str(burst), "latency", latency)
        return {"namespace": self.name, "interface": self.host_interface, "rate": rate, "rateBitsPerSecond": rate_bits,
                "burst": burst, "latency": latency, "qdisc": self._qdisc_text()}

    def unshape(self):
        run("tc", "qdisc", "del", "dev", self.host_interface, "root", check=False)
        return {"namespace": self.name, "interface": self.host_interface, "shaped": False}

    def _qdisc_text(self):
        return (run("tc", "qdisc", "show", "dev", self.host_interface, check=False) or "").strip()

    # Random loss (UDP from here to the viewer address)

    def _nft(self, *arguments, check=True, stdin=None):
        return run("ip", "netns", "exec", self.name, "nft", *arguments, check=check, stdin=stdin)

    def set_loss(self, percent):
        """Drops `percent` of the UDP packets sent towards the viewer, each independently (Bernoulli, no bursts).

        The table lives inside the namespace (prerouting of the viewer side), not in this host's output hook: a
        packet dropped by netfilter on the sender's own output path fails sendto() with EPERM, so the server would
        see an error for every "lost" packet, which no real network does. Dropped on arrival, loss is silent to the
        sender; it comes after tbf (a lost packet has used its tokens), like loss on the last hop."""
        self._require()
        if not 0 <= percent <= 100:
            raise NetnsError(f"percent {percent}: expected 0...100")
        # Whole percents read as the classic `mod 100 < N`; fractions use hundredths of a percent.
        modulus, threshold = (100, int(percent)) if float(percent).is_integer() else (10000, round(percent * 100))
        # 100 % is every packet (numgen's `mod 100 < 100` is out of its range): UDP blocked.
        sample = "" if percent >= 100 else f"numgen random mod {modulus} < {threshold} "
        # "table; delete table; table {...}" replaces any previous table atomically, in one transaction.
        script = f"""
table inet {self.table}
delete table inet {self.table}
table inet {self.table} {{
    chain viewer_ingress {{
        type filter hook prerouting priority raw; policy accept;
        iifname "{self.viewer_interface}" ip daddr {self.viewer_address} meta l4proto udp {sample}counter drop
    }}
}}
"""
        self._nft("-f", "-", stdin=script)
        return {"namespace": self.name, "table": f"inet {self.table} (in the namespace)", "percent": percent,
                "rule": f"{sample}drop"}

    def clear_loss(self):
        if self.exists():
            self._nft("delete", "table", "inet", self.table, check=False)
        return {"namespace": self.name, "table": f"inet {self.table}", "percent": 0}

    # NAT rebinding (viewer → server: the viewer's UDP flows to the media port leave from another port)

    def rebind(self, port, media_port):
        """What a NAT that drops a mapping and makes a new one looks like to the server: inside the viewer host, UDP
        to the server's media port leaves from `port` (source NAT, the viewer's socket unaware), replies to it come
        back to the socket, and the old mapping is gone — datagrams the server sends that belong to no flow the
        viewer opened are dropped, as a NAT drops what reaches an unmapped port. Existing flows are forgotten, so
        the viewer's next datagram opens the new mapping. Call again with another port to rebind again."""
        self._require()
        if shutil.which("conntrack") is None:
            raise NetnsError("conntrack not found (install conntrack; tools/setup.sh does)")
        script = (f"table ip {self.rebind_table}\n"
                  f"delete table ip {self.rebind_table}\n"
                  f"table ip {self.rebind_table} {{\n"
                  f"  chain post {{ type nat hook postrouting priority srcnat; "
                  f"ip daddr {self.host_address} udp dport {media_port} snat ip to {self.viewer_address}:{port}; }}\n"
                  f"  chain in {{ type filter hook input priority filter; "
                  f"ip saddr {self.host_address} udp sport {media_port} ct state new drop; }}\n"
                  f"}}\n")
        self._nft("-f", "-", stdin=script)
        # Exit 1 when nothing was tracked yet: that is fine.
        run("ip", "netns", "exec", self.name, "conntrack", "-D", "-p", "udp", check=False)
        return {"namespace": self.name, "port": port, "mediaPort": media_port}

    @property
    def rebind_table(self):
        return "liverelay_rebind"

    def status(self):
        self._require()
        result = self.describe()
        stats = json.loads(run("tc", "-s", "-j", "qdisc", "show", "dev", self.host_interface, check=False) or "[]")
        root = next((q for q in stats if q.get("root")), {})
        result["qdisc"] = {key: root.get(key) for key in ("kind", "bytes", "packets", "drops", "overlimits", "backlog")}
        result["qdisc"]["text"] = self._qdisc_text()
        dropped = None
        listing = self._nft("-j", "list", "table", "inet", self.table, check=False)
        if listing:
            for item in json.loads(listing).get("nftables", []):
                for expression in item.get("rule", {}).get("expr", []):
                    if "counter" in expression:
                        dropped = expression["counter"]
        result["lossCounter"] = dropped
        return result

    # Measurement: paced UDP from the host address to a receiver inside the namespace

    def measure(self, rate="1mbit", duration=5.0, size=1200, port=19999):
        """Sends `size`-byte UDP datagrams at `rate` for `duration` seconds to a receiver in the namespace and
        reports what arrived: the delivered rate over the arrival span, and the fraction lost."""
        self._require()
        receiver = subprocess.Popen(
            ["ip", "netns", "exec", self.name, sys.executable, os.path.abspath(__file__), "receive",
             "--bind", self.viewer_address, "--port", str(port), "--deadline", str(duration + 10)],
            stdout=subprocess.PIPE, text=True)
        try:
            if receiver.stdout.readline().strip() != "ready":
                raise NetnsError("the receiver in the namespace did not start")
            sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sender.bind((self.host_address, 0))
            interval = size * 8 / bits_per_second(rate)
            payload = bytearray(size)
            sent, enobufs = 0, 0
            started = time.perf_counter()
            while time.perf_counter() - started < duration:
                payload[:8] = sent.to_bytes(8, "big")
                try:
                    sender.sendto(payload, (self.viewer_address, port))
                except OSError:  # should not happen (tbf and the loss table drop silently); counted as lost
                    enobufs += 1
                sent += 1
                pause = started + sent * interval - time.perf_counter()
                if pause > 0:
                    time.sleep(pause)
            sent_seconds = time.perf_counter() - started
            sender.close()
            output, _ = receiver.communicate(timeout=duration + 15)
        finally:
            if receiver.poll() is None:
                receiver.kill()
        received = json.loads(output.strip().splitlines()[-1])
        count, span = received["packets"], received["spanSeconds"]
        # tbf meters whole frames: payload + UDP 8 + IPv4 20 + Ethernet 14.
        frame = size + 42
        delivered = (count - 1) / span if count > 1 and span > 0 else 0.0
        return {"namespace": self.name, "size": size, "sent": sent, "sendErrors": enobufs, "received": count,
                "lossPercent": round(100 * (1 - count / sent), 2) if sent else None,
                "offeredKbps": round(sent * size * 8 / sent_seconds / 1000, 1),
                "deliveredPayloadKbps": round(delivered * size * 8 / 1000, 1),
                "deliveredFrameKbps": round(delivered * frame * 8 / 1000, 1),
                "arrivalSpanSeconds": round(span, 3), "reordered": received["reordered"]}


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def reap_orphans():
    """Destroys the recorded hosts whose owner process has exited; returns their names."""
    reaped = []
    try:
        names = os.listdir(OWNERS)
    except FileNotFoundError:
        return reaped
    for name in names:
        try:
            with open(os.path.join(OWNERS, name)) as record:
                owner = int(record.read().strip() or "0")
        except (OSError, ValueError):
            owner = 0
        if owner > 0 and alive(owner):
            continue
        if NAME_PATTERN.match(name):
            ViewerHost(name).destroy()
            reaped.append(name)
        else:
            os.unlink(os.path.join(OWNERS, name))
    return reaped


def receive(bind, port, deadline, idle=1.5):
    """The receiving end of `measure`, run inside the namespace: counts datagrams until `idle` seconds pass without
    one (after the first) or `deadline` seconds in all."""
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
    receiver.bind((bind, port))
    print("ready", flush=True)
    packets, first, last, highest, reordered = 0, None, None, -1, 0
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        receiver.settimeout(idle if first is not None else max(0.1, end - time.monotonic()))
        try:
            data = receiver.recv(65536)
        except socket.timeout:
            if first is not None:
                break
            continue
        now = time.monotonic()
        first = first if first is not None else now
        last = now
        packets += 1
        sequence = int.from_bytes(data[:8], "big")
        reordered += sequence < highest
        highest = max(highest, sequence)
    print(json.dumps({"packets": packets, "spanSeconds": (last - first) if first is not None else 0,
                      "highestSequence": highest, "reordered": reordered}), flush=True)


def check():
    """Returns None when this machine can build viewer hosts, else the reason it cannot."""
    if os.geteuid() != 0:
        return "needs root (network namespaces, tc and nftables)"
    for tool, package in (("ip", "iproute2"), ("tc", "iproute2"), ("nft", "nftables")):
        if shutil.which(tool) is None:
            return f"{tool} not found (install {package}; tools/setup.sh does)"
    # Tools can be present while the kernel lacks the feature: run the real steps on a throwaway host.
    probe = ViewerHost(f"lrcheck{os.getpid() % 100000}")
    try:
        probe.create()
        probe.shape("400kbit")
        probe.set_loss(5)
    except NetnsError as error:
        return str(error)
    finally:
        probe.destroy()
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("check")
    create = commands.add_parser("create")
    create.add_argument("name")
    create.add_argument("--subnet", type=int, help="K in 10.201.K.0/30 (default: the first free one from the name)")
    create.add_argument("--owner", type=int, help="pid of the process the host belongs to (reaped once it exits)")
    shape = commands.add_parser("shape")
    shape.add_argument("name")
    shape.add_argument("--rate", help="tc rate, e.g. 400kbit")
    shape.add_argument("--burst", help="bytes (default: max(2 frames, 10 ms at the rate))")
    shape.add_argument("--latency", default="50ms", help="queue beyond the burst, in time at the rate")
    shape.add_argument("--off", action="store_true")
    loss = commands.add_parser("loss")
    loss.add_argument("name")
    loss.add_argument("--percent", type=float)
    loss.add_argument("--off", action="store_true")
    rebind = commands.add_parser("rebind")
    rebind.add_argument("name")
    rebind.add_argument("--port", type=int, required=True, help="the viewer's new source port, as the server sees it")
    rebind.add_argument("--media-port", type=int, required=True, help="the server's UDP media port")
    status = commands.add_parser("status")
    status.add_argument("name")
    measure = commands.add_parser("measure")
    measure.add_argument("name")
    measure.add_argument("--rate", default="1mbit", help="offered rate of the UDP sender")
    measure.add_argument("--seconds", type=float, default=5)
    measure.add_argument("--size", type=int, default=1200, help="UDP payload bytes")
    measure.add_argument("--port", type=int, default=19999)
    destroy = commands.add_parser("destroy")
    destroy.add_argument("name")
    receiver = commands.add_parser("receive", help="internal: the receiving end of measure")
    receiver.add_argument("--bind", required=True)
    receiver.add_argument("--port", type=int, required=True)
    receiver.add_argument("--deadline", type=float, default=30)
    args = parser.parse_args()

    try:
        if args.command == "check":
            reason = check()
            print(json.dumps({"ok": reason is None, "reason": reason}))
            return 0 if reason is None else 1
        if args.command == "receive":
            receive(args.bind, args.port, args.deadline)
            return 0
        host = ViewerHost(args.name)
        if args.command == "create":
            result = host.create(args.subnet, args.owner)
        elif args.command == "destroy":
            result = host.destroy()
        elif args.command == "shape":
            if not args.off and not args.rate:
                parser.error("shape needs --rate or --off")
            result = host.unshape() if args.off else host.shape(args.rate, args.burst, args.latency)
        elif args.command == "loss":
            if not args.off and args.percent is None:
                parser.error("loss needs --percent or --off")
            result = host.clear_loss() if args.off else host.set_loss(args.percent)
        elif args.command == "status":
            result = host.status()
        elif args.command == "rebind":
            result = host.rebind(args.port, args.media_port)
        else:
            result = host.measure(args.rate, args.seconds, args.size, args.port)
    except NetnsError as error:
        print(json.dumps({"error": str(error)}))
        return 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
