#!/usr/bin/python3
"""Raw UDP helper for the network-namespace suite (tests/e2e/netns.sh) and the demo.

It plays the parts of the network the daemons cannot play themselves: a passive listener that
captures the datagrams dustd broadcasts (to measure their sizes on the wire, and to replay or
alter them later), a sender that replays a captured datagram as is or with one byte flipped, and
a flooder of random bytes or of "validly shaped" garbage (a captured datagram's header with the
rest scrambled). Standard library only; run it with Debian's /usr/bin/python3 inside a namespace
(`ip netns exec NS /usr/bin/python3 udptool.py ...`).

Captures are stored one datagram per line as "SOURCE_IP HEX", in arrival order. Every command
prints one JSON object on stdout with what it did, so the suite asserts on figures, not on logs.
"""
import argparse
import json
import os
import random
import socket
import sys
import time


def open_socket(port=None, rcvbuf=4 << 20):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if hasattr(socket, "SO_REUSEPORT"):
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    if port is not None:
        s.bind(("", port))
    return s


def load(path):
    out = []
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 2:
                out.append((parts[0], bytes.fromhex(parts[1])))
    return out


def pick(datagrams, args):
    """The datagram to replay: by --index, else the largest (updates outweigh announces)."""
    if not datagrams:
        sys.exit("udptool: the capture file holds no datagram")
    if args.index is not None:
        return datagrams[args.index][1]
    return max(datagrams, key=lambda d: len(d[1]))[1]


def cmd_capture(args):
    """Receives until --count datagrams (of at least --min-size bytes) or --timeout seconds."""
    s = open_socket(args.port)
    s.settimeout(0.2)
    deadline = time.monotonic() + args.timeout
    kept = []
    seen = 0
    sizes = []
    while time.monotonic() < deadline and len(kept) < args.count:
        try:
            data, (ip, _) = s.recvfrom(65535)
        except socket.timeout:
            continue
        seen += 1
        sizes.append(len(data))
        if len(data) >= args.min_size and (not args.source or ip == args.source):
            kept.append((ip, data))
    if args.out:
        with open(args.out, "w") as f:
            for ip, data in kept:
                f.write(f"{ip} {data.hex()}\n")
    sources = sorted({ip for ip, _ in kept})
    counts = {}
    for n in sizes:
        counts[n] = counts.get(n, 0) + 1
    print(json.dumps({"received": seen, "kept": len(kept), "sources": sources,
                      "min_bytes": min(sizes) if sizes else 0,
                      "max_bytes": max(sizes) if sizes else 0,
                      "sizes": {str(n): c for n, c in sorted(counts.items())}}))
    return 0 if kept else 1


def cmd_send(args):
    """Sends one captured datagram --count times, optionally with byte --flip XORed with 0x01."""
    data = bytearray(pick(load(args.input), args))
    if args.flip is not None:
        offset = args.flip if args.flip >= 0 else len(data) + args.flip
        data[offset] ^= 0x01
    s = open_socket()
    for _ in range(args.count):
        s.sendto(bytes(data), (args.to, args.port))
        if args.interval:
            time.sleep(args.interval)
    print(json.dumps({"sent": args.count, "bytes": len(data), "flipped": args.flip}))
    return 0


def cmd_flood(args):
    """Sends garbage for --seconds: 'random' (random lengths and bytes); 'shaped' (a captured
    datagram with its first --keep bytes intact and the rest randomised, so it passes the cheap
    size and header checks and must be rejected by the later ones); 'forged' (a captured update
    of a TRUSTED sender with a fresh random counter and random payload and signature: sender,
    timestamp and model fingerprint are genuine, so only the signature check can reject it, the
    most expensive path, which the per-source rate limit must protect)."""
    rng = random.Random(args.seed)
    template = pick(load(args.input), args) if args.mode != "random" else b""
    s = open_socket()
    sent = 0
    deadline = time.monotonic() + args.seconds
    period = 1.0 / args.rate if args.rate else 0
    next_send = time.monotonic()
    while time.monotonic() < deadline:
        if args.mode == "random":
            data = os.urandom(rng.randint(1, 1472))
        elif args.mode == "shaped":
            data = template[:args.keep] + os.urandom(max(0, len(template) - args.keep))
        else:  # forged: header offsets from docs/protocol.md (counter at 42..50, header 78 bytes)
            data = template[:42] + os.urandom(8) + template[50:78] + os.urandom(len(template) - 78)
        try:
            s.sendto(data, (args.to, args.port))
            sent += 1
        except OSError:  # ENOBUFS under load: the flood goes on
            pass
        if period:
            next_send += period
            delay = next_send - time.monotonic()
            if delay > 0:
                time.sleep(delay)
    print(json.dumps({"sent": sent, "mode": args.mode, "seconds": args.seconds}))
    return 0


def cmd_count(args):
    """Counts datagrams arriving on --port for --timeout seconds (harness self-test)."""
    s = open_socket(args.port)
    s.settimeout(0.2)
    deadline = time.monotonic() + args.timeout
    n = 0
    while time.monotonic() < deadline:
        try:
            s.recvfrom(65535)
            n += 1
            if args.expect and n >= args.expect:
                break
        except socket.timeout:
            pass
    print(json.dumps({"received": n}))
    return 0


def cmd_burst(args):
    """Sends --count small numbered datagrams, --interval seconds apart (harness self-test)."""
    s = open_socket()
    for i in range(args.count):
        s.sendto(i.to_bytes(4, "little") + b"dust-e2e", (args.to, args.port))
        if args.interval:
            time.sleep(args.interval)
    print(json.dumps({"sent": args.count}))
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("capture")
    c.add_argument("--port", type=int, required=True)
    c.add_argument("--count", type=int, default=1)
    c.add_argument("--min-size", type=int, default=0)
    c.add_argument("--source", help="keep only datagrams from this IPv4 address")
    c.add_argument("--timeout", type=float, default=10)
    c.add_argument("--out")
    for name in ("send", "flood"):
        c = sub.add_parser(name)
        c.add_argument("--to", required=True)
        c.add_argument("--port", type=int, required=True)
        c.add_argument("--input", "-i")
        c.add_argument("--index", type=int)
        if name == "send":
            c.add_argument("--flip", type=int)
            c.add_argument("--count", type=int, default=1)
            c.add_argument("--interval", type=float, default=0)
        else:
            c.add_argument("--mode", choices=["random", "shaped", "forged"], default="random")
            c.add_argument("--seconds", type=float, default=5)
            c.add_argument("--rate", type=float, default=0, help="datagrams/s, 0: as fast as possible")
            c.add_argument("--keep", type=int, default=8, help="shaped: header bytes kept intact")
            c.add_argument("--seed", type=int, default=1)
    c = sub.add_parser("count")
    c.add_argument("--port", type=int, required=True)
    c.add_argument("--timeout", type=float, default=5)
    c.add_argument("--expect", type=int, default=0)
    c = sub.add_parser("burst")
    c.add_argument("--to", required=True)
    c.add_argument("--port", type=int, required=True)
    c.add_argument("--count", type=int, default=100)
    c.add_argument("--interval", type=float, default=0.001)
    args = p.parse_args()
    return globals()["cmd_" + args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
