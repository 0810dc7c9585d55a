// The control commands of docs/control-protocol.md: the table RegisterCommands hands to the
// dispatcher, and one handler each. Their arguments are parsed in command_args.cpp, and the
// larger results (status, peers, model) are built in replies.cpp.
#include <sys/stat.h>

#include <boost/asio/post.hpp>
#include <type_traits>

#include "command_args.h"
#include "daemon.h"
#include "data_dir.h"
#include "dust/export/export.h"
#include "dust/net/identity.h"
#include "log.h"

namespace dust::daemon {
namespace asio = boost::asio;

namespace {

// An error replied as `failed` (ErrorCodeFor maps kIoError there): the request was valid but
// could not be carried out.
Status Failed(std::string message) { return Status::IoError(std::move(message)); }

}  // namespace

void Daemon::RegisterCommands() {
  // In the order of docs/control-protocol.md.
  static const Command kCommands[] = {
      {"status", &Daemon::CmdStatus},
      {"peers", &Daemon::CmdPeers},
      {"trust.show", &Daemon::CmdTrustShow},
      {"trust.list", &Daemon::CmdTrustList},
      {"trust.add", &Daemon::CmdTrustAdd},
      {"trust.remove", &Daemon::CmdTrustRemove},
      {"fleet.install", &Daemon::CmdFleetInstall},
      {"model.export", &Daemon::CmdModelExport},
      {"evaluate", &Daemon::CmdEvaluate},
      {"pause", &Daemon::CmdPause},
      {"resume", &Daemon::CmdResume},
      {"metrics", &Daemon::CmdMetrics},
      {"checkpoint", &Daemon::CmdCheckpoint},
      {"rescan", &Daemon::CmdRescan},
      {"watch", &Daemon::CmdWatch},
      {"history", &Daemon::CmdHistory},
  };
  // Every handler runs on the loop. An error Status becomes the error reply; exceptions are
  // left to the dispatcher, which answers them as internal errors.
  auto bind = [this](auto handler) -> ControlDispatcher::Handler {
    return [this, handler](const Json& request, const Responder& reply) {
      if constexpr (std::is_same_v<decltype(handler), AnswerNow>) {
        Result<Json> result = (this->*handler)(request);
        if (!result.ok()) return reply.Error(result.status());
        reply.Ok(std::move(*result));
      } else {
        if (Status st = (this->*handler)(request, reply); !st.ok()) reply.Error(st);
      }
    };
  };
  for (const Command& c : kCommands) m_dispatcher.Register(c.name, std::visit(bind, c.handler));
  // The one bulk command: its rows are read from the line's text (request_text.h).
  m_dispatcher.RegisterBulk(
      "predict", "features",
      [this](const Json& request, std::string_view features, const Responder& reply) {
        CmdPredict(request, features, reply);
      });
}

Result<Json> Daemon::CmdStatus(const Json&) { return StatusJson(); }

Result<Json> Daemon::CmdPeers(const Json&) { return PeersJson(); }

Result<Json> Daemon::CmdTrustShow(const Json&) {
  // The endpoint option was validated at start: the URI carries where peers beyond our
  // broadcast domain can reach us.
  auto uri =
      FormatPairingUri(m_identity.public_key, m_node->options().display_name, m_options.endpoints);
  return Json{{"node_id", FormatNodeId(m_identity.public_key)},
              {"public_key", ToHex(m_identity.public_key)},
              {"pairing_uri", uri.ok() ? Json(*uri) : Json(nullptr)},
              {"display_name", m_node->options().display_name},
              {"endpoints", m_options.endpoints}};
}

Result<Json> Daemon::CmdTrustList(const Json&) {
  Json list = Json::array();
  for (const TrustedPeer& p : m_trust.List()) {
    list.push_back({{"node_id", FormatNodeId(p.key)},
                    {"public_key", ToHex(p.key)},
                    {"display_name", p.display_name},
                    {"endpoints", p.endpoints},
                    {"added_ms", p.added_at_ms}});
  }
  return Json{{"trusted", list}};
}

Result<Json> Daemon::CmdTrustAdd(const Json& request) {
  Result<TrustAddArgs> args = ParseTrustAdd(request, m_identity.public_key);
  if (!args.ok()) return args.status();
  const auto& [key, display, endpoints] = *args;
  bool added = true;
  Status st = m_trust.Add(key, display, NowMs());
  if (st.code() == StatusCode::kAlreadyExists) {
    added = false;
    st = m_trust.SetDisplayName(key, display);
  }
  DUST_RETURN_IF_ERROR(st);
  // A URI's endpoints replace the stored ones; a URI without any (or a bare node ID) keeps them.
  if (!endpoints.empty()) DUST_RETURN_IF_ERROR(m_trust.SetEndpoints(key, endpoints));
  TrustEndpointsChanged();
  if (Status saved = SaveTrust(); !saved.ok()) {
    return Failed("trusted in memory but not saved: " + saved.message());
  }
  // A device removed while certified comes back by being trusted explicitly.
  if (m_fleet->IsExcluded(key)) {
    m_fleet->Include(key);
    if (Status saved = SaveFleetExcluded(); !saved.ok()) {
      return Failed("trusted, but its exclusion from the fleet not saved: " + saved.message());
    }
  }
  LogInfo("trust: {} {} ({})", added ? "added" : "renamed", FormatNodeId(key), display);
  Publish("trust", {{"change", added ? "added" : "renamed"},
                    {"node_id", FormatNodeId(key)},
                    {"display_name", display}});
  return Json{{"node_id", FormatNodeId(key)},
              {"public_key", ToHex(key)},
              {"display_name", display},
              {"endpoints", m_trust.Find(key)->endpoints},
              {"added", added}};
}

Result<Json> Daemon::CmdTrustRemove(const Json& request) {
  Result<TrustRemoveArgs> args = ParseTrustRemove(request);
  if (!args.ok()) return args.status();
  const PublicKey& key = args->key;
  // With fleets configured, a removed device stays out until `trust add`, whether it was
  // certified, paired or both: its certificate is refused from now on, after a restart too
  // (explicit trust wins over the fleet's).
  const TrustedPeer* t = m_trust.Find(key);
  const bool certified = t != nullptr && t->kind == TrustKind::kCertificate;
  const bool paired = m_trust.Remove(key);
  if (!paired && !certified) return Status::NotFound(args->shown + ": not a trusted node");
  m_peer_address.erase(key);
  m_endpoints.Forget(key);
  ApplyEndpoints();
  if (Status saved = SaveTrust(); !saved.ok()) {
    return Failed("removed in memory but not saved: " + saved.message());
  }
  if (m_fleet->enabled()) {
    if (!m_fleet->Exclude(key)) return Failed("the fleet exclusion list is full");
    if (Status saved = SaveFleetExcluded(); !saved.ok()) {
      return Failed("removed in memory but its fleet exclusion not saved: " + saved.message());
    }
  }
  LogInfo("trust: removed {}", FormatNodeId(key));
  Publish("trust", {{"change", "removed"}, {"node_id", FormatNodeId(key)}});
  return Json{{"node_id", FormatNodeId(key)}, {"removed", true}};
}

Result<Json> Daemon::CmdModelExport(const Json& request) {
  std::optional<std::string> format;
  DUST_RETURN_IF_ERROR(StringArg(request, "format", &format));
  if (!format || *format == "json") return ModelJson(true, false);
  if (*format == "checkpoint") return ModelJson(false, true);
  return Status::InvalidArgument("format: '" + format->substr(0, 32) +
                                 "' (use json or checkpoint)");
}

Status Daemon::CmdEvaluate(const Json& request, const Responder& reply) {
  Result<EvaluateArgs> args = ParseEvaluate(request);
  if (!args.ok()) return args.status();
  struct stat st {};
  if (::stat(args->data_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return Status::NotFound(args->data_dir + ": no such directory");
  }
  LoadOptions lo;
  lo.expected_features = m_node->model().input_size();
  lo.num_classes = m_node->model().num_classes();
  lo.label_column = m_options.csv_label_column;
  asio::post(m_workers, [this, model = m_node->model(), args = std::move(*args), lo,
                         tests = TestFileRule{m_options.test_files}, reply] {
    Result<Json> result = EvaluateDir(model, args.data_dir, args.split, lo, tests);
    asio::post(m_io, [reply, result = std::move(result)] {
      if (!result.ok()) return reply.Error(errc::kFailed, result.status().message());
      reply.Ok(*result);
    });
  });
  return Status::Ok();
}

Result<Json> Daemon::EvaluateDir(const Mlp& model, const std::string& dir, const std::string& split,
                                 const LoadOptions& lo, const TestFileRule& tests) {
  auto contents = ScanDataDirForEvaluation(dir, lo, tests);
  if (!contents.ok()) return contents.status();
  std::string used_split = split.empty() ? (contents->test.empty() ? "all" : "test") : split;
  Dataset data;
  if (used_split == "test") {
    data = contents->test;
  } else if (used_split == "train") {
    data = contents->train;
  } else {
    data = contents->train;
    if (!contents->test.empty()) (void)data.Append(contents->test);
  }
  if (data.empty()) return Failed(dir + ": no " + used_split + " samples");
  EvalResult ev = Evaluate(model, data);
  Json confusion = Json::array();
  size_t k = model.num_classes();
  for (size_t t = 0; t < k; ++t) {
    Json row = Json::array();
    for (size_t p = 0; p < k; ++p)
      row.push_back(ev.confusion.size() == k * k ? ev.confusion[t * k + p] : 0);
    confusion.push_back(row);
  }
  std::vector<std::pair<std::string, std::string>> skipped;
  for (const Status& s : contents->skipped) skipped.push_back(SkippedFile(s));
  return Json{{"data_dir", dir},
              {"split", used_split},
              {"samples", ev.samples},
              {"accuracy", ev.accuracy},
              {"mean_loss", ev.mean_loss},
              {"confusion", confusion},
              {"files_used", contents->used},
              {"files_skipped", SkippedFilesJson(skipped)}};
}

void Daemon::CmdPredict(const Json&, std::string_view features, const Responder& reply) {
  if (features.empty()) {
    return reply.Error(errc::kInvalidArgument,
                       "\"features\" (an array of rows, each an array of numbers) is required");
  }
  auto answer = [reply](const Result<std::string>& result) {
    if (!result.ok()) return reply.Error(result.status());
    reply.OkText(*result);
  };
  if (features.size() <= kInlinePredictBytes) {
    return answer(PredictRows(m_node->model(), features, Steps()));
  }
  asio::post(m_predict_worker, [this, model = m_node->model(), text = std::string(features),
                                steps = Steps(), answer] {
    Result<std::string> result = PredictRows(model, text, steps);
    asio::post(m_io, [answer, result = std::move(result)] { answer(result); });
  });
}

Result<std::string> Daemon::PredictRows(const Mlp& model, std::string_view features,
                                        uint64_t steps) {
  Result<Dataset> rows = ParseFeatureRows(features, model.input_size(), model.num_classes(),
                                          MaxPredictRows(model.input_size()));
  if (!rows.ok()) return rows.status();
  std::vector<uint32_t> classes(rows->size());
  std::vector<float> probs(rows->size() * model.num_classes());
  PredictBatch(model, *rows, classes, probs);
  return PredictionsJson(classes, probs, model.num_classes(), steps);
}

Result<Json> Daemon::CmdPause(const Json&) {
  bool changed = !m_paused;
  m_paused = true;
  if (changed) LogInfo("training paused");
  return Json{{"state", "paused"}, {"changed", changed}};
}

Result<Json> Daemon::CmdResume(const Json&) {
  bool changed = m_paused;
  m_paused = false;
  if (changed) LogInfo("training resumed");
  return Json{{"state", "running"}, {"changed", changed}};
}

Result<Json> Daemon::CmdMetrics(const Json&) {
  return Json{{"content_type", "text/plain; version=0.0.4"}, {"text", MetricsTextNow()}};
}

Result<Json> Daemon::CmdCheckpoint(const Json&) {
  if (Status st = WriteCheckpoint(); !st.ok()) return Failed(st.message());
  // The model just saved (and written to the live model files, if any): nothing runs on the
  // loop between them and this reply, whereas the model can move before a later status.
  return Json{{"path", m_state.Path("checkpoint")},
              {"steps", m_checkpoint_steps},
              {"rounds", Rounds()},
              {"written_ms", m_checkpoint_ms},
              {"content_hash", ContentHashHex(m_node->model())}};
}

Status Daemon::CmdRescan(const Json&, const Responder& reply) {
  if (m_scanning) return Failed("a rescan is already running; retry shortly");
  RescanAsync(true, &reply);
  return Status::Ok();
}

Status Daemon::CmdWatch(const Json& request, const Responder& reply) {
  Result<std::set<std::string>> kinds = ParseWatchKinds(request);
  if (!kinds.ok()) return kinds.status();
  if (m_watch.watchers() >= kMaxWatchers) {
    reply.Error(errc::kBusy, "too many watchers (" + std::to_string(kMaxWatchers) +
                                 "); close one or retry later");
    return Status::Ok();
  }
  std::shared_ptr<Watcher> watcher = reply.OpenStream(*kinds);
  if (!watcher) return Status::InvalidArgument("watch needs a control socket session of its own");
  m_watch.Add(watcher);
  const Mlp& model = m_node->model();
  // Where things stand, so the client starts from a known state and then follows the events.
  reply.Ok({{"events", *kinds},
            {"queue_events", kWatchQueueEvents},
            {"model",
             {{"steps", Steps()},
              {"rounds", Rounds()},
              {"content_hash", ContentHashHex(model)},
              {"accuracy", m_accuracy ? Json(*m_accuracy) : Json(nullptr)}}}});
  return Status::Ok();
}

}  // namespace dust::daemon
