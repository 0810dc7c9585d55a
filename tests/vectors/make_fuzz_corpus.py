#!/usr/bin/env python3
"""Writes the wire-protocol fuzz seed corpora (tests/fuzz/corpus/{datagram,trust_store,identity})
from the independent test-vector implementation. Run: /usr/bin/python3 tests/vectors/make_fuzz_corpus.py
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
    write("datagram", "announce-untrusted", pv.datagram(sk2, pub2, 2, 0, 5, ts, model, 0, 1,
                                                        pv.announce("kiosk", 0, 0xFFFF, 0)))
    write("trust_store", "two", pv.trust_store([(pub, ts, "lab node #1"), (pub2, ts + 5, "kiosk")]))
    write("trust_store", "empty", pv.trust_store([]))
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

if __name__ == "__main__":
    main()
