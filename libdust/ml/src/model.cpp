// The MLP's parameters (model.h): creation, initialisation, layer views and the fingerprint.
// The arithmetic lives elsewhere: the plain reference in reference_mlp.h, the fast kernels in
// kernels.h, the trainer in trainer.cpp, evaluation and inference in evaluation.cpp.
#include "dust/ml/model.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "dust/util/bytes.h"
#include "dust/util/crypto.h"
#include "dust/util/rng.h"

namespace dust {

uint64_t ParamCount(std::span<const uint32_t> layer_sizes) {
  uint64_t n = 0;
  for (size_t l = 0; l + 1 < layer_sizes.size(); ++l) {
    n += uint64_t{layer_sizes[l]} * layer_sizes[l + 1] + layer_sizes[l + 1];
  }
  return n;
}

Result<Mlp> Mlp::Create(std::vector<uint32_t> layer_sizes) {
  if (layer_sizes.size() < 2 || layer_sizes.size() > kMaxLayers + 1) {
    return Status::InvalidArgument("model needs 2 to " + std::to_string(kMaxLayers + 1) +
                                   " layer sizes, got " + std::to_string(layer_sizes.size()));
  }
  for (uint32_t s : layer_sizes) {
    if (s == 0 || s > kMaxLayerWidth) {
      return Status::InvalidArgument("layer width " + std::to_string(s) + " outside [1, " +
                                     std::to_string(kMaxLayerWidth) + "]");
    }
  }
  const uint64_t count = ParamCount(layer_sizes);
  if (count > kMaxParams) {
    return Status::InvalidArgument("model has " + std::to_string(count) +
                                   " parameters, more than the cap of " +
                                   std::to_string(kMaxParams));
  }
  Mlp m;
  m.m_sizes = std::move(layer_sizes);
  size_t off = 0;
  for (size_t l = 0; l + 1 < m.m_sizes.size(); ++l) {
    m.m_offsets.push_back(off);
    off += size_t{m.m_sizes[l]} * m.m_sizes[l + 1] + m.m_sizes[l + 1];
  }
  m.m_params.assign(static_cast<size_t>(count), 0.0f);  // <= kMaxParams
  return m;
}

void Mlp::Init(uint64_t seed) {
  Rng rng(seed);
  for (size_t l = 0; l < num_layers(); ++l) {
    LayerView lv = layer(l);
    const float bound = static_cast<float>(1.0 / std::sqrt(static_cast<double>(lv.in)));
    // U(-bound, bound): 2u - 1 is exact in float for the 24-bit u, so one rounding.
    auto draw = [&] { return (2.0f * rng.UniformFloat() - 1.0f) * bound; };
    for (size_t i = 0; i < size_t{lv.in} * lv.out; ++i) lv.weight[i] = draw();
    for (uint32_t j = 0; j < lv.out; ++j) lv.bias[j] = draw();
  }
}

LayerView Mlp::layer(size_t l) {
  float* w = m_params.data() + m_offsets[l];
  const uint32_t in = m_sizes[l];
  const uint32_t out = m_sizes[l + 1];
  return {w, w + size_t{in} * out, in, out};
}

ConstLayerView Mlp::layer(size_t l) const {
  const float* w = m_params.data() + m_offsets[l];
  const uint32_t in = m_sizes[l];
  const uint32_t out = m_sizes[l + 1];
  return {w, w + size_t{in} * out, in, out};
}

ModelFingerprint Fingerprint(std::span<const uint32_t> layer_sizes, uint64_t init_seed) {
  // Encoding (protocol.md, "Model fingerprint"): ASCII "dust-model-v1", u32 count, u32 sizes,
  // u64 seed, little-endian; the fingerprint is the first 8 bytes of BLAKE2b-256 of it.
  Bytes b;
  ByteWriter w(&b);
  w.Raw(AsBytes("dust-model-v1"));
  w.U32(static_cast<uint32_t>(layer_sizes.size()));
  for (uint32_t s : layer_sizes) w.U32(s);
  w.U64(init_seed);
  const Hash256 h = Blake2b256(b);
  ModelFingerprint f{};
  std::copy_n(h.begin(), f.size(), f.begin());
  return f;
}

}  // namespace dust
