// dustctl model export: fetch the model from the daemon, convert it locally.
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ostream>

#include "commands.h"
#include "dust/export/export.h"
#include "dust/util/file.h"
#include "format.h"

namespace dust::ctl {
namespace {

// The daemon's reply for the default model is ~140 kB; wide models take longer to encode.
constexpr int kExportTimeoutMs = 60 * 1000;

Status WriteAllToStdout(ByteView data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(STDOUT_FILENO, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::IoError(std::string("write to stdout: ") + std::strerror(errno));
    }
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

}  // namespace

int CmdModelExport(Context& ctx, std::span<const std::string> args) {
  static const CommandHelp kHelp{
      "model export",
      "--format onnx|safetensors|c-header|json -o FILE",
      "Exports the daemon's current model. onnx: a graph (Gemm, Relu, Softmax; opset 13) with\n"
      "outputs logits and probabilities; safetensors: tensors layers.<l>.weight [out][in] and\n"
      "layers.<l>.bias; c-header: the weights and a C99 predict function without malloc;\n"
      "json: architecture, metadata and weights. Every format carries the architecture,\n"
      "training rounds and steps, the node ID and the content hash (BLAKE2b-256 of the\n"
      "parameters, the daemon's model.content_hash). FILE '-' writes to standard output.",
      {{"format", "FORMAT", "onnx, safetensors, c-header or json", 'f'},
       {"output", "FILE", "file to write (replaced atomically)", 'o'},
       {"c-prefix", "NAME", "identifier prefix for c-header (default dust_model)"}}};
  ParsedArgs a;
  if (auto rc = ParseCommandArgs(ctx, kHelp, args, &a)) return *rc;
  const std::string format = a.Get("format");
  if (FindExportFormat(format) == nullptr) {
    *ctx.err << "dustctl model export: --format must be onnx, safetensors, c-header or json"
             << (format.empty() ? "" : " (not '" + format + "')") << "\n";
    return kExitUsage;
  }
  if (!a.Has("output") || a.Get("output").empty()) {
    *ctx.err << "dustctl model export: -o FILE is required ('-' for standard output)\n";
    return kExitUsage;
  }
  const std::string path = a.Get("output");
  const std::string prefix = a.Get("c-prefix", "dust_model");

  if (!ctx.timeout_set) ctx.timeout_ms = kExportTimeoutMs;
  int rc = kExitOk;
  auto result = ctx.Request({{"cmd", "model.export"}, {"format", "json"}}, &rc);
  if (!result) return rc;
  Result<ExportedModel> model = DecodeDaemonExport(*result);
  if (!model.ok()) {
    *ctx.err << "dustctl model export: the daemon's model is unusable: " << model.status().message()
             << "\n";
    return kExitUnreachable;
  }
  model->meta.producer = std::string("dustctl ") + DUST_CTL_VERSION;
  Result<Bytes> bytes = ExportAs(format, model->model, model->meta, prefix);
  if (!bytes.ok()) {
    *ctx.err << "dustctl model export: " << bytes.status().message() << "\n";
    return bytes.status().code() == StatusCode::kInvalidArgument && a.Has("c-prefix") ? kExitUsage
                                                                                      : kExitLocal;
  }
  Status st = path == "-" ? WriteAllToStdout(*bytes) : AtomicWriteFile(path, *bytes, 0644);
  if (!st.ok()) {
    *ctx.err << "dustctl model export: " << st.message() << "\n";
    return kExitLocal;
  }
  if (path == "-") return kExitOk;  // stdout holds the model; say nothing more there
  nlohmann::json summary = {{"path", path},
                            {"format", format},
                            {"bytes", bytes->size()},
                            {"architecture", ArchitectureString(model->model)},
                            {"steps", model->meta.steps},
                            {"rounds", model->meta.rounds},
                            {"node_id", model->meta.node_id},
                            {"content_hash", model->meta.content_hash}};
  if (ctx.json) {
    ctx.PrintJson(summary);
  } else {
    *ctx.out << "wrote " << format << " model to " << path << " (" << bytes->size()
             << " bytes): " << ArchitectureString(model->model) << ", " << model->meta.rounds
             << " rounds, " << model->meta.steps << " steps, node " << model->meta.node_id
             << ", content hash " << model->meta.content_hash << "\n";
  }
  return kExitOk;
}

}  // namespace dust::ctl
