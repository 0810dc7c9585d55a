// The gossip transport: UDP sockets, the destination list, and the receive loop.
//
// One IPv4 socket bound to bind-address:port with SO_REUSEADDR, SO_REUSEPORT and SO_BROADCAST,
// so several daemons on one host share the port and each receives every broadcast (this is how
// the loopback tests run: broadcast = 127.255.255.255). An IPv6 socket is added when the bind
// address is IPv6, a multicast group is configured, or a unicast peer or our own endpoint is
// IPv6 (without it, IPv6 endpoints learned later are not sent to).
//
// Sending is synchronous on non-blocking sockets: a datagram the kernel cannot queue right now
// is dropped and counted (gossip is periodic; the next round supersedes it), so sending never
// blocks the event loop. Receiving drains up to kReceiveBatch datagrams per wake-up and hands
// each to the callback with its source and whether it was sent to a broadcast or multicast
// address (IP_PKTINFO / IPV6_PKTINFO give the destination); the callback must not keep the view.
//
// Destinations: the broadcast addresses (re-read from the interfaces by RefreshDestinations,
// which the daemon calls periodically: DHCP and Wi-Fi change them), the multicast group, the
// `peer =` entries, and the unicast endpoints the daemon sets (SetUnicast: its per-peer
// endpoint table). Host names are never resolved on the loop: a name is resolved with asio's
// async_resolve (getaddrinfo on asio's resolver thread), the answer cached, and the
// destinations rebuilt when it arrives; ResolveNamesAgain starts fresh resolutions (the daemon
// calls it every resolve-interval). Until its first answer a name has no destination.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "dust/util/bytes.h"
#include "dust/util/status.h"
#include "options.h"

namespace dust::daemon {

inline constexpr size_t kReceiveBatch = 64;
inline constexpr size_t kReceiveBufferBytes = 2048;  // > kMaxDatagramBytes: oversize is detected

struct GossipCounters {
  uint64_t datagrams_in = 0;
  uint64_t bytes_in = 0;
  uint64_t datagrams_out = 0;
  uint64_t bytes_out = 0;
  uint64_t send_errors = 0;  // would block, unreachable, ...
  uint64_t receive_errors = 0;
};

// "a.b.c.d:port" or "[v6]:port" (endpoint.h's form for addresses).
std::string EndpointText(const boost::asio::ip::udp::endpoint& ep);

// IPv4 broadcast addresses of all up, broadcast-capable interfaces (getifaddrs).
std::vector<boost::asio::ip::address_v4> InterfaceBroadcastAddresses();

class GossipSocket {
 public:
  using ReceiveFn = std::function<void(ByteView datagram,
                                       const boost::asio::ip::udp::endpoint& from, bool broadcast)>;

  GossipSocket(boost::asio::io_context& io, ReceiveFn on_receive);
  ~GossipSocket();

  // Opens and binds the sockets and computes the destinations. Errors name the address.
  Status Open(const Options& options);
  // Recomputes the destinations (interfaces come and go; SIGHUP). Sockets stay as they are.
  void RefreshDestinations(const Options& options);
  // The unicast endpoints (host:port, endpoint.h) to send to besides the configured ones.
  void SetUnicast(const std::vector<std::string>& endpoints);
  // Resolves every host name in use again, in the background.
  void ResolveNamesAgain();
  void Close();

  // Sends to every destination.
  void SendToAll(ByteView datagram);
  // Sends to one "host:port" (a literal, or a name already resolved; else starts resolving it
  // and sends nothing). False when nothing was sent.
  bool SendTo(ByteView datagram, const std::string& host_port);

  // Broadcast, multicast and `peer =` destinations.
  const std::vector<boost::asio::ip::udp::endpoint>& destinations() const { return m_destinations; }
  // The resolved unicast endpoints of SetUnicast (those not already among destinations()).
  const std::vector<boost::asio::ip::udp::endpoint>& unicast() const { return m_unicast; }
  const GossipCounters& counters() const { return m_counters; }
  uint16_t port() const { return m_port; }

 private:
  struct Endpoint;
  void StartReceive(Endpoint& ep);
  // Sends on the socket of dest's protocol; false if there is none or the send failed.
  bool SendOne(ByteView datagram, const boost::asio::ip::udp::endpoint& dest);
  // The address of a "host:port" (IPv4, [IPv6] or a name): literals at once, names from the
  // cache (starting a resolution if there is none yet). Nullopt: invalid or not resolved yet.
  std::optional<boost::asio::ip::udp::endpoint> Lookup(const std::string& host_port);
  void StartResolve(const std::string& host_port);
  void RebuildUnicast();
  bool IsBroadcastDestination(const boost::asio::ip::address& to) const;

  boost::asio::io_context& m_io;
  ReceiveFn m_on_receive;
  std::vector<std::unique_ptr<Endpoint>> m_sockets;
  std::optional<Options> m_options;  // of the last RefreshDestinations
  std::vector<boost::asio::ip::udp::endpoint> m_destinations;
  std::vector<boost::asio::ip::address_v4> m_broadcast_addresses;  // ours and the interfaces'
  std::vector<std::string> m_unicast_wanted;
  std::vector<boost::asio::ip::udp::endpoint> m_unicast;
  // Host name resolutions: "host:port" -> the first address of the last answer (nullopt: the
  // last attempt failed), and those under way.
  std::map<std::string, std::optional<boost::asio::ip::udp::endpoint>> m_resolved;
  std::set<std::string> m_resolving;
  GossipCounters m_counters;
  uint16_t m_port = 0;
  std::shared_ptr<bool> m_alive = std::make_shared<bool>(true);
};

}  // namespace dust::daemon
