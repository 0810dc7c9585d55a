// Human-readable output of dustctl: pure functions from the daemon's JSON results (as
// docs/control-protocol.md defines them) to text, terse like `wg show`. They never throw on
// missing, null or mistyped fields (a newer or older daemon may differ): a missing value
// prints as "-" or its line is left out. --json output bypasses all of this.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace dust::ctl {

// Non-throwing field access for results: the value if `j` is an object with `key` of the
// right type, else `fallback`.
std::string JsonString(const nlohmann::json& j, const char* key, const std::string& fallback);
bool JsonBool(const nlohmann::json& j, const char* key, bool fallback);
// Any scalar as text ("-" when absent or null): strings unquoted, numbers as JSON writes them.
std::string JsonText(const nlohmann::json& j, const char* key);

// "3s", "5m 12s", "2h 03m", "4d 07h" (seconds; negative is clamped to 0).
std::string FormatDuration(double seconds);
// "512 B", "1.4 KiB", "12.0 MiB", "3.1 GiB".
std::string FormatBytes(double bytes);
// "91.2%" from a fraction, "-" for null.
std::string FormatPercent(const nlohmann::json& fraction);
// "3s ago" / "never" from a *_ms timestamp and now.
std::string FormatAgo(const nlohmann::json& at_ms, int64_t now_ms);

std::string FormatStatus(const nlohmann::json& status, int64_t now_ms);
// The data dir's files that are not simply used (status's "data" and rescan's reply): one line
// each, after `indent`, for a file skipped, a file used up to an error, and a last line still
// being written.
std::string FormatDataFiles(const nlohmann::json& data, const std::string& indent);
std::string FormatPeers(const nlohmann::json& peers, int64_t now_ms);
// One frame of `dustctl top`: a line about this node (from status), then a table of the peers
// (from peers) with their state, last seen, announced accuracy, updates accepted and rejected,
// and updates accepted per second since `previous` (the peers result `seconds` earlier; null
// on the first frame, whose rates print as "-").
std::string FormatTop(const nlohmann::json& status, const nlohmann::json& peers,
                      const nlohmann::json& previous, double seconds, int64_t now_ms);
// One character per value on a scale from lo to hi: the Unicode blocks U+2581..U+2588 with
// `utf8`, else the ASCII ramp "_.-=*#"; a missing value (nullopt) is a space.
std::string Sparkline(const std::vector<std::optional<double>>& values, double lo, double hi,
                      bool utf8);
// status's trend line from a `history` result: "  accuracy, last hour: <sparkline> 91.2%", or
// "" when the history holds no accuracy yet.
std::string FormatAccuracyTrend(const nlohmann::json& history, bool utf8);
// dustctl history: the node's samples (time, accuracies, loss, steps, live peers, updates,
// drops) and a sparkline of each peer's accuracy.
std::string FormatHistory(const nlohmann::json& history, bool utf8);
std::string FormatTrustList(const nlohmann::json& list, int64_t now_ms);
std::string FormatEvaluation(const nlohmann::json& evaluation);
// One event of `watch` (its JSON line parsed) as a line of text with the local time, preceded
// by a "missed N events" line if it says events were dropped before it.
std::string FormatWatchEvent(const nlohmann::json& event);

}  // namespace dust::ctl
