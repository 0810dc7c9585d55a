#include "command_args.h"

#include <algorithm>

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

}  // namespace dust::daemon
