#include "dust/ml/checkpoint.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <limits>

#include "dust/util/crypto.h"
#include "dust/util/rng.h"
#include "testutil/dataset_util.h"
#include "testutil/model_util.h"

using namespace dust;

namespace {

Checkpoint SampleCheckpoint(std::vector<uint32_t> sizes, bool with_momentum) {
  Checkpoint c;
  c.layer_sizes = std::move(sizes);
  c.init_seed = 0x0123456789abcdefULL;
  c.steps = 1875;
  c.rounds = 42;
  c.samples_seen = 60000;
  Rng rng(5);
  c.params.resize(ParamCount(c.layer_sizes));
  for (float& p : c.params) p = static_cast<float>(rng.Normal());
  c.params[0] = -0.0f;  // signed zero must survive bit-exactly
  if (with_momentum) {
    c.momentum.resize(c.params.size());
    for (float& v : c.momentum) v = static_cast<float>(rng.Normal() * 1e-3);
  }
  return c;
}

// Rewrites the trailing checksum so a deliberately edited body passes it, to reach the checks
// behind the checksum.
void Reseal(Bytes& b) {
  const uint64_t sum = Checksum64(ByteView(b).first(b.size() - 8));
  for (size_t i = 0; i < 8; ++i) b[b.size() - 8 + i] = static_cast<uint8_t>(sum >> (8 * i));
}

}  // namespace

TEST_CASE("checkpoint decode inverts encode, with and without momentum") {
  REQUIRE(InitCrypto().ok());
  for (bool momentum : {true, false}) {
    const Checkpoint c = SampleCheckpoint({12, 7, 6, 5}, momentum);
    const Bytes b = EncodeCheckpoint(c);
    auto d = DecodeCheckpoint(b);
    REQUIRE(d.ok());
    CHECK(*d == c);
    CHECK(std::signbit(d->params[0]));
    CHECK(EncodeCheckpoint(*d) == b);  // canonical
  }
}

TEST_CASE("checkpoint carries the residual block with or without momentum") {
  REQUIRE(InitCrypto().ok());
  for (bool momentum : {true, false}) {
    Checkpoint c = SampleCheckpoint({12, 7, 5}, momentum);
    c.residual.resize(c.params.size());
    for (size_t i = 0; i < c.residual.size(); ++i) c.residual[i] = 1e-4f * static_cast<float>(i);
    const Bytes b = EncodeCheckpoint(c);
    CHECK(b[10] == (momentum ? 3 : 2));  // flags: bit 1 = residual, bit 0 = momentum
    auto d = DecodeCheckpoint(b);
    REQUIRE(d.ok());
    CHECK(*d == c);
    CHECK(EncodeCheckpoint(*d) == b);
    // A residual that is not finite is refused like any other value.
    Checkpoint bad = c;
    bad.residual.back() = std::numeric_limits<float>::infinity();
    auto refused = DecodeCheckpoint(EncodeCheckpoint(bad));
    CHECK(refused.status().code() == StatusCode::kCorrupt);
    CHECK_THAT(refused.status().message(), Catch::Contains("residual"));
  }
}

TEST_CASE("checkpoint of the default model has the documented size") {
  REQUIRE(InitCrypto().ok());
  const Checkpoint c = SampleCheckpoint(Mlp::DefaultLayers(), true);
  // header 16 + 3 sizes * 4 + counters 40 + 2 * 25450 floats * 4 + checksum 8
  CHECK(EncodeCheckpoint(c).size() == 16 + 12 + 40 + 2 * 25450 * 4 + 8);
  Checkpoint with_residual = c;
  with_residual.residual.assign(c.params.size(), 0.5f);
  CHECK(EncodeCheckpoint(with_residual).size() == 16 + 12 + 40 + 3 * 25450 * 4 + 8);
  CHECK(EncodedCheckpointSize(c.layer_sizes, 2) == EncodeCheckpoint(c).size());
  CHECK(EncodedCheckpointSize(c.layer_sizes, 3) == EncodeCheckpoint(with_residual).size());
}

TEST_CASE("checkpoint decoding rejects every truncation") {
  REQUIRE(InitCrypto().ok());
  const Bytes b = EncodeCheckpoint(SampleCheckpoint({12, 7, 5}, true));
  for (size_t n = 0; n < b.size(); ++n) {
    auto d = DecodeCheckpoint(ByteView(b).first(n));
    if (d.ok()) FAIL_CHECK("a truncation to " << n << " bytes decoded");
  }
  Bytes longer = b;
  longer.push_back(0);
  CHECK_FALSE(DecodeCheckpoint(longer).ok());
}

