// dustd state directory: atomic files, corrupt files moved aside, fallback to the previous good
// version, never a silent fresh start of the identity.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "dust/ml/checkpoint.h"
#include "dust/net/identity.h"
#include "dust/net/replay.h"
#include "dust/util/crypto.h"
#include "dust/util/file.h"
#include "storage.h"
#include "testutil/model_util.h"
#include "testutil/temp_dir.h"

using dust::daemon::CheckpointData;
using dust::daemon::StateDir;
namespace fs = std::filesystem;

namespace {

CheckpointData Sample(uint64_t steps) {
  CheckpointData d;
  d.steps = steps;
  d.rounds = steps * 2;
  d.written_ms = 1795000000000 + static_cast<int64_t>(steps);
  d.node = dust::Bytes(100, static_cast<uint8_t>(steps));
  return d;
}

// Flips one byte in the middle of a file (a damaged disk block).
void Damage(const std::string& path) {
  auto bytes = dust::ReadFile(path, 1 << 26);
  REQUIRE(bytes.ok());
  REQUIRE(!bytes->empty());
  (*bytes)[bytes->size() / 2] ^= 0x40;
  REQUIRE(dust::AtomicWriteFile(path, *bytes, 0600).ok());
}

size_t CountCorrupt(const std::string& dir, const std::string& prefix) {
  size_t n = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    std::string name = e.path().filename();
    if (name.rfind(prefix + ".corrupt-", 0) == 0) ++n;
  }
  return n;
}

dust::Status AcceptAll(const CheckpointData&) { return dust::Status::Ok(); }

// A fresh temporary directory for a state directory, and crypto initialised.
struct EmptyStateDir {
  EmptyStateDir() { REQUIRE(dust::InitCrypto().ok()); }
  // The identity a daemon (re)started on this directory loads, or creates (then *created).
  dust::Result<dust::KeyPair> LoadIdentity(bool* created) const {
    return StateDir(dir.path()).LoadOrCreateIdentity(created);
  }

  dust::testutil::TempDir dir;
};

// A state directory in a fresh temporary directory, prepared as dustd prepares it at start.
struct PreparedState : EmptyStateDir {
  PreparedState() { REQUIRE(state.Prepare().ok()); }
  // Saves Sample(s) for each of `steps` in turn: the last is the checkpoint, the one before
  // it checkpoint.prev.
  void SaveCheckpoints(std::initializer_list<uint64_t> steps) {
    for (uint64_t s : steps) REQUIRE(state.SaveCheckpoint(Sample(s)).ok());
  }
  // Another StateDir over the same directory, as a restarted daemon opens it.
  StateDir Reopen() const { return StateDir(dir.path()); }

  StateDir state{dir.path()};
};

}  // namespace

TEST_CASE("storage: checkpoint file matches the protocol.md test vector", "[daemon][storage]") {
  // Computed independently with Python struct + hashlib.blake2b (docs/protocol.md, "Checkpoint
  // state file"), around the 84-byte checkpoint test vector of the same document.
  REQUIRE(dust::InitCrypto().ok());
  const dust::Checkpoint c = dust::testutil::ProtocolVectorCheckpoint();
  CheckpointData d;
  d.steps = 2;
  d.rounds = 3;
  d.written_ms = 1764000000000;
  d.node = dust::EncodeCheckpoint(c);
  const std::string expected =
      "4453434b010000000200000000000000030000000000000000e897b69a0100005400000044555354"
      "434b5054010000000200000002000000010000000100000000000000020000000000000003000000"
      "00000000040000000000000003000000000000000000003f000080bf0000803e49d8c25e4c891c0e"
      "661d34d9ff34d43f";
  const dust::Bytes enc = dust::daemon::EncodeCheckpointFile(d);
  CHECK(dust::ToHex(enc) == expected);
  auto dec = dust::daemon::DecodeCheckpointFile(enc);
  REQUIRE(dec.ok());
  auto inner = dust::DecodeCheckpoint(dec->node);
  REQUIRE(inner.ok());
  CHECK(*inner == c);
}

