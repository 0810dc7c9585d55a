// dustctl top: the node and its peers, redrawn every second like top(1), from the daemon's
// status and peers results (FormatTop draws a frame). On a terminal it takes the alternate
// screen, hides the cursor and reads keys without echo; q or Ctrl-C (or SIGTERM, SIGHUP) ends
// it and puts the terminal back as it was. Without a terminal, or with --once, it prints one
// frame and exits, so scripts and tests can read it.
#include <poll.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <optional>
#include <ostream>
#include <sstream>
#include <string>

#include "commands.h"
#include "format.h"

namespace dust::ctl {
namespace {

volatile std::sig_atomic_t g_top_signal = 0;
void OnTopSignal(int sig) { g_top_signal = sig; }

int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The terminal in top's mode for as long as it lives: keys unbuffered and not echoed (Ctrl-C
// still signals), the alternate screen, no cursor. INT, TERM and HUP are blocked except while
// waiting for a key (WaitForKey), so they interrupt the wait and never a request half-way; the
// destructor restores the screen, the terminal's settings and the signal mask and handlers.
class TopTerminal {
 public:
  TopTerminal() {
    ::tcgetattr(STDIN_FILENO, &m_saved);
    termios raw = m_saved;
    raw.c_lflag &= ~static_cast<tcflag_t>(ICANON | ECHO);
    raw.c_cc[VMIN] = 1;
    raw.c_cc[VTIME] = 0;
    ::tcsetattr(STDIN_FILENO, TCSANOW, &raw);
    struct sigaction sa {};
    sa.sa_handler = OnTopSignal;
    sigemptyset(&sa.sa_mask);  // no SA_RESTART: the signal ends the wait
    sigset_t block;
    sigemptyset(&block);
    for (int i = 0; i < 3; ++i) {
      ::sigaction(kSignals[i], &sa, &m_old_actions[i]);
      sigaddset(&block, kSignals[i]);
    }
    ::sigprocmask(SIG_BLOCK, &block, &m_old_mask);
    Write("\x1b[?1049h\x1b[?25l");
  }
  ~TopTerminal() {
    Write("\x1b[?25h\x1b[?1049l");
    ::tcsetattr(STDIN_FILENO, TCSANOW, &m_saved);
    for (int i = 0; i < 3; ++i) ::sigaction(kSignals[i], &m_old_actions[i], nullptr);
    ::sigprocmask(SIG_SETMASK, &m_old_mask, nullptr);
  }
  TopTerminal(const TopTerminal&) = delete;
  TopTerminal& operator=(const TopTerminal&) = delete;

  // Waits up to `ms` for input with the signals unblocked. False when the user quits: q, or a
  // signal (Ctrl-C); true when the time is up.
  bool WaitForKey(int64_t ms) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (g_top_signal == 0) {
      auto left = std::chrono::duration_cast<std::chrono::nanoseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return true;
      timespec ts{static_cast<time_t>(left.count() / 1000000000),
                  static_cast<long>(left.count() % 1000000000)};
      pollfd fd{STDIN_FILENO, POLLIN, 0};
      int n = ::ppoll(&fd, 1, &ts, &m_old_mask);
      if (n > 0) {
        char keys[64];
        ssize_t got = ::read(STDIN_FILENO, keys, sizeof(keys));
        if (got <= 0) return false;  // the terminal went away
        for (ssize_t i = 0; i < got; ++i) {
          if (keys[i] == 'q' || keys[i] == 'Q') return false;
        }
      }
    }
    return false;
  }

  static void Write(const std::string& s) {
    for (size_t done = 0; done < s.size();) {
      ssize_t n = ::write(STDOUT_FILENO, s.data() + done, s.size() - done);
      if (n <= 0) return;
      done += static_cast<size_t>(n);
    }
  }

 private:
  static constexpr int kSignals[3] = {SIGINT, SIGTERM, SIGHUP};
  termios m_saved{};
  struct sigaction m_old_actions[3]{};
  sigset_t m_old_mask{};
};

}  // namespace

int CmdTop(Context& ctx, std::span<const std::string> args) {
  static const CommandHelp kHelp{
      "top",
      "[--once] [--interval SECONDS]",
      "Shows this node and its peers, redrawn every second like top: the node's state,\n"
      "accuracy, steps and live peers, then one line per peer with its state (live, stale,\n"
      "never heard), when it was last heard, the accuracy it announced, its updates\n"
      "accepted and rejected, and updates accepted per second. q or Ctrl-C quits. When\n"
      "standard input or output is not a terminal, or with --once, prints one frame and\n"
      "exits (--json: the status and peers results it is drawn from).",
      {{"once", nullptr, "print one frame and exit"},
       {"interval", "SECONDS", "between frames (default 1, at least 0.1)"}}};
  ParsedArgs a;
  if (auto rc = ParseCommandArgs(ctx, kHelp, args, &a)) return *rc;
  double interval = 1.0;
  if (a.Has("interval")) {
    // A copy that outlives strtol's end pointer (Get returns by value).
    const std::string text = a.Get("interval");
    char* end = nullptr;
    interval = std::strtod(text.c_str(), &end);
    if (text.empty() || *end != '\0' || !(interval >= 0.1 && interval <= 3600)) {
      *ctx.err << "dustctl top: --interval " << a.Get("interval")
               << ": expected seconds from 0.1 to 3600\n";
      return kExitUsage;
    }
  }
  int rc = kExitOk;
  auto fetch = [&](const Context& c) -> std::optional<std::pair<nlohmann::json, nlohmann::json>> {
    auto status = c.Request({{"cmd", "status"}}, &rc);
    if (!status) return std::nullopt;
    auto peers = c.Request({{"cmd", "peers"}}, &rc);
    if (!peers) return std::nullopt;
    return std::make_pair(std::move(*status), std::move(*peers));
  };

  if (a.Has("once") || !ctx.terminal || ctx.json) {
    auto frame = fetch(ctx);
    if (!frame) return rc;
    if (ctx.json) {
      ctx.PrintJson({{"status", frame->first}, {"peers", frame->second}});
    } else {
      *ctx.out << FormatTop(frame->first, frame->second, nullptr, 0, WallMs());
    }
    return kExitOk;
  }

  // Errors wait until the terminal is back, or they would vanish with the alternate screen.
  std::ostringstream errors;
  Context quiet = ctx;
  quiet.err = &errors;
  g_top_signal = 0;
  {
    TopTerminal term;
    nlohmann::json previous;
    auto previous_at = std::chrono::steady_clock::now();
    do {
      auto frame = fetch(quiet);
      if (!frame) break;
      auto now = std::chrono::steady_clock::now();
      double seconds = std::chrono::duration<double>(now - previous_at).count();
      std::string text = FormatTop(frame->first, frame->second, previous, seconds, WallMs());
      TopTerminal::Write("\x1b[H\x1b[J" + text + "\nq: quit\n");
      previous = std::move(frame->second);
      previous_at = now;
    } while (term.WaitForKey(std::llround(interval * 1000)));
  }
  *ctx.err << errors.str();
  return rc;
}

}  // namespace dust::ctl
