// dustd control socket: malformed requests get error replies and the server keeps serving.
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <catch2/catch.hpp>
#include <cerrno>
#include <cstdio>
#include <functional>
#include <memory>
#include <stdexcept>
#include <thread>

#include "control.h"
#include "testutil/temp_dir.h"

using dust::daemon::ControlDispatcher;
using dust::daemon::Json;
using dust::daemon::Responder;

namespace {

ControlDispatcher MakeDispatcher() {
  ControlDispatcher d;
  d.Register("echo", [](const Json& req, const Responder& r) {
    r.Ok({{"value", req.value("value", Json(nullptr))}});
  });
  d.Register("throws", [](const Json&, const Responder&) { throw std::runtime_error("boom"); });
  d.Register("typed", [](const Json& req, const Responder& r) {
    r.Ok({{"n", req.at("n").get<int>()}});  // throws json type_error if n is not a number
  });
  d.Register("silent", [](const Json&, const Responder&) {});
  return d;
}

// Runs one line through the dispatcher; returns the parsed reply, or null if none.
Json Handle(const ControlDispatcher& d, const std::string& line) {
  std::string reply;
  int calls = 0;
  d.HandleLine(line, [&](std::string s) {
    reply = std::move(s);
    ++calls;
  });
  REQUIRE(calls <= 1);
  if (calls == 0) return nullptr;
  Json j = Json::parse(reply, nullptr, false);
  REQUIRE_FALSE(j.is_discarded());
  return j;
}

std::string Code(const Json& reply) { return reply.at("error").at("code").get<std::string>(); }

}  // namespace

TEST_CASE("control: text that is not JSON gets parse_error", "[daemon][control]") {
  auto d = MakeDispatcher();
  Json r = Handle(d, "hello there");
  CHECK(r["ok"] == false);
  CHECK(Code(r) == "parse_error");
  CHECK(r["id"].is_null());
  CHECK(Code(Handle(d, "{\"cmd\": \"echo\"")) == "parse_error");
  CHECK(Code(Handle(d, "\xff\xfe\x01")) == "parse_error");
}

TEST_CASE("control: JSON that is not an object gets parse_error", "[daemon][control]") {
  auto d = MakeDispatcher();
  CHECK(Code(Handle(d, "[1,2,3]")) == "parse_error");
  CHECK(Code(Handle(d, "42")) == "parse_error");
  CHECK(Code(Handle(d, "\"status\"")) == "parse_error");
}

TEST_CASE("control: a missing or non-string cmd gets invalid_request with the id echoed",
          "[daemon][control]") {
  auto d = MakeDispatcher();
  Json r = Handle(d, R"({"id": 7})");
  CHECK(Code(r) == "invalid_request");
  CHECK(r["id"] == 7);
  CHECK(Code(Handle(d, R"({"id": "x", "cmd": 5})")) == "invalid_request");
  CHECK(Code(Handle(d, R"({"id": [1], "cmd": "echo"})")) == "invalid_request");
}

TEST_CASE("control: an unknown command gets unknown_command", "[daemon][control]") {
  auto d = MakeDispatcher();
  Json r = Handle(d, R"({"id": "a", "cmd": "reboot"})");
  CHECK(Code(r) == "unknown_command");
  CHECK(r["id"] == "a");
}

TEST_CASE("control: a valid request gets ok with the id echoed", "[daemon][control]") {
  auto d = MakeDispatcher();
  Json r = Handle(d, R"({"id": "req-1", "cmd": "echo", "value": 3})");
  CHECK(r["ok"] == true);
  CHECK(r["id"] == "req-1");
  CHECK(r["result"]["value"] == 3);
  // No id: null in the reply. A trailing \r is tolerated.
  Json r2 = Handle(d, "{\"cmd\": \"echo\"}\r");
  CHECK(r2["ok"] == true);
  CHECK(r2["id"].is_null());
}

TEST_CASE("control: a blank line gets no reply", "[daemon][control]") {
  auto d = MakeDispatcher();
  CHECK(Handle(d, "").is_null());
  CHECK(Handle(d, "   \r").is_null());
}

TEST_CASE("control: a handler that throws gets internal and the dispatcher serves on",
          "[daemon][control]") {
  auto d = MakeDispatcher();
  CHECK(Code(Handle(d, R"({"cmd": "throws"})")) == "internal");
  CHECK(Code(Handle(d, R"({"cmd": "typed", "n": "not a number"})")) == "invalid_argument");
  CHECK(Handle(d, R"({"cmd": "typed", "n": 4})")["result"]["n"] == 4);
}

TEST_CASE("control: a handler that never replies still produces one internal error",
          "[daemon][control]") {
  auto d = MakeDispatcher();
  CHECK(Code(Handle(d, R"({"id": 1, "cmd": "silent"})")) == "internal");
}

namespace {

sockaddr_un UnixAddress(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path.c_str());
  return addr;
}

