// Evaluation and inference (model.h) over the fast kernels' forward pass (kernels.h).
#include <algorithm>
#include <vector>

#include "dust/ml/model.h"
#include "kernels.h"
#include "output_layer.h"

namespace dust {
namespace {

// Predict keeps its two activation buffers on the stack up to this layer width.
constexpr uint32_t kPredictStackWidth = 1024;

}  // namespace

EvalResult Evaluate(const Mlp& model, const Dataset& raw) {
  EvalResult r;
  const uint32_t classes = model.num_classes();
  r.confusion.assign(size_t{classes} * classes, 0);
  if (!internal::DataFits(model, raw)) return r;
  Dataset scaled;
  if (!model.scaling().identity()) scaled = ScaleDataset(raw, model.scaling());
  const Dataset& data = model.scaling().identity() ? raw : scaled;
  const uint32_t width = internal::MaxWidth(model.layer_sizes());
  std::vector<float> buf(2 * size_t{width});
  size_t correct = 0;
  double loss = 0.0;
  internal::EvaluateSamples(internal::DetectIsa(), model, data, buf.data(), width, &r, &correct,
                            &loss);
  r.samples = data.size();
  if (r.samples > 0) {
    r.accuracy = static_cast<double>(correct) / static_cast<double>(r.samples);
    r.mean_loss = loss / static_cast<double>(r.samples);
  }
  return r;
}

uint32_t Predict(const Mlp& model, const SampleView& raw, std::span<float> probs) {
  std::vector<uint32_t> index;
  std::vector<float> value;
  const SampleView x = model.scaling().identity() ? raw : model.scaling().Apply(raw, index, value);
  const uint32_t classes = model.num_classes();
  const uint32_t width = internal::MaxWidth(model.layer_sizes());
  float stack_buf[2 * kPredictStackWidth];
  std::vector<float> heap_buf;
  float* buf = stack_buf;
  if (width > kPredictStackWidth) {
    heap_buf.resize(2 * size_t{width});
    buf = heap_buf.data();
  }
  float* z = internal::ForwardLogits(model, x, buf, buf + width);
  const uint32_t pred = internal::ArgMax(z, classes);
  if (probs.size() == classes) {
    (void)internal::SoftmaxCrossEntropy(z, classes, 0);
    std::copy_n(z, classes, probs.begin());
  }
  return pred;
}

void PredictBatch(const Mlp& model, const Dataset& raw, std::span<uint32_t> out) {
  if (!internal::DataFits(model, raw)) return;
  Dataset scaled;
  if (!model.scaling().identity()) scaled = ScaleDataset(raw, model.scaling());
  const Dataset& data = model.scaling().identity() ? raw : scaled;
  const uint32_t width = internal::MaxWidth(model.layer_sizes());
  std::vector<float> buf(2 * size_t{width});
  internal::PredictSamples(internal::DetectIsa(), model, data, buf.data(), width, out);
}

void PredictBatch(const Mlp& model, const Dataset& raw, std::span<uint32_t> classes,
                  std::span<float> probs) {
  if (!internal::DataFits(model, raw) || classes.size() != raw.size() ||
      probs.size() != raw.size() * model.num_classes()) {
    return;
  }
  // Raw features in, scaled as Evaluate scales them.
  Dataset scaled;
  if (!model.scaling().identity()) scaled = ScaleDataset(raw, model.scaling());
  const Dataset& data = model.scaling().identity() ? raw : scaled;
  const uint32_t width = internal::MaxWidth(model.layer_sizes());
  std::vector<float> buf(2 * size_t{width});
  internal::PredictSamples(internal::DetectIsa(), model, data, buf.data(), width, classes,
                           probs.data());
}

}  // namespace dust
