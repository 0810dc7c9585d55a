// dust-sim helpers: data splits and the SVG plot.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "dust/util/bytes.h"
#include "dust/util/file.h"
#include "dust/util/rng.h"
#include "sim.h"

namespace dust::sim {
namespace {

void Shuffle(std::vector<uint32_t>& v, Rng& rng) {
  for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[rng.Below(i)]);
}

bool ParseNumber(const std::string& s, double* out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

Result<std::vector<std::vector<uint32_t>>> Split(const Dataset& train, const std::string& split,
                                                 uint32_t nodes, uint64_t seed) {
  Rng rng(seed ^ 0x5EED5EEDull);
  std::vector<std::vector<uint32_t>> out(nodes);
  std::vector<uint32_t> all(train.size());
  for (uint32_t i = 0; i < all.size(); ++i) all[i] = i;
  Shuffle(all, rng);
  if (split == "iid") {
    for (size_t i = 0; i < all.size(); ++i) out[i % nodes].push_back(all[i]);
    return out;
  }
  auto colon = split.find(':');
  std::string kind = split.substr(0, colon);
  double arg = 0;
  if (colon == std::string::npos || !ParseNumber(split.substr(colon + 1), &arg) || !(arg > 0)) {
    return Status::InvalidArgument("--split '" + split +
                                   "': expected iid, shards:K (K >= 1) or dirichlet:A (A > 0)");
  }
  if (kind == "shards") {
    size_t k = static_cast<size_t>(arg);
    if (static_cast<double>(k) != arg)
      return Status::InvalidArgument("--split shards:K: K integer");
    std::stable_sort(all.begin(), all.end(),
                     [&](uint32_t a, uint32_t b) { return train.label(a) < train.label(b); });
    size_t shards = size_t{nodes} * k;
    if (shards > all.size()) {
      return Status::InvalidArgument("--split " + split + " with " + std::to_string(nodes) +
                                     " nodes cuts the training data into " +
                                     std::to_string(shards) + " shards, but it has only " +
                                     std::to_string(all.size()) + " samples");
    }
    std::vector<uint32_t> order(shards);
    for (uint32_t s = 0; s < shards; ++s) order[s] = s;
    Shuffle(order, rng);
    for (size_t s = 0; s < shards; ++s) {
      size_t shard = order[s];
      size_t b = all.size() * shard / shards, e = all.size() * (shard + 1) / shards;
      out[s / k].insert(out[s / k].end(), all.begin() + static_cast<long>(b),
                        all.begin() + static_cast<long>(e));
    }
    return out;
  }
  if (kind == "dirichlet") {
    // Hsu et al. 2019: for each class, node shares ~ Dirichlet(A); the class's samples are cut
    // in those proportions.
    uint32_t classes = train.num_classes();
    std::vector<std::vector<uint32_t>> by_class(classes);
    for (uint32_t i : all) by_class[train.label(i)].push_back(i);
    for (uint32_t c = 0; c < classes; ++c) {
      std::vector<double> p(nodes);
      double sum = 0;
      for (auto& x : p) sum += (x = rng.Gamma(arg));
      size_t n = by_class[c].size(), begin = 0;
      double acc = 0;
      for (uint32_t j = 0; j < nodes; ++j) {
        acc += p[j] / sum;
        size_t end = j + 1 == nodes ? n : std::min(n, static_cast<size_t>(std::llround(acc * n)));
        out[j].insert(out[j].end(), by_class[c].begin() + static_cast<long>(begin),
                      by_class[c].begin() + static_cast<long>(end));
        begin = std::max(begin, end);
      }
    }
    return out;
  }
  return Status::InvalidArgument("--split '" + split + "': unknown kind '" + kind + "'");
}

Status WritePlot(const std::string& path, const std::string& title,
                 const std::vector<EvalPoint>& points) {
  const double W = 420, H = 300, L = 50, T = 30, PW = 340, PH = 220;
  std::ostringstream s;
  s << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << 2 * W << "\" height=\"" << H
    << "\" font-family=\"sans-serif\" font-size=\"11\">\n";
  s << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  s << "<text x=\"10\" y=\"16\" font-size=\"13\">" << title << "</text>\n";
  double max_round = 1, min_bytes = 1e300, max_bytes = 1;
  for (const auto& p : points) {
    max_round = std::max(max_round, static_cast<double>(p.round));
    if (p.bytes > 0) min_bytes = std::min(min_bytes, static_cast<double>(p.bytes));
    max_bytes = std::max(max_bytes, static_cast<double>(p.bytes));
  }
  if (min_bytes > max_bytes) min_bytes = 1;
  double lmin = std::log10(min_bytes), lmax = std::max(std::log10(max_bytes), lmin + 1);
  for (int panel = 0; panel < 2; ++panel) {
    double ox = panel * W + L;
    s << "<rect x=\"" << ox << "\" y=\"" << T << "\" width=\"" << PW << "\" height=\"" << PH
      << "\" fill=\"none\" stroke=\"black\"/>\n";
    for (int g = 0; g <= 10; g += 2) {
      double y = T + PH - PH * g / 10.0;
      s << "<text x=\"" << ox - 30 << "\" y=\"" << y + 4 << "\">" << g * 10 << "%</text>\n";
      s << "<line x1=\"" << ox << "\" x2=\"" << ox + PW << "\" y1=\"" << y << "\" y2=\"" << y
        << "\" stroke=\"#ddd\"/>\n";
    }
    s << "<text x=\"" << ox + PW / 2 - 40 << "\" y=\"" << T + PH + 28 << "\">"
      << (panel == 0 ? "round" : "total bytes (log10)") << "</text>\n";
    s << "<text x=\"" << ox << "\" y=\"" << T + PH + 14 << "\">" << (panel == 0 ? 0.0 : lmin)
      << "</text><text x=\"" << ox + PW - 30 << "\" y=\"" << T + PH + 14 << "\">"
      << (panel == 0 ? max_round : lmax) << "</text>\n";
    const char* colors[] = {"#1f77b4", "#d62728", "#2ca02c"};
    for (int series = 0; series < 3; ++series) {
      s << "<polyline fill=\"none\" stroke=\"" << colors[series] << "\" points=\"";
      for (const auto& p : points) {
        double xv =
            panel == 0
                ? p.round / max_round
                : (p.bytes > 0 ? (std::log10(static_cast<double>(p.bytes)) - lmin) / (lmax - lmin)
                               : 0.0);
        double yv = series == 0 ? p.mean : series == 1 ? p.min : p.honest_mean;
        s << ox + PW * xv << "," << T + PH - PH * yv << " ";
      }
      s << "\"/>\n";
    }
  }
  s << "<text x=\"" << W + L << "\" y=\"" << H - 4
    << "\"><tspan fill=\"#1f77b4\">mean</tspan> <tspan fill=\"#d62728\">min</tspan> "
       "<tspan fill=\"#2ca02c\">honest mean</tspan> node accuracy</text>\n";
  s << "</svg>\n";
  std::string text = s.str();
  return AtomicWriteFile(path, AsBytes(text), 0644);
}

}  // namespace dust::sim
