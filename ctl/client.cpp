#include "client.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <optional>

#include "dust/util/unique_fd.h"

namespace dust::ctl {
namespace {

using Clock = std::chrono::steady_clock;

int RemainingMs(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

// Waits until `fd` is ready for `events` or the deadline passes. False on timeout or error,
// with the reason in *error.
bool WaitFor(int fd, short events, Clock::time_point deadline, const char* what,
             std::string* error) {
  for (;;) {
    pollfd p{fd, events, 0};
    int n = ::poll(&p, 1, RemainingMs(deadline));
    if (n > 0) return true;
    if (n == 0) {
      *error = std::string("timed out waiting to ") + what;
      return false;
    }
    if (errno == EINTR) continue;
    *error = std::string("poll: ") + std::strerror(errno);
    return false;
  }
}

std::string ConnectErrorText(int err) {
  switch (err) {
    case ENOENT:
      return "no such socket";
    case ECONNREFUSED:
      return "connection refused (no daemon listening: stale socket?)";
    case EACCES:
      return "permission denied";
    default:
      return std::strerror(err);
  }
}

}  // namespace

std::string ResolveSocketPath(const std::string& explicit_path) {
  if (!explicit_path.empty()) return explicit_path;
  const char* env = std::getenv("DUST_SOCKET");
  if (env != nullptr && *env != '\0') return env;
  return kDefaultSocketPath;
}

namespace {

// Connects to the socket and sends `line` and a newline, within the deadline. Returns the
// socket (the caller owns it), or -1 with the reason in *error.
int ConnectAndSend(const ClientOptions& options, const std::string& line,
                   Clock::time_point deadline, std::string* error) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (options.socket_path.empty() || options.socket_path.size() >= sizeof(addr.sun_path)) {
    *error = "socket path is empty or longer than " + std::to_string(sizeof(addr.sun_path) - 1) +
             " bytes";
    return -1;
  }
  std::memcpy(addr.sun_path, options.socket_path.data(), options.socket_path.size());

  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) {
    *error = std::string("socket: ") + std::strerror(errno);
    return -1;
  }
  // A Unix stream connect only blocks while the listener's backlog is full; SO_SNDTIMEO bounds
  // that wait (and each blocking send after it).
  timeval tv{};
  tv.tv_sec = options.timeout_ms / 1000;
  tv.tv_usec = (options.timeout_ms % 1000) * 1000;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
    *error = ConnectErrorText(errno);
    return -1;
  }

  std::string out = line;
  out.push_back('\n');
  size_t sent = 0;
  while (sent < out.size()) {
    if (!WaitFor(fd.get(), POLLOUT, deadline, "send the request", error)) return -1;
    ssize_t n = ::send(fd.get(), out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      *error = std::string("send: ") + std::strerror(errno);
      return -1;
    }
    sent += static_cast<size_t>(n);
  }
  return fd.release();
}

// Reads lines from a socket: what follows a line's newline stays buffered for the next one.
class LineReader {
 public:
  explicit LineReader(int fd) : m_fd(fd) {}

  // The next line without its newline (and a trailing CR). nullopt with the reason in *error
  // (or an empty *error at a clean end of stream before any byte of a line). `deadline`
  // nullopt: wait as long as it takes.
  std::optional<std::string> Next(const std::optional<Clock::time_point>& deadline,
                                  size_t max_bytes, std::string* error) {
    error->clear();
    for (;;) {
      if (size_t nl = m_buf.find('\n'); nl != std::string::npos) {
        std::string line = m_buf.substr(0, nl);
        m_buf.erase(0, nl + 1);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        return line;
      }
      if (m_buf.size() > max_bytes) {
        *error = "reply longer than " + std::to_string(max_bytes) + " bytes";
        return std::nullopt;
      }
      if (deadline) {
        if (!WaitFor(m_fd, POLLIN, *deadline, "read the reply", error)) return std::nullopt;
      }
      char buf[65536];
      ssize_t n = ::recv(m_fd, buf, sizeof(buf), 0);
      if (n < 0) {
        if (errno == EINTR || errno == EAGAIN) continue;
        *error = std::string("recv: ") + std::strerror(errno);
        return std::nullopt;
      }
      if (n == 0) {
        if (!m_buf.empty()) *error = "the daemon closed the connection in the middle of a reply";
        return std::nullopt;
      }
      m_buf.append(buf, static_cast<size_t>(n));
    }
  }

