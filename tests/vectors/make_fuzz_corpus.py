#!/usr/bin/env python3
"""Writes the wire-protocol fuzz seed corpora (tests/fuzz/corpus/{datagram,trust_store,identity,
checkpoint,peer_exchange,certificate,revocation_list}) from the independent test-vector implementation, and the event scripts of
tests/fuzz/corpus/node/ (fuzz_node). Run: /usr/bin/python3 tests/vectors/make_fuzz_corpus.py
"""
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import protocol_vectors as pv  # noqa: E402
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fuzz", "corpus")


def key(start):
    seed = bytes(range(start, start + 32))
    sk = Ed25519PrivateKey.from_private_bytes(seed)
    pub = sk.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return seed, sk, pub


def write(sub, name, data):
    d = os.path.join(ROOT, sub)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def main():
    seed, sk, pub = key(1)
    _, sk2, pub2 = key(0x21)
    model = bytes(range(0xA1, 0xA9))
    ts = 1764000000000
    write("datagram", "update-16", pv.datagram(sk, pub, 1, 0, 42, ts, model, 32, 7, bytes(range(16))))
    write("datagram", "update-empty", pv.datagram(sk, pub, 1, 0, 1, ts, model, 1, 0, b""))
    write("datagram", "update-lz4-flag", pv.datagram(sk, pub, 1, 1, 2, ts, model, 8, 3, b"\x00" * 40))
    write("datagram", "update-max", pv.datagram(sk, pub, 1, 0, 3, ts, model, 32, 9, bytes(1310)))
    write("datagram", "announce", pv.datagram(sk, pub, 2, 0, 43, ts, model, 0, 7,
                                              pv.announce("node-a", 47474, 9150, 500)))
    position = (1, struct.pack("<Q", 5210))
    write("datagram", "announce-schedule", pv.datagram(sk, pub, 2, 0, 44, ts, model, 0, 7,
                                                       pv.announce("node-a", 47474, 9150, 500,
                                                                   [position])))
    write("datagram", "announce-extensions",
          pv.datagram(sk, pub, 2, 0, 45, ts, model, 0, 7,
                      pv.announce("node-a", 47474, 9150, 500, [position, (9, b"future")])))
    privacy = (2, struct.pack("<2f", 2.5, 8.0))  # epsilon spent, budget
    write("datagram", "announce-privacy", pv.datagram(sk, pub, 2, 0, 46, ts, model, 0, 7,
                                                      pv.announce("node-a", 47474, 0xFFFF, 0,
                                                                  [privacy])))
    write("datagram", "announce-privacy-unknown-tag",
          pv.datagram(sk, pub, 2, 0, 47, ts, model, 0, 7,
                      pv.announce("node-a", 47474, 9150, 500, [privacy, (9, b"future")])))
    write("datagram", "announce-untrusted", pv.datagram(sk2, pub2, 2, 0, 5, ts, model, 0, 1,
                                                        pv.announce("kiosk", 0, 0xFFFF, 0)))
    write("trust_store", "two", pv.trust_store([(pub, ts, "lab node #1", ()),
                                                (pub2, ts + 5, "kiosk", ())]))
    write("trust_store", "empty", pv.trust_store([]))
    eps = ("192.0.2.7:48620", "[2001:db8::7]:48620")
    write("trust_store", "two-endpoints", pv.trust_store([(pub, ts, "lab node #1", ()),
                                                          (pub2, ts + 5, "kiosk", eps)], 2))
    write("identity", "pairing-uri-endpoints", b"\x01" + pv.pairing_uri(pub2, "kiosk", eps).encode())
    pex = pv.peer_exchange([(pub2, "192.0.2.7:48620"), (pub2, "dust-b.example.org:48620")])
    write("peer_exchange", "two", pex)
    write("peer_exchange", "empty", pv.peer_exchange([]))
    write("peer_exchange", "ipv6", pv.peer_exchange([(pub, "[2001:db8::7]:48620"), (pub2, eps[0])]))
    write("datagram", "peer-exchange", pv.datagram(sk, pub, 6, 0, 48, ts, model, 0, 7, pex))
    _, fleet_sk, fleet_pub = key(0x41)
    day = 86400000
    write("certificate", "full", pv.certificate(fleet_sk, fleet_pub, pub, ts, ts + 365 * day,
                                                "lab node #1",
                                                ["192.0.2.7:47474", "[2001:db8::7]:47474",
                                                 "gw.example.org:47474", "10.0.0.1:1"]))
    write("certificate", "bare", pv.certificate(fleet_sk, fleet_pub, pub2, ts, ts + 1, "", []))
    write("revocation_list", "one", pv.revocation_list(fleet_sk, fleet_pub, 3, ts, [pub2]))
    write("revocation_list", "empty", pv.revocation_list(fleet_sk, fleet_pub, 1, ts, []))
    write("revocation_list", "two", pv.revocation_list(fleet_sk, fleet_pub, 7, ts, [pub, pub2]))
    write("identity", "node-id", b"\x00" + pv.node_id(pub).encode())
    write("identity", "node-id-nodash", b"\x00" + pv.node_id(pub2).replace("-", "").lower().encode())
    write("identity", "pairing-uri", b"\x01" + pv.pairing_uri(pub, "lab node #1").encode())
    write("identity", "pairing-uri-utf8", b"\x01" + pv.pairing_uri(pub2, "K\u00fcche \u53f0").encode())
    body = b"DSTK" + bytes([1, 0, 0, 0]) + seed + pub
    write("identity", "key-file", b"\x02" + body + struct.pack("<Q", pv.checksum64(body)))
    mark = b"DSTC" + bytes([1, 0, 0, 0]) + struct.pack("<Q", 131072)
    write("identity", "counter-mark", b"\x03" + mark + struct.pack("<Q", pv.checksum64(mark)))
    # Node checkpoint (node.h ExportCheckpoint = checkpoint.h format, protocol.md "Checkpoint
    # file") of the 4-3-2 model, init seed 7, that fuzz_checkpoint uses: "DUSTCKPT" | u16
    # version 1 | u16 flags (3: momentum and residual) | u32 layer count | layers | seed u64 |
    # steps u64 | rounds u64 | samples u64 | params u64 | params, momentum, residual f32 |
    # Checksum64.
    layers = [4, 3, 2]
    n = 4 * 3 + 3 + 3 * 2 + 2
    ck = b"DUSTCKPT" + struct.pack("<HHI", 1, 3, len(layers))
    ck += b"".join(struct.pack("<I", l) for l in layers)
    ck += struct.pack("<QQQQQ", 7, 106, 12, 3400, n)
    ck += b"".join(struct.pack("<f", 0.01 * (i - 11)) for i in range(n))
    ck += b"".join(struct.pack("<f", 0.001 * i) for i in range(n))
    ck += b"".join(struct.pack("<f", -0.0005 * i) for i in range(n))
    write("checkpoint", "sealed", b"\x00" + ck + struct.pack("<Q", pv.checksum64(ck)))
    write("checkpoint", "reseal", b"\x01" + ck)
    # With two remembered peers (flag bit 3, after the other blocks): u32 count, then per peer
    # key (32 bytes, increasing) | last_ms i64 | weight f32 | updates u32 | delta, anchor f32.
    mem = b"DUSTCKPT" + struct.pack("<HHI", 1, 3 | 8, len(layers)) + ck[16:]
    mem += struct.pack("<I", 2)
    for k in (1, 2):
        mem += bytes([k] * 32) + struct.pack("<qfI", -60000 * k, 100.0 * k, 8 * k)
        mem += b"".join(struct.pack("<f", 0.002 * (i - k)) for i in range(n))
        mem += b"".join(struct.pack("<f", 0.01 * (i - 11)) for i in range(n))
    write("checkpoint", "memory-reseal", b"\x01" + mem)
    # The same with the privacy accountant (flag bit 4, 0x10): noisy steps u64, then the RDP at the
    # orders 2..256 as f64.
    dp = b"DUSTCKPT" + struct.pack("<HHI", 1, 3 | 16, len(layers)) + ck[16:]
    dp += struct.pack("<Q", 40) + b"".join(struct.pack("<d", 0.002 * a) for a in range(2, 257))
    write("checkpoint", "dp-sealed", b"\x00" + dp + struct.pack("<Q", pv.checksum64(dp)))
    write("checkpoint", "dp-reseal", b"\x01" + dp)
    # The 0.1.0 layout Node::ImportCheckpoint still reads (node.cpp, DecodeLegacyCheckpoint):
    # "DSTN" | 1 | 0 | u16 0 | u32 layer count | layers | init_seed u64 | round u64 |
    # samples u64 | steps u64 | u32 params | params f32 | momentum f32 | Checksum64.
    old = b"DSTN" + bytes([1, 0]) + struct.pack("<HI", 0, len(layers))
    old += b"".join(struct.pack("<I", l) for l in layers)
    old += struct.pack("<QQQQI", 7, 12, 3400, 106, n)
    old += b"".join(struct.pack("<f", 0.01 * (i - 11)) for i in range(n))
    old += b"".join(struct.pack("<f", 0.001 * i) for i in range(n))
    write("checkpoint", "legacy-sealed", b"\x00" + old + struct.pack("<Q", pv.checksum64(old)))
    write("checkpoint", "legacy-reseal", b"\x01" + old)
    node_corpus()


