// The dashboard: one self-contained HTML page (GET / on the metrics address; docs/operations.md,
// "Dashboard"). Server-rendered: the tables and the SVG charts are in the page as served, so it
// needs no JavaScript, CDN, font or build step; a meta refresh reloads it, and a few lines of
// inline script only turn the UTC times into the browser's local time. Narrow screens get one
// column and a table that scrolls sideways.
//
// Every string that came from a peer (display names above all) or the operator goes through
// EscapeHtml; numbers are formatted here.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace dust::daemon {

// &, <, >, " and ' as entities: safe in element text and in quoted attribute values.
std::string EscapeHtml(const std::string& text);

struct DashboardSeries {
  std::string name;                                // legend (escaped when rendered)
  std::vector<std::pair<int64_t, double>> points;  // (t_ms, value); NaN values leave a gap
};

struct DashboardPeer {
  std::string name;
  std::string node_id;
  // How this node trusts the peer: "paired" (trust store) today, "" if not trusted. Certificate
  // trust (another issue) will add its own value here.
  std::string trusted_how;
  int64_t last_seen_ms = 0;  // 0: never
  std::optional<double> accuracy;
  uint64_t updates_accepted = 0;
  uint64_t updates_rejected = 0;
  double outlier_score = 0;
  bool live = false;
};

struct DashboardView {
  std::string title;  // the node's display name
  std::string node_id;
  std::string version;
  std::string state;  // running, paused, ...
  std::optional<double> accuracy;
  std::optional<double> test_accuracy;
  uint64_t steps = 0;
  size_t live_peers = 0;
  size_t trusted_peers = 0;
  int64_t now_ms = 0;
  int64_t from_ms = 0;  // the charts' left edge
  int range_s = 3600;   // the range shown (the links offer others)
  int refresh_s = 10;
  std::vector<DashboardPeer> peers;
  std::vector<DashboardSeries> accuracy_series;  // the node's first, then each peer's
  std::vector<DashboardSeries> drop_series;      // drops per sample interval, by reason
};

// The ranges the page offers (?range=<seconds>); anything else shows the default hour.
int DashboardRange(const std::string& query);

std::string RenderDashboard(const DashboardView& view);

}  // namespace dust::daemon
