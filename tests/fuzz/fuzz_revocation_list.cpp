// libFuzzer target for the fleet revocation list decoder (fleet.h) and FleetTrust's handling of
// one: whatever parses must have exactly one encoding, sorted unique keys within the bound, and
// a refused list must change nothing (serial, held lists, trust). Seed corpus:
// tests/fuzz/corpus/revocation_list/ (tests/vectors/make_fuzz_corpus.py).
#include <algorithm>
#include <cstdlib>

#include "dust/net/fleet.h"
#include "dust/net/fleet_trust.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace dust;
  if (!InitCrypto().ok()) std::abort();
  const ByteView in(data, size);
  Result<Parsed<RevocationList>> p = ParseRevocationList(in);
  if (p.ok()) {
    const RevocationList& l = p->value;
    if (size > kMaxRevocationListBytes || l.revoked.size() > kMaxRevokedKeys || l.serial == 0 ||
        std::adjacent_find(l.revoked.begin(), l.revoked.end(),
                           [](const PublicKey& a, const PublicKey& b) { return !(a < b); }) !=
            l.revoked.end()) {
      std::abort();
    }
    Bytes again = RevocationListSignedBytes(l);
    again.insert(again.end(), p->signature.begin(), p->signature.end());
    if (again.size() != size || !std::equal(again.begin(), again.end(), data)) std::abort();
  }
  TrustStore trust;
  FleetTrust fleet(p.ok() ? std::vector<PublicKey>{p->value.fleet} : std::vector<PublicKey>{},
                   &trust);
  std::optional<FleetDrop> drop = fleet.OnRevocationList(in, 0);
  const bool held = !fleet.RevocationLists().empty();
  if (drop.has_value() == held) std::abort();
  if (held && (!p.ok() || fleet.Serial(p->value.fleet) != p->value.serial)) std::abort();
  return 0;
}
