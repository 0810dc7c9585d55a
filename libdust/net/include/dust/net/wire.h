// The datagram format: header | payload | Ed25519 signature (docs/protocol.md, "Datagram").
//
// Layout, little-endian, offsets in bytes:
//    0   3  magic "DST"
//    3   1  version = 1
//    4   1  message type (MessageType)
//    5   1  flags (kFlagPayloadLz4; every other bit must be zero)
//    6   2  header length = kHeaderBytes (78) for version 1
//    8   2  payload length P (<= kMaxPayloadBytes)
//   10  32  sender Ed25519 public key
//   42   8  counter (u64, per sender, never repeats; see replay.h CounterAllocator)
//   50   8  timestamp_ms (i64, sender's clock, ms since the Unix epoch)
//   58   8  model fingerprint (model.h Fingerprint)
//   66   4  sample weight (u32; update: samples behind it; announce: 0)
//   70   8  round (u64; sender's round when it sent this)
//   78   P  payload
//   78+P 64 signature: Ed25519 over bytes [0, 78+P)
// Total 142 + P bytes, at most kMaxDatagramBytes (1452), so P <= 1310.
//
// The codecs here are pure and structural: ParseDatagram checks sizes, magic, version, type,
// flags and lengths, nothing that needs a key or a clock. Authentication is ingress.h's job.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "dust/util/bytes.h"
#include "dust/util/crypto.h"
#include "dust/util/status.h"

namespace dust {

inline constexpr size_t kMaxDatagramBytes = 1452;  // unfragmented over IPv6 (and IPv4) at MTU 1500
inline constexpr size_t kHeaderBytes = 78;
inline constexpr size_t kMinDatagramBytes = kHeaderBytes + kSignatureBytes;  // empty payload
inline constexpr size_t kMaxPayloadBytes = kMaxDatagramBytes - kHeaderBytes - kSignatureBytes;
inline constexpr uint8_t kWireVersion = 1;
inline constexpr std::array<uint8_t, 3> kWireMagic = {'D', 'S', 'T'};

// Explicit values; a retired value is commented out here, never reused.
enum class MessageType : uint8_t {
  kUpdate = 1,    // payload: an encoded model update (codec.h, owned by the engine)
  kAnnounce = 2,  // payload: Announce below
  kScaling =
      3,  // payload: a block of feature statistics or of the fleet's scaling (scaling_wire.h)
  kCertificate = 4,     // payload: the sender's fleet certificate (fleet.h)
  kRevocationList = 5,  // payload: a fleet's newest revocation list (fleet.h)
  kPeerExchange = 6,    // payload: endpoints of trusted peers (endpoint.h), the daemon's
};

// Whether `type` is one of the fleet messages (4, 5), which ingress.h admits from senders that
// are not trusted yet: a certificate is how an unknown sender becomes trusted.
inline bool IsFleetMessage(MessageType type) {
  return type == MessageType::kCertificate || type == MessageType::kRevocationList;
}

// Flag bits. The codec owns kFlagPayloadLz4 (set when it LZ4-compressed the payload).
inline constexpr uint8_t kFlagPayloadLz4 = 0x01;
inline constexpr uint8_t kKnownFlags = kFlagPayloadLz4;

// Same bytes as model.h's ModelFingerprint (std::array<uint8_t, 8>); spelled out here so the
// wire layer does not depend on the model layer.
using WireFingerprint = std::array<uint8_t, 8>;

struct DatagramHeader {
  MessageType type = MessageType::kUpdate;
  uint8_t flags = 0;
  PublicKey sender{};  // EncodeDatagram writes the signing key's public key here
  uint64_t counter = 0;
  int64_t timestamp_ms = 0;
  WireFingerprint model{};
  uint32_t sample_weight = 0;
  uint64_t round = 0;

