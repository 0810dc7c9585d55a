// dust-bench: micro and macro benchmarks. Each prints progress on stderr and, as its last line
// on stdout, one JSON object with its figures (see docs/benchmarks.md).
#include <algorithm>
#include <cstdio>
#include <cstring>

#include "bench_registry.h"

namespace dust::bench {
std::vector<BenchCommand>& BenchCommands() {
  static std::vector<BenchCommand> commands;
  return commands;
}
}  // namespace dust::bench

int main(int argc, char** argv) {
  auto& commands = dust::bench::BenchCommands();
  std::sort(commands.begin(), commands.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  auto usage = [&](FILE* out) {
    std::fprintf(
        out, "usage: dust-bench COMMAND [options]   (dust-bench COMMAND --help)\n\ncommands:\n");
    for (const auto& c : commands)
      std::fprintf(out, "  %-10s %s\n", c.name.c_str(), c.help.c_str());
  };
  if (argc < 2) {
    usage(stderr);
    return 1;
  }
  if (!std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
    usage(stdout);
    return 0;
  }
  for (const auto& c : commands) {
    if (c.name == argv[1]) return c.fn(argc - 1, argv + 1);
  }
  std::fprintf(stderr, "dust-bench: unknown command '%s'\n\n", argv[1]);
  usage(stderr);
  return 1;
}
