// Prometheus text exposition (format 0.0.4), and the optional HTTP endpoint that serves it.
//
// MetricsText builds the text: HELP and TYPE once per family, then all of its samples together
// (the format wants a family's lines in one group: samples added out of order are still written
// with their family), families in the order they were first added. Label values and HELP text
// are escaped as the format requires; values are written so that they parse back to the same
// double. The families are documented in docs/operations.md ("Metrics"; a test compares a real
// scrape with that table). MetricsHttpServer serves GET /metrics on a loopback address
// only (checked by the options), one request per connection, 8 KiB header cap, 5 s deadline; it
// exists so Prometheus can scrape without access to the control socket. Other pages (the
// dashboard at /) are added with AddPage.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "dust/util/status.h"

namespace dust::daemon {

using Labels = std::vector<std::pair<std::string, std::string>>;

class MetricsText {
 public:
  void Counter(const std::string& name, const std::string& help, double value,
               const Labels& labels = {});
  void Gauge(const std::string& name, const std::string& help, double value,
             const Labels& labels = {});
  std::string str() const;

 private:
  struct Family {
    std::string name;
    std::string help;
    const char* type;
    std::string samples;  // its sample lines, in the order added
  };
  void Sample(const std::string& name, const std::string& help, const char* type, double value,
              const Labels& labels);
  std::vector<Family> m_families;
  std::map<std::string, size_t> m_index;  // name -> m_families index
};

// Label value escaping of the text format: backslash, double quote and line feed.
std::string EscapeLabelValue(const std::string& value);
// HELP text escaping of the text format: backslash and line feed.
std::string EscapeHelp(const std::string& help);
// A sample value: shortest text that parses back to the same double; NaN, +Inf, -Inf.
std::string FormatSampleValue(double v);

class MetricsHttpServer {
 public:
  using Render = std::function<std::string()>;
  MetricsHttpServer(boost::asio::io_context& io, Render render);
  ~MetricsHttpServer();

  // A page served at `path` (exact match; the query string, without '?', goes to `render`).
  using PageRender = std::function<std::string(const std::string& query)>;
  void AddPage(const std::string& path, const std::string& content_type, PageRender render);
  struct Page {
    std::string content_type;
    PageRender render;
  };

  // host:port, loopback (validated by the caller).
  Status Listen(const std::string& host, uint16_t port);
  void Close();
  uint64_t requests() const { return m_requests; }

 private:
  void Accept();

  boost::asio::io_context& m_io;
  Render m_render;
  // Shared with the sessions, which may outlive a closed server until the loop drops them.
  std::shared_ptr<std::map<std::string, Page>> m_pages =
      std::make_shared<std::map<std::string, Page>>();
  boost::asio::ip::tcp::acceptor m_acceptor;
  uint64_t m_requests = 0;
};

}  // namespace dust::daemon
