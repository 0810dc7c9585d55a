// dust-bench train: trains an MLP on a data directory's IDX/CSV training set with the libdust
// Trainer and reports throughput and test accuracy.
//
// Timing covers what torch_mlp_anchor.py times, so the two are comparable: the epochs of
// shuffling and SGD steps, not loading the data and not the final evaluation. Progress goes to
// stderr; the last stdout line is one JSON object (see docs/benchmarks.md).

#include <boost/program_options.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <string>
#include <vector>

#include "bench_options.h"
#include "bench_registry.h"
#include "dust/ml/dataset.h"
#include "dust/ml/model.h"
#include "dust/util/rng.h"
#include "dust/util/stream_rng.h"
#include "model_shape.h"

namespace dust::bench {
namespace {

namespace po = boost::program_options;

// CPU time of this thread: reported next to wall time because the machine may be shared;
// samples_per_s (wall) is the headline figure, samples_per_cpu_s shows what a busy machine hid.
double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

int RunTrain(int argc, char** argv) {
  std::string data_dir;
  std::string layers_text;
  std::string label_column;
  std::string scaling_mode = "data";
  uint32_t epochs = 1;
  uint32_t batch = 32;
  SgdOptions sgd;
  uint64_t seed = 1;
  float dp_noise = 0, dp_clip = 0;
  po::options_description desc(
      "dust-bench train: train the MLP on DIR's training set, report samples/s and test "
      "accuracy\n(last stdout line: one JSON object)\n\noptions");
  desc.add_options()("help,h", "show this help")(
      "data", po::value(&data_dir)->required(),
      "data directory: IDX pairs (train-*/t10k-*) and/or CSV files")(
      "epochs", po::value(&epochs)->default_value(1), "passes over the training set")(
      "batch", po::value(&batch)->default_value(32), "mini-batch size")(
      "lr", po::value(&sgd.learning_rate)->default_value(0.05f), "learning rate")(
      "momentum", po::value(&sgd.momentum)->default_value(0.9f), "SGD momentum")(
      "weight-decay", po::value(&sgd.weight_decay)->default_value(0.0f), "L2 weight decay")(
      "seed", po::value(&seed)->default_value(1), "initialisation and shuffling seed")(
      "dp-noise", po::value(&dp_noise)->default_value(0.0f),
      "DP-SGD noise multiplier (with --dp-clip): every step is Trainer::DpStep with noise from "
      "the ChaCha20 stream (fixed-size shuffled batches here: this measures the cost)")(
      "dp-clip", po::value(&dp_clip)->default_value(0.0f), "DP-SGD per-sample clip norm")(
      "layers", po::value(&layers_text),
      "layer sizes, input first, classes last, e.g. 784,64,10; must agree with the data "
      "(default: FEATURES,32,CLASSES from the data)")(
      "scaling", po::value(&scaling_mode)->default_value("data"),
      "input scaling: \"data\" (computed from the training set by the fleet's rule, "
      "docs/engine.md \"Feature scaling\") or \"none\" (raw features)")(
      "csv-label-column", po::value(&label_column),
      "CSV header name of the label column (default: \"label\" if a header has it, else the "
      "first column)");
  po::variables_map vm;
  const UsageError usage{.program = "dust-bench train", .exit_code = 2, .blank_line = true};
  if (auto rc = ParseCommandLine(argc, argv, desc, usage, &vm)) return *rc;
  std::vector<uint32_t> layers;  // empty: from the data
  if (vm.count("layers")) {
    auto parsed = ParseLayers(layers_text);
    if (!parsed) {
      std::cerr << "dust-bench train: --layers must be comma-separated widths in [1, "
                << kMaxLayerWidth << "], at least two, e.g. 784,32,10\n";
      return 2;
    }
    layers = std::move(*parsed);
  }
  if (batch == 0 || epochs == 0) {
    std::cerr << "dust-bench train: --batch and --epochs must be at least 1\n";
    return 2;
  }
  // A zero rate would report an untrained model's accuracy as if it had been trained.
  if (!(sgd.learning_rate > 0) || !(sgd.momentum >= 0) || !(sgd.weight_decay >= 0)) {
    std::cerr << "dust-bench train: --lr must be > 0, --momentum and --weight-decay >= 0\n";
    return 2;
  }
  sgd.batch_size = batch;
  if (scaling_mode != "data" && scaling_mode != "none") {
    std::cerr << "dust-bench train: --scaling must be \"data\" or \"none\", not \"" << scaling_mode
              << "\"\n";
    return 2;
  }

  auto shaped = LoadShapedData(data_dir, layers, label_column);
  if (!shaped.ok()) {
    std::cerr << "dust-bench train: " << shaped.status().ToString() << "\n";
    return 1;
  }
  layers = shaped->layers;
  std::cerr << shaped->description << "\n";
  const Dataset& train = shaped->contents.train;
  const Dataset& test = shaped->contents.test;
  auto created = Mlp::Create(layers);
  if (!created.ok()) {
    std::cerr << "dust-bench train: " << created.status().ToString() << "\n";
    return 2;
  }
  Mlp model = std::move(created).value();
  model.Init(seed);
  if (scaling_mode == "data") {
    const FeatureMoments moments = FeatureMoments::Of(train);
    if (Status set = model.SetScaling(ScalingFor(moments)); !set.ok()) {
      std::cerr << "dust-bench train: " << set.ToString() << "\n";
      return 1;
    }
    std::cerr << "scaling: " << DescribeScaling(model.scaling(), train.num_features()) << "\n";
  }
  Trainer trainer(model, sgd);
  const double density = static_cast<double>(train.nonzeros()) /
                         (static_cast<double>(train.size()) * train.num_features());
  std::fprintf(stderr, "train: %zu samples (%.1f%% non-zero), test: %zu samples, %zu params\n",
               train.size(), 100.0 * density, test.size(), model.num_params());

  std::vector<uint32_t> order(train.size());
  std::iota(order.begin(), order.end(), 0u);
  const bool dp = dp_noise > 0 && dp_clip > 0;
  StreamRng noise_rng = StreamRng::FromSeed(seed);
  std::vector<float> noise(dp ? model.num_params() : 0);
  Rng shuffle_rng(seed ^ 0x53485546464c45ULL);  // "SHUFFLE": independent of the init stream
  uint64_t seen = 0;
  double last_epoch_loss = 0;
  const auto start = std::chrono::steady_clock::now();
  const double cpu_start = ThreadCpuSeconds();
  for (uint32_t e = 0; e < epochs; ++e) {
    for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[shuffle_rng.Below(i)]);
    double loss_sum = 0;
    size_t batches = 0;
    for (size_t i = 0; i < order.size(); i += batch) {
      const size_t n = std::min<size_t>(batch, order.size() - i);
      const std::span<const uint32_t> b(order.data() + i, n);
      if (dp) {
        noise_rng.FillNormal(noise);
        loss_sum +=
            trainer.DpStep(model, train, b, dp_clip, dp_noise, static_cast<float>(batch), noise);
      } else {
        loss_sum += trainer.Step(model, train, b);
      }
      ++batches;
      seen += n;
    }
    last_epoch_loss = batches ? loss_sum / static_cast<double>(batches) : 0.0;
    const double t =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::fprintf(stderr, "epoch %u/%u: mean batch loss %.4f, %.2f s elapsed\n", e + 1, epochs,
                 last_epoch_loss, t);
  }
  if (!std::isfinite(last_epoch_loss)) {
    // The figures below are real (an accuracy near chance), but say why.
    std::fprintf(stderr,
                 "dust-bench train: the training loss is not finite (training diverged); a "
                 "lower --lr or features scaled to a small range would help\n");
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double cpu_seconds = ThreadCpuSeconds() - cpu_start;
  const EvalResult eval = Evaluate(model, test);

  nlohmann::json out;
  out["bench"] = "train";
  out["data"] = data_dir;
  out["layers"] = layers;
  out["epochs"] = epochs;
  out["batch"] = batch;
  out["lr"] = sgd.learning_rate;
  out["momentum"] = sgd.momentum;
  out["weight_decay"] = sgd.weight_decay;
  out["seed"] = seed;
  if (dp) out["dp"] = {{"noise_multiplier", dp_noise}, {"clip", dp_clip}};
  out["scaling"] = scaling_mode;
  out["train_samples"] = train.size();
  out["train_nonzero_fraction"] = density;
  out["test_samples"] = eval.samples;
  out["steps"] = trainer.steps();
  out["seconds"] = seconds;
  out["samples_per_s"] = seconds > 0 ? static_cast<double>(seen) / seconds : 0.0;
  out["cpu_seconds"] = cpu_seconds;
  out["samples_per_cpu_s"] = cpu_seconds > 0 ? static_cast<double>(seen) / cpu_seconds : 0.0;
  out["last_epoch_mean_loss"] = last_epoch_loss;
  if (eval.samples > 0) {
    out["test_accuracy"] = eval.accuracy;
    out["test_loss"] = eval.mean_loss;
  } else {
    out["test_accuracy"] = nullptr;  // no test data in the directory
  }
  std::cout << out.dump() << std::endl;
  return 0;
}

const BenchRegistrar kTrain{"train", "train the MLP on a data dir; samples/s, test accuracy",
                            &RunTrain};

}  // namespace
}  // namespace dust::bench