TEST_CASE("storage: checkpoint file round-trips and detects damage", "[daemon][storage]") {
  REQUIRE(dust::InitCrypto().ok());
  CheckpointData d = Sample(7);
  dust::Bytes enc = dust::daemon::EncodeCheckpointFile(d);
  auto dec = dust::daemon::DecodeCheckpointFile(enc);
  REQUIRE(dec.ok());
  CHECK(dec->steps == 7);
  CHECK(dec->rounds == 14);
  CHECK(dec->node == d.node);
  CHECK(dust::daemon::EncodeCheckpointFile(*dec) == enc);
  for (size_t i = 0; i < enc.size(); i += 7) {
    dust::Bytes bad = enc;
    bad[i] ^= 1;
    CHECK_FALSE(dust::daemon::DecodeCheckpointFile(bad).ok());
  }
  dust::Bytes truncated(enc.begin(), enc.end() - 1);
  CHECK_FALSE(dust::daemon::DecodeCheckpointFile(truncated).ok());
}

TEST_CASE_METHOD(PreparedState,
                 "storage: a corrupt checkpoint is moved aside and the previous one is used",
                 "[daemon][storage]") {
  SaveCheckpoints({1, 2});
  CHECK(fs::exists(dir.Path("checkpoint.prev")));
  Damage(dir.Path("checkpoint"));

  StateDir reopened = Reopen();
  auto loaded = reopened.LoadCheckpoint(AcceptAll);
  REQUIRE(loaded.has_value());
  CHECK(loaded->steps == 1);
  CHECK(CountCorrupt(dir.path(), "checkpoint") == 1);
  CHECK_FALSE(fs::exists(dir.Path("checkpoint")));
  CHECK_FALSE(reopened.recoveries().empty());
}

TEST_CASE_METHOD(PreparedState,
                 "storage: a checkpoint the node refuses falls back to the previous one",
                 "[daemon][storage]") {
  SaveCheckpoints({3, 4});
  auto loaded = state.LoadCheckpoint([](const CheckpointData& d) {
    return d.steps == 4 ? dust::Status::Corrupt("model bytes rejected") : dust::Status::Ok();
  });
  REQUIRE(loaded.has_value());
  CHECK(loaded->steps == 3);
  CHECK(CountCorrupt(dir.path(), "checkpoint") == 1);
}

TEST_CASE_METHOD(
    PreparedState,
    "storage: a crash between rotation and write leaves the previous checkpoint usable",
    "[daemon][storage]") {
  SaveCheckpoints({5});
  fs::rename(dir.Path("checkpoint"), dir.Path("checkpoint.prev"));  // as SaveRotating's first step
  auto loaded = Reopen().LoadCheckpoint(AcceptAll);
  REQUIRE(loaded.has_value());
  CHECK(loaded->steps == 5);
  CHECK(CountCorrupt(dir.path(), "checkpoint") == 0);
}

TEST_CASE_METHOD(
    PreparedState,
    "storage: with both checkpoints corrupt the model starts fresh and both are kept aside",
    "[daemon][storage]") {
  SaveCheckpoints({1, 2});
  Damage(dir.Path("checkpoint"));
  Damage(dir.Path("checkpoint.prev"));
  StateDir reopened = Reopen();
  CHECK_FALSE(reopened.LoadCheckpoint(AcceptAll).has_value());
  CHECK(CountCorrupt(dir.path(), "checkpoint") == 1);
  CHECK(CountCorrupt(dir.path(), "checkpoint.prev") == 1);
  CHECK(reopened.recoveries().size() == 2);
}

TEST_CASE_METHOD(PreparedState, "storage: a first start has no checkpoint and records no recovery",
                 "[daemon][storage]") {
  CHECK_FALSE(state.LoadCheckpoint(AcceptAll).has_value());
  CHECK(state.recoveries().empty());
}

TEST_CASE_METHOD(PreparedState, "storage: a corrupt trust store falls back to the previous version",
                 "[daemon][storage]") {
  dust::TrustStore store;
  auto a = dust::GenerateKeyPair();
  auto b = dust::GenerateKeyPair();
  REQUIRE(store.Add(a.public_key, "alpha", 1).ok());
  REQUIRE(state.SaveTrust(store).ok());
  REQUIRE(store.Add(b.public_key, "beta", 2).ok());
  REQUIRE(state.SaveTrust(store).ok());
  CHECK(Reopen().LoadTrust().size() == 2);
  Damage(dir.Path("trust"));
  StateDir reopened = Reopen();
  dust::TrustStore loaded = reopened.LoadTrust();
  CHECK(loaded.size() == 1);
  CHECK(loaded.Contains(a.public_key));
  CHECK(CountCorrupt(dir.path(), "trust") == 1);
}

