// The gossip transport: UDP sockets, the destination list, and the receive loop.
//
// One IPv4 socket bound to bind-address:port with SO_REUSEADDR, SO_REUSEPORT and SO_BROADCAST,
// so several daemons on one host share the port and each receives every broadcast (this is how
// the loopback tests run: broadcast = 127.255.255.255). An IPv6 socket is added when the bind
// address is IPv6, a multicast group is configured, or a unicast peer is IPv6.
//
// Sending is synchronous on non-blocking sockets: a datagram the kernel cannot queue right now
// is dropped and counted (gossip is periodic; the next round supersedes it), so sending never
// blocks the event loop. Receiving drains up to kReceiveBatch datagrams per wake-up and hands
// each to the callback with its source; the callback must not keep the view.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <functional>
#include <memory>
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

// IPv4 broadcast addresses of all up, broadcast-capable interfaces (getifaddrs).
std::vector<boost::asio::ip::address_v4> InterfaceBroadcastAddresses();

class GossipSocket {
 public:
  using ReceiveFn =
      std::function<void(ByteView datagram, const boost::asio::ip::udp::endpoint& from)>;

  GossipSocket(boost::asio::io_context& io, ReceiveFn on_receive);
  ~GossipSocket();

  // Opens and binds the sockets and computes the destinations. Errors name the address.
  Status Open(const Options& options);
  // Recomputes the destinations (interfaces come and go; SIGHUP). Sockets stay as they are.
  void RefreshDestinations(const Options& options);
  void Close();

  // Sends to every destination.
  void SendToAll(ByteView datagram);

  const std::vector<boost::asio::ip::udp::endpoint>& destinations() const { return m_destinations; }
  const GossipCounters& counters() const { return m_counters; }
  uint16_t port() const { return m_port; }

 private:
  struct Endpoint;
  void StartReceive(Endpoint& ep);

  boost::asio::io_context& m_io;
  ReceiveFn m_on_receive;
  std::vector<std::unique_ptr<Endpoint>> m_sockets;
  std::vector<boost::asio::ip::udp::endpoint> m_destinations;
  GossipCounters m_counters;
  uint16_t m_port = 0;
  std::shared_ptr<bool> m_alive = std::make_shared<bool>(true);
};

}  // namespace dust::daemon
