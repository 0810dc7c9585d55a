// The control commands of docs/control-protocol.md (their results are built in replies.cpp).
#include <sys/stat.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <filesystem>

#include "daemon.h"
#include "dust/net/identity.h"
#include "dust/engine/merge.h"
#include "log.h"

namespace dust::daemon {
namespace asio = boost::asio;

namespace {

// A string argument, or nullopt if absent/null. Throws Json::exception (-> invalid_argument)
// if present with another type.
std::optional<std::string> StringArg(const Json& request, const char* name) {
  auto it = request.find(name);
  if (it == request.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) {
    throw std::invalid_argument(std::string("\"") + name + "\" must be a string");
  }
  return it->get<std::string>();
}

// For `evaluate` on a directory ScanDataDir refuses because it holds no training files (a
// test-only directory): loads every IDX pair and CSV file as test or train data by name, the
// same naming rule as ScanDataDir.
Result<DataDirContents> LoadForEvaluation(const std::string& dir, const LoadOptions& lo) {
  auto scanned = ScanDataDir(dir, lo, /*strict=*/false);
  if (scanned.ok()) return scanned;
  DataDirContents c;
  c.train = Dataset(lo.expected_features, lo.num_classes);
  c.test = Dataset(lo.expected_features, lo.num_classes);
  std::error_code ec;
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec))
    names.push_back(e.path().filename());
  std::sort(names.begin(), names.end());
  for (const std::string& name : names) {
    std::string path = dir + "/" + name;
    Result<Dataset> loaded = Status::NotFound("");
    auto pos = name.find("-images-idx3-ubyte");
    if (pos != std::string::npos) {
      std::string labels = name;
      labels.replace(pos, 18, "-labels-idx1-ubyte");
      loaded = LoadIdx(path, dir + "/" + labels, lo);
    } else if (name.size() > 4 && name.compare(name.size() - 4, 4, ".csv") == 0) {
      loaded = LoadCsv(path, lo);
    } else {
      continue;
    }
    if (!loaded.ok()) {
      c.skipped.push_back(loaded.status());
      continue;
    }
    bool test = name.rfind("t10k", 0) == 0 || name.find("test") != std::string::npos;
    if ((test ? c.test : c.train).Append(*loaded).ok()) c.used.push_back(path);
  }
  if (c.used.empty()) return scanned.status();
  return c;
}

}  // namespace

