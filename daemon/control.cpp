#include "control.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <vector>

#include "log.h"

namespace dust::daemon {
namespace asio = boost::asio;
using UnixStream = asio::local::stream_protocol;  // the control socket's protocol (AF_UNIX)

std::string ErrorLine(const Json& id, std::string_view code, std::string_view message) {
  Json reply = {{"id", id},
                {"ok", false},
                {"error", {{"code", std::string(code)}, {"message", std::string(message)}}}};
  // Messages can quote bytes from the request: replace invalid UTF-8 instead of throwing.
  return reply.dump(-1, ' ', false, Json::error_handler_t::replace);
}

const char* ErrorCodeFor(const Status& status) {
  switch (status.code()) {
    case StatusCode::kNotFound:
      return errc::kNotFound;
    case StatusCode::kInvalidArgument:
    case StatusCode::kAlreadyExists:
      return errc::kInvalidArgument;
    default:
      return errc::kFailed;
  }
}

// ---------------------------------------------------------------------------------------------
// Responder

struct Responder::State {
  Json id;
  Sink sink;
  StreamOpener opener;
  bool done = false;

  ~State() {
    if (!done && sink) {
      sink(ErrorLine(id, errc::kInternal, "the command ended without a reply"));
    }
  }
};

Responder::Responder(Json id, Sink sink, StreamOpener opener) : m_state(std::make_shared<State>()) {
  m_state->id = std::move(id);
  m_state->sink = std::move(sink);
  m_state->opener = std::move(opener);
}

std::shared_ptr<Watcher> Responder::OpenStream(std::set<std::string> kinds) const {
  if (m_state->done || !m_state->opener) return nullptr;
  return m_state->opener(std::move(kinds));
}

void Responder::Ok(Json result) const {
  if (m_state->done) return;
  m_state->done = true;
  Json reply = {{"id", m_state->id}, {"ok", true}, {"result", std::move(result)}};
  m_state->sink(reply.dump(-1, ' ', false, Json::error_handler_t::replace));
}

void Responder::Error(std::string_view code, std::string_view message) const {
  if (m_state->done) return;
  m_state->done = true;
  m_state->sink(ErrorLine(m_state->id, code, message));
}

void Responder::OkText(std::string_view result_json) const {
  if (m_state->done) return;
  m_state->done = true;
  std::string line = "{\"id\":";
  line += m_state->id.dump(-1, ' ', false, Json::error_handler_t::replace);
  line += ",\"ok\":true,\"result\":";
  line.append(result_json);
  line += '}';
  m_state->sink(std::move(line));
}

bool Responder::done() const { return m_state->done; }

// ---------------------------------------------------------------------------------------------
// ControlDispatcher

void ControlDispatcher::Register(std::string cmd, Handler handler) {
  m_handlers[std::move(cmd)] = std::move(handler);
}

void ControlDispatcher::RegisterBulk(std::string cmd, std::string member, BulkHandler handler) {
  m_bulk[std::move(cmd)] = Bulk{std::move(member), std::move(handler)};
}

std::optional<std::pair<const ControlDispatcher::Bulk*, MemberSplit>> ControlDispatcher::SplitBulk(
    std::string_view line) const {
  for (const auto& [cmd, bulk] : m_bulk) {
    // Only lines that name the member are scanned.
    if (line.find("\"" + bulk.member + "\"") == std::string_view::npos) continue;
    if (auto split = SplitMember(line, bulk.member)) return std::make_pair(&bulk, *split);
  }
  return std::nullopt;
}

bool ControlDispatcher::HandleLine(std::string_view line, Responder::Sink sink,
                                   Responder::StreamOpener opener) const {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.find_first_not_of(" \t") == std::string_view::npos) return false;

