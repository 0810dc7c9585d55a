// The control commands of docs/control-protocol.md, and the reports they share with metrics.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <filesystem>
#include <fstream>
#include <set>

#include "daemon.h"
#include "data_dir.h"
#include "dust/ml/csv_reader.h"
#include "dust/ml/idx_reader.h"
#include "dust/util/crypto.h"
#include "dust/net/identity.h"
#include "dust/engine/merge.h"
#include "log.h"

namespace dust::daemon {
namespace asio = boost::asio;

namespace {

Json NullableDouble(const std::optional<double>& v) { return v ? Json(*v) : Json(nullptr); }

uint64_t ResidentBytes() {
  std::ifstream in("/proc/self/statm");
  uint64_t size = 0, resident = 0;
  if (!(in >> size >> resident)) return 0;
  return resident * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
}

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

Bytes ParamBytes(const Mlp& model) {
  Bytes out;
  out.reserve(model.num_params() * 4);
  ByteWriter w(&out);
  for (float v : model.params()) w.F32(v);
  return out;
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

Json Daemon::StatusJson() {
  const Mlp& model = m_node->model();
  NodeCounters c = m_node->counters();
  int64_t now = NowMs();
  auto peers = m_node->Peers(now);
  size_t live = 0;
  for (const PeerInfo& p : peers) {
    if (!p.stale && m_trust.Contains(p.key)) ++live;
  }
  Json drops = Json::object();
  for (const auto& [reason, count] : c.drops) {
    if (count > 0) drops[reason] = count;
  }
  drops["own"] = m_own_datagrams;
  Json skipped = Json::array();
  for (const auto& [path, why] : m_data.skipped)
    skipped.push_back({{"path", path}, {"reason", why}});
  const GossipCounters& g = m_gossip->counters();
  uint64_t rejected = 0;
  for (const PeerInfo& p : peers) rejected += p.updates_rejected;
  std::string state = m_paused ? "paused" : (m_node->train_size() == 0 ? "no_data" : "running");
  float loss = m_node->last_loss();
  return {
      {"node_id", FormatNodeId(m_identity.public_key)},
      {"display_name", m_node->options().display_name},
#ifdef DUST_VERSION
      {"version", DUST_VERSION},
#else
      {"version", "0.1.0"},
#endif
      {"pid", ::getpid()},
      {"uptime_s",
       std::chrono::duration<double>(std::chrono::steady_clock::now() - m_start).count()},
      {"training",
       {{"state", state},
        {"cpu_budget", m_options.cpu_budget},
        {"train_samples", m_node->train_size()},
        {"holdout_samples", m_data.holdout ? m_data.holdout->size() : 0},
        {"steps_per_s", m_steps_per_s},
        {"samples_trained", m_samples_trained},
        {"batches_per_round", m_options.batches_per_round},
        {"learning_rate", ScheduledLearningRate(Schedule(), Steps())},
        {"learning_rate_schedule",
         {{"start", m_options.learning_rate},
          {"floor", m_options.learning_rate_floor},
          {"decay_steps", m_options.learning_rate_decay_steps}}},
        {"rounds_skipped_for_budget", m_rounds_skipped},
        {"last_loss", m_units > 0 && std::isfinite(loss) ? Json(loss) : Json(nullptr)}}},
      {"model",
       {{"architecture", model.layer_sizes()},
        {"params", model.num_params()},
        {"fingerprint", ToHex(m_node->fingerprint())},
        {"steps", Steps()},
        {"rounds", Rounds()},
        {"accuracy", NullableDouble(m_accuracy)},
        {"test_accuracy", NullableDouble(m_test_accuracy)},
        {"accuracy_at_ms", m_accuracy_ms ? Json(m_accuracy_ms) : Json(nullptr)},
        {"content_hash", ToHex(Blake2b256(ParamBytes(model)))}}},
      {"peers", {{"seen", peers.size()}, {"live", live}, {"trusted", m_trust.size()}}},
      {"network",
       {{"port", m_gossip->port()},
        {"datagrams_in", g.datagrams_in},
        {"datagrams_out", g.datagrams_out},
        {"bytes_in", g.bytes_in},
        {"bytes_out", g.bytes_out},
        {"send_errors", g.send_errors},
        {"updates_sent", c.datagrams_sent},
        {"updates_accepted", c.updates_accepted},
        {"updates_rejected", rejected},
        {"updates_merged", c.updates_merged},
        {"drops", drops}}},
      {"data",
       {{"dir", m_options.data_dir},
        {"files_used", m_data.used.size()},
        {"files_skipped", skipped},
        {"last_scan_ms", m_data.scanned_ms ? Json(m_data.scanned_ms) : Json(nullptr)}}},
      {"checkpoint",
       {{"last_ms", m_checkpoint_ms ? Json(m_checkpoint_ms) : Json(nullptr)},
        {"steps", m_checkpoint_steps},
        {"recoveries", m_state.recoveries()}}},
      {"memory", {{"rss_bytes", ResidentBytes()}}},
  };
}

Json Daemon::PeersJson() {
  int64_t now = NowMs();
  Json list = Json::array();
  std::set<PublicKey> listed;
  for (const PeerInfo& p : m_node->Peers(now)) {
    listed.insert(p.key);
    const TrustedPeer* t = m_trust.Find(p.key);
    auto addr = m_peer_address.find(p.key);
    std::string name = !p.display_name.empty() ? p.display_name : (t ? t->display_name : "");
    list.push_back(
        {{"node_id", FormatNodeId(p.key)},
         {"display_name", name.empty() ? Json(nullptr) : Json(name)},
         {"trusted", t != nullptr},
         {"live", !p.stale},
         {"address", addr != m_peer_address.end() ? Json(addr->second) : Json(nullptr)},
         {"last_seen_ms", p.last_seen_ms ? Json(p.last_seen_ms) : Json(nullptr)},
         {"updates_accepted", p.updates_accepted},
         {"updates_rejected", p.updates_rejected},
         {"datagrams", p.announces + p.updates_accepted + p.updates_rejected},
         {"accuracy", p.accuracy_bp <= 10000 ? Json(p.accuracy_bp / 10000.0) : Json(nullptr)},
         {"steps", nullptr},  // the announce carries no step count (control-protocol.md)
         {"samples", p.sample_weight},
         {"round", p.last_round}});
  }
  for (const TrustedPeer& t : m_trust.List()) {
    if (listed.count(t.key)) continue;
    list.push_back({{"node_id", FormatNodeId(t.key)},
                    {"display_name", t.display_name},
                    {"trusted", true},
                    {"live", false},
                    {"address", nullptr},
                    {"last_seen_ms", nullptr},
                    {"updates_accepted", 0},
                    {"updates_rejected", 0},
                    {"datagrams", 0},
                    {"accuracy", nullptr},
                    {"steps", nullptr},
                    {"samples", nullptr},
                    {"round", nullptr}});
  }
  return {{"peers", list}};
}

Json Daemon::ModelJson(bool with_params, bool checkpoint) {
  const Mlp& model = m_node->model();
  Bytes params = ParamBytes(model);
  Json j = {
      {"format", "dust-mlp-v1"},
      {"architecture",
       {{"layers", model.layer_sizes()}, {"hidden_activation", "relu"}, {"output", "logits"}}},
      {"layout", "per layer: weight [in][out] input-major, then bias [out]; fp32 little-endian"},
      {"init_seed", m_options.init_seed},
      {"fingerprint", ToHex(m_node->fingerprint())},
      {"steps", Steps()},
      {"rounds", Rounds()},
      {"node_id", FormatNodeId(m_identity.public_key)},
      {"display_name", m_node->options().display_name},
      {"accuracy", NullableDouble(m_accuracy)},
      {"exported_ms", NowMs()},
      {"num_params", model.num_params()},
      {"content_hash", ToHex(Blake2b256(params))}};
  if (with_params) j["params_b64"] = Base64(params);
  if (checkpoint) {
    CheckpointData d;
    d.steps = Steps();
    d.rounds = Rounds();
    d.written_ms = NowMs();
    d.node = m_node->ExportCheckpoint();
    j["checkpoint_b64"] = Base64(EncodeCheckpointFile(d));
  }
  return j;
}

std::string Daemon::StatusLine() {
  std::string acc =
      m_accuracy ? std::to_string(static_cast<int>(std::lround(*m_accuracy * 1000)) / 10.0) : "?";
  acc = acc.substr(0, acc.find('.') + 2);
  size_t live = 0;
  for (const PeerInfo& p : m_node->Peers(NowMs()))
    live += (!p.stale && m_trust.Contains(p.key)) ? 1 : 0;
  return std::string(m_paused ? "paused" : "training") + ", holdout accuracy " + acc + "%, " +
         std::to_string(live) + "/" + std::to_string(m_trust.size()) + " peers live, " +
         std::to_string(Steps()) + " steps";
}

std::string Daemon::MetricsTextNow() {
  MetricsText m;
  const GossipCounters& g = m_gossip->counters();
  NodeCounters c = m_node->counters();
  m.Counter("dust_datagrams_in_total", "UDP datagrams received.",
            static_cast<double>(g.datagrams_in));
  m.Counter("dust_bytes_in_total", "UDP payload bytes received.", static_cast<double>(g.bytes_in));
  m.Counter("dust_datagrams_out_total", "UDP datagrams sent (one per destination).",
            static_cast<double>(g.datagrams_out));
  m.Counter("dust_bytes_out_total", "UDP payload bytes sent.", static_cast<double>(g.bytes_out));
  m.Counter("dust_send_errors_total", "Datagrams the kernel refused to send.",
            static_cast<double>(g.send_errors));
  for (const auto& [reason, count] : c.drops) {
    m.Counter("dust_drops_total", "Received datagrams dropped, by reason.",
              static_cast<double>(count), {{"reason", reason}});
  }
  m.Counter("dust_drops_total", "Received datagrams dropped, by reason.",
            static_cast<double>(m_own_datagrams), {{"reason", "own"}});
  m.Counter("dust_updates_accepted_total", "Authenticated model updates accepted.",
            static_cast<double>(c.updates_accepted));
  m.Counter("dust_updates_merged_total", "Peer updates merged into the model.",
            static_cast<double>(c.updates_merged));
  m.Counter("dust_merges_total", "Merge operations since start.", static_cast<double>(c.merges));
  m.Counter("dust_announces_accepted_total", "Authenticated announces accepted.",
            static_cast<double>(c.announces_accepted));
  m.Counter("dust_gossip_datagrams_built_total", "Datagrams built by the engine to broadcast.",
            static_cast<double>(c.datagrams_sent));
  m.Counter("dust_training_steps_total", "Local SGD steps (since this process started).",
            static_cast<double>(m_units));
  m.Counter("dust_training_samples_total", "Local samples trained on (since start).",
            static_cast<double>(m_samples_trained));
  m.Counter("dust_training_seconds_total", "Wall time spent in training units.", m_train_seconds);
  m.Gauge("dust_training_paused", "1 if training is paused.", m_paused ? 1 : 0);
  m.Gauge("dust_training_learning_rate",
          "Learning rate of the next local SGD step (schedule over the model's steps).",
          ScheduledLearningRate(Schedule(), Steps()));
  m.Gauge("dust_model_steps", "Local SGD steps of the model, ever (checkpointed).",
          static_cast<double>(Steps()));
  m.Gauge("dust_model_rounds", "Merge rounds of the model, ever (checkpointed).",
          static_cast<double>(Rounds()));
  if (m_accuracy)
    m.Gauge("dust_model_accuracy", "Accuracy on the local holdout slice.", *m_accuracy);
  if (m_test_accuracy)
    m.Gauge("dust_model_test_accuracy", "Accuracy on the data dir's test files.", *m_test_accuracy);
  float loss = m_node->last_loss();
  if (m_units > 0 && std::isfinite(loss))
    m.Gauge("dust_training_loss", "Mean loss of the last training unit.", loss);
  auto peers = m_node->Peers(NowMs());
  size_t live = 0;
  for (const PeerInfo& p : peers) live += (!p.stale && m_trust.Contains(p.key)) ? 1 : 0;
  m.Gauge("dust_peers", "Peers by state.", static_cast<double>(peers.size()), {{"state", "seen"}});
  m.Gauge("dust_peers", "Peers by state.", static_cast<double>(live), {{"state", "live"}});
  m.Gauge("dust_peers", "Peers by state.", static_cast<double>(m_trust.size()),
          {{"state", "trusted"}});
  m.Counter("dust_control_requests_total", "Control socket requests.",
            static_cast<double>(m_control ? m_control->requests() : 0));
  m.Gauge("dust_control_sessions", "Open control socket connections.",
          static_cast<double>(m_control ? m_control->sessions() : 0));
  m.Counter("dust_checkpoints_total", "Checkpoints written.",
            static_cast<double>(m_checkpoints_written));
  m.Counter("dust_checkpoint_errors_total", "Checkpoints that failed to write.",
            static_cast<double>(m_checkpoint_errors));
  if (m_checkpoint_ms)
    m.Gauge("dust_checkpoint_timestamp_seconds", "When the last checkpoint was written.",
            m_checkpoint_ms / 1000.0);
  m.Gauge("dust_train_samples", "Local training samples.",
          static_cast<double>(m_node->train_size()));
  m.Gauge("process_resident_memory_bytes", "Resident memory size in bytes.",
          static_cast<double>(ResidentBytes()));
  m.Gauge("dust_uptime_seconds", "Seconds since the daemon started.",
          std::chrono::duration<double>(std::chrono::steady_clock::now() - m_start).count());
  return m.str();
}

}  // namespace dust::daemon
