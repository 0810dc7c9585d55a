// How a node agrees with its peers on one input scaling (docs/engine.md, "Feature scaling"):
// pure state, no I/O, driven by node.cpp.
//
//   1. Calibrating (from the node's first round for `calibration_rounds`, at least three passes
//      over its blocks): the node uses the provisional scaling of its own data
//      (ProvisionalScalingFor: the identity for data within [-1, 1], so that nodes with image
//      data merge meanwhile), sends one block of its local moments per round and keeps the
//      latest complete moments of every peer.
//   2. At the end it pools its own moments and every trusted peer's complete ones, in key order
//      (so nodes that heard the same peers compute the same bits), and freezes the result: the
//      node's FLEET scaling, with the pooled sample count and an id.
//   3. Agreed: every `announce_rounds` rounds it sends one block of its fleet scaling. A node
//      adopts a fleet scaling it has received whole when it is better than its own: any fleet
//      scaling beats a calibrating node's own (a late joiner takes the fleet's at once), and
//      between fleet scalings more samples win, then the smaller id. Partitions that froze
//      different scalings therefore converge to one when they meet.
// Each change of scaling is reported once (TakeChange); the node then moves its model to it
// without changing the function it computes (model.h ChangeScaling).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "dust/ml/scaling.h"
#include "dust/net/scaling_wire.h"
#include "dust/net/trust.h"
#include "dust/util/crypto.h"

namespace dust::internal {

class FleetScaling {
 public:
  FleetScaling(uint32_t features, uint32_t calibration_rounds, uint32_t announce_rounds);

  // The node's own training data changed (or is first known). While calibrating, the node's
  // scaling follows it.
  void SetOwnMoments(const FeatureMoments& own);
  // A checkpoint's agreed scaling: agreed from now on.
  void Restore(const InputScaling& scaling, uint64_t samples);

  // A block from an authenticated peer (decoded; its width checked by the caller).
  void OnBlock(const PublicKey& sender, const ScalingBlock& block);
  // Once per round before sending: starts calibration at the first round, freezes at its end.
  void OnRound(uint64_t round, const TrustStore& trust, const PublicKey& self);
  // The block to send this round, if any.
  std::optional<ScalingBlock> BlockToSend(uint64_t round) const;
  // The new scaling if it changed since the last call.
  std::optional<InputScaling> TakeChange();

  bool agreed() const { return m_agreed; }
  const InputScaling& scaling() const { return m_scaling; }
  uint64_t samples() const { return m_samples; }  // pooled samples (agreed), own (calibrating)
  uint64_t id() const { return m_id; }            // the scaling's id (ScalingId)
  size_t peers_pooled() const { return m_peers_pooled; }
  uint64_t calibration_end() const { return m_calibration_end; }  // round (0: not started)

 private:
  struct PeerMoments {
    FeatureMoments moments;
    std::vector<bool> got;  // per block
    size_t blocks = 0;      // blocks received
  };
  struct Candidate {  // a fleet scaling being received
    uint64_t samples = 0;
    uint64_t id = 0;
    std::vector<float> center, scale;
    std::vector<bool> got;
    size_t blocks = 0;
    bool identity = false;
  };

  uint32_t LocalBlocks() const;
  uint32_t FleetBlocks() const;
  bool Better(uint64_t samples, uint64_t id) const;
  void Set(InputScaling scaling, uint64_t samples, bool agreed);

  uint32_t m_features;
  uint32_t m_calibration_rounds;
  uint32_t m_announce_rounds;
  FeatureMoments m_own;  // as it travels (float32)
  std::map<PublicKey, PeerMoments> m_peers;
  std::optional<Candidate> m_candidate;

  bool m_agreed = false;
  InputScaling m_scaling;
  uint64_t m_samples = 0;
  uint64_t m_id = 0;
  size_t m_peers_pooled = 0;
  uint64_t m_calibration_start = 0;
  uint64_t m_calibration_end = 0;
  bool m_started = false;
  bool m_changed = false;
};

// Moments as they travel on the wire: every value rounded to float32.
FeatureMoments AsSent(const FeatureMoments& m);

}  // namespace dust::internal
