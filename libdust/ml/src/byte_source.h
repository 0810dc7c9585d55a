// The bytes of one whole file read as a stream, raw or gzip-compressed (detected by content --
// the magic bytes 1f 8b -- not by name). The IDX reader reads through a ByteSource so that raw
// and gzip files take the same path, and a gzip file is never decompressed further than the
// reader asks: it asks for what the file's header declares, so a gzip bomb fails instead of
// filling memory.
//
// Every error message starts with the file's name. Exposed (with Gunzip) for the unit tests
// and the fuzz target.
#pragma once

#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "dust/util/bytes.h"
#include "dust/util/status.h"

namespace dust::internal {

// True if `bytes` start with the gzip magic 1f 8b.
bool IsGzip(ByteView bytes);

// Decompresses one gzip member. Fails (kCorrupt) on a corrupt or truncated stream, a CRC or
// length mismatch, or data after the member; fails (kResourceExhausted) if the output would
// exceed max_bytes. Messages start with `name`.
Result<Bytes> Gunzip(ByteView gz, const std::string& name, size_t max_bytes);

// A reader over `file`, decompressing as it goes when the file is gzip. `file` and `name` must
// outlive it. Not copyable (it owns a zlib stream).
class ByteSource {
 public:
  ByteSource(ByteView file, const std::string& name);
  ~ByteSource();
  ByteSource(const ByteSource&) = delete;
  ByteSource& operator=(const ByteSource&) = delete;

  bool gzip() const { return m_gzip; }
  // Ok, or the first error (zlib could not start, corrupt or truncated gzip data).
  const Status& status() const { return m_status; }
  // What the sizes in error messages refer to.
  const char* what() const { return m_gzip ? "the decompressed data" : "the file"; }

  // Reads up to n bytes into out; returns how many were read. Fewer than n means the data
  // ended, or an error occurred (status() then says which).
  size_t Read(uint8_t* out, size_t n);

  // After the declared payload: counts the bytes that are still there (bounded by `limit`)
  // and, for gzip, checks that the stream ends cleanly (CRC, length) with nothing after it.
  // Returns the number of trailing bytes; status() reports gzip problems.
  uint64_t DrainTrailing(uint64_t limit);

 private:
  ByteView m_file;
  const std::string& m_name;
  size_t m_pos = 0;
  bool m_gzip = false;
  bool m_ended = false;
  z_stream m_zs{};
  bool m_zs_live = false;
  Status m_status;
};

// Reads exactly n bytes of payload into *out (fewer if the data ends first; returns how many),
// growing the buffer as data actually arrives so that a tiny file whose header claims
// gigabytes costs no more memory than it really holds. size_hint: the expected size, for one
// allocation up front in the common case.
size_t ReadPayload(ByteSource& src, uint64_t n, Bytes* out, uint64_t size_hint);

// The gzip trailer's ISIZE (uncompressed length mod 2^32): only a hint for pre-allocation.
uint64_t GzipSizeHint(ByteView file);

}  // namespace dust::internal
