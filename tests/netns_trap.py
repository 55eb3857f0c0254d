"""A private network where every name resolves to a trap, for tests/test_offline.py. Run it under unshare.

It must start as root of a fresh network and mount namespace (`unshare --net --mount`, or with
`--user --map-root-user` for an ordinary user). It gives the namespace one non-loopback interface holding
198.51.100.1 and 2001:db8::1 (documentation addresses) with the default routes through it, bind-mounts its own
resolv.conf, hosts and nsswitch.conf over /etc's so that names are looked up at a fake DNS server on that
address, which answers every name with that address, and listens on TCP 443 and 80 there. Every datagram the DNS
server receives and every connection the listeners accept is recorded ("caught"), with the connection's first
bytes (0x16 0x03 starts a TLS ClientHello).

Before the commands it proves the trap works by resolving play.googleapis.com and connecting to it itself. Then it
runs each command (under `strace -f` when strace exists, noting every connect/sendto/sendmsg/sendmmsg aimed at a
non-loopback IPv4 or IPv6 address: "traced") and prints one JSON report on stdout:

  {"trap_works": bool, "ipv6": bool, "strace": bool,
   "commands": [{"argv": [...], "returncode": int, "stderr": str}], "caught": [str], "traced": [str]}

Usage: netns_trap.py '[{"argv": [...], "timeout": seconds}, ...]'   (environment passed on to the commands)
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

TRAP_V4, TRAP_V6 = "198.51.100.1", "2001:db8::1"
TCP_PORTS = (443, 80)
BAIT_NAME = "play.googleapis.com"
TRACED_CALLS = "connect,sendto,sendmsg,sendmmsg"
ADDRESS = re.compile(r'sin_addr=inet_addr\("([^"]+)"\)|inet_pton\(AF_INET6, "([^"]+)"')
PORT = re.compile(r"sin6?_port=htons\((\d+)\)")


class Trap:
    """The fake DNS server and the TCP listeners, each on its own thread; `events` is what reached them."""

    def __init__(self, ipv6: bool) -> None:
        self.events: list[str] = []
        self._lock = threading.Lock()
        family, host = (socket.AF_INET6, "::") if ipv6 else (socket.AF_INET, "0.0.0.0")
        self._dns = socket.socket(family, socket.SOCK_DGRAM)
        if ipv6:
            self._dns.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        self._dns.bind((host, 53))
        threading.Thread(target=self._serve_dns, daemon=True).start()
        for port in TCP_PORTS:
            listener = socket.create_server((host, port), family=family, dualstack_ipv6=ipv6)
            threading.Thread(target=self._serve_tcp, args=(listener, port), daemon=True).start()

    def record(self, event: str) -> None:
        with self._lock:
            self.events.append(event)

    def take(self) -> list[str]:
        with self._lock:
            taken, self.events = self.events, []
        return taken

    def _serve_dns(self) -> None:
        while True:
            query, peer = self._dns.recvfrom(4096)
            name, qtype = parse_question(query)
            self.record(f"udp {peer[0]} -> :53, a DNS query for {name!r} (type {qtype})")
            self._dns.sendto(dns_answer(query, qtype), peer)

    def _serve_tcp(self, listener: socket.socket, port: int) -> None:
        while True:
            conn, peer = listener.accept()
            with conn:
                conn.settimeout(1.0)
                try:
                    first = conn.recv(5)
                except OSError:
                    first = b""
            self.record(f"tcp {peer[0]} -> :{port}, first bytes {first.hex() or 'none'}")


def parse_question(query: bytes) -> tuple[str, int]:
    labels, at = [], 12
    while at < len(query) and query[at]:
        labels.append(query[at + 1:at + 1 + query[at]].decode("ascii", "replace"))
        at += 1 + query[at]
    qtype = struct.unpack("!H", query[at + 1:at + 3])[0] if at + 3 <= len(query) else 0
    return ".".join(labels), qtype


def dns_answer(query: bytes, qtype: int) -> bytes:
    """Every name is the trap: A -> 198.51.100.1, AAAA -> 2001:db8::1, anything else has no records."""
    rdata = {1: socket.inet_pton(socket.AF_INET, TRAP_V4), 28: socket.inet_pton(socket.AF_INET6, TRAP_V6)}.get(qtype)
    end = 12
    while end < len(query) and query[end]:
        end += 1 + query[end]
    question = query[12:end + 5]
    header = query[:2] + struct.pack("!HHHHH", 0x8180, 1, 1 if rdata else 0, 0, 0)
    answer = struct.pack("!HHHIH", 0xC00C, qtype, 1, 60, len(rdata)) + rdata if rdata else b""
    return header + question + answer


def run(*argv: str) -> None:
    subprocess.run(argv, check=True, capture_output=True, text=True)


def set_up_network() -> bool:
    """Loopback up, the trap interface, default routes through it. Returns whether IPv6 is there too."""
    run("ip", "link", "set", "lo", "up")
    try:
        run("ip", "link", "add", "pw0", "type", "dummy")
    except subprocess.CalledProcessError:  # kernels without the dummy driver: a bridge with no ports is the same
        run("ip", "link", "add", "pw0", "type", "bridge")
    run("ip", "addr", "add", f"{TRAP_V4}/24", "dev", "pw0")
    run("ip", "link", "set", "pw0", "up")
    run("ip", "route", "add", "default", "dev", "pw0")
    try:
        run("ip", "-6", "addr", "add", f"{TRAP_V6}/64", "dev", "pw0", "nodad")
        run("ip", "-6", "route", "add", "default", "dev", "pw0")
    except subprocess.CalledProcessError:
        return False
    return True


def set_up_resolver(folder: Path) -> None:
    files = {
        "resolv.conf": f"nameserver {TRAP_V4}\noptions timeout:1 attempts:1\n",
        "hosts": "127.0.0.1 localhost\n::1 localhost\n",
        "nsswitch.conf": "hosts: files dns\n",
    }
    for name, text in files.items():
        (folder / name).write_text(text)
        run("mount", "--bind", str(folder / name), f"/etc/{name}")


def trap_works(trap: Trap) -> bool:
    """Falls into the trap on purpose, the way a library calling home would."""
    with contextlib.suppress(OSError), socket.create_connection((BAIT_NAME, 443), timeout=3) as conn:
        conn.sendall(b"\x16\x03\x01")
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        seen = " ".join(trap.events)
        if BAIT_NAME in seen and ":443, first bytes 160301" in seen:
            return True
        time.sleep(0.05)
    return False


def internet_calls(strace_log: Path) -> Iterator[str]:
    """The traced calls aimed at an IPv4/IPv6 address that is not loopback."""
    for line in strace_log.read_text(errors="replace").splitlines():
        address = ADDRESS.search(line)
        if not address:
            continue
        ip = ipaddress.ip_address(address.group(1) or address.group(2))
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
            ip = ip.ipv4_mapped
        if not ip.is_loopback:
            port = PORT.search(line)
            yield f"{line.split('(', 1)[0].split()[-1]} to {ip} port {port.group(1) if port else '?'}: {line[:200]}"


def main() -> int:
    commands = json.loads(sys.argv[1])
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        ipv6 = set_up_network()
        set_up_resolver(folder)
        trap = Trap(ipv6)
        works = trap_works(trap)
        trap.take()
        strace = shutil.which("strace")
        ran: list[dict[str, object]] = []
        traced: list[str] = []
        for number, command in enumerate(commands):
            log = folder / f"strace-{number}.log"
            prefix = [strace, "-f", "-qq", "-e", f"trace={TRACED_CALLS}", "-o", str(log)] if strace else []
            done = subprocess.run([*prefix, *command["argv"]], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                  text=True, timeout=command.get("timeout", 120))
            ran.append({"argv": command["argv"], "returncode": done.returncode, "stderr": done.stderr})
            if strace:
                traced.extend(internet_calls(log))
        time.sleep(0.5)  # a connection accepted just as its process ended is recorded a moment later
        caught = trap.take()
    json.dump({"trap_works": works, "ipv6": ipv6, "strace": bool(strace), "commands": ran, "caught": caught,
               "traced": traced}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
