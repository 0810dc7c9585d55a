// The learning core: an MLP over one flat fp32 parameter buffer, its SGD trainer, evaluation.
//
// Parameter layout (the contract shared by the optimizer, checkpoint, codec and merge): for
// each layer l in order, its weight matrix W_l stored input-major, shape [in][out] (so the
// row for input k is contiguous: that is what the sparse first layer walks), then its bias
// b_l [out]. Hidden layers use ReLU; the output layer gives logits for softmax cross-entropy.
//
// Initialisation (deterministic from a seed, PyTorch's nn.Linear default): every weight and
// bias of a layer with fan_in inputs is drawn U(-1/sqrt(fan_in), 1/sqrt(fan_in)) from
// Rng(seed), layer by layer, weights (in [in][out] order) before biases.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "dust/ml/dataset.h"
#include "dust/ml/scaling.h"
#include "dust/util/status.h"

namespace dust {

struct LayerView {
  float* weight;  // [in][out]
  float* bias;    // [out]
  uint32_t in;
  uint32_t out;
};

struct ConstLayerView {
  const float* weight;  // [in][out]
  const float* bias;    // [out]
  uint32_t in;
  uint32_t out;
};

inline constexpr uint32_t kMaxLayerWidth = 1u << 16;
inline constexpr size_t kMaxLayers = 16;
// Total parameter cap (256 MiB of fp32): bounds what Create and checkpoint decoding allocate.
inline constexpr size_t kMaxParams = size_t{1} << 26;

class Mlp {
 public:
  // layer_sizes: input width, hidden widths..., number of classes (>= 2 entries, each in
  // [1, kMaxLayerWidth], at most kMaxLayers + 1 entries, at most kMaxParams parameters in
  // all); InvalidArgument otherwise. Parameters are zero until Init.
  static Result<Mlp> Create(std::vector<uint32_t> layer_sizes);
  static std::vector<uint32_t> DefaultLayers() { return {784, 32, 10}; }

  void Init(uint64_t seed);

  const std::vector<uint32_t>& layer_sizes() const { return m_sizes; }
  size_t num_layers() const { return m_sizes.size() - 1; }
  uint32_t input_size() const { return m_sizes.front(); }
  uint32_t num_classes() const { return m_sizes.back(); }
  size_t num_params() const { return m_params.size(); }
  std::span<float> params() { return m_params; }
  std::span<const float> params() const { return m_params; }
  LayerView layer(size_t l);
  ConstLayerView layer(size_t l) const;

  // The map from raw features to the first layer's inputs (scaling.h); identity after Create.
  // Training, Evaluate and Predict take raw features and apply it. SetScaling replaces it
  // without touching the parameters (the model then computes another function: for a
  // checkpoint's or a fresh model's scaling); ChangeScaling below keeps the function.
  const InputScaling& scaling() const { return m_scaling; }
  Status SetScaling(InputScaling scaling);

