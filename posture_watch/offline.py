"""Keeps posture-watch off the network: on Linux, the process cannot open an internet socket at all.

Why: the MediaPipe 1.x wheels carry Google's usage logging ("clearcut"). From a native thread it resolves
play.googleapis.com and posts statistics over HTTPS when a model is closed, and about a minute into a
long run (upstream google-ai-edge/mediapipe issue 6291). Nothing turns it off: `BaseOptions` has no switch, the
published source builds a no-op logger in its place, and no environment variable is read for it. posture-watch
promises that nothing leaves the machine, so instead of trusting every library to keep quiet we take the ability
to call out away from the whole process.

How, at the very start of the command line, before MediaPipe is loaded:
1. A seccomp filter, installed after PR_SET_NO_NEW_PRIVS (which lets an unprivileged process install one; it
   also keeps children from gaining privileges through setuid programs, and we run none) with
   SECCOMP_FILTER_FLAG_TSYNC (so it holds for threads already running too). `socket()` may create AF_UNIX
   sockets (D-Bus notifications) and AF_NETLINK ones (glibc asks the kernel about local addresses through them);
   any other family (AF_INET, AF_INET6, AF_PACKET, Bluetooth, ...) fails with EPERM. `io_uring_setup()` fails
   too, because io_uring can open and connect sockets without ever calling `socket()`. Threads and child
   processes inherit the filter and nothing can remove it. MediaPipe's logger gives up quietly; the model works
   as before.
2. The proxy variables point at loopback (`divert_http`), so MediaPipe's HTTP client does not even look the
   name up: where names are resolved by a local service (systemd-resolved) the lookup would otherwise still
   leave the machine, made by that service on our behalf.

The system-call numbers are per architecture; we know x86_64 and aarch64 (checked against the kernel's
headers) and refuse to guess any other. The filter checks the architecture of every call and refuses calls of
another ABI (32-bit `int 0x80` calls on x86_64, arm32 compat calls, x32 numbers), whose socket calls it would
not recognise. macOS and Windows have no seccomp: there only the proxy diversion applies, unenforced, and
`doctor` says the network is not blocked.
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import socket
import struct
import sys
from dataclasses import dataclass

PR_SET_NO_NEW_PRIVS = 38
SECCOMP_SET_MODE_FILTER = 1
SECCOMP_FILTER_FLAG_TSYNC = 1
SECCOMP_RET_ALLOW = 0x7FFF0000
SECCOMP_RET_ERRNO = 0x00050000
X32_SYSCALL_BIT = 0x40000000  # x86_64's x32 ABI: same architecture tag, its own numbers

# Classic BPF instructions used by the filter, and where struct seccomp_data keeps each field.
BPF_LD_W_ABS = 0x20
BPF_JEQ_K = 0x15
BPF_JGE_K = 0x35
BPF_RET_K = 0x06
SECCOMP_DATA_NR = 0
SECCOMP_DATA_ARCH = 4
SECCOMP_DATA_ARG0_LOW = 16  # little-endian: the low 32 bits of args[0], which is all socket() reads of an int


@dataclass(frozen=True)
class Abi:
    """What the filter needs to know about one architecture (linux/audit.h and the kernel's unistd tables)."""

    audit_arch: int
    nr_socket: int
    nr_io_uring_setup: int
    nr_seccomp: int


ABIS = {
    "x86_64": Abi(audit_arch=0xC000003E, nr_socket=41, nr_io_uring_setup=425, nr_seccomp=317),
    "aarch64": Abi(audit_arch=0xC00000B7, nr_socket=198, nr_io_uring_setup=425, nr_seccomp=277),
}
AF_UNIX, AF_NETLINK = 1, 16  # Linux's numbers; the socket module has no AF_NETLINK elsewhere
# Where MediaPipe's HTTP client is sent instead: loopback, a port nothing serves (9 is "discard" if anything).
UNREACHABLE_PROXY = "http://127.0.0.1:9"
PROXY_VARIABLES = ("https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY")


@dataclass(frozen=True)
class NetworkGuard:
    """Whether this process is now cut off from the network. `warning` says why not where it should have been
    (on Linux); on other systems the guard does not exist, which the README and `doctor` say instead."""

    active: bool
    warning: str | None = None


class _SockFilter(ctypes.Structure):
    _fields_ = (("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte), ("k", ctypes.c_uint))


class _SockFprog(ctypes.Structure):
    _fields_ = (("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_SockFilter)))


def block_network() -> NetworkGuard:
    """Installs the filter for the rest of this process's life (and its children's), after `divert_http`.
    Never raises."""
    divert_http()
    abi = this_abi()
    if abi is None:
        # Off Linux there is no guard to miss (the README and `doctor` say so); on Linux its absence is news.
        reason = unavailable_reason()
        return _not_blocked(reason) if reason and sys.platform.startswith("linux") else NetworkGuard(active=False)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        return _not_blocked(f"prctl(PR_SET_NO_NEW_PRIVS) failed: {os.strerror(ctypes.get_errno())}")
    program = filter_program(abi)
    instructions = (_SockFilter * len(program))(*(_SockFilter(*op) for op in program))
    fprog = _SockFprog(len(program), instructions)
    result = libc.syscall(abi.nr_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, ctypes.byref(fprog))
    if result < 0:
        return _not_blocked(f"seccomp() failed: {os.strerror(ctypes.get_errno())}")
    if result > 0:  # TSYNC names a thread it could not bring under the filter; nothing was installed
        return _not_blocked(f"seccomp() could not apply the filter to thread {result}")
    return NetworkGuard(active=True)


def divert_http() -> None:
    """Points every proxy variable at a proxy on loopback: MediaPipe's HTTP client (libcurl reads them) then hands
    its request to that proxy instead of looking play.googleapis.com up. See the module's docstring for why."""
    for name in PROXY_VARIABLES:
        os.environ[name] = UNREACHABLE_PROXY
    for name in ("no_proxy", "NO_PROXY"):  # a host listed there would bypass the proxy
        os.environ.pop(name, None)


def unavailable_reason() -> str | None:
    """Why the guard cannot exist on this system, or None where it can."""
    if not sys.platform.startswith("linux"):
        return f"{platform.system() or sys.platform} has no seccomp filters"
    if this_abi() is None:
        return f"no system-call table for {platform.machine() or 'this machine'}, {_bits()}-bit"
    return None


def this_abi() -> Abi | None:
    """The Linux ABI this Python runs in: the machine's name alone would also say x86_64 for a 32-bit Python."""
    if not sys.platform.startswith("linux") or _bits() != 64 or sys.byteorder != "little":
        return None
    return ABIS.get(platform.machine())


def filter_program(abi: Abi) -> list[tuple[int, int, int, int]]:
    """The BPF program as (code, jump if true, jump if false, k); a jump skips that many instructions."""
    deny = SECCOMP_RET_ERRNO | errno.EPERM
    return [
        (BPF_LD_W_ABS, 0, 0, SECCOMP_DATA_ARCH),                  # 0
        (BPF_JEQ_K, 1, 0, abi.audit_arch),                        # 1: our ABI -> 3
        (BPF_RET_K, 0, 0, deny),                                  # 2: another ABI numbers its calls otherwise
        (BPF_LD_W_ABS, 0, 0, SECCOMP_DATA_NR),                    # 3
        (BPF_JGE_K, 6, 0, X32_SYSCALL_BIT),                       # 4: x32 -> 11
        (BPF_JEQ_K, 5, 0, abi.nr_io_uring_setup),                 # 5: -> 11
        (BPF_JEQ_K, 0, 3, abi.nr_socket),                         # 6: any other call -> 10
        (BPF_LD_W_ABS, 0, 0, SECCOMP_DATA_ARG0_LOW),              # 7: socket(family, ...)
        (BPF_JEQ_K, 1, 0, AF_UNIX),                               # 8: -> 10
        (BPF_JEQ_K, 0, 1, AF_NETLINK),                            # 9: -> 10, else 11
        (BPF_RET_K, 0, 0, SECCOMP_RET_ALLOW),                     # 10
        (BPF_RET_K, 0, 0, deny),                                  # 11
    ]


def internet_blocked() -> bool:
    """Tries for real: can this process open an IPv4 or IPv6 socket? (Opening one sends nothing.)"""
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            socket.socket(family, socket.SOCK_DGRAM).close()
        except OSError:  # EPERM from the guard; or no IPv6 in this kernel, so nothing to reach through it either
            continue
        return False
    return True


def _not_blocked(why: str) -> NetworkGuard:
    return NetworkGuard(active=False, warning=f"not blocked ({why}): MediaPipe may contact Google")


def _bits() -> int:
    return 8 * struct.calcsize("P")
