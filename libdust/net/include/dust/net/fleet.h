// Fleet certificates and revocation lists (docs/protocol.md, "Fleet certificate" and
// "Revocation list"): an operator's fleet signing key vouches for device keys, so a device that
// trusts the fleet trusts every device the fleet enrolled, without pairwise `trust add`.
//
// A fleet is named by its signing key's public key, shown like a node ID (identity.h
// FormatNodeId): the fleet ID. Both formats are signed by the fleet key over a context prefix
// and the encoded bytes, so a certificate's signature can never verify as a revocation list's
// or as a datagram's (datagram signatures cover bytes starting "DST\x01"; these start "dust-").
//
// Certificate, little-endian (at most kMaxCertificateBytes, 478):
//    0   4  magic "DSFC"
//    4   1  version = 1
//    5   3  zero
//    8  32  fleet public key (the fleet ID)
//   40  32  device public key
//   72   8  issued_at_ms (i64)
//   80   8  expires_at_ms (i64, > issued_at_ms)
//   88   1  name length N (0..64; 0 = no name)
//   89   N  display name (ValidateDisplayName rules)
//   89+N 1  endpoint count E (0..4)
//           E x ( length L u8 (1..64) | L bytes "host:port" (ValidateCertificateEndpoint) )
//   then 64 Ed25519 signature by the fleet key over kCertificateContext || every preceding byte
//
// Revocation list (at most kMaxRevocationListBytes, 1,146, so it fits one datagram):
//    0   4  magic "DSFR"
//    4   1  version = 1
//    5   3  zero
//    8  32  fleet public key
//   40   8  serial (u64, >= 1; a fleet's lists are numbered 1, 2, 3, ...)
//   48   8  issued_at_ms (i64)
//   56   2  count n (u16, 0..kMaxRevokedKeys)
//   58 32n  revoked device public keys, strictly ascending (sorted, no duplicates)
//   then 64 Ed25519 signature by the fleet key over kRevocationContext || every preceding byte
//
// The codecs are pure and strict: every size is checked against its bound before anything is
// allocated, every reserved byte must be zero, and trailing bytes are refused; so an accepted
// input has exactly one encoding. Parse* checks structure only; Verify* checks the signature.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dust/util/bytes.h"
#include "dust/util/crypto.h"
#include "dust/util/status.h"

namespace dust {

inline constexpr size_t kMaxCertificateEndpoints = 4;
inline constexpr size_t kMaxEndpointBytes = 64;
inline constexpr size_t kMaxCertificateBytes =
    89 + 64 + 1 + kMaxCertificateEndpoints * (1 + kMaxEndpointBytes) + kSignatureBytes;
inline constexpr size_t kMinCertificateBytes = 89 + 1 + kSignatureBytes;
// Bounded so a whole list travels in one datagram payload (wire.h kMaxPayloadBytes, 1,310).
inline constexpr size_t kMaxRevokedKeys = 32;
inline constexpr size_t kMaxRevocationListBytes = 58 + kMaxRevokedKeys * 32 + kSignatureBytes;
inline constexpr size_t kMinRevocationListBytes = 58 + kSignatureBytes;
inline constexpr std::string_view kCertificateContext = "dust-fleet-certificate-v1";
inline constexpr std::string_view kRevocationContext = "dust-fleet-revocations-v1";

struct Certificate {
  PublicKey fleet{};  // set by EncodeCertificate from the signing key
  PublicKey device{};
  int64_t issued_at_ms = 0;
  int64_t expires_at_ms = 0;
  std::string display_name;            // empty: none
  std::vector<std::string> endpoints;  // each passes ValidateCertificateEndpoint, at most 4

  bool operator==(const Certificate&) const = default;
};

struct RevocationList {
  PublicKey fleet{};  // set by EncodeRevocationList from the signing key
  uint64_t serial = 0;
  int64_t issued_at_ms = 0;
  std::vector<PublicKey> revoked;  // EncodeRevocationList sorts them

  bool operator==(const RevocationList&) const = default;
};

// A structurally valid input: the fields, and what the signature covers. `signed_bytes` is the
// encoded input without its signature (a view into the parsed bytes).
template <typename T>
struct Parsed {
  T value;
  ByteView signed_bytes;
  Signature signature{};
};

// An endpoint a certificate may carry: endpoint.h's "host:port" (ValidateEndpoint, the same
// grammar as pairing URIs and peer exchange), and at most kMaxEndpointBytes (64) bytes.
// kInvalidArgument naming the problem.
Status ValidateCertificateEndpoint(std::string_view endpoint);

// kInvalidArgument if a field is out of its bounds (name, endpoints, times, too many keys,
// serial 0, duplicate revoked keys).
Result<Bytes> EncodeCertificate(const Certificate& cert, const KeyPair& fleet_key);
Result<Bytes> EncodeRevocationList(const RevocationList& list, const KeyPair& fleet_key);

// The bytes a signature covers (without the context prefix), for c.fleet / list.fleet as given,
// without validating the fields: what Parse* must give back as signed_bytes (the fuzz targets
// check that every accepted input has this one encoding).
Bytes CertificateSignedBytes(const Certificate& cert);
Bytes RevocationListSignedBytes(const RevocationList& list);

// Structural parse: kCorrupt with a reason (size, magic, reserved bytes, lengths, name,
// endpoint, times, order of keys, trailing bytes), kUnsupported on another version.
Result<Parsed<Certificate>> ParseCertificate(ByteView bytes);
Result<Parsed<RevocationList>> ParseRevocationList(ByteView bytes);

// The fleet key's signature over the context prefix and signed_bytes.
bool VerifyCertificate(const Parsed<Certificate>& cert);
bool VerifyRevocationList(const Parsed<RevocationList>& list);

// Parse then verify: kCorrupt "bad signature" if the signature does not verify.
Result<Certificate> DecodeCertificate(ByteView bytes);
Result<RevocationList> DecodeRevocationList(ByteView bytes);

// Files (dustctl fleet enroll/revoke write them, install reads them). Which kind a file holds
// is told by its magic: FileKind of the first four bytes.
enum class FleetFileKind : uint8_t { kUnknown, kCertificate, kRevocationList };
FleetFileKind FleetFileKindOf(ByteView bytes);

}  // namespace dust
