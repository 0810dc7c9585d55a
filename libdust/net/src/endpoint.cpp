#include "dust/net/endpoint.h"

#include <algorithm>

namespace dust {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsHex(char c) { return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool IsAlnum(char c) { return IsDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// Decimal without sign or leading zeros, at most `max`; false otherwise.
bool ParseDecimal(std::string_view s, uint32_t max, uint32_t* out) {
  if (s.empty() || s.size() > 5 || (s.size() > 1 && s[0] == '0')) return false;
  uint32_t v = 0;
  for (char c : s) {
    if (!IsDigit(c)) return false;
    v = v * 10 + static_cast<uint32_t>(c - '0');
  }
  if (v > max) return false;
  *out = v;
  return true;
}

bool IsIpv4(std::string_view s) {
  int parts = 0;
  while (true) {
    size_t dot = s.find('.');
    uint32_t octet = 0;
    if (!ParseDecimal(s.substr(0, dot), 255, &octet)) return false;
    ++parts;
    if (dot == std::string_view::npos) break;
    s = s.substr(dot + 1);
  }
  return parts == 4;
}

// RFC 4291 section 2.2 text form: up to 8 groups of 1..4 hex digits separated by ':', at most
// one "::" standing for one or more zero groups, the last 32 bits optionally as a dotted quad.
// No zone index ("%eth0"): an endpoint travels between hosts, a zone is local to one.
bool IsIpv6(std::string_view s) {
  if (s.size() < 2 || s.size() > 45) return false;
  const size_t gap = s.find("::");
  if (gap != std::string_view::npos && s.find("::", gap + 1) != std::string_view::npos) {
    return false;
  }
  // Counts the 16-bit groups of one side of the gap (or of the whole address); -1 if malformed.
  auto groups = [](std::string_view part, bool may_end_in_ipv4) -> int {
    if (part.empty()) return 0;
    int n = 0;
    size_t start = 0;
    while (true) {
      const size_t colon = part.find(':', start);
      std::string_view g =
          part.substr(start, colon == std::string_view::npos ? colon : colon - start);
      if (colon == std::string_view::npos && may_end_in_ipv4 &&
          g.find('.') != std::string_view::npos) {
        return IsIpv4(g) ? n + 2 : -1;
      }
      if (g.empty() || g.size() > 4 || !std::all_of(g.begin(), g.end(), IsHex)) return -1;
      ++n;
      if (colon == std::string_view::npos) return n;
      start = colon + 1;
    }
  };
  if (gap == std::string_view::npos) return groups(s, true) == 8;
  const int left = groups(s.substr(0, gap), false);
  const int right = groups(s.substr(gap + 2), true);
  return left >= 0 && right >= 0 && left + right <= 7;
}

bool IsDnsName(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  bool all_numeric = true;
  while (true) {
    size_t dot = s.find('.');
    std::string_view label = s.substr(0, dot);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return false;
    }
    for (char c : label) {
      if (!IsAlnum(c) && c != '-') return false;
      if (!IsDigit(c)) all_numeric = false;
    }
    if (dot == std::string_view::npos) break;
    s = s.substr(dot + 1);
  }
  return !all_numeric;
}

}  // namespace

Result<ParsedEndpoint> ParseEndpoint(std::string_view text) {
  auto bad = [&](const std::string& why) {
    return Status::InvalidArgument("endpoint '" + std::string(text.substr(0, kMaxEndpointChars)) +
                                   "': " + why);
  };
  if (text.empty()) return bad("empty");
  if (text.size() > kMaxEndpointChars) {
    return bad("longer than " + std::to_string(kMaxEndpointChars) + " characters");
  }
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return bad("missing :port");
  ParsedEndpoint out;
  uint32_t port = 0;
  if (!ParseDecimal(text.substr(colon + 1), 65535, &port) || port == 0) {
    return bad("port must be 1..65535");
  }
  out.port = static_cast<uint16_t>(port);
  std::string_view host = text.substr(0, colon);
  if (!host.empty() && host.front() == '[') {
    if (host.size() < 2 || host.back() != ']') return bad("IPv6 address without closing ']'");
    host = host.substr(1, host.size() - 2);
    if (!IsIpv6(host)) return bad("not an IPv6 address");
    out.kind = EndpointKind::kIpv6;
  } else if (IsIpv4(host)) {
    out.kind = EndpointKind::kIpv4;
  } else if (host.find(':') != std::string_view::npos) {
    return bad("an IPv6 address needs brackets: [address]:port");
  } else if (IsDnsName(host)) {
    out.kind = EndpointKind::kName;
  } else {
    return bad("host is neither an IPv4 address, an [IPv6] address nor a DNS name");
  }
  out.host = std::string(host);
  return out;
}

Result<Bytes> EncodePeerExchange(const std::vector<PeerExchangeEntry>& entries) {
  if (entries.size() > kMaxPeerExchangeEntries) {
    return Status::InvalidArgument("peer exchange: more than " +
                                   std::to_string(kMaxPeerExchangeEntries) + " entries");
  }
  Bytes out;
  ByteWriter w(&out);
  w.U8(static_cast<uint8_t>(entries.size()));
  for (size_t i = 0; i < entries.size(); ++i) {
    const PeerExchangeEntry& e = entries[i];
    DUST_RETURN_IF_ERROR(ValidateEndpoint(e.endpoint));
    if (std::find(entries.begin(), entries.begin() + static_cast<std::ptrdiff_t>(i), e) !=
        entries.begin() + static_cast<std::ptrdiff_t>(i)) {
      return Status::InvalidArgument("peer exchange: duplicate entry " + e.endpoint);
    }
    w.Raw(e.key);
    w.U8(static_cast<uint8_t>(e.endpoint.size()));
    w.Raw(AsBytes(e.endpoint));
  }
  return out;
}

Result<std::vector<PeerExchangeEntry>> DecodePeerExchange(ByteView payload) {
  auto bad = [](const std::string& why) { return Status::Corrupt("peer exchange: " + why); };
  ByteReader r(payload);
  const uint8_t count = r.U8();
  if (!r.ok()) return bad("empty payload");
  if (count > kMaxPeerExchangeEntries) return bad(std::to_string(count) + " entries");
  // The smallest entry is a key and a 1-byte length with an endpoint of at least "a:1".
  constexpr size_t kMinEntryBytes = kPublicKeyBytes + 1 + 3;
  if (r.remaining() < count * kMinEntryBytes) return bad("shorter than its entry count");
  std::vector<PeerExchangeEntry> out;
  out.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    PeerExchangeEntry e;
    e.key = r.Array<kPublicKeyBytes>();
    const uint8_t n = r.U8();
    ByteView text = r.Raw(n);
    if (!r.ok()) return bad("truncated at entry " + std::to_string(i));
    if (n == 0 || n > kMaxEndpointChars) return bad("endpoint length " + std::to_string(n));
    e.endpoint.assign(reinterpret_cast<const char*>(text.data()), text.size());
    if (Status st = ValidateEndpoint(e.endpoint); !st.ok()) return bad(st.message());
    if (std::find(out.begin(), out.end(), e) != out.end()) {
      return bad("entry " + std::to_string(i) + " repeats an earlier one");
    }
    out.push_back(std::move(e));
  }
  if (r.remaining() != 0) return bad("trailing bytes");
  return out;
}

}  // namespace dust
