// Node identity: the Ed25519 key pair a node signs with, the human-readable node ID derived
// from its public key, the pairing URI shown as a QR code, and the secret key file.
//
// Node ID (docs/protocol.md, "Node ID"): the 32-byte public key itself, base32 (RFC 4648
// alphabet, no padding: 52 characters), cut into 4 chunks of 13 characters, each followed by a
// Luhn mod 32 check character (Syncthing's scheme), then written in 8 groups of 7 separated by
// '-'. 56 characters + 7 dashes. Because the ID carries the whole key, an ID read aloud or
// typed is enough to trust a peer; the check characters catch any single mistyped character and
// most swaps of neighbours. The short form is the first group (7 characters), for logs and
// tables; it identifies, it does not authenticate.
//
// Pairing URI (docs/protocol.md, "Pairing URI"):
//   dust://v1/<NODE-ID>?name=<percent-encoded UTF-8>&check=<8 lower-case hex>[&ep=<endpoint>]...
// where check = hex of the first 4 bytes of BLAKE2b-256("dust-pair-v1" || public key || name),
// and each optional ep is a percent-encoded endpoint (endpoint.h: host:port) where the node can
// be reached by unicast, at most kMaxUriEndpoints. The check does not cover the endpoints: they
// are hints for reaching the node, never trusted for anything else (every datagram is signed).
// ParsePairingUri validates every part (scheme, version, node ID checks, name rules, check,
// endpoints).
//
// Key file (docs/protocol.md, "Key file"): 80 bytes, "DSTK" | version 1 | 3 zero bytes |
// seed (32) | public key (32) | Checksum64 of the preceding bytes (u64 LE). The public key is
// re-derived from the seed on load and must match. Written 0600 through AtomicWriteFile.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "dust/util/bytes.h"
#include "dust/util/crypto.h"
#include "dust/util/status.h"

namespace dust {

inline constexpr size_t kNodeIdChars = 56;      // without dashes
inline constexpr size_t kNodeIdGroupChars = 7;  // 8 groups of 7 in the display form
inline constexpr size_t kShortNodeIdChars = 7;
inline constexpr size_t kMaxDisplayNameBytes = 64;
inline constexpr size_t kKeyFileBytes = 80;

// "ABCDEFG-HIJKLMN-..." (63 characters, upper case).
std::string FormatNodeId(const PublicKey& key);
// The first group of FormatNodeId (7 characters).
std::string ShortNodeId(const PublicKey& key);

// Parses a node ID. Accepts upper or lower case, with or without the dashes (spaces are also
// ignored, for IDs read aloud and typed with gaps). Fails with kInvalidArgument naming the
// problem: wrong length, a character outside the alphabet (with its position), or a check
// character mismatch (with the group, i.e. "probably a typo in characters 1-14").
Result<PublicKey> ParseNodeId(std::string_view text);

// A display name is 1..64 bytes of valid UTF-8 without control characters (C0, DEL, C1).
// Used by pairing URIs, announces and the trust store.
Status ValidateDisplayName(std::string_view name);

struct PairingInfo {
  PublicKey key{};
  std::string display_name;
  std::vector<std::string> endpoints;  // in the URI's order, each valid, no repeats
};

// Fails only if the display name or an endpoint is invalid, or there are too many endpoints.
Result<std::string> FormatPairingUri(const PublicKey& key, std::string_view display_name,
                                     const std::vector<std::string>& endpoints = {});
// Strict: the parameters name and check exactly once each, ep at most kMaxUriEndpoints times
// (no repeats), in any order; percent-decoding must be well formed; the decoded name must pass
// ValidateDisplayName and each endpoint ValidateEndpoint; the check must match.
Result<PairingInfo> ParsePairingUri(std::string_view uri);

// Key file codec (pure).
Bytes EncodeKeyFile(const KeyPair& key);
// kCorrupt on bad magic/length/checksum or a public key that does not match the seed;
// kUnsupported on an unknown version.
Result<KeyPair> DecodeKeyFile(ByteView bytes);

// The ssh rule: a secret key file must not be accessible by group or others (mode & 077 == 0).
// Pure so it can be tested without chmod; kPermission with a message naming `path`, the mode
// and the fix ("chmod 600 <path>").
Status CheckKeyFileMode(const std::string& path, mode_t mode);

// Reads and decodes the key file at `path` after checking its mode with CheckKeyFileMode
// (stat, not the umask). kNotFound if it does not exist; every error message names the path.
Result<KeyPair> LoadIdentity(const std::string& path);
// Writes the key file atomically with mode 0600.
Status SaveIdentity(const std::string& path, const KeyPair& key);
// LoadIdentity, or if the file does not exist, GenerateKeyPair + SaveIdentity. `*created` (if
// not null) says which happened. Any other load error (permissions, corruption) is returned:
// a damaged identity is never silently replaced.
Result<KeyPair> LoadOrCreateIdentity(const std::string& path, bool* created);

}  // namespace dust
