// dustctl: administers a running dustd over its control socket.
//
// Like wireguard-tools' wg.c this file is only the table of subcommands; each is its own
// function (commands.h) with its own --help. Exit codes are in cli.h.
#include <fcntl.h>
#include <langinfo.h>
#include <unistd.h>

#include <chrono>
#include <clocale>
#include <cstdio>
#include <exception>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "cli.h"
#include "commands.h"

namespace {

using namespace dust::ctl;

constexpr Command kCommands[] = {
    {"status", CmdStatus, "show this node: model, accuracy, training, peers, traffic"},
    {"peers", CmdPeers, "list peers seen and trusted, with last seen and updates"},
    {"trust show", CmdTrustShow, "show this node's ID, pairing URI and QR code"},
    {"trust add", CmdTrustAdd, "trust a peer by pairing URI, node ID or QR image"},
    {"trust list", CmdTrustList, "list trusted peers"},
    {"trust remove", CmdTrustRemove, "stop trusting a peer"},
    {"fleet init", CmdFleetInit, "create a fleet signing key (no daemon needed)"},
    {"fleet enroll", CmdFleetEnroll, "sign a device's fleet certificate (no daemon needed)"},
    {"fleet revoke", CmdFleetRevoke, "sign a new revocation list (no daemon needed)"},
    {"fleet install", CmdFleetInstall, "hand a certificate or revocation list to the daemon"},
    {"model export", CmdModelExport, "export the model as onnx, safetensors, c-header or json"},
    {"evaluate", CmdEvaluate, "evaluate the model on a directory of IDX/CSV files"},
    {"predict", CmdPredict, "classify the rows of a CSV, IDX or PNG file with the model"},
    {"pause", CmdPause, "pause local training (gossip goes on)"},
    {"resume", CmdResume, "resume local training"},
    {"metrics", CmdMetrics, "print Prometheus metrics"},
    {"checkpoint", CmdCheckpoint, "write the model checkpoint now"},
    {"rescan", CmdRescan, "rescan the data directory now"},
    {"watch", CmdWatch, "print the daemon's events as they happen (model, peers, trust, ...)"},
    {"top", CmdTop, "show this node and its peers, redrawn every second"},
    {"history", CmdHistory, "accuracy, traffic and drops over time, of this node and its peers"},
    {"privacy plan", CmdPrivacyPlan, "the dp-noise-multiplier that spends a given epsilon"},
    {"privacy epsilon", CmdPrivacyEpsilon, "the epsilon a noise multiplier spends over T steps"},
};

// Asks on the controlling terminal, not stdin/stdout, so `dustctl trust add URI --json > f`
// still asks the person at the keyboard. No terminal: no answer, i.e. "no".
bool ConfirmOnTerminal(const std::string& prompt) {
  int fd = ::open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    std::cerr << "dustctl: no terminal to ask for confirmation on\n";
    return false;
  }
  (void)!::write(fd, prompt.data(), prompt.size());
  std::string answer;
  char c = 0;
  while (::read(fd, &c, 1) == 1 && c != '\n') {
    if (answer.size() < 16) answer.push_back(c);
  }
  ::close(fd);
  return answer == "y" || answer == "Y" || answer == "yes" || answer == "YES" || answer == "Yes";
}

}  // namespace

int main(int argc, char** argv) {
  try {
    std::vector<std::string> args(argv + 1, argv + argc);
    Context ctx;
    ctx.out = &std::cout;
    ctx.err = &std::cerr;
    ctx.confirm = ConfirmOnTerminal;
    ctx.terminal = ::isatty(STDIN_FILENO) == 1 && ::isatty(STDOUT_FILENO) == 1;
    // Only the character set is taken from the environment (numbers stay in the C locale).
    std::setlocale(LC_CTYPE, "");
    ctx.utf8 = std::string_view(nl_langinfo(CODESET)) == "UTF-8";
    ctx.now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count();
    int rc = RunDustctl(ctx, kCommands, args);
    std::cout.flush();
    if (!std::cout) {
      std::cerr << "dustctl: cannot write to standard output\n";
      return kExitLocal;
    }
    return rc;
  } catch (const std::exception& e) {
    std::cerr << "dustctl: internal error: " << e.what() << "\n";
    return kExitLocal;
  }
}