  const bool long_line = line.size() + 1 > kMaxRequestBytes;  // + the newline
  auto split = SplitBulk(line);
  if (!split && long_line) {
    sink(ErrorLine(nullptr, errc::kRequestTooLarge,
                   "request line longer than " + std::to_string(kMaxRequestBytes) + " bytes"));
    return true;
  }
  Json request = Json::parse(split ? std::string_view(split->second.rest) : line, nullptr,
                             /*allow_exceptions=*/false);
  if (request.is_discarded()) {
    sink(ErrorLine(nullptr, errc::kParseError, "request is not valid JSON"));
    return true;
  }
  if (!request.is_object()) {
    sink(ErrorLine(nullptr, errc::kParseError, "request must be a JSON object"));
    return true;
  }
  Json id = nullptr;
  if (auto it = request.find("id"); it != request.end()) {
    if (!it->is_number() && !it->is_string() && !it->is_null()) {
      sink(ErrorLine(nullptr, errc::kInvalidRequest, "\"id\" must be a number, string or null"));
      return true;
    }
    id = *it;
  }
  auto cmd_it = request.find("cmd");
  if (cmd_it == request.end() || !cmd_it->is_string()) {
    sink(ErrorLine(id, errc::kInvalidRequest, "\"cmd\" (a string) is required"));
    return true;
  }
  const std::string& cmd = cmd_it->get_ref<const std::string&>();
  auto handler = m_handlers.find(cmd);
  auto bulk = m_bulk.find(cmd);
  if (handler == m_handlers.end() && bulk == m_bulk.end()) {
    std::string known;
    for (const auto& [name, h] : m_handlers) known += (known.empty() ? "" : ", ") + name;
    for (const auto& [name, b] : m_bulk) known += (known.empty() ? "" : ", ") + name;
    sink(ErrorLine(id, errc::kUnknownCommand,
                   "unknown command '" + cmd.substr(0, 64) + "' (known: " + known + ")"));
    return true;
  }
  if (long_line && (bulk == m_bulk.end() || split->first != &bulk->second)) {
    std::string longer;
    for (const auto& [name, b] : m_bulk) longer += (longer.empty() ? "" : ", ") + name;
    if (!longer.empty()) longer = " (only " + longer + " may be longer)";
    sink(ErrorLine(
        id, errc::kRequestTooLarge,
        "request line longer than " + std::to_string(kMaxRequestBytes) + " bytes" + longer));
    return true;
  }
  Responder responder(id, std::move(sink), std::move(opener));
  try {
    if (bulk != m_bulk.end()) {
      // The member as text: cut out of the line, or (a line SplitMember could not cut, e.g.
      // one whose member names use escapes) re-serialised from the parsed request.
      std::string dumped;
      std::string_view text;
      if (split && split->first == &bulk->second) {
        text = split->second.value;
      } else if (auto m = request.find(bulk->second.member); m != request.end()) {
        dumped = m->dump();
        text = dumped;
        request.erase(bulk->second.member);
      }
      bulk->second.handler(request, text, responder);
    } else {
      handler->second(request, responder);
    }
  } catch (const Json::exception& e) {
    // A handler read an argument with the wrong type (get<> threw).
    responder.Error(errc::kInvalidArgument, std::string("bad argument: ") + e.what());
  } catch (const std::exception& e) {
    responder.Error(errc::kInternal, e.what());
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Session

namespace {

bool PeerAllowed(int fd, const PeerPolicy& policy, std::string* who) {
  ucred cred{};
  socklen_t len = sizeof(cred);
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
    *who = std::string("unknown peer (SO_PEERCRED: ") + std::strerror(errno) + ")";
    return false;
  }
  *who = "pid " + std::to_string(cred.pid) + " uid " + std::to_string(cred.uid) + " gid " +
         std::to_string(cred.gid);
  auto gid_ok = [&](gid_t g) {
    return g == policy.gid || (policy.extra_gid != static_cast<gid_t>(-1) && g == policy.extra_gid);
  };
  if (cred.uid == 0 || cred.uid == policy.uid || gid_ok(cred.gid)) return true;
#ifdef SO_PEERGROUPS
  // Operators are usually in the control group as a supplementary group.
  std::vector<gid_t> groups(64);
  len = static_cast<socklen_t>(groups.size() * sizeof(gid_t));
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups.data(), &len) != 0 && errno == ERANGE) {
    groups.resize(len / sizeof(gid_t) + 1);
    len = static_cast<socklen_t>(groups.size() * sizeof(gid_t));
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups.data(), &len) != 0) len = 0;
  }
  groups.resize(len / sizeof(gid_t));
  for (gid_t g : groups) {
    if (gid_ok(g)) return true;
  }
