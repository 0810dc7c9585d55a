#include "dust/net/wire.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "dust/net/fleet.h"
#include "dust/net/identity.h"

namespace dust {
namespace {

// Where the sender's public key sits in the header (layout in wire.h).
constexpr size_t kSenderOffset = 10;

void WriteHeader(const DatagramHeader& h, uint16_t payload_len, ByteWriter& w) {
  for (uint8_t m : kWireMagic) w.U8(m);
  w.U8(kWireVersion);
  w.U8(static_cast<uint8_t>(h.type));
  w.U8(h.flags);
  w.U16(static_cast<uint16_t>(kHeaderBytes));
  w.U16(payload_len);
  w.Raw(h.sender);
  w.U64(h.counter);
  w.I64(h.timestamp_ms);
  w.Raw(h.model);
  w.U32(h.sample_weight);
  w.U64(h.round);
}

bool KnownType(uint8_t t) {
  return t == static_cast<uint8_t>(MessageType::kUpdate) ||
         t == static_cast<uint8_t>(MessageType::kAnnounce) ||
         t == static_cast<uint8_t>(MessageType::kScaling) ||
         t == static_cast<uint8_t>(MessageType::kPeerExchange) ||
         t == static_cast<uint8_t>(MessageType::kCertificate) ||
         t == static_cast<uint8_t>(MessageType::kRevocationList);
}

}  // namespace

Bytes EncodeSignedRegion(const DatagramHeader& header, ByteView payload) {
  Bytes out;
  out.reserve(kHeaderBytes + payload.size() + kSignatureBytes);
  ByteWriter w(&out);
  WriteHeader(header, static_cast<uint16_t>(payload.size()), w);
  w.Raw(payload);
  return out;
}

Bytes AssembleDatagram(const DatagramHeader& header, ByteView payload, const Signature& sig) {
  Bytes out = EncodeSignedRegion(header, payload);
  out.insert(out.end(), sig.begin(), sig.end());
  return out;
}

Result<Bytes> EncodeDatagram(const DatagramHeader& header, ByteView payload, const KeyPair& key) {
  if (payload.size() > kMaxPayloadBytes) {
    return Status::InvalidArgument("datagram payload is " + std::to_string(payload.size()) +
                                   " bytes, more than " + std::to_string(kMaxPayloadBytes));
  }
  if ((header.flags & ~kKnownFlags) != 0) {
    return Status::InvalidArgument("datagram flags have unknown bits set");
  }
  if (!KnownType(static_cast<uint8_t>(header.type))) {
    return Status::InvalidArgument("unknown message type");
  }
  DatagramHeader h = header;
  h.sender = key.public_key;
  Bytes out = EncodeSignedRegion(h, payload);
  Signature sig = Sign(out, key);
  out.insert(out.end(), sig.begin(), sig.end());
  return out;
}

std::optional<PublicKey> PeekSender(ByteView datagram) {
  if (datagram.size() < kMinDatagramBytes ||
      !std::equal(kWireMagic.begin(), kWireMagic.end(), datagram.begin())) {
    return std::nullopt;
  }
  PublicKey sender;
  std::copy_n(datagram.begin() + kSenderOffset, sender.size(), sender.begin());
  return sender;
}

Result<ParsedDatagram> ParseDatagram(ByteView d) {
  if (d.size() < kMinDatagramBytes) {
    return Status::Corrupt("datagram is " + std::to_string(d.size()) + " bytes, shorter than " +
                           std::to_string(kMinDatagramBytes));
  }
  if (d.size() > kMaxDatagramBytes) {
    return Status::Corrupt("datagram is " + std::to_string(d.size()) + " bytes, longer than " +
                           std::to_string(kMaxDatagramBytes));
  }
  ByteReader r(d);
  auto magic = r.Array<3>();
  if (magic != kWireMagic) return Status::Corrupt("datagram: bad magic");
  uint8_t version = r.U8();
  if (version != kWireVersion) {
    return Status::Unsupported("datagram: version " + std::to_string(version));
  }
  ParsedDatagram p;
  uint8_t type = r.U8();
  if (!KnownType(type)) return Status::Corrupt("datagram: unknown type " + std::to_string(type));
  p.header.type = static_cast<MessageType>(type);
  p.header.flags = r.U8();
  if ((p.header.flags & ~kKnownFlags) != 0) return Status::Corrupt("datagram: unknown flags");
  uint16_t header_len = r.U16();
  if (header_len != kHeaderBytes) return Status::Corrupt("datagram: bad header length");
  uint16_t payload_len = r.U16();
  if (size_t{payload_len} + kHeaderBytes + kSignatureBytes != d.size()) {
    return Status::Corrupt("datagram: payload length " + std::to_string(payload_len) +
                           " does not match datagram size " + std::to_string(d.size()));
  }
  if (p.header.type == MessageType::kAnnounce && payload_len > kMaxAnnouncePayloadBytes) {
    return Status::Corrupt("datagram: announce payload too long");
  }
  if ((p.header.type == MessageType::kCertificate && payload_len > kMaxCertificateBytes) ||
      (p.header.type == MessageType::kRevocationList && payload_len > kMaxRevocationListBytes)) {
    return Status::Corrupt("datagram: fleet payload too long");
  }
  p.header.sender = r.Array<kPublicKeyBytes>();
  p.header.counter = r.U64();
  p.header.timestamp_ms = r.I64();
  p.header.model = r.Array<8>();
  p.header.sample_weight = r.U32();
  p.header.round = r.U64();
  p.payload = r.Raw(payload_len);
  p.signature = r.Array<kSignatureBytes>();
  if (!r.ok() || r.remaining() != 0) return Status::Corrupt("datagram: truncated");  // unreachable
  p.signed_region = d.subspan(0, kHeaderBytes + payload_len);
  return p;
}

Result<Bytes> EncodeAnnounce(const Announce& a) {
  DUST_RETURN_IF_ERROR(ValidateDisplayName(a.display_name));
  if (a.accuracy_bp > 10000 && a.accuracy_bp != kAccuracyUnknown) {
    return Status::InvalidArgument("announce accuracy out of range");
  }
  if (a.dp && !(std::isfinite(a.dp->epsilon) && a.dp->epsilon >= 0 &&
                std::isfinite(a.dp->epsilon_budget) && a.dp->epsilon_budget >= 0)) {
    return Status::InvalidArgument("announce privacy values out of range");
  }
  Bytes out;
  ByteWriter w(&out);
  w.U8(static_cast<uint8_t>(a.display_name.size()));
  w.Raw(AsBytes(a.display_name));
  w.U16(a.listen_port);
  w.U16(a.accuracy_bp);
  w.U32(a.local_samples);
  if (a.schedule_position) {
    w.U8(kAnnounceTagSchedulePosition);
    w.U8(8);
    w.U64(*a.schedule_position);
  }
  if (a.dp) {
    w.U8(kAnnounceTagPrivacy);
    w.U8(8);
    w.F32(a.dp->epsilon);
    w.F32(a.dp->epsilon_budget);
  }
  return out;
}

Result<Announce> DecodeAnnounce(ByteView payload) {
  ByteReader r(payload);
  uint8_t n = r.U8();
  ByteView name = r.Raw(n);
  Announce a;
  a.listen_port = r.U16();
  a.accuracy_bp = r.U16();
  a.local_samples = r.U32();
  if (!r.ok()) return Status::Corrupt("announce: truncated");
  if (r.remaining() > kMaxAnnounceExtensionBytes) {
    return Status::Corrupt("announce: extensions too long");
  }
  int last_tag = -1;
  while (r.remaining() != 0) {
    const uint8_t tag = r.U8();
    const uint8_t len = r.U8();
    ByteView value = r.Raw(len);
    if (!r.ok()) return Status::Corrupt("announce: truncated extension");
    if (tag <= last_tag) return Status::Corrupt("announce: extension tags out of order");
    last_tag = tag;
    if (tag == kAnnounceTagSchedulePosition) {
      if (len != 8) return Status::Corrupt("announce: schedule position is not 8 bytes");
      ByteReader v(value);
      a.schedule_position = v.U64();
    }
    if (tag == kAnnounceTagPrivacy) {
      if (len != 8) return Status::Corrupt("announce: privacy is not 8 bytes");
      ByteReader v(value);
      AnnouncedPrivacy p{.epsilon = v.F32(), .epsilon_budget = v.F32()};
      if (!std::isfinite(p.epsilon) || p.epsilon < 0 || !std::isfinite(p.epsilon_budget) ||
          p.epsilon_budget < 0) {
        return Status::Corrupt("announce: privacy values out of range");
      }
      a.dp = p;
    }
    // Any other tag is a newer peer's field: skipped.
  }
  a.display_name.assign(reinterpret_cast<const char*>(name.data()), name.size());
  Status st = ValidateDisplayName(a.display_name);
  if (!st.ok()) return Status::Corrupt("announce: " + st.message());
  if (a.accuracy_bp > 10000 && a.accuracy_bp != kAccuracyUnknown) {
    return Status::Corrupt("announce: accuracy out of range");
  }
  return a;
}

}  // namespace dust
