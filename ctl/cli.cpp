#include "cli.h"

#include <ostream>
#include <sstream>

namespace dust::ctl {
namespace {

const std::vector<OptionSpec>& CommonOptions() {
  static const std::vector<OptionSpec> kCommon = {
      {"json", nullptr, "print the daemon's complete result as JSON"},
      {"socket", "PATH", "control socket (default: $DUST_SOCKET, else /run/dust/dustd.sock)"},
      {"timeout", "MS", "give up on the daemon after MS milliseconds (default 10000)"},
      {"help", nullptr, "show this help"},
  };
  return kCommon;
}

const OptionSpec* FindOption(const std::vector<OptionSpec>& specs, const std::string& name) {
  for (const OptionSpec& s : specs) {
    if (name == s.name) return &s;
  }
  return nullptr;
}

void AppendOptionLines(std::ostringstream& os, const std::vector<OptionSpec>& specs) {
  for (const OptionSpec& s : specs) {
    std::string left = s.short_name != 0 ? std::string("  -") + s.short_name + ", --" + s.name
                                         : std::string("  --") + s.name;
    if (s.value_name != nullptr) left += std::string(" ") + s.value_name;
    os << left;
    if (left.size() < 24) {
      os << std::string(24 - left.size(), ' ');
    } else {
      os << "\n" << std::string(24, ' ');
    }
    os << s.help << "\n";
  }
}

// Splits "name=value" (an option word without its dashes) into *name and the returned value;
// std::nullopt when the word has no '='.
std::optional<std::string> SplitInlineValue(std::string* name) {
  size_t eq = name->find('=');
  if (eq == std::string::npos) return std::nullopt;
  std::string value = name->substr(eq + 1);
  name->resize(eq);
  return value;
}

// The value of `spec`, an option that takes one, found at args[*i]: the inline value if there is
// one, else the next word (consumed: *i moves past it). std::nullopt with *error set when the
// command line ends first.
std::optional<std::string> TakeValue(const OptionSpec& spec,
                                     const std::optional<std::string>& inline_value,
                                     std::span<const std::string> args, size_t* i,
                                     std::string* error) {
  if (inline_value) return inline_value;
  if (*i + 1 < args.size()) return args[++*i];
  *error = std::string("--") + spec.name + " needs a value (" + spec.value_name + ")";
  return std::nullopt;
}

// Applies one common option to the context; false with *error set if its value is bad.
bool ApplyCommon(Context& ctx, const std::string& name, const std::string& value,
                 std::string* error) {
  if (name == "json") {
    ctx.json = true;
  } else if (name == "socket") {
    if (value.empty()) {
      *error = "--socket needs a non-empty path";
      return false;
    }
    ctx.socket_path = value;
  } else if (name == "timeout") {
    char* end = nullptr;
    long ms = std::strtol(value.c_str(), &end, 10);
    if (value.empty() || *end != '\0' || ms <= 0 || ms > 3600 * 1000) {
      *error = "--timeout " + value + ": expected milliseconds in [1, 3600000]";
      return false;
    }
    ctx.timeout_ms = static_cast<int>(ms);
    ctx.timeout_set = true;
  }
  return true;
}

std::string ProgramUsage(std::span<const Command> table) {
  std::ostringstream os;
  os << "Usage: dustctl [--socket PATH] [--json] [--timeout MS] COMMAND [ARGS...]\n\n"
     << "Administers a running dustd over its control socket.\n\nCommands:\n";
  for (const Command& c : table) {
    std::string name = c.name;
    os << "  " << name << std::string(name.size() < 16 ? 16 - name.size() : 1, ' ') << c.summary
       << "\n";
  }
  os << "\nCommon options (before or after the command):\n";
  AppendOptionLines(os, CommonOptions());
  os << "\nWith no command, runs `status`. `dustctl COMMAND --help` describes a command.\n"
     << "Exit codes: 0 ok, 1 usage or bad input, 2 daemon unreachable, 3 daemon refused,\n"
     << "4 local failure (e.g. cannot write the output file).\n";
  return os.str();
}

}  // namespace

std::optional<nlohmann::json> Context::Request(nlohmann::json request, int* exit_code) const {
  ClientOptions options;
  options.socket_path = socket_path;
  options.timeout_ms = timeout_ms;
  return Answer(Call(options, std::move(request)), exit_code);
}

std::optional<nlohmann::json> Context::RequestLine(const std::string& line,
                                                   const nlohmann::json& id, int* exit_code) const {
  ClientOptions options;
  options.socket_path = socket_path;
  options.timeout_ms = timeout_ms;
  return Answer(CallLine(options, line, id), exit_code);
}

std::optional<nlohmann::json> Context::Stream(
    nlohmann::json request, const std::function<bool(const std::string& line)>& on_line,
    int* exit_code) const {
  ClientOptions options;
  options.socket_path = socket_path;
  options.timeout_ms = timeout_ms;
  return Answer(ctl::Stream(options, std::move(request), on_line), exit_code);
}

std::optional<nlohmann::json> Context::Answer(CallResult r, int* exit_code) const {
  if (r.ok()) {
    *exit_code = kExitOk;
    return std::move(r.result);
  }
  if (r.error == CallError::kUnreachable) {
    *err << "dustctl: cannot talk to dustd at " << socket_path << ": " << r.message << "\n"
         << "hint: is dustd running? are you in the dust group? (--socket PATH or DUST_SOCKET "
            "select another socket)\n";
    *exit_code = kExitUnreachable;
  } else {
    *err << "dustctl: dustd refused: " << r.message;
    if (!r.error_code.empty()) *err << " (" << r.error_code << ")";
    *err << "\n";
    if (r.error_code == "permission_denied") {
      *err << "hint: the control socket admits root, the daemon's user and its control group; "
              "are you in the dust group?\n";
    }
    *exit_code = kExitRefused;
  }
  return std::nullopt;
}

void Context::PrintJson(const nlohmann::json& value) const {
  *out << value.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
}

std::string FormatCommandHelp(const CommandHelp& help) {
  std::ostringstream os;
  os << "Usage: dustctl " << help.name;
  if (help.usage != nullptr && *help.usage != '\0') os << " " << help.usage;
  os << "\n\n" << help.description << "\n";
  if (!help.options.empty()) {
    os << "\nOptions:\n";
    AppendOptionLines(os, help.options);
  }
  os << "\nCommon options:\n";
  AppendOptionLines(os, CommonOptions());
  return os.str();
}

std::vector<std::string> ParsedArgs::GetAll(const std::string& name) const {
  std::vector<std::string> out;
  auto it = values.find(name);
  if (it == values.end()) return out;
  size_t start = 0;
  while (true) {
    size_t nl = it->second.find('\n', start);
    out.push_back(it->second.substr(start, nl == std::string::npos ? nl : nl - start));
    if (nl == std::string::npos) return out;
    start = nl + 1;
  }
}

std::optional<int> ParseCommandArgs(Context& ctx, const CommandHelp& help,
                                    std::span<const std::string> args, ParsedArgs* parsed) {
  auto usage_error = [&](const std::string& message) -> std::optional<int> {
    *ctx.err << "dustctl " << help.name << ": " << message << "\n"
             << "Usage: dustctl " << help.name << " " << help.usage << "\n"
             << "(dustctl " << help.name << " --help for details)\n";
    return kExitUsage;
  };
  bool only_positional = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (only_positional || a.size() < 2 || a[0] != '-' || a == "-") {
      parsed->positional.push_back(a);
      continue;
    }
    if (a == "--") {
      only_positional = true;
      continue;
    }
    if (a == "-h") {
      *ctx.out << FormatCommandHelp(help);
      return kExitOk;
    }
    std::string name;
    if (a.rfind("--", 0) == 0) {
      name = a.substr(2);
    } else {
      // A short option: "-o FILE" (no bundling, no "-oFILE").
      for (const OptionSpec& s : help.options) {
        if (a.size() == 2 && s.short_name == a[1]) name = s.name;
      }
      if (name.empty()) return usage_error("unknown option " + a);
    }
    std::optional<std::string> inline_value = SplitInlineValue(&name);
    const OptionSpec* spec = FindOption(help.options, name);
    bool common = false;
    if (spec == nullptr) {
      spec = FindOption(CommonOptions(), name);
      common = spec != nullptr;
    }
    if (spec == nullptr) return usage_error("unknown option --" + name);
    std::string value;
    std::string error;
    if (spec->value_name != nullptr) {
      std::optional<std::string> taken = TakeValue(*spec, inline_value, args, &i, &error);
      if (!taken) return usage_error(error);
      value = std::move(*taken);
    } else if (inline_value) {
      return usage_error("--" + name + " takes no value");
    }
    if (common) {
      if (name == "help") {
        *ctx.out << FormatCommandHelp(help);
        return kExitOk;
      }
      if (!ApplyCommon(ctx, name, value, &error)) return usage_error(error);
      continue;
    }
    if (parsed->values.count(name) != 0) {
      if (!spec->repeatable) return usage_error("--" + name + " given twice");
      parsed->values[name] += "\n" + value;
      continue;
    }
    parsed->values[name] = value;
  }
  if (parsed->positional.size() < help.min_positional) {
    return usage_error("missing argument");
  }
  if (parsed->positional.size() > help.max_positional) {
    return usage_error("unexpected argument '" + parsed->positional[help.max_positional] + "'");
  }
  return std::nullopt;
}

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

