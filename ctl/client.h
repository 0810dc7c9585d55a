// The control-socket client: one blocking request/reply exchange with dustd over its Unix
// socket (docs/control-protocol.md: one JSON object per line each way).
//
// Contract: Call() connects, sends `request` as one line, reads exactly one reply line and
// closes. Every step is bounded by `timeout_ms` (connect, each write, each read) and the reply
// line by `max_reply_bytes`; nothing here retries. The result separates the two failures the
// CLI reports differently: the daemon could not be reached or did not answer properly
// (CallError::kUnreachable, exit code 2) and the daemon answered with an error (kRefused, 3).
#pragma once

#include <cstddef>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

namespace dust::ctl {

inline constexpr const char* kDefaultSocketPath = "/run/dust/dustd.sock";
inline constexpr int kDefaultTimeoutMs = 10000;
// model.export of the default model is ~140 kB; this leaves room for much wider models while
// still bounding what a confused peer can make us buffer.
inline constexpr size_t kDefaultMaxReplyBytes = size_t{64} << 20;

// The socket path to use: the explicit one if non-empty, else $DUST_SOCKET if set and
// non-empty, else kDefaultSocketPath.
std::string ResolveSocketPath(const std::string& explicit_path);

struct ClientOptions {
  std::string socket_path = kDefaultSocketPath;
  int timeout_ms = kDefaultTimeoutMs;
  size_t max_reply_bytes = kDefaultMaxReplyBytes;
};

enum class CallError {
  kNone,
  kUnreachable,  // connect/send/receive failed, timed out, or the reply was not protocol JSON
  kRefused,      // the daemon replied ok:false; error_code/message hold its error
};

struct CallResult {
  CallError error = CallError::kNone;
  nlohmann::json result;   // the reply's "result" when error == kNone
  std::string error_code;  // the daemon's error code (kRefused) or "" (kUnreachable)
  std::string message;     // the daemon's message, or what failed locally and why
  bool ok() const { return error == CallError::kNone; }
};

// One request/reply exchange. `request` must be a JSON object with "cmd"; an "id" is added
// if absent and the reply's id is checked against it.
CallResult Call(const ClientOptions& options, nlohmann::json request);

// A streaming exchange (`watch`): sends `request` like Call, checks the first reply line like
// Call (its result goes to `*first`), then hands every following line (without its newline) to
// `on_line` until the daemon closes the connection (kNone) or `on_line` returns false (kNone).
// The connect and the first reply are bounded by timeout_ms; the lines after it are not (a
// watch waits for events as long as it takes), each is bounded by max_reply_bytes.
CallResult Stream(const ClientOptions& options, nlohmann::json request,
                  const std::function<bool(const std::string& line)>& on_line);

// Call with the request already written as a line of JSON text (without the newline) whose
// "id" is `id`: for requests too large to build as a JSON object quickly (predict's rows).
CallResult CallLine(const ClientOptions& options, const std::string& line,
                    const nlohmann::json& id);

// The raw exchange, exposed for tests: sends `line` (a newline is appended) and returns the
// reply line without its newline, or an error message in `*error` (and an empty string).
std::string ExchangeLine(const ClientOptions& options, const std::string& line, std::string* error);

}  // namespace dust::ctl