 private:
  std::vector<uint32_t> m_sizes;
  InputScaling m_scaling;
  std::vector<size_t> m_offsets;  // start of each layer's weights in m_params
  std::vector<float> m_params;
};

// Moves `model` to another input scaling while keeping the function of raw features it computes
// (up to float rounding): the first layer absorbs the change, W'[k] = W[k] * to_k / from_k and
// b' = b + sum_k W[k] * (to.center_k - from.center_k) / from_k (from/to: the scales). The map
// is linear in the parameters (no constant term), so `linked` vectors in the parameter layout
// that hold changes of them (momentum, unsent progress) are mapped by the same formula and stay
// the changes of the moved model. InvalidArgument (nothing changes) if `to` does not fit the
// model, a linked vector has another size, or a moved value would not be a finite float (a
// scaling some 1e30 times the other, which only corrupt input can ask for).
Status ChangeScaling(Mlp& model, const InputScaling& to, std::span<const std::span<float>> linked);

// Number of parameters of an MLP with these sizes (no allocation). 64 bits whatever size_t is:
// sizes that are not yet checked against kMaxParams (a checkpoint's, a configuration's) can
// ask for up to 16 * 2^32 + 2^16 parameters, which a 32-bit size_t would wrap to a small count.
uint64_t ParamCount(std::span<const uint32_t> layer_sizes);

// 8 bytes that identify a model's architecture and initialisation seed: peers whose
// fingerprints differ never merge. BLAKE2b over a fixed encoding (documented in protocol.md).
using ModelFingerprint = std::array<uint8_t, 8>;
ModelFingerprint Fingerprint(std::span<const uint32_t> layer_sizes, uint64_t init_seed);

// What a model's updates carry on the wire: its Fingerprint, mixed with its input scaling so
// that peers in different scalings never merge each other's values (docs/protocol.md, "Model
// fingerprint"). The identity leaves the fingerprint as it is.
ModelFingerprint UpdateFingerprint(const ModelFingerprint& model, const InputScaling& scaling);

struct SgdOptions {
  float learning_rate = 0.05f;
  float momentum = 0.9f;
  float weight_decay = 0.0f;  // L2, added to the gradient as weight_decay * w
  uint32_t batch_size = 32;
};

// Mini-batch SGD with momentum, exactly PyTorch's torch.optim.SGD (dampening 0, no Nesterov):
//   g' = g + weight_decay * w;   v = momentum * v + g';   w -= learning_rate * v
// applied to every parameter every step (a parameter whose gradient is zero still moves by its
// momentum). The momentum buffer starts at zero, which makes the first step v = g' as in
// PyTorch. g is the gradient of the batch's MEAN cross-entropy.
//
// Owns the momentum buffer and all scratch space, sized at construction; Step and Gradient
// allocate nothing. Not thread-safe; one Trainer per model. The Trainer is bound to the
// architecture it was built for: Step/Gradient on a model with other layer sizes, on a dataset
// whose width differs from the model's input or whose classes exceed the model's outputs, or
// on more than batch_size indices do nothing and return NaN (a programming error, not data).
// Indices must be < data.size().
class Trainer {
 public:
  Trainer(const Mlp& model, SgdOptions options);

  // One SGD step on the samples data[indices] (1 <= indices.size() <= batch_size). Returns
  // the batch's mean cross-entropy loss before the step. An empty batch changes nothing and
  // returns 0.
  float Step(Mlp& model, const Dataset& data, std::span<const uint32_t> indices);

  // Computes the mean loss and the gradient of it w.r.t. every parameter into `grad`
  // (size num_params; NaN and `grad` untouched if not) without updating anything. Used by
  // tests and gradient checks.
  float Gradient(const Mlp& model, const Dataset& data, std::span<const uint32_t> indices,
                 std::span<float> grad);

  // One DP-SGD step (Abadi et al. 2016; docs/engine.md "Differential privacy") on the samples
  // data[indices] (any number, drawn by the caller with Poisson sampling): each sample's
  // gradient of its cross-entropy is clipped to L2 norm `clip` (norms from the outer-product
  // identity, exact, without materialising per-sample gradients), the clipped gradients are
  // summed, noise_multiplier * clip * noise[j] is added to each coordinate j, and the sum is
  // divided by expected_batch (the sampling's mean batch size, as Opacus does, so the step's
  // scale does not reveal the batch's size) before the SGD-with-momentum update of every
  // parameter. `noise` holds num_params() standard normal deviates from the caller's generator.
  // Not the fused kernel: it runs sample by sample (Step's speed is untouched). Returns the
  // batch's mean loss (0 for an empty batch, which still takes the noisy step), NaN and no
  // change if the model, data or sizes do not fit. Allocates its buffers on first use.
  float DpStep(Mlp& model, const Dataset& data, std::span<const uint32_t> indices, float clip,
               float noise_multiplier, float expected_batch, std::span<const float> noise);