void Daemon::RegisterCommands() {
  // Every handler runs on the loop; one that throws std::invalid_argument reports
  // invalid_argument (the dispatcher turns other exceptions into "internal").
  auto wrap = [](auto fn) {
    return [fn](const Json& request, const Responder& reply) {
      try {
        fn(request, reply);
      } catch (const std::invalid_argument& e) {
        reply.Error(errc::kInvalidArgument, e.what());
      }
    };
  };

  m_dispatcher.Register("status",
                        wrap([this](const Json&, const Responder& r) { r.Ok(StatusJson()); }));
  m_dispatcher.Register("peers",
                        wrap([this](const Json&, const Responder& r) { r.Ok(PeersJson()); }));

  m_dispatcher.Register("trust.show", wrap([this](const Json&, const Responder& r) {
                          auto uri = FormatPairingUri(m_identity.public_key,
                                                      m_node->options().display_name);
                          r.Ok({{"node_id", FormatNodeId(m_identity.public_key)},
                                {"public_key", ToHex(m_identity.public_key)},
                                {"pairing_uri", uri.ok() ? Json(*uri) : Json(nullptr)},
                                {"display_name", m_node->options().display_name}});
                        }));

  m_dispatcher.Register("trust.list", wrap([this](const Json&, const Responder& r) {
                          Json list = Json::array();
                          for (const TrustedPeer& p : m_trust.List()) {
                            list.push_back({{"node_id", FormatNodeId(p.key)},
                                            {"public_key", ToHex(p.key)},
                                            {"display_name", p.display_name},
                                            {"added_ms", p.added_at_ms}});
                          }
                          r.Ok({{"trusted", list}});
                        }));

  m_dispatcher.Register(
      "trust.add", wrap([this](const Json& req, const Responder& r) {
        auto uri = StringArg(req, "uri");
        auto node_id = StringArg(req, "node_id");
        auto key_hex = StringArg(req, "public_key");
        auto name = StringArg(req, "display_name");
        PublicKey key{};
        std::string display;
        if (uri) {
          auto info = ParsePairingUri(*uri);
          if (!info.ok()) return r.Error(errc::kInvalidArgument, "uri: " + info.status().message());
          key = info->key;
          display = info->display_name;
        } else if (node_id || key_hex) {
          bool have_key = false;
          if (node_id) {
            auto k = ParseNodeId(*node_id);
            if (!k.ok()) return r.Error(errc::kInvalidArgument, "node_id: " + k.status().message());
            key = *k;
            have_key = true;
          }
          if (key_hex) {
            Bytes raw;
            if (!FromHex(*key_hex, &raw) || raw.size() != key.size()) {
              return r.Error(errc::kInvalidArgument, "public_key: expected 64 hex characters");
            }
            PublicKey k{};
            std::copy(raw.begin(), raw.end(), k.begin());
            if (have_key && k != key) {
              return r.Error(errc::kInvalidArgument, "node_id and public_key name different keys");
            }
            key = k;
          }
        } else {
          return r.Error(errc::kInvalidArgument,
                         "give \"uri\", or \"node_id\" (and/or \"public_key\")");
        }
        if (key == m_identity.public_key) {
          return r.Error(errc::kInvalidArgument, "that is this node's own key");
        }
        if (name) display = *name;
        if (display.empty()) display = ShortNodeId(key);
        if (Status v = ValidateDisplayName(display); !v.ok()) {
          return r.Error(errc::kInvalidArgument, "display_name: " + v.message());
        }
        bool added = true;
        Status st = m_trust.Add(key, display, NowMs());
        if (st.code() == StatusCode::kAlreadyExists) {
          added = false;
          st = m_trust.SetDisplayName(key, display);
        }
        if (!st.ok()) return r.Error(st);
        if (Status saved = SaveTrust(); !saved.ok()) {
          return r.Error(errc::kFailed, "trusted in memory but not saved: " + saved.message());
        }
        LogInfo("trust: {} {} ({})", added ? "added" : "renamed", FormatNodeId(key), display);
        r.Ok({{"node_id", FormatNodeId(key)},
              {"public_key", ToHex(key)},
              {"display_name", display},
              {"added", added}});
      }));

  m_dispatcher.Register(
      "trust.remove", wrap([this](const Json& req, const Responder& r) {
        auto node_id = StringArg(req, "node_id");
        auto key_hex = StringArg(req, "public_key");
        PublicKey key{};
        std::string shown;
        if (node_id) {
          auto k = ParseNodeId(*node_id);
          if (!k.ok()) {
            // Not a valid ID at all: it cannot be in the store either.
            return r.Error(errc::kNotFound, node_id->substr(0, 80) + ": not a trusted node (" +
                                                k.status().message() + ")");
          }
          key = *k;
          shown = *node_id;
        } else if (key_hex) {
          Bytes raw;
          if (!FromHex(*key_hex, &raw) || raw.size() != key.size()) {
            return r.Error(errc::kInvalidArgument, "public_key: expected 64 hex characters");
          }
          std::copy(raw.begin(), raw.end(), key.begin());
          shown = *key_hex;
        } else {
          return r.Error(errc::kInvalidArgument, "give \"node_id\" or \"public_key\"");
        }
        if (!m_trust.Remove(key)) return r.Error(errc::kNotFound, shown + ": not a trusted node");
        m_peer_address.erase(key);
        if (Status saved = SaveTrust(); !saved.ok()) {
          return r.Error(errc::kFailed, "removed in memory but not saved: " + saved.message());
        }
        LogInfo("trust: removed {}", FormatNodeId(key));
        r.Ok({{"node_id", FormatNodeId(key)}, {"removed", true}});
      }));

  m_dispatcher.Register("model.export", wrap([this](const Json& req, const Responder& r) {
                          std::string format = StringArg(req, "format").value_or("json");
                          if (format == "json") return r.Ok(ModelJson(true, false));
                          if (format == "checkpoint") return r.Ok(ModelJson(false, true));
                          r.Error(errc::kInvalidArgument, "format: '" + format.substr(0, 32) +
                                                              "' (use json or checkpoint)");
                        }));

  m_dispatcher.Register(
      "evaluate", wrap([this](const Json& req, const Responder& r) {
        auto dir = StringArg(req, "data_dir");
        if (!dir) return r.Error(errc::kInvalidArgument, "\"data_dir\" is required");
        if (dir->empty() || (*dir)[0] != '/') {
          return r.Error(errc::kInvalidArgument,
                         "data_dir must be an absolute path (the daemon "
                         "reads it, from its own working directory)");
        }
        std::string split = StringArg(req, "split").value_or("");
        if (!split.empty() && split != "test" && split != "train" && split != "all") {
          return r.Error(errc::kInvalidArgument, "split must be test, train or all");
        }
        struct stat st {};
        if (::stat(dir->c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
          return r.Error(errc::kNotFound, *dir + ": no such directory");
        }
        LoadOptions lo;
        lo.expected_features = m_node->model().input_size();
        lo.num_classes = m_node->model().num_classes();
        asio::post(m_workers, [this, model = m_node->model(), dir = *dir, split, lo, r] {
          Json result;
          std::string error;
          const char* code = errc::kFailed;
          auto contents = LoadForEvaluation(dir, lo);
          if (!contents.ok()) {
            error = contents.status().message();
          } else {
            std::string used_split =
                split.empty() ? (contents->test.empty() ? "all" : "test") : split;
            Dataset data;
            if (used_split == "test") {
              data = contents->test;
            } else if (used_split == "train") {
              data = contents->train;
            } else {
              data = contents->train;
              if (!contents->test.empty()) (void)data.Append(contents->test);
            }
            if (data.empty()) {
              error = dir + ": no " + used_split + " samples";
            } else {
              EvalResult ev = Evaluate(model, data);
              Json confusion = Json::array();
              size_t k = model.num_classes();
              for (size_t t = 0; t < k; ++t) {
                Json row = Json::array();
                for (size_t p = 0; p < k; ++p)
                  row.push_back(ev.confusion.size() == k * k ? ev.confusion[t * k + p] : 0);
                confusion.push_back(row);
              }
              Json skipped = Json::array();
              for (const Status& s : contents->skipped) {
                auto [path, reason] = SkippedFile(s);
                skipped.push_back({{"path", path}, {"reason", reason}});
              }
              result = {{"data_dir", dir},
                        {"split", used_split},
                        {"samples", ev.samples},
                        {"accuracy", ev.accuracy},
                        {"mean_loss", ev.mean_loss},
                        {"confusion", confusion},
                        {"files_used", contents->used},
                        {"files_skipped", skipped}};
            }
          }
          asio::post(m_io, [r, result = std::move(result), error, code] {
            if (!error.empty()) return r.Error(code, error);
            r.Ok(result);
          });
        });
      }));

  m_dispatcher.Register("pause", wrap([this](const Json&, const Responder& r) {
                          bool changed = !m_paused;
                          m_paused = true;
                          if (changed) LogInfo("training paused");
                          r.Ok({{"state", "paused"}, {"changed", changed}});
                        }));

  m_dispatcher.Register("resume", wrap([this](const Json&, const Responder& r) {
                          bool changed = m_paused;
                          m_paused = false;
                          if (changed) LogInfo("training resumed");
                          r.Ok({{"state", "running"}, {"changed", changed}});
                        }));

  m_dispatcher.Register(
      "metrics", wrap([this](const Json&, const Responder& r) {
        r.Ok({{"content_type", "text/plain; version=0.0.4"}, {"text", MetricsTextNow()}});
      }));

  m_dispatcher.Register("checkpoint", wrap([this](const Json&, const Responder& r) {
                          Status st = WriteCheckpoint();
                          if (!st.ok()) return r.Error(errc::kFailed, st.message());
                          r.Ok({{"path", m_state.Path("checkpoint")},
                                {"steps", m_checkpoint_steps},
                                {"rounds", Rounds()},
                                {"written_ms", m_checkpoint_ms}});
                        }));

  m_dispatcher.Register("rescan",
                        wrap([this](const Json&, const Responder& r) { RescanAsync(true, &r); }));
}

}  // namespace dust::daemon
