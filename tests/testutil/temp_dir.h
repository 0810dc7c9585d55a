// TempDir: a fresh, uniquely named directory under /tmp for one test, removed (with everything
// in it) when the object goes out of scope.
//
// Usage:
//   TempDir dir;
//   dir.WriteFile("train.csv", "1,0.5,0\n");
//   LoadCsv(dir.Path("train.csv"), options);
//
// Failures to create the directory or write a file throw std::runtime_error (test code only:
// Catch2 reports the exception as a failed test). Not copyable; movable.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace dust::testutil {

class TempDir {
 public:
  // The directory is /tmp/<prefix>-XXXXXX (mkdtemp), mode 0700.
  explicit TempDir(std::string_view prefix = "dust-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  TempDir(TempDir&& other) noexcept;
  TempDir& operator=(TempDir&& other) noexcept;

  // The directory itself, without a trailing slash.
  const std::string& path() const { return m_path; }
  // path() + "/" + name. `name` may contain slashes (subdirectories must exist).
  std::string Path(std::string_view name) const;
  // Creates or replaces path()/name with exactly these bytes (mode 0644); returns the path.
  std::string WriteFile(std::string_view name, std::span<const uint8_t> bytes) const;
  std::string WriteFile(std::string_view name, std::string_view text) const;
  // Creates the subdirectory path()/name (and parents); returns its path.
  std::string MakeDir(std::string_view name) const;

 private:
  std::string m_path;
};

}  // namespace dust::testutil
