// The Prometheus text (daemon/metrics.h MetricsText): a family's samples stay in one group after
// its HELP and TYPE even when added between other families' samples; label values and HELP text
// escaped as the text format says; values that parse back to the same double. (promtool and a
// real Prometheus read a daemon's output in tests/integration/metrics_test.sh.)
#include <catch2/catch.hpp>
#include <cstdlib>
#include <limits>
#include <string>

#include "metrics.h"

using dust::daemon::EscapeHelp;
using dust::daemon::EscapeLabelValue;
using dust::daemon::FormatSampleValue;
using dust::daemon::MetricsText;

TEST_CASE("metrics text: a family's samples are grouped under one HELP and TYPE", "[metrics]") {
  MetricsText m;
  m.Gauge("dust_peers", "Peers by state.", 3, {{"state", "seen"}});
  m.Counter("dust_merges_total", "Merges.", 7);
  m.Gauge("dust_peers", "Peers by state.", 2, {{"state", "live"}});
  CHECK(m.str() ==
        "# HELP dust_peers Peers by state.\n"
        "# TYPE dust_peers gauge\n"
        "dust_peers{state=\"seen\"} 3\n"
        "dust_peers{state=\"live\"} 2\n"
        "# HELP dust_merges_total Merges.\n"
        "# TYPE dust_merges_total counter\n"
        "dust_merges_total 7\n");
}

TEST_CASE("metrics text: peer-chosen names are escaped in label values", "[metrics]") {
  CHECK(EscapeLabelValue("plain name") == "plain name");
  CHECK(EscapeLabelValue("a\"b") == "a\\\"b");
  CHECK(EscapeLabelValue("back\\slash") == "back\\\\slash");
  CHECK(EscapeLabelValue("two\nlines") == "two\\nlines");
  // UTF-8 passes as it is (the format is UTF-8); "\\n" in the input is two characters.
  CHECK(EscapeLabelValue("K\u00fcche \\n") == "K\u00fcche \\\\n");
  MetricsText m;
  m.Gauge("dust_peer_live", "Live.", 1, {{"node_id", "ABCDEFG"}, {"name", "say \"hi\"\\"}});
  CHECK(m.str().find("dust_peer_live{node_id=\"ABCDEFG\",name=\"say \\\"hi\\\"\\\\\"} 1\n") !=
        std::string::npos);
}

TEST_CASE("metrics text: HELP escapes backslash and line feed, not quotes", "[metrics]") {
  CHECK(EscapeHelp("a \"quoted\" \\ word\nnext") == "a \"quoted\" \\\\ word\\nnext");
}

TEST_CASE("metrics text: values parse back to the same double", "[metrics]") {
  for (double v : {0.0, 1.0, 1.0 / 3, 0.8123, 1e-9, 12345678901234567.0, 1.7e308, -2.5}) {
    std::string text = FormatSampleValue(v);
    CHECK(std::strtod(text.c_str(), nullptr) == v);
  }
  CHECK(FormatSampleValue(42) == "42");
  CHECK(FormatSampleValue(0.25) == "0.25");
  CHECK(FormatSampleValue(std::numeric_limits<double>::quiet_NaN()) == "NaN");
  CHECK(FormatSampleValue(std::numeric_limits<double>::infinity()) == "+Inf");
  CHECK(FormatSampleValue(-std::numeric_limits<double>::infinity()) == "-Inf");
}
