// UniqueFd: owns one POSIX file descriptor and closes it when it goes out of scope, so every
// return path of a function that opened a file or socket closes it exactly once.
#pragma once

#include <unistd.h>

namespace dust {

// Not copyable (two owners would close twice). A negative descriptor (a failed open()) is
// held as is and never closed. release() hands the descriptor back without closing it, for a
// caller that must see close()'s result (AtomicWriteFile checks it: a deferred write error
// shows up there).
class UniqueFd {
 public:
  explicit UniqueFd(int fd) : m_fd(fd) {}
  ~UniqueFd() {
    if (m_fd >= 0) ::close(m_fd);
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const { return m_fd; }
  int release() {
    int fd = m_fd;
    m_fd = -1;
    return fd;
  }

 private:
  int m_fd;
};

}  // namespace dust
