#include "gossip.h"

#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <boost/asio/ip/multicast.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <cerrno>
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

// Appended piece by piece: g++ 12's -Wrestrict misfires on the chain of operator+ once this
// is inlined.
std::string EndpointText(const udp::endpoint& ep) {
  const bool v6 = ep.address().is_v6();
  std::string text;
  if (v6) text += '[';
  text += ep.address().to_string();
  if (v6) text += ']';
  text += ':';
  text += std::to_string(ep.port());
  return text;
}

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
  // An IPv6 peer, or an IPv6 endpoint of our own (peers will send to it), needs the v6 socket.
  for (const auto* list : {&options.peers, &options.endpoints}) {
    for (const auto& p : *list) {
      if (!p.empty() && p[0] == '[') want_v6 = true;
    }
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
    // The destination address of each datagram: whether it came by broadcast (the peer is in
    // our broadcast domain) or by unicast (the peer reached us across routers: roaming).
    if (at.protocol() == udp::v4()) {
      (void)::setsockopt(s.native_handle(), IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
    } else {
      (void)::setsockopt(s.native_handle(), IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one));
    }
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
      ep->socket.set_option(asio::ip::multicast::hops(static_cast<int>(options.multicast_hops)),
                            ec);
      ep->socket.set_option(asio::ip::multicast::enable_loopback(true), ec);
    }
  }
  RefreshDestinations(options);
  for (auto& ep : m_sockets) StartReceive(*ep);
  return Status::Ok();
}

void GossipSocket::RefreshDestinations(const Options& options) {
  m_options = options;
  std::vector<udp::endpoint> dest;
  boost::system::error_code ec;
  auto add = [&](const udp::endpoint& e) {
    if (std::find(dest.begin(), dest.end(), e) == dest.end()) dest.push_back(e);
  };
  std::vector<asio::ip::address_v4> broadcast = InterfaceBroadcastAddresses();
  if (options.broadcast.size() == 1 && options.broadcast[0] == "auto") {
    for (const auto& a : broadcast) add(udp::endpoint(a, m_port));
  } else {
    for (const auto& b : options.broadcast) {
      auto a = asio::ip::make_address_v4(b, ec);
      if (ec) continue;
      add(udp::endpoint(a, m_port));
      if (std::find(broadcast.begin(), broadcast.end(), a) == broadcast.end()) {
        broadcast.push_back(a);
      }
    }
  }
  broadcast.push_back(asio::ip::address_v4::broadcast());
  m_broadcast_addresses = std::move(broadcast);
  if (!options.multicast_group.empty()) {
    auto g = asio::ip::make_address_v6(options.multicast_group, ec);
    if (!ec) {
      if (g.is_multicast_link_local() && !options.multicast_interface.empty()) {
        g.scope_id(::if_nametoindex(options.multicast_interface.c_str()));
      }
      add(udp::endpoint(g, m_port));
    }
  }
  for (const auto& p : options.peers) {
    if (auto e = Lookup(p)) add(*e);
  }
  if (dest != m_destinations) {
    std::string list;
    for (const auto& d : dest) {
      list += (list.empty() ? "" : ", ") + d.address().to_string() + ":" + std::to_string(d.port());
    }
    LogInfo("gossip destinations: {}", list.empty() ? "none (receive only)" : list);
  }
  m_destinations = std::move(dest);
  RebuildUnicast();
}

void GossipSocket::SetUnicast(const std::vector<std::string>& endpoints) {
  if (endpoints == m_unicast_wanted) return;
  m_unicast_wanted = endpoints;
  RebuildUnicast();
}

void GossipSocket::RebuildUnicast() {
  std::vector<udp::endpoint> unicast;
  for (const std::string& text : m_unicast_wanted) {
    std::optional<udp::endpoint> e = Lookup(text);
    if (!e) continue;
    if (std::find(m_destinations.begin(), m_destinations.end(), *e) != m_destinations.end()) {
      continue;
    }
    if (std::find(unicast.begin(), unicast.end(), *e) == unicast.end()) unicast.push_back(*e);
  }
  if (unicast != m_unicast) {
    std::string list;
    for (const auto& d : unicast) {
      list += (list.empty() ? "" : ", ") + d.address().to_string() + ":" + std::to_string(d.port());
    }
    LogInfo("unicast endpoints: {}", list.empty() ? "none" : list);
  }
  m_unicast = std::move(unicast);
}

std::optional<udp::endpoint> GossipSocket::Lookup(const std::string& host_port) {
  auto hp = SplitHostPort(host_port);
  if (!hp.ok()) return std::nullopt;
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(hp->first, ec);
  if (!ec) return udp::endpoint(addr, hp->second);
  auto it = m_resolved.find(host_port);
  if (it == m_resolved.end()) {
    StartResolve(host_port);
    return std::nullopt;
  }
  return it->second;
}

