// libFuzzer target for the fleet certificate decoder (fleet.h) and FleetTrust's handling of
// one: whatever parses must have exactly one encoding (its signed bytes re-encode equal, then
// the signature), satisfy every bound, and a refused certificate must change no trust. Seed
// corpus: tests/fuzz/corpus/certificate/ (tests/vectors/make_fuzz_corpus.py).
#include <algorithm>
#include <cstdlib>

#include "dust/net/fleet.h"
#include "dust/net/fleet_trust.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace dust;
  if (!InitCrypto().ok()) std::abort();
  const ByteView in(data, size);
  Result<Parsed<Certificate>> p = ParseCertificate(in);
  if (p.ok()) {
    const Certificate& c = p->value;
    if (size > kMaxCertificateBytes || c.endpoints.size() > kMaxCertificateEndpoints ||
        c.display_name.size() > 64 || c.expires_at_ms <= c.issued_at_ms) {
      std::abort();
    }
    for (const std::string& ep : c.endpoints) {
      if (!ValidateCertificateEndpoint(ep).ok()) std::abort();
    }
    Bytes again = CertificateSignedBytes(c);
    again.insert(again.end(), p->signature.begin(), p->signature.end());
    if (again.size() != size || !std::equal(again.begin(), again.end(), data)) std::abort();
  }
  // The policy: the input's own fleet is configured, so a parse failure, an expired or a
  // forged certificate (the fuzzer cannot sign) is refused and the trust store is unchanged.
  TrustStore trust;
  FleetTrust fleet(p.ok() ? std::vector<PublicKey>{p->value.fleet} : std::vector<PublicKey>{},
                   &trust);
  const PublicKey sender = p.ok() ? p->value.device : PublicKey{};
  std::optional<FleetDrop> drop = fleet.OnCertificate(in, sender, 0);
  if (drop.has_value() != (trust.certified_size() == 0)) std::abort();
  if (drop && trust.generation() != 0) std::abort();
  return 0;
}