TEST_CASE_METHOD(EmptyStateDir, "storage: the identity is created once and kept across restarts",
                 "[daemon][storage]") {
  bool created = false;
  auto first = LoadIdentity(&created);
  REQUIRE(first.ok());
  CHECK(created);
  struct stat st {};
  REQUIRE(::stat(dir.Path("identity.key").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  auto second = LoadIdentity(&created);
  REQUIRE(second.ok());
  CHECK_FALSE(created);
  CHECK(second->public_key == first->public_key);
}

TEST_CASE_METHOD(EmptyStateDir,
                 "storage: a corrupt identity is restored from its backup, never regenerated",
                 "[daemon][storage]") {
  bool created = false;
  auto original = LoadIdentity(&created);
  REQUIRE(original.ok());
  Damage(dir.Path("identity.key"));
  auto restored = LoadIdentity(&created);
  REQUIRE(restored.ok());
  CHECK_FALSE(created);
  CHECK(restored->public_key == original->public_key);
  CHECK(CountCorrupt(dir.path(), "identity.key") == 1);

  // Both copies damaged: refuse rather than silently become a new node.
  Damage(dir.Path("identity.key"));
  Damage(dir.Path("identity.key.backup"));
  auto refused = LoadIdentity(&created);
  CHECK_FALSE(refused.ok());
  CHECK_FALSE(created);
}

TEST_CASE_METHOD(PreparedState,
                 "storage: a corrupt counter mark is replaced by one above any used counter",
                 "[daemon][storage]") {
  const int64_t now_ms = 1795000000000;
  const uint64_t ahead_of_clock = (static_cast<uint64_t>(now_ms) << 20) + 12345;
  REQUIRE(state.SaveCounterMark(ahead_of_clock).ok());
  CHECK(Reopen().LoadCounterMark(now_ms) == ahead_of_clock);
  Damage(dir.Path("counter"));
  uint64_t mark = Reopen().LoadCounterMark(now_ms);
  CHECK(mark >= static_cast<uint64_t>(now_ms) << 20);
  CHECK(mark < dust::kRejectAfterCounter);
  CHECK(CountCorrupt(dir.path(), "counter") == 1);
}

TEST_CASE_METHOD(PreparedState,
                 "storage: counters rise across a restored old mark or a deleted counter file",
                 "[daemon][storage]") {
  const int64_t now_ms = 1795000000000;
  const uint64_t floor = static_cast<uint64_t>(now_ms) << 20;
  // First start (no file): counters start at the clock, never at 0.
  CHECK(state.LoadCounterMark(now_ms) == floor);
  // A backup from an hour ago brings back an older mark: the clock wins, so peers that saw
  // the newer counters do not drop this node as replay.
  const uint64_t hour_old = static_cast<uint64_t>(now_ms - 3600 * 1000) << 20;
  REQUIRE(state.SaveCounterMark(hour_old).ok());
  CHECK(Reopen().LoadCounterMark(now_ms) == floor);
  // Neither case is a corruption: nothing is quarantined.
  CHECK(CountCorrupt(dir.path(), "counter") == 0);
}

TEST_CASE("storage: the checkpoint read cap admits the largest file written for the model",
          "[daemon][storage]") {
  REQUIRE(dust::InitCrypto().ok());
  // The default model's files are far below the fixed cap.
  CHECK(dust::daemon::CheckpointReadCap(dust::Mlp::DefaultLayers()) ==
        dust::daemon::kMaxCheckpointBytes);
  // A 5.7M-parameter model with momentum and residual writes a file above the fixed 64 MiB
  // cap: the cap for its layers must still admit it (else it is refused at the next start).
  const std::vector<uint32_t> layers{4096, 1400, 10};
  dust::Checkpoint c;
  c.layer_sizes = layers;
  c.params.assign(dust::ParamCount(layers), 0.0f);
  c.momentum = c.params;
  c.residual = c.params;
  c.residual[0] = 1.0f;
  CheckpointData d;
  d.node = dust::EncodeCheckpoint(c);
  c = {};  // free the vectors before the envelope copy
  const size_t file_bytes = dust::daemon::EncodeCheckpointFile(d).size();
  CHECK(file_bytes > dust::daemon::kMaxCheckpointBytes);
  CHECK(file_bytes <= dust::daemon::CheckpointReadCap(layers));
}
