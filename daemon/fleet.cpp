// Fleet certificates on the daemon (docs/operations.md, "A fleet"): the FleetTrust over the
// trust store, this node's certificate and the fleet state kept in the state directory, and
// the control command fleet.install.
//
// State directory files (each written atomically):
//   fleet-certificate            this node's certificate, as `dustctl fleet enroll` wrote it
//   fleet-revocations-<HEX>      the newest revocation list held of fleet <HEX> (its key in hex),
//                                rewritten only by a higher serial
//   fleet-excluded               devices the operator removed with `trust remove` while they
//                                were certified: a trust store file (trust.h) of those keys,
//                                each named "excluded", so no new parser reads it
#include <fstream>

#include "command_args.h"
#include "daemon.h"
#include "dust/net/identity.h"
#include "dust/util/file.h"
#include "log.h"

namespace dust::daemon {
namespace {

constexpr const char* kCertificateFile = "fleet-certificate";
constexpr const char* kExcludedFile = "fleet-excluded";
constexpr const char* kExcludedName = "excluded";

std::string ListFile(const PublicKey& fleet) { return "fleet-revocations-" + ToHex(fleet); }

Json DropsJson(const std::array<uint64_t, kFleetDropCount>& drops) {
  Json j = Json::object();
  for (size_t i = 0; i < kFleetDropCount; ++i)
    j[FleetDropName(static_cast<FleetDrop>(i))] = drops[i];
  return j;
}

}  // namespace

void Daemon::InitFleet() {
  std::vector<PublicKey> fleets;
  for (const std::string& id : m_options.fleets) fleets.push_back(*ParseNodeId(id));
  m_fleet = std::make_unique<FleetTrust>(std::move(fleets), &m_trust);

  if (Result<TrustStore> excluded = LoadTrustStore(m_state.Path(kExcludedFile)); excluded.ok()) {
    for (const TrustedPeer& p : excluded->List()) m_fleet->Exclude(p.key);
  } else if (excluded.status().code() != StatusCode::kNotFound) {
    LogWarn("fleet: {}; no device is excluded", excluded.status().message());
  }
  const int64_t now = NowMs();
  for (const PublicKey& fleet : m_fleet->fleets()) {
    Result<Bytes> list = ReadFile(m_state.Path(ListFile(fleet)), kMaxRevocationListBytes);
    if (!list.ok()) continue;  // none held yet
    if (auto drop = m_fleet->OnRevocationList(*list, now)) {
      LogWarn("fleet: {}: refused ({}); ignored", m_state.Path(ListFile(fleet)),
              FleetDropName(*drop));
    }
  }
  m_fleet_lists_saved = m_fleet->counters().revocations_accepted;

  Bytes cert_bytes;
  if (Result<Bytes> cert = ReadFile(m_state.Path(kCertificateFile), kMaxCertificateBytes);
      cert.ok()) {
    Result<Certificate> c = DecodeCertificate(*cert);
    if (!c.ok() || c->device != m_identity.public_key) {
      LogWarn("fleet: {}: {}; not sent", m_state.Path(kCertificateFile),
              c.ok() ? "a certificate for another node" : c.status().message());
    } else {
      m_certificate = *c;
      m_certificate_bytes = *cert;
      cert_bytes = std::move(*cert);
      if (c->expires_at_ms <= now) {
        LogWarn("fleet: this node's certificate expired; enroll it again (dustctl fleet enroll)");
      }
    }
  }
  m_node->SetFleet(m_fleet->enabled() ? m_fleet.get() : nullptr, std::move(cert_bytes));
  if (m_fleet->enabled() || m_certificate) {
    LogInfo("fleet: {} fleet(s) trusted, certificate {}", m_fleet->fleets().size(),
            m_certificate ? "of fleet " + FormatNodeId(m_certificate->fleet) : "none");
  }
}

void Daemon::SaveFleetListsIfChanged() {
  if (m_fleet->counters().revocations_accepted == m_fleet_lists_saved) return;
  // Marked saved only once every list is on disk: a write that failed (a full disk) is tried
  // again with the next fleet message, or a restart would go back to a lower serial.
  bool all_saved = true;
  for (ByteView bytes : m_fleet->RevocationLists()) {
    Result<Parsed<RevocationList>> list = ParseRevocationList(bytes);
    if (!list.ok()) continue;  // cannot happen: only accepted lists are held
    const std::string path = m_state.Path(ListFile(list->value.fleet));
    // Rewrite only what moved: the file holds a lower serial or none.
    Result<Bytes> old = ReadFile(path, kMaxRevocationListBytes);
    if (old.ok() && std::equal(old->begin(), old->end(), bytes.begin(), bytes.end())) continue;
    if (Status st = AtomicWriteFile(path, bytes, 0644); !st.ok()) {
      LogWarn("fleet: cannot save the revocation list: {}", st.message());
      all_saved = false;
      continue;
    }
    LogInfo("fleet: revocation list {} of fleet {} ({} revoked)", list->value.serial,
            ShortNodeId(list->value.fleet), list->value.revoked.size());
    Publish("fleet", {{"change", "revocations"},
                      {"fleet_id", FormatNodeId(list->value.fleet)},
                      {"serial", list->value.serial}});
  }
  if (all_saved) m_fleet_lists_saved = m_fleet->counters().revocations_accepted;
}

Status Daemon::SaveFleetExcluded() {
  TrustStore excluded;
  for (const PublicKey& k : m_fleet->Excluded()) {
    DUST_RETURN_IF_ERROR(excluded.Add(k, kExcludedName, 0));
  }
  return SaveTrustStore(m_state.Path(kExcludedFile), excluded);
}

const char* Daemon::TrustOf(const PublicKey& key) const {
  const TrustedPeer* t = m_trust.Find(key);
  return t == nullptr ? nullptr : TrustKindName(t->kind);
}

Result<Json> Daemon::CmdFleetInstall(const Json& request) {
  std::optional<std::string> hex;
  DUST_RETURN_IF_ERROR(StringArg(request, "data", &hex));
  Bytes bytes;
  if (!hex || hex->size() > 2 * kMaxRevocationListBytes || !FromHex(*hex, &bytes)) {
    return Status::InvalidArgument(
        "data: the file's bytes in hex (a certificate or a revocation list) are required");
  }
  const int64_t now = NowMs();
  switch (FleetFileKindOf(bytes)) {
    case FleetFileKind::kCertificate: {
      Result<Certificate> c = DecodeCertificate(bytes);
      if (!c.ok()) return Status::InvalidArgument(c.status().message());
      if (c->device != m_identity.public_key) {
        return Status::InvalidArgument("this certificate is for node " + FormatNodeId(c->device) +
                                       ", not this node " + FormatNodeId(m_identity.public_key) +
                                       ": enroll this node's ID");
      }
      if (c->expires_at_ms <= now) {
        return Status::InvalidArgument("this certificate has expired: enroll the node again");
      }
      if (Status st = AtomicWriteFile(m_state.Path(kCertificateFile), bytes, 0644); !st.ok()) {
        return Status::IoError("cannot save the certificate: " + st.message());
      }
      m_certificate = *c;
      m_certificate_bytes = bytes;
      m_node->SetFleet(m_fleet->enabled() ? m_fleet.get() : nullptr, bytes);
      LogInfo("fleet: certificate of fleet {} installed (expires {} ms)", FormatNodeId(c->fleet),
              c->expires_at_ms);
      Publish("fleet", {{"change", "certificate"}, {"fleet_id", FormatNodeId(c->fleet)}});
      return Json{{"kind", "certificate"},
                  {"fleet_id", FormatNodeId(c->fleet)},
                  {"expires_at_ms", c->expires_at_ms},
                  {"fleet_trusted", m_fleet->IsFleet(c->fleet)}};
    }
    case FleetFileKind::kRevocationList: {
      Result<Parsed<RevocationList>> l = ParseRevocationList(bytes);
      if (!l.ok()) return Status::InvalidArgument(l.status().message());
      const PublicKey fleet = l->value.fleet;
      if (!m_fleet->IsFleet(fleet)) {
        return Status::InvalidArgument("this list is of fleet " + FormatNodeId(fleet) +
                                       ", which this node does not trust: add `fleet = " +
                                       FormatNodeId(fleet) + "` to its configuration");
      }
      // Verified here even when the serial is the one held (which FleetTrust skips as a
      // re-send): the operator is told about a forged or damaged file, never "already held".
      if (!VerifyRevocationList(*l)) {
        return Status::InvalidArgument("bad signature: not signed by fleet " + FormatNodeId(fleet));
      }
      const uint64_t held = m_fleet->Serial(fleet);
      if (auto drop = m_fleet->OnRevocationList(bytes, now)) {
        if (*drop == FleetDrop::kLowerSerial) {
          return Status::InvalidArgument("serial " + std::to_string(l->value.serial) +
                                         " is lower than the held list's " + std::to_string(held) +
                                         ": nothing changed");
        }
        return Status::InvalidArgument(std::string("refused: ") + FleetDropName(*drop));
      }
      SaveFleetListsIfChanged();
      return Json{{"kind", "revocation_list"},
                  {"fleet_id", FormatNodeId(fleet)},
                  {"serial", l->value.serial},
                  {"revoked", l->value.revoked.size()},
                  {"already_held", l->value.serial == held}};
    }
    case FleetFileKind::kUnknown:
      break;
  }
  return Status::InvalidArgument(
      "not a certificate or a revocation list (written by dustctl fleet enroll / fleet revoke)");
}

Json Daemon::FleetJson() const {
  Json serials = Json::object();
  for (const PublicKey& f : m_fleet->fleets()) serials[FormatNodeId(f)] = m_fleet->Serial(f);
  Json fleets = Json::array();
  for (const PublicKey& f : m_fleet->fleets()) fleets.push_back(FormatNodeId(f));
  const FleetCounters& c = m_fleet->counters();
  return Json{{"fleets", fleets},
              {"certificate", m_certificate ? Json{{"fleet_id", FormatNodeId(m_certificate->fleet)},
                                                   {"expires_at_ms", m_certificate->expires_at_ms}}
                                            : Json(nullptr)},
              {"certified_peers", m_trust.certified_size()},
              {"excluded", m_fleet->Excluded().size()},
              {"revocation_serials", serials},
              {"certificates_accepted", c.certificates_accepted},
              {"revocations_accepted", c.revocations_accepted},
              {"certificate_drops", DropsJson(c.certificate_drops)},
              {"revocation_drops", DropsJson(c.revocation_drops)}};
}

}  // namespace dust::daemon
