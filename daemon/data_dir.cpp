#include "data_dir.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <optional>
#include <system_error>

#include "dust/ml/csv_reader.h"
#include "dust/ml/idx_reader.h"

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

struct Candidate {
  std::string name;    // sort key: the images file or the CSV file
  std::string path;    // what is reported in `used`
  std::string labels;  // IDX: the labels path ("" if missing)
  bool csv = false;
  bool orphan_labels = false;
};

}  // namespace

bool IsTestDataName(std::string_view file_name) {
  return file_name.substr(0, 4) == "t10k" || file_name.find("test") != std::string_view::npos;
}

Result<DataDirContents> ScanDataDir(const std::string& dir, const LoadOptions& options,
                                    bool strict) {
  namespace fs = std::filesystem;
  DUST_RETURN_IF_ERROR(CheckLoadOptions(options));
  const std::string context = "data dir " + dir;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    if (!fs::exists(dir, ec)) return Status::NotFound(context + ": no such directory");
    return Status::InvalidArgument(context + ": not a directory");
  }
  std::vector<std::string> names;
  fs::directory_iterator it(dir, ec);
  if (ec) return Status::IoError(context + ": cannot list: " + ec.message());
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) return Status::IoError(context + ": cannot list: " + ec.message());
    std::error_code type_ec;
    if (it->is_regular_file(type_ec)) names.push_back(it->path().filename().string());
  }
  std::sort(names.begin(), names.end());
  const auto join = [&](const std::string& name) { return (fs::path(dir) / name).string(); };

  DataDirContents result;
  const auto reject = [&](Status st) -> Status {
    if (strict) return st.WithContext(context);
    result.skipped.push_back(std::move(st));
    return Status::Ok();
  };

  // Pair images with labels by prefix; the first name (sorted) wins when there are copies.
  std::map<std::string, std::vector<std::string>> labels_by_prefix;
  for (const auto& name : names) {
    if (auto p = IdxPrefix(name, "labels")) labels_by_prefix[*p].push_back(name);
  }
  std::map<std::string, std::string> images_by_prefix;
  std::vector<Candidate> candidates;
  for (const auto& name : names) {
    if (auto p = IdxPrefix(name, "images")) {
      auto [pos, inserted] = images_by_prefix.emplace(*p, name);
      if (!inserted) {
        result.skipped.push_back(
            Status::AlreadyExists(join(name) + ": another copy of the IDX set \"" + *p + "\"; " +
                                  join(pos->second) + " is used instead"));
        continue;
      }
      Candidate c{name, join(name), "", false, false};
      auto l = labels_by_prefix.find(*p);
      if (l != labels_by_prefix.end()) c.labels = join(l->second.front());
      candidates.push_back(std::move(c));
    } else if (EndsWith(name, ".csv")) {
      candidates.push_back(Candidate{name, join(name), "", true, false});
    }
  }
  for (const auto& [prefix, list] : labels_by_prefix) {
    if (images_by_prefix.count(prefix) == 0) {
      for (const auto& name : list)
        candidates.push_back(Candidate{name, join(name), "", false, true});
    } else {
      for (size_t i = 1; i < list.size(); ++i) {
        result.skipped.push_back(
            Status::AlreadyExists(join(list[i]) + ": another copy of the IDX labels \"" + prefix +
                                  "\"; " + join(list.front()) + " is used instead"));
      }
    }
  }
  std::sort(candidates.begin(), candidates.end(),
            [](const Candidate& a, const Candidate& b) { return a.name < b.name; });

  uint32_t features = options.expected_features;
  std::string features_from = features != 0 ? "the configured expected_features" : "";
  for (const auto& c : candidates) {
    if (c.orphan_labels) {
      DUST_RETURN_IF_ERROR(reject(Status::NotFound(
          c.path + ": IDX labels file without a matching images file (" +
          IdxPrefix(c.name, "labels").value_or("?") + "-images-idxN-ubyte[.gz])")));
      continue;
    }
    if (!c.csv && c.labels.empty()) {
      DUST_RETURN_IF_ERROR(reject(Status::NotFound(
          c.path + ": IDX images file without a matching labels file (" +
          IdxPrefix(c.name, "images").value_or("?") + "-labels-idx1-ubyte[.gz])")));
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
      DUST_RETURN_IF_ERROR(reject(Status::InvalidArgument(
          c.path + ": samples have " + std::to_string(loaded->num_features()) + " features but " +
          std::to_string(features) + " are expected (set by " + features_from +
          "); all files in a data dir must agree")));
      continue;
    }
    if (features == 0) {
      features = loaded->num_features();
      features_from = c.path;
    }
    Dataset& target = IsTestDataName(c.name) ? result.test : result.train;
    if (target.empty() && target.num_features() == 0 && target.num_classes() == 0) {
      target = std::move(*loaded);  // the common case (one file per set): no copy
    } else {
      DUST_RETURN_IF_ERROR(target.Append(*loaded).WithContext(c.path));
    }
    result.used.push_back(c.path);
    if (!c.csv) result.used.push_back(c.labels);
  }

  if (result.train.empty()) {
    std::string msg = context +
                      ": no usable training data; looked for IDX pairs "
                      "(X-images-idxN-ubyte[.gz] with X-labels-idx1-ubyte[.gz]) and *.csv files "
                      "whose name neither starts with \"t10k\" nor contains \"test\"";
    if (!result.used.empty()) msg += "; found only test data";
    for (const auto& st : result.skipped) msg += "; skipped " + st.message();
    return Status::NotFound(msg);
  }
  if (result.test.num_features() == 0 && result.test.num_classes() == 0) {
    result.test = Dataset(result.train.num_features(), result.train.num_classes());
  }
  return result;
}

Result<DataDirContents> ScanDataDirForEvaluation(const std::string& dir, const LoadOptions& lo) {
  auto scanned = ScanDataDir(dir, lo, /*strict=*/false);
  if (scanned.ok()) return scanned;
  DataDirContents c;
  c.train = Dataset(lo.expected_features, lo.num_classes);
  c.test = Dataset(lo.expected_features, lo.num_classes);
  std::error_code ec;
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec))
    names.push_back(e.path().filename());
  std::sort(names.begin(), names.end());
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
    if ((IsTestDataName(name) ? c.test : c.train).Append(*loaded).ok()) c.used.push_back(path);
  }
  if (c.used.empty()) return scanned.status();
  return c;
}

}  // namespace dust::daemon
