#include "dust/net/trust.h"

#include <algorithm>
#include <cstring>

#include "dust/net/identity.h"
#include "dust/util/file.h"
#include "dust/util/sealed_file.h"

namespace dust {
namespace {

constexpr uint8_t kTrustVersion = 1;
constexpr uint8_t kTrustVersionEndpoints = 2;
// The body is the count (u32) and the entries; kMaxTrustFileBytes caps the whole file.
constexpr SealedFormat kTrustFormat{
    .name = "trust store", .magic = "DSTT", .min_body = 4, .max_body = kMaxTrustFileBytes - 16};
static_assert(kTrustFormat.file_bytes(kTrustFormat.max_body) == kMaxTrustFileBytes);

}  // namespace

size_t PublicKeyHash::operator()(const PublicKey& k) const noexcept {
  // Ed25519 public keys are uniformly distributed, and the table only ever holds keys an
  // operator chose to trust (lookups of attacker-chosen keys insert nothing), so the first
  // 8 bytes are a fine hash.
  uint64_t v;
  std::memcpy(&v, k.data(), sizeof v);
  return static_cast<size_t>(v);
}

Status TrustStore::Add(const PublicKey& key, std::string display_name, int64_t added_at_ms) {
  DUST_RETURN_IF_ERROR(ValidateDisplayName(display_name));
  if (m_peers.count(key) != 0) {
    return Status::AlreadyExists("peer " + ShortNodeId(key) + " is already trusted");
  }
  if (m_peers.size() >= kMaxTrustedPeers) {
    return Status::ResourceExhausted("trust store is full (" + std::to_string(kMaxTrustedPeers) +
                                     " peers)");
  }
  m_peers.emplace(key, TrustedPeer{.key = key,
                                   .display_name = std::move(display_name),
                                   .added_at_ms = added_at_ms,
                                   .kind = TrustKind::kPaired,
                                   .expires_at_ms = 0,
                                   .fleet = {},
                                   .endpoints = {}});
  ++m_generation;
  return Status::Ok();
}

bool TrustStore::Remove(const PublicKey& key) {
  if (m_peers.erase(key) == 0) return false;
  ++m_generation;
  return true;
}

Status TrustStore::SetDisplayName(const PublicKey& key, std::string display_name) {
  DUST_RETURN_IF_ERROR(ValidateDisplayName(display_name));
  auto it = m_peers.find(key);
  if (it == m_peers.end()) return Status::NotFound("peer " + ShortNodeId(key) + " is not trusted");
  it->second.display_name = std::move(display_name);
  ++m_generation;
  return Status::Ok();
}

Status TrustStore::SetEndpoints(const PublicKey& key, std::vector<std::string> endpoints) {
  if (endpoints.size() > kMaxUriEndpoints) {
    return Status::InvalidArgument("more than " + std::to_string(kMaxUriEndpoints) + " endpoints");
  }
  for (size_t i = 0; i < endpoints.size(); ++i) {
    DUST_RETURN_IF_ERROR(ValidateEndpoint(endpoints[i]));
    for (size_t j = 0; j < i; ++j) {
      if (endpoints[j] == endpoints[i]) {
        return Status::InvalidArgument("endpoint " + endpoints[i] + " given twice");
      }
    }
  }
  auto it = m_peers.find(key);
  if (it == m_peers.end()) return Status::NotFound("peer " + ShortNodeId(key) + " is not trusted");
  it->second.endpoints = std::move(endpoints);
  ++m_generation;
  return Status::Ok();
}

const char* TrustKindName(TrustKind kind) {
  return kind == TrustKind::kCertificate ? "certificate" : "paired";
}

Status TrustStore::AddCertified(const PublicKey& key, std::string display_name, int64_t added_at_ms,
                                int64_t expires_at_ms, const PublicKey& fleet,
                                std::vector<std::string> endpoints) {
  if (!display_name.empty()) DUST_RETURN_IF_ERROR(ValidateDisplayName(display_name));
  if (m_peers.count(key) != 0) return Status::Ok();  // paired wins
  auto it = m_certified.find(key);
  if (it == m_certified.end() && m_certified.size() >= kMaxCertifiedPeers) {
    return Status::ResourceExhausted("certified peers are full (" +
                                     std::to_string(kMaxCertifiedPeers) + ")");
  }
  TrustedPeer p{.key = key,
                .display_name = std::move(display_name),
                .added_at_ms = added_at_ms,
                .kind = TrustKind::kCertificate,
                .expires_at_ms = expires_at_ms,
                .fleet = fleet,
                .endpoints = std::move(endpoints)};
  if (it != m_certified.end()) {
    // A renewal keeps the first time it was trusted; the rest is the newer certificate's.
    p.added_at_ms = it->second.added_at_ms;
    it->second = std::move(p);
  } else {
    m_certified.emplace(key, std::move(p));
  }
  ++m_generation;
  return Status::Ok();
}

const TrustedPeer* TrustStore::FindCertified(const PublicKey& key) const {
  auto it = m_certified.find(key);
  return it == m_certified.end() ? nullptr : &it->second;
}

bool TrustStore::RemoveCertified(const PublicKey& key) {
  if (m_certified.erase(key) == 0) return false;
  ++m_generation;
  return true;
}

void TrustStore::ReplacePaired(TrustStore&& from) {
  m_peers = std::move(from.m_peers);
  ++m_generation;
}

size_t TrustStore::ExpireCertified(int64_t now_ms) {
  size_t n =
      std::erase_if(m_certified, [&](const auto& kv) { return kv.second.expires_at_ms <= now_ms; });
  if (n != 0) ++m_generation;
  return n;
}

void TrustStore::MarkRevoked(const PublicKey& key) {
  if (m_revoked.size() >= kMaxRevokedPeers && m_revoked.count(key) == 0) return;
  m_revoked.insert(key);
}

const TrustedPeer* TrustStore::FindPaired(const PublicKey& key) const {
  auto it = m_peers.find(key);
  return it == m_peers.end() ? nullptr : &it->second;
}

const TrustedPeer* TrustStore::Find(const PublicKey& key) const {
  auto it = m_peers.find(key);
  if (it != m_peers.end()) return &it->second;
  if (m_certified.empty()) return nullptr;
  auto c = m_certified.find(key);
  return c == m_certified.end() ? nullptr : &c->second;
}

std::vector<TrustedPeer> TrustStore::ListCertified() const {
  std::vector<TrustedPeer> out;
  out.reserve(m_certified.size());
  for (const auto& [k, p] : m_certified) {
    if (m_peers.count(k) == 0) out.push_back(p);
  }
  std::sort(out.begin(), out.end(),
            [](const TrustedPeer& a, const TrustedPeer& b) { return a.key < b.key; });
  return out;
}

std::vector<TrustedPeer> TrustStore::List() const {
  std::vector<TrustedPeer> out;
  out.reserve(m_peers.size());
  for (const auto& [k, p] : m_peers) out.push_back(p);
  std::sort(out.begin(), out.end(),
            [](const TrustedPeer& a, const TrustedPeer& b) { return a.key < b.key; });
  return out;
}

Bytes EncodeTrustStore(const TrustStore& store) {
  const std::vector<TrustedPeer> peers = store.List();
  const bool with_endpoints = std::any_of(
      peers.begin(), peers.end(), [](const TrustedPeer& p) { return !p.endpoints.empty(); });
  const uint8_t version = with_endpoints ? kTrustVersionEndpoints : kTrustVersion;
  return SealFile(kTrustFormat, version, [&](ByteWriter& w) {
    w.U32(static_cast<uint32_t>(peers.size()));
    for (const TrustedPeer& p : peers) {
      w.Raw(p.key);
      w.I64(p.added_at_ms);
      w.U8(static_cast<uint8_t>(p.display_name.size()));
      w.Raw(AsBytes(p.display_name));
      if (!with_endpoints) continue;
      w.U8(static_cast<uint8_t>(p.endpoints.size()));
      for (const std::string& e : p.endpoints) {
        w.U8(static_cast<uint8_t>(e.size()));
        w.Raw(AsBytes(e));
      }
    }
  });
}

Result<TrustStore> DecodeTrustStore(ByteView bytes) {
  Result<SealedFile> file =
      OpenSealedFile(bytes, kTrustFormat, {kTrustVersion, kTrustVersionEndpoints});
  if (!file.ok()) return file.status();
  ByteReader r(file->body);
  uint32_t count = r.U32();
  if (count > kMaxTrustedPeers) {
    return Status::ResourceExhausted("trust store: " + std::to_string(count) + " peers, limit " +
                                     std::to_string(kMaxTrustedPeers));
  }
  TrustStore store;
  bool any_endpoint = false;
  const PublicKey* prev = nullptr;
  PublicKey prev_key{};
  for (uint32_t i = 0; i < count; ++i) {
    PublicKey key = r.Array<kPublicKeyBytes>();
    int64_t added = r.I64();
    uint8_t n = r.U8();
    ByteView name = r.Raw(n);
    std::vector<std::string> endpoints;
    if (file->version == kTrustVersionEndpoints) {
      const uint8_t m = r.U8();
      if (m > kMaxUriEndpoints) {
        return Status::Corrupt("trust store: entry " + std::to_string(i) + " has " +
                               std::to_string(m) + " endpoints");
      }
      for (uint8_t k = 0; k < m && r.ok(); ++k) {
        const uint8_t len = r.U8();
        ByteView text = r.Raw(len);
        endpoints.emplace_back(reinterpret_cast<const char*>(text.data()), text.size());
      }
      any_endpoint = any_endpoint || m > 0;
    }
    if (!r.ok()) return Status::Corrupt("trust store: truncated at entry " + std::to_string(i));
    // Sorted strictly ascending: one encoding per store, and duplicates are impossible.
    if (prev != nullptr && !(prev_key < key)) {
      return Status::Corrupt("trust store: entries not sorted or duplicated at " +
                             std::to_string(i));
    }
    prev_key = key;
    prev = &prev_key;
    Status st = store.Add(key, std::string(reinterpret_cast<const char*>(name.data()), n), added);
    if (st.ok() && !endpoints.empty()) st = store.SetEndpoints(key, std::move(endpoints));
    if (!st.ok())
      return Status::Corrupt("trust store: entry " + std::to_string(i) + ": " + st.message());
  }
  if (file->version == kTrustVersionEndpoints && !any_endpoint) {
    return Status::Corrupt("trust store: version 2 without any endpoint (written as version 1)");
  }
  if (r.remaining() != 0) return Status::Corrupt("trust store: trailing bytes");
  return store;
}

Result<TrustStore> LoadTrustStore(const std::string& path) {
  Result<Bytes> bytes = ReadFile(path, kMaxTrustFileBytes);
  if (!bytes.ok()) return bytes.status();
  Result<TrustStore> store = DecodeTrustStore(*bytes);
  if (!store.ok()) return store.status().WithContext(path);
  return store;
}

Status SaveTrustStore(const std::string& path, const TrustStore& store) {
  return AtomicWriteFile(path, EncodeTrustStore(store), 0600);
}

}  // namespace dust
