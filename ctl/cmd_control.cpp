// dustctl evaluate, pause, resume, metrics, checkpoint, rescan: one request each.
#include <filesystem>
#include <ostream>

#include "commands.h"
#include "format.h"

namespace dust::ctl {
namespace {

// Evaluating a large directory takes a while; unless --timeout says otherwise, wait this long.
constexpr int kEvaluateTimeoutMs = 600 * 1000;

// The human output of pause and resume.
void PrintTrainingState(const Context& ctx, const nlohmann::json& result) {
  std::string state = JsonString(result, "state", "?");
  bool changed = JsonBool(result, "changed", true);
  if (changed) {
    *ctx.out << "training " << (state == "running" ? "resumed" : state) << "\n";
  } else {
    *ctx.out << "training was already " << state << "\n";
  }
}

}  // namespace

int CmdEvaluate(Context& ctx, std::span<const std::string> args) {
  static const CommandHelp kHelp{
      "evaluate",
      "--data DIR [--split test|train|all]",
      "Evaluates the current model on the IDX/CSV files in DIR (read by the daemon, so it\n"
      "must be readable by the daemon's user; a relative DIR is made absolute here). Prints\n"
      "accuracy, mean loss and the confusion matrix. The default split is test if DIR has\n"
      "test files, else all.",
      {{"data", "DIR", "directory of IDX or CSV files", 'd'},
       {"split", "SPLIT", "test, train or all"}}};
  ParsedArgs a;
  if (auto rc = ParseCommandArgs(ctx, kHelp, args, &a)) return *rc;
  if (!a.Has("data") || a.Get("data").empty()) {
    *ctx.err << "dustctl evaluate: --data DIR is required\n";
    return kExitUsage;
  }
  nlohmann::json req = {{"cmd", "evaluate"}};
  std::error_code ec;
  std::filesystem::path dir = std::filesystem::absolute(a.Get("data"), ec);
  if (ec) {
    *ctx.err << "dustctl evaluate: " << a.Get("data") << ": " << ec.message() << "\n";
    return kExitUsage;
  }
  req["data_dir"] = dir.lexically_normal().string();
  if (a.Has("split")) {
    std::string split = a.Get("split");
    if (split != "test" && split != "train" && split != "all") {
      *ctx.err << "dustctl evaluate: --split " << split << ": expected test, train or all\n";
      return kExitUsage;
    }
    req["split"] = split;
  }
  if (!ctx.timeout_set) ctx.timeout_ms = kEvaluateTimeoutMs;
  return RequestAndPrint(
      ctx, req, [&](const nlohmann::json& result) { *ctx.out << FormatEvaluation(result); });
}

int CmdPause(Context& ctx, std::span<const std::string> args) {
  static const CommandHelp kHelp{
      "pause",
      "",
      "Stops local training. Gossip, merging of peers' updates and the control socket go on.\n"
      "Not persisted: a restarted daemon trains again.",
      {}};
  return RunPlainCommand(ctx, args, kHelp, "pause",
                         [&](const nlohmann::json& result) { PrintTrainingState(ctx, result); });
}

int CmdResume(Context& ctx, std::span<const std::string> args) {
  static const CommandHelp kHelp{"resume", "", "Resumes local training after pause.", {}};
  return RunPlainCommand(ctx, args, kHelp, "resume",
                         [&](const nlohmann::json& result) { PrintTrainingState(ctx, result); });
}

int CmdMetrics(Context& ctx, std::span<const std::string> args) {
  static const CommandHelp kHelp{
      "metrics",
      "",
      "Prints the daemon's metrics in the Prometheus text exposition format (the text the\n"
      "optional HTTP endpoint serves at /metrics).",
      {}};
  return RunPlainCommand(ctx, args, kHelp, "metrics", [&](const nlohmann::json& result) {
    std::string text = JsonString(result, "text", "");
    *ctx.out << text;
    if (!text.empty() && text.back() != '\n') *ctx.out << "\n";
  });
}

int CmdCheckpoint(Context& ctx, std::span<const std::string> args) {
  static const CommandHelp kHelp{
      "checkpoint", "", "Writes the model checkpoint now and waits until it is on disk.", {}};
  return RunPlainCommand(ctx, args, kHelp, "checkpoint", [&](const nlohmann::json& result) {
    *ctx.out << "checkpoint written to " << JsonText(result, "path") << "\n";
  });
}

int CmdRescan(Context& ctx, std::span<const std::string> args) {
  static const CommandHelp kHelp{
      "rescan", "", "Rescans the data directory now (as SIGHUP and the rescan timer do).", {}};
  return RunPlainCommand(ctx, args, kHelp, "rescan", [&](const nlohmann::json& result) {
    nlohmann::json skipped =
        result.contains("files_skipped") ? result.at("files_skipped") : nlohmann::json::array();
    if (!skipped.is_array()) skipped = nlohmann::json::array();
    *ctx.out << "data: " << JsonText(result, "files_used") << " files used ("
             << JsonText(result, "files_read") << " read now), " << skipped.size() << " skipped; "
             << JsonText(result, "train_samples") << " train / "
             << JsonText(result, "holdout_samples") << " holdout samples\n"
             << FormatDataFiles(result, "");
  });
}

}  // namespace dust::ctl
