// dustctl status, dustctl peers.
#include <cmath>
#include <ostream>

#include "commands.h"
#include "format.h"

namespace dust::ctl {

int CmdStatus(Context& ctx, std::span<const std::string> args) {
  static const CommandHelp kHelp{
      "status",
      "",
      "Shows this node: its ID, the model (architecture, holdout accuracy, steps, gossip\n"
      "rounds), training state, peers live and trusted, network counters with drops by\n"
      "reason, the data directory and the last checkpoint, and the last hour of holdout\n"
      "accuracy as a sparkline (block characters in a UTF-8 locale, else ASCII). --json\n"
      "prints everything the daemon reports to `status`.",
      {}};
  return RunPlainCommand(ctx, args, kHelp, "status", [&](const nlohmann::json& result) {
    *ctx.out << FormatStatus(result, ctx.now_ms);
    // The trend is a second request; a daemon without `history` (older) or one that fails it
    // leaves the line out rather than failing status.
    ClientOptions options;
    options.socket_path = ctx.socket_path;
    options.timeout_ms = ctx.timeout_ms;
    CallResult h = Call(
        options, {{"cmd", "history"}, {"since_s", 3600}, {"max_points", 60}, {"peers", false}});
    if (h.ok()) *ctx.out << FormatAccuracyTrend(h.result, ctx.utf8);
  });
}

int CmdHistory(Context& ctx, std::span<const std::string> args) {
  static const CommandHelp kHelp{
      "history",
      "[--since DURATION] [--resolution auto|fine|coarse] [--points N] [--no-peers]",
      "Shows the daemon's history: holdout and test accuracy, loss, steps, live peers,\n"
      "updates and drops of this node, one line per sample, and a sparkline of each trusted\n"
      "peer's announced accuracy. The daemon keeps one sample every 5 s for 10 minutes and\n"
      "one a minute for 24 hours, across restarts. DURATION is seconds, or a number with s,\n"
      "m or h (default 1h). --json prints the daemon's columns as they are.",
      {{"since", "DURATION", "how far back (at most 24h)"},
       {"resolution", "RES", "auto (default), fine (5 s) or coarse (1 min)"},
       {"points", "N", "at most N samples, evenly thinned (1..10000)"},
       {"no-peers", nullptr, "leave the peers out"}}};
  ParsedArgs a;
  if (auto rc = ParseCommandArgs(ctx, kHelp, args, &a)) return *rc;
  nlohmann::json req = {{"cmd", "history"}};
  if (a.Has("since")) {
    const std::string s = a.Get("since");
    size_t used = 0;
    double v = -1;
    try {
      v = std::stod(s, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    const std::string unit = s.substr(used);
    const double scale = unit.empty() || unit == "s" ? 1
                         : unit == "m"               ? 60
                         : unit == "h"               ? 3600
                                                     : 0;
    if (used == 0 || scale == 0 || !(v > 0)) {
      *ctx.err << "dustctl history: --since " << s << ": expected a duration like 600, 10m or 2h\n";
      return kExitUsage;
    }
    // The daemon checks the range (at most a day) and says so.
    req["since_s"] = static_cast<int64_t>(std::ceil(v * scale));
  }
  if (a.Has("resolution")) req["resolution"] = a.Get("resolution");
  if (a.Has("points")) {
    try {
      req["max_points"] = std::stoll(a.Get("points"));
    } catch (const std::exception&) {
      *ctx.err << "dustctl history: --points " << a.Get("points") << ": expected a number\n";
      return kExitUsage;
    }
  }
  if (a.Has("no-peers")) req["peers"] = false;
  return RequestAndPrint(
      ctx, req, [&](const nlohmann::json& result) { *ctx.out << FormatHistory(result, ctx.utf8); });
}

int CmdPeers(Context& ctx, std::span<const std::string> args) {
  static const CommandHelp kHelp{
      "peers",
      "",
      "Lists every peer heard from (trusted or not) and every trusted peer (even if never\n"
      "heard from): address, when last seen, updates accepted and rejected, the accuracy\n"
      "and steps the peer announced about itself (unverified), and every endpoint known for\n"
      "it with where it came from (uri, certificate, exchange, roaming, seen; '*': the daemon\n"
      "sends to it by unicast).",
      {}};
  return RunPlainCommand(ctx, args, kHelp, "peers", [&](const nlohmann::json& result) {
    *ctx.out << FormatPeers(result, ctx.now_ms);
  });
}

}  // namespace dust::ctl
