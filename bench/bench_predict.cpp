// predict over a running dustd's control socket (docs/benchmarks.md, "Predict over the control
// socket"):
//
//   dust-bench predict --control SOCK [--data DIR] [--count N] [--gap-ms G] [--batches B]
//                      [--batch-rows R]
//
// The rows are DIR's test images (t10k-images-idx3-ubyte.gz, as dustctl predict sends them:
// shortest-form floats, PredictRequestLine). Three measurements, one JSON line each:
//   one-row: N requests of one row each on one connection (as an app keeps it open), G ms
//            apart: round-trip p50, p90, p99, max;
//   one-row-connect: the same with a new connection per request (as dustctl does);
//   batched: B requests of R rows (default: the daemon's limit for the width) back to back on
//            one connection: rows per second, from the first send to the last reply.
// Every reply must be ok with one prediction per row; the exit code is 1 otherwise.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <boost/program_options.hpp>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "bench_options.h"
#include "bench_registry.h"
#include "dust/ml/idx_reader.h"
#include "request_text.h"

namespace dust::bench {
namespace {
namespace po = boost::program_options;
using Clock = std::chrono::steady_clock;

// A blocking connection to the control socket: one request line out, one reply line back.
class ControlConnection {
 public:
  explicit ControlConnection(const std::string& path) {
    m_fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path.c_str());
    if (::connect(m_fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      ::close(m_fd);
      m_fd = -1;
    }
  }
  ~ControlConnection() {
    if (m_fd >= 0) ::close(m_fd);
  }
  ControlConnection(const ControlConnection&) = delete;
  ControlConnection& operator=(const ControlConnection&) = delete;

  bool ok() const { return m_fd >= 0; }

