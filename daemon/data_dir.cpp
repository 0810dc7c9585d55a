#include "data_dir.h"

#include <fnmatch.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <optional>
#include <system_error>

#include "dust/ml/csv_reader.h"
#include "dust/ml/idx_reader.h"
#include "dust/util/text.h"

namespace dust::daemon {

namespace {

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// "X-images-idxN-ubyte[.gz]" -> X; nullopt for other names.
std::optional<std::string> IdxPrefix(std::string_view name, std::string_view kind) {
  std::string_view rest = name;
  if (EndsWith(rest, ".gz")) rest.remove_suffix(3);
  if (!EndsWith(rest, "-ubyte")) return std::nullopt;
  rest.remove_suffix(6);
  size_t digits = 0;
  while (digits < rest.size() && rest[rest.size() - 1 - digits] >= '0' &&
         rest[rest.size() - 1 - digits] <= '9') {
    ++digits;
  }
  if (digits == 0) return std::nullopt;
  rest.remove_suffix(digits);
  std::string marker = "-";
  marker.append(kind);
  marker.append("-idx");
  if (!EndsWith(rest, marker)) return std::nullopt;
  rest.remove_suffix(marker.size());
  if (rest.empty()) return std::nullopt;
  return std::string(rest);
}

// The names, relative to `dir`, of the regular files (or links to them) in `dir` and in its
// test/ subdirectory if that is a directory, sorted. An error if `dir` cannot be listed; a
// test/ that cannot be listed is an error too, since its files would otherwise silently be
// missing from the test set.
Status ListDataFiles(const std::string& dir, std::vector<std::string>* names) {
  namespace fs = std::filesystem;
  names->clear();
  const auto list = [&](const fs::path& where, const std::string& prefix) -> Status {
    std::error_code ec;
    fs::directory_iterator it(where, ec);
    if (ec) return Status::IoError("cannot list " + where.string() + ": " + ec.message());
    for (; it != fs::directory_iterator(); it.increment(ec)) {
      if (ec) return Status::IoError("cannot list " + where.string() + ": " + ec.message());
      std::error_code type_ec;
      if (it->is_regular_file(type_ec)) names->push_back(prefix + it->path().filename().string());
    }
    return Status::Ok();
  };
  DUST_RETURN_IF_ERROR(list(dir, ""));
  const fs::path test_dir = fs::path(dir) / std::string(kTestSubdir);
  std::error_code ec;
  if (fs::is_directory(test_dir, ec)) {
    DUST_RETURN_IF_ERROR(list(test_dir, std::string(kTestSubdir) + "/"));
  }
  std::sort(names->begin(), names->end());
  return Status::Ok();
}

// What a scan looked for as training data, for the error when it found none.
std::string DescribeTrainingFiles(const TestFileRule& rule) {
  std::string what =
      "IDX pairs (X-images-idxN-ubyte[.gz] with X-labels-idx1-ubyte[.gz]) and *.csv files "
      "that are not test data (";
  if (rule.globs.empty()) {
    what +=
        "in test/, or a name with a component \"test\" or a first component \"t10k\", "
        "split at '-', '_' and '.')";
  } else {
    what += "names matching";
    for (size_t i = 0; i < rule.globs.size(); ++i) what += (i ? ", " : " ") + rule.globs[i];
    what += ")";
  }
  return what;
}

}  // namespace

bool IsTestDataName(std::string_view relative_name) {
  const std::string test_prefix = std::string(kTestSubdir) + "/";
  if (relative_name.substr(0, test_prefix.size()) == test_prefix) return true;
  std::string_view name = relative_name;
  if (const size_t slash = name.rfind('/'); slash != std::string_view::npos) {
    name.remove_prefix(slash + 1);
  }
  for (size_t start = 0, index = 0;; ++index) {
    const size_t end = name.find_first_of("-_.", start);
    const std::string_view component =
        name.substr(start, end == std::string_view::npos ? name.npos : end - start);
    if (EqualsIgnoringAsciiCase(component, "test")) return true;
    if (index == 0 && EqualsIgnoringAsciiCase(component, "t10k")) return true;
    if (end == std::string_view::npos) return false;
    start = end + 1;
  }
}

bool IsTestFile(std::string_view relative_name, const TestFileRule& rule) {
  if (rule.globs.empty()) return IsTestDataName(relative_name);
  const std::string name(relative_name);
  for (const std::string& glob : rule.globs) {
    if (::fnmatch(glob.c_str(), name.c_str(), FNM_PATHNAME) == 0) return true;
  }
  return false;
}

Status CheckTestFileGlobs(const std::vector<std::string>& globs) {
  for (const std::string& glob : globs) {
    if (glob.empty()) return Status::InvalidArgument("an empty glob matches no file");
    if (glob.front() == '/') {
      return Status::InvalidArgument("'" + glob +
                                     "' is absolute; globs match names relative to the data "
                                     "directory, e.g. test/*.csv");
    }
  }
  return Status::Ok();
}

Status ListDataDirFiles(const std::string& dir, std::vector<DataFile>* files,
                        std::vector<Status>* skipped) {
  namespace fs = std::filesystem;
  files->clear();
  std::vector<std::string> names;
  DUST_RETURN_IF_ERROR(ListDataFiles(dir, &names));
  const auto join = [&](const std::string& name) { return (fs::path(dir) / name).string(); };
  std::vector<DataFile>& candidates = *files;
  const auto push = [&](Status st) { skipped->push_back(std::move(st)); };

  // Pair images with labels by prefix; the first name (sorted) wins when there are copies.
  std::map<std::string, std::vector<std::string>> labels_by_prefix;
  for (const auto& name : names) {
    if (auto p = IdxPrefix(name, "labels")) labels_by_prefix[*p].push_back(name);
  }
  std::map<std::string, std::string> images_by_prefix;
  for (const auto& name : names) {
    if (auto p = IdxPrefix(name, "images")) {
      auto [pos, inserted] = images_by_prefix.emplace(*p, name);
      if (!inserted) {
        push(Status::AlreadyExists(join(name) + ": another copy of the IDX set \"" + *p + "\"; " +
                                   join(pos->second) + " is used instead"));
        continue;
      }
      DataFile c{name, join(name), "", false, false};
      auto l = labels_by_prefix.find(*p);
      if (l != labels_by_prefix.end()) c.labels = join(l->second.front());
      candidates.push_back(std::move(c));
    } else if (EndsWith(name, ".csv")) {
      candidates.push_back(DataFile{name, join(name), "", true, false});
    }
  }
  for (const auto& [prefix, list] : labels_by_prefix) {
    if (images_by_prefix.count(prefix) == 0) {
      for (const auto& name : list)
        candidates.push_back(DataFile{name, join(name), "", false, true});
    } else {
      for (size_t i = 1; i < list.size(); ++i) {
        push(Status::AlreadyExists(join(list[i]) + ": another copy of the IDX labels \"" + prefix +
                                   "\"; " + join(list.front()) + " is used instead"));
      }
    }
  }
  std::sort(candidates.begin(), candidates.end(),
            [](const DataFile& a, const DataFile& b) { return a.name < b.name; });

  return Status::Ok();
}

Status UnpairedIdxFile(const DataFile& file) {
  if (file.orphan_labels) {
    return Status::NotFound(file.path + ": IDX labels file without a matching images file (" +
                            IdxPrefix(file.name, "labels").value_or("?") +
                            "-images-idxN-ubyte[.gz])");
  }
  if (!file.csv && file.labels.empty()) {
    return Status::NotFound(file.path + ": IDX images file without a matching labels file (" +
                            IdxPrefix(file.name, "images").value_or("?") +
                            "-labels-idx1-ubyte[.gz])");
  }
  return Status::Ok();
}

Status FeatureCountMismatch(const std::string& path, uint32_t have, uint32_t want,
                            const std::string& want_from) {
  return Status::InvalidArgument(
      path + ": samples have " + std::to_string(have) + " features but " + std::to_string(want) +
      " are expected (set by " + want_from + "); all files in a data dir must agree");
}

Status NoTrainingData(const std::string& dir, const TestFileRule& tests, bool found_test,
                      const std::vector<Status>& skipped) {
  std::string msg =
      "data dir " + dir + ": no usable training data; looked for " + DescribeTrainingFiles(tests);
  if (found_test) msg += "; found only test data";
  for (const auto& st : skipped) msg += "; skipped " + st.message();
  return Status::NotFound(msg);
}

Result<DataDirContents> ScanDataDir(const std::string& dir, const LoadOptions& options, bool strict,
                                    const TestFileRule& tests) {
  namespace fs = std::filesystem;
  DUST_RETURN_IF_ERROR(CheckLoadOptions(options));
  const std::string context = "data dir " + dir;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    if (!fs::exists(dir, ec)) return Status::NotFound(context + ": no such directory");
    return Status::InvalidArgument(context + ": not a directory");
  }
  DataDirContents result;
  const auto reject = [&](Status st) -> Status {
    if (strict) return st.WithContext(context);
    result.skipped.push_back(std::move(st));
    return Status::Ok();
  };

