#!/usr/bin/env python3
"""Independent computation of the test vectors in docs/protocol.md.

Written from the specification in docs/protocol.md only (struct.pack, hashlib's BLAKE2b and
OpenSSL's Ed25519 through python3-cryptography), sharing no code with libdust, so that the hex
checked by tests/unit/net/wire_test.cpp is not just libdust agreeing with itself.
Run: /usr/bin/python3 tests/vectors/protocol_vectors.py
"""
import hashlib
import struct

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives import serialization

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def b2b256(data):
    return hashlib.blake2b(data, digest_size=32).digest()


def checksum64(data):
    return struct.unpack("<Q", b2b256(data)[:8])[0]


def base32_nopad(data):
    bits = "".join(f"{b:08b}" for b in data)
    bits += "0" * (-len(bits) % 5)
    return "".join(ALPHABET[int(bits[i:i + 5], 2)] for i in range(0, len(bits), 5))


def luhn32(chunk):
    # Luhn mod N, N = 32: from the right, double every other code point starting with the
    # rightmost, fold each product into base-32 digits, check = (32 - sum % 32) % 32.
    factor, total = 2, 0
    for ch in reversed(chunk):
        addend = factor * ALPHABET.index(ch)
        factor = 1 if factor == 2 else 2
        total += addend // 32 + addend % 32
    return ALPHABET[(32 - total % 32) % 32]


def node_id(pub):
    b = base32_nopad(pub)
    assert len(b) == 52
    chars = "".join(b[i:i + 13] + luhn32(b[i:i + 13]) for i in range(0, 52, 13))
    return "-".join(chars[i:i + 7] for i in range(0, 56, 7))


def pct(s):
    out = ""
    for c in s.encode():
        ch = chr(c)
        if ch.isascii() and (ch.isalnum() or ch in "-._~"):
            out += ch
        else:
            out += "%%%02X" % c
    return out


def pairing_uri(pub, name, endpoints=()):
    check = b2b256(b"dust-pair-v1" + pub + name.encode())[:4].hex()
    return f"dust://v1/{node_id(pub)}?name={pct(name)}&check={check}" + "".join(
        "&ep=" + pct(e) for e in endpoints)


def datagram(sk, pub, mtype, flags, counter, ts, model, weight, rnd, payload):
    header = b"DST" + struct.pack("<BBBHH", 1, mtype, flags, 78, len(payload))
    header += pub + struct.pack("<Qq", counter, ts) + model + struct.pack("<IQ", weight, rnd)
    assert len(header) == 78
    signed = header + payload
    return signed + sk.sign(signed)


def announce(name, port, acc_bp, samples, extensions=()):
    """extensions: (tag, value bytes) pairs in increasing tag order (protocol.md)."""
    n = name.encode()
    ext = b"".join(bytes([tag, len(value)]) + value for tag, value in extensions)
    return bytes([len(n)]) + n + struct.pack("<HHI", port, acc_bp, samples) + ext


def trust_store(entries, version=1):
    """entries: (public key, added_at_ms, name, endpoints); version 2 writes the endpoints."""
    body = b"DSTT" + bytes([version, 0, 0, 0]) + struct.pack("<I", len(entries))
    for pub, added, name, endpoints in sorted(entries):
        n = name.encode()
        body += pub + struct.pack("<qB", added, len(n)) + n
        if version == 2:
            body += bytes([len(endpoints)])
            body += b"".join(bytes([len(e)]) + e.encode() for e in endpoints)
    return body + struct.pack("<Q", checksum64(body))


def peer_exchange(entries):
    """entries: (public key, endpoint text) pairs, in the order sent."""
    return bytes([len(entries)]) + b"".join(
        pub + bytes([len(e)]) + e.encode() for pub, e in entries)


def certificate(fleet_sk, fleet_pub, device, issued, expires, name, endpoints):
    n = name.encode()
    body = b"DSFC" + bytes([1, 0, 0, 0]) + fleet_pub + device + struct.pack("<qq", issued, expires)
    body += bytes([len(n)]) + n + bytes([len(endpoints)])
    for ep in endpoints:
        body += bytes([len(ep)]) + ep.encode()
    return body + fleet_sk.sign(b"dust-fleet-certificate-v1" + body)


def revocation_list(fleet_sk, fleet_pub, serial, issued, keys):
    body = b"DSFR" + bytes([1, 0, 0, 0]) + fleet_pub + struct.pack("<QqH", serial, issued, len(keys))
    body += b"".join(sorted(keys))
    return body + fleet_sk.sign(b"dust-fleet-revocations-v1" + body)


def main():
    seed = bytes(range(1, 33))
    sk = Ed25519PrivateKey.from_private_bytes(seed)
    pub = sk.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    model = bytes(range(0xA1, 0xA9))
    ts = 1764000000000
    print("public_key", pub.hex())
    print("node_id", node_id(pub))
    print("short_id", node_id(pub)[:7])
    print("pairing_uri", pairing_uri(pub, "lab node #1"))
    upd = datagram(sk, pub, 1, 0, 42, ts, model, 32, 7, bytes(range(16)))
    print("update_datagram", upd.hex())
    ann_payload = announce("node-a", 47474, 9150, 500)
    print("announce_payload", ann_payload.hex())
    ann = datagram(sk, pub, 2, 0, 43, ts + 1000, model, 0, 7, ann_payload)
    print("announce_datagram", ann.hex())
    # The same announce with extension tag 1, schedule position 5210 steps.
    ann_sched = announce("node-a", 47474, 9150, 500, [(1, struct.pack("<Q", 5210))])
    print("announce_payload_schedule", ann_sched.hex())
    seed2 = bytes(range(0x21, 0x41))
    pub2 = Ed25519PrivateKey.from_private_bytes(seed2).public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    print("public_key_2", pub2.hex())
    print("trust_store", trust_store([(pub, ts, "lab node #1", ()), (pub2, ts + 5, "kiosk", ())]).hex())
    # Version 2: the kiosk's pairing URI carried two endpoints.
    kiosk_eps = ("192.0.2.7:48620", "[2001:db8::7]:48620")
    print("trust_store_v2", trust_store([(pub, ts, "lab node #1", ()),
                                         (pub2, ts + 5, "kiosk", kiosk_eps)], 2).hex())
    print("pairing_uri_endpoints", pairing_uri(pub2, "kiosk", kiosk_eps))
    pex = peer_exchange([(pub2, "192.0.2.7:48620"), (pub2, "dust-b.example.org:48620")])
    print("peer_exchange_payload", pex.hex())
    print("peer_exchange_datagram", datagram(sk, pub, 6, 0, 44, ts + 2000, model, 0, 7, pex).hex())
    # Fleet key: seed 0x41 ... 0x60; it certifies the first key and revokes the second.
    fleet_sk = Ed25519PrivateKey.from_private_bytes(bytes(range(0x41, 0x61)))
    fleet_pub = fleet_sk.public_key().public_bytes(serialization.Encoding.Raw,
                                                   serialization.PublicFormat.Raw)
    print("fleet_key", fleet_pub.hex())
    print("fleet_id", node_id(fleet_pub))
    day = 86400000
    print("certificate", certificate(fleet_sk, fleet_pub, pub, ts, ts + 365 * day, "lab node #1",
                                     ["192.0.2.7:47474", "[2001:db8::7]:47474"]).hex())
    print("revocation_list", revocation_list(fleet_sk, fleet_pub, 3, ts + day, [pub2]).hex())


if __name__ == "__main__":
    main()