#endif
  return false;
}

}  // namespace

// How much a session asks the socket for at a time.
constexpr size_t kReadChunk = 65536;

class ControlServer::Session : public std::enable_shared_from_this<Session> {
 public:
  Session(ControlServer* server, UnixStream::socket socket)
      : m_server(server), m_socket(std::move(socket)), m_idle(m_socket.get_executor()) {}

  void Start(bool busy) {
    if (busy) {
      Write(ErrorLine(nullptr, errc::kBusy,
                      "too many control clients (" + std::to_string(kMaxClients) + ")"),
            true);
      return;
    }
    std::string who;
    if (!PeerAllowed(m_socket.native_handle(), m_server->m_policy, &who)) {
      LogWarn("control: refused {} (not root, not the daemon's user or group)", who);
      Write(ErrorLine(nullptr, errc::kPermissionDenied,
                      "not allowed: " + who + " is not root, the daemon's user or its group"),
            true);
      return;
    }
    ReadNext();
  }

  void Close() {
    boost::system::error_code ec;
    m_idle.cancel();
    m_socket.shutdown(UnixStream::socket::shutdown_both, ec);
    m_socket.close(ec);
    m_server = nullptr;
    m_watcher.reset();  // the hub forgets it now, not when the last handler lets go
  }

  void Detach() { m_server = nullptr; }

