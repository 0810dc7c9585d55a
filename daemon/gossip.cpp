#include "gossip.h"

#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <boost/asio/ip/multicast.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <cstring>

#include "log.h"

namespace dust::daemon {
namespace asio = boost::asio;
using udp = asio::ip::udp;

struct GossipSocket::Endpoint {
  explicit Endpoint(asio::io_context& io) : socket(io) {}
  udp::socket socket;
  std::array<uint8_t, kReceiveBufferBytes> buffer{};
};

std::vector<asio::ip::address_v4> InterfaceBroadcastAddresses() {
  std::vector<asio::ip::address_v4> out;
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return out;
  for (ifaddrs* ifa = list; ifa; ifa = ifa->ifa_next) {
    if (!ifa->ifa_addr || ifa->ifa_addr->sa_family != AF_INET) continue;
    if (!(ifa->ifa_flags & IFF_UP) || !(ifa->ifa_flags & IFF_BROADCAST)) continue;
    if (!ifa->ifa_broadaddr) continue;
    // Copied out rather than cast: a sockaddr* promises less alignment than a sockaddr_in, and
    // 32-bit ARM can fault on a misaligned multi-word load (-Wcast-align warns there).
    sockaddr_in sin{};
    std::memcpy(&sin, ifa->ifa_broadaddr, sizeof sin);
    auto addr = asio::ip::address_v4(ntohl(sin.sin_addr.s_addr));
    if (addr.is_unspecified()) continue;
    if (std::find(out.begin(), out.end(), addr) == out.end()) out.push_back(addr);
  }
  ::freeifaddrs(list);
  return out;
}

GossipSocket::GossipSocket(asio::io_context& io, ReceiveFn on_receive)
    : m_io(io), m_on_receive(std::move(on_receive)) {}

GossipSocket::~GossipSocket() { Close(); }

Status GossipSocket::Open(const Options& options) {
  boost::system::error_code ec;
  auto bind_addr = asio::ip::make_address(options.bind_address, ec);
  if (ec)
    return Status::InvalidArgument("bind-address " + options.bind_address + ": " + ec.message());
  m_port = options.port;

  bool want_v6 = bind_addr.is_v6() || !options.multicast_group.empty();
  for (const auto& p : options.peers) {
    if (!p.empty() && p[0] == '[') want_v6 = true;
  }
  auto open = [&](const udp::endpoint& at, bool v6only) -> Status {
    auto ep = std::make_unique<Endpoint>(m_io);
    udp::socket& s = ep->socket;
    std::string where = "udp " + at.address().to_string() + ":" + std::to_string(at.port());
    s.open(at.protocol(), ec);
    if (ec) return Status::IoError(where + ": socket: " + ec.message());
    s.set_option(udp::socket::reuse_address(true), ec);
    int one = 1;
    // Several daemons on one host (tests, demos) share the port; each gets every broadcast.
    if (::setsockopt(s.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) {
      LogWarn("{}: SO_REUSEPORT failed; only one daemon per host can use this port", where);
    }
    if (at.protocol() == udp::v4()) s.set_option(asio::socket_base::broadcast(true), ec);
    if (v6only) s.set_option(asio::ip::v6_only(true), ec);
    s.non_blocking(true, ec);
    s.bind(at, ec);
    if (ec) {
      return Status::IoError(where + ": bind: " + ec.message() +
                             (ec == asio::error::address_in_use
                                  ? " (another program holds the port without SO_REUSEPORT)"
                                  : ""));
    }
    m_sockets.push_back(std::move(ep));
    return Status::Ok();
  };
  if (bind_addr.is_v4()) {
    DUST_RETURN_IF_ERROR(open(udp::endpoint(bind_addr, m_port), false));
    if (want_v6) {
      Status st = open(udp::endpoint(asio::ip::address_v6::any(), m_port), true);
      if (!st.ok()) LogWarn("IPv6 disabled: {}", st.message());
    }
  } else {
    DUST_RETURN_IF_ERROR(open(udp::endpoint(bind_addr, m_port), true));
  }

  if (!options.multicast_group.empty()) {
    for (auto& ep : m_sockets) {
      if (ep->socket.local_endpoint(ec).protocol() != udp::v6()) continue;
      auto group = asio::ip::make_address_v6(options.multicast_group, ec);
      unsigned int ifindex = 0;
      if (!options.multicast_interface.empty()) {
        ifindex = ::if_nametoindex(options.multicast_interface.c_str());
        if (ifindex == 0) {
          return Status::InvalidArgument("multicast-interface " + options.multicast_interface +
                                         ": no such interface");
        }
      }
      ep->socket.set_option(asio::ip::multicast::join_group(group, ifindex), ec);
      if (ec) {
        LogWarn("multicast group {}: join failed: {}", options.multicast_group, ec.message());
        continue;
      }
      if (ifindex) ep->socket.set_option(asio::ip::multicast::outbound_interface(ifindex), ec);
      ep->socket.set_option(asio::ip::multicast::hops(1), ec);
      ep->socket.set_option(asio::ip::multicast::enable_loopback(true), ec);
    }
  }
  RefreshDestinations(options);
  for (auto& ep : m_sockets) StartReceive(*ep);
  return Status::Ok();
}

void GossipSocket::RefreshDestinations(const Options& options) {
  std::vector<udp::endpoint> dest;
  boost::system::error_code ec;
  auto add = [&](const udp::endpoint& e) {
    if (std::find(dest.begin(), dest.end(), e) == dest.end()) dest.push_back(e);
  };
  if (options.broadcast.size() == 1 && options.broadcast[0] == "auto") {
    for (const auto& a : InterfaceBroadcastAddresses()) add(udp::endpoint(a, m_port));
  } else {
    for (const auto& b : options.broadcast) {
      auto a = asio::ip::make_address_v4(b, ec);
      if (!ec) add(udp::endpoint(a, m_port));
    }
  }
  if (!options.multicast_group.empty()) {
    auto g = asio::ip::make_address_v6(options.multicast_group, ec);
    if (!ec) {
      if (g.is_multicast_link_local() && !options.multicast_interface.empty()) {
        g.scope_id(::if_nametoindex(options.multicast_interface.c_str()));
      }
      add(udp::endpoint(g, m_port));
    }
  }
  udp::resolver resolver(m_io);
  for (const auto& p : options.peers) {
    auto hp = SplitHostPort(p);
    if (!hp.ok()) continue;
    auto results =
        resolver.resolve(hp->first, std::to_string(hp->second), udp::resolver::numeric_service, ec);
    if (ec || results.empty()) {
      LogWarn("peer {}: cannot resolve: {}", p, ec ? ec.message() : "no addresses");
      continue;
    }
    add(results.begin()->endpoint());
  }
  if (dest != m_destinations) {
    std::string list;
    for (const auto& d : dest) {
      list += (list.empty() ? "" : ", ") + d.address().to_string() + ":" + std::to_string(d.port());
    }
    LogInfo("gossip destinations: {}", list.empty() ? "none (receive only)" : list);
  }
  m_destinations = std::move(dest);
}

void GossipSocket::Close() {
  *m_alive = false;
  m_alive = std::make_shared<bool>(true);
  boost::system::error_code ec;
  for (auto& ep : m_sockets) ep->socket.close(ec);
  m_sockets.clear();
}

void GossipSocket::StartReceive(Endpoint& ep) {
  ep.socket.async_wait(
      udp::socket::wait_read, [this, &ep, alive = m_alive](boost::system::error_code ec) {
        if (!*alive || ec == asio::error::operation_aborted) return;
        if (ec) {
          ++m_counters.receive_errors;
        } else {
          // Drain a bounded batch, then go back to the loop so timers and the control socket get
          // their turn even under a flood.
          for (size_t i = 0; i < kReceiveBatch; ++i) {
            udp::endpoint from;
            boost::system::error_code rec;
            size_t n = ep.socket.receive_from(asio::buffer(ep.buffer), from, 0, rec);
            if (rec == asio::error::would_block || rec == asio::error::try_again) break;
            if (rec) {
              ++m_counters.receive_errors;
              break;
            }
            ++m_counters.datagrams_in;
            m_counters.bytes_in += n;
            m_on_receive(ByteView(ep.buffer.data(), n), from);
            if (!*alive) return;  // the callback closed us
          }
        }
        StartReceive(ep);
      });
}

void GossipSocket::SendToAll(ByteView datagram) {
  boost::system::error_code ec;
  for (const auto& dest : m_destinations) {
    for (auto& ep : m_sockets) {
      udp::endpoint local = ep->socket.local_endpoint(ec);
      if (ec || local.protocol() != dest.protocol()) continue;
      ep->socket.send_to(asio::buffer(datagram.data(), datagram.size()), dest, 0, ec);
      if (ec) {
        ++m_counters.send_errors;
        LogDebug("send to {}:{} failed: {}", dest.address().to_string(), dest.port(), ec.message());
      } else {
        ++m_counters.datagrams_out;
        m_counters.bytes_out += datagram.size();
      }
      break;
    }
  }
}

}  // namespace dust::daemon
