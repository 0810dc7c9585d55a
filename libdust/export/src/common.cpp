// What every exporter shares: the architecture string, the content hash, the metadata
// entries, and the decoder for the daemon's model.export reply.
#include <sodium.h>

#include <cmath>

#include "dust/export/export.h"
#include "dust/util/crypto.h"

namespace dust {

std::string ArchitectureString(const Mlp& model) {
  std::string s = "mlp ";
  for (size_t i = 0; i < model.layer_sizes().size(); ++i) {
    if (i > 0) s += "-";
    s += std::to_string(model.layer_sizes()[i]);
  }
  return s + " relu";
}

std::string ContentHashHex(const Mlp& model) {
  Bytes raw;
  raw.reserve(model.num_params() * 4);
  ByteWriter w(&raw);
  for (float v : model.params()) w.F32(v);
  Hash256 h = Blake2b256(raw);
  return ToHex(h);
}

std::vector<std::pair<std::string, std::string>> MetadataEntries(const Mlp& model,
                                                                 const ExportMetadata& meta) {
  std::string sizes;
  for (uint32_t s : model.layer_sizes()) {
    if (!sizes.empty()) sizes.push_back(',');
    sizes.append(std::to_string(s));
  }
  std::vector<std::pair<std::string, std::string>> e = {
      {"format", "neural-dust-mlp"},
      {"architecture", ArchitectureString(model)},
      {"layer_sizes", sizes},
      {"hidden_activation", "relu"},
      {"output", "logits"},
      {"layout", "layers.<l>.weight [out][in] (PyTorch nn.Linear), layers.<l>.bias [out]"},
      {"training_rounds", std::to_string(meta.rounds)},
      {"training_steps", std::to_string(meta.steps)},
      {"node_id", meta.node_id},
      {"display_name", meta.display_name},
      {"fingerprint", meta.fingerprint},
      {"content_hash", meta.content_hash.empty() ? ContentHashHex(model) : meta.content_hash},
      {"content_hash_algorithm",
       "BLAKE2b-256 of the parameters as little-endian fp32 in dust layout (per layer: weight "
       "[in][out], then bias)"},
      {"exported_ms", std::to_string(meta.exported_ms)},
      {"producer", meta.producer},
  };
  if (meta.accuracy) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.6f", *meta.accuracy);
    e.insert(e.begin() + 10, {"holdout_accuracy", buf});
  }
  return e;
}

const ExportFormat* FindExportFormat(std::string_view name) {
  for (const ExportFormat& f : kExportFormats) {
    if (name == f.name) return &f;
  }
  return nullptr;
}

std::string ExportFormatNames() {
  std::string names;
  for (const ExportFormat& f : kExportFormats)
    names += (names.empty() ? "" : ", ") + std::string(f.name);
  return names;
}

Result<Bytes> ExportAs(std::string_view format, const Mlp& scaled, const ExportMetadata& meta,
                       const std::string& c_prefix) {
  // Every format takes raw features: the input scaling is folded into the first layer (model.h
  // ChangeScaling to the identity computes the same function, up to float rounding), so an app
  // feeds raw readings to any of the files.
  Mlp folded = scaled;
  if (!scaled.scaling().identity()) {
    DUST_RETURN_IF_ERROR(ChangeScaling(folded, InputScaling{}, {}));
  }
  const Mlp& model = folded;
  if (format == "onnx") return ExportOnnx(model, meta);
  if (format == "safetensors") return ExportSafetensors(model, meta);
  if (format != "c-header" && format != "json") {
    return Status::InvalidArgument("export format '" + std::string(format.substr(0, 32)) +
                                   "' (use " + ExportFormatNames() + ")");
  }
  Result<std::string> text =
      format == "c-header" ? ExportCHeader(model, meta, c_prefix) : ExportJson(model, meta);
  if (!text.ok()) return text.status();
  return Bytes(text->begin(), text->end());
}

std::optional<InputScaling> ModelInputScaling(const Mlp& model) {
  if (model.scaling().identity()) return std::nullopt;
  return model.scaling();
}

