// The state directory: identity key, trust store, model checkpoint, counter mark.
//
// Every file is written with AtomicWriteFile (temp, fsync, rename, dir fsync) and carries a
// checksum, so kill -9 at any moment leaves each file either old or new, never torn.
//
// Layout (state-dir, created 0700):
//   identity.key         Ed25519 key (identity.h key file), 0600
//   identity.key.backup  a second copy, written once at creation: the identity never changes,
//                        so a damaged identity.key is restored from it
//   trust, trust.prev    trust store (trust.h format) and the version before the last save
//   checkpoint, .prev    model checkpoint (envelope below around Node::ExportCheckpoint) and
//                        the one before it
//   counter              replay counter high-water mark (replay.h format)
//   history, .prev       the daemon's history (history.h; saved with each checkpoint)
//
// Rotation on save: rename(file, file.prev), then AtomicWriteFile(file). A crash between the
// two leaves only file.prev, which Load uses. Load tries file, then file.prev; each one that
// fails its checks is moved aside to "<name>.corrupt-<UTC time>" with an error log line, and
// recovery falls back to the next. Only when nothing good is left does a component start
// empty (trust, checkpoint) -- loudly, never silently. A damaged identity with no good backup
// is fatal: a new key would silently orphan every peer's trust in this node.
//
// Checkpoint envelope ("DSCK" file), little-endian:
//   "DSCK" | version u8 = 1 | 3 zero bytes | steps u64 | rounds u64 | written_ms i64 |
//   length u32 | length bytes of Node::ExportCheckpoint | Checksum64 of all preceding bytes
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "dust/net/trust.h"
#include "dust/util/bytes.h"
#include "dust/util/crypto.h"
#include "dust/util/status.h"

namespace dust::daemon {

inline constexpr size_t kMaxCheckpointBytes = 64u << 20;

// The read cap for the checkpoint of a model with these layer sizes: the size of the largest
// file the daemon writes for it (envelope, momentum and residual included), or
// kMaxCheckpointBytes if that is larger. A fixed cap alone would refuse, at the next start,
// the checkpoint of a large model the daemon had just written.
size_t CheckpointReadCap(const std::vector<uint32_t>& layer_sizes);

struct CheckpointData {
  uint64_t steps = 0;   // local SGD steps, ever
  uint64_t rounds = 0;  // merges of peer updates, ever
  int64_t written_ms = 0;
  Bytes node;  // Node::ExportCheckpoint
};

Bytes EncodeCheckpointFile(const CheckpointData& data);
Result<CheckpointData> DecodeCheckpointFile(ByteView bytes);

class StateDir {
 public:
  // Validates a loaded checkpoint beyond its checksum (e.g. Node::ImportCheckpoint).
  using CheckpointAccept = std::function<Status(const CheckpointData&)>;

  explicit StateDir(std::string dir) : m_dir(std::move(dir)) {}

  // Creates the directory (0700) if missing and checks it is a writable directory.
  Status Prepare();

  // The identity (created on first start). Falls back to the backup copy; fails if neither is
  // good (never generates a replacement for a damaged key).
  Result<KeyPair> LoadOrCreateIdentity(bool* created);

  // The trust store, from trust or trust.prev; an empty store if there is none (first start)
  // or none is good (logged as an error). Fails only if the directory cannot be read.
  TrustStore LoadTrust();
  Status SaveTrust(const TrustStore& store);

  // The counter mark. A damaged file is moved aside and replaced by a mark derived from the
  // clock (now_ms << 20), which is above any counter this node can have used at ~1/ms.
  uint64_t LoadCounterMark(int64_t now_ms);
  Status SaveCounterMark(uint64_t mark);

  // The newest good checkpoint accepted by `accept`, or nullopt (none, or none good: logged).
  std::optional<CheckpointData> LoadCheckpoint(const CheckpointAccept& accept,
                                               size_t max_bytes = kMaxCheckpointBytes);
  Status SaveCheckpoint(const CheckpointData& data);

  // The history file's bytes, from history or history.prev: the first that `decode` accepts
  // (a bad one is moved aside and reported, like the others); nullopt if none is good.
  std::optional<Bytes> LoadHistory(size_t max_bytes,
                                   const std::function<Status(const Bytes&)>& decode);
  Status SaveHistory(ByteView bytes);

  const std::string& dir() const { return m_dir; }
  std::string Path(const std::string& name) const { return m_dir + "/" + name; }
  // Human-readable notes of every recovery done by the Load functions (also logged).
  const std::vector<std::string>& recoveries() const { return m_recoveries; }

 private:
  // Moves `path` aside and records why.
  void Quarantine(const std::string& path, const Status& why);
  // Loads `name` or `name.prev`: the first whose bytes `decode` accepts.
  std::optional<Bytes> LoadRotating(const std::string& name, size_t max_bytes,
                                    const std::function<Status(const Bytes&)>& decode,
                                    std::string* used);
  Status SaveRotating(const std::string& name, ByteView bytes, mode_t mode);

  std::string m_dir;
  std::vector<std::string> m_recoveries;
};

}  // namespace dust::daemon
