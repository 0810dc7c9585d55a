#include "command_args.h"

#include <algorithm>
#include <cmath>

#include "dust/util/bytes.h"

namespace dust::daemon {
namespace {

// A public key given in hex (64 characters).
Result<PublicKey> PublicKeyFromHex(const std::string& hex) {
  Bytes raw;
  PublicKey key{};
  if (!FromHex(hex, &raw) || raw.size() != key.size()) {
    return Status::InvalidArgument("public_key: expected 64 hex characters");
  }
  std::copy(raw.begin(), raw.end(), key.begin());
  return key;
}

// The key trust.add names by "node_id" and/or "public_key" (at least one is given).
Result<PublicKey> KeyFromIdOrHex(const std::optional<std::string>& node_id,
                                 const std::optional<std::string>& key_hex) {
  std::optional<PublicKey> from_id;
  if (node_id) {
    Result<PublicKey> k = ParseNodeId(*node_id);
    if (!k.ok()) return Status::InvalidArgument("node_id: " + k.status().message());
    from_id = *k;
  }
  if (!key_hex) return *from_id;
  Result<PublicKey> k = PublicKeyFromHex(*key_hex);
  if (!k.ok()) return k.status();
  if (from_id && *k != *from_id) {
    return Status::InvalidArgument("node_id and public_key name different keys");
  }
  return k;
}

}  // namespace

Status StringArg(const Json& request, const char* name, std::optional<std::string>* value) {
  value->reset();
  auto it = request.find(name);
  if (it == request.end() || it->is_null()) return Status::Ok();
  if (!it->is_string()) {
    return Status::InvalidArgument(std::string("\"") + name + "\" must be a string");
  }
  *value = it->get<std::string>();
  return Status::Ok();
}

Result<TrustAddArgs> ParseTrustAdd(const Json& request, const PublicKey& own_key) {
  std::optional<std::string> uri, node_id, key_hex, name;
  DUST_RETURN_IF_ERROR(StringArg(request, "uri", &uri));
  DUST_RETURN_IF_ERROR(StringArg(request, "node_id", &node_id));
  DUST_RETURN_IF_ERROR(StringArg(request, "public_key", &key_hex));
  DUST_RETURN_IF_ERROR(StringArg(request, "display_name", &name));
  TrustAddArgs args;
  if (uri) {
    Result<PairingInfo> info = ParsePairingUri(*uri);
    if (!info.ok()) return Status::InvalidArgument("uri: " + info.status().message());
    args.key = info->key;
    args.display_name = info->display_name;
    args.endpoints = info->endpoints;
  } else if (node_id || key_hex) {
    Result<PublicKey> key = KeyFromIdOrHex(node_id, key_hex);
    if (!key.ok()) return key.status();
    args.key = *key;
  } else {
    return Status::InvalidArgument("give \"uri\", or \"node_id\" (and/or \"public_key\")");
  }
  if (args.key == own_key) return Status::InvalidArgument("that is this node's own key");
  if (name) args.display_name = *name;
  if (args.display_name.empty()) args.display_name = ShortNodeId(args.key);
  if (Status v = ValidateDisplayName(args.display_name); !v.ok()) {
    return Status::InvalidArgument("display_name: " + v.message());
  }
  return args;
}

Result<TrustRemoveArgs> ParseTrustRemove(const Json& request) {
  std::optional<std::string> node_id, key_hex;
  DUST_RETURN_IF_ERROR(StringArg(request, "node_id", &node_id));
  DUST_RETURN_IF_ERROR(StringArg(request, "public_key", &key_hex));
  if (node_id) {
    Result<PublicKey> k = ParseNodeId(*node_id);
    if (!k.ok()) {
      // Not a valid ID at all: it cannot be in the store either.
      return Status::NotFound(node_id->substr(0, 80) + ": not a trusted node (" +
                              k.status().message() + ")");
    }
    return TrustRemoveArgs{*k, *node_id};
  }
  if (key_hex) {
    Result<PublicKey> k = PublicKeyFromHex(*key_hex);
    if (!k.ok()) return k.status();
    return TrustRemoveArgs{*k, *key_hex};
  }
  return Status::InvalidArgument("give \"node_id\" or \"public_key\"");
}

Result<EvaluateArgs> ParseEvaluate(const Json& request) {
  std::optional<std::string> dir, split;
  DUST_RETURN_IF_ERROR(StringArg(request, "data_dir", &dir));
  if (!dir) return Status::InvalidArgument("\"data_dir\" is required");
  if (dir->empty() || (*dir)[0] != '/') {
    return Status::InvalidArgument(
        "data_dir must be an absolute path (the daemon reads it, from its own working "
        "directory)");
  }
  DUST_RETURN_IF_ERROR(StringArg(request, "split", &split));
  EvaluateArgs args{*dir, split.value_or("")};
  if (!args.split.empty() && args.split != "test" && args.split != "train" && args.split != "all") {
    return Status::InvalidArgument("split must be test, train or all");
  }
  return args;
}

namespace {

// The integer argument `name` (absent or null: nullopt), refused unless it is a whole number in
// [lo, hi].
Status IntArg(const Json& request, const char* name, int64_t lo, int64_t hi,
              std::optional<int64_t>* value) {
  value->reset();
  auto it = request.find(name);
  if (it == request.end() || it->is_null()) return Status::Ok();
  const std::string bad = std::string("\"") + name + "\" must be a whole number from " +
                          std::to_string(lo) + " to " + std::to_string(hi);
  if (!it->is_number()) return Status::InvalidArgument(bad);
  double d = it->get<double>();
  if (!(d >= static_cast<double>(lo) && d <= static_cast<double>(hi)) || d != std::floor(d)) {
    return Status::InvalidArgument(bad);
  }
  *value = static_cast<int64_t>(d);
  return Status::Ok();
}

}  // namespace

Result<HistoryArgs> ParseHistory(const Json& request, int64_t now_ms) {
  constexpr int64_t kDayS = 86400;
  constexpr int64_t kMaxMs = int64_t{1} << 50;  // year 37648: any real time fits
  std::optional<int64_t> since_s, from_ms, to_ms, max_points;
  DUST_RETURN_IF_ERROR(IntArg(request, "since_s", 1, kDayS, &since_s));
  DUST_RETURN_IF_ERROR(IntArg(request, "from_ms", 0, kMaxMs, &from_ms));
  DUST_RETURN_IF_ERROR(IntArg(request, "to_ms", 0, kMaxMs, &to_ms));
  DUST_RETURN_IF_ERROR(IntArg(request, "max_points", 1, 10000, &max_points));
  if (since_s && from_ms) return Status::InvalidArgument("give since_s or from_ms, not both");
  HistoryArgs a;
  a.to_ms = to_ms ? *to_ms : now_ms;
  a.from_ms = from_ms ? *from_ms : a.to_ms - (since_s ? *since_s : 3600) * 1000;
  if (a.from_ms > a.to_ms) return Status::InvalidArgument("from_ms is after to_ms");
  a.max_points = max_points ? static_cast<size_t>(*max_points) : 0;
  std::optional<std::string> res;
  DUST_RETURN_IF_ERROR(StringArg(request, "resolution", &res));
  if (!res || *res == "auto") {
    a.resolution = HistoryResolution::kAuto;
  } else if (*res == "fine") {
    a.resolution = HistoryResolution::kFine;
  } else if (*res == "coarse") {
    a.resolution = HistoryResolution::kCoarse;
  } else {
    return Status::InvalidArgument("\"resolution\" must be auto, fine or coarse");
  }
  if (auto it = request.find("peers"); it != request.end() && !it->is_null()) {
    if (!it->is_boolean()) return Status::InvalidArgument("\"peers\" must be true or false");
    a.peers = it->get<bool>();
  }
  return a;
}

}  // namespace dust::daemon