# fuzz_node (tests/fuzz/fuzz_node.cpp, Sim::Sim and Sim::Step) reads 4 configuration bytes, then
# events: an opcode byte (low nibble: event, high nibble: node) and its arguments.
HYBRID, ABSOLUTE = 0, 1
THREE_NODES = 2
MEAN, MEDIAN, TRIMMED, CLIP = 0, 4, 8, 12
FP32, FP16, INT8, INT16 = 0x00, 0x10, 0x20, 0x30
TIGHT_RATE, ANNOUNCES = 0x40, 0x80
DELTA_06, DELTA_09, DELTA_095, DELTA_099 = 0, 1, 2, 3
LR_005, LR_03, LR_2, LR_20 = 0, 4, 8, 12
PENDING_512, PENDING_1, PENDING_2, PENDING_3 = 0, 0x10, 0x20, 0x30
SMALL_BATCH, TWO_BATCHES = 0x40, 0x80
ALL_TRUST = 0       # c2: bit 3i+j set = node i does NOT trust node j at the start
SAME_CLOCKS = 0x15  # c3: two bits per node, offset (v - 1) * 700 ms
ONE_PEER = 0x40     # c3: the peer table holds one peer (evictions)


def advance(ms10):  # the clock advances ms10 * 10 ms (< 200), every node ticks
    return bytes([0x00, ms10])


