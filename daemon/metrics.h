// Prometheus text exposition (format 0.0.4), and the optional HTTP endpoint that serves it.
//
// MetricsText builds the text: HELP and TYPE once per family, then its samples. Label values are
// escaped as the format requires. MetricsHttpServer serves GET /metrics on a loopback address
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
  const std::string& str() const { return m_text; }

 private:
  void Sample(const std::string& name, const std::string& help, const char* type, double value,
              const Labels& labels);
  std::string m_text;
  std::set<std::string> m_declared;
};

std::string EscapeLabelValue(const std::string& value);

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
