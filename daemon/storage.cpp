#include "storage.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>

#include "dust/ml/checkpoint.h"
#include "dust/net/identity.h"
#include "dust/net/replay.h"
#include "dust/util/file.h"
#include "dust/util/sealed_file.h"
#include "log.h"

namespace dust::daemon {
namespace {

constexpr uint8_t kCheckpointVersion = 1;
// steps, rounds, written_ms and the length of the node's checkpoint that follows them
constexpr size_t kCheckpointFieldsBytes = 8 + 8 + 8 + 4;
constexpr SealedFormat kCheckpointFormat{
    .name = "checkpoint", .magic = "DSCK", .min_body = kCheckpointFieldsBytes};

std::string UtcStamp() {
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

bool Exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

}  // namespace

Bytes EncodeCheckpointFile(const CheckpointData& data) {
  return SealFile(
      kCheckpointFormat, kCheckpointVersion,
      [&](ByteWriter& w) {
        w.U64(data.steps);
        w.U64(data.rounds);
        w.I64(data.written_ms);
        w.U32(static_cast<uint32_t>(data.node.size()));
        w.Raw(data.node);
      },
      kCheckpointFieldsBytes + data.node.size());
}

Result<CheckpointData> DecodeCheckpointFile(ByteView bytes) {
  CheckpointData d;
  ByteView node;
  // The length field is checked before the checksum so that a truncated or extended file is
  // named as such.
  Result<SealedFile> file =
      OpenSealedFile(bytes, kCheckpointFormat, {kCheckpointVersion}, [&](ByteView body) {
        ByteReader r(body);
        d.steps = r.U64();
        d.rounds = r.U64();
        d.written_ms = r.I64();
        const uint32_t length = r.U32();
        if (r.remaining() != length) {
          return Status::Corrupt("checkpoint: length field says " + std::to_string(length) +
                                 " bytes of model but the file holds " +
                                 std::to_string(r.remaining()) + " (truncated or extended)");
        }
        node = r.Raw(length);
        return Status::Ok();
      });
  if (!file.ok()) return file.status();
  d.node.assign(node.begin(), node.end());
  return d;
}

Status StateDir::Prepare() {
  struct stat st {};
  if (::stat(m_dir.c_str(), &st) != 0) {
    if (errno != ENOENT) return Status::IoError(m_dir + ": " + std::strerror(errno));
    if (::mkdir(m_dir.c_str(), 0700) != 0) {
      return Status::IoError(m_dir +
                             ": cannot create the state directory: " + std::strerror(errno));
    }
    LogInfo("state: created {}", m_dir);
    return Status::Ok();
  }
  if (!S_ISDIR(st.st_mode))
    return Status::InvalidArgument(m_dir + ": state-dir is not a directory");
  if (::access(m_dir.c_str(), W_OK | X_OK) != 0) {
    return Status::Permission(m_dir + ": state directory is not writable by this user");
  }
  return Status::Ok();
}

void StateDir::Quarantine(const std::string& path, const Status& why) {
  auto moved = MoveAside(path, UtcStamp());
  std::string note = moved.ok()
                         ? path + " is damaged (" + why.message() + "); moved aside to " + *moved
                         : path + " is damaged (" + why.message() +
                               ") and could not be moved aside: " + moved.status().message();
  LogError("state: {}", note);
  m_recoveries.push_back(note);
}

std::optional<Bytes> StateDir::LoadRotating(const std::string& name, size_t max_bytes,
                                            const std::function<Status(const Bytes&)>& decode,
                                            std::string* used) {
  for (const std::string& candidate : {Path(name), Path(name + ".prev")}) {
    auto bytes = ReadFile(candidate, max_bytes);
    if (!bytes.ok()) {
      if (bytes.status().code() == StatusCode::kNotFound) continue;
      Quarantine(candidate, bytes.status());
      continue;
    }
    Status st = decode(*bytes);
    if (!st.ok()) {
      Quarantine(candidate, st);
      continue;
    }
    *used = candidate;
    return std::move(bytes.value());
  }
  return std::nullopt;
}

Status StateDir::SaveRotating(const std::string& name, ByteView bytes, mode_t mode) {
  std::string path = Path(name);
  std::string prev = Path(name + ".prev");
  if (Exists(path) && ::rename(path.c_str(), prev.c_str()) != 0) {
    return Status::IoError(path + ": cannot rotate to " + prev + ": " + std::strerror(errno));
  }
  return AtomicWriteFile(path, bytes, mode);
}

Result<KeyPair> StateDir::LoadOrCreateIdentity(bool* created) {
  *created = false;
  const std::string main = Path("identity.key");
  const std::string backup = Path("identity.key.backup");
  auto key = LoadIdentity(main);
  if (key.ok()) {
    auto b = LoadIdentity(backup);
    if (!b.ok() || b->public_key != key->public_key) {
      if (b.ok() || b.status().code() != StatusCode::kNotFound) {
        LogWarn("state: {} is missing or differs from {}; rewriting it", backup, main);
      }
      Status st = SaveIdentity(backup, *key);
      if (!st.ok()) LogWarn("state: cannot write identity backup: {}", st.message());
    }
    return key;
  }
  if (key.status().code() == StatusCode::kPermission) return key.status();  // operator must fix
  bool main_missing = key.status().code() == StatusCode::kNotFound;
  if (!main_missing) Quarantine(main, key.status());
  auto b = LoadIdentity(backup);
  if (b.ok()) {
    std::string note = "identity restored from " + backup;
    LogWarn("state: {}", note);
    m_recoveries.push_back(note);
    DUST_RETURN_IF_ERROR(SaveIdentity(main, *b));
    return b;
  }
  if (b.status().code() != StatusCode::kNotFound) {
    return Status::Corrupt("identity: " + key.status().message() +
                           "; backup: " + b.status().message() +
                           ". Refusing to create a new identity: peers trust the old key. Restore "
                           "identity.key from a backup, or remove both files to start as a new "
                           "node (peers must then trust the new ID).");
  }
  if (!main_missing) {
    return Status::Corrupt("identity: " + key.status().message() +
                           " and there is no backup. Refusing to create a new identity silently; "
                           "remove the damaged file to start as a new node.");
  }
  KeyPair fresh = GenerateKeyPair();
  DUST_RETURN_IF_ERROR(SaveIdentity(main, fresh));
  DUST_RETURN_IF_ERROR(SaveIdentity(backup, fresh));
  *created = true;
  return fresh;
}

TrustStore StateDir::LoadTrust() {
  std::string used;
  std::optional<TrustStore> store;
  size_t recoveries_before = m_recoveries.size();
  auto bytes = LoadRotating(
      "trust", kMaxTrustFileBytes,
      [&](const Bytes& b) {
        auto s = DecodeTrustStore(b);
        if (!s.ok()) return s.status();
        store = std::move(s.value());
        return Status::Ok();
      },
      &used);
  if (!bytes) {
    if (m_recoveries.size() > recoveries_before) {
      LogError(
          "state: no good trust store left; starting with NO trusted peers (re-pair, or "
          "restore a trust file from a backup)");
    }
    return TrustStore{};
  }
  if (used != Path("trust")) {
    std::string note = "trust store loaded from " + used;
    LogWarn("state: {}", note);
    m_recoveries.push_back(note);
  }
  return std::move(*store);
}

Status StateDir::SaveTrust(const TrustStore& store) {
  return SaveRotating("trust", EncodeTrustStore(store), 0600);
}

uint64_t StateDir::LoadCounterMark(int64_t now_ms) {
  // Counters must rise across every restart, including one from a restored backup or a
  // deleted `counter` file: peers keep the newest counter they accepted from us in memory and
  // drop anything older as replay. So the mark is never below a floor derived from the clock
  // (2^20 counters per millisecond, far more than any node sends), and a stored mark above the
  // floor (a clock set back) still wins.
  // (A clock past 2^43 ms, the year 2248, is wrong: saturate rather than wrap.)
  const uint64_t clock_ms = static_cast<uint64_t>(std::clamp<int64_t>(now_ms, 0, int64_t{1} << 43));
  const uint64_t clock_floor = clock_ms << 20;
  const std::string path = Path("counter");
  auto bytes = ReadFile(path, 1024);
  if (!bytes.ok() && bytes.status().code() == StatusCode::kNotFound) return clock_floor;
  Status why = bytes.status();
  if (bytes.ok()) {
    auto mark = DecodeCounterMark(*bytes);
    if (mark.ok()) return std::max(*mark, clock_floor);
    why = mark.status();
  }
  Quarantine(path, why);
  std::string note = "counter mark recovered from the clock: " + std::to_string(clock_floor);
  LogWarn("state: {}", note);
  m_recoveries.push_back(note);
  return clock_floor;
}

Status StateDir::SaveCounterMark(uint64_t mark) {
  return AtomicWriteFile(Path("counter"), EncodeCounterMark(mark), 0600);
}

size_t CheckpointReadCap(const std::vector<uint32_t>& layer_sizes) {
  // The envelope around a checkpoint with all three value blocks (parameters, momentum,
  // residual): the largest the daemon writes.
  const uint64_t bytes =
      kCheckpointFormat.file_bytes(kCheckpointFieldsBytes) + EncodedCheckpointSize(layer_sizes, 3);
  return std::max<size_t>(kMaxCheckpointBytes, static_cast<size_t>(bytes));
}

std::optional<CheckpointData> StateDir::LoadCheckpoint(const CheckpointAccept& accept,
                                                       size_t max_bytes) {
  std::string used;
  std::optional<CheckpointData> data;
  size_t recoveries_before = m_recoveries.size();
  auto bytes = LoadRotating(
      "checkpoint", max_bytes,
      [&](const Bytes& b) {
        auto d = DecodeCheckpointFile(b);
        if (!d.ok()) return d.status();
        Status st = accept(*d);
        if (!st.ok()) return st;
        data = std::move(d.value());
        return Status::Ok();
      },
      &used);
  if (!bytes) {
    if (m_recoveries.size() > recoveries_before) {
      LogError("state: no good checkpoint left; the model starts from its initialisation");
    }
    return std::nullopt;
  }
  if (used != Path("checkpoint")) {
    std::string note = "model restored from " + used;
    LogWarn("state: {}", note);
    m_recoveries.push_back(note);
  }
  return data;
}

Status StateDir::SaveCheckpoint(const CheckpointData& data) {
  return SaveRotating("checkpoint", EncodeCheckpointFile(data), 0600);
}

std::optional<Bytes> StateDir::LoadHistory(size_t max_bytes,
                                           const std::function<Status(const Bytes&)>& decode) {
  std::string used;
  return LoadRotating("history", max_bytes, decode, &used);
}

Status StateDir::SaveHistory(ByteView bytes) { return SaveRotating("history", bytes, 0600); }

}  // namespace dust::daemon