TEST_CASE("checkpoint decoding rejects every single bit flip") {
  REQUIRE(InitCrypto().ok());
  const Bytes b = EncodeCheckpoint(SampleCheckpoint({12, 7, 5}, true));
  Bytes m = b;
  for (size_t i = 0; i < m.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      m[i] ^= static_cast<uint8_t>(1u << bit);
      if (DecodeCheckpoint(m).ok())
        FAIL_CHECK("flip of byte " << i << " bit " << bit << " decoded");
      m[i] ^= static_cast<uint8_t>(1u << bit);
    }
  }
  CHECK(m == b);
}

TEST_CASE("checkpoint decoding names the defect: magic, version, checksum") {
  REQUIRE(InitCrypto().ok());
  const Bytes b = EncodeCheckpoint(SampleCheckpoint({12, 7, 5}, false));
  Bytes bad_magic = b;
  bad_magic[0] = 'X';
  CHECK(DecodeCheckpoint(bad_magic).status().code() == StatusCode::kCorrupt);
  Bytes v2 = b;
  v2[8] = 2;
  CHECK(DecodeCheckpoint(v2).status().code() == StatusCode::kUnsupported);
  Bytes altered = b;
  altered[100] ^= 1;
  auto d = DecodeCheckpoint(altered);
  CHECK(d.status().code() == StatusCode::kCorrupt);
  CHECK(d.status().message().find("checksum") != std::string::npos);
}

TEST_CASE("checkpoint decoding refuses resealed bytes with bad fields") {
  REQUIRE(InitCrypto().ok());
  const Bytes b = EncodeCheckpoint(SampleCheckpoint({12, 7, 5}, true));
  const size_t sizes_at = 16, param_count_at = 16 + 12 + 32, floats_at = param_count_at + 8;

  Bytes flags = b;
  flags[10] |= 2;  // a reserved flag bit
  Reseal(flags);
  CHECK_FALSE(DecodeCheckpoint(flags).ok());

  Bytes nan = b;
  const float q = std::numeric_limits<float>::quiet_NaN();
  std::memcpy(&nan[floats_at + 4 * 3], &q, 4);
  Reseal(nan);
  auto d = DecodeCheckpoint(nan);
  CHECK(d.status().code() == StatusCode::kCorrupt);
  CHECK(d.status().message().find("not finite") != std::string::npos);

  Bytes inf_momentum = b;
  const float inf = std::numeric_limits<float>::infinity();
  std::memcpy(&inf_momentum[inf_momentum.size() - 12], &inf, 4);
  Reseal(inf_momentum);
  CHECK_FALSE(DecodeCheckpoint(inf_momentum).ok());

  Bytes count = b;
  count[param_count_at] ^= 1;  // param count disagrees with the layer sizes
  Reseal(count);
  CHECK_FALSE(DecodeCheckpoint(count).ok());

  Bytes wide = b;
  const uint32_t too_wide = kMaxLayerWidth + 1;
  std::memcpy(&wide[sizes_at + 4], &too_wide, 4);
  Reseal(wide);
  CHECK(DecodeCheckpoint(wide).status().code() == StatusCode::kInvalidArgument);

  Bytes many = b;
  const uint32_t layers = 1000;
  std::memcpy(&many[12], &layers, 4);
  Reseal(many);
  CHECK(DecodeCheckpoint(many).status().code() == StatusCode::kInvalidArgument);
}

TEST_CASE("checkpoint restores a model and trainer that continue identically") {
  REQUIRE(InitCrypto().ok());
  auto created = Mlp::Create({12, 32, 5});
  REQUIRE(created.ok());
  Mlp m = std::move(created).value();
  m.Init(3);
  Dataset data(12, 5);
  Rng rng(1);
  std::vector<float> x(12);
  for (int s = 0; s < 16; ++s) {
    for (float& v : x) v = rng.Uniform() < 0.5 ? 0.0f : rng.UniformFloat();
    data.AddDense(x, static_cast<uint8_t>(rng.Below(5)));
  }
  const std::vector<uint32_t> b1{0, 1, 2, 3}, b2{4, 5, 6, 7};
  Trainer t(m, SgdOptions{.batch_size = 4});
  t.Step(m, data, b1);

  auto d = DecodeCheckpoint(EncodeCheckpoint(MakeCheckpoint(m, t, 3, 7, 4)));
  REQUIRE(d.ok());
  CHECK(d->steps == 1);
  CHECK(d->rounds == 7);
  CHECK(d->samples_seen == 4);
  auto restored = ModelFromCheckpoint(*d);
  REQUIRE(restored.ok());
  Trainer t2(*restored, SgdOptions{.batch_size = 4});
  REQUIRE(RestoreTrainer(*d, t2).ok());
  CHECK(t2.steps() == 1);

  t.Step(m, data, b2);
  t2.Step(*restored, data, b2);
  CHECK(std::equal(m.params().begin(), m.params().end(), restored->params().begin()));

  auto other = Mlp::Create({12, 31, 5});
  REQUIRE(other.ok());
  Trainer wrong(*other, SgdOptions{});
  CHECK_FALSE(RestoreTrainer(*d, wrong).ok());
}

