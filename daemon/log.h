// Logging for dustd (spdlog). The daemon is the only layer that logs; libdust returns Status.
//
// Under systemd (JOURNAL_STREAM or INVOCATION_ID set) lines carry no timestamp: the journal
// adds its own, and a "<N>" syslog-priority prefix lets it record the level. Otherwise lines
// are "2026-11-24 20:01:02.345 [info] message" on stderr.
#pragma once

#include <spdlog/spdlog.h>

#include <string>

#include "dust/util/status.h"

namespace dust::daemon {

// Configures the default logger. Unknown level names fall back to info.
void SetupLogging(const std::string& level);
// Changes the level (SIGHUP reload).
void SetLogLevel(const std::string& level);

template <typename... Args>
void LogDebug(spdlog::format_string_t<Args...> fmt, Args&&... args) {
  spdlog::debug(fmt, std::forward<Args>(args)...);
}
template <typename... Args>
void LogInfo(spdlog::format_string_t<Args...> fmt, Args&&... args) {
  spdlog::info(fmt, std::forward<Args>(args)...);
}
template <typename... Args>
void LogWarn(spdlog::format_string_t<Args...> fmt, Args&&... args) {
  spdlog::warn(fmt, std::forward<Args>(args)...);
}
template <typename... Args>
void LogError(spdlog::format_string_t<Args...> fmt, Args&&... args) {
  spdlog::error(fmt, std::forward<Args>(args)...);
}

}  // namespace dust::daemon