  const SgdOptions& options() const { return m_options; }
  const std::vector<uint32_t>& layer_sizes() const { return m_sizes; }
  void set_learning_rate(float lr) { m_options.learning_rate = lr; }
  // The momentum buffer, in the parameter layout (checkpoints save and restore it).
  std::span<float> momentum() { return m_momentum; }
  std::span<const float> momentum() const { return m_momentum; }
  uint64_t steps() const { return m_steps; }
  void set_steps(uint64_t steps) { m_steps = steps; }

 private:
  bool Compatible(const Mlp& model, const Dataset& data, size_t batch) const;
  // The batch the kernels see: `data` and `indices` themselves, or, for a model with a
  // scaling, the scaled samples copied into m_scaled (indices 0..n-1).
  struct Batch {
    const Dataset* data;
    std::span<const uint32_t> indices;
  };
  Batch ScaledBatch(const Mlp& model, const Dataset& data, std::span<const uint32_t> indices);

  SgdOptions m_options;
  std::vector<uint32_t> m_sizes;  // the architecture this trainer was built for
  std::vector<float> m_momentum;  // [num_params]
  // [num_params]; zero between steps after the first layer's weights. The first layer's
  // weights are updated row by row as their gradient completes, so their part is only scratch
  // for batches split into chunks (kernels.h).
  std::vector<float> m_grad;
  // Per-chunk buffers of the first layer (sizes from internal::PlanBuffers): the chunk's
  // non-zero inputs filed by feature, and each sample's first-layer delta.
  uint32_t m_max_chunk = 1;
  std::vector<uint32_t> m_feature_count;  // [input_size]
  std::vector<uint16_t> m_feature_sample;
  std::vector<float> m_feature_value;
  std::vector<float> m_delta;
  std::vector<float> m_scratch;          // one sample's activations and deltas, layers >= 1
  Dataset m_scaled;                      // ScaledBatch's samples
  std::vector<uint32_t> m_scaled_order;  // 0..batch_size-1
  std::vector<uint32_t> m_scale_index;   // one sample being scaled
  std::vector<float> m_scale_value;
  // DpStep's buffers: one sample's activations and deltas per layer, the clipped sum.
  std::vector<std::vector<float>> m_dp_act, m_dp_delta;
  std::vector<float> m_dp_sum;
  uint64_t m_steps = 0;
};

struct EvalResult {
  double accuracy = 0;   // fraction in [0, 1]
  double mean_loss = 0;  // mean cross-entropy
  size_t samples = 0;
  std::vector<uint32_t> confusion;  // [true class][predicted class], num_classes^2
};

// Evaluates on every sample of `data` (which must match the model's input and classes).
EvalResult Evaluate(const Mlp& model, const Dataset& data);

// Inference for one sample: writes class probabilities (softmax) to `probs` if it is not
// empty (size num_classes) and returns the arg-max class. `x` is raw (the model applies its
// scaling). Allocation-free for models without a scaling whose layers are at most 1024 wide;
// others use heap scratch buffers.
uint32_t Predict(const Mlp& model, const SampleView& x, std::span<float> probs = {});

// Inference for a batch: predicted class of every sample of `data` into `out` (size data.size()).
void PredictBatch(const Mlp& model, const Dataset& data, std::span<uint32_t> out);

// Inference for a batch with probabilities: the predicted class of every sample of `data` into
// `classes` (size data.size()) and its softmax probabilities into `probs` (size data.size() *
// num_classes, sample after sample). `data` holds raw features, scaled by the model's scaling
// as Evaluate scales them, and the forward pass is Evaluate's, so each class is the one Evaluate
// counts for that sample. Nothing is written unless `data` fits the model (its width, labels
// below num_classes) and both spans have exactly those sizes.
void PredictBatch(const Mlp& model, const Dataset& data, std::span<uint32_t> classes,
                  std::span<float> probs);

}  // namespace dust