TEST_CASE("checkpoint encoding matches the protocol.md test vector") {
  // The vector was computed by an independent implementation (Python struct + hashlib.blake2b,
  // the command is in docs/protocol.md "Checkpoint file").
  REQUIRE(InitCrypto().ok());
  const Checkpoint c = testutil::ProtocolVectorCheckpoint();
  CHECK(ToHex(EncodeCheckpoint(c)) ==
        "44555354434b505401000000020000000200000001000000010000000000000002000000000000000300"
        "000000000000040000000000000003000000000000000000003f000080bf0000803e49d8c25e4c891c0e");
}

TEST_CASE("checkpoint carries the engine's remembered peers and refuses bad ones") {
  REQUIRE(InitCrypto().ok());
  Checkpoint c = SampleCheckpoint({5, 4, 3}, true);
  const size_t n = c.params.size();
  const size_t without = EncodeCheckpoint(c).size();
  for (uint8_t k : {3, 9}) {
    Checkpoint::Peer p;
    p.key.fill(k);
    p.last_ms = -1234567 * k;
    p.weight = 250.0f * k;
    p.updates = 7u * k;
    p.delta.assign(n, 0.001f * k);
    p.anchor.assign(c.params.begin(), c.params.end());
    p.anchor[1] = -0.0f;
    c.peers.push_back(p);
  }
  const Bytes b = EncodeCheckpoint(c);
  // protocol.md: u32 count, then per peer 32 + 8 + 4 + 4 bytes and two blocks of n floats.
  CHECK(b.size() == without + 4 + 2 * (48 + 8 * n));
  auto d = DecodeCheckpoint(b);
  REQUIRE(d.ok());
  CHECK(*d == c);
  CHECK(std::signbit(d->peers[0].anchor[1]));

  // The count (right after the momentum block, flags 0x9) and what follows it.
  const size_t count_at = b.size() - 8 - 2 * (48 + 8 * n) - 4;
  auto edited = [&](auto edit) {
    Bytes e = b;
    edit(e);
    Reseal(e);
    return DecodeCheckpoint(e).status();
  };
  CHECK(edited([&](Bytes& e) { e[count_at] = 3; }).code() == StatusCode::kCorrupt);  // length
  CHECK(edited([&](Bytes& e) { e[count_at] = 0; }).message().find("remembered peers") !=
        std::string::npos);
  // Keys out of order (the second key below the first).
  const size_t second_key = count_at + 4 + 48 + 8 * n;
  CHECK(edited([&](Bytes& e) { e[second_key] = 1; }).message().find("key order") !=
        std::string::npos);
  // A negative weight, and a non-finite remembered value.
  const size_t weight = count_at + 4 + 32 + 8;
  CHECK(edited([&](Bytes& e) { e[weight + 3] |= 0x80; }).message().find("weight") !=
        std::string::npos);
  CHECK(edited([&](Bytes& e) {
          const float inf = std::numeric_limits<float>::infinity();
          std::memcpy(&e[weight + 8], &inf, 4);
        })
            .message()
            .find("remembered delta") != std::string::npos);
}

TEST_CASE("checkpoint privacy accountant block: the fuzz seed (written from the spec) decodes") {
  // tests/fuzz/corpus/checkpoint/dp-sealed: a mode byte, then a 4-3-2 checkpoint with flag bit 4
  // and the accountant (40 steps, RDP 0.002 x order), written by tests/vectors/make_fuzz_corpus.py.
  const Bytes file =
      testutil::ReadAll(std::string(DUST_SOURCE_DIR) + "/tests/fuzz/corpus/checkpoint/dp-sealed");
  REQUIRE(file.size() > 1);
  auto c = DecodeCheckpoint(ByteView(file).subspan(1));
  REQUIRE(c.ok());
  REQUIRE(c->dp.has_value());
  CHECK(c->dp->steps == 40);
  CHECK(c->dp->rdp.front() == 0.002 * 2);
  CHECK(c->dp->rdp.back() == 0.002 * 256);
  // Canonical, and the block costs 8 + 8 x 255 bytes.
  const Bytes again = EncodeCheckpoint(*c);
  CHECK(again == Bytes(file.begin() + 1, file.end()));
  Checkpoint without = *c;
  without.dp.reset();
  CHECK(EncodeCheckpoint(without).size() + 8 + 8 * kRdpOrders == again.size());
  // A step count of 0 with the flag, or a NaN RDP value: corrupt.
  Checkpoint zero = *c;
  zero.dp->steps = 0;
  CHECK(DecodeCheckpoint(EncodeCheckpoint(zero)).status().code() == StatusCode::kCorrupt);
  Checkpoint nan = *c;
  nan.dp->rdp[7] = std::numeric_limits<double>::quiet_NaN();
  CHECK(DecodeCheckpoint(EncodeCheckpoint(nan)).status().code() == StatusCode::kCorrupt);
}
