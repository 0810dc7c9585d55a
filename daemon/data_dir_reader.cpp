#include "data_dir_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <set>

#include "dust/ml/idx_reader.h"

namespace dust::daemon {

namespace {

// The bytes at the start and at the end of a CSV file's consumed prefix that are hashed to tell
// an append (the prefix is unchanged) from a rewrite. A rewrite that keeps both blocks and the
// inode, and makes the file larger, is not seen; it is read as an append.
constexpr uint64_t kPrefixBlock = 4096;

// An open file, closed on scope exit.
class Fd {
 public:
  explicit Fd(int fd) : m_fd(fd) {}
  ~Fd() {
    if (m_fd >= 0) ::close(m_fd);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return m_fd; }

 private:
  int m_fd;
};

Status Errno(const std::string& path, const char* what) {
  return Status::IoError(path + ": cannot " + what + ": " + std::strerror(errno));
}

// Reads [offset, offset + size) of `fd` into `out` (resized to what was read: less at the end
// of the file).
Status ReadAt(int fd, const std::string& path, uint64_t offset, uint64_t size, std::string* out) {
  out->resize(size);
  uint64_t done = 0;
  while (done < size) {
    const ssize_t n =
        ::pread(fd, out->data() + done, size - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno(path, "read");
    }
    if (n == 0) break;
    done += static_cast<uint64_t>(n);
  }
  out->resize(done);
  return Status::Ok();
}

// The hash of the first and last kPrefixBlock bytes of [0, end) of `fd` (one block if they
// overlap); `read` counts the bytes read.
Result<Hash256> PrefixHash(int fd, const std::string& path, uint64_t end, uint64_t* read) {
  std::string head, tail;
  DUST_RETURN_IF_ERROR(ReadAt(fd, path, 0, std::min(end, 2 * kPrefixBlock), &head));
  if (end > 2 * kPrefixBlock) {
    head.resize(kPrefixBlock);
    DUST_RETURN_IF_ERROR(ReadAt(fd, path, end - kPrefixBlock, kPrefixBlock, &tail));
  }
  *read += head.size() + tail.size();
  if (head.size() + tail.size() != std::min(end, 2 * kPrefixBlock)) {
    return Status::IoError(path + ": shorter than it was a moment ago");
  }
  head += tail;
  return Blake2b256(ByteView(reinterpret_cast<const uint8_t*>(head.data()), head.size()));
}

int64_t Nanoseconds(const timespec& t) { return int64_t{t.tv_sec} * 1000000000 + t.tv_nsec; }

// Whether a file stamped now could still change without its stamp changing: file timestamps
// advance in clock ticks (a few milliseconds), so a write in the same tick as the last one keeps
// mtime and ctime. Like git's "racily clean" index entries, such a file is checked again.
bool Racy(const DataDirReader::Stamp& stamp) {
  timespec now{};
  ::clock_gettime(CLOCK_REALTIME, &now);
  constexpr int64_t kTick = 1000000000;  // 1 s: coarser than any file system's tick
  return std::max(stamp.mtime_ns, stamp.ctime_ns) > Nanoseconds(now) - kTick;
}

bool SameReadOptions(const LoadOptions& a, const LoadOptions& b) {
  return a.num_classes == b.num_classes && a.max_file_bytes == b.max_file_bytes &&
         a.label_column == b.label_column;
}

}  // namespace

DataDirReader::Stamp DataDirReader::StampOf(const struct stat& st) {
  return Stamp{static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino),
               static_cast<uint64_t>(st.st_size), Nanoseconds(st.st_mtim), Nanoseconds(st.st_ctim)};
}

void DataDirReader::RefreshCsv(const DataFile& file, Entry* e, DataDirScan* scan) const {
  Fd fd(::open(file.path.c_str(), O_RDONLY | O_CLOEXEC));
  struct stat info {};
  Status opened = fd.get() < 0                    ? Errno(file.path, "open")
                  : ::fstat(fd.get(), &info) != 0 ? Errno(file.path, "stat")
                                                  : Status::Ok();
  if (!opened.ok()) {
    *e = Entry{};
    e->csv = true;
    e->error = std::move(opened);
    return;
  }
  const Stamp stamp = StampOf(info);
  if (e->csv && stamp == e->stamp) {
    if (!e->racy) return;  // unchanged: nothing to read
    // Stamped within a timestamp tick of a write: a change since could have left the stamp as it
    // was. Unchanged if the bytes read still hash the same (a change outside the hashed blocks
    // in that tick, with the size kept, is not seen).
    Result<Hash256> now = PrefixHash(fd.get(), file.path, e->cursor.offset, &scan->bytes_read);
    if (now.ok() && *now == e->prefix) {
      e->racy = Racy(stamp);
      return;
    }
  }

  ++scan->files_read;
  const auto fail = [&](Status st) {
    *e = Entry{};
    e->csv = true;
    e->stamp = stamp;
    e->error = std::move(st);
  };
  if (stamp.size > m_options.max_file_bytes) {
    fail(Status::ResourceExhausted(file.path + ": " + std::to_string(stamp.size) +
                                   " bytes, more than the limit of " +
                                   std::to_string(m_options.max_file_bytes)));
    return;
  }
  // An append: the same file, larger, and the bytes already read unchanged.
  bool append = e->csv && stamp.dev == e->stamp.dev && stamp.ino == e->stamp.ino &&
                stamp.size > e->stamp.size && e->cursor.offset <= stamp.size;
  if (append) {
    Result<Hash256> now = PrefixHash(fd.get(), file.path, e->cursor.offset, &scan->bytes_read);
    append = now.ok() && *now == e->prefix;
  }
  const CsvCursor from = append ? e->cursor : CsvCursor{};
  std::string bytes;
  if (Status st = ReadAt(fd.get(), file.path, from.offset, stamp.size - from.offset, &bytes);
      !st.ok()) {
    fail(std::move(st));
    return;
  }
  scan->bytes_read += bytes.size();
  Result<CsvChunk> chunk = ReadCsvChunk(bytes, file.path, m_options, from);
  if (!chunk.ok()) {
    fail(chunk.status());
    return;
  }
  Result<Hash256> prefix = PrefixHash(fd.get(), file.path, chunk->next.offset, &scan->bytes_read);
  if (!prefix.ok()) {
    fail(prefix.status());
    return;
  }
  if (append && !e->samples.empty()) {
    if (Status st = e->samples.Append(chunk->rows); !st.ok()) {
      fail(st.WithContext(file.path));
      return;
    }
  } else {
    e->samples = std::move(chunk->rows);
  }
  e->csv = true;
  e->stamp = stamp;
  e->racy = Racy(stamp);
  e->cursor = chunk->next;
  e->prefix = *prefix;
  e->error = std::move(chunk->error);
  e->incomplete_bytes = chunk->incomplete_bytes;
}