def timer(i):  # the clock advances to node i's NextTickMs, node i ticks
    return bytes([0x01 | i << 4])


def tick(i):
    return bytes([0x02 | i << 4])


def train(i):
    return bytes([0x03 | i << 4])


def deliver(to, k):  # in-flight datagram k (modulo how many) to node `to`, then gone
    return bytes([0x05 | to << 4, k])


def duplicate(to, k):  # delivered, and still in flight
    return bytes([0x07 | to << 4, k])


def corrupt(to, k, pos, how):  # how bit 0: truncate to pos, else flip bit how >> 1 at pos
    return bytes([0x08 | to << 4, k]) + struct.pack("<H", pos) + bytes([how])


def lose(k):
    return bytes([0x09, k])


def toggle_trust(i, j):
    return bytes([0x0A | i << 4, j])


def clock_step(i, seconds):
    return bytes([0x0B | i << 4, seconds & 0xFF])


def dataset(i, empty):
    return bytes([0x0C | i << 4, 1 if empty else 0])


def checkpoint(i):
    return bytes([0x0D | i << 4])


def deliver_all(reversed_order=False):
    return bytes([0x0F if reversed_order else 0x0E])


def rounds(n, nodes):
    out = b""
    for _ in range(n):
        out += b"".join(train(i) for i in range(nodes)) + advance(100) + deliver_all()
    return out


def node_corpus():
    write("node", "hybrid-mean-3-rounds",
          bytes([HYBRID | THREE_NODES | MEAN | INT8, DELTA_095 | LR_03, ALL_TRUST, SAME_CLOCKS])
          + rounds(8, 3))
    lossy = b""
    for r in range(6):
        lossy += train(0) + train(1) + train(2) + advance(100)
        lossy += deliver(1, 2) + duplicate(2, 0) + duplicate(2, 0) + corrupt(0, 1, 7 * r + 3, 2 * r)
        lossy += corrupt(1, 0, 40 + r, 1) + lose(1) + deliver_all(r % 2 == 1)
    write("node", "absolute-median-lossy",
          bytes([ABSOLUTE | THREE_NODES | MEDIAN | FP16, DELTA_06 | LR_005 | SMALL_BATCH,
                 ALL_TRUST, SAME_CLOCKS | ONE_PEER]) + lossy)
    revoke = rounds(2, 2) + train(0) + advance(100) + deliver(1, 0)
    revoke += toggle_trust(1, 0) + tick(1) + toggle_trust(1, 0) + duplicate(1, 0) + tick(1)
    revoke += train(0) + advance(100) + deliver(1, 0) + toggle_trust(1, 0) + train(1) + rounds(2, 2)
    write("node", "revoke-before-merge",
          bytes([HYBRID | TRIMMED | FP32, DELTA_099 | LR_03, ALL_TRUST, SAME_CLOCKS]) + revoke)
    write("node", "clip-pending-full-announces",
          bytes([HYBRID | THREE_NODES | CLIP | INT16 | TIGHT_RATE | ANNOUNCES,
                 DELTA_09 | LR_2 | PENDING_1 | TWO_BATCHES, 0b000100, SAME_CLOCKS])
          + rounds(4, 3) + advance(250) + rounds(3, 3) + toggle_trust(0, 2) + rounds(2, 3)
          + timer(0) + timer(1) + timer(0) + timer(2) + deliver_all(True) + timer(1) + tick(2))
    steps = rounds(2, 2) + clock_step(0, -5) + rounds(1, 2) + clock_step(1, 125) + rounds(2, 2)
    steps += checkpoint(0) + dataset(1, True) + rounds(2, 2) + dataset(1, False) + checkpoint(1)
    steps += clock_step(1, 0) + advance(230) + rounds(2, 2)
    write("node", "clock-steps-checkpoint-dataset",
          bytes([HYBRID | MEAN | INT8, DELTA_095 | LR_20 | PENDING_2, ALL_TRUST, 0b0110]) + steps)

if __name__ == "__main__":
    main()
