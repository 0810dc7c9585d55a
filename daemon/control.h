// The control socket: request parsing and dispatch (pure, testable without sockets) and the
// Unix-domain stream server around it (docs/control-protocol.md is the contract).
//
// ControlDispatcher turns one request line into exactly one reply line. It never throws: a line
// that is not a JSON object, a missing or non-string "cmd", an unknown command, a handler that
// throws, are all error replies. Handlers may reply later (evaluate runs off the loop); the
// Responder guarantees one reply even if the handler drops it without answering.
//
// A bulk command (predict) registers with RegisterBulk: its bulky member ("features") is cut out
// of the line unparsed (SplitMember, request_text.h) and handed to the handler as JSON text, the
// rest of the request parsed as for any command. Only a bulk command's line may be longer than
// kMaxRequestBytes (up to kMaxBulkRequestBytes); a longer line of any other command gets
// request_too_large.
//
// ControlServer owns the listening socket. Invariants: at most kMaxClients sessions; each
// session handles its requests one at a time in arrival order (so replies come back in request
// order); a request line longer than kMaxBulkRequestBytes gets request_too_large and the session
// closes; idle sessions close after kIdleTimeout. A handler may turn its session into an event
// stream (Responder::OpenStream, for `watch`): after the reply the session writes the
// watcher's queue (watch.h) as fast as the client reads, reads nothing more, never times out,
// and closes when the client does. Single-threaded: everything runs on the io_context the
// server was built with.
#pragma once

#include <sys/types.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "dust/util/status.h"
#include "request_text.h"
#include "watch.h"

namespace dust::daemon {

using Json = nlohmann::json;

inline constexpr size_t kMaxRequestBytes = 65536;  // including the newline; bulk commands:
                                                   // kMaxBulkRequestBytes (request_text.h)
inline constexpr size_t kMaxClients = 64;
inline constexpr std::chrono::seconds kIdleTimeout{600};

// Error codes of docs/control-protocol.md.
namespace errc {
inline constexpr const char* kParseError = "parse_error";
inline constexpr const char* kInvalidRequest = "invalid_request";
inline constexpr const char* kUnknownCommand = "unknown_command";
inline constexpr const char* kInvalidArgument = "invalid_argument";
inline constexpr const char* kNotFound = "not_found";
inline constexpr const char* kFailed = "failed";
inline constexpr const char* kRequestTooLarge = "request_too_large";
inline constexpr const char* kBusy = "busy";
inline constexpr const char* kPermissionDenied = "permission_denied";
inline constexpr const char* kInternal = "internal";
}  // namespace errc

// The reply object for an error, as a JSON line without the newline.
std::string ErrorLine(const Json& id, std::string_view code, std::string_view message);

// Maps a libdust Status to a control error code (not_found, invalid_argument, failed).
const char* ErrorCodeFor(const Status& status);

// One-shot reply channel handed to a command handler. Copyable; the first Ok/Error wins, later
// calls are ignored. If every copy is destroyed without a reply, an "internal" error is sent.
class Responder {
 public:
  using Sink = std::function<void(std::string line)>;  // gets the reply line (no newline)
  // Makes the session a stream of `kinds` events; nullptr where the transport cannot stream.
  using StreamOpener = std::function<std::shared_ptr<Watcher>(std::set<std::string> kinds)>;
  Responder(Json id, Sink sink, StreamOpener opener = {});

  // Turns the request's session into an event stream that starts after this request's reply
  // (which the handler still sends): the session writes the returned watcher's queue from then
  // on. nullptr if this transport cannot stream (the handler then replies with an error).
  std::shared_ptr<Watcher> OpenStream(std::set<std::string> kinds) const;

  void Ok(Json result) const;
  // Ok with a result given as JSON text (one object, no newline), written as it is: for results
  // too large to build as a Json quickly (predict's).
  void OkText(std::string_view result_json) const;
  void Error(std::string_view code, std::string_view message) const;
  void Error(const Status& status) const { Error(ErrorCodeFor(status), status.message()); }
  bool done() const;

 private:
  struct State;
  std::shared_ptr<State> m_state;
};

class ControlDispatcher {
 public:
  // `request` is the whole request object (arguments are its other fields).
  using Handler = std::function<void(const Json& request, const Responder& reply)>;

  // A bulk command's handler: `request` without the member, and the member's JSON text (empty
  // if the request has no such member). The text lives only during the call.
  using BulkHandler =
      std::function<void(const Json& request, std::string_view member, const Responder& reply)>;

  void Register(std::string cmd, Handler handler);
  void RegisterBulk(std::string cmd, std::string member, BulkHandler handler);

  // Parses and dispatches one line (without its newline). `sink` is called exactly once, maybe
  // later. Returns false if the line was blank (no reply, sink not called). `opener` is what
  // the handler's Responder::OpenStream calls (none: streams are refused).
  bool HandleLine(std::string_view line, Responder::Sink sink,
                  Responder::StreamOpener opener = {}) const;

 private:
  struct Bulk {
    std::string member;
    BulkHandler handler;
  };
  // The bulk command whose member the line holds, cut out; nullopt when none applies.
  std::optional<std::pair<const Bulk*, MemberSplit>> SplitBulk(std::string_view line) const;

  std::map<std::string, Handler, std::less<>> m_handlers;
  std::map<std::string, Bulk, std::less<>> m_bulk;
};

// Who may use the socket (beyond the socket file's own mode): root, our uid, our gid, or
// `extra_gid` (the configured control group), including the peer's supplementary groups.
struct PeerPolicy {
  uid_t uid = 0;
  gid_t gid = 0;
  gid_t extra_gid = static_cast<gid_t>(-1);  // -1: none
};

class ControlServer {
 public:
  ControlServer(boost::asio::io_context& io, const ControlDispatcher& dispatcher,
                PeerPolicy policy);
  ~ControlServer();

  // Binds `path`: refuses (kAlreadyExists) if a live daemon answers there, removes a stale
  // socket file, creates the socket with mode 0660 and, if group_gid != -1, that group.
  Status Listen(const std::string& path, gid_t group_gid);
  // Stops accepting and closes the listening socket (and unlinks it). Sessions finish the
  // request in progress; CloseAll ends them.
  void StopAccepting();
  void CloseAll();

  size_t sessions() const;
  uint64_t requests() const { return m_requests; }
  const std::string& path() const { return m_path; }

  class Session;

 private:
  void Accept();

  boost::asio::io_context& m_io;
  const ControlDispatcher& m_dispatcher;
  PeerPolicy m_policy;
  boost::asio::local::stream_protocol::acceptor m_acceptor;
  std::string m_path;
  std::map<Session*, std::weak_ptr<Session>> m_sessions;
  uint64_t m_requests = 0;
  bool m_accepting = false;

  friend class Session;
};

}  // namespace dust::daemon