  bool operator==(const DatagramHeader&) const = default;
};

// The result of a structural parse. Views point into the bytes given to ParseDatagram; the
// caller keeps them alive while using it.
struct ParsedDatagram {
  DatagramHeader header;
  ByteView payload;        // P bytes at offset 78
  ByteView signed_region;  // bytes [0, 78+P)
  Signature signature{};
};

// Builds and signs a datagram with `key`; header.sender is ignored and key.public_key written.
// kInvalidArgument if payload.size() > kMaxPayloadBytes or header.flags has unknown bits.
Result<Bytes> EncodeDatagram(const DatagramHeader& header, ByteView payload, const KeyPair& key);

// The bytes the signature covers (header with header.sender as given, then payload).
Bytes EncodeSignedRegion(const DatagramHeader& header, ByteView payload);
// Header, payload and a given signature, without signing (re-encoding a parsed datagram; tests).
Bytes AssembleDatagram(const DatagramHeader& header, ByteView payload, const Signature& sig);

// The sender field of bytes that begin like a datagram (at least kMinDatagramBytes, starting
// with kWireMagic), parsing and verifying nothing else; nullopt otherwise. Unauthenticated: for
// recognising one's own broadcasts as they come back before spending any work on them (an
// authenticated sender is DatagramOutcome's, engine/node.h).
std::optional<PublicKey> PeekSender(ByteView datagram);

// Structural parse. kCorrupt with a reason on: size < kMinDatagramBytes or > kMaxDatagramBytes,
// bad magic, header length != kHeaderBytes, payload length not matching the datagram size
// exactly (truncated or extended), unknown flag bits, unknown message type, an announce payload
// longer than kMaxAnnouncePayloadBytes, a certificate or revocation list payload longer than
// fleet.h's bounds. kUnsupported on a version other than kWireVersion.
// Allocates nothing when it succeeds (only an error builds its message).
Result<ParsedDatagram> ParseDatagram(ByteView datagram);

// Announce payload (docs/protocol.md, "Announce payload"), 9 + N bytes of base fields, then
// extensions:
//   0  1  name length N (1..64)
//   1  N  display name (ValidateDisplayName rules)
//   1+N 2 listen port (u16; 0 = not listening on a fixed port / unknown)
//   3+N 2 accuracy in basis points 0..10000 on the sender's held-out data; 0xFFFF = unknown
//   5+N 4 local training samples (u32)
//   9+N   extensions: zero or more of tag u8 | length L u8 | L bytes, tags strictly increasing,
//         at most kMaxAnnounceExtensionBytes in all. A receiver skips a tag it does not know (a
//         newer peer's field), so fields can be added without breaking peers of this version.
// The model fingerprint and current round travel in the datagram header.
inline constexpr size_t kMaxAnnounceExtensionBytes = 64;
inline constexpr size_t kMaxAnnouncePayloadBytes = 9 + 64 + kMaxAnnounceExtensionBytes;
inline constexpr uint16_t kAccuracyUnknown = 0xFFFF;
// Extension tags. Explicit values; a retired one is commented out here, never reused.
inline constexpr uint8_t kAnnounceTagSchedulePosition = 1;  // u64, L = 8
inline constexpr uint8_t kAnnounceTagPrivacy = 2;           // 2 x f32, L = 8

// What a node running DP-SGD announces (docs/privacy.md): the epsilon it has spent and its
// budget (0: none), both finite and >= 0.
struct AnnouncedPrivacy {
  float epsilon = 0;
  float epsilon_budget = 0;
  bool operator==(const AnnouncedPrivacy&) const = default;
};

struct Announce {
  std::string display_name;
  uint16_t listen_port = 0;
  uint16_t accuracy_bp = kAccuracyUnknown;
  uint32_t local_samples = 0;
  // The sender's position on its learning-rate schedule, in local SGD steps (docs/engine.md,
  // "A fleet-wide learning-rate schedule"); absent from peers that do not schedule (dust-sim)
  // and from older versions.
  std::optional<uint64_t> schedule_position;
  std::optional<AnnouncedPrivacy> dp;  // extension tag 2; absent without DP and from older peers

  bool operator==(const Announce&) const = default;
};

// kInvalidArgument on an invalid display name or accuracy_bp > 10000 (other than unknown).
Result<Bytes> EncodeAnnounce(const Announce& announce);
// Strict: valid name, accuracy in range, well-formed extensions (each within the payload, tags
// increasing, a known tag with its own length and valid values). kCorrupt otherwise. Unknown
// tags are skipped, so EncodeAnnounce(DecodeAnnounce(p)) equals p only when p has none.
Result<Announce> DecodeAnnounce(ByteView payload);

}  // namespace dust
