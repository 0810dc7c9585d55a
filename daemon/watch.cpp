#include "watch.h"

#include <algorithm>

namespace dust::daemon {

using Json = nlohmann::json;

Result<std::set<std::string>> ParseWatchKinds(const Json& request) {
  std::set<std::string> kinds;
  auto it = request.find("events");
  if (it == request.end() || it->is_null()) {
    for (const char* k : kWatchEventKinds) kinds.insert(k);
    return kinds;
  }
  std::string valid;
  for (const char* k : kWatchEventKinds) valid += (valid.empty() ? "" : ", ") + std::string(k);
  if (!it->is_array() || it->empty()) {
    return Status::InvalidArgument("events: a non-empty array of event kinds (" + valid + ")");
  }
  for (const Json& k : *it) {
    const bool known = k.is_string() && std::any_of(std::begin(kWatchEventKinds),
                                                    std::end(kWatchEventKinds), [&](const char* v) {
                                                      return k.get_ref<const std::string&>() == v;
                                                    });
    if (!known) {
      return Status::InvalidArgument("events: " + k.dump().substr(0, 40) +
                                     " is not an event kind (" + valid + ")");
    }
    kinds.insert(k.get<std::string>());
  }
  return kinds;
}

bool WatchQueue::Push(Json event, int64_t time_ms) {
  const uint64_t seq = m_seq++;
  if (m_lines.size() >= m_capacity) {
    ++m_dropped;
    ++m_unreported;
    return false;
  }
  event["seq"] = seq;
  event["time_ms"] = time_ms;
  if (m_unreported > 0) {
    event["missed"] = m_unreported;
    m_unreported = 0;
  }
  m_lines.push_back(event.dump(-1, ' ', false, Json::error_handler_t::replace));
  return true;
}

std::optional<std::string> WatchQueue::Pop(int64_t time_ms) {
  if (m_lines.empty()) {
    if (m_unreported == 0) return std::nullopt;
    // Drops the client has not heard of, and no event queued to carry them: say so now rather
    // than at some later event. It takes no sequence number (it is not an event of the daemon).
    Json missed = {{"event", "missed"}, {"missed", m_unreported}, {"time_ms", time_ms}};
    m_unreported = 0;
    return missed.dump();
  }
  std::string line = std::move(m_lines.front());
  m_lines.erase(m_lines.begin());
  return line;
}

void Watcher::Offer(const Json& event, int64_t time_ms) {
  m_queue.Push(event, time_ms);
  if (m_wake) m_wake();
}

bool WatchHub::Add(const std::shared_ptr<Watcher>& watcher) {
  Prune();
  if (m_entries.size() >= kMaxWatchers) return false;
  m_entries.push_back({watcher, watcher->queue().dropped()});
  return true;
}

void WatchHub::Publish(std::string_view kind, Json fields, int64_t time_ms) {
  Prune();
  if (m_entries.empty()) return;
  ++m_published;
  Json event = Json::object();
  event["event"] = std::string(kind);
  for (auto& [key, value] : fields.items()) event[key] = std::move(value);
  for (Entry& e : m_entries) {
    auto w = e.watcher.lock();
    if (!w || !w->Wants(kind)) continue;
    w->Offer(event, time_ms);
    // Drops happen only here: what the hub saw last is the watcher's count, even after it closes.
    e.dropped_seen = w->queue().dropped();
  }
}

size_t WatchHub::watchers() {
  Prune();
  return m_entries.size();
}

void WatchHub::Prune() {
  auto dead = std::remove_if(m_entries.begin(), m_entries.end(), [&](const Entry& e) {
    if (!e.watcher.expired()) return false;
    m_dropped_closed += e.dropped_seen;
    return true;
  });
  m_entries.erase(dead, m_entries.end());
}

uint64_t WatchHub::LiveDropped() const {
  uint64_t n = 0;
  for (const Entry& e : m_entries) n += e.dropped_seen;
  return n;
}

}  // namespace dust::daemon
