// Command-line parsing shared by the dust-bench subcommands and dust-sim (Boost.Program_options),
// so that --help, unknown options and missing required ones behave the same in every program.
#pragma once

#include <boost/program_options.hpp>
#include <exception>
#include <iostream>
#include <optional>
#include <string_view>

namespace dust::bench {

// How a program reports a command line it cannot use: "PROGRAM: what was wrong", then its
// options. The exit code and the blank line are per program because scripts and docs already
// see them (dust-bench train exits 2 on a bad command line, the others 1).
struct UsageError {
  std::string_view program;  // "dust-bench split"
  int exit_code = 1;
  bool blank_line = false;  // a blank line between the message and the option list
};

// Parses argv into *vm against `desc`. --help is honoured before required options are checked
// and prints `desc` on stdout; a bad or missing option prints as `usage` says on stderr.
// Returns the exit code to stop with (0 after --help, usage.exit_code after a bad command line),
// or std::nullopt when the program should run:
//   if (auto rc = ParseCommandLine(argc, argv, desc, {"dust-bench split"}, &vm)) return *rc;
inline std::optional<int> ParseCommandLine(int argc, char** argv,
                                           const boost::program_options::options_description& desc,
                                           const UsageError& usage,
                                           boost::program_options::variables_map* vm) {
  namespace po = boost::program_options;
  try {
    po::store(po::parse_command_line(argc, argv, desc), *vm);
    if (vm->count("help")) {
      std::cout << desc << "\n";
      return 0;
    }
    po::notify(*vm);
  } catch (const std::exception& e) {
    std::cerr << usage.program << ": " << e.what() << "\n"
              << (usage.blank_line ? "\n" : "") << desc << "\n";
    return usage.exit_code;
  }
  return std::nullopt;
}

}  // namespace dust::bench