  std::vector<DataFile> candidates;
  DUST_RETURN_IF_ERROR(ListDataDirFiles(dir, &candidates, &result.skipped).WithContext(context));

  uint32_t features = options.expected_features;
  std::string features_from = features != 0 ? "the configured expected_features" : "";
  for (const auto& c : candidates) {
    if (Status unpaired = UnpairedIdxFile(c); !unpaired.ok()) {
      DUST_RETURN_IF_ERROR(reject(std::move(unpaired)));
      continue;
    }
    LoadOptions file_options = options;
    file_options.expected_features = 0;  // compared below, to name where the count came from
    Result<Dataset> loaded =
        c.csv ? LoadCsv(c.path, file_options) : LoadIdx(c.path, c.labels, file_options);
    if (!loaded.ok()) {
      DUST_RETURN_IF_ERROR(reject(loaded.status()));
      continue;
    }
    if (loaded->empty()) {
      // Nothing to add; an empty file does not get to set the feature count either.
      result.used.push_back(c.path);
      if (!c.csv) result.used.push_back(c.labels);
      continue;
    }
    if (features != 0 && loaded->num_features() != features) {
      DUST_RETURN_IF_ERROR(
          reject(FeatureCountMismatch(c.path, loaded->num_features(), features, features_from)));
      continue;
    }
    if (features == 0) {
      features = loaded->num_features();
      features_from = c.path;
    }
    Dataset& target = IsTestFile(c.name, tests) ? result.test : result.train;
    if (target.empty() && target.num_features() == 0 && target.num_classes() == 0) {
      target = std::move(*loaded);  // the common case (one file per set): no copy
    } else {
      DUST_RETURN_IF_ERROR(target.Append(*loaded).WithContext(c.path));
    }
    result.used.push_back(c.path);
    if (!c.csv) result.used.push_back(c.labels);
  }

