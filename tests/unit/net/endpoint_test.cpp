// Endpoints (host:port text) and the peer-exchange payload; the test vectors are
// tests/vectors/protocol_vectors.py's (an independent implementation of docs/protocol.md).
#include "dust/net/endpoint.h"

#include <catch2/catch.hpp>

#include "dust/net/identity.h"
#include "dust/net/wire.h"
#include "testutil/vector_key.h"

namespace dust {
namespace {

constexpr const char* kPexPayloadHex =
    "02e7f162a10bec559afea195e4dce84b69568d5d2cb0963eb446c0685e2b17f2f00f3139322e302e322e373a343836"
    "3230e7f162a10bec559afea195e4dce84b69568d5d2cb0963eb446c0685e2b17f2f018647573742d622e6578616d70"
    "6c652e6f72673a3438363230";
constexpr const char* kPexDatagramHex =
    "4453540106004e006a0079b5562e8fe654f94078b112e8a98ba7901f853ae695bed7e0e3910bad0496642c000000"
    "00000000d0ef97b69a010000a1a2a3a4a5a6a7a800000000070000000000000002e7f162a10bec559afea195e4dce8"
    "4b69568d5d2cb0963eb446c0685e2b17f2f00f3139322e302e322e373a3438363230e7f162a10bec559afea195e4dc"
    "e84b69568d5d2cb0963eb446c0685e2b17f2f018647573742d622e6578616d706c652e6f72673a34383632304a51f6"
    "f2159ff7e26ef3d476125288a4818e83c9862c5d33b964391a20d21c58a4bf23c90bf9f2addcf29a4ab237794f7d42"
    "dbf3bb3ab0904039e6e0d4ff4a05";
constexpr const char* kKioskKeyHex =
    "e7f162a10bec559afea195e4dce84b69568d5d2cb0963eb446c0685e2b17f2f0";
constexpr const char* kKioskUri =
    "dust://v1/47YWFII-L5RKZVQ-7VBSXSN-Z2CLNFA-LI2XJMW-CLD5NCE-GYBUF4K-YX6LYAZ?name=kiosk&check="
    "dd820092&ep=192.0.2.7%3A48620&ep=%5B2001%3Adb8%3A%3A7%5D%3A48620";

PublicKey KioskKey() {
  Bytes b;
  REQUIRE(FromHex(kKioskKeyHex, &b));
  PublicKey k{};
  std::copy(b.begin(), b.end(), k.begin());
  return k;
}

TEST_CASE("endpoints: IPv4, bracketed IPv6 and DNS names with a port parse", "[endpoint]") {
  auto v4 = ParseEndpoint("192.0.2.7:48620");
  REQUIRE(v4.ok());
  CHECK(v4->kind == EndpointKind::kIpv4);
  CHECK(v4->host == "192.0.2.7");
  CHECK(v4->port == 48620);
  auto v6 = ParseEndpoint("[2001:db8::7]:1");
  REQUIRE(v6.ok());
  CHECK(v6->kind == EndpointKind::kIpv6);
  CHECK(v6->host == "2001:db8::7");
  CHECK(v6->port == 1);
  auto name = ParseEndpoint("dust-b.example.org:65535");
  REQUIRE(name.ok());
  CHECK(name->kind == EndpointKind::kName);
  CHECK(name->host == "dust-b.example.org");
  CHECK(ParseEndpoint("localhost:48620").ok());
}

TEST_CASE("endpoints: malformed ones are refused with a reason", "[endpoint]") {
  for (const char* bad : {"",
                          "192.0.2.7",
                          "192.0.2.7:",
                          "192.0.2.7:0",
                          "192.0.2.7:65536",
                          "192.0.2.7:048620",
                          "192.0.2.7:+1",
                          "192.0.2.256:1",
                          "192.0.2:1",
                          "1.2.3.4.5:1",
                          "01.2.3.4:1",
                          "2001:db8::7:1",
                          "[2001:db8::7:1",
                          "[]:1",
                          "[fe80::1%eth0]:1",
                          "[::1]x:1",
                          "-a.example:1",
                          "a-.example:1",
                          "a..b:1",
                          "a b:1",
                          "a_b:1",
                          "host:port",
                          "exa mple.org:1"}) {
    INFO(bad);
    Result<ParsedEndpoint> r = ParseEndpoint(bad);
    CHECK(!r.ok());
    CHECK(r.status().code() == StatusCode::kInvalidArgument);
  }
  // Longer than the bound: refused even though it is a well-formed name.
  std::string longer(kMaxEndpointChars - 2, 'a');
  CHECK(ParseEndpoint(longer.substr(0, 60) + ".b:1").ok());
  CHECK(!ParseEndpoint(longer + ":1").ok());
}

TEST_CASE("peer exchange payload test vector matches the independently computed hex",
          "[endpoint]") {
  const std::vector<PeerExchangeEntry> entries{{KioskKey(), "192.0.2.7:48620"},
                                               {KioskKey(), "dust-b.example.org:48620"}};
  Result<Bytes> payload = EncodePeerExchange(entries);
  REQUIRE(payload.ok());
  CHECK(ToHex(*payload) == kPexPayloadHex);
  Result<std::vector<PeerExchangeEntry>> back = DecodePeerExchange(*payload);
  REQUIRE(back.ok());
  CHECK(*back == entries);

  DatagramHeader h;
  h.type = MessageType::kPeerExchange;
  h.counter = 44;
  h.timestamp_ms = 1764000000000 + 2000;
  for (size_t i = 0; i < h.model.size(); ++i) h.model[i] = static_cast<uint8_t>(0xA1 + i);
  h.round = 7;
  Result<Bytes> d = EncodeDatagram(h, *payload, testutil::VectorKey());
  REQUIRE(d.ok());
  CHECK(ToHex(*d) == kPexDatagramHex);
  Result<ParsedDatagram> parsed = ParseDatagram(*d);
  REQUIRE(parsed.ok());
  CHECK(parsed->header.type == MessageType::kPeerExchange);
}

TEST_CASE("peer exchange decoding is strict and bounded", "[endpoint]") {
  Bytes good;
  REQUIRE(FromHex(kPexPayloadHex, &good));
  auto refuses = [](const Bytes& b) {
    Result<std::vector<PeerExchangeEntry>> r = DecodePeerExchange(b);
    return !r.ok() && r.status().code() == StatusCode::kCorrupt;
  };
  CHECK(refuses({}));
  Bytes truncated(good.begin(), good.end() - 1);
  CHECK(refuses(truncated));
  Bytes trailing = good;
  trailing.push_back(0);
  CHECK(refuses(trailing));
  Bytes more = good;
  more[0] = 3;  // claims an entry that is not there
  CHECK(refuses(more));
  Bytes too_many{static_cast<uint8_t>(kMaxPeerExchangeEntries + 1)};
  too_many.resize(1 + (kMaxPeerExchangeEntries + 1) * 40, 'a');
  CHECK(refuses(too_many));
  Bytes bad_text = good;
  bad_text[1 + 32 + 1] = ' ';  // first character of the first endpoint
  CHECK(refuses(bad_text));
  Bytes zero_len = good;
  zero_len[1 + 32] = 0;
  CHECK(refuses(zero_len));
  // The same entry twice.
  Result<Bytes> twice = EncodePeerExchange({{KioskKey(), "192.0.2.7:1"}});
  REQUIRE(twice.ok());
  Bytes dup = *twice;
  dup[0] = 2;
  dup.insert(dup.end(), twice->begin() + 1, twice->end());
  CHECK(refuses(dup));
  CHECK(!EncodePeerExchange({{KioskKey(), "192.0.2.7:1"}, {KioskKey(), "192.0.2.7:1"}}).ok());
  CHECK(!EncodePeerExchange({{KioskKey(), "no port"}}).ok());
  // An empty list is valid (one byte).
  Result<Bytes> empty = EncodePeerExchange({});
  REQUIRE(empty.ok());
  CHECK(*empty == Bytes{0});
  CHECK(DecodePeerExchange(*empty).ok());
}

TEST_CASE("pairing URI with endpoints matches the vector and round-trips", "[endpoint]") {
  const std::vector<std::string> eps{"192.0.2.7:48620", "[2001:db8::7]:48620"};
  Result<std::string> uri = FormatPairingUri(KioskKey(), "kiosk", eps);
  REQUIRE(uri.ok());
  CHECK(*uri == kKioskUri);
  Result<PairingInfo> info = ParsePairingUri(kKioskUri);
  REQUIRE(info.ok());
  CHECK(info->key == KioskKey());
  CHECK(info->display_name == "kiosk");
  CHECK(info->endpoints == eps);
  // Without endpoints: the version 1 form, unchanged.
  Result<PairingInfo> plain = ParsePairingUri(std::string(kKioskUri).substr(0, 99));
  REQUIRE(plain.ok());
  CHECK(plain->endpoints.empty());
}

TEST_CASE("pairing URI endpoints are validated, bounded and not repeated", "[endpoint]") {
  const std::string base = std::string(kKioskUri).substr(0, 99);
  CHECK(!ParsePairingUri(base + "&ep=192.0.2.7").ok());
  CHECK(!ParsePairingUri(base + "&ep=192.0.2.7%3A1&ep=192.0.2.7%3A1").ok());
  CHECK(!ParsePairingUri(base + "&ep=%ZZ").ok());
  std::string five = base;
  // Appended piece by piece: GCC 12 at -O3 for armhf reports a false -Wrestrict overlap on
  // the chained operator+ of a literal, to_string and a literal.
  for (int i = 1; i <= 5; ++i) {
    five += "&ep=192.0.2.";
    five += std::to_string(i);
    five += "%3A1";
  }
  Result<PairingInfo> r = ParsePairingUri(five);
  REQUIRE(!r.ok());
  CHECK(r.status().message().find("more than 4 endpoints") != std::string::npos);
  CHECK(!FormatPairingUri(KioskKey(), "kiosk", {"a:1", "b:1", "c:1", "d:1", "e:1"}).ok());
  CHECK(!FormatPairingUri(KioskKey(), "kiosk", {"no-port"}).ok());
}

}  // namespace
}  // namespace dust
