// dustd control commands: arguments are checked in a fixed order, and each error carries the
// code and message docs/control-protocol.md promises (the daemon replies with them verbatim).
#include <catch2/catch.hpp>
#include <string>

#include "command_args.h"
#include "dust/util/bytes.h"
#include "dust/util/crypto.h"

using dust::PublicKey;
using dust::Status;
using dust::StatusCode;
using dust::daemon::Json;

namespace {

// The error code and message a failed parse would be replied with.
template <typename T>
std::string ReplyOf(const dust::Result<T>& parsed) {
  REQUIRE_FALSE(parsed.ok());
  return std::string(dust::daemon::ErrorCodeFor(parsed.status())) + ": " +
         parsed.status().message();
}

// Two identities: this node's own and a peer's.
struct Keys {
  Keys() { REQUIRE(dust::InitCrypto().ok()); }
  dust::KeyPair own = dust::GenerateKeyPair();
  dust::KeyPair peer = dust::GenerateKeyPair();
  std::string peer_id = dust::FormatNodeId(peer.public_key);
  std::string peer_hex = dust::ToHex(peer.public_key);
};

}  // namespace

TEST_CASE("command args: a string argument may be absent or null, not another type",
          "[daemon][commands]") {
  std::optional<std::string> v = "stale";
  CHECK(dust::daemon::StringArg(Json{{"cmd", "x"}}, "name", &v).ok());
  CHECK_FALSE(v.has_value());
  CHECK(dust::daemon::StringArg(Json{{"name", nullptr}}, "name", &v).ok());
  CHECK_FALSE(v.has_value());
  CHECK(dust::daemon::StringArg(Json{{"name", "abc"}}, "name", &v).ok());
  CHECK(v == "abc");
  Status st = dust::daemon::StringArg(Json{{"name", 5}}, "name", &v);
  CHECK(st.code() == StatusCode::kInvalidArgument);
  CHECK(st.message() == "\"name\" must be a string");
}

TEST_CASE_METHOD(Keys, "command args: trust.add names its key by URI, node ID or hex key",
                 "[daemon][commands]") {
  auto uri = dust::FormatPairingUri(peer.public_key, "bob");
  REQUIRE(uri.ok());
  auto by_uri = dust::daemon::ParseTrustAdd(Json{{"uri", *uri}}, own.public_key);
  REQUIRE(by_uri.ok());
  CHECK(by_uri->key == peer.public_key);
  CHECK(by_uri->display_name == "bob");
  auto renamed =
      dust::daemon::ParseTrustAdd(Json{{"uri", *uri}, {"display_name", "b2"}}, own.public_key);
  REQUIRE(renamed.ok());
  CHECK(renamed->display_name == "b2");
  auto by_id = dust::daemon::ParseTrustAdd(Json{{"node_id", peer_id}}, own.public_key);
  REQUIRE(by_id.ok());
  CHECK(by_id->key == peer.public_key);
  CHECK(by_id->display_name == dust::ShortNodeId(peer.public_key));
  auto by_hex = dust::daemon::ParseTrustAdd(Json{{"public_key", peer_hex}}, own.public_key);
  REQUIRE(by_hex.ok());
  CHECK(by_hex->key == peer.public_key);
  auto both = dust::daemon::ParseTrustAdd(Json{{"node_id", peer_id}, {"public_key", peer_hex}},
                                          own.public_key);
  REQUIRE(both.ok());
  CHECK(both->key == peer.public_key);
}