void DataDirReader::RefreshIdx(const DataFile& file, Entry* e, DataDirScan* scan) const {
  const auto stamp_of = [](const std::string& path, Stamp* out) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return false;
    *out = StampOf(st);
    return true;
  };
  Stamp images, labels;
  const bool stamped = stamp_of(file.path, &images) && stamp_of(file.labels, &labels);
  if (stamped && !e->csv && !e->racy && e->labels == file.labels && images == e->stamp &&
      labels == e->labels_stamp) {
    return;  // unchanged
  }
  ++scan->files_read;
  Result<Dataset> loaded = LoadIdx(file.path, file.labels, m_options);
  scan->bytes_read += images.size + labels.size;
  e->csv = false;
  e->labels = file.labels;
  e->stamp = images;
  e->labels_stamp = labels;
  e->racy = Racy(images) || Racy(labels);
  if (loaded.ok()) {
    e->samples = std::move(*loaded);
    e->error = Status::Ok();
  } else {
    e->error = loaded.status();  // the last good samples, if any, stay
  }
}

Result<DataDirScan> DataDirReader::Rescan(const std::string& dir, const LoadOptions& options,
                                          const TestFileRule& tests) {
  DUST_RETURN_IF_ERROR(CheckLoadOptions(options));
  if (dir != m_dir || !SameReadOptions(options, m_options)) {
    m_entries.clear();
    m_dir = dir;
  }
  m_options = options;
  m_options.expected_features = 0;  // compared below, to name where the count came from

  DataDirScan scan;
  std::vector<DataFile> files;
  DUST_RETURN_IF_ERROR(ListDataDirFiles(dir, &files, &scan.skipped).WithContext("data dir " + dir));
  std::set<std::string> present;
  uint32_t features = options.expected_features;
  std::string features_from = features != 0 ? "the configured expected_features" : "";
  for (const DataFile& file : files) {
    if (Status unpaired = UnpairedIdxFile(file); !unpaired.ok()) {
      scan.skipped.push_back(std::move(unpaired));
      continue;
    }
    present.insert(file.name);
    Entry& e = m_entries[file.name];
    ScannedFile out;
    const size_t read_before = scan.files_read;
    if (file.csv) {
      RefreshCsv(file, &e, &scan);
      out.paths = {file.path};
    } else {
      RefreshIdx(file, &e, &scan);
      out.paths = {file.path, file.labels};
    }
    out.read = scan.files_read != read_before;
    if (e.samples.empty() && !e.error.ok()) {
      scan.skipped.push_back(e.error);
      continue;
    }
    if (!e.samples.empty()) {
      if (features != 0 && e.samples.num_features() != features) {
        scan.skipped.push_back(
            FeatureCountMismatch(file.path, e.samples.num_features(), features, features_from));
        continue;
      }
      if (features == 0) {
        features = e.samples.num_features();
        features_from = file.path;
      }
    }
    out.name = file.name;
    out.test = IsTestFile(file.name, tests);
    out.samples = &e.samples;
    out.error = e.error;
    out.incomplete_bytes = e.incomplete_bytes;
    scan.files.push_back(std::move(out));
  }
  std::erase_if(m_entries, [&](const auto& entry) { return present.count(entry.first) == 0; });
  return scan;
}

Result<DataDirContents> Concatenate(const std::string& dir, const DataDirScan& scan,
                                    const TestFileRule& tests) {
  DataDirContents c;
  for (const ScannedFile& f : scan.files) {
    if (!f.samples->empty()) {
      Dataset& target = f.test ? c.test : c.train;
      DUST_RETURN_IF_ERROR(target.Append(*f.samples).WithContext(f.paths.front()));
    }
    c.used.insert(c.used.end(), f.paths.begin(), f.paths.end());
  }
  c.skipped = scan.skipped;
  if (c.train.empty()) return NoTrainingData(dir, tests, !c.used.empty(), c.skipped);
  if (c.test.num_features() == 0 && c.test.num_classes() == 0) {
    c.test = Dataset(c.train.num_features(), c.train.num_classes());
  }
  return c;
}

}  // namespace dust::daemon
