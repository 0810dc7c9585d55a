// dustctl trust show|add|list|remove: pairing.
#include <ostream>

#include "commands.h"
#include "dust/net/identity.h"
#include "dust/util/file.h"
#include "format.h"
#include "qr.h"

namespace dust::ctl {
namespace {

constexpr int kDefaultPngScale = 8;

bool IsHexKey(const std::string& s) {
  Bytes b;
  return s.size() == 2 * kPublicKeyBytes && FromHex(s, &b);
}

}  // namespace

int CmdTrustShow(Context& ctx, std::span<const std::string> args) {
  static const CommandHelp kHelp{
      "trust show",
      "[--png FILE [--scale N]] [--no-qr] [--invert]",
      "Shows this node's ID, public key and pairing URI, and the URI as a QR code drawn in\n"
      "the terminal. On the other node, run `dustctl trust add URI`, or photograph the code\n"
      "and run `dustctl trust add --qr-image FILE`. The terminal code is drawn for a dark\n"
      "background; use --invert on a light one.",
      {{"png", "FILE", "also write the QR code as a PNG image"},
       {"scale", "N", "PNG pixels per module, 1-64 (default 8)"},
       {"no-qr", nullptr, "do not draw the QR code in the terminal"},
       {"invert", nullptr, "draw the terminal QR code for a light background"}}};
  ParsedArgs a;
  if (auto rc = ParseCommandArgs(ctx, kHelp, args, &a)) return *rc;
  int scale = kDefaultPngScale;
  if (a.Has("scale")) {
    // A copy that outlives strtol's end pointer (Get returns by value).
    const std::string text = a.Get("scale");
    char* end = nullptr;
    long v = std::strtol(text.c_str(), &end, 10);
    if (text.empty() || *end != '\0' || v < 1 || v > 64) {
      *ctx.err << "dustctl trust show: --scale " << a.Get("scale") << ": expected 1 to 64\n";
      return kExitUsage;
    }
    scale = static_cast<int>(v);
  }
  int rc = kExitOk;
  auto result = ctx.Request({{"cmd", "trust.show"}}, &rc);
  if (!result) return rc;
  const std::string uri = JsonString(*result, "pairing_uri", "");
  if (uri.empty()) {
    *ctx.err << "dustctl trust show: the daemon's reply has no pairing_uri\n";
    return kExitUnreachable;
  }
  Result<QrCode> code = EncodeQr(uri);
  if (!code.ok()) {
    *ctx.err << "dustctl trust show: " << code.status().message() << "\n";
    return kExitLocal;
  }
  if (a.Has("png")) {
    Result<Bytes> png = EncodePng(RasterizeQr(*code, scale));
    Status st = png.ok() ? AtomicWriteFile(a.Get("png"), *png, 0644) : png.status();
    if (!st.ok()) {
      *ctx.err << "dustctl trust show: cannot write " << a.Get("png") << ": " << st.message()
               << "\n";
      return kExitLocal;
    }
  }
  if (ctx.json) {
    ctx.PrintJson(*result);
    return kExitOk;
  }
  *ctx.out << "node: " << JsonText(*result, "node_id");
  if (!JsonString(*result, "display_name", "").empty()) {
    *ctx.out << " (" << JsonString(*result, "display_name", "") << ")";
  }
  *ctx.out << "\npublic key: " << JsonText(*result, "public_key") << "\npairing URI: " << uri
           << "\n";
  if (!a.Has("no-qr")) *ctx.out << RenderQrText(*code, kQrQuietZone, a.Has("invert"));
  if (a.Has("png")) *ctx.out << "QR code written to " << a.Get("png") << "\n";
  return kExitOk;
}

int CmdTrustAdd(Context& ctx, std::span<const std::string> args) {
  static const CommandHelp kHelp{
      "trust add",
      "[--yes] [--name NAME] (URI | NODE-ID [PUBLIC-KEY] | --qr-image FILE)",
      "Trusts a peer: from now on its signed model updates are merged into ours. The peer is\n"
      "given by its pairing URI (dust://v1/...), by its node ID (which encodes its whole\n"
      "public key; the key in hex may be given too and must match), or by a JPEG photo or PNG\n"
      "screenshot of its `dustctl trust show` QR code. Shows the node ID and asks for\n"
      "confirmation on the terminal: compare it with what the peer shows. Pairing is\n"
      "one-way: run trust add on both nodes for them to learn from each other.",
      {{"qr-image", "FILE", "read the pairing URI from the QR code in this JPEG or PNG image"},
       {"name", "NAME", "display name to store (default: the one in the URI)"},
       {"yes", nullptr, "do not ask for confirmation (for scripts)", 'y'}},
      0,
      2};
  ParsedArgs a;
  if (auto rc = ParseCommandArgs(ctx, kHelp, args, &a)) return *rc;
  auto fail = [&](const std::string& message) {
    *ctx.err << "dustctl trust add: " << message << "\n";
    return kExitUsage;
  };

  std::string uri;
  if (a.Has("qr-image")) {
    if (!a.positional.empty())
      return fail("give either --qr-image FILE or a URI/node ID, not both");
    Result<std::string> text = ReadQrFromImageFile(a.Get("qr-image"));
    if (!text.ok()) return fail(text.status().message());
    uri = *text;
  } else if (a.positional.empty()) {
    return fail("give a pairing URI, a node ID, or --qr-image FILE");
  } else if (a.positional[0].rfind("dust:", 0) == 0) {
    if (a.positional.size() > 1) return fail("a pairing URI takes no public key after it");
    uri = a.positional[0];
  }

  nlohmann::json req = {{"cmd", "trust.add"}};
  PublicKey key{};
  std::string name;
  if (!uri.empty()) {
    Result<PairingInfo> info = ParsePairingUri(uri);
    if (!info.ok()) return fail("bad pairing URI: " + info.status().message());
    key = info->key;
    name = info->display_name;
    req["uri"] = uri;
  } else {
    Result<PublicKey> from_id = ParseNodeId(a.positional[0]);
    if (!from_id.ok()) return fail("bad node ID: " + from_id.status().message());
    key = *from_id;
    if (a.positional.size() == 2) {
      Bytes given;
      if (!IsHexKey(a.positional[1]) || !FromHex(a.positional[1], &given)) {
        return fail("public key must be 64 hex characters");
      }
      if (!std::equal(given.begin(), given.end(), key.begin())) {
        return fail("node ID " + a.positional[0] + " does not belong to public key " +
                    a.positional[1]);
      }
    }
    req["node_id"] = FormatNodeId(key);
    req["public_key"] = ToHex(key);
  }
  if (a.Has("name")) {
    Status st = ValidateDisplayName(a.Get("name"));
    if (!st.ok()) return fail("--name: " + st.message());
    name = a.Get("name");
    req["display_name"] = name;
  }

  if (!a.Has("yes")) {
    *ctx.err << "About to trust this node:\n"
             << "  node ID:    " << FormatNodeId(key) << "\n"
             << "  name:       " << (name.empty() ? "-" : name) << "\n"
             << "  public key: " << ToHex(key) << "\n"
             << "Check that the node ID matches what `dustctl trust show` prints on that node.\n";
    if (!ctx.confirm || !ctx.confirm("Trust this node? [y/N] ")) {
      *ctx.err << "dustctl trust add: not confirmed; nothing changed (--yes skips the question)\n";
      return kExitUsage;
    }
  }

  return RequestAndPrint(ctx, req, [&](const nlohmann::json& result) {
    std::string who = JsonString(result, "node_id", FormatNodeId(key));
    std::string shown = JsonString(result, "display_name", "");
    if (!shown.empty()) who += " (" + shown + ")";
    if (JsonBool(result, "added", true)) {
      *ctx.out << "trusted " << who << "\n";
    } else {
      *ctx.out << who << " was already trusted; display name updated\n";
    }
  });
}

int CmdTrustList(Context& ctx, std::span<const std::string> args) {
  static const CommandHelp kHelp{"trust list",
                                 "",
                                 "Lists the trusted peers: node ID, display name, when added.\n"
                                 "--json adds their public keys.",
                                 {}};
  return RunPlainCommand(ctx, args, kHelp, "trust.list", [&](const nlohmann::json& result) {
    *ctx.out << FormatTrustList(result, ctx.now_ms);
  });
}

int CmdTrustRemove(Context& ctx, std::span<const std::string> args) {
  static const CommandHelp kHelp{
      "trust remove",
      "NODE-ID | PUBLIC-KEY",
      "Stops trusting a peer, at once: no update from its key is merged after this returns.",
      {},
      1,
      1};
  ParsedArgs a;
  if (auto rc = ParseCommandArgs(ctx, kHelp, args, &a)) return *rc;
  const std::string& who = a.positional[0];
  nlohmann::json req = {{"cmd", "trust.remove"}};
  if (IsHexKey(who)) {
    req["public_key"] = who;
  } else {
    // Normalise what the user typed (case, missing dashes) so the daemon sees the canonical ID;
    // if it does not parse, let the daemon say so (it may know forms we do not).
    Result<PublicKey> key = ParseNodeId(who);
    req["node_id"] = key.ok() ? FormatNodeId(*key) : who;
  }
  return RequestAndPrint(ctx, req, [&](const nlohmann::json& result) {
    *ctx.out << "removed " << JsonString(result, "node_id", who) << "\n";
  });
}

}  // namespace dust::ctl
