#include "dust/util/text.h"

#include <catch2/catch.hpp>

namespace dust {
namespace {

TEST_CASE("EqualsIgnoringAsciiCase folds ASCII letters only", "[text]") {
  CHECK(EqualsIgnoringAsciiCase("Label", "label"));
  CHECK(EqualsIgnoringAsciiCase("TEST", "test"));
  CHECK(EqualsIgnoringAsciiCase("", ""));
  CHECK_FALSE(EqualsIgnoringAsciiCase("test", "tests"));
  CHECK_FALSE(EqualsIgnoringAsciiCase("t10k", "t10l"));
  // Not letters: '@' (0x40) and '`' (0x60) differ by the case bit but are not folded.
  CHECK_FALSE(EqualsIgnoringAsciiCase("@", "`"));
  // Bytes above ASCII must match exactly ("É" vs "é" in UTF-8).
  CHECK_FALSE(EqualsIgnoringAsciiCase("\xC3\x89", "\xC3\xA9"));
  CHECK(EqualsIgnoringAsciiCase("\xC3\xA9tiquette", "\xC3\xA9TIQUETTE"));
}

}  // namespace
}  // namespace dust