 private:
  // Serves the next request: a whole line already buffered (a client may pipeline), else
  // reads more. Reads go straight into m_pending and each byte is searched for the newline once
  // (memchr): asio::read_until with a streambuf searched and copied byte by byte, a fifth of
  // the daemon's time on 700 kB predict requests.
  void ReadNext() {
    if (!m_socket.is_open()) return;
    if (const void* nl =
            std::memchr(m_pending.data() + m_scanned, '\n', m_pending.size() - m_scanned)) {
      const size_t end = static_cast<size_t>(static_cast<const char*>(nl) - m_pending.data());
      std::string line;
      if (end + 1 == m_pending.size()) {
        line = std::move(m_pending);  // the usual case: no copy of a long line
        line.resize(end);
        m_pending = std::string();
      } else {
        line = m_pending.substr(0, end);
        m_pending.erase(0, end + 1);
      }
      m_scanned = 0;
      return Dispatch(std::move(line));
    }
    m_scanned = m_pending.size();
    if (m_pending.size() >= kMaxBulkRequestBytes) {
      // kMaxBulkRequestBytes without a newline: not read further.
      Write(
          ErrorLine(nullptr, errc::kRequestTooLarge,
                    "request line longer than " + std::to_string(kMaxBulkRequestBytes) + " bytes"),
          true);
      return;
    }
    m_idle.expires_after(kIdleTimeout);
    m_idle.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
      if (ec) return;
      if (auto self = weak.lock()) self->Finish();
    });
    const size_t old = m_pending.size();
    const size_t room = std::min(kReadChunk, kMaxBulkRequestBytes - old);
    m_pending.resize(old + room);
    m_socket.async_read_some(
        asio::buffer(m_pending.data() + old, room),
        [self = shared_from_this(), old](boost::system::error_code ec, size_t n) {
          self->m_pending.resize(old + n);
          self->OnRead(ec);
        });
  }

  void OnRead(boost::system::error_code ec) {
    m_idle.cancel();
    if (!ec) return ReadNext();
    // EOF with a partial last line: answer it too (a client that forgot the newline).
    if (ec == asio::error::eof && !m_pending.empty() && !m_eof_line_done) {
      m_eof_line_done = true;
      std::string line = std::move(m_pending);
      m_pending.clear();
      return Dispatch(std::move(line));
    }
    Finish();
  }

  void Dispatch(std::string line) {
    bool closing = m_eof_line_done;
    if (m_server) ++m_server->m_requests;
    bool replied = false;
    if (m_server) {
      replied = m_server->m_dispatcher.HandleLine(
          // The sink holds the session: a handler that replies later (evaluate, rescan) keeps
          // it alive until its reply is written (Responder guarantees that reply comes).
          line,
          [self = shared_from_this(), closing](std::string reply) {
            if (self->m_socket.is_open()) self->Write(std::move(reply), closing);
          },
          [weak = weak_from_this()](std::set<std::string> kinds) -> std::shared_ptr<Watcher> {
            auto self = weak.lock();
            if (!self || self->m_watcher) return nullptr;
            self->m_watcher = std::make_shared<Watcher>(std::move(kinds), [weak] {
              if (auto s = weak.lock()) s->Pump();
            });
            return self->m_watcher;
          });
    }
    if (!replied) {
      if (closing) {
        Finish();
      } else {
        ReadNext();
      }
    }
  }

  void Write(std::string line, bool close_after) {
    auto data = std::make_shared<std::string>(std::move(line));
    data->push_back('\n');
    m_writing = true;
    asio::async_write(
        m_socket, asio::buffer(*data),
        [self = shared_from_this(), data, close_after](boost::system::error_code ec, size_t) {
          self->m_writing = false;
          if (ec || close_after) {
            self->Finish();
          } else if (self->m_watcher) {
            self->Stream();
          } else {
            self->ReadNext();
          }
        });
  }

  // After the watch reply: the session only writes events from now on. One read stays
  // pending to notice the client leaving (EOF or error ends the session, and the hub forgets the
  // watcher); what the client sends is discarded. No idle timeout: a watch waits for events.
  void Stream() {
    if (!m_streaming) {
      m_streaming = true;
      m_pending.clear();  // what the client sent after `watch` is not read
      m_scanned = 0;
      // What a stuck client can hold in the kernel, on top of the queue (Linux doubles it).
      boost::system::error_code ec;
      m_socket.set_option(asio::socket_base::send_buffer_size(kWatchSocketBufferBytes), ec);
      DiscardInput();
    }
    Pump();
  }

  void DiscardInput() {
    m_socket.async_read_some(asio::buffer(m_discard),
                             [self = shared_from_this()](boost::system::error_code ec, size_t) {
                               if (ec) return self->Finish();
                               self->DiscardInput();
                             });
  }

  // Writes the watcher's next line unless a write is in flight (its completion comes back
  // here). A client that does not read leaves that write pending: the queue fills and drops,
  // the loop goes on.
  void Pump() {
    if (!m_streaming || m_writing || !m_socket.is_open() || !m_watcher) return;
    const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
    if (auto line = m_watcher->queue().Pop(now_ms)) Write(std::move(*line), false);
  }

  void Finish() {
    ControlServer* server = m_server;
    Close();
    if (server) server->m_sessions.erase(this);
  }

  ControlServer* m_server;
  UnixStream::socket m_socket;
  // Bytes read and not yet served, at most kMaxBulkRequestBytes (the longest line any command
  // may send; it grows only as a line does). The first m_scanned have no newline.
  std::string m_pending;
  size_t m_scanned = 0;
  asio::steady_timer m_idle;
  bool m_eof_line_done = false;
  bool m_writing = false;
  bool m_streaming = false;
  std::shared_ptr<Watcher> m_watcher;  // set by `watch`; the hub holds a weak pointer
  std::array<char, 512> m_discard{};
};

