// The sealed-file envelope (see sealed_file.h and docs/protocol.md, "Sealed files").
#include "dust/util/sealed_file.h"

#include <algorithm>
#include <string>

#include "dust/util/crypto.h"

namespace dust {
namespace {

constexpr size_t kReservedBytes = 3;  // after a u8 version

std::string Prefix(const SealedFormat& format) { return std::string(format.name) + ": "; }

Status SizeError(const SealedFormat& format, size_t size) {
  const std::string got = Prefix(format) + std::to_string(size) + " bytes";
  if (format.min_body == format.max_body) {
    return Status::Corrupt(got + ", expected " +
                           std::to_string(format.file_bytes(format.min_body)));
  }
  if (size < format.file_bytes(format.min_body)) {
    return Status::Corrupt(got + " is too short (at least " +
                           std::to_string(format.file_bytes(format.min_body)) + ")");
  }
  return Status::Corrupt(got + " is too long (at most " +
                         std::to_string(format.file_bytes(format.max_body)) + ")");
}

std::string VersionList(std::initializer_list<uint16_t> versions) {
  std::string out = versions.size() == 1 ? "version " : "versions ";
  bool first = true;
  for (uint16_t v : versions) {
    if (!first) out += ", ";
    out += std::to_string(v);
    first = false;
  }
  return out;
}

}  // namespace

Bytes SealFile(const SealedFormat& format, uint16_t version,
               const std::function<void(ByteWriter&)>& write_body, size_t body_bytes) {
  Bytes out;
  out.reserve(format.file_bytes(body_bytes));
  ByteWriter w(&out);
  // Byte by byte: Raw of a short constant trips a g++ 12 -O3 false positive (-Wstringop-overflow).
  for (char c : format.magic) w.U8(static_cast<uint8_t>(c));
  if (format.version_field == SealedVersionField::kU16) {
    w.U16(version);
  } else {
    w.U8(static_cast<uint8_t>(version));
    for (size_t i = 0; i < kReservedBytes; ++i) w.U8(0);
  }
  write_body(w);
  w.U64(Checksum64(out));
  return out;
}

Result<SealedFile> OpenSealedFile(ByteView bytes, const SealedFormat& format,
                                  std::initializer_list<uint16_t> versions,
                                  const SealedBodyCheck& check_before_checksum) {
  // Sizes in this order so that no sum can overflow: the file holds header and checksum, then
  // the body between them is within the format's sizes.
  if (bytes.size() < format.file_bytes(0)) return SizeError(format, bytes.size());
  const size_t body_size = bytes.size() - format.file_bytes(0);
  if (body_size < format.min_body || body_size > format.max_body) {
    return SizeError(format, bytes.size());
  }
  if (!HasSealedMagic(bytes, format)) {
    return Status::Corrupt(Prefix(format) + "bad magic (not a " + std::string(format.name) + ")");
  }
  ByteReader r(bytes.subspan(format.magic.size()));
  const bool u16 = format.version_field == SealedVersionField::kU16;
  SealedFile file;
  file.version = u16 ? r.U16() : r.U8();
  if (std::find(versions.begin(), versions.end(), file.version) == versions.end()) {
    return Status::Unsupported(Prefix(format) + "version " + std::to_string(file.version) +
                               ", this build reads " + VersionList(versions));
  }
  if (!u16) {
    ByteView reserved = r.Raw(kReservedBytes);
    if (std::any_of(reserved.begin(), reserved.end(), [](uint8_t b) { return b != 0; })) {
      return Status::Corrupt(Prefix(format) + "reserved bytes set");
    }
  }
  file.body = bytes.subspan(format.header_bytes(), body_size);
  if (check_before_checksum) DUST_RETURN_IF_ERROR(check_before_checksum(file.body));
  const ByteView sealed = bytes.first(bytes.size() - kSealChecksumBytes);
  if (ByteReader(bytes.subspan(sealed.size())).U64() != Checksum64(sealed)) {
    return Status::Corrupt(Prefix(format) + "checksum mismatch (file altered or damaged)");
  }
  return file;
}

bool HasSealedMagic(ByteView bytes, const SealedFormat& format) {
  return bytes.size() >= format.magic.size() &&
         std::equal(format.magic.begin(), format.magic.end(), bytes.begin(),
                    [](char m, uint8_t b) { return static_cast<uint8_t>(m) == b; });
}

}  // namespace dust
