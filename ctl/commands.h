// The subcommands of dustctl, one function each (listed with their one-line help in the table
// in main.cpp). Each parses its own arguments with ParseCommandArgs (so each has --help and
// accepts --json, --socket, --timeout), talks to the daemon through ctx.Request (most through
// RequestAndPrint or RunPlainCommand) and returns an exit code from cli.h.
#pragma once

#include <span>
#include <string>

#include "cli.h"

namespace dust::ctl {

int CmdStatus(Context& ctx, std::span<const std::string> args);
int CmdPeers(Context& ctx, std::span<const std::string> args);
int CmdTrustShow(Context& ctx, std::span<const std::string> args);
int CmdTrustAdd(Context& ctx, std::span<const std::string> args);
int CmdTrustList(Context& ctx, std::span<const std::string> args);
int CmdTrustRemove(Context& ctx, std::span<const std::string> args);
int CmdFleetInit(Context& ctx, std::span<const std::string> args);
int CmdFleetEnroll(Context& ctx, std::span<const std::string> args);
int CmdFleetRevoke(Context& ctx, std::span<const std::string> args);
int CmdFleetInstall(Context& ctx, std::span<const std::string> args);
int CmdModelExport(Context& ctx, std::span<const std::string> args);
int CmdEvaluate(Context& ctx, std::span<const std::string> args);
int CmdPredict(Context& ctx, std::span<const std::string> args);
int CmdPause(Context& ctx, std::span<const std::string> args);
int CmdResume(Context& ctx, std::span<const std::string> args);
int CmdMetrics(Context& ctx, std::span<const std::string> args);
int CmdCheckpoint(Context& ctx, std::span<const std::string> args);
int CmdRescan(Context& ctx, std::span<const std::string> args);
int CmdWatch(Context& ctx, std::span<const std::string> args);
int CmdTop(Context& ctx, std::span<const std::string> args);
int CmdHistory(Context& ctx, std::span<const std::string> args);
int CmdPrivacyPlan(Context& ctx, std::span<const std::string> args);
int CmdPrivacyEpsilon(Context& ctx, std::span<const std::string> args);

}  // namespace dust::ctl
