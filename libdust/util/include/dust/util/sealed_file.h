// Sealed files: the envelope every state file of Neural Dust shares (docs/protocol.md, "Sealed
// files"), written and checked in one place:
//
//   magic | version | body | Checksum64 of every preceding byte (u64 LE)
//
// The version field is one of two shapes: a u8 followed by three reserved bytes that must be
// zero (the 4-byte magics: the key file DSTK, the trust store DSTT, the counter mark DSTC,
// dustd's checkpoint state file DSCK and 0.1.0's node checkpoint DSTN), or a u16 with nothing
// reserved (checkpoint.h's DUSTCKPT). The body is the format's own business; this file only
// frames it, so a format states its shape once (a SealedFormat constant) and its encoder and
// decoder deal with the body alone.
//
// Opening never trusts its input: the size is checked before any byte is read, and the result is
// OK only once the checksum has matched. Every error message starts with the format's name
// ("trust store: checksum mismatch ..."); the callers that read files add the path.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <string_view>

#include "dust/util/bytes.h"
#include "dust/util/status.h"

namespace dust {

inline constexpr size_t kSealChecksumBytes = 8;

// How a format writes its version after the magic.
enum class SealedVersionField : uint8_t {
  kU8ThenZeros,  // version u8, then 3 reserved bytes that must be zero
  kU16,          // version u16 (little-endian), nothing reserved
};

// The fixed shape of one file format. Meant to be a constexpr constant beside its codec.
struct SealedFormat {
  std::string_view name;   // what the file is, starting every error message: "key file"
  std::string_view magic;  // the bytes the file starts with: "DSTK" (any length)
  SealedVersionField version_field = SealedVersionField::kU8ThenZeros;
  // The body sizes a file of this format can have (header and checksum not counted); equal for
  // a fixed-size format. A file outside them is refused before anything in it is read.
  size_t min_body = 0;
  size_t max_body = SIZE_MAX;

  // Magic and version field.
  constexpr size_t header_bytes() const {
    return magic.size() + (version_field == SealedVersionField::kU16 ? 2 : 4);
  }
  // The size of a file with a body of `body_bytes`.
  constexpr size_t file_bytes(size_t body_bytes) const {
    return header_bytes() + body_bytes + kSealChecksumBytes;
  }
};

// An opened file: its version and its body, a view into the bytes that were opened (the caller
// keeps them alive while it decodes the body).
struct SealedFile {
  uint16_t version = 0;
  ByteView body;
};

// Writes the header of `format` with `version`, then whatever `write_body` appends, then the
// checksum of all of it. `body_bytes` is the body's size if known: the result is reserved once
// for it, so the buffer never reallocates (no stray copies of a secret body in freed memory).
// Precondition: `version` fits the field (<= 255 for kU8ThenZeros). A body outside the format's
// sizes is written all the same, and OpenSealedFile refuses it.
Bytes SealFile(const SealedFormat& format, uint16_t version,
               const std::function<void(ByteWriter&)>& write_body, size_t body_bytes = 0);

// Checks a format runs on the body after the header checks and before the checksum: a body that
// declares its own length checks it here, so that a truncated or extended file is reported as
// such rather than as a checksum mismatch. Its values are not yet authenticated by the checksum.
using SealedBodyCheck = std::function<Status(ByteView body)>;

// Opens `bytes` written by SealFile for `format` with one of the `versions`. Checks, in order,
// stopping at the first failure:
//   1. the size fits the format's body sizes   kCorrupt  "<name>: 79 bytes, expected 80"
//                                                        (or "... too short (at least N)",
//                                                        "... too long (at most N)")
//   2. the magic                               kCorrupt  "<name>: bad magic (not a <name>)"
//   3. the version is one of `versions`        kUnsupported "<name>: version 2, this build
//                                                        reads version 1"
//   4. the reserved bytes are zero             kCorrupt  "<name>: reserved bytes set"
//   5. `check_before_checksum(body)`, if given: its error is returned as it is
//   6. the checksum                            kCorrupt  "<name>: checksum mismatch (file
//                                                        altered or damaged)"
// What the body holds (and whether it holds anything after its last field) is the caller's to
// check; with a fixed-size format, extra bytes already fail step 1.
Result<SealedFile> OpenSealedFile(ByteView bytes, const SealedFormat& format,
                                  std::initializer_list<uint16_t> versions,
                                  const SealedBodyCheck& check_before_checksum = {});

// True if `bytes` start with the magic of `format`: lets a reader that accepts several formats
// pick the decoder before opening (Node::ImportCheckpoint reads DUSTCKPT and 0.1.0's DSTN).
bool HasSealedMagic(ByteView bytes, const SealedFormat& format);

}  // namespace dust
