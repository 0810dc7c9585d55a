// libFuzzer target for the identity parsers. The first byte picks the parser, the rest is its
// input: 0 node ID text, 1 pairing URI, 2 key file, 3 counter mark file. Round trips:
// a parsed node ID formats to text that parses to the same key; a parsed pairing URI's key and
// name format to a URI that parses back to both; key and counter files re-encode to the input.
// Seed corpus: tests/fuzz/corpus/identity/.
#include <cstdlib>
#include <string_view>

#include "dust/net/identity.h"
#include "dust/net/replay.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace dust;
  static const bool init = InitCrypto().ok();
  if (!init) std::abort();
  if (size == 0) return 0;
  const ByteView in(data + 1, size - 1);
  const std::string_view text(reinterpret_cast<const char*>(in.data()), in.size());
  switch (data[0] % 4) {
    case 0: {
      Result<PublicKey> key = ParseNodeId(text);
      if (key.ok()) {
        Result<PublicKey> again = ParseNodeId(FormatNodeId(*key));
        if (!again.ok() || *again != *key) std::abort();
      }
      break;
    }
    case 1: {
      Result<PairingInfo> info = ParsePairingUri(text);
      if (info.ok()) {
        Result<std::string> uri = FormatPairingUri(info->key, info->display_name, info->endpoints);
        if (!uri.ok()) std::abort();
        Result<PairingInfo> again = ParsePairingUri(*uri);
        if (!again.ok() || again->key != info->key || again->display_name != info->display_name ||
            again->endpoints != info->endpoints) {
          std::abort();
        }
      }
      break;
    }
    case 2: {
      Result<KeyPair> key = DecodeKeyFile(in);
      if (key.ok() && EncodeKeyFile(*key) != Bytes(in.begin(), in.end())) std::abort();
      break;
    }
    case 3: {
      Result<uint64_t> mark = DecodeCounterMark(in);
      if (mark.ok() && EncodeCounterMark(*mark) != Bytes(in.begin(), in.end())) std::abort();
      break;
    }
  }
  return 0;
}
