// The gossip path on the loop: the receive side (OnDatagram: our own broadcasts counted apart,
// the rest handed to the node, trusted senders' addresses remembered for peers) and the round
// tick (one training unit at the start of each round, then the node's tick and its datagrams
// sent to every destination).
#include <algorithm>

#include "daemon.h"
#include "dust/net/wire.h"

namespace dust::daemon {
namespace asio = boost::asio;

void Daemon::OnDatagram(ByteView bytes, const asio::ip::udp::endpoint& from, bool broadcast) {
  if (m_stopping) return;
  // Our own broadcasts come back: recognise them by the sender key before any other work, and
  // count them apart from real drops.
  if (PeekSender(bytes) == m_identity.public_key) {
    ++m_own_datagrams;
    return;
  }
  SourceKey source;
  if (from.address().is_v4()) {
    auto a = from.address().to_v4().to_bytes();
    source = SourceKey::FromBytes(ByteView(a.data(), a.size()));
  } else {
    auto a = from.address().to_v6().to_bytes();
    source = SourceKey::FromBytes(ByteView(a.data(), a.size()));
  }
  DatagramOutcome outcome = m_node->OnDatagram(bytes, source, NowMs());
  // Accepted means authenticated by a key our trust store holds (the node's ingress checked it
  // against this same store), except a fleet message, which any sender may send.
  if (outcome.accepted && IsFleetMessage(outcome.type)) {
    SaveFleetListsIfChanged();
    if (!m_trust.Contains(*outcome.sender)) return;
    if (outcome.type == MessageType::kCertificate) CertificateEndpointsOf(*outcome.sender);
  }
  if (outcome.accepted) {
    m_peer_address[*outcome.sender] = EndpointText(from);
    LearnSource(*outcome.sender, from, broadcast);
    if (outcome.type == MessageType::kPeerExchange)
      OnPeerExchange(*outcome.sender, outcome.payload);
  } else if (bytes.size() > 4 && bytes[4] == static_cast<uint8_t>(MessageType::kPeerExchange)) {
    // Refused by the receive checks (the node counted why): a peer exchange that did not count.
    ++m_exchange.dropped;
  }
}

void Daemon::ScheduleTick() {
  int64_t now = NowMs();
  const int64_t round_ms = m_node->options().send_interval_ms;
  int64_t next = std::min(m_node->NextTickMs(), (now / round_ms + 1) * round_ms);
  int64_t wait = std::clamp<int64_t>(next - now, 1, 1000);
  m_tick_timer.expires_after(std::chrono::milliseconds(wait));
  m_tick_timer.async_wait([this](boost::system::error_code ec) {
    if (ec || m_stopping) return;
    DoTick();
    ScheduleTick();
  });
}

void Daemon::DoTick() {
  int64_t now = NowMs();
  // One training unit per round, before the round's update is sent (the engine's model moves
  // by merges; its update carries the local progress of this round: docs/engine.md).
  int64_t round = now / m_node->options().send_interval_ms;
  if (round != m_last_train_round) {
    m_last_train_round = round;
    TrainStep();
  }
  m_fleet->Tick(now);  // expired certificates lose their trust
  std::vector<Bytes> out;
  m_node->OnTick(now, &out);
  for (const Bytes& d : out) m_gossip->SendToAll(d);
  // Forget addresses of peers no longer trusted (bounded by the trust store).
  for (auto it = m_peer_address.begin(); it != m_peer_address.end();) {
    it = m_trust.Contains(it->first) ? std::next(it) : m_peer_address.erase(it);
  }
}
}  // namespace dust::daemon