// A blocking client on its own thread while the test thread runs the io_context.
struct Client {
  int fd = -1;
  explicit Client(const std::string& path) {
    fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr = UnixAddress(path);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      throw std::runtime_error("connect failed");
    }
    timeval tv{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  }
  ~Client() { ::close(fd); }
  void Send(const std::string& s) {
    size_t done = 0;
    while (done < s.size()) {
      ssize_t n = ::send(fd, s.data() + done, s.size() - done, MSG_NOSIGNAL);
      if (n <= 0) return;  // the server may close on us (too large)
      done += static_cast<size_t>(n);
    }
  }
  // Reads until `lines` newlines or EOF; returns the text.
  std::string Read(size_t lines) {
    std::string out;
    char buf[4096];
    while (static_cast<size_t>(std::count(out.begin(), out.end(), '\n')) < lines) {
      ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
      if (n <= 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
    return out;
  }
  // The server closed the connection (EOF, or a reset because our unread bytes were dropped);
  // a receive timeout does not count.
  bool Closed() {
    char c;
    ssize_t n = ::recv(fd, &c, 1, 0);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
  }
};

constexpr gid_t kNoGroup = static_cast<gid_t>(-1);

// Who the test servers admit: this process's user and group, no control group.
dust::daemon::PeerPolicy OwnUserOnly() { return {::geteuid(), ::getegid(), kNoGroup}; }

// A socket path in a fresh directory and the io_context a server there runs on.
struct ServerEnv {
  dust::testutil::TempDir dir;
  boost::asio::io_context io;
  std::string path = dir.Path("ctl.sock");

  // A server for `d` listening on `path`.
  std::unique_ptr<dust::daemon::ControlServer> Listen(const ControlDispatcher& d) {
    auto server = std::make_unique<dust::daemon::ControlServer>(io, d, OwnUserOnly());
    REQUIRE(server->Listen(path, kNoGroup).ok());
    return server;
  }

  // Runs `io` on the test thread while `client` talks to the server from its own thread with
  // blocking sockets; returns when the client is done (or after 10 s).
  void RunWithClient(const std::function<void()>& client) {
    std::thread t([&] {
      client();
      io.post([&] { io.stop(); });
    });
    io.run_for(std::chrono::seconds(10));
    t.join();
  }
};

std::vector<Json> Lines(const std::string& text) {
  std::vector<Json> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string::npos) break;
    out.push_back(Json::parse(text.substr(start, nl - start)));
    start = nl + 1;
  }
  return out;
}

}  // namespace

TEST_CASE("control server: pipelined requests are answered in order, malformed ones included",
          "[daemon][control]") {
  ServerEnv env;
  auto d = MakeDispatcher();
  auto server = env.Listen(d);
  std::string received;
  env.RunWithClient([&] {
    Client c(env.path);
    c.Send(
        "{\"id\":1,\"cmd\":\"echo\",\"value\":\"a\"}\nnot json\n\n{\"id\":3,\"cmd\":\"nope\"}\n"
        "{\"id\":4,\"cmd\":\"throws\"}\n{\"id\":5,\"cmd\":\"echo\",\"value\":\"b\"}\n");
    received = c.Read(5);
  });
  auto lines = Lines(received);
  REQUIRE(lines.size() == 5);
  CHECK(lines[0]["result"]["value"] == "a");
  CHECK(Code(lines[1]) == "parse_error");
  CHECK(Code(lines[2]) == "unknown_command");
  CHECK(lines[2]["id"] == 3);
  CHECK(Code(lines[3]) == "internal");
  CHECK(lines[4]["result"]["value"] == "b");
}

TEST_CASE("control server: a handler that replies later still gets its reply written",
          "[daemon][control]") {
  ServerEnv env;
  ControlDispatcher d;
  d.Register("later", [&io = env.io](const Json&, const Responder& r) {
    // Reply from a later turn of the loop, after the session's read handler has returned.
    auto timer = std::make_shared<boost::asio::steady_timer>(io, std::chrono::milliseconds(50));
    timer->async_wait([timer, r](boost::system::error_code) { r.Ok({{"late", true}}); });
  });
  auto server = env.Listen(d);
  std::string received;
  env.RunWithClient([&] {
    Client c(env.path);
    c.Send("{\"id\":1,\"cmd\":\"later\"}\n{\"id\":2,\"cmd\":\"later\"}\n");
    received = c.Read(2);
  });
  auto lines = Lines(received);
  REQUIRE(lines.size() == 2);
  CHECK(lines[0]["id"] == 1);
  CHECK(lines[0]["result"]["late"] == true);
  CHECK(lines[1]["id"] == 2);
}

TEST_CASE("control server: an oversized request gets request_too_large and the connection closes",
          "[daemon][control]") {
  ServerEnv env;
  auto d = MakeDispatcher();
  auto server = env.Listen(d);
  std::string big_reply, after;
  bool eof = false;
  env.RunWithClient([&] {
    {
      Client c(env.path);
      c.Send(std::string(dust::daemon::kMaxBulkRequestBytes + 100, 'x'));
      big_reply = c.Read(1);
      eof = c.Closed();
    }
    // The server still serves new clients.
    Client c2(env.path);
    c2.Send("{\"cmd\":\"echo\",\"value\":1}\n");
    after = c2.Read(1);
  });
  auto lines = Lines(big_reply);
  REQUIRE(lines.size() == 1);
  CHECK(Code(lines[0]) == "request_too_large");
  CHECK(eof);
  auto ok = Lines(after);
  REQUIRE(ok.size() == 1);
  CHECK(ok[0]["ok"] == true);
}

