#include "dust/util/file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "dust/util/unique_fd.h"

namespace dust {
namespace {

std::string Errno(const std::string& what, const std::string& path) {
  return path + ": " + what + ": " + std::strerror(errno);
}

std::string DirName(const std::string& path) {
  auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace

Result<Bytes> ReadFile(const std::string& path, size_t max_bytes) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) return Status::NotFound(path + ": no such file");
    return Status::IoError(Errno("cannot open", path));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return Status::IoError(Errno("cannot stat", path));
  if (!S_ISREG(st.st_mode)) return Status::InvalidArgument(path + ": not a regular file");
  if (static_cast<uint64_t>(st.st_size) > max_bytes) {
    return Status::ResourceExhausted(path + ": file is " + std::to_string(st.st_size) +
                                     " bytes, more than the limit of " + std::to_string(max_bytes));
  }
  Bytes data(static_cast<size_t>(st.st_size));
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::read(fd.get(), data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::IoError(Errno("read failed", path));
    if (n == 0) break;  // file shrank under us; keep what we have
    done += static_cast<size_t>(n);
  }
  data.resize(done);
  return data;
}

Status AtomicWriteFile(const std::string& path, ByteView data, mode_t mode) {
  std::string tmpl = path + ".tmp.XXXXXX";
  UniqueFd fd(::mkstemp(tmpl.data()));
  if (fd.get() < 0) return Status::IoError(Errno("cannot create temporary file", tmpl));
  auto fail = [&](const std::string& what) {
    Status st = Status::IoError(Errno(what, tmpl));
    ::unlink(tmpl.c_str());
    return st;
  };
  if (::fchmod(fd.get(), mode) != 0) return fail("cannot set mode");
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd.get(), data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail("write failed");
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd.get()) != 0) return fail("fsync failed");
  if (::close(fd.release()) != 0) return fail("close failed");
  if (::rename(tmpl.c_str(), path.c_str()) != 0) {
    Status st = Status::IoError(Errno("cannot rename over " + path, tmpl));
    ::unlink(tmpl.c_str());
    return st;
  }
  UniqueFd dir(::open(DirName(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() >= 0) ::fsync(dir.get());  // best effort: some filesystems refuse dir fsync
  return Status::Ok();
}

Result<std::string> MoveAside(const std::string& path, const std::string& suffix) {
  std::string target = path + ".corrupt-" + suffix;
  if (::rename(path.c_str(), target.c_str()) != 0) {
    return Status::IoError(Errno("cannot move aside to " + target, path));
  }
  return target;
}

}  // namespace dust
