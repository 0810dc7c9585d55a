// The arguments of the control commands (docs/control-protocol.md), read and checked without
// touching the daemon. Each parser returns what its command needs, or the error the command
// replies with: a Status whose code ErrorCodeFor maps to the control error code
// (kInvalidArgument -> invalid_argument, kNotFound -> not_found) and whose message is the
// reply's message.
#pragma once

#include <optional>
#include <string>

#include "control.h"
#include "dust/net/identity.h"
#include "dust/util/status.h"
#include "history.h"

namespace dust::daemon {

// Stores the string argument `name` of `request` in *value: nullopt when it is absent or null.
// invalid_argument ("\"<name>\" must be a string") when it has another type.
Status StringArg(const Json& request, const char* name, std::optional<std::string>* value);

// trust.add: the peer's key and the display name to store.
struct TrustAddArgs {
  PublicKey key{};
  std::string display_name;            // the one given, else the URI's, else the short node ID
  std::vector<std::string> endpoints;  // the URI's (pairing URI "ep" parameters), if any
};

// trust.add's arguments: "uri", or "node_id" and/or "public_key" (which must name the same
// key), and "display_name" (else the URI's). Refuses `own_key` (this node's own) and a
// display name ValidateDisplayName refuses.
Result<TrustAddArgs> ParseTrustAdd(const Json& request, const PublicKey& own_key);

// trust.remove: the key, and how the request named it (for the not_found message).
struct TrustRemoveArgs {
  PublicKey key{};
  std::string shown;
};

// trust.remove's arguments: "node_id" or "public_key". A node_id that does not parse is
// not_found (it cannot be in the trust store either), a malformed public_key invalid_argument.
Result<TrustRemoveArgs> ParseTrustRemove(const Json& request);

// evaluate: the directory and the split asked for.
struct EvaluateArgs {
  std::string data_dir;  // absolute
  std::string split;     // test, train, all, or empty (the daemon picks)
};

// evaluate's arguments: "data_dir" (required, absolute) and "split". Does not look at the
// directory itself (the command does, and answers not_found).
Result<EvaluateArgs> ParseEvaluate(const Json& request);

// history: the time range, the resolution and how many points (docs/control-protocol.md).
struct HistoryArgs {
  int64_t from_ms = 0;
  int64_t to_ms = 0;
  HistoryResolution resolution = HistoryResolution::kAuto;
  size_t max_points = 0;  // 0: every sample in the range
  bool peers = true;
};

// history's arguments, all optional: "since_s" (seconds before now, > 0, at most a day; the
// default is an hour) or "from_ms" (Unix ms), "to_ms" (Unix ms, default now, not before
// from_ms), "resolution" ("auto", "fine" or "coarse"), "max_points" (1..10000) and "peers"
// (bool, default true). since_s and from_ms together are refused.
Result<HistoryArgs> ParseHistory(const Json& request, int64_t now_ms);

}  // namespace dust::daemon
