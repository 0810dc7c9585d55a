// dustctl predict: rows from a file, classified by the daemon's current model.
#include <cstdio>
#include <ostream>

#include "commands.h"
#include "format.h"
#include "predict_input.h"
#include "request_text.h"

namespace dust::ctl {
namespace {

// The model's input width and classes, from status (model.architecture).
std::optional<std::pair<uint32_t, uint32_t>> ModelShape(Context& ctx, int* rc) {
  auto status = ctx.Request({{"cmd", "status"}}, rc);
  if (!status) return std::nullopt;
  const nlohmann::json arch = status->value("model", nlohmann::json::object())
                                  .value("architecture", nlohmann::json::array());
  if (!arch.is_array() || arch.size() < 2 || !arch.front().is_number_unsigned() ||
      !arch.back().is_number_unsigned()) {
    *ctx.err << "dustctl predict: the daemon's status has no model architecture\n";
    *rc = kExitUnreachable;
    return std::nullopt;
  }
  return std::make_pair(arch.front().get<uint32_t>(), arch.back().get<uint32_t>());
}

std::string Probability(double p) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.4f", p);
  return buf;
}

}  // namespace

int CmdPredict(Context& ctx, std::span<const std::string> args) {
  static const CommandHelp kHelp{
      "predict",
      "FILE [--label-column NAME | --no-label] [--invert]",
      "Classifies the rows of FILE with the daemon's current model and prints one line per\n"
      "row: its class and that class's probability (--json: one JSON object per row, with\n"
      "every class's probability). FILE is a CSV file (header and label column as the daemon\n"
      "reads them; with the model's width + 1 columns it has labels, with exactly the width\n"
      "none), an IDX images file (with X-labels-idx1-ubyte[.gz] beside it if there is one) or\n"
      "a PNG image (any size: greyscale, area-averaged to the model's input when that is a\n"
      "square, pixel values / 255 as in IDX files). With labels, the accuracy comes last.",
      {{"label-column", "NAME", "the CSV's label column (the daemon's csv-label-column)"},
       {"no-label", nullptr, "the CSV file has no label column"},
       {"invert", nullptr, "images: use 255 - value (a dark drawing on a light ground)"}},
      1,
      1};
  ParsedArgs a;
  if (auto rc = ParseCommandArgs(ctx, kHelp, args, &a)) return *rc;
  if (a.Has("label-column") && a.Has("no-label")) {
    *ctx.err << "dustctl predict: --label-column and --no-label exclude each other\n";
    return kExitUsage;
  }
  if (a.Has("label-column") && a.Get("label-column").empty()) {
    *ctx.err << "dustctl predict: --label-column needs a name\n";
    return kExitUsage;
  }
  const std::string& path = a.positional.front();
  int rc = kExitOk;
  auto shape = ModelShape(ctx, &rc);
  if (!shape) return rc;
  PredictInputOptions options;
  options.width = shape->first;
  options.classes = shape->second;
  options.label_column = a.Get("label-column");
  options.no_label = a.Has("no-label");
  options.invert = a.Has("invert");
  Result<PredictInput> input = ReadPredictInput(path, options);
  if (!input.ok()) {
    *ctx.err << "dustctl predict: " << input.status().message() << "\n";
    return kExitUsage;
  }
  const Dataset& rows = input->rows;
  if (rows.empty()) {
    *ctx.err << "dustctl predict: " << path << ": no rows\n";
    return kExitUsage;
  }
  // As many rows per request as the daemon takes for this width (request_text.h).
  const size_t batch = daemon::MaxPredictRows(options.width);
  size_t correct = 0;
  for (size_t begin = 0; begin < rows.size(); begin += batch) {
    const size_t end = std::min(rows.size(), begin + batch);
    const uint64_t id = begin / batch + 1;
    auto result = ctx.RequestLine(daemon::PredictRequestLine(rows, begin, end, id), id, &rc);
    if (!result) return rc;
    const nlohmann::json predictions = result->value("predictions", nlohmann::json::array());
    if (!predictions.is_array() || predictions.size() != end - begin) {
      *ctx.err << "dustctl predict: the daemon answered " << predictions.size()
               << " predictions for " << end - begin << " rows\n";
      return kExitUnreachable;
    }
    for (size_t i = begin; i < end; ++i) {
      const nlohmann::json& p = predictions[i - begin];
      const auto cls = p.value("class", uint32_t{0});
      const nlohmann::json probs = p.value("probabilities", nlohmann::json::array());
      const double prob = cls < probs.size() ? probs[cls].get<double>() : 0.0;
      correct += input->labelled && cls == rows.label(i);
      if (ctx.json) {
        nlohmann::json line = {
            {"row", i}, {"class", cls}, {"probability", prob}, {"probabilities", probs}};
        if (input->labelled) line["label"] = rows.label(i);
        *ctx.out << line.dump() << "\n";
      } else {
        *ctx.out << "row " << i << ": class " << cls << ", probability " << Probability(prob);
        if (input->labelled) *ctx.out << ", label " << static_cast<int>(rows.label(i));
        *ctx.out << "\n";
      }
    }
  }
  if (input->labelled) {
    const double accuracy = static_cast<double>(correct) / static_cast<double>(rows.size());
    if (ctx.json) {
      *ctx.out << nlohmann::json({{"summary", true},
                                  {"rows", rows.size()},
                                  {"correct", correct},
                                  {"accuracy", accuracy}})
                      .dump()
               << "\n";
    } else {
      *ctx.out << "accuracy " << FormatPercent(accuracy) << " on " << rows.size() << " rows ("
               << correct << " correct; " << input->how << ")\n";
    }
  }
  return kExitOk;
}

}  // namespace dust::ctl
