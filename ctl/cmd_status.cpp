// dustctl status, dustctl peers.
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
      "reason, the data directory and the last checkpoint. --json prints everything the\n"
      "daemon reports.",
      {}};
  return RunPlainCommand(ctx, args, kHelp, "status", [&](const nlohmann::json& result) {
    *ctx.out << FormatStatus(result, ctx.now_ms);
  });
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