Status CheckFinite(const Mlp& model) {
  // Every exporter calls this first. A file without the scaling would compute a different
  // function from the daemon's model on the same raw inputs: ExportAs folds it in first.
  if (ModelInputScaling(model)) {
    return Status::Unsupported("the model has an input scaling that this exporter does not emit");
  }
  std::span<const float> p = model.params();
  for (size_t i = 0; i < p.size(); ++i) {
    if (!std::isfinite(p[i])) {
      return Status::InvalidArgument("parameter " + std::to_string(i) +
                                     " is not finite; refusing to export a broken model");
    }
  }
  return Status::Ok();
}

namespace {

// Reads an unsigned integer field; false if absent or not a non-negative integer.
bool GetU64(const nlohmann::json& j, const char* key, uint64_t* out) {
  auto it = j.find(key);
  if (it == j.end() || !(it->is_number_unsigned() || it->is_number_integer())) return false;
  if (it->is_number_integer() && it->get<int64_t>() < 0) return false;
  *out = it->get<uint64_t>();
  return true;
}

std::string GetStr(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

Result<ExportedModel> DecodeDaemonExport(const nlohmann::json& r) {
  if (!r.is_object()) return Status::Corrupt("model.export result is not an object");
  const auto arch = r.find("architecture");
  if (arch == r.end() || !arch->is_object() || !arch->contains("layers") ||
      !(*arch)["layers"].is_array()) {
    return Status::Corrupt("model.export result has no architecture.layers array");
  }
  std::vector<uint32_t> sizes;
  for (const auto& v : (*arch)["layers"]) {
    if (!v.is_number_unsigned() || v.get<uint64_t>() > kMaxLayerWidth) {
      return Status::Corrupt("architecture.layers holds " + v.dump() +
                             ", not a layer width in [1, " + std::to_string(kMaxLayerWidth) + "]");
    }
    sizes.push_back(v.get<uint32_t>());
  }
  if (arch->contains("hidden_activation") && (*arch)["hidden_activation"] != "relu") {
    return Status::Unsupported("hidden activation " + (*arch)["hidden_activation"].dump() +
                               " (this dustctl exports relu MLPs only)");
  }
  Result<Mlp> model = Mlp::Create(sizes);
  if (!model.ok()) return model.status().WithContext("model.export architecture");

  std::string b64 = GetStr(r, "params_b64");
  if (b64.empty()) return Status::Corrupt("model.export result has no params_b64");
  const size_t expected_bytes = model->num_params() * 4;
  Bytes raw(expected_bytes + 3);  // room to detect a longer payload
  size_t raw_len = 0;
  if (sodium_base642bin(raw.data(), raw.size(), b64.data(), b64.size(), nullptr, &raw_len, nullptr,
                        sodium_base64_VARIANT_ORIGINAL) != 0) {
    return Status::Corrupt("params_b64 is not valid padded base64 of at most " +
                           std::to_string(expected_bytes) + " bytes");
  }
  if (raw_len != expected_bytes) {
    return Status::Corrupt("params_b64 holds " + std::to_string(raw_len) + " bytes; the " +
                           ArchitectureString(*model) + " architecture needs " +
                           std::to_string(expected_bytes));
  }
  uint64_t num_params = 0;
  if (GetU64(r, "num_params", &num_params) && num_params != model->num_params()) {
    return Status::Corrupt("num_params says " + std::to_string(num_params) +
                           " but the architecture has " + std::to_string(model->num_params()));
  }
  ByteReader reader(ByteView(raw.data(), raw_len));
  for (float& v : model->params()) v = reader.F32();

  ExportedModel out{std::move(*model), {}};
  out.meta.content_hash = ContentHashHex(out.model);
  std::string claimed = GetStr(r, "content_hash");
  if (!claimed.empty() && claimed != out.meta.content_hash) {
    return Status::Corrupt("content_hash " + claimed + " does not match the parameters (" +
                           out.meta.content_hash + ")");
  }
  GetU64(r, "steps", &out.meta.steps);
  GetU64(r, "rounds", &out.meta.rounds);
  out.meta.node_id = GetStr(r, "node_id");
  out.meta.display_name = GetStr(r, "display_name");
  out.meta.fingerprint = GetStr(r, "fingerprint");
  if (r.contains("accuracy") && r["accuracy"].is_number()) {
    out.meta.accuracy = r["accuracy"].get<double>();
  }
  if (r.contains("exported_ms") && r["exported_ms"].is_number_integer()) {
    out.meta.exported_ms = r["exported_ms"].get<int64_t>();
  }
  return out;
}

}  // namespace dust
