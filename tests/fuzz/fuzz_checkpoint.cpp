// libFuzzer target for checkpoint loading (Node::ImportCheckpoint, node.h), on a small
// 4-3-2 model so inputs stay short. The first byte picks the mode: even = the rest as it is;
// odd = the rest followed by its own Checksum64, so the fuzzer explores the structure behind
// the checksum instead of only the checksum test. A checkpoint that imports must export to
// bytes that import again and export identically; a refused one must change nothing. Seed
// corpus: tests/fuzz/corpus/checkpoint/
// (tests/vectors/make_fuzz_corpus.py).
#include <cstdlib>

#include "dust/engine/node.h"
#include "dust/net/trust.h"
#include "dust/util/crypto.h"

namespace {

dust::Node& TheNode() {
  static dust::Node* node = [] {
    if (!dust::InitCrypto().ok()) std::abort();
    static dust::TrustStore trust;
    dust::NodeOptions options;
    options.layers = {4, 3, 2};
    options.init_seed = 7;
    dust::KeyPair key = dust::KeyPairFromSeed({});
    dust::Result<dust::Node> n = dust::Node::Create(options, key, &trust, dust::Dataset(), 1);
    if (!n.ok()) std::abort();
    return new dust::Node(std::move(*n));
  }();
  return *node;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace dust;
  if (size == 0) return 0;
  Node& node = TheNode();
  Bytes input(data + 1, data + size);
  if (data[0] & 1) {
    ByteWriter w(&input);
    w.U64(Checksum64(ByteView(data + 1, size - 1)));
  }
  const Bytes before = node.ExportCheckpoint();
  if (!node.ImportCheckpoint(input).ok()) {
    if (node.ExportCheckpoint() != before) std::abort();  // a refused import changes nothing
    return 0;
  }
  Bytes exported = node.ExportCheckpoint();
  if (!node.ImportCheckpoint(exported).ok()) std::abort();
  if (node.ExportCheckpoint() != exported) std::abort();
  return 0;
}
