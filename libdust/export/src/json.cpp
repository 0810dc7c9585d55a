// JSON export: the whole model in one self-describing document for scripts and notebooks.
#include <charconv>
#include <cstdlib>

#include "dust/export/export.h"

namespace dust {
namespace {

// A JSON number that reads back (as double, then rounded to fp32, the way numpy's
// float32 conversion and most loaders do it) as exactly `v`, written as the shortest decimal
// when that round trip holds (nearly always) and as the exact double value otherwise.
double FloatValue(float v) {
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf) - 1, v);
  *res.ptr = '\0';
  double shortest = std::strtod(buf, nullptr);
  if (static_cast<float>(shortest) == v) return shortest;
  return static_cast<double>(v);
}

}  // namespace

Result<std::string> ExportJson(const Mlp& model, const ExportMetadata& meta) {
  DUST_RETURN_IF_ERROR(CheckFinite(model));
  nlohmann::ordered_json doc;
  doc["format"] = "neural-dust-mlp";
  doc["format_version"] = 1;
  doc["architecture"] = {{"type", "mlp"},
                         {"layer_sizes", model.layer_sizes()},
                         {"hidden_activation", "relu"},
                         {"output", "logits"},
                         {"weight_layout", "[out][in] (PyTorch nn.Linear)"}};
  nlohmann::ordered_json md = nlohmann::ordered_json::object();
  for (const auto& [key, value] : MetadataEntries(model, meta)) md[key] = value;
  doc["metadata"] = md;
  nlohmann::ordered_json layers = nlohmann::ordered_json::array();
  for (size_t l = 0; l < model.num_layers(); ++l) {
    ConstLayerView layer = model.layer(l);
    nlohmann::ordered_json weight = nlohmann::ordered_json::array();
    for (uint32_t o = 0; o < layer.out; ++o) {
      nlohmann::ordered_json row = nlohmann::ordered_json::array();
      for (uint32_t i = 0; i < layer.in; ++i) {
        row.push_back(FloatValue(layer.weight[static_cast<size_t>(i) * layer.out + o]));
      }
      weight.push_back(std::move(row));
    }
    nlohmann::ordered_json bias = nlohmann::ordered_json::array();
    for (uint32_t o = 0; o < layer.out; ++o) bias.push_back(FloatValue(layer.bias[o]));
    layers.push_back({{"name", "layers." + std::to_string(l)},
                      {"in", layer.in},
                      {"out", layer.out},
                      {"activation", l + 1 == model.num_layers() ? "none" : "relu"},
                      {"weight", std::move(weight)},
                      {"bias", std::move(bias)}});
  }
  doc["layers"] = std::move(layers);
  return doc.dump(1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace dust
