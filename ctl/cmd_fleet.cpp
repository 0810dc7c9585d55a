// dustctl fleet init|enroll|revoke|install: fleet certificates (docs/operations.md, "A fleet").
//
// init, enroll and revoke run on the operator's machine with the fleet key and need no daemon;
// install hands a certificate or a revocation list (told apart by the file's magic) to the
// local daemon.
//
// The operator's newest revocation list lives next to the fleet key, FLEET_KEY.revocations,
// so each `revoke` builds on the previous list (the serial is the previous one + 1, the keys
// the previous ones and the new ones): a device holding any older list accepts the newer one.
#include <sys/stat.h>

#include <algorithm>
#include <ostream>

#include "commands.h"
#include "dust/net/fleet.h"
#include "dust/net/identity.h"
#include "dust/util/file.h"
#include "format.h"
#include "qr.h"

namespace dust::ctl {
namespace {

constexpr int64_t kDayMs = 86400000;
constexpr long kDefaultExpiryDays = 365;
constexpr long kMaxExpiryDays = 100 * 365;

bool PathExists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

std::string RevocationsPath(const std::string& fleet_key) { return fleet_key + ".revocations"; }

// The fleet key, or an error message naming the file and the fix.
Result<KeyPair> LoadFleetKey(const std::string& path) {
  Result<KeyPair> key = LoadIdentity(path);
  if (key.ok()) return key;
  if (key.status().code() == StatusCode::kNotFound) {
    return Status::NotFound(
        path + ": no such fleet key (create one with `dustctl fleet init --out " + path + "`)");
  }
  return key.status();
}

}  // namespace

int CmdFleetInit(Context& ctx, std::span<const std::string> args) {
  static const CommandHelp kHelp{
      "fleet init",
      "--out FLEET_KEY",
      "Creates a fleet signing key (mode 0600) on this machine and prints the fleet ID, which\n"
      "every device of the fleet lists in its configuration (`fleet = ID`). Needs no daemon.\n"
      "Keep the key offline and backed up: whoever holds it can enroll devices into the fleet.\n"
      "Refuses to overwrite an existing file.",
      {{"out", "FLEET_KEY", "where to write the key", 'o'}}};
  ParsedArgs a;
  if (auto rc = ParseCommandArgs(ctx, kHelp, args, &a)) return *rc;
  if (!a.Has("out")) {
    *ctx.err << "dustctl fleet init: --out FLEET_KEY is required\n";
    return kExitUsage;
  }
  const std::string path = a.Get("out");
  if (PathExists(path)) {
    *ctx.err << "dustctl fleet init: " << path
             << " exists; refusing to overwrite a key (choose another --out, or move it away)\n";
    return kExitUsage;
  }
  if (!InitCrypto().ok()) return kExitLocal;
  const KeyPair key = GenerateKeyPair();
  if (Status st = SaveIdentity(path, key); !st.ok()) {
    *ctx.err << "dustctl fleet init: cannot write " << path << ": " << st.message() << "\n";
    return kExitLocal;
  }
  if (ctx.json) {
    ctx.PrintJson({{"fleet_id", FormatNodeId(key.public_key)},
                   {"public_key", ToHex(key.public_key)},
                   {"key_file", path}});
  } else {
    *ctx.out << "fleet key written to " << path << "\nfleet ID: " << FormatNodeId(key.public_key)
             << "\nOn every device, add to its configuration:  fleet = "
             << FormatNodeId(key.public_key) << "\n";
  }
  return kExitOk;
}

int CmdFleetEnroll(Context& ctx, std::span<const std::string> args) {
  static const CommandHelp kHelp{
      "fleet enroll",
      "--fleet-key FLEET_KEY (URI | NODE-ID | --qr-image FILE) [--name NAME] [--expires DAYS]\n"
      "       [--endpoint HOST:PORT]... [--out CERT]",
      "Signs a certificate for a device with the fleet key: every device that trusts the\n"
      "fleet then trusts it, as if paired. The device is given by its pairing URI, its node\n"
      "ID, or a PNG or JPEG photo or screenshot of its `dustctl trust show` QR code. Install\n"
      "the certificate on that device with `dustctl fleet install CERT`. Needs no daemon.",
      {{"fleet-key", "FLEET_KEY", "the key `dustctl fleet init` wrote"},
       {"qr-image", "FILE", "read the device's pairing URI from the QR code in this image"},
       {"name", "NAME", "display name in the certificate (default: the URI's)"},
       {"expires", "DAYS", "validity in days from now, 1-36500 (default 365)"},
       {"endpoint", "HOST:PORT", "where the device can be reached (at most 4; repeatable)", 0,
        true},
       {"out", "CERT", "where to write it (default: NODE-SHORT-ID.dustcert)", 'o'}},
      0,
      1};
  ParsedArgs a;
  if (auto rc = ParseCommandArgs(ctx, kHelp, args, &a)) return *rc;
  auto fail = [&](const std::string& message, int code = kExitUsage) {
    *ctx.err << "dustctl fleet enroll: " << message << "\n";
    return code;
  };
  if (!a.Has("fleet-key")) return fail("--fleet-key FLEET_KEY is required");
  if (a.Has("qr-image") == !a.positional.empty()) {
    return fail("give the device as a pairing URI, a node ID, or --qr-image FILE (one of them)");
  }
  std::string device_text = a.Has("qr-image") ? "" : a.positional[0];
  if (a.Has("qr-image")) {
    Result<std::string> text = ReadQrFromImageFile(a.Get("qr-image"));
    if (!text.ok()) return fail(text.status().message());
    device_text = *text;
  }
  Certificate cert;
  if (device_text.rfind("dust:", 0) == 0) {
    Result<PairingInfo> info = ParsePairingUri(device_text);
    if (!info.ok()) return fail("bad pairing URI: " + info.status().message());
    cert.device = info->key;
    cert.display_name = info->display_name;
  } else {
    Result<PublicKey> key = ParseNodeId(device_text);
    if (!key.ok()) return fail("bad node ID: " + key.status().message());
    cert.device = *key;
  }
  if (a.Has("name")) {
    if (Status st = ValidateDisplayName(a.Get("name")); !st.ok())
      return fail("--name: " + st.message());
    cert.display_name = a.Get("name");
  }
  long days = kDefaultExpiryDays;
  if (a.Has("expires")) {
    // A copy that outlives strtol's end pointer (Get returns by value).
    const std::string text = a.Get("expires");
    char* end = nullptr;
    days = std::strtol(text.c_str(), &end, 10);
    if (text.empty() || *end != '\0' || days < 1 || days > kMaxExpiryDays) {
      return fail("--expires " + a.Get("expires") + ": expected 1 to 36500 days");
    }
  }
  cert.endpoints = a.GetAll("endpoint");
  if (cert.endpoints.size() > kMaxCertificateEndpoints) {
    return fail("at most " + std::to_string(kMaxCertificateEndpoints) + " --endpoint");
  }
  for (const std::string& ep : cert.endpoints) {
    if (Status st = ValidateCertificateEndpoint(ep); !st.ok())
      return fail("--endpoint " + ep + ": " + st.message());
  }
  if (!InitCrypto().ok()) return kExitLocal;
  Result<KeyPair> fleet = LoadFleetKey(a.Get("fleet-key"));
  if (!fleet.ok()) return fail(fleet.status().message());
  cert.issued_at_ms = ctx.now_ms;
  cert.expires_at_ms = ctx.now_ms + days * kDayMs;
  Result<Bytes> bytes = EncodeCertificate(cert, *fleet);
  if (!bytes.ok()) return fail(bytes.status().message());
  const std::string out = a.Get("out", ShortNodeId(cert.device) + ".dustcert");
  if (Status st = AtomicWriteFile(out, *bytes, 0644); !st.ok()) {
    return fail("cannot write " + out + ": " + st.message(), kExitLocal);
  }
  if (ctx.json) {
    ctx.PrintJson({{"certificate", out},
                   {"node_id", FormatNodeId(cert.device)},
                   {"fleet_id", FormatNodeId(fleet->public_key)},
                   {"display_name", cert.display_name},
                   {"expires_at_ms", cert.expires_at_ms},
                   {"endpoints", cert.endpoints}});
  } else {
    *ctx.out << "certificate for " << FormatNodeId(cert.device)
             << (cert.display_name.empty() ? "" : " (" + cert.display_name + ")") << "\n"
             << "fleet " << FormatNodeId(fleet->public_key) << ", valid " << days << " days\n"
             << "written to " << out << "; on that device run: dustctl fleet install " << out
             << "\n";
  }
  return kExitOk;
}

int CmdFleetRevoke(Context& ctx, std::span<const std::string> args) {
  static const CommandHelp kHelp{
      "fleet revoke",
      "--fleet-key FLEET_KEY NODE-ID... [--out LIST]",
      "Revokes devices' certificates: signs a new revocation list with the previous list's\n"
      "devices and these, serial one higher. The operator's newest list is kept next to the\n"
      "key (FLEET_KEY.revocations, so serials only grow); install it on any one online device\n"
      "with `dustctl fleet install LIST` and the devices pass it on. At most 32 devices per\n"
      "fleet (a list fits one datagram): beyond that, start a new fleet. Needs no daemon.",
      {{"fleet-key", "FLEET_KEY", "the key `dustctl fleet init` wrote"},
       {"out", "LIST", "also write the list here", 'o'}},
      1,
      kMaxRevokedKeys};
  ParsedArgs a;
  if (auto rc = ParseCommandArgs(ctx, kHelp, args, &a)) return *rc;
  auto fail = [&](const std::string& message, int code = kExitUsage) {
    *ctx.err << "dustctl fleet revoke: " << message << "\n";
    return code;
  };
  if (!a.Has("fleet-key")) return fail("--fleet-key FLEET_KEY is required");
  if (!InitCrypto().ok()) return kExitLocal;
  Result<KeyPair> fleet = LoadFleetKey(a.Get("fleet-key"));
  if (!fleet.ok()) return fail(fleet.status().message());
  const std::string state = RevocationsPath(a.Get("fleet-key"));
  RevocationList list;
  if (Result<Bytes> old = ReadFile(state, kMaxRevocationListBytes); old.ok()) {
    Result<RevocationList> prev = DecodeRevocationList(*old);
    if (!prev.ok() || prev->fleet != fleet->public_key) {
      return fail(state + ": " + (prev.ok() ? "a list of another fleet" : prev.status().message()) +
                      " (restore it from a backup; its serial must keep growing)",
                  kExitLocal);
    }
    list = *prev;
  } else if (old.status().code() != StatusCode::kNotFound) {
    return fail(old.status().message(), kExitLocal);
  }
  size_t added = 0;
  for (const std::string& id : a.positional) {
    Result<PublicKey> key = ParseNodeId(id);
    if (!key.ok()) return fail("bad node ID " + id + ": " + key.status().message());
    if (std::find(list.revoked.begin(), list.revoked.end(), *key) != list.revoked.end()) continue;
    list.revoked.push_back(*key);
    ++added;
  }
  if (list.revoked.size() > kMaxRevokedKeys) {
    return fail("a fleet can revoke at most " + std::to_string(kMaxRevokedKeys) +
                " devices; create a new fleet and enroll the others into it");
  }
  list.serial += 1;
  list.issued_at_ms = ctx.now_ms;
  Result<Bytes> bytes = EncodeRevocationList(list, *fleet);
  if (!bytes.ok()) return fail(bytes.status().message());
  if (Status st = AtomicWriteFile(state, *bytes, 0600); !st.ok()) {
    return fail("cannot write " + state + ": " + st.message(), kExitLocal);
  }
  if (a.Has("out")) {
    if (Status st = AtomicWriteFile(a.Get("out"), *bytes, 0644); !st.ok()) {
      return fail("cannot write " + a.Get("out") + ": " + st.message(), kExitLocal);
    }
  }
  const std::string installable = a.Get("out", state);
  if (ctx.json) {
    ctx.PrintJson({{"list", installable},
                   {"serial", list.serial},
                   {"revoked", list.revoked.size()},
                   {"added", added}});
  } else {
    *ctx.out << "revocation list " << list.serial << ": " << list.revoked.size()
             << " device(s) revoked (" << added << " new)\nwritten to " << installable
             << "; on any online device run: dustctl fleet install " << installable << "\n";
  }
  return kExitOk;
}

int CmdFleetInstall(Context& ctx, std::span<const std::string> args) {
  static const CommandHelp kHelp{
      "fleet install",
      "FILE",
      "Hands a fleet file to the local daemon: this node's certificate (from `dustctl fleet\n"
      "enroll`; the daemon checks it is for this node, keeps it in its state directory and\n"
      "sends it with its announces), or a revocation list (from `dustctl fleet revoke`; kept\n"
      "if its serial is higher than the one held, and passed on to the other devices). Which\n"
      "one the file is, is read from the file.",
      {},
      1,
      1};
  ParsedArgs a;
  if (auto rc = ParseCommandArgs(ctx, kHelp, args, &a)) return *rc;
  const std::string& path = a.positional[0];
  Result<Bytes> bytes = ReadFile(path, std::max(kMaxCertificateBytes, kMaxRevocationListBytes));
  if (!bytes.ok()) {
    *ctx.err << "dustctl fleet install: " << bytes.status().message() << "\n";
    return kExitUsage;
  }
  if (FleetFileKindOf(*bytes) == FleetFileKind::kUnknown) {
    *ctx.err << "dustctl fleet install: " << path
             << ": not a certificate or a revocation list (write them with dustctl fleet enroll "
                "or fleet revoke)\n";
    return kExitUsage;
  }
  return RequestAndPrint(
      ctx, {{"cmd", "fleet.install"}, {"data", ToHex(*bytes)}}, [&](const nlohmann::json& r) {
        if (JsonString(r, "kind", "") == "certificate") {
          *ctx.out << "certificate of fleet " << JsonString(r, "fleet_id", "?") << " installed\n";
          if (!JsonBool(r, "fleet_trusted", true)) {
            *ctx.out << "note: this node does not trust that fleet itself (no `fleet = "
                     << JsonString(r, "fleet_id", "?") << "` in its configuration)\n";
          }
        } else {
          *ctx.out << "revocation list " << JsonText(r, "serial") << " of fleet "
                   << JsonString(r, "fleet_id", "?") << ": " << JsonText(r, "revoked") << " revoked"
                   << (JsonBool(r, "already_held", false) ? " (already held)" : "") << "\n";
        }
      });
}

}  // namespace dust::ctl
