// dustctl privacy plan / privacy epsilon: the accountant (dust/ml/privacy.h) on the command
// line, so an operator can choose dp-noise-multiplier before starting the daemon. No daemon is
// asked: they print what the same code the daemon composes with computes.
#include <charconv>
#include <cmath>
#include <cstdio>
#include <ostream>
#include <string>

#include "commands.h"
#include "dust/ml/privacy.h"

namespace dust::ctl {
namespace {

// dustd's default batch-size (daemon/options.h); the sampling rate is batch / samples.
constexpr uint64_t kDefaultBatch = 32;
constexpr double kDefaultDelta = 1e-5;

// The whole word must be a finite number (no trailing text, no "nan").
bool ParseNumber(const std::string& s, double* out) {
  const char* end = s.data() + s.size();
  auto [p, ec] = std::from_chars(s.data(), end, *out);
  return !s.empty() && ec == std::errc() && p == end && std::isfinite(*out);
}

bool ParseCount(const std::string& s, uint64_t* out) {
  const char* end = s.data() + s.size();
  auto [p, ec] = std::from_chars(s.data(), end, *out);
  return !s.empty() && ec == std::errc() && p == end;
}

// The options both subcommands share, read and checked; false after printing why.
struct Plan {
  uint64_t samples = 0, steps = 0, batch = kDefaultBatch;
  double delta = kDefaultDelta;
  double q() const { return batch >= samples ? 1.0 : static_cast<double>(batch) / samples; }
};

bool ReadPlan(Context& ctx, const char* cmd, const ParsedArgs& a, Plan* p) {
  const auto fail = [&](const std::string& msg) {
    *ctx.err << "dustctl " << cmd << ": " << msg << "\n";
    return false;
  };
  if (!a.Has("samples") || !ParseCount(a.Get("samples"), &p->samples) || p->samples == 0) {
    return fail("--samples N is required: the node's training samples, a whole number >= 1");
  }
  if (!a.Has("steps") || !ParseCount(a.Get("steps"), &p->steps)) {
    return fail("--steps T is required: the training steps to account for, a whole number");
  }
  if (a.Has("batch") && (!ParseCount(a.Get("batch"), &p->batch) || p->batch == 0)) {
    return fail("--batch must be a whole number >= 1 (not '" + a.Get("batch") + "')");
  }
  if (a.Has("delta") &&
      (!ParseNumber(a.Get("delta"), &p->delta) || !(p->delta > 0 && p->delta < 1))) {
    return fail("--delta must be a number in (0, 1) (not '" + a.Get("delta") + "')");
  }
  return true;
}

// v rounded UP to 6 significant digits: the printed noise multiplier, used as printed, must
// still spend at most the epsilon asked for (rounding down would spend a little more).
double CeilSignificant6(double v) {
  if (!(v > 0)) return v;
  const double scale = std::pow(10.0, 5 - std::floor(std::log10(v)));
  return std::ceil(v * scale) / scale;
}

std::string Num(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*g", digits, v);
  return buf;
}

}  // namespace

int CmdPrivacyPlan(Context& ctx, std::span<const std::string> args) {
  static const CommandHelp kHelp{
      "privacy plan",
      "--epsilon E --samples N --steps T [--batch B] [--delta D]",
      "Prints the smallest dp-noise-multiplier (sigma) with which T DP-SGD steps, each drawing\n"
      "a Poisson batch of expected size B from N samples (q = B/N), spend at most epsilon E at\n"
      "delta D (Renyi DP of the sampled Gaussian, integer orders 2-256, Balle et al. 2020\n"
      "conversion: docs/privacy.md). dustd takes batches-per-round steps per round;\n"
      "B defaults to dustd's batch-size default (32), D to 1e-5. Needs no daemon.",
      {{"epsilon", "E", "the privacy budget to spend (> 0)"},
       {"samples", "N", "the node's training samples"},
       {"steps", "T", "noisy steps to plan for"},
       {"batch", "B", "expected batch size (default 32)"},
       {"delta", "D", "delta (default 1e-5; keep it well below 1/N)"}}};
  ParsedArgs a;
  if (auto rc = ParseCommandArgs(ctx, kHelp, args, &a)) return *rc;
  Plan p;
  if (!ReadPlan(ctx, "privacy plan", a, &p)) return kExitUsage;
  double epsilon = 0;
  if (!a.Has("epsilon") || !ParseNumber(a.Get("epsilon"), &epsilon) || epsilon <= 0) {
    *ctx.err << "dustctl privacy plan: --epsilon E is required, a number > 0\n";
    return kExitUsage;
  }
  const double sigma = CeilSignificant6(NoiseForEpsilon(epsilon, p.q(), p.steps, p.delta));
  if (std::isinf(sigma)) {
    *ctx.err << "dustctl privacy plan: no noise multiplier up to 1e6 spends only " << epsilon
             << " over " << p.steps << " steps\n";
    return kExitUsage;
  }
  RdpAccountant acc;
  acc.Compose(p.q(), sigma, p.steps);
  const PrivacySpent spent = acc.Spent(p.delta);
  if (ctx.json) {
    ctx.PrintJson({{"noise_multiplier", sigma},
                   {"epsilon", spent.epsilon},
                   {"order", spent.order},
                   {"sampling_rate", p.q()},
                   {"samples", p.samples},
                   {"batch", p.batch},
                   {"steps", p.steps},
                   {"delta", p.delta}});
  } else {
    *ctx.out << "dp-noise-multiplier = " << Num(sigma, 6) << "\n"
             << "spends epsilon " << Num(spent.epsilon, 4) << " at delta " << Num(p.delta, 3)
             << " over " << p.steps << " steps (q = " << p.batch << "/" << p.samples << " = "
             << Num(p.q(), 4) << ", best order " << spent.order << ")\n";
    if (p.delta >= 1.0 / static_cast<double>(p.samples)) {
      *ctx.out << "warning: delta >= 1/samples; such a delta allows revealing a whole sample\n";
    }
  }
  return kExitOk;
}

int CmdPrivacyEpsilon(Context& ctx, std::span<const std::string> args) {
  static const CommandHelp kHelp{
      "privacy epsilon",
      "--noise SIGMA --samples N --steps T [--batch B] [--delta D]",
      "Prints the epsilon that T DP-SGD steps with noise multiplier SIGMA spend (Poisson\n"
      "batches of expected size B from N samples), by both conversions: Balle et al. 2020\n"
      "(what dustd reports) and the classic rdp + log(1/delta)/(order-1). Needs no daemon.",
      {{"noise", "SIGMA", "dp-noise-multiplier (> 0)"},
       {"samples", "N", "the node's training samples"},
       {"steps", "T", "noisy steps taken"},
       {"batch", "B", "expected batch size (default 32)"},
       {"delta", "D", "delta (default 1e-5)"}}};
  ParsedArgs a;
  if (auto rc = ParseCommandArgs(ctx, kHelp, args, &a)) return *rc;
  Plan p;
  if (!ReadPlan(ctx, "privacy epsilon", a, &p)) return kExitUsage;
  double sigma = 0;
  if (!a.Has("noise") || !ParseNumber(a.Get("noise"), &sigma) || sigma <= 0) {
    *ctx.err << "dustctl privacy epsilon: --noise SIGMA is required, a number > 0\n";
    return kExitUsage;
  }
  RdpAccountant acc;
  acc.Compose(p.q(), sigma, p.steps);
  const PrivacySpent balle = acc.Spent(p.delta);
  const PrivacySpent classic = acc.Spent(p.delta, RdpConversion::kClassic);
  if (ctx.json) {
    ctx.PrintJson({{"epsilon", balle.epsilon},
                   {"order", balle.order},
                   {"epsilon_classic", classic.epsilon},
                   {"order_classic", classic.order},
                   {"noise_multiplier", sigma},
                   {"sampling_rate", p.q()},
                   {"steps", p.steps},
                   {"delta", p.delta}});
  } else {
    *ctx.out << "epsilon " << Num(balle.epsilon, 6) << " (order " << balle.order
             << "); classic conversion " << Num(classic.epsilon, 6) << " (order " << classic.order
             << ") at delta " << Num(p.delta, 3) << "\n";
  }
  return kExitOk;
}

}  // namespace dust::ctl
