#include "format.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <map>
#include <sstream>
#include <vector>

namespace dust::ctl {
namespace {

using nlohmann::json;

// The value at j[key] if j is an object holding it (not null), else nullptr.
const json* Field(const json& j, const char* key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return nullptr;
  return &*it;
}

// j[key], or null when j is not an object or lacks it.
json Get(const json& j, const char* key) {
  const json* v = Field(j, key);
  return v != nullptr ? *v : json();
}

std::string Str(const json& j, const char* key, const std::string& fallback = "-") {
  const json* v = Field(j, key);
  if (v == nullptr) return fallback;
  if (v->is_string()) return v->get<std::string>();
  return v->dump();
}

bool Num(const json& j, const char* key, double* out) {
  const json* v = Field(j, key);
  if (v == nullptr || !v->is_number()) return false;
  *out = v->get<double>();
  return true;
}

// Integers print without a decimal point; anything else non-numeric prints as "-".
std::string Int(const json& j, const char* key) {
  const json* v = Field(j, key);
  if (v == nullptr || !v->is_number()) return "-";
  if (v->is_number_integer() || v->is_number_unsigned()) return v->dump();
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.0f", v->get<double>());
  return buf;
}

const json& Obj(const json& j, const char* key) {
  static const json kEmpty = json::object();
  const json* v = Field(j, key);
  return v != nullptr && v->is_object() ? *v : kEmpty;
}

std::string Fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", decimals, v);
  return buf;
}

// Left-aligned columns, two spaces apart, no trailing blanks.
std::string Table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width;
  for (const auto& r : rows) {
    if (width.size() < r.size()) width.resize(r.size(), 0);
    for (size_t c = 0; c < r.size(); ++c) width[c] = std::max(width[c], r[c].size());
  }
  std::string out;
  for (const auto& r : rows) {
    std::string line;
    for (size_t c = 0; c < r.size(); ++c) {
      line += r[c];
      if (c + 1 < r.size()) line += std::string(width[c] - r[c].size() + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

std::string Architecture(const json& model) {
  const json* a = Field(model, "architecture");
  if (a == nullptr || !a->is_array()) return "-";
  std::string s;
  for (const json& v : *a) {
    if (!s.empty()) s += "-";
    s += v.dump();
  }
  return s;
}

}  // namespace

std::string JsonString(const json& j, const char* key, const std::string& fallback) {
  const json* v = Field(j, key);
  return v != nullptr && v->is_string() ? v->get<std::string>() : fallback;
}

bool JsonBool(const json& j, const char* key, bool fallback) {
  const json* v = Field(j, key);
  return v != nullptr && v->is_boolean() ? v->get<bool>() : fallback;
}

std::string JsonText(const json& j, const char* key) { return Str(j, key); }

std::string FormatDuration(double seconds) {
  if (!(seconds > 0)) seconds = 0;  // also maps NaN to 0
  auto total = static_cast<uint64_t>(seconds);
  uint64_t d = total / 86400, h = total / 3600 % 24, m = total / 60 % 60, s = total % 60;
  char buf[64];
  if (d > 0) {
    std::snprintf(buf, sizeof(buf), "%llud %02lluh", static_cast<unsigned long long>(d),
                  static_cast<unsigned long long>(h));
  } else if (h > 0) {
    std::snprintf(buf, sizeof(buf), "%lluh %02llum", static_cast<unsigned long long>(h),
                  static_cast<unsigned long long>(m));
  } else if (m > 0) {
    std::snprintf(buf, sizeof(buf), "%llum %02llus", static_cast<unsigned long long>(m),
                  static_cast<unsigned long long>(s));
  } else {
    std::snprintf(buf, sizeof(buf), "%llus", static_cast<unsigned long long>(s));
  }
  return buf;
}

std::string FormatBytes(double bytes) {
  if (!(bytes > 0)) bytes = 0;
  if (bytes < 1024) return Fixed(bytes, 0) + " B";
  const char* units[] = {"KiB", "MiB", "GiB", "TiB"};
  double v = bytes / 1024;
  size_t u = 0;
  while (v >= 1024 && u + 1 < std::size(units)) {
    v /= 1024;
    ++u;
  }
  return Fixed(v, 1) + " " + units[u];
}

std::string FormatPercent(const json& fraction) {
  if (!fraction.is_number()) return "-";
  return Fixed(fraction.get<double>() * 100.0, 1) + "%";
}

std::string FormatAgo(const json& at_ms, int64_t now_ms) {
  if (!at_ms.is_number()) return "never";
  double ago = (static_cast<double>(now_ms) - at_ms.get<double>()) / 1000.0;
  return FormatDuration(ago) + " ago";
}

std::string FormatDataFiles(const json& data, const std::string& indent) {
  std::ostringstream os;
  const auto each = [&](const char* key, auto&& line) {
    const json* list = Field(data, key);
    if (list == nullptr || !list->is_array()) return;
    for (const json& f : *list) {
      if (f.is_object()) line(f);
    }
  };
  each("files_skipped", [&](const json& f) {
    os << indent << "skipped " << Str(f, "path") << ": " << Str(f, "reason") << "\n";
  });
  each("files_with_errors", [&](const json& f) {
    os << indent << Str(f, "path") << ": " << Int(f, "samples") << " samples used, then "
       << Str(f, "reason") << "\n";
  });
  each("incomplete_last_lines", [&](const json& f) {
    os << indent << Str(f, "path") << ": " << Int(f, "bytes")
       << "-byte incomplete last line left for the next rescan\n";
  });
  return os.str();
}

std::string FormatStatus(const json& st, int64_t now_ms) {
  std::ostringstream os;
  os << "node: " << Str(st, "node_id");
  if (Field(st, "display_name") != nullptr) os << " (" << Str(st, "display_name") << ")";
  os << "\n";
  double v = 0;
  os << "  version: " << Str(st, "version") << ", pid " << Int(st, "pid");
  if (Num(st, "uptime_s", &v)) os << ", up " << FormatDuration(v);
  os << "\n";

  const json& tr = Obj(st, "training");
  os << "  training: " << Str(tr, "state");
  if (Num(tr, "cpu_budget", &v)) os << " (cpu budget " << Fixed(v * 100, 0) << "%)";
  os << ", " << Int(tr, "train_samples") << " train / " << Int(tr, "holdout_samples")
     << " holdout samples";
  if (Num(tr, "steps_per_s", &v)) os << ", " << Fixed(v, 1) << " steps/s";
  if (Num(tr, "last_loss", &v)) os << ", loss " << Fixed(v, 3);
  if (Num(tr, "learning_rate", &v)) {
    char rate[32];  // significant digits: the floor may be far below 0.001
    std::snprintf(rate, sizeof(rate), "%.3g", v);
    os << ", learning rate " << rate;
    // Where the rate comes from: the node's own steps, or the fleet's position when ahead.
    if (const json* ls = Field(tr, "learning_rate_schedule");
        ls != nullptr && ls->is_object() && Field(*ls, "position") != nullptr) {
      os << " at schedule position " << Int(*ls, "position") << " (own steps "
         << Int(*ls, "own_steps");
      if (Field(*ls, "fleet_position") != nullptr) {
        os << ", fleet " << Int(*ls, "fleet_position") << " from " << Int(*ls, "fleet_peers")
           << (Int(*ls, "fleet_peers") == "1" ? " peer" : " peers");
      } else {
        os << ", no fleet position heard";
      }
      if (const json* w = Field(*ls, "waiting_for_fleet"); w != nullptr && w->is_boolean() && *w) {
        os << "; waiting for it before training";
      }
      os << ")";
    }
  }
  os << "\n";

  const json& m = Obj(st, "model");
  os << "  model: " << Architecture(m) << ", " << Int(m, "params") << " params, fingerprint "
     << Str(m, "fingerprint") << "\n";
  os << "    accuracy: " << FormatPercent(Get(m, "accuracy")) << " (holdout";
  if (Field(m, "accuracy_at_ms") != nullptr) {
    os << ", " << FormatAgo(m["accuracy_at_ms"], now_ms);
  }
  os << ")";
  if (Field(m, "test_accuracy") != nullptr)
    os << ", test " << FormatPercent(Get(m, "test_accuracy"));
  os << ", steps " << Int(m, "steps") << ", rounds " << Int(m, "rounds") << "\n";
  if (Field(m, "content_hash") != nullptr) {
    os << "    content hash: " << Str(m, "content_hash") << "\n";
  }
  if (const json* sc = Field(m, "scaling"); sc != nullptr && sc->is_object()) {
    const std::string state = Str(*sc, "state");
    os << "    input scaling: " << Str(*sc, "summary");
    if (state == "agreed") {
      os << "; agreed over " << Int(*sc, "samples") << " samples (" << Int(*sc, "peers_pooled")
         << " peers pooled), id " << Str(*sc, "id");
    } else if (state == "calibrating") {
      os << "; calibrating on this node's " << Int(*sc, "samples") << " samples until round "
         << Int(*sc, "calibration_end_round");
    } else {
      os << " (input-scaling = none)";
    }
    os << "\n";
  }

  if (const json* pr = Field(st, "privacy"); pr != nullptr && pr->is_object()) {
    const json* on = Field(*pr, "enabled");
    double eps = 0, budget = 0, delta = 0, sigma = 0, clip = 0;
    if (on != nullptr && on->is_boolean() && on->get<bool>()) {
      os << "  privacy: DP-SGD, epsilon ";
      os << (Num(*pr, "epsilon", &eps) ? Fixed(eps, 3) : "-");
      if (Num(*pr, "epsilon_budget", &budget)) os << " of budget " << Fixed(budget, 3);
      char d[32] = "-";
      if (Num(*pr, "delta", &delta)) std::snprintf(d, sizeof(d), "%.2g", delta);
      os << " (delta " << d << ", " << Int(*pr, "noisy_steps") << " noisy steps";
      if (Num(*pr, "noise_multiplier", &sigma) && Num(*pr, "clip", &clip)) {
        os << ", noise multiplier " << Fixed(sigma, 3) << ", clip " << Fixed(clip, 3);
      }
      os << ")\n";
      const json* spent = Field(*pr, "budget_spent");
      if (spent != nullptr && spent->is_boolean() && spent->get<bool>()) {
        os << "    budget spent: no more training on local data (merging and gossip go on)\n";
      }
    } else {
      os << "  privacy: no differential privacy (dp-noise-multiplier = 0)";
      if (Num(*pr, "noisy_steps", &eps) && eps > 0 && Num(*pr, "epsilon", &eps)) {
        os << "; epsilon " << Fixed(eps, 3) << " spent while it was on";
      }
      os << "\n";
    }
  }

  const json& p = Obj(st, "peers");
  os << "  peers: " << Int(p, "live") << " live, " << Int(p, "trusted") << " trusted";
  if (Field(p, "certified") != nullptr) {
    os << " (" << Int(p, "paired") << " paired, " << Int(p, "certified") << " by certificate)";
  }
  os << ", " << Int(p, "seen") << " seen\n";
  if (const json* f = Field(st, "fleet"); f != nullptr && f->is_object()) {
    const json* fleets = Field(*f, "fleets");
    const json* cert = Field(*f, "certificate");
    const bool has_cert = cert != nullptr && cert->is_object();
    if ((fleets != nullptr && fleets->is_array() && !fleets->empty()) || has_cert) {
      os << "  fleet: " << (fleets != nullptr && fleets->is_array() ? fleets->size() : 0)
         << " trusted, " << Int(*f, "certified_peers") << " peers by certificate, "
         << "certificate " << (has_cert ? "of " + Str(*cert, "fleet_id") : std::string("none"))
         << "\n";
      if (const json* serials = Field(*f, "revocation_serials");
          serials != nullptr && serials->is_object()) {
        for (const auto& [id, serial] : serials->items()) {
          os << "    " << id << ": revocation list " << serial.dump() << "\n";
        }
      }
    }
  }
  if (const json* mem = Field(p, "memory"); mem != nullptr && mem->is_object()) {
    const double horizon = Get(*mem, "horizon_s");
    if (horizon > 0) {
      os << "    memory of absent peers: " << Int(*mem, "away") << " away (their steps taken for "
         << "them), " << Int(*mem, "remembered") << " remembered; forgotten after "
         << FormatDuration(horizon) << " away\n";
    } else {
      os << "    memory of absent peers: off (peer-memory-horizon = 0)\n";
    }
  }

  const json& n = Obj(st, "network");
  os << "  network: port " << Int(n, "port") << "\n";
  double bin = 0, bout = 0;
  os << "    datagrams: " << Int(n, "datagrams_in") << " in, " << Int(n, "datagrams_out")
     << " out; bytes: " << (Num(n, "bytes_in", &bin) ? FormatBytes(bin) : "-") << " in, "
     << (Num(n, "bytes_out", &bout) ? FormatBytes(bout) : "-") << " out\n";
  os << "    updates: " << Int(n, "updates_sent") << " sent, " << Int(n, "updates_accepted")
     << " accepted, " << Int(n, "updates_rejected") << " rejected\n";
  const json& drops = Obj(n, "drops");
  os << "    drops:";
  if (drops.empty()) {
    os << " none";
  } else {
    bool first = true;
    for (auto it = drops.begin(); it != drops.end(); ++it) {  // json objects iterate sorted
      os << (first ? " " : ", ") << it.key() << " " << (it->is_number() ? it->dump() : "-");
      first = false;
    }
  }
  os << "\n";

  const json& d = Obj(st, "data");
  if (!d.empty()) {
    const json* skipped = Field(d, "files_skipped");
    size_t nskipped = skipped != nullptr && skipped->is_array() ? skipped->size() : 0;
    os << "  data: " << Str(d, "dir") << ", " << Int(d, "files_used") << " files used, " << nskipped
       << " skipped";
    if (Field(d, "last_scan_ms") != nullptr) {
      os << ", scanned " << FormatAgo(d["last_scan_ms"], now_ms);
    }
    os << "\n" << FormatDataFiles(d, "    ");
  }
  const json& c = Obj(st, "checkpoint");
  if (!c.empty()) {
    os << "  checkpoint: " << FormatAgo(Get(c, "last_ms"), now_ms);
    if (Field(c, "steps") != nullptr) os << " (steps " << Int(c, "steps") << ")";
    os << "\n";
  }
  return os.str();
}

namespace {

// A peer's announced epsilon ("2.31/8.00" with a budget, "-" without DP).
std::string PeerEpsilon(const json& p) {
  double eps = 0, budget = 0;
  if (!Num(p, "epsilon", &eps)) return "-";
  std::string out = Fixed(eps, 2);
  if (Num(p, "epsilon_budget", &budget)) out.append("/").append(Fixed(budget, 2));
  return out;
}

}  // namespace

// "ENDPOINT (source), ..." from a peer's "endpoints" list; "-" when there are none. A '*' marks
// a peer the daemon sends to by unicast.
std::string PeerEndpoints(const json& peer) {
  const json* list = Field(peer, "endpoints");
  std::string out;
  if (list != nullptr && list->is_array()) {
    for (const json& e : *list) {
      if (!out.empty()) out += ", ";
      out += Str(e, "endpoint") + " (" + Str(e, "source") + ")";
    }
  }
  if (out.empty()) return "-";
  const json* unicast = Field(peer, "unicast");
  if (unicast != nullptr && unicast->is_boolean() && unicast->get<bool>()) out = "*" + out;
  return out;
}

std::string FormatPeers(const json& result, int64_t now_ms) {
  const json* peers = Field(result, "peers");
  if (peers == nullptr || !peers->is_array() || peers->empty()) {
    return "no peers seen and none trusted\n";
  }
  std::vector<std::vector<std::string>> rows;
  rows.push_back({"NODE", "NAME", "TRUST", "ADDRESS", "LAST SEEN", "ACCEPTED", "REJECTED",
                  "DATAGRAMS", "ACCURACY", "STEPS", "EPSILON", "ENDPOINTS"});
  for (const json& p : *peers) {
    // How the peer is trusted ("paired", "certificate"); older daemons say only whether.
    const json* trusted = Field(p, "trusted");
    const bool is_trusted = trusted != nullptr && trusted->is_boolean() && trusted->get<bool>();
    const std::string how = JsonString(p, "trust", "");
    rows.push_back({Str(p, "node_id"), Str(p, "display_name"),
                    !is_trusted ? "untrusted" : (how.empty() ? "trusted" : how), Str(p, "address"),
                    FormatAgo(Get(p, "last_seen_ms"), now_ms), Int(p, "updates_accepted"),
                    Int(p, "updates_rejected"), Int(p, "datagrams"),
                    FormatPercent(Get(p, "accuracy")), Int(p, "steps"), PeerEpsilon(p),
                    PeerEndpoints(p)});
  }
  return Table(rows);
}

std::string FormatTop(const json& status, const json& peers, const json& previous, double seconds,
                      int64_t now_ms) {
  std::ostringstream os;
  const json& m = Obj(status, "model");
  const json& pc = Obj(status, "peers");
  const std::string id = Str(status, "node_id");
  os << Str(status, "display_name", "dustd") << " " << id.substr(0, 7) << "  "
     << Str(Obj(status, "training"), "state") << "  holdout " << FormatPercent(Get(m, "accuracy"))
     << "  test " << FormatPercent(Get(m, "test_accuracy")) << "  steps " << Int(m, "steps")
     << "  rounds " << Int(m, "rounds") << "  peers " << Int(pc, "live") << "/"
     << Int(pc, "trusted") << " live";
  double up = 0;
  if (Num(status, "uptime_s", &up)) os << "  up " << FormatDuration(up);
  os << "\n\n";
  const json* list = Field(peers, "peers");
  if (list == nullptr || !list->is_array() || list->empty()) {
    os << "no peers seen and none trusted\n";
    return os.str();
  }
  // Updates accepted per second: the difference to the previous frame's count, by node ID.
  std::map<std::string, double> before;
  if (const json* prev = Field(previous, "peers"); prev != nullptr && prev->is_array()) {
    for (const json& p : *prev) {
      double n = 0;
      if (Num(p, "updates_accepted", &n)) before[Str(p, "node_id")] = n;
    }
  }
  std::vector<std::vector<std::string>> rows;
  rows.push_back(
      {"NODE", "NAME", "STATE", "LAST SEEN", "ACCURACY", "ACCEPTED", "REJECTED", "UPDATES/S"});
  for (const json& p : *list) {
    std::string state = Field(p, "last_seen_ms") == nullptr ? "never"
                        : JsonBool(p, "live", false)        ? "live"
                                                            : "stale";
    if (!JsonBool(p, "trusted", false)) state += ", untrusted";
    double n = 0;
    auto it = before.find(Str(p, "node_id"));
    std::string rate = "-";
    if (it != before.end() && seconds > 0 && Num(p, "updates_accepted", &n)) {
      rate = Fixed(std::max(0.0, n - it->second) / seconds, 1);
    }
    rows.push_back({Str(p, "node_id").substr(0, 7), Str(p, "display_name"), state,
                    FormatAgo(Get(p, "last_seen_ms"), now_ms), FormatPercent(Get(p, "accuracy")),
                    Int(p, "updates_accepted"), Int(p, "updates_rejected"), rate});
  }
  os << Table(rows);
  return os.str();
}

std::string FormatTrustList(const json& result, int64_t now_ms) {
  const json* list = Field(result, "trusted");
  if (list == nullptr || !list->is_array() || list->empty()) return "no trusted peers\n";
  std::vector<std::vector<std::string>> rows;
  rows.push_back({"NODE", "NAME", "ADDED"});
  for (const json& t : *list) {
    rows.push_back(
        {Str(t, "node_id"), Str(t, "display_name"), FormatAgo(Get(t, "added_ms"), now_ms)});
  }
  return Table(rows);
}

std::string FormatEvaluation(const json& ev) {
  std::ostringstream os;
  double loss = 0;
  os << "accuracy " << FormatPercent(Get(ev, "accuracy")) << " on " << Int(ev, "samples")
     << " samples (" << Str(ev, "split") << " split of " << Str(ev, "data_dir") << ")";
  if (Num(ev, "mean_loss", &loss)) os << ", mean loss " << Fixed(loss, 4);
  os << "\n";
  const json* conf = Field(ev, "confusion");
  if (conf != nullptr && conf->is_array() && !conf->empty()) {
    os << "confusion (rows: true class, columns: predicted):\n";
    std::vector<std::vector<std::string>> rows;
    std::vector<std::string> header{""};
    for (size_t c = 0; c < conf->size(); ++c) header.push_back(std::to_string(c));
    rows.push_back(header);
    for (size_t r = 0; r < conf->size(); ++r) {
      std::vector<std::string> row{std::to_string(r)};
      if ((*conf)[r].is_array()) {
        for (const json& v : (*conf)[r]) row.push_back(v.is_number() ? v.dump() : "-");
      }
      rows.push_back(row);
    }
    std::istringstream table(Table(rows));
    for (std::string line; std::getline(table, line);) os << "  " << line << "\n";
  }
  const json* skipped = Field(ev, "files_skipped");
  if (skipped != nullptr && skipped->is_array()) {
    for (const json& s : *skipped) {
      os << "skipped " << Str(s, "path") << ": " << Str(s, "reason") << "\n";
    }
  }
  return os.str();
}

namespace {

// "12:25:15" in local time from a time_ms, "--:--:--" without one.
std::string ClockTime(const json& event) {
  double ms = 0;
  if (!Num(event, "time_ms", &ms)) return "--:--:--";
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  char buf[16];
  if (::localtime_r(&t, &tm) == nullptr || std::strftime(buf, sizeof(buf), "%H:%M:%S", &tm) == 0)
    return "--:--:--";
  return buf;
}

// The first 8 hex digits of a content hash: enough to tell models apart by eye.
std::string ShortHash(const json& j) { return Str(j, "content_hash").substr(0, 8); }

std::string Named(const json& j) {
  std::string name = Str(j, "display_name", "");
  return Str(j, "node_id") + (name.empty() ? "" : " (" + name + ")");
}

}  // namespace

std::string FormatWatchEvent(const json& event) {
  const std::string when = ClockTime(event);
  const std::string kind = Str(event, "event", "?");
  std::ostringstream os;
  auto head = [&](const std::string& k) {
    os << when << " " << k << std::string(k.size() < 11 ? 11 - k.size() : 1, ' ');
  };
  const bool failed = JsonBool(event, "ok", true) == false;
  if (kind != "missed" && Field(event, "missed") != nullptr) {
    head("missed");
    os << Int(event, "missed") << " events (this client read too slowly)\n";
  }
  head(kind);
  if (kind == "missed") {
    os << Int(event, "missed") << " events (this client read too slowly)";
  } else if (kind == "model") {
    os << "steps " << Int(event, "steps") << ", rounds " << Int(event, "rounds") << ", accuracy "
       << FormatPercent(Get(event, "accuracy"));
    if (Field(event, "test_accuracy") != nullptr)
      os << " (test " << FormatPercent(Get(event, "test_accuracy")) << ")";
    os << ", hash " << ShortHash(event);
  } else if (kind == "checkpoint") {
    os << "steps " << Int(event, "steps") << ", rounds " << Int(event, "rounds") << ", "
       << Str(event, "path");
  } else if (kind == "export" && failed) {
    os << "FAILED in " << Str(event, "dir") << ": " << Str(event, "error");
  } else if (kind == "export") {
    const json* files = Field(event, "files");
    os << (files != nullptr && files->is_array() ? files->size() : 0) << " files in "
       << Str(event, "dir") << ", steps " << Int(event, "steps") << ", hash " << ShortHash(event);
  } else if (kind == "peer") {
    os << Str(event, "state") << " " << Named(event)
       << (JsonBool(event, "trusted", false) ? "" : ", not trusted");
  } else if (kind == "trust") {
    os << Str(event, "change") << " " << Named(event);
  } else if (kind == "data" && failed) {
    os << "FAILED in " << Str(event, "dir") << ": " << Str(event, "error");
  } else if (kind == "data") {
    os << Int(event, "files_used") << " files (" << Int(event, "files_skipped") << " skipped), "
       << Int(event, "train_samples") << " training samples, " << Int(event, "holdout_samples")
       << " holdout, " << Int(event, "test_samples") << " test";
  } else {
    os << event.dump(-1, ' ', false, json::error_handler_t::replace);  // a newer daemon's kind
  }
  os << "\n";
  return os.str();
}

std::string Sparkline(const std::vector<std::optional<double>>& values, double lo, double hi,
                      bool utf8) {
  static const char* const kBlocks[] = {"\u2581", "\u2582", "\u2583", "\u2584",
                                        "\u2585", "\u2586", "\u2587", "\u2588"};
  static const char kAscii[] = "_.-=*#";
  const size_t levels = utf8 ? std::size(kBlocks) : sizeof(kAscii) - 1;
  std::string out;
  for (const auto& v : values) {
    if (!v || !std::isfinite(*v)) {
      out += ' ';
      continue;
    }
    double f = hi > lo ? (*v - lo) / (hi - lo) : 1.0;
    f = std::clamp(f, 0.0, 1.0);
    const size_t level = std::min(levels - 1, static_cast<size_t>(f * static_cast<double>(levels)));
    if (utf8) {
      out += kBlocks[level];
    } else {
      out += kAscii[level];
    }
  }
  return out;
}

namespace {

// The numbers (nullopt for null) of the array `key` of `j`.
std::vector<std::optional<double>> Column(const json& j, const char* key) {
  std::vector<std::optional<double>> out;
  const json* a = Field(j, key);
  if (a == nullptr || !a->is_array()) return out;
  for (const json& v : *a) {
    out.push_back(v.is_number() ? std::optional<double>(v.get<double>()) : std::nullopt);
  }
  return out;
}

// The scale of an accuracy sparkline: from a little under its lowest value to its highest, so
// a run that moves between 90% and 92% still shows its shape.
void AccuracyScale(const std::vector<std::optional<double>>& v, double* lo, double* hi) {
  *lo = 1;
  *hi = 0;
  for (const auto& x : v) {
    if (!x) continue;
    *lo = std::min(*lo, *x);
    *hi = std::max(*hi, *x);
  }
  if (*lo > *hi) {
    *lo = 0;
    *hi = 1;
  }
  *lo = std::max(0.0, *lo - 0.01);
}

std::optional<double> LastValue(const std::vector<std::optional<double>>& v) {
  for (auto it = v.rbegin(); it != v.rend(); ++it) {
    if (*it) return *it;
  }
  return std::nullopt;
}

std::string UtcClock(double ms) {
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  char buf[24];
  if (::gmtime_r(&t, &tm) == nullptr || std::strftime(buf, sizeof(buf), "%m-%d %H:%M:%S", &tm) == 0)
    return "-";
  return buf;
}

std::string PercentOrDash(const std::optional<double>& v) {
  return v ? Fixed(*v * 100, 1) + "%" : "-";
}

}  // namespace

std::string FormatAccuracyTrend(const json& history, bool utf8) {
  const auto acc = Column(Obj(history, "node"), "accuracy");
  const auto last = LastValue(acc);
  if (!last) return "";
  double lo = 0, hi = 1;
  AccuracyScale(acc, &lo, &hi);
  return "  accuracy, last hour: " + Sparkline(acc, lo, hi, utf8) + " " + PercentOrDash(last) +
         " (scale " + Fixed(lo * 100, 1) + "-" + Fixed(hi * 100, 1) + "%)\n";
}

std::string FormatHistory(const json& history, bool utf8) {
  std::ostringstream os;
  const json& node = Obj(history, "node");
  const auto t = Column(node, "t_ms");
  os << "history: " << t.size() << " samples, " << Str(history, "resolution") << " (every "
     << Int(history, "interval_s") << " s), times in UTC\n";
  const auto acc = Column(node, "accuracy"), test = Column(node, "test_accuracy"),
             loss = Column(node, "loss"), steps = Column(node, "steps"),
             live = Column(node, "live_peers"), uin = Column(node, "updates_in"),
             uout = Column(node, "updates_out");
  // Drops: the sum over reasons at each sample (counters; the per-reason series are in --json).
  std::vector<double> drops(t.size(), 0);
  if (const json* d = Field(node, "drops"); d != nullptr && d->is_object()) {
    for (const auto& [reason, series] : d->items()) {
      if (reason == "own" || !series.is_array()) continue;
      for (size_t i = 0; i < series.size() && i < drops.size(); ++i) {
        if (series[i].is_number()) drops[i] += series[i].get<double>();
      }
    }
  }
  if (!t.empty()) {
    os << "  time            holdout    test    loss      steps  peers  upd in  upd out  drops\n";
  }
  auto at = [](const std::vector<std::optional<double>>& v, size_t i) {
    return i < v.size() ? v[i] : std::nullopt;
  };
  auto num = [](const std::optional<double>& v, int decimals) {
    return v ? Fixed(*v, decimals) : std::string("-");
  };
  for (size_t i = 0; i < t.size(); ++i) {
    char line[160];
    std::snprintf(line, sizeof(line), "  %-14s %8s %7s %7s %10s %6s %7s %8s %6s\n",
                  UtcClock(t[i].value_or(0)).c_str(), PercentOrDash(at(acc, i)).c_str(),
                  PercentOrDash(at(test, i)).c_str(), num(at(loss, i), 3).c_str(),
                  num(at(steps, i), 0).c_str(), num(at(live, i), 0).c_str(),
                  num(at(uin, i), 0).c_str(), num(at(uout, i), 0).c_str(),
                  Fixed(drops[i], 0).c_str());
    os << line;
  }
  if (const json* peers = Field(history, "peers"); peers != nullptr && peers->is_array()) {
    if (!peers->empty()) os << "peers (announced holdout accuracy):\n";
    for (const json& p : *peers) {
      const auto pacc = Column(p, "accuracy");
      double lo = 0, hi = 1;
      AccuracyScale(pacc, &lo, &hi);
      std::string name = Str(p, "display_name", "");
      os << "  " << Str(p, "node_id").substr(0, 12) << " " << (name.empty() ? "-" : name) << ": "
         << Sparkline(pacc, lo, hi, utf8) << " " << PercentOrDash(LastValue(pacc)) << "\n";
    }
  }
  return os.str();
}

}  // namespace dust::ctl
