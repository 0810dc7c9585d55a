// Model export: pure functions from an Mlp plus its metadata to the bytes of a file in a
// format other tools read (ONNX, safetensors, a C header, JSON), and the decoder for the
// daemon's `model.export` reply that produces that Mlp. dustctl (model export) and dustd (the
// live model files of model-export-dir) both use them, so the two write identical files for
// identical models and metadata.
//
// Layout in every exported format is PyTorch's nn.Linear layout, weight [out][in] and bias
// [out], i.e. our [in][out] weights transposed (model.h stores them input-major because the
// sparse first layer walks rows of inputs). Tensor names are "layers.<l>.weight" and
// "layers.<l>.bias" for layer l = 0, 1, ... (hidden layers are followed by ReLU; the last
// layer gives logits). The content hash is BLAKE2b-256 over the parameters in OUR layout as
// little-endian fp32 (the same value the daemon reports as model.content_hash), so an export
// can be traced to the model the daemon had, whatever the file's layout.
//
// Every exporter refuses (kInvalidArgument) a model with a non-finite parameter: none of the
// formats' consumers would do anything sensible with it; and (kUnsupported) a model that still
// has an input scaling (ModelInputScaling below): ExportAs folds the scaling into the first
// layer first, so every file takes raw features.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dust/ml/model.h"
#include "dust/util/bytes.h"
#include "dust/util/status.h"

namespace dust {

struct ExportMetadata {
  uint64_t steps = 0;   // local SGD steps
  uint64_t rounds = 0;  // gossip rounds (merges of peer updates)
  std::string node_id;  // the exporting node (FormatNodeId form)
  std::string display_name;
  std::string fingerprint;         // 16 hex: architecture + init seed
  std::optional<double> accuracy;  // holdout accuracy when exported, if known
  int64_t exported_ms = 0;         // when the daemon produced the snapshot
  std::string content_hash;        // 64 hex; ContentHashHex(model)
  // "<program> <version>". The first word is also ONNX's producer_name (the version there is
  // this library's).
  std::string producer = "dustctl";
};

// The model's input scaling (model.h), nullopt for the identity. Exporters refuse a model that
// has one; ExportAs folds it into the first layer before it exports.
std::optional<InputScaling> ModelInputScaling(const Mlp& model);

// "mlp 784-32-10 relu" : the architecture string every format carries.
std::string ArchitectureString(const Mlp& model);
// BLAKE2b-256 of the parameters as little-endian fp32 in model.h's layout, as 64 hex chars.
std::string ContentHashHex(const Mlp& model);
// The key/value metadata every format embeds (ONNX metadata_props, safetensors __metadata__,
// C header comment and defines, JSON "metadata"), in a fixed order.
std::vector<std::pair<std::string, std::string>> MetadataEntries(const Mlp& model,
                                                                 const ExportMetadata& meta);
Status CheckFinite(const Mlp& model);

// ONNX ModelProto (IR version 7, opset 13): input "input" float [N, in]; per layer a Gemm
// (transB = 1, weight [out][in] and bias as initializers) and, for hidden layers, a Relu;
// outputs "logits" [N, classes] and "probabilities" = Softmax(logits, axis 1).
Result<Bytes> ExportOnnx(const Mlp& model, const ExportMetadata& meta);

// safetensors (https://github.com/huggingface/safetensors, "Format"): u64 LE header length,
// the JSON header (padded with spaces to a multiple of 8 bytes), then the tensors' bytes.
// Header: "__metadata__" (string -> string) and per tensor {"dtype":"F32","shape":[...],
// "data_offsets":[begin,end]} relative to the end of the header; tensors are stored in layer
// order, weight before bias, back to back.
Result<Bytes> ExportSafetensors(const Mlp& model, const ExportMetadata& meta);

// A self-contained C99 header for microcontrollers: the weights as static const float arrays
// ([out][in]) and `static inline int <prefix>_predict(const float *input, float *probs)`
// returning the arg-max class and, if probs is not NULL, writing softmax probabilities. No
// malloc, no globals written; needs <math.h> (expf) only when probs is used. `prefix` must be
// a C identifier (default "dust_model").
Result<std::string> ExportCHeader(const Mlp& model, const ExportMetadata& meta,
                                  const std::string& prefix = "dust_model");

// JSON: {"format":"neural-dust-mlp","format_version":1,"architecture":{...},"metadata":{...},
// "layers":[{"weight":[[out][in]],"bias":[out]}...]}. Floats are written so they parse back to
// the identical fp32 values.
Result<std::string> ExportJson(const Mlp& model, const ExportMetadata& meta);

// The formats by name, as `dustctl model export --format` and dustd's model-export-formats
// spell them, each with the file name dustd's live model export writes it to.
struct ExportFormat {
  const char* name;
  const char* file_name;
};
inline constexpr ExportFormat kExportFormats[] = {{"onnx", "model.onnx"},
                                                  {"c-header", "model.h"},
                                                  {"safetensors", "model.safetensors"},
                                                  {"json", "model.json"}};
// The format called `name`, or nullptr.
const ExportFormat* FindExportFormat(std::string_view name);
// "onnx, c-header, safetensors, json": for messages that list the valid names.
std::string ExportFormatNames();
// The exporter of `format` (a kExportFormats name; kInvalidArgument otherwise). `c_prefix` is
// ExportCHeader's prefix.
Result<Bytes> ExportAs(std::string_view format, const Mlp& model, const ExportMetadata& meta,
                       const std::string& c_prefix = "dust_model");

struct ExportedModel {
  Mlp model;
  ExportMetadata meta;
};

// Decodes the result of the daemon's `model.export` (format "json", docs/control-protocol.md):
// architecture.layers, params_b64 (base64 of num_params LE fp32), and the metadata. Checks
// the parameter count against the architecture and the content hash against the parameters
// (kCorrupt if they disagree: the reply was damaged or the daemon is wrong).
Result<ExportedModel> DecodeDaemonExport(const nlohmann::json& result);

}  // namespace dust
