// The command-line framework of dustctl: exit codes, the per-invocation context, the table
// of subcommands, a small option parser every subcommand uses (so each has its own --help and
// they all accept the common options --json, --socket and --timeout) and the request-and-print
// sequence most of them end with.
#pragma once

#include <functional>
#include <iosfwd>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "client.h"

namespace dust::ctl {

// Exit codes (documented in docs/man/dustctl.1). Stable: scripts depend on them.
enum ExitCode : int {
  kExitOk = 0,
  kExitUsage = 1,        // bad command line or bad input (an unparsable URI, an unreadable QR)
  kExitUnreachable = 2,  // no daemon at the socket, or it did not answer with protocol JSON
  kExitRefused = 3,      // the daemon answered with an error (its message is printed)
  kExitLocal = 4,        // a local failure after the daemon answered (cannot write -o FILE)
};

// Everything a subcommand may touch: the options common to all commands, the streams, the
// daemon, the terminal. Tests build one over string streams and a fake confirmation.
struct Context {
  std::string socket_path;  // resolved (ResolveSocketPath) before a command runs
  bool json = false;
  int timeout_ms = kDefaultTimeoutMs;
  bool timeout_set = false;  // --timeout given: commands with their own default respect it
  std::ostream* out = nullptr;
  std::ostream* err = nullptr;
  // Asks the user a yes/no question; returns false for "no" and when nobody can answer.
  std::function<bool(const std::string& prompt)> confirm;
  // Milliseconds since the epoch, for "3s ago" in human output.
  int64_t now_ms = 0;
  // Standard input and output are a terminal (dustctl top redraws on it; otherwise it prints
  // one frame).
  bool terminal = false;
  // The terminal's character set is UTF-8 (the locale says so): sparklines use block
  // characters, else an ASCII ramp.
  bool utf8 = false;

  // Sends a request to the daemon. On failure prints the reason to *err (with the socket path
  // and a hint when unreachable) and stores the exit code in *exit_code.
  std::optional<nlohmann::json> Request(nlohmann::json request, int* exit_code) const;
  // Request for a streaming command (watch, client.h Stream): `on_line` gets every line after
  // the reply until the daemon closes the connection or `on_line` returns false; then returns
  // the reply's result (failures as Request reports them).
  std::optional<nlohmann::json> Stream(nlohmann::json request,
                                       const std::function<bool(const std::string& line)>& on_line,
                                       int* exit_code) const;
  // What Request and Stream do with the outcome: the result, or the failure printed.
  std::optional<nlohmann::json> Answer(CallResult r, int* exit_code) const;
  // Request with the request given as a line of JSON text whose "id" is `id` (CallLine).
  std::optional<nlohmann::json> RequestLine(const std::string& line, const nlohmann::json& id,
                                            int* exit_code) const;
  // Prints `value` as indented JSON followed by a newline.
  void PrintJson(const nlohmann::json& value) const;
};

// An option a subcommand accepts, besides the common ones.
struct OptionSpec {
  const char* name;        // long name without "--"
  const char* value_name;  // nullptr for a flag; otherwise shown in help ("FILE")
  const char* help;
  char short_name = 0;  // e.g. 'o' for -o; 0 for none
  // May be given more than once: ParsedArgs::values holds the values joined by '\n'
  // (ParsedArgs::GetAll splits them).
  bool repeatable = false;
};

struct ParsedArgs {
  std::map<std::string, std::string> values;  // option -> value ("" for flags)
  std::vector<std::string> positional;
  bool Has(const std::string& name) const { return values.count(name) != 0; }
  std::string Get(const std::string& name, const std::string& fallback = "") const {
    auto it = values.find(name);
    return it == values.end() ? fallback : it->second;
  }
  // Every value of a repeatable option, in the order given.
  std::vector<std::string> GetAll(const std::string& name) const;
};

// What a subcommand says about itself: "trust add", the usage line after the name, a
// paragraph, its own options, and how many positional arguments it takes.
struct CommandHelp {
  const char* name;
  const char* usage;  // e.g. "[--yes] (URI | NODE-ID PUBLIC-KEY | --qr-image FILE)"
  const char* description;
  std::vector<OptionSpec> options;
  size_t min_positional = 0;
  size_t max_positional = 0;
};

// Parses `args` (the words after the subcommand's name) against help.options plus the
// common options, which it applies to `ctx`. Returns an exit code when the command should stop
// at once (0 after printing --help, kExitUsage after printing the error and the usage line),
// std::nullopt when it should run.
std::optional<int> ParseCommandArgs(Context& ctx, const CommandHelp& help,
                                    std::span<const std::string> args, ParsedArgs* parsed);
std::string FormatCommandHelp(const CommandHelp& help);

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

using CommandFn = int (*)(Context& ctx, std::span<const std::string> args);

struct Command {
  const char* name;  // one or two words: "status", "trust add"
  CommandFn run;
  const char* summary;
};

// The whole program minus process concerns: global options before the command word, the
// lookup in `table` (listed in that order by --help; two-word names like "trust add" win over
// one-word ones), dispatch; returns the exit code. The table itself lives in main.cpp.
int RunDustctl(Context& ctx, std::span<const Command> table, std::span<const std::string> args);

}  // namespace dust::ctl
