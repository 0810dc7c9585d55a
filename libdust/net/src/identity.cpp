#include "dust/net/identity.h"

#include <sodium.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>

#include "dust/net/endpoint.h"
#include "dust/util/file.h"
#include "dust/util/sealed_file.h"

namespace dust {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
constexpr size_t kBase32Chars = 52;  // ceil(256 / 5)
constexpr size_t kChunkChars = 13;   // 4 chunks of 13, each + 1 Luhn check character
constexpr uint8_t kKeyVersion = 1;
constexpr size_t kKeyBodyBytes = kSeedBytes + kPublicKeyBytes;
constexpr SealedFormat kKeyFormat{
    .name = "key file", .magic = "DSTK", .min_body = kKeyBodyBytes, .max_body = kKeyBodyBytes};
static_assert(kKeyFormat.file_bytes(kKeyBodyBytes) == kKeyFileBytes);
constexpr std::string_view kPairPrefix = "dust://v1/";
// Name (64 bytes, up to 192 percent-encoded) and four endpoints (96 each, up to 3 x 96 encoded)
// fit with room; a QR code holds far more.
constexpr size_t kMaxPairingUriChars = 2048;
constexpr std::string_view kPairDomain = "dust-pair-v1";

// -1 if `c` is not in the alphabet. Lower case is accepted; so are the digits people type for
// look-alike letters (0 for O, 1 for I, 8 for B), which are not in the RFC 4648 alphabet.
int Base32Value(char c) {
  if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  if (c == '0') c = 'O';
  if (c == '1') c = 'I';
  if (c == '8') c = 'B';
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= '2' && c <= '7') return c - '2' + 26;
  return -1;
}

// Luhn mod N (N = 32) over code points, the standard algorithm: from the rightmost character,
// double every other one starting with the rightmost, fold each product to base 32 digits.
int LuhnCheck(const int* values, size_t n) {
  int factor = 2;
  int sum = 0;
  for (size_t i = n; i-- > 0;) {
    int addend = factor * values[i];
    factor = factor == 2 ? 1 : 2;
    sum += addend / 32 + addend % 32;
  }
  return (32 - sum % 32) % 32;
}

std::string Base32(const PublicKey& key) {
  std::string out;
  out.reserve(kBase32Chars);
  uint32_t buffer = 0;
  int bits = 0;
  for (uint8_t b : key) {
    buffer = (buffer << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out.push_back(kAlphabet[(buffer >> (bits - 5)) & 31]);
      bits -= 5;
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(buffer << (5 - bits)) & 31]);
  return out;
}

std::string ToHexLower(ByteView b) { return ToHex(b); }

std::array<uint8_t, 4> PairCheck(const PublicKey& key, std::string_view name) {
  Bytes msg;
  ByteWriter w(&msg);
  w.Raw(AsBytes(kPairDomain));
  w.Raw(key);
  w.Raw(AsBytes(name));
  Hash256 h = Blake2b256(msg);
  return {h[0], h[1], h[2], h[3]};
}

bool IsUnreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

std::string PercentEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (IsUnreserved(c)) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Result<std::string> PercentDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '%') {
      if (i + 2 >= s.size()) {
        return Status::InvalidArgument("truncated percent escape");
      }
      int hi = HexValue(s[i + 1]);
      int lo = HexValue(s[i + 2]);
      if (hi < 0 || lo < 0) return Status::InvalidArgument("bad percent escape");
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (IsUnreserved(c)) {
      out.push_back(static_cast<char>(c));
    } else {
      return Status::InvalidArgument("character " + std::to_string(c) + " must be percent-encoded");
    }
  }
  return out;
}

std::string ModeString(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

}  // namespace

std::string FormatNodeId(const PublicKey& key) {
  std::string b32 = Base32(key);
  std::string chars;
  chars.reserve(kNodeIdChars);
  for (size_t chunk = 0; chunk < 4; ++chunk) {
    int values[kChunkChars];
    for (size_t i = 0; i < kChunkChars; ++i) {
      char c = b32[chunk * kChunkChars + i];
      chars.push_back(c);
      values[i] = Base32Value(c);
    }
    chars.push_back(kAlphabet[LuhnCheck(values, kChunkChars)]);
  }
  std::string out;
  for (size_t i = 0; i < chars.size(); ++i) {
    if (i > 0 && i % kNodeIdGroupChars == 0) out.push_back('-');
    out.push_back(chars[i]);
  }
  return out;
}

std::string ShortNodeId(const PublicKey& key) {
  return FormatNodeId(key).substr(0, kShortNodeIdChars);
}

