// The live model files for apps (model-export-dir, docs/using-the-model.md): the current model
// in every model-export-formats format, written with the same exporters as `dustctl model
// export` (libdust/export). Each file is replaced atomically (AtomicWriteFile: temporary file,
// fsync, rename, directory fsync, like the checkpoint), so a reader opening model.onnx gets
// the old model or the new one, never a torn file.
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "daemon.h"
#include "dust/export/export.h"
#include "dust/net/identity.h"
#include "dust/util/file.h"
#include "log.h"

namespace dust::daemon {
namespace {

// Creates `dir` (one level, like the state dir) readable by others: the files are for apps,
// which need not run as the daemon's user. (Under the unit's UMask=0077 mkdir alone gives 0700.)
Status PrepareExportDir(const std::string& dir) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) return Status::InvalidArgument(dir + ": not a directory");
    return Status::Ok();
  }
  if (errno != ENOENT) return Status::IoError(dir + ": " + std::strerror(errno));
  if (::mkdir(dir.c_str(), 0755) != 0 || ::chmod(dir.c_str(), 0755) != 0) {
    return Status::IoError(dir + ": cannot create: " + std::strerror(errno));
  }
  LogInfo("model files: created {}", dir);
  return Status::Ok();
}

}  // namespace

void Daemon::ExportModelFiles() {
  const std::string& dir = m_options.model_export_dir;
  if (dir.empty() || !m_node) return;
  const Mlp& model = m_node->model();
  const std::string hash = ContentHashHex(model);
  if (hash == m_export.content_hash) return;  // the files already hold this model

  ExportMetadata meta;
  meta.steps = Steps();
  meta.rounds = Rounds();
  meta.node_id = FormatNodeId(m_identity.public_key);
  meta.display_name = m_node->options().display_name;
  meta.fingerprint = ToHex(m_node->fingerprint());
  meta.accuracy = m_accuracy;
  meta.exported_ms = NowMs();
  meta.content_hash = hash;
#ifdef DUST_VERSION
  meta.producer = std::string("dustd ") + DUST_VERSION;
#else
  meta.producer = "dustd";
#endif

  Json files = Json::array();
  Status st = PrepareExportDir(dir);
  for (const std::string& format : m_options.model_export_formats) {
    if (!st.ok()) break;
    const ExportFormat* f = FindExportFormat(format);  // validated at startup
    Result<Bytes> bytes = ExportAs(format, model, meta);
    const std::string path = dir + "/" + f->file_name;
    st = bytes.ok() ? AtomicWriteFile(path, *bytes, 0644)
                    : bytes.status().WithContext(std::string(format) + " export");
    if (st.ok()) files.push_back({{"format", format}, {"path", path}, {"bytes", bytes->size()}});
  }
  if (!st.ok()) {
    // Left as it was (the hash is not recorded), so the next checkpoint tries again.
    ++m_export.errors;
    m_export.last_error = st.message();
    LogError("model files: {}", st.message());
    Publish("export", {{"ok", false}, {"dir", dir}, {"error", st.message()}});
    return;
  }
  m_export.content_hash = hash;
  m_export.steps = meta.steps;
  m_export.written_ms = meta.exported_ms;
  ++m_export.written;
  LogDebug("model files: {} written to {} ({} steps)", files.size(), dir, meta.steps);
  Publish("export", {{"ok", true},
                     {"dir", dir},
                     {"files", files},
                     {"steps", meta.steps},
                     {"rounds", meta.rounds},
                     {"content_hash", hash}});
}

}  // namespace dust::daemon
