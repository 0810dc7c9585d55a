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

Status Mlp::SetScaling(InputScaling scaling) {
  DUST_RETURN_IF_ERROR(scaling.Check(input_size()));
  m_scaling = std::move(scaling);
  return Status::Ok();
}

Status ChangeScaling(Mlp& model, const InputScaling& to, std::span<const std::span<float>> linked) {
  const uint32_t in = model.input_size();
  const uint32_t out = model.layer_sizes()[1];
  DUST_RETURN_IF_ERROR(to.Check(in));
  for (std::span<float> v : linked) {
    if (v.size() != model.num_params()) {
      return Status::InvalidArgument("a vector linked to the model has " +
                                     std::to_string(v.size()) + " values, not " +
                                     std::to_string(model.num_params()));
    }
  }
  const InputScaling& from = model.scaling();
  auto center = [](const InputScaling& s, uint32_t k) {
    return s.identity() ? 0.0 : double{s.center()[k]};
  };
  auto scale = [](const InputScaling& s, uint32_t k) {
    return s.identity() ? 1.0 : double{s.scale()[k]};
  };
  std::vector<double> factor(in);  // to_k / from_k
  std::vector<double> shift(in);   // (to.center_k - from.center_k) / from_k
  for (uint32_t k = 0; k < in; ++k) {
    factor[k] = scale(to, k) / scale(from, k);
    shift[k] = (center(to, k) - center(from, k)) / scale(from, k);
  }
  // The same linear map on the parameters and on every linked vector: the first layer's
  // weights W [in][out] then its bias [out] (model.h layout). Every result is computed before
  // any is stored, so a map that overflows a float changes nothing.
  const size_t first = size_t{in} * out + out;
  std::vector<std::span<float>> targets;
  targets.reserve(1 + linked.size());
  targets.push_back(model.params().first(first));
  for (std::span<float> v : linked) targets.push_back(v.first(first));
  std::vector<float> mapped(targets.size() * first);
  std::vector<double> bias(out);
  for (size_t t = 0; t < targets.size(); ++t) {
    const float* w = targets[t].data();
    float* m = mapped.data() + t * first;
    bias.assign(w + size_t{in} * out, w + first);
    for (uint32_t k = 0; k < in; ++k) {
      const float* row = w + size_t{k} * out;
      for (uint32_t o = 0; o < out; ++o) {
        bias[o] += static_cast<double>(row[o]) * shift[k];
        m[size_t{k} * out + o] = static_cast<float>(row[o] * factor[k]);
      }
    }
    for (uint32_t o = 0; o < out; ++o) m[size_t{in} * out + o] = static_cast<float>(bias[o]);
  }
  for (size_t i = 0; i < mapped.size(); ++i) {
    if (!std::isfinite(mapped[i])) {
      return Status::InvalidArgument(
          "moving the model to the new input scaling overflows a float (the scalings differ by "
          "a factor beyond float range)");
    }
  }
  for (size_t t = 0; t < targets.size(); ++t) {
    std::copy_n(mapped.data() + t * first, first, targets[t].data());
  }
  InputScaling copy = to;
  return model.SetScaling(std::move(copy));
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

ModelFingerprint UpdateFingerprint(const ModelFingerprint& model, const InputScaling& scaling) {
  if (scaling.identity()) return model;
  // "dust-scaled-v1", the model's fingerprint, then every center and scale as float32 bits.
  Bytes b;
  ByteWriter w(&b);
  w.Raw(AsBytes("dust-scaled-v1"));
  w.Raw(model);
  for (float c : scaling.center()) w.F32(c);
  for (float s : scaling.scale()) w.F32(s);
  const Hash256 h = Blake2b256(b);
  ModelFingerprint f{};
  std::copy_n(h.begin(), f.size(), f.begin());
  return f;
}

}  // namespace dust