Result<PublicKey> ParseNodeId(std::string_view text) {
  int values[kNodeIdChars];
  size_t n = 0;
  for (size_t pos = 0; pos < text.size(); ++pos) {
    char c = text[pos];
    if (c == '-' || c == ' ') continue;
    int v = Base32Value(c);
    if (v < 0) {
      return Status::InvalidArgument("node ID: character '" + std::string(1, c) + "' at position " +
                                     std::to_string(pos + 1) + " is not base32 (A-Z, 2-7)");
    }
    if (n == kNodeIdChars) {
      return Status::InvalidArgument("node ID: too long (a node ID has 56 characters + dashes)");
    }
    values[n++] = v;
  }
  if (n != kNodeIdChars) {
    return Status::InvalidArgument("node ID: " + std::to_string(n) +
                                   " characters, expected 56 (8 groups of 7)");
  }
  int data[kBase32Chars];
  for (size_t chunk = 0; chunk < 4; ++chunk) {
    const int* group = values + chunk * (kChunkChars + 1);
    if (LuhnCheck(group, kChunkChars) != group[kChunkChars]) {
      size_t first = chunk * (kChunkChars + 1) + 1;
      return Status::InvalidArgument(
          "node ID: check character " + std::to_string(first + kChunkChars) +
          " does not match; probably a typo in characters " + std::to_string(first) + "-" +
          std::to_string(first + kChunkChars));
    }
    for (size_t i = 0; i < kChunkChars; ++i) data[chunk * kChunkChars + i] = group[i];
  }
  PublicKey key{};
  uint32_t buffer = 0;
  int bits = 0;
  size_t out = 0;
  for (size_t i = 0; i < kBase32Chars; ++i) {
    buffer = (buffer << 5) | static_cast<uint32_t>(data[i]);
    bits += 5;
    if (bits >= 8) {
      if (out < key.size()) key[out++] = static_cast<uint8_t>(buffer >> (bits - 8));
      bits -= 8;
    }
  }
  // 52 * 5 = 260 bits: the last 4 are padding and must be zero (one canonical text per key).
  if (bits != 4 || (buffer & 15) != 0) {
    return Status::InvalidArgument("node ID: not canonical (padding bits set); probably a typo");
  }
  return key;
}

Status ValidateDisplayName(std::string_view name) {
  if (name.empty()) return Status::InvalidArgument("display name is empty");
  if (name.size() > kMaxDisplayNameBytes) {
    return Status::InvalidArgument("display name is " + std::to_string(name.size()) +
                                   " bytes, more than 64");
  }
  // UTF-8 validation (RFC 3629: no overlongs, no surrogates, <= U+10FFFF).
  size_t i = 0;
  while (i < name.size()) {
    uint8_t c = static_cast<uint8_t>(name[i]);
    uint32_t cp;
    size_t len;
    if (c < 0x80) {
      cp = c;
      len = 1;
    } else if ((c & 0xE0) == 0xC0) {
      cp = c & 0x1F;
      len = 2;
    } else if ((c & 0xF0) == 0xE0) {
      cp = c & 0x0F;
      len = 3;
    } else if ((c & 0xF8) == 0xF0) {
      cp = c & 0x07;
      len = 4;
    } else {
      return Status::InvalidArgument("display name is not valid UTF-8");
    }
    if (i + len > name.size()) return Status::InvalidArgument("display name is not valid UTF-8");
    for (size_t k = 1; k < len; ++k) {
      uint8_t cc = static_cast<uint8_t>(name[i + k]);
      if ((cc & 0xC0) != 0x80) return Status::InvalidArgument("display name is not valid UTF-8");
      cp = (cp << 6) | (cc & 0x3F);
    }
    static constexpr uint32_t kMin[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return Status::InvalidArgument("display name is not valid UTF-8");
    }
    if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F)) {
      return Status::InvalidArgument("display name contains a control character");
    }
    i += len;
  }
  return Status::Ok();
}

Result<std::string> FormatPairingUri(const PublicKey& key, std::string_view display_name,
                                     const std::vector<std::string>& endpoints) {
  DUST_RETURN_IF_ERROR(ValidateDisplayName(display_name));
  if (endpoints.size() > kMaxUriEndpoints) {
    return Status::InvalidArgument("pairing URI: more than " + std::to_string(kMaxUriEndpoints) +
                                   " endpoints");
  }
  std::string uri = std::string(kPairPrefix) + FormatNodeId(key) +
                    "?name=" + PercentEncode(display_name) +
                    "&check=" + ToHexLower(PairCheck(key, display_name));
  for (const std::string& ep : endpoints) {
    DUST_RETURN_IF_ERROR(ValidateEndpoint(ep));
    uri += "&ep=" + PercentEncode(ep);
  }
  return uri;
}

