// The subcommands of dustctl, one function each (listed with their one-line help in the table
// in main.cpp). Each parses its own arguments with ParseCommandArgs (so each has --help and
// accepts --json, --socket, --timeout), talks to the daemon through ctx.Request and returns an
// exit code from cli.h.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <span>
#include <string>

#include "cli.h"

namespace dust::ctl {

// Prints a daemon result for people (the output without --json) to ctx.out.
using PrintResult = std::function<void(const nlohmann::json& result)>;

// The tail most commands share: sends `request` and prints the daemon's result, as JSON with
// --json, else through `print`. Returns kExitOk, or Context::Request's exit code after it has
// printed why the request failed (then `print` is not called).
int RequestAndPrint(Context& ctx, const nlohmann::json& request, const PrintResult& print);

// A whole command that takes only the common options: parses `args` against `help` (so --help
// and usage errors behave as everywhere), then RequestAndPrint of {"cmd": cmd}.
int RunPlainCommand(Context& ctx, std::span<const std::string> args, const CommandHelp& help,
                    const char* cmd, const PrintResult& print);

int CmdStatus(Context& ctx, std::span<const std::string> args);
int CmdPeers(Context& ctx, std::span<const std::string> args);
int CmdTrustShow(Context& ctx, std::span<const std::string> args);
int CmdTrustAdd(Context& ctx, std::span<const std::string> args);
int CmdTrustList(Context& ctx, std::span<const std::string> args);
int CmdTrustRemove(Context& ctx, std::span<const std::string> args);
int CmdModelExport(Context& ctx, std::span<const std::string> args);
int CmdEvaluate(Context& ctx, std::span<const std::string> args);
int CmdPause(Context& ctx, std::span<const std::string> args);
int CmdResume(Context& ctx, std::span<const std::string> args);
int CmdMetrics(Context& ctx, std::span<const std::string> args);
int CmdCheckpoint(Context& ctx, std::span<const std::string> args);
int CmdRescan(Context& ctx, std::span<const std::string> args);

}  // namespace dust::ctl
