// dustctl's history output: the sparkline (Unicode blocks and the ASCII fallback), status's
// accuracy trend line and `dustctl history`'s table, from `history` results.
#include <catch2/catch.hpp>

#include "format.h"

using dust::ctl::FormatAccuracyTrend;
using dust::ctl::FormatHistory;
using dust::ctl::Sparkline;
using nlohmann::json;

TEST_CASE("sparkline: blocks from low to high, gaps for missing values", "[ctl]") {
  CHECK(Sparkline({0.0, 0.5, 1.0}, 0, 1, true) == "\u2581\u2585\u2588");
  CHECK(Sparkline({0.0, std::nullopt, 1.0}, 0, 1, true) == "\u2581 \u2588");
  CHECK(Sparkline({0.0, 0.5, 1.0}, 0, 1, false) == "_=#");
  // Out of the scale: clamped; an empty scale draws everything at the top.
  CHECK(Sparkline({-1.0, 2.0}, 0, 1, false) == "_#");
  CHECK(Sparkline({0.3, 0.3}, 0.3, 0.3, false) == "##");
  CHECK(Sparkline({}, 0, 1, true).empty());
}

TEST_CASE("status trend: the last accuracy and the scale, nothing without accuracy", "[ctl]") {
  json h = {{"node", {{"t_ms", {1, 2, 3}}, {"accuracy", {nullptr, 0.8, 0.9}}}}};
  CHECK(FormatAccuracyTrend(h, false) == "  accuracy, last hour:  _# 90.0% (scale 79.0-90.0%)\n");
  CHECK(FormatAccuracyTrend({{"node", {{"accuracy", {nullptr}}}}}, true).empty());
  CHECK(FormatAccuracyTrend(json::object(), true).empty());
  CHECK(FormatAccuracyTrend({{"node", {{"accuracy", "bad"}}}}, true).empty());
}

TEST_CASE("history table: a line per sample, drops summed without own, peers", "[ctl]") {
  json h = {{"resolution", "fine"},
            {"interval_s", 5},
            {"node",
             {{"t_ms", {1795000000000, 1795000005000}},
              {"accuracy", {0.5, 0.6}},
              {"test_accuracy", {nullptr, 0.55}},
              {"loss", {1.2, 1.1}},
              {"steps", {10, 20}},
              {"live_peers", {1, 2}},
              {"updates_in", {3, 4}},
              {"updates_out", {5, 6}},
              {"drops", {{"replay", {1, 2}}, {"malformed", {0, 3}}, {"own", {100, 200}}}}}},
            {"peers",
             {{{"node_id", "ABCDEFG-HIJKLMN-XYZ"},
               {"display_name", "kitchen"},
               {"accuracy", {0.4, 0.7}}}}}};
  const std::string out = FormatHistory(h, false);
  CHECK(out.find("history: 2 samples, fine (every 5 s)") != std::string::npos);
  CHECK(out.find("60.0%   55.0%") != std::string::npos);
  CHECK(out.find("50.0%       -") != std::string::npos);
  // Drops: replay 2 + malformed 3 at the second sample, own left out.
  CHECK(out.find("      6      5\n") != std::string::npos);
  CHECK(out.find("ABCDEFG-HIJK kitchen: _# 70.0%") != std::string::npos);
}
