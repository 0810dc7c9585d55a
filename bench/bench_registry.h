// dust-bench subcommands register themselves here, one per bench_*.cpp, so adding a benchmark
// never touches the others:   static const BenchRegistrar kTrain{"train", "one-line help",
// &RunTrain}; Give each file's registrar and run function names of their own (kTrain, RunTrain),
// even inside an anonymous namespace: unity builds (CI's cross builds) compile several files as
// one.
#pragma once

#include <string>
#include <vector>

namespace dust::bench {

using BenchFn = int (*)(int argc, char** argv);  // argv[0] is the subcommand name

struct BenchCommand {
  std::string name;
  std::string help;
  BenchFn fn;
};

std::vector<BenchCommand>& BenchCommands();

struct BenchRegistrar {
  BenchRegistrar(std::string name, std::string help, BenchFn fn) {
    BenchCommands().push_back({std::move(name), std::move(help), fn});
  }
};

}  // namespace dust::bench