TEST_CASE_METHOD(Keys, "command args: trust.add errors, in the order they are checked",
                 "[daemon][commands]") {
  auto add = [&](const Json& request) {
    return ReplyOf(dust::daemon::ParseTrustAdd(request, own.public_key));
  };
  CHECK(add(Json::object()) ==
        "invalid_argument: give \"uri\", or \"node_id\" (and/or \"public_key\")");
  // Every argument's type is checked before any is used.
  CHECK(add(Json{{"uri", 1}, {"node_id", 2}}) == "invalid_argument: \"uri\" must be a string");
  CHECK(add(Json{{"node_id", peer_id}, {"display_name", true}}) ==
        "invalid_argument: \"display_name\" must be a string");
  CHECK(add(Json{{"uri", "dust://v1/garbage"}}).rfind("invalid_argument: uri: ", 0) == 0);
  CHECK(add(Json{{"node_id", "ABCD"}}).rfind("invalid_argument: node_id: ", 0) == 0);
  CHECK(add(Json{{"public_key", "zz"}}) ==
        "invalid_argument: public_key: expected 64 hex characters");
  CHECK(add(Json{{"node_id", peer_id}, {"public_key", dust::ToHex(own.public_key)}}) ==
        "invalid_argument: node_id and public_key name different keys");
  // This node's own key is refused before its display name is looked at.
  CHECK(add(Json{{"public_key", dust::ToHex(own.public_key)}, {"display_name", "a\x01"}}) ==
        "invalid_argument: that is this node's own key");
  CHECK(add(Json{{"node_id", peer_id}, {"display_name", "a\x01"}})
            .rfind("invalid_argument: display_name: ", 0) == 0);
}

TEST_CASE_METHOD(Keys, "command args: trust.remove takes a node ID or a hex key",
                 "[daemon][commands]") {
  auto by_id = dust::daemon::ParseTrustRemove(Json{{"node_id", peer_id}});
  REQUIRE(by_id.ok());
  CHECK(by_id->key == peer.public_key);
  CHECK(by_id->shown == peer_id);
  auto by_hex = dust::daemon::ParseTrustRemove(Json{{"public_key", peer_hex}});
  REQUIRE(by_hex.ok());
  CHECK(by_hex->key == peer.public_key);
  CHECK(by_hex->shown == peer_hex);

  CHECK(ReplyOf(dust::daemon::ParseTrustRemove(Json::object())) ==
        "invalid_argument: give \"node_id\" or \"public_key\"");
  CHECK(ReplyOf(dust::daemon::ParseTrustRemove(Json{{"public_key", "abcd"}})) ==
        "invalid_argument: public_key: expected 64 hex characters");
  // An ID that does not parse cannot be trusted either: not_found, quoting at most 80 bytes.
  std::string reply =
      ReplyOf(dust::daemon::ParseTrustRemove(Json{{"node_id", std::string(99, 'Q')}}));
  CHECK(reply.rfind("not_found: " + std::string(80, 'Q') + ": not a trusted node (", 0) == 0);
}

TEST_CASE("command args: evaluate wants an absolute data_dir and a known split",
          "[daemon][commands]") {
  auto ok = dust::daemon::ParseEvaluate(Json{{"data_dir", "/data"}, {"split", "train"}});
  REQUIRE(ok.ok());
  CHECK(ok->data_dir == "/data");
  CHECK(ok->split == "train");
  auto no_split = dust::daemon::ParseEvaluate(Json{{"data_dir", "/data"}, {"split", nullptr}});
  REQUIRE(no_split.ok());
  CHECK(no_split->split.empty());

  auto eval = [](const Json& request) { return ReplyOf(dust::daemon::ParseEvaluate(request)); };
  CHECK(eval(Json::object()) == "invalid_argument: \"data_dir\" is required");
  CHECK(eval(Json{{"data_dir", 3}}) == "invalid_argument: \"data_dir\" must be a string");
  const std::string relative =
      "invalid_argument: data_dir must be an absolute path (the daemon reads it, from its own "
      "working directory)";
  CHECK(eval(Json{{"data_dir", ""}}) == relative);
  CHECK(eval(Json{{"data_dir", "data"}, {"split", 4}}) == relative);  // data_dir first
  CHECK(eval(Json{{"data_dir", "/d"}, {"split", 4}}) ==
        "invalid_argument: \"split\" must be a string");
  CHECK(eval(Json{{"data_dir", "/d"}, {"split", "some"}}) ==
        "invalid_argument: split must be test, train or all");
}
