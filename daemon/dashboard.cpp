#include "dashboard.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>

namespace dust::daemon {
namespace {

constexpr int kRanges[] = {600, 3600, 6 * 3600, 24 * 3600};
// Line colours, readable on white and told apart by most colour-blind readers (Okabe-Ito).
constexpr const char* kColours[] = {"#0072b2", "#d55e00", "#009e73", "#cc79a7",
                                    "#e69f00", "#56b4e9", "#000000", "#f0e442"};

std::string Fixed(double v, int digits) {
  char buf[48];
  std::snprintf(buf, sizeof(buf), "%.*f", digits, v);
  return buf;
}

std::string Percent(const std::optional<double>& v) {
  return v ? Fixed(*v * 100, 1) + "%" : "&ndash;";
}

std::string UtcClock(int64_t ms) {
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%H:%M", &tm);
  return buf;
}

std::string Ago(int64_t now_ms, int64_t then_ms) {
  if (then_ms <= 0) return "never";
  int64_t s = std::max<int64_t>(0, (now_ms - then_ms) / 1000);
  if (s < 120) return std::to_string(s) + " s ago";
  if (s < 7200) return std::to_string(s / 60) + " min ago";
  return std::to_string(s / 3600) + " h ago";
}

// The first two groups of a node ID: enough to tell peers apart, short enough for a phone (the
// whole ID is the cell's title).
std::string ShortId(const std::string& id) {
  return id.size() > 15 ? id.substr(0, 15) + "\u2026" : id;
}

std::string RangeLabel(int s) {
  return s < 3600 ? std::to_string(s / 60) + " min" : std::to_string(s / 3600) + " h";
}

// An SVG line chart of `series` over [from_ms, to_ms]; y from 0 to y_max (percent: 0 to 100%).
// Each run of finite values is one polyline (class "line", data-series the series' name); the
// newest point of each series is marked.
std::string Chart(const std::string& title, const std::vector<DashboardSeries>& series,
                  int64_t from_ms, int64_t to_ms, bool percent, const char* when_empty) {
  constexpr double kW = 640, kH = 220, kLeft = 46, kRight = 8, kTop = 10, kBottom = 24;
  double y_max = percent ? 1.0 : 0;
  if (!percent) {
    for (const auto& s : series) {
      for (const auto& [t, v] : s.points) {
        if (std::isfinite(v)) y_max = std::max(y_max, v);
      }
    }
    if (y_max <= 0) y_max = 1;
  }
  const double span = static_cast<double>(std::max<int64_t>(1, to_ms - from_ms));
  auto x = [&](int64_t t) { return kLeft + (kW - kLeft - kRight) * (t - from_ms) / span; };
  auto y = [&](double v) { return kTop + (kH - kTop - kBottom) * (1 - v / y_max); };
  std::string out = "<figure class=\"chart\"><figcaption>" + EscapeHtml(title) +
                    "</figcaption><svg viewBox=\"0 0 640 220\" role=\"img\" aria-label=\"" +
                    EscapeHtml(title) + "\">";
  // Axes: grid lines at 0, half and full, times at both ends.
  for (double f : {0.0, 0.5, 1.0}) {
    const std::string yy = Fixed(y(f * y_max), 1);
    out += "<line class=\"grid\" x1=\"" + Fixed(kLeft, 0) + "\" x2=\"" + Fixed(kW - kRight, 0) +
           "\" y1=\"" + yy + "\" y2=\"" + yy + "\"/>";
    const std::string label =
        percent ? Fixed(f * 100, 0) + "%" : Fixed(f * y_max, y_max < 10 ? 1 : 0);
    out += "<text class=\"axis\" x=\"" + Fixed(kLeft - 4, 0) + "\" y=\"" +
           Fixed(y(f * y_max) + 4, 1) + "\" text-anchor=\"end\">" + label + "</text>";
  }
  out += "<text class=\"axis\" x=\"" + Fixed(kLeft, 0) + "\" y=\"" + Fixed(kH - 6, 0) + "\">" +
         UtcClock(from_ms) + " UTC</text><text class=\"axis\" x=\"" + Fixed(kW - kRight, 0) +
         "\" y=\"" + Fixed(kH - 6, 0) + "\" text-anchor=\"end\">" + UtcClock(to_ms) + " UTC</text>";
  std::string legend;
  for (size_t i = 0; i < series.size(); ++i) {
    const DashboardSeries& s = series[i];
    const char* colour = kColours[i % std::size(kColours)];
    const std::string name = EscapeHtml(s.name);
    std::string run;
    size_t run_points = 0;
    auto flush = [&] {
      if (run_points > 0) {
        out += "<polyline class=\"line\" data-series=\"" + name + "\" stroke=\"" + colour +
               "\" points=\"" + run + "\"/>";
      }
      run.clear();
      run_points = 0;
    };
    const std::pair<int64_t, double>* last = nullptr;
    for (const auto& p : s.points) {
      if (!std::isfinite(p.second) || p.first < from_ms || p.first > to_ms) {
        flush();
        continue;
      }
      if (run_points++) run += ' ';
      run += Fixed(x(p.first), 1) + "," + Fixed(y(std::min(p.second, y_max)), 1);
      last = &p;
    }
    flush();
    if (last) {
      out += "<circle class=\"point\" data-series=\"" + name + "\" fill=\"" + colour + "\" cx=\"" +
             Fixed(x(last->first), 1) + "\" cy=\"" + Fixed(y(std::min(last->second, y_max)), 1) +
             "\" r=\"3\"/>";
    }
    legend += "<li><span class=\"swatch\" style=\"background:" + std::string(colour) +
              "\"></span>" + name + "</li>";
  }
  out += "</svg>";
  if (series.empty()) out += "<p class=\"muted\">" + std::string(when_empty) + "</p>";
  out += "<ul class=\"legend\">" + legend + "</ul></figure>";
  return out;
}

constexpr const char* kStyle = R"(
body{font:15px/1.4 system-ui,sans-serif;margin:0 auto;padding:8px 12px;max-width:1100px;color:#222}
h1{font-size:1.3em;margin:.3em 0}h2{font-size:1.1em;margin:1em 0 .3em}
.cards{display:flex;flex-wrap:wrap;gap:8px}.card{border:1px solid #ccc;border-radius:6px;padding:6px 10px;min-width:8em}
.card b{display:block;font-size:1.3em}.muted,.axis{color:#666;fill:#666;font-size:12px}
.scroll{overflow-x:auto}table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #ddd;white-space:nowrap}
td.num{text-align:right}.live{color:#007a3d}.stale{color:#b00020}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(300px,1fr));gap:12px}
figure{margin:0}svg{width:100%;height:auto;display:block}
.grid{stroke:#ddd}.line{fill:none;stroke-width:2}
.legend{list-style:none;padding:0;margin:4px 0;display:flex;flex-wrap:wrap;gap:4px 12px;font-size:13px}
.swatch{display:inline-block;width:10px;height:10px;margin-right:4px;border-radius:2px}
nav a{margin-right:10px}
)";

}  // namespace

std::string EscapeHtml(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

int DashboardRange(const std::string& query) {
  constexpr std::string_view kKey = "range=";
  size_t at = query.find(kKey);
  if (at == std::string::npos || (at > 0 && query[at - 1] != '&')) return 3600;
  std::string value = query.substr(at + kKey.size());
  value = value.substr(0, value.find('&'));
  for (int r : kRanges) {
    if (value == std::to_string(r)) return r;
  }
  return 3600;
}

std::string RenderDashboard(const DashboardView& v) {
  std::string out;
  out.reserve(16384);
  out +=
      "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
      "<meta http-equiv=\"refresh\" content=\"" +
      std::to_string(v.refresh_s) +
      "\">"
      "<title>" +
      EscapeHtml(v.title) + " &middot; Neural Dust</title><style>" + kStyle +
      "</style></head><body>";
  out += "<h1 id=\"node\">" + EscapeHtml(v.title) + " <span class=\"muted\">" +
         EscapeHtml(v.node_id) + " &middot; dustd " + EscapeHtml(v.version) + "</span></h1>";
  out += "<div class=\"cards\">";
  auto card = [&](const std::string& label, const std::string& value) {
    out +=
        "<div class=\"card\"><span class=\"muted\">" + label + "</span><b>" + value + "</b></div>";
  };
  card("state", EscapeHtml(v.state));
  card("holdout accuracy", Percent(v.accuracy));
  card("test accuracy", Percent(v.test_accuracy));
  card("steps", std::to_string(v.steps));
  card("peers live", std::to_string(v.live_peers) + " / " + std::to_string(v.trusted_peers));
  out += "</div>";

  out +=
      "<h2>Peers</h2><div class=\"scroll\"><table id=\"peers\"><thead><tr><th>name</th>"
      "<th>node ID</th><th>trust</th><th>last seen</th><th>accuracy</th><th>updates "
      "accepted</th><th>rejected</th><th>outlier score</th><th>state</th></tr></thead><tbody>";
  for (const DashboardPeer& p : v.peers) {
    out += "<tr class=\"peer\" data-node-id=\"" + EscapeHtml(p.node_id) + "\"><td>" +
           (p.name.empty() ? "&ndash;" : EscapeHtml(p.name)) + "</td><td><code title=\"" +
           EscapeHtml(p.node_id) + "\">" + EscapeHtml(ShortId(p.node_id)) + "</code></td><td>" +
           (p.trusted_how.empty() ? "not trusted" : EscapeHtml(p.trusted_how)) + "</td><td>" +
           Ago(v.now_ms, p.last_seen_ms) + "</td><td class=\"num\">" + Percent(p.accuracy) +
           "</td><td class=\"num\">" + std::to_string(p.updates_accepted) +
           "</td><td class=\"num\">" + std::to_string(p.updates_rejected) +
           "</td><td class=\"num\">" + Fixed(p.outlier_score, 2) + "</td><td class=\"" +
           (p.live ? "live\">live" : "stale\">stale") + "</td></tr>";
  }
  if (v.peers.empty()) out += "<tr><td colspan=\"9\" class=\"muted\">no peers yet</td></tr>";
  out += "</tbody></table></div>";

  out += "<h2>Over the last " + RangeLabel(v.range_s) + "</h2><nav>";
  for (int r : kRanges) {
    out += "<a href=\"/?range=" + std::to_string(r) + "\">" + RangeLabel(r) + "</a>";
  }
  out += "</nav><div class=\"charts\">";
  out += Chart("Holdout accuracy: this node and its peers", v.accuracy_series, v.from_ms, v.now_ms,
               true, "nothing yet");
  out += Chart("Drops per sample interval, by reason", v.drop_series, v.from_ms, v.now_ms, false,
               "no drops in this range");
  out += "</div><p class=\"muted\">Refreshes every " + std::to_string(v.refresh_s) +
         " s. Peer accuracy is what each peer announces of its own holdout.</p></body></html>\n";
  return out;
}

}  // namespace dust::daemon