void GossipSocket::StartResolve(const std::string& host_port) {
  auto hp = SplitHostPort(host_port);
  if (!hp.ok() || m_resolving.count(host_port) != 0) return;
  m_resolving.insert(host_port);
  auto resolver = std::make_shared<udp::resolver>(m_io);
  resolver->async_resolve(
      hp->first, std::to_string(hp->second), udp::resolver::numeric_service,
      [this, resolver, host_port, alive = m_alive](const boost::system::error_code& ec,
                                                   const udp::resolver::results_type& results) {
        if (!*alive) return;
        m_resolving.erase(host_port);
        std::optional<udp::endpoint> found;
        if (ec || results.empty()) {
          LogWarn("{}: cannot resolve: {}", host_port, ec ? ec.message() : "no addresses");
        } else {
          found = results.begin()->endpoint();
        }
        auto& slot = m_resolved[host_port];
        if (slot == found) return;
        slot = found;
        if (found) LogInfo("{} resolves to {}", host_port, found->address().to_string());
        if (m_options) RefreshDestinations(*m_options);  // rebuilds the unicast list too
      });
}

void GossipSocket::ResolveNamesAgain() {
  // Forget names no longer in use (bounded by the config and the endpoint table).
  std::vector<std::string> in_use = m_unicast_wanted;
  if (m_options) in_use.insert(in_use.end(), m_options->peers.begin(), m_options->peers.end());
  std::erase_if(m_resolved, [&](const auto& kv) {
    return std::find(in_use.begin(), in_use.end(), kv.first) == in_use.end();
  });
  for (const auto& [name, addr] : m_resolved) StartResolve(name);
}

bool GossipSocket::IsBroadcastDestination(const asio::ip::address& to) const {
  if (to.is_multicast()) return true;
  if (!to.is_v4()) return false;
  const auto v4 = to.to_v4();
  return std::find(m_broadcast_addresses.begin(), m_broadcast_addresses.end(), v4) !=
         m_broadcast_addresses.end();
}

void GossipSocket::Close() {
  *m_alive = false;
  m_alive = std::make_shared<bool>(true);
  boost::system::error_code ec;
  for (auto& ep : m_sockets) ep->socket.close(ec);
  m_sockets.clear();
}

void GossipSocket::StartReceive(Endpoint& ep) {
  ep.socket.async_wait(udp::socket::wait_read, [this, &ep,
                                                alive = m_alive](boost::system::error_code ec) {
    if (!*alive || ec == asio::error::operation_aborted) return;
    if (ec) {
      ++m_counters.receive_errors;
    } else {
      // Drain a bounded batch, then go back to the loop so timers and the control socket get
      // their turn even under a flood.
      for (size_t i = 0; i < kReceiveBatch; ++i) {
        sockaddr_storage src{};
        iovec iov{ep.buffer.data(), ep.buffer.size()};
        alignas(cmsghdr) std::array<uint8_t, 256> control{};
        msghdr msg{};
        msg.msg_name = &src;
        msg.msg_namelen = sizeof src;
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.data();
        msg.msg_controllen = control.size();
        const ssize_t n = ::recvmsg(ep.socket.native_handle(), &msg, MSG_DONTWAIT);
        if (n < 0) {
          if (errno == EAGAIN || errno == EWOULDBLOCK) break;
          ++m_counters.receive_errors;
          break;
        }
        udp::endpoint from;
        if (msg.msg_namelen > from.capacity()) {
          ++m_counters.receive_errors;
          continue;
        }
        std::memcpy(from.data(), &src, msg.msg_namelen);
        from.resize(msg.msg_namelen);
        bool broadcast = false;
        for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
          if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
            in_pktinfo info{};
            std::memcpy(&info, CMSG_DATA(c), sizeof info);
            broadcast = IsBroadcastDestination(asio::ip::address_v4(ntohl(info.ipi_addr.s_addr)));
          } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
            in6_pktinfo info{};
            std::memcpy(&info, CMSG_DATA(c), sizeof info);
            asio::ip::address_v6::bytes_type b;
            std::memcpy(b.data(), &info.ipi6_addr, b.size());
            broadcast = IsBroadcastDestination(asio::ip::address_v6(b));
          }
        }
        ++m_counters.datagrams_in;
        m_counters.bytes_in += static_cast<size_t>(n);
        m_on_receive(ByteView(ep.buffer.data(), static_cast<size_t>(n)), from, broadcast);
        if (!*alive) return;  // the callback closed us
      }
    }
    StartReceive(ep);
  });
}

void GossipSocket::SendToAll(ByteView datagram) {
  for (const auto* list : {&m_destinations, &m_unicast}) {
    for (const auto& dest : *list) SendOne(datagram, dest);
  }
}

bool GossipSocket::SendTo(ByteView datagram, const std::string& host_port) {
  std::optional<udp::endpoint> dest = Lookup(host_port);
  return dest && SendOne(datagram, *dest);
}

bool GossipSocket::SendOne(ByteView datagram, const udp::endpoint& dest) {
  boost::system::error_code ec;
  for (auto& ep : m_sockets) {
    udp::endpoint local = ep->socket.local_endpoint(ec);
    if (ec || local.protocol() != dest.protocol()) continue;
    ep->socket.send_to(asio::buffer(datagram.data(), datagram.size()), dest, 0, ec);
    if (ec) {
      ++m_counters.send_errors;
      LogDebug("send to {}:{} failed: {}", dest.address().to_string(), dest.port(), ec.message());
      return false;
    }
    ++m_counters.datagrams_out;
    m_counters.bytes_out += datagram.size();
    return true;
  }
  return false;
}

}  // namespace dust::daemon