  // Sends `line` (with its newline already appended); returns the reply line, "" on error.
  std::string Exchange(const std::string& line) {
    size_t sent = 0;
    while (sent < line.size()) {
      ssize_t n = ::send(m_fd, line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return "";
      sent += static_cast<size_t>(n);
    }
    for (;;) {
      if (size_t nl = m_buf.find('\n'); nl != std::string::npos) {
        std::string reply = m_buf.substr(0, nl);
        m_buf.erase(0, nl + 1);
        return reply;
      }
      char chunk[65536];
      ssize_t n = ::recv(m_fd, chunk, sizeof(chunk), 0);
      if (n <= 0) return "";
      m_buf.append(chunk, static_cast<size_t>(n));
    }
  }

 private:
  int m_fd = -1;
  std::string m_buf;
};

// The reply is ok and holds `rows` predictions. Checked on the text, not parsed: nlohmann::json
// takes longer to parse a 256-row reply than the daemon takes to answer it, and this measures
// the daemon.
bool Answered(const std::string& reply, size_t rows) {
  if (reply.find("\"ok\":true,\"result\":{\"rows\":" + std::to_string(rows) + ",") ==
      std::string::npos) {
    return false;
  }
  size_t found = 0;
  for (size_t at = reply.find("{\"class\":"); at != std::string::npos;
       at = reply.find("{\"class\":", at + 1)) {
    ++found;
  }
  return found == rows;
}

nlohmann::json Percentiles(std::vector<double> ms) {
  std::sort(ms.begin(), ms.end());
  auto pct = [&](double p) {
    return ms[std::min(ms.size() - 1, static_cast<size_t>(p * static_cast<double>(ms.size())))];
  };
  return {
      {"p50_ms", pct(0.50)}, {"p90_ms", pct(0.90)}, {"p99_ms", pct(0.99)}, {"max_ms", ms.back()}};
}

int RunPredict(int argc, char** argv) {
  po::options_description desc(
      "dust-bench predict: predict round trips and rows/s over dustd's "
      "control socket");
  // clang-format off
  desc.add_options()
    ("help,h", "this help")
    ("control", po::value<std::string>()->required(), "dustd's control socket")
    ("data", po::value<std::string>()->default_value("data/mnist-10k"),
     "directory with t10k-images-idx3-ubyte.gz (the rows)")
    ("count", po::value<uint32_t>()->default_value(2000), "one-row requests (each way; 0: none)")
    ("gap-ms", po::value<double>()->default_value(1), "pause between one-row requests")
    ("batches", po::value<uint32_t>()->default_value(200), "batched requests")
    ("batch-rows", po::value<uint32_t>()->default_value(0),
     "rows per batched request (0: the daemon's limit for the width)");
  // clang-format on
  po::variables_map vm;
  if (auto rc = ParseCommandLine(argc, argv, desc, {argv[0]}, &vm)) return *rc;
  const std::string control = vm["control"].as<std::string>();
  LoadOptions lo;
  auto rows = LoadIdxImages(vm["data"].as<std::string>() + "/t10k-images-idx3-ubyte.gz", lo);
  if (!rows.ok()) {
    std::cerr << "predict: " << rows.status().message() << "\n";
    return 1;
  }
  const size_t n = rows->size();
  std::vector<std::string> one_row(n);
  for (size_t i = 0; i < n; ++i) one_row[i] = daemon::PredictRequestLine(*rows, i, i + 1, i) + "\n";
  uint32_t failures = 0;
  const auto gap = std::chrono::duration<double, std::milli>(vm["gap-ms"].as<double>());
  const uint32_t count = vm["count"].as<uint32_t>();

  // One row per request, on one connection and then on a new one each time (--count 0: not).
  for (bool reconnect : {false, true}) {
    if (count == 0) break;
    std::vector<double> ms;
    auto conn = std::make_unique<ControlConnection>(control);
    for (uint32_t i = 0; i < count; ++i) {
      auto t0 = Clock::now();
      if (reconnect) conn = std::make_unique<ControlConnection>(control);
      const std::string reply = conn->ok() ? conn->Exchange(one_row[i % n]) : "";
      const double dt = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
      if (Answered(reply, 1)) {
        ms.push_back(dt);
      } else {
        ++failures;
      }
      std::this_thread::sleep_for(gap);
    }
    if (ms.empty()) {
      std::cerr << "predict: no one-row request succeeded\n";
      return 1;
    }
    nlohmann::json out = {{"bench", reconnect ? "predict-one-row-connect" : "predict-one-row"},
                          {"requests", count}};
    out.update(Percentiles(ms));
    std::cout << out.dump() << std::endl;
  }

  // Batches back to back on one connection.
  uint32_t batch_rows = vm["batch-rows"].as<uint32_t>();
  if (batch_rows == 0) batch_rows = static_cast<uint32_t>(daemon::MaxPredictRows(784));
  std::vector<std::string> batches;
  for (size_t begin = 0; begin + batch_rows <= n; begin += batch_rows) {
    batches.push_back(daemon::PredictRequestLine(*rows, begin, begin + batch_rows, begin) + "\n");
  }
  if (batches.empty()) {
    std::cerr << "predict: fewer rows than --batch-rows\n";
    return 1;
  }
  ControlConnection conn(control);
  const uint32_t count_batches = vm["batches"].as<uint32_t>();
  size_t bytes = 0;
  auto t0 = Clock::now();
  for (uint32_t b = 0; b < count_batches; ++b) {
    const std::string& line = batches[b % batches.size()];
    bytes += line.size();
    if (!Answered(conn.ok() ? conn.Exchange(line) : "", batch_rows)) ++failures;
  }
  const double s = std::chrono::duration<double>(Clock::now() - t0).count();
  const double total_rows = static_cast<double>(count_batches) * batch_rows;
  std::cout << nlohmann::json({{"bench", "predict-batched"},
                               {"requests", count_batches},
                               {"rows_per_request", batch_rows},
                               {"request_bytes_mean", bytes / count_batches},
                               {"seconds", s},
                               {"rows_per_s", total_rows / s},
                               {"failures", failures}})
                   .dump()
            << std::endl;
  return failures == 0 ? 0 : 1;
}

const BenchRegistrar kPredict{"predict", "predict round trips and rows/s over dustd's socket",
                              &RunPredict};

}  // namespace
}  // namespace dust::bench
