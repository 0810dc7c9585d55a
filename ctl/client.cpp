#include "client.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>

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

std::string ExchangeLine(const ClientOptions& options, const std::string& line,
                         std::string* error) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(options.timeout_ms);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (options.socket_path.empty() || options.socket_path.size() >= sizeof(addr.sun_path)) {
    *error = "socket path is empty or longer than " + std::to_string(sizeof(addr.sun_path) - 1) +
             " bytes";
    return {};
  }
  std::memcpy(addr.sun_path, options.socket_path.data(), options.socket_path.size());

  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) {
    *error = std::string("socket: ") + std::strerror(errno);
    return {};
  }
  // A Unix stream connect only blocks while the listener's backlog is full; SO_SNDTIMEO bounds
  // that wait (and each blocking send after it).
  timeval tv{};
  tv.tv_sec = options.timeout_ms / 1000;
  tv.tv_usec = (options.timeout_ms % 1000) * 1000;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
    *error = ConnectErrorText(errno);
    return {};
  }

  std::string out = line;
  out.push_back('\n');
  size_t sent = 0;
  while (sent < out.size()) {
    if (!WaitFor(fd.get(), POLLOUT, deadline, "send the request", error)) return {};
    ssize_t n = ::send(fd.get(), out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      *error = std::string("send: ") + std::strerror(errno);
      return {};
    }
    sent += static_cast<size_t>(n);
  }

  std::string reply;
  char buf[65536];
  for (;;) {
    if (!WaitFor(fd.get(), POLLIN, deadline, "read the reply", error)) return {};
    ssize_t n = ::recv(fd.get(), buf, sizeof(buf), 0);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      *error = std::string("recv: ") + std::strerror(errno);
      return {};
    }
    if (n == 0) {
      *error = reply.empty() ? "the daemon closed the connection without replying"
                             : "the daemon closed the connection in the middle of a reply";
      return {};
    }
    const char* nl = static_cast<const char*>(std::memchr(buf, '\n', static_cast<size_t>(n)));
    size_t take = nl != nullptr ? static_cast<size_t>(nl - buf) : static_cast<size_t>(n);
    if (reply.size() + take > options.max_reply_bytes) {
      *error = "reply longer than " + std::to_string(options.max_reply_bytes) + " bytes";
      return {};
    }
    reply.append(buf, take);
    if (nl != nullptr) break;
  }
  if (!reply.empty() && reply.back() == '\r') reply.pop_back();
  error->clear();
  return reply;
}

CallResult Call(const ClientOptions& options, nlohmann::json request) {
  CallResult r;
  if (!request.contains("id")) request["id"] = 1;
  std::string error;
  std::string line = ExchangeLine(options, request.dump(), &error);
  if (!error.empty()) {
    r.error = CallError::kUnreachable;
    r.message = std::move(error);
    return r;
  }
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
  if (reply.value("id", nlohmann::json()) != request["id"]) {
    r.error = CallError::kUnreachable;
    r.message = "the daemon's reply has id " + reply.value("id", nlohmann::json()).dump() +
                ", expected " + request["id"].dump();
    return r;
  }
  r.result = reply.value("result", nlohmann::json::object());
  return r;
}

}  // namespace dust::ctl
