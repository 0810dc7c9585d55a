#include "metrics.h"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <cassert>
#include <charconv>
#include <cmath>
#include <memory>
#include <string_view>

#include "log.h"

namespace dust::daemon {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

std::string EscapeLabelValue(const std::string& value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string EscapeHelp(const std::string& help) {
  std::string out;
  out.reserve(help.size());
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string FormatSampleValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  // Shortest round trip: a scraper reads back exactly the double the daemon has (the
  // Prometheus test compares dust_model_test_accuracy with dustctl's JSON for equality).
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  return ec == std::errc() ? std::string(buf, end) : "NaN";
}

void MetricsText::Sample(const std::string& name, const std::string& help, const char* type,
                         double value, const Labels& labels) {
  auto [it, added] = m_index.try_emplace(name, m_families.size());
  if (added) m_families.push_back({name, help, type, {}});
  Family& f = m_families[it->second];
  // One name, one type: a second Counter/Gauge call with another type is a bug in the caller.
  assert(std::string_view(f.type) == type);
  std::string& out = f.samples;
  out += name;
  if (!labels.empty()) {
    out += "{";
    for (size_t i = 0; i < labels.size(); ++i) {
      if (i) out += ",";
      out += labels[i].first + "=\"" + EscapeLabelValue(labels[i].second) + "\"";
    }
    out += "}";
  }
  out += " " + FormatSampleValue(value) + "\n";
}

std::string MetricsText::str() const {
  std::string text;
  for (const Family& f : m_families) {
    text += "# HELP " + f.name + " " + EscapeHelp(f.help) + "\n# TYPE " + f.name + " " + f.type +
            "\n" + f.samples;
  }
  return text;
}

void MetricsText::Counter(const std::string& name, const std::string& help, double value,
                          const Labels& labels) {
  // The format's convention, which promtool checks: a counter's name ends in _total.
  assert(name.size() > 6 && name.compare(name.size() - 6, 6, "_total") == 0);
  Sample(name, help, "counter", value, labels);
}

void MetricsText::Gauge(const std::string& name, const std::string& help, double value,
                        const Labels& labels) {
  Sample(name, help, "gauge", value, labels);
}

namespace {

// The Host header of a request meant for this loopback server: empty (HTTP/1.0), "localhost",
// an IPv4 loopback address or [::1], each with or without a port.
bool LoopbackHost(std::string_view host) {
  if (host.empty()) return true;
  std::string_view name = host;
  if (name.front() == '[') {
    const size_t close = name.find(']');
    if (close == std::string_view::npos) return false;
    const std::string_view rest = name.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') return false;
    return name.substr(1, close - 1) == "::1";
  }
  name = name.substr(0, name.find(':'));
  if (name == "localhost") return true;
  boost::system::error_code ec;
  const auto v4 = boost::asio::ip::make_address_v4(std::string(name), ec);
  return !ec && v4.is_loopback();
}

class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  using Pages = std::map<std::string, MetricsHttpServer::Page>;
  HttpSession(tcp::socket socket, MetricsHttpServer::Render render,
              std::shared_ptr<const Pages> pages)
      : m_stream(std::move(socket)), m_render(std::move(render)), m_pages(std::move(pages)) {}

  void Start() {
    m_parser.header_limit(8192);
    m_parser.body_limit(0);
    m_stream.expires_after(std::chrono::seconds(5));
    http::async_read(m_stream, m_buffer, m_parser,
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       if (ec) return;
                       self->Respond();
                     });
  }

 private:
  void Respond() {
    const auto& req = m_parser.get();
    m_response.version(req.version());
    m_response.keep_alive(false);
    m_response.set(http::field::server, "dustd");
    std::string target(req.target());
    const auto host = req[http::field::host];
    if (!LoopbackHost(std::string_view(host.data(), host.size()))) {
      // DNS rebinding: a web page the operator opens can point its own name at 127.0.0.1 and
      // read the answers; its requests carry that name as Host. SSH tunnels and proxies that
      // pass the upstream's host (nginx's default) send a loopback one.
      m_response.result(http::status::misdirected_request);
      m_response.set(http::field::content_type, "text/plain");
      m_response.body() =
          "dustd answers only requests for a loopback host (localhost, 127.0.0.1, [::1])\n";
    } else if (req.method() != http::verb::get && req.method() != http::verb::head) {
      m_response.result(http::status::method_not_allowed);
      m_response.set(http::field::content_type, "text/plain");
      m_response.body() = "only GET\n";
    } else if (target == "/metrics") {
      m_response.result(http::status::ok);
      m_response.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
      m_response.body() = m_render();
    } else if (!ServePage(target)) {
      m_response.result(http::status::not_found);
      m_response.set(http::field::content_type, "text/plain");
      m_response.body() = "see /metrics\n";
    }
    m_response.prepare_payload();
    http::async_write(m_stream, m_response, [self = shared_from_this()](beast::error_code, size_t) {
      beast::error_code ec;
      self->m_stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    });
  }

  // A page added with AddPage, if `target` (path and query) names one.
  bool ServePage(const std::string& target) {
    const size_t q = target.find('?');
    auto page = m_pages->find(target.substr(0, q));
    if (page == m_pages->end()) return false;
    m_response.result(http::status::ok);
    m_response.set(http::field::content_type, page->second.content_type);
    m_response.set(http::field::cache_control, "no-store");
    m_response.body() = page->second.render(q == std::string::npos ? "" : target.substr(q + 1));
    return true;
  }

  beast::tcp_stream m_stream;
  beast::flat_buffer m_buffer;
  http::request_parser<http::empty_body> m_parser;
  http::response<http::string_body> m_response;
  MetricsHttpServer::Render m_render;
  std::shared_ptr<const Pages> m_pages;
};

}  // namespace

MetricsHttpServer::MetricsHttpServer(asio::io_context& io, Render render)
    : m_io(io), m_render(std::move(render)), m_acceptor(io) {}

MetricsHttpServer::~MetricsHttpServer() { Close(); }

void MetricsHttpServer::AddPage(const std::string& path, const std::string& content_type,
                                PageRender render) {
  (*m_pages)[path] = Page{content_type, std::move(render)};
}

Status MetricsHttpServer::Listen(const std::string& host, uint16_t port) {
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(host, ec);
  if (ec || !addr.is_loopback()) return Status::InvalidArgument(host + ": not a loopback address");
  tcp::endpoint ep(addr, port);
  m_acceptor.open(ep.protocol(), ec);
  if (!ec) m_acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) m_acceptor.bind(ep, ec);
  if (!ec) m_acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Status::IoError("metrics-listen " + host + ":" + std::to_string(port) + ": " +
                           ec.message());
  }
  Accept();
  return Status::Ok();
}

void MetricsHttpServer::Close() {
  boost::system::error_code ec;
  m_acceptor.close(ec);
}

void MetricsHttpServer::Accept() {
  m_acceptor.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !m_acceptor.is_open()) return;
    if (!ec) {
      ++m_requests;
      std::make_shared<HttpSession>(std::move(socket), m_render, m_pages)->Start();
    }
    Accept();
  });
}

}  // namespace dust::daemon
