#include "testutil/source_file.h"

#include <fstream>
#include <sstream>
#include <stdexcept>

#include "dust/util/file.h"

namespace dust::testutil {

std::string SourceText(std::string_view relative_path) {
  // Documents in the tree are a few hundred kB at most; a larger file is a wrong path.
  constexpr size_t kMaxBytes = size_t{1} << 20;
  const std::string path = std::string(DUST_SOURCE_DIR) + "/" + std::string(relative_path);
  Result<Bytes> bytes = ReadFile(path, kMaxBytes);
  if (!bytes.ok()) throw std::runtime_error("SourceText: " + bytes.status().message());
  return std::string(bytes->begin(), bytes->end());
}

std::string FileText(const std::string& path) {
  std::ifstream f(path);
  std::stringstream text;
  text << f.rdbuf();
  return text.str();
}

}  // namespace dust::testutil