TEST_CASE("control server: refuses to start when a live server answers on the path",
          "[daemon][control]") {
  ServerEnv env;
  auto d = MakeDispatcher();
  auto first = env.Listen(d);
  dust::daemon::ControlServer second(env.io, d, OwnUserOnly());
  CHECK(second.Listen(env.path, kNoGroup).code() == dust::StatusCode::kAlreadyExists);
}

TEST_CASE("control server: a stale socket file is replaced and the socket is mode 0660",
          "[daemon][control]") {
  ServerEnv env;
  auto d = MakeDispatcher();
  // A server that has come and gone: ~ControlServer unlinks its socket. Recreate a stale file
  // the way kill -9 leaves it.
  env.Listen(d).reset();
  {
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr = UnixAddress(env.path);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
    ::close(fd);  // bound, never listening: connect gets ECONNREFUSED
  }
  auto fresh = env.Listen(d);
  struct stat st {};
  REQUIRE(::stat(env.path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0660);
}

TEST_CASE(
    "control server: a whole line over 64 KiB for a command that is not bulk gets "
    "request_too_large and the connection serves on",
    "[daemon][control]") {
  ServerEnv env;
  auto d = MakeDispatcher();
  auto server = env.Listen(d);
  std::string replies;
  env.RunWithClient([&] {
    Client c(env.path);
    std::string pad(dust::daemon::kMaxRequestBytes, 'a');
    c.Send("{\"id\":1,\"cmd\":\"echo\",\"pad\":\"" + pad + "\"}\n{\"id\":2,\"cmd\":\"echo\"}\n");
    replies = c.Read(2);
  });
  auto lines = Lines(replies);
  REQUIRE(lines.size() == 2);
  CHECK(Code(lines[0]) == "request_too_large");
  CHECK(lines[0]["error"]["message"] == "request line longer than 65536 bytes");
  CHECK(lines[1]["ok"] == true);
}

namespace {

// A dispatcher with the plain commands and one bulk command, "bulk", whose member "rows" it
// echoes back as text with the rest of the request.
ControlDispatcher MakeBulkDispatcher() {
  ControlDispatcher d = MakeDispatcher();
  d.RegisterBulk("bulk", "rows", [](const Json& req, std::string_view rows, const Responder& r) {
    r.Ok({{"rows_text", std::string(rows)}, {"rest", req}});
  });
  return d;
}

}  // namespace

TEST_CASE("control: a bulk command gets its member as text and the rest parsed",
          "[daemon][control]") {
  auto d = MakeBulkDispatcher();
  Json r = Handle(d, R"( { "rows" : [[1, 2], [3,4]] , "id":"x", "cmd":"bulk", "k":{"a":"]"} } )");
  REQUIRE(r["ok"] == true);
  CHECK(r["id"] == "x");
  CHECK(r["result"]["rows_text"] == "[[1, 2], [3,4]]");
  CHECK(r["result"]["rest"] == Json({{"id", "x"}, {"cmd", "bulk"}, {"k", {{"a", "]"}}}}));
  // Member names with escapes are not cut out, but the request still works: the member is
  // re-serialised from the parsed request.
  r = Handle(d, R"({"cmd":"bulk","r\u006fws":[[5]]})");
  REQUIRE(r["ok"] == true);
  CHECK(r["result"]["rows_text"] == "[[5]]");
  CHECK_FALSE(r["result"]["rest"].contains("rows"));
  // No member: empty text.
  r = Handle(d, R"({"cmd":"bulk"})");
  CHECK(r["result"]["rows_text"] == "");
  // A broken line is still a parse error, cut or not.
  CHECK(Code(Handle(d, R"({"cmd":"bulk","rows":[[1]] x})")) == "parse_error");
  CHECK(Code(Handle(d, R"({"cmd":"bulk","rows":[[1]],"id":})")) == "parse_error");
  // A plain command's line may hold the member too: it is an unknown field, ignored.
  CHECK(Handle(d, R"({"cmd":"echo","value":3,"rows":[[1]]})")["result"]["value"] == 3);
}

TEST_CASE("control: only a bulk command's line may be longer than 64 KiB", "[daemon][control]") {
  auto d = MakeBulkDispatcher();
  const std::string big = "[[" + std::string(dust::daemon::kMaxRequestBytes, '1') + "]]";
  Json r = Handle(d, R"({"cmd":"bulk","rows":)" + big + "}");
  REQUIRE(r["ok"] == true);
  CHECK(r["result"]["rows_text"].get<std::string>().size() == big.size());
  Json too_large = Handle(d, R"({"cmd":"echo","rows":)" + big + "}");
  CHECK(Code(too_large) == "request_too_large");
  CHECK(too_large["error"]["message"] ==
        "request line longer than 65536 bytes (only bulk may be longer)");
  CHECK(Code(Handle(d, R"({"cmd":"echo","x":")" + big + "\"}")) == "request_too_large");
}
