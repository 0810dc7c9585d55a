#include "commands.h"

#include <ostream>

namespace dust::ctl {

int RequestAndPrint(Context& ctx, const nlohmann::json& request, const PrintResult& print) {
  int rc = kExitOk;
  auto result = ctx.Request(request, &rc);
  if (!result) return rc;
  if (ctx.json) {
    ctx.PrintJson(*result);
  } else {
    print(*result);
  }
  return kExitOk;
}

int RunPlainCommand(Context& ctx, std::span<const std::string> args, const CommandHelp& help,
                    const char* cmd, const PrintResult& print) {
  ParsedArgs a;
  if (auto rc = ParseCommandArgs(ctx, help, args, &a)) return *rc;
  return RequestAndPrint(ctx, {{"cmd", cmd}}, print);
}

}  // namespace dust::ctl