// ---------------------------------------------------------------------------------------------
// ControlServer

ControlServer::ControlServer(asio::io_context& io, const ControlDispatcher& dispatcher,
                             PeerPolicy policy)
    : m_io(io), m_dispatcher(dispatcher), m_policy(policy), m_acceptor(io) {}

ControlServer::~ControlServer() {
  StopAccepting();
  CloseAll();
}

size_t ControlServer::sessions() const { return m_sessions.size(); }

Status ControlServer::Listen(const std::string& path, gid_t group_gid) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return Status::AlreadyExists(path + ": exists and is not a socket; refusing to replace it");
    }
    UnixStream::socket probe(m_io);
    boost::system::error_code ec;
    probe.connect(UnixStream::endpoint(path), ec);
    if (!ec) {
      return Status::AlreadyExists(path +
                                   ": another dustd is answering on this socket; stop it "
                                   "first or set control-socket to another path");
    }
    LogInfo("control: removing stale socket {} ({})", path, ec.message());
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
      return Status::IoError(path + ": cannot remove stale socket: " + std::strerror(errno));
    }
  } else {
    // Without systemd's RuntimeDirectory= the directory may not exist yet.
    auto slash = path.find_last_of('/');
    if (slash != std::string::npos && slash > 0) {
      std::string dir = path.substr(0, slash);
      if (::mkdir(dir.c_str(), 0750) != 0 && errno != EEXIST) {
        return Status::IoError(
            dir + ": cannot create the control socket's directory: " + std::strerror(errno));
      }
    }
  }
  boost::system::error_code ec;
  m_acceptor.open(UnixStream(), ec);
  if (ec) return Status::IoError(path + ": socket: " + ec.message());
  // Created with 0660 from the start: no window in which others could connect.
  mode_t old_mask = ::umask(0117);
  m_acceptor.bind(UnixStream::endpoint(path), ec);
  ::umask(old_mask);
  if (ec) return Status::IoError(path + ": bind: " + ec.message());
  if (::chmod(path.c_str(), 0660) != 0) {
    return Status::IoError(path + ": chmod 0660: " + std::strerror(errno));
  }
  if (group_gid != static_cast<gid_t>(-1) &&
      ::chown(path.c_str(), static_cast<uid_t>(-1), group_gid) != 0) {
    return Status::IoError(path + ": cannot give the socket group " + std::to_string(group_gid) +
                           ": " + std::strerror(errno));
  }
  m_acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Status::IoError(path + ": listen: " + ec.message());
  m_path = path;
  m_accepting = true;
  Accept();
  return Status::Ok();
}

void ControlServer::Accept() {
  m_acceptor.async_accept([this](boost::system::error_code ec, UnixStream::socket socket) {
    if (!m_accepting) return;
    if (ec) {
      if (ec == asio::error::operation_aborted) return;
      LogWarn("control: accept failed: {}", ec.message());
      // EMFILE and friends: keep accepting (after this one) rather than going deaf.
    } else {
      auto session = std::make_shared<Session>(this, std::move(socket));
      bool busy = m_sessions.size() >= kMaxClients;
      if (!busy) m_sessions[session.get()] = session;
      session->Start(busy);
    }
    Accept();
  });
}

void ControlServer::StopAccepting() {
  if (!m_accepting) return;
  m_accepting = false;
  boost::system::error_code ec;
  m_acceptor.cancel(ec);
  m_acceptor.close(ec);
  if (!m_path.empty()) ::unlink(m_path.c_str());
}

void ControlServer::CloseAll() {
  auto sessions = std::move(m_sessions);
  m_sessions.clear();
  for (auto& [raw, weak] : sessions) {
    if (auto s = weak.lock()) s->Close();
  }
}

}  // namespace dust::daemon
