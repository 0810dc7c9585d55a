// dustctl watch: follows the daemon's events (docs/control-protocol.md, "watch") and prints
// them as they come, one line each, until interrupted (or --count events).
#include <cstdlib>
#include <ostream>

#include "commands.h"
#include "format.h"

namespace dust::ctl {

int CmdWatch(Context& ctx, std::span<const std::string> args) {
  static const CommandHelp kHelp{
      "watch",
      "[--events KIND,...] [--count N]",
      "Prints the daemon's events as they happen, one line each, until interrupted: model\n"
      "(changed: steps, accuracy, content hash; at most one per evaluation), peer (seen,\n"
      "stale, back), trust (added, renamed, removed), data (rescanned), checkpoint (written)\n"
      "and export (live model files written). A line 'missed N events' means this client\n"
      "read too slowly and the daemon dropped N of its events. --json prints each event as\n"
      "the daemon sends it (JSON lines, with seq and time_ms).",
      {{"events", "KINDS", "comma-separated: model, peer, trust, data, checkpoint, export"},
       {"count", "N", "exit after N events"}}};
  ParsedArgs a;
  if (auto rc = ParseCommandArgs(ctx, kHelp, args, &a)) return *rc;
  nlohmann::json request = {{"cmd", "watch"}};
  if (a.Has("events")) {
    nlohmann::json kinds = nlohmann::json::array();
    std::string list = a.Get("events");
    for (size_t start = 0; start <= list.size();) {
      size_t comma = list.find(',', start);
      if (comma == std::string::npos) comma = list.size();
      if (comma > start) kinds.push_back(list.substr(start, comma - start));
      start = comma + 1;
    }
    request["events"] = kinds;  // the daemon names a kind it does not know
  }
  long long count = -1;
  if (a.Has("count")) {
    // A copy that outlives strtol's end pointer (Get returns by value).
    const std::string text = a.Get("count");
    char* end = nullptr;
    count = std::strtoll(text.c_str(), &end, 10);
    if (text.empty() || *end != '\0' || count < 1) {
      *ctx.err << "dustctl watch: --count " << a.Get("count") << ": expected a positive number\n";
      return kExitUsage;
    }
  }
  long long seen = 0;
  int rc = kExitOk;
  auto result = ctx.Stream(
      request,
      [&](const std::string& line) {
        nlohmann::json event = nlohmann::json::parse(line, nullptr, false);
        if (ctx.json) {
          *ctx.out << line << "\n";
        } else {
          *ctx.out << FormatWatchEvent(event);
        }
        ctx.out->flush();  // a pipe reader sees each event when it happens
        // A "missed" notice is not an event of the daemon: it does not count.
        if (JsonString(event, "event", "") != "missed") ++seen;
        return count < 0 || seen < count;
      },
      &rc);
  if (!result) return rc;
  if (count < 0 || seen < count) {
    *ctx.err << "dustctl watch: the daemon closed the connection (stopping?)\n";
    return kExitUnreachable;
  }
  return kExitOk;
}

}  // namespace dust::ctl
