// dustctl end to end against a fake daemon on a Unix socket: the subcommand table, the client,
// exit codes and what goes to stdout and stderr.
#include <poll.h>
#include <sodium.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cli.h"
#include "commands.h"
#include "dust/ml/model.h"
#include "dust/net/identity.h"
#include "dust/util/crypto.h"
#include "dust/util/file.h"
#include "qr.h"
#include "testutil/temp_dir.h"

using namespace dust;
using namespace dust::ctl;
using dust::testutil::TempDir;
using nlohmann::json;

namespace {

const Command kTable[] = {
    {"status", CmdStatus, "status"},
    {"peers", CmdPeers, "peers"},
    {"trust show", CmdTrustShow, "show"},
    {"trust add", CmdTrustAdd, "add"},
    {"trust list", CmdTrustList, "list"},
    {"trust remove", CmdTrustRemove, "remove"},
    {"model export", CmdModelExport, "export"},
    {"evaluate", CmdEvaluate, "evaluate"},
    {"predict", CmdPredict, "predict"},
    {"pause", CmdPause, "pause"},
    {"resume", CmdResume, "resume"},
    {"metrics", CmdMetrics, "metrics"},
    {"checkpoint", CmdCheckpoint, "checkpoint"},
    {"rescan", CmdRescan, "rescan"},
};

// Serves one scripted reply line per connection: `reply(request)` returns the raw line to send
// (without newline). Records every request line it read.
class FakeDaemon {
 public:
  FakeDaemon(const std::string& path, std::function<std::string(const json&)> reply)
      : m_reply(std::move(reply)) {
    m_fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(m_fd >= 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    REQUIRE(path.size() < sizeof(addr.sun_path));
    std::memcpy(addr.sun_path, path.data(), path.size());
    REQUIRE(::bind(m_fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
    REQUIRE(::listen(m_fd, 8) == 0);
    m_thread = std::thread([this] { Serve(); });
  }
  ~FakeDaemon() {
    m_stop = true;
    m_thread.join();
    ::close(m_fd);
  }
  std::vector<json> requests() {
    std::lock_guard<std::mutex> lock(m_mu);
    return m_requests;
  }

 private:
  void Serve() {
    while (!m_stop) {
      pollfd p{m_fd, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      int c = ::accept(m_fd, nullptr, nullptr);
      if (c < 0) continue;
      std::string line;
      char ch;
      while (::read(c, &ch, 1) == 1 && ch != '\n') line.push_back(ch);
      json req = json::parse(line, nullptr, false);
      {
        std::lock_guard<std::mutex> lock(m_mu);
        m_requests.push_back(req);
      }
      std::string out = m_reply(req);
      if (!out.empty()) out += "\n";
      size_t done = 0;
      while (done < out.size()) {
        ssize_t n = ::send(c, out.data() + done, out.size() - done, MSG_NOSIGNAL);
        if (n <= 0) break;
        done += static_cast<size_t>(n);
      }
      ::close(c);
    }
  }

  std::function<std::string(const json&)> m_reply;
  int m_fd = -1;
  std::atomic<bool> m_stop{false};
  std::thread m_thread;
  std::mutex m_mu;
  std::vector<json> m_requests;
};

std::string Ok(const json& req, const json& result) {
  return json{{"id", req.value("id", json())}, {"ok", true}, {"result", result}}.dump();
}

struct Run {
  int rc;
  std::string out;
  std::string err;
};

Run RunCtl(const std::vector<std::string>& args,
           std::function<bool(const std::string&)> confirm = {}) {
  std::ostringstream out, err;
  Context ctx;
  ctx.out = &out;
  ctx.err = &err;
  ctx.confirm = std::move(confirm);
  ctx.now_ms = 1795000060000;
  ctx.timeout_ms = 5000;
  int rc = RunDustctl(ctx, kTable, args);
  return {rc, out.str(), err.str()};
}

std::string TestUri(PublicKey* key_out = nullptr) {
  REQUIRE(InitCrypto().ok());
  std::array<uint8_t, kSeedBytes> seed{};
  seed[0] = 9;
  KeyPair kp = KeyPairFromSeed(seed);
  if (key_out != nullptr) *key_out = kp.public_key;
  auto uri = FormatPairingUri(kp.public_key, "garage");
  REQUIRE(uri.ok());
  return *uri;
}

}  // namespace

TEST_CASE("unreachable daemon exits 2 naming the socket path and a hint") {
  TempDir dir("dust-ctl-cli");
  const std::string sock = dir.Path("none.sock");
  Run r = RunCtl({"--socket", sock, "status"});
  CHECK(r.rc == kExitUnreachable);
  CHECK(r.out.empty());
  CHECK(r.err.find(sock) != std::string::npos);
  CHECK(r.err.find("is dustd running?") != std::string::npos);
  CHECK(r.err.find("dust group") != std::string::npos);
}

TEST_CASE("socket path comes from --socket then DUST_SOCKET then the default") {
  ::setenv("DUST_SOCKET", "/tmp/from-env.sock", 1);
  CHECK(ResolveSocketPath("") == "/tmp/from-env.sock");
  CHECK(ResolveSocketPath("/x.sock") == "/x.sock");
  ::unsetenv("DUST_SOCKET");
  CHECK(ResolveSocketPath("") == "/run/dust/dustd.sock");
}

TEST_CASE("daemon error reply exits 3 and prints the daemon's message and code") {
  TempDir dir("dust-ctl-cli");
  const std::string sock = dir.Path("d.sock");
  FakeDaemon d(sock, [](const json& req) {
    return json{{"id", req["id"]},
                {"ok", false},
                {"error", {{"code", "not_found"}, {"message", "NOPE: not a trusted node"}}}}
        .dump();
  });
  Run r = RunCtl({"--socket", sock, "trust", "remove", "NOPE"});
  CHECK(r.rc == kExitRefused);
  CHECK(r.err.find("NOPE: not a trusted node (not_found)") != std::string::npos);
  REQUIRE(d.requests().size() == 1);
  CHECK(d.requests()[0]["cmd"] == "trust.remove");
  CHECK(d.requests()[0]["node_id"] == "NOPE");
}

TEST_CASE("a reply that is not protocol json or closes early or has another id exits 2") {
  TempDir dir("dust-ctl-cli");
  const std::string sock = dir.Path("d.sock");
  std::string reply;
  FakeDaemon d(sock, [&](const json&) { return reply; });
  for (std::string bad : {std::string("hello"), std::string("[1,2]"), std::string(""),
                          std::string(R"({"id":999,"ok":true,"result":{}})")}) {
    reply = bad;
    Run r = RunCtl({"--socket", sock, "status"});
    INFO(bad);
    CHECK(r.rc == kExitUnreachable);
  }
}

TEST_CASE("usage errors exit 1 without contacting the daemon") {
  TempDir dir("dust-ctl-cli");
  const std::string sock = dir.Path("d.sock");
  FakeDaemon d(sock, [](const json& req) { return Ok(req, json::object()); });
  CHECK(RunCtl({"--socket", sock, "bogus"}).rc == kExitUsage);
  CHECK(RunCtl({"--socket", sock, "status", "--bogus"}).rc == kExitUsage);
  CHECK(RunCtl({"--socket", sock, "status", "extra"}).rc == kExitUsage);
  CHECK(RunCtl({"--socket", sock, "trust"}).rc == kExitUsage);
  CHECK(RunCtl({"--socket", sock, "trust", "remove"}).rc == kExitUsage);
  CHECK(RunCtl({"--socket", sock, "model", "export", "--format", "onnx"}).rc == kExitUsage);
  CHECK(RunCtl({"--socket", sock, "model", "export", "-f", "tflite", "-o", "x"}).rc == kExitUsage);
  CHECK(RunCtl({"--socket", sock, "evaluate"}).rc == kExitUsage);
  CHECK(RunCtl({"--socket", sock, "--timeout", "0", "status"}).rc == kExitUsage);
  CHECK(RunCtl({"--socket", sock, "trust", "add", "dust://v1/garbage", "--yes"}).rc == kExitUsage);
  CHECK(d.requests().empty());
}

TEST_CASE("every command's --help exits 0 and describes it") {
  for (const Command& c : kTable) {
    std::vector<std::string> args;
    std::istringstream words(c.name);
    for (std::string w; words >> w;) args.push_back(w);
    args.push_back("--help");
    Run r = RunCtl(args);
    INFO(c.name);
    CHECK(r.rc == kExitOk);
    CHECK(r.out.rfind(std::string("Usage: dustctl ") + c.name, 0) == 0);
    CHECK(r.out.find("--json") != std::string::npos);
  }
}

TEST_CASE("status --json prints the daemon's whole result; plain status is terse text") {
  TempDir dir("dust-ctl-cli");
  const std::string sock = dir.Path("d.sock");
  const json result = {
      {"node_id", "N4QZ"}, {"future_field", {1, 2, 3}}, {"model", {{"rounds", 5}}}};
  FakeDaemon d(sock, [&](const json& req) { return Ok(req, result); });
  Run j = RunCtl({"--socket", sock, "--json", "status"});
  CHECK(j.rc == kExitOk);
  CHECK(json::parse(j.out) == result);
  Run h = RunCtl({"status", "--socket", sock});
  CHECK(h.rc == kExitOk);
  CHECK(h.out.rfind("node: N4QZ\n", 0) == 0);
  CHECK(h.out.find("rounds 5") != std::string::npos);
}

TEST_CASE("trust add asks for confirmation and sends nothing when declined") {
  TempDir dir("dust-ctl-cli");
  const std::string sock = dir.Path("d.sock");
  FakeDaemon d(sock, [](const json& req) {
    return Ok(req, {{"node_id", "X"}, {"display_name", "garage"}, {"added", true}});
  });
  PublicKey key{};
  const std::string uri = TestUri(&key);
  std::string asked;
  Run no = RunCtl({"--socket", sock, "trust", "add", uri}, [&](const std::string& prompt) {
    asked = prompt;
    return false;
  });
  CHECK(no.rc == kExitUsage);
  CHECK(asked.find("[y/N]") != std::string::npos);
  CHECK(no.err.find(FormatNodeId(key)) != std::string::npos);  // the fingerprint was shown
  CHECK(d.requests().empty());

  Run yes =
      RunCtl({"--socket", sock, "trust", "add", uri}, [](const std::string&) { return true; });
  CHECK(yes.rc == kExitOk);
  CHECK(yes.out == "trusted X (garage)\n");
  REQUIRE(d.requests().size() == 1);
  CHECK(d.requests()[0]["cmd"] == "trust.add");
  CHECK(d.requests()[0]["uri"] == uri);
}

TEST_CASE("trust add takes a node id alone or with its key and refuses a mismatched key") {
  TempDir dir("dust-ctl-cli");
  const std::string sock = dir.Path("d.sock");
  FakeDaemon d(sock, [](const json& req) { return Ok(req, {{"added", false}}); });
  PublicKey key{};
  TestUri(&key);
  const std::string id = FormatNodeId(key);
  Run a = RunCtl({"--socket", sock, "trust", "add", "--yes", id});
  CHECK(a.rc == kExitOk);
  CHECK(a.out.find("already trusted") != std::string::npos);
  Run b = RunCtl({"--socket", sock, "trust", "add", "-y", id, ToHex(key)});
  CHECK(b.rc == kExitOk);
  PublicKey other = key;
  other[0] ^= 1;
  Run c = RunCtl({"--socket", sock, "trust", "add", "-y", id, ToHex(other)});
  CHECK(c.rc == kExitUsage);
  CHECK(c.err.find("does not belong") != std::string::npos);
  auto reqs = d.requests();
  REQUIRE(reqs.size() == 2);
  CHECK(reqs[0]["node_id"] == id);
  CHECK(reqs[0]["public_key"] == ToHex(key));
}

TEST_CASE("trust show png and trust add --qr-image pair through the image") {
  TempDir dir("dust-ctl-cli");
  const std::string sock = dir.Path("d.sock");
  PublicKey key{};
  const std::string uri = TestUri(&key);
  FakeDaemon d(sock, [&](const json& req) {
    if (req["cmd"] == "trust.show") {
      return Ok(req, {{"node_id", FormatNodeId(key)},
                      {"public_key", ToHex(key)},
                      {"pairing_uri", uri},
                      {"display_name", "garage"}});
    }
    return Ok(req, {{"node_id", FormatNodeId(key)}, {"added", true}});
  });
  const std::string png = dir.Path("pair.png");
  Run show = RunCtl({"--socket", sock, "trust", "show", "--png", png});
  CHECK(show.rc == kExitOk);
  CHECK(show.out.find("pairing URI: " + uri) != std::string::npos);
  CHECK(show.out.find("\u2588") != std::string::npos);  // the terminal QR code
  Run add = RunCtl({"--socket", sock, "trust", "add", "--yes", "--qr-image", png});
  CHECK(add.rc == kExitOk);
  auto reqs = d.requests();
  REQUIRE(reqs.size() == 2);
  CHECK(reqs[1]["uri"] == uri);
}

TEST_CASE("model export writes the file and a bad output path exits 4") {
  TempDir dir("dust-ctl-cli");
  const std::string sock = dir.Path("d.sock");
  auto m = Mlp::Create({4, 3, 2});
  REQUIRE(m.ok());
  m->Init(1);
  Bytes raw;
  ByteWriter w(&raw);
  for (float v : m->params()) w.F32(v);
  std::string b64(sodium_base64_ENCODED_LEN(raw.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(b64.data(), b64.size(), raw.data(), raw.size(), sodium_base64_VARIANT_ORIGINAL);
  b64.pop_back();
  FakeDaemon d(sock, [&](const json& req) {
    return Ok(req, {{"architecture", {{"layers", {4, 3, 2}}}},
                    {"rounds", 3},
                    {"steps", 9},
                    {"node_id", "NODE"},
                    {"params_b64", b64}});
  });
  const std::string out = dir.Path("m.json");
  Run r = RunCtl({"--socket", sock, "--json", "model", "export", "--format", "json", "-o", out});
  CHECK(r.rc == kExitOk);
  json summary = json::parse(r.out);
  CHECK(summary["path"] == out);
  CHECK(summary["rounds"] == 3);
  auto file = ReadFile(out, 1 << 20);
  REQUIRE(file.ok());
  json doc = json::parse(file->begin(), file->end());
  CHECK(doc["metadata"]["node_id"] == "NODE");
  CHECK(doc["metadata"]["training_rounds"] == "3");
  CHECK(d.requests()[0]["cmd"] == "model.export");

  Run bad = RunCtl({"--socket", sock, "model", "export", "--format", "onnx", "-o",
                    dir.Path("no/such/dir/m.onnx")});
  CHECK(bad.rc == kExitLocal);
}

TEST_CASE("client refuses a reply longer than its cap") {
  TempDir dir("dust-ctl-cli");
  const std::string sock = dir.Path("d.sock");
  FakeDaemon d(sock, [](const json&) { return std::string(300000, 'x'); });
  ClientOptions o;
  o.socket_path = sock;
  o.max_reply_bytes = 100000;
  CallResult r = Call(o, {{"cmd", "status"}});
  CHECK(r.error == CallError::kUnreachable);
  CHECK(r.message.find("longer than 100000") != std::string::npos);
}

TEST_CASE("predict sends the rows in batches of the daemon's limit and prints every row") {
  TempDir dir("dust-ctl-cli");
  const std::string sock = dir.Path("d.sock");
  // 600 rows of a 2-feature, 3-class table: three requests (256, 256, 88 rows). The fake daemon
  // predicts class (first feature) % 3; the label is right for every even row.
  std::string csv = "a,label,b\n";
  for (int i = 0; i < 600; ++i) {
    const int cls = i % 3;
    csv += std::to_string(i) + ".5," + std::to_string(i % 2 == 0 ? cls : (cls + 1) % 3) + ",-" +
           std::to_string(i) + "e-3\n";
  }
  const std::string file = dir.WriteFile("rows.csv", csv);
  FakeDaemon d(sock, [&](const json& req) {
    if (req["cmd"] == "status") return Ok(req, {{"model", {{"architecture", {2, 4, 3}}}}});
    json predictions = json::array();
    for (const json& row : req["features"]) {
      const int cls = static_cast<int>(row[0].get<double>()) % 3;
      json probs = {0.0, 0.0, 0.0};
      probs[cls] = 1.0;
      predictions.push_back({{"class", cls}, {"probabilities", probs}});
    }
    return Ok(req, {{"rows", predictions.size()}, {"predictions", predictions}});
  });
  Run r = RunCtl({"--socket", sock, "predict", file});
  CHECK(r.rc == kExitOk);
  const std::vector<json> reqs = d.requests();
  REQUIRE(reqs.size() == 4);
  CHECK(reqs[0]["cmd"] == "status");
  CHECK(reqs[1]["features"].size() == 256);
  CHECK(reqs[2]["features"].size() == 256);
  CHECK(reqs[3]["features"].size() == 88);
  CHECK(reqs[3]["id"] == 3);
  // The values as the CSV reader read them (the label column left out).
  CHECK(reqs[3]["features"][87] == json({599.5, -0.599}));
  CHECK(r.out.find("row 0: class 0, probability 1.0000, label 0\n") == 0);
  CHECK(r.out.find("row 599: class 2, probability 1.0000, label 0\n") != std::string::npos);
  CHECK(r.out.find("accuracy 50.0% on 600 rows (300 correct; CSV with a label column)\n") !=
        std::string::npos);
  Run j = RunCtl({"--socket", sock, "--json", "predict", file});
  CHECK(j.rc == kExitOk);
  std::istringstream lines(j.out);
  std::string line;
  std::vector<json> parsed;
  while (std::getline(lines, line)) parsed.push_back(json::parse(line));
  REQUIRE(parsed.size() == 601);
  CHECK(parsed[1] == json({{"row", 1},
                           {"class", 1},
                           {"probability", 1.0},
                           {"probabilities", {0.0, 1.0, 0.0}},
                           {"label", 2}}));
  CHECK(parsed[600] ==
        json({{"summary", true}, {"rows", 600}, {"correct", 300}, {"accuracy", 0.5}}));
  // Refused locally before any row is sent: a file of the wrong width.
  const std::string wide = dir.WriteFile("wide.csv", "1,2,3,4\n");
  Run w = RunCtl({"--socket", sock, "predict", wide});
  CHECK(w.rc == kExitUsage);
  CHECK(w.err.find("the model takes 2 features") != std::string::npos);
  CHECK(d.requests().size() == 4 + 4 + 1);  // the second run's 4, then this one's status only
}
