// Small text helpers shared by the layers' parsers of names (CSV headers, data file names).
#pragma once

#include <string_view>

namespace dust {

// True if `a` and `b` are equal when ASCII letters are compared without case; other bytes
// (UTF-8 included) must match exactly. Locale-independent, unlike std::tolower.
bool EqualsIgnoringAsciiCase(std::string_view a, std::string_view b);

}  // namespace dust