Result<PairingInfo> ParsePairingUri(std::string_view uri) {
  auto fail = [](const std::string& why) { return Status::InvalidArgument("pairing URI: " + why); };
  if (uri.size() > kMaxPairingUriChars) return fail("too long");
  if (uri.substr(0, kPairPrefix.size()) != kPairPrefix) {
    return fail("must start with " + std::string(kPairPrefix));
  }
  std::string_view rest = uri.substr(kPairPrefix.size());
  size_t q = rest.find('?');
  if (q == std::string_view::npos) return fail("missing ?name=...&check=...");
  Result<PublicKey> key = ParseNodeId(rest.substr(0, q));
  if (!key.ok()) return key.status().WithContext("pairing URI");
  std::string_view query = rest.substr(q + 1);
  std::optional<std::string> name;
  std::optional<std::string_view> check;
  std::vector<std::string> endpoints;
  while (true) {
    size_t amp = query.find('&');
    std::string_view param = query.substr(0, amp);
    size_t eq = param.find('=');
    if (eq == std::string_view::npos) return fail("parameter without '='");
    std::string_view k = param.substr(0, eq);
    std::string_view v = param.substr(eq + 1);
    if (k == "name") {
      if (name) return fail("name given twice");
      Result<std::string> decoded = PercentDecode(v);
      if (!decoded.ok()) return decoded.status().WithContext("pairing URI: name");
      name = std::move(decoded.value());
    } else if (k == "check") {
      if (check) return fail("check given twice");
      check = v;
    } else if (k == "ep") {
      if (endpoints.size() == kMaxUriEndpoints) {
        return fail("more than " + std::to_string(kMaxUriEndpoints) + " endpoints");
      }
      Result<std::string> decoded = PercentDecode(v);
      if (!decoded.ok()) return decoded.status().WithContext("pairing URI: ep");
      Status valid = ValidateEndpoint(*decoded);
      if (!valid.ok()) return valid.WithContext("pairing URI");
      if (std::find(endpoints.begin(), endpoints.end(), *decoded) != endpoints.end()) {
        return fail("endpoint " + *decoded + " given twice");
      }
      endpoints.push_back(std::move(decoded.value()));
    } else {
      return fail("unknown parameter '" + std::string(k.substr(0, 32)) + "'");
    }
    if (amp == std::string_view::npos) break;
    query = query.substr(amp + 1);
  }
  if (!name) return fail("missing name");
  if (!check) return fail("missing check");
  Status st = ValidateDisplayName(*name);
  if (!st.ok()) return st.WithContext("pairing URI");
  Bytes check_bytes;
  if (check->size() != 8 || !FromHex(*check, &check_bytes)) {
    return fail("check must be 8 hex characters");
  }
  std::array<uint8_t, 4> want = PairCheck(*key, *name);
  if (!std::equal(want.begin(), want.end(), check_bytes.begin())) {
    return fail("check does not match the key and name (damaged or altered)");
  }
  return PairingInfo{*key, std::move(*name), std::move(endpoints)};
}

Bytes EncodeKeyFile(const KeyPair& key) {
  return SealFile(
      kKeyFormat, kKeyVersion,
      [&](ByteWriter& w) {
        w.Raw(ByteView(key.secret_key.data(), kSeedBytes));
        w.Raw(key.public_key);
      },
      kKeyBodyBytes);
}

Result<KeyPair> DecodeKeyFile(ByteView bytes) {
  Result<SealedFile> file = OpenSealedFile(bytes, kKeyFormat, {kKeyVersion});
  if (!file.ok()) return file.status();
  ByteReader r(file->body);
  auto seed = r.Array<kSeedBytes>();
  auto pub = r.Array<kPublicKeyBytes>();
  KeyPair kp = KeyPairFromSeed(seed);
  sodium_memzero(seed.data(), seed.size());
  if (kp.public_key != pub) {
    return Status::Corrupt("key file: public key does not match the secret key");
  }
  return kp;
}

Status CheckKeyFileMode(const std::string& path, mode_t mode) {
  if ((mode & 077) != 0) {
    return Status::Permission("key file " + path + ": permissions " + ModeString(mode) +
                              " are too open; the secret key must not be accessible by group or "
                              "others. Fix with: chmod 600 " +
                              path);
  }
  return Status::Ok();
}

Result<KeyPair> LoadIdentity(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return Status::NotFound(path + ": no such file");
    return Status::IoError(path + ": cannot stat: " + std::strerror(errno));
  }
  DUST_RETURN_IF_ERROR(CheckKeyFileMode(path, st.st_mode));
  Result<Bytes> bytes = ReadFile(path, 4096);
  if (!bytes.ok()) return bytes.status();
  Result<KeyPair> kp = DecodeKeyFile(*bytes);
  sodium_memzero(bytes->data(), bytes->size());
  if (!kp.ok()) return kp.status().WithContext(path);
  return kp;
}

Status SaveIdentity(const std::string& path, const KeyPair& key) {
  Bytes bytes = EncodeKeyFile(key);
  Status st = AtomicWriteFile(path, bytes, 0600);
  sodium_memzero(bytes.data(), bytes.size());
  return st;
}

Result<KeyPair> LoadOrCreateIdentity(const std::string& path, bool* created) {
  if (created) *created = false;
  Result<KeyPair> kp = LoadIdentity(path);
  if (kp.ok() || kp.status().code() != StatusCode::kNotFound) return kp;
  KeyPair fresh = GenerateKeyPair();
  DUST_RETURN_IF_ERROR(SaveIdentity(path, fresh));
  if (created) *created = true;
  return fresh;
}

}  // namespace dust