int RunDustctl(Context& ctx, std::span<const Command> table, std::span<const std::string> args) {
  size_t i = 0;
  // Global options before the command word.
  for (; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a.empty() || a[0] != '-') break;
    if (a == "--help" || a == "-h") {
      *ctx.out << ProgramUsage(table);
      return kExitOk;
    }
    if (a == "--version" || a == "-V") {
      *ctx.out << "dustctl " << DUST_CTL_VERSION << "\n";
      return kExitOk;
    }
    std::string name = a.rfind("--", 0) == 0 ? a.substr(2) : a;
    std::optional<std::string> inline_value = SplitInlineValue(&name);
    const OptionSpec* spec = FindOption(CommonOptions(), name);
    if (spec == nullptr || a.rfind("--", 0) != 0) {
      *ctx.err << "dustctl: unknown option " << a << "\n" << ProgramUsage(table);
      return kExitUsage;
    }
    // A flag given a value here ("--json=x") has always been accepted, the value ignored.
    std::string value;
    std::string error;
    if (spec->value_name != nullptr) {
      std::optional<std::string> taken = TakeValue(*spec, inline_value, args, &i, &error);
      if (!taken) {
        *ctx.err << "dustctl: " << error << "\n";
        return kExitUsage;
      }
      value = std::move(*taken);
    }
    if (!ApplyCommon(ctx, name, value, &error)) {
      *ctx.err << "dustctl: " << error << "\n";
      return kExitUsage;
    }
  }
  std::span<const std::string> rest = args.subspan(i);
  static const std::string kDefaultCommand = "status";
  if (rest.empty()) rest = std::span<const std::string>(&kDefaultCommand, 1);
  if (rest[0] == "help") {
    if (rest.size() == 1) {
      *ctx.out << ProgramUsage(table);
      return kExitOk;
    }
    // "dustctl help trust add" -> "dustctl trust add --help"
    static const std::string kHelpFlag = "--help";
    std::vector<std::string> words(rest.begin() + 1, rest.end());
    words.push_back(kHelpFlag);
    return RunDustctl(ctx, table, words);
  }

  // Two-word commands ("trust add") first, then one word.
  const Command* found = nullptr;
  size_t words = 0;
  if (rest.size() >= 2) {
    std::string two = rest[0] + " " + rest[1];
    for (const Command& c : table) {
      if (two == c.name) {
        found = &c;
        words = 2;
      }
    }
  }
  if (found == nullptr) {
    for (const Command& c : table) {
      if (rest[0] == c.name) {
        found = &c;
        words = 1;
      }
    }
  }
  if (found == nullptr) {
    // "dustctl trust" or "dustctl trust bogus": list that group's commands.
    std::string prefix = rest[0] + " ";
    std::ostringstream group;
    for (const Command& c : table) {
      if (std::string(c.name).rfind(prefix, 0) == 0) {
        group << "  dustctl " << c.name << "  -- " << c.summary << "\n";
      }
    }
    if (!group.str().empty()) {
      if (rest.size() >= 2) {
        *ctx.err << "dustctl: unknown command '" << rest[0] << " " << rest[1] << "'\n";
      } else {
        *ctx.err << "dustctl: '" << rest[0] << "' needs a subcommand\n";
      }
      *ctx.err << group.str();
    } else {
      *ctx.err << "dustctl: unknown command '" << rest[0] << "' (dustctl --help lists them)\n";
    }
    return kExitUsage;
  }
  ctx.socket_path = ResolveSocketPath(ctx.socket_path);
  return found->run(ctx, rest.subspan(words));
}

}  // namespace dust::ctl
