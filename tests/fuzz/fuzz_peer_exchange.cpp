// libFuzzer target for the peer-exchange payload decoder (endpoint.h) and the endpoint grammar:
// whatever decodes must re-encode to the same bytes, stay within its bounds, and hold only
// endpoints that parse. Seed corpus: tests/fuzz/corpus/peer_exchange/.
#include <cstdlib>
#include <string_view>

#include "dust/net/endpoint.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace dust;
  const ByteView in(data, size);
  // The same bytes as endpoint text: parsing must never accept more than the bound.
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  Result<ParsedEndpoint> ep = ParseEndpoint(text);
  if (ep.ok() && (size > kMaxEndpointChars || ep->port == 0 || ep->host.empty())) std::abort();

  Result<std::vector<PeerExchangeEntry>> entries = DecodePeerExchange(in);
  if (!entries.ok()) return 0;
  if (entries->size() > kMaxPeerExchangeEntries) std::abort();
  for (const PeerExchangeEntry& e : *entries) {
    if (e.endpoint.size() > kMaxEndpointChars || !ValidateEndpoint(e.endpoint).ok()) std::abort();
  }
  Result<Bytes> again = EncodePeerExchange(*entries);
  if (!again.ok() || again->size() != size || !std::equal(again->begin(), again->end(), data)) {
    std::abort();
  }
  return 0;
}
