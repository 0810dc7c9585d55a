#include "testutil/temp_dir.h"

#include <stdlib.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <system_error>
#include <utility>
#include <vector>

namespace dust::testutil {

TempDir::TempDir(std::string_view prefix) {
  std::string tmpl = "/tmp/" + std::string(prefix) + "-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr) {
    throw std::runtime_error("TempDir: mkdtemp " + tmpl + ": " + std::strerror(errno));
  }
  m_path = buf.data();
}

TempDir::~TempDir() {
  if (m_path.empty()) return;
  std::error_code ec;
  std::filesystem::remove_all(m_path, ec);  // best effort: a destructor must not throw
}

TempDir::TempDir(TempDir&& other) noexcept : m_path(std::exchange(other.m_path, {})) {}

TempDir& TempDir::operator=(TempDir&& other) noexcept {
  if (this != &other) {
    if (!m_path.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(m_path, ec);
    }
    m_path = std::exchange(other.m_path, {});
  }
  return *this;
}

std::string TempDir::Path(std::string_view name) const { return m_path + "/" + std::string(name); }

std::string TempDir::WriteFile(std::string_view name, std::span<const uint8_t> bytes) const {
  const std::string path = Path(name);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) throw std::runtime_error("TempDir: cannot write " + path);
  return path;
}

std::string TempDir::WriteFile(std::string_view name, std::string_view text) const {
  return WriteFile(
      name, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
}

std::string TempDir::MakeDir(std::string_view name) const {
  const std::string path = Path(name);
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) throw std::runtime_error("TempDir: cannot create " + path + ": " + ec.message());
  return path;
}

}  // namespace dust::testutil
