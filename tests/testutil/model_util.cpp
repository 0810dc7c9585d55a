#include "testutil/model_util.h"

#include <catch2/catch.hpp>
#include <utility>

namespace dust::testutil {

Mlp MakeModel(std::vector<uint32_t> sizes, uint64_t seed) {
  auto m = Mlp::Create(std::move(sizes));
  REQUIRE(m.ok());
  m->Init(seed);
  return std::move(m).value();
}

Checkpoint ProtocolVectorCheckpoint() {
  Checkpoint c;
  c.layer_sizes = {2, 1};
  c.init_seed = 1;
  c.steps = 2;
  c.rounds = 3;
  c.samples_seen = 4;
  c.params = {0.5f, -1.0f, 0.25f};
  return c;
}

}  // namespace dust::testutil