 private:
  int m_fd;
  std::string m_buf;
};

// A reply line checked as Call documents it: ok with our id, or the daemon's error.
CallResult CheckReply(const std::string& line, const nlohmann::json& id) {
  CallResult r;
  nlohmann::json reply = nlohmann::json::parse(line, nullptr, false);
  if (reply.is_discarded() || !reply.is_object() || !reply.contains("ok") ||
      !reply["ok"].is_boolean()) {
    r.error = CallError::kUnreachable;
    r.message = "the daemon's reply is not a protocol reply: " + line.substr(0, 200);
    return r;
  }
  if (!reply["ok"].get<bool>()) {
    r.error = CallError::kRefused;
    const nlohmann::json& e = reply.value("error", nlohmann::json::object());
    if (e.is_object()) {
      if (e.contains("code") && e["code"].is_string()) r.error_code = e["code"];
      if (e.contains("message") && e["message"].is_string()) r.message = e["message"];
    }
    if (r.message.empty()) r.message = "the daemon refused the request (no message given)";
    return r;
  }
  // Errors that close the connection (busy, permission_denied) carry a null id; a success
  // must echo ours.
  if (reply.value("id", nlohmann::json()) != id) {
    r.error = CallError::kUnreachable;
    r.message = "the daemon's reply has id " + reply.value("id", nlohmann::json()).dump() +
                ", expected " + id.dump();
    return r;
  }
  r.result = reply.value("result", nlohmann::json::object());
  return r;
}

}  // namespace

std::string ExchangeLine(const ClientOptions& options, const std::string& line,
                         std::string* error) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(options.timeout_ms);
  UniqueFd fd(ConnectAndSend(options, line, deadline, error));
  if (fd.get() < 0) return {};
  LineReader reader(fd.get());
  std::optional<std::string> reply = reader.Next(deadline, options.max_reply_bytes, error);
  if (!reply) {
    if (error->empty()) *error = "the daemon closed the connection without replying";
    return {};
  }
  return *reply;
}

CallResult Call(const ClientOptions& options, nlohmann::json request) {
  if (!request.contains("id")) request["id"] = 1;
  return CallLine(options, request.dump(), request["id"]);
}

CallResult CallLine(const ClientOptions& options, const std::string& request_line,
                    const nlohmann::json& id) {
  std::string error;
  std::string line = ExchangeLine(options, request_line, &error);
  if (!error.empty()) {
    CallResult r;
    r.error = CallError::kUnreachable;
    r.message = std::move(error);
    return r;
  }
  return CheckReply(line, id);
}

CallResult Stream(const ClientOptions& options, nlohmann::json request,
                  const std::function<bool(const std::string& line)>& on_line) {
  if (!request.contains("id")) request["id"] = 1;
  CallResult r;
  auto unreachable = [&](std::string message) {
    r.error = CallError::kUnreachable;
    r.message = std::move(message);
    return r;
  };
  const auto deadline = Clock::now() + std::chrono::milliseconds(options.timeout_ms);
  std::string error;
  UniqueFd fd(ConnectAndSend(options, request.dump(), deadline, &error));
  if (fd.get() < 0) return unreachable(error);
  LineReader reader(fd.get());
  std::optional<std::string> first = reader.Next(deadline, options.max_reply_bytes, &error);
  if (!first) {
    return unreachable(error.empty() ? "the daemon closed the connection without replying" : error);
  }
  r = CheckReply(*first, request["id"]);
  if (!r.ok()) return r;
  while (std::optional<std::string> line =
             reader.Next(std::nullopt, options.max_reply_bytes, &error)) {
    if (!on_line(*line)) return r;
  }
  if (!error.empty()) return unreachable(error);
  return r;
}

}  // namespace dust::ctl
