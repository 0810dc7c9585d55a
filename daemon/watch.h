// The `watch` control command's event side (docs/control-protocol.md, "watch"): what an event
// is, the bounded queue each watcher has, and the hub the daemon publishes events to.
//
// A watcher is a control session that asked for `watch`: from then on the daemon writes it one
// JSON line per event and reads nothing more from it. The daemon must never wait for a
// watcher, so each one has a WatchQueue of at most kWatchQueueEvents lines: the session writes
// the queue out as fast as the client reads, and an event published while the queue is full is
// dropped and counted, never blocking the publisher. Every event offered to a watcher takes
// the next sequence number, delivered or not, so a gap in "seq" is a gap in what the client
// saw; the first event delivered after a drop carries "missed": N, and if the queue empties
// with drops not yet reported, a {"event":"missed"} line says so at once.
//
// Pure and single-threaded (it runs on the daemon's loop): the unit tests drive it without a
// socket.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "dust/util/status.h"

namespace dust::daemon {

// Events queued per watcher beyond the line being written. A line is ~100-300 bytes, so a stuck
// watcher holds at most ~80 kB of the daemon's memory.
inline constexpr size_t kWatchQueueEvents = 256;
// A watcher's socket send buffer: with the queue, what a client that stopped reading costs.
inline constexpr int kWatchSocketBufferBytes = 16384;
// Watchers at once. They count toward kMaxClients too; this leaves the other sessions to
// commands however many apps watch.
inline constexpr size_t kMaxWatchers = 16;

// The kinds a watch may ask for, in the order docs/control-protocol.md lists them.
inline constexpr const char* kWatchEventKinds[] = {"model", "peer",       "trust",
                                                   "data",  "checkpoint", "export"};

// The kinds named in a watch request's "events" (absent: all of them). Errors name the first
// unknown kind and list the valid ones.
Result<std::set<std::string>> ParseWatchKinds(const nlohmann::json& request);

class WatchQueue {
 public:
  explicit WatchQueue(size_t capacity = kWatchQueueEvents) : m_capacity(capacity) {}

  // Queues `event` (an object with "event": the kind, and its fields) stamped with the next
  // sequence number, `time_ms` and, if events were dropped since the last one queued,
  // "missed". Full: drops it (counted). Returns whether it was queued.
  bool Push(nlohmann::json event, int64_t time_ms);
  // The next line to write (no newline), or nullopt if there is nothing to write. When the queue
  // is empty but drops are unreported, a {"event":"missed","missed":N} line.
  std::optional<std::string> Pop(int64_t time_ms);

  size_t size() const { return m_lines.size(); }
  uint64_t dropped() const { return m_dropped; }  // ever
  uint64_t next_seq() const { return m_seq; }

 private:
  std::vector<std::string> m_lines;  // a ring would save a move per pop; 256 short lines do not
  size_t m_capacity;
  uint64_t m_seq = 1;
  uint64_t m_dropped = 0;
  uint64_t m_unreported = 0;  // dropped since the last line queued
};

// One watcher as the hub sees it: the kinds it wants and a queue the session drains. The
// session owns it (shared_ptr); the hub holds weak pointers, so a closed session simply
// disappears from the hub.
class Watcher {
 public:
  Watcher(std::set<std::string> kinds, std::function<void()> wake)
      : m_kinds(std::move(kinds)), m_wake(std::move(wake)) {}

  bool Wants(std::string_view kind) const { return m_kinds.count(std::string(kind)) != 0; }
  // Queues the event and wakes the session's writer.
  void Offer(const nlohmann::json& event, int64_t time_ms);
  WatchQueue& queue() { return m_queue; }
  const std::set<std::string>& kinds() const { return m_kinds; }

 private:
  std::set<std::string> m_kinds;
  std::function<void()> m_wake;
  WatchQueue m_queue;
};

class WatchHub {
 public:
  // Registers a watcher; false (not added) if kMaxWatchers are already watching.
  bool Add(const std::shared_ptr<Watcher>& watcher);
  // Offers {"event": kind, ...fields} to every live watcher that wants `kind`.
  void Publish(std::string_view kind, nlohmann::json fields, int64_t time_ms);

  size_t watchers();
  uint64_t published() const { return m_published; }
  // Events dropped for full queues, over every watcher ever (closed ones included).
  uint64_t dropped() const { return m_dropped_closed + LiveDropped(); }

 private:
  // Forgets watchers whose session has closed, keeping their drop counts.
  void Prune();
  uint64_t LiveDropped() const;

  struct Entry {
    std::weak_ptr<Watcher> watcher;
    uint64_t dropped_seen = 0;  // its queue's drops when last looked at
  };
  std::vector<Entry> m_entries;
  uint64_t m_published = 0;
  uint64_t m_dropped_closed = 0;
};

}  // namespace dust::daemon