  if (result.train.empty()) return NoTrainingData(dir, tests, !result.used.empty(), result.skipped);
  if (result.test.num_features() == 0 && result.test.num_classes() == 0) {
    result.test = Dataset(result.train.num_features(), result.train.num_classes());
  }
  return result;
}

Result<DataDirContents> ScanDataDirForEvaluation(const std::string& dir, const LoadOptions& lo,
                                                 const TestFileRule& tests) {
  auto scanned = ScanDataDir(dir, lo, /*strict=*/false, tests);
  if (scanned.ok()) return scanned;
  DataDirContents c;
  c.train = Dataset(lo.expected_features, lo.num_classes);
  c.test = Dataset(lo.expected_features, lo.num_classes);
  std::vector<std::string> names;
  if (!ListDataFiles(dir, &names).ok()) return scanned.status();
  for (const std::string& name : names) {
    std::string path = dir + "/" + name;
    Result<Dataset> loaded = Status::NotFound("");
    auto pos = name.find("-images-idx3-ubyte");
    if (pos != std::string::npos) {
      std::string labels = name;
      labels.replace(pos, 18, "-labels-idx1-ubyte");
      loaded = LoadIdx(path, dir + "/" + labels, lo);
    } else if (name.size() > 4 && name.compare(name.size() - 4, 4, ".csv") == 0) {
      loaded = LoadCsv(path, lo);
    } else {
      continue;
    }
    if (!loaded.ok()) {
      c.skipped.push_back(loaded.status());
      continue;
    }
    if ((IsTestFile(name, tests) ? c.test : c.train).Append(*loaded).ok()) c.used.push_back(path);
  }
  if (c.used.empty()) return scanned.status();
  return c;
}

}  // namespace dust::daemon
