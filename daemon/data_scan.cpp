// The data directory as the daemon sees it: the scan (ScanDataDir's files, split into training
// and a deterministic holdout, test data capped for evaluation), the signature that lets a
// periodic rescan skip an unchanged directory (and test/ in it), rescans on the worker and
// applying their result to the node on the loop.
#include <dirent.h>
#include <malloc.h>
#include <sys/stat.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <cerrno>
#include <cmath>
#include <cstring>

#include "daemon.h"
#include "data_dir.h"
#include "log.h"

namespace dust::daemon {
namespace asio = boost::asio;

namespace {

uint64_t SplitMix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

}  // namespace

void SplitHoldout(const Dataset& data, double fraction, uint64_t seed, Dataset* train,
                  Dataset* holdout) {
  std::vector<uint32_t> train_idx;
  std::vector<uint32_t> hold_idx;
  const uint64_t threshold =
      fraction <= 0 ? 0 : static_cast<uint64_t>(std::ldexp(std::min(fraction, 1.0), 64) - 1);
  for (size_t i = 0; i < data.size(); ++i) {
    bool hold = fraction > 0 && SplitMix(seed ^ SplitMix(i)) < threshold;
    (hold ? hold_idx : train_idx).push_back(static_cast<uint32_t>(i));
  }
  *train = data.Subset(train_idx);
  *holdout = data.Subset(hold_idx);
}

// A dataset holding at most `cap` samples of `data`, evenly spread (deterministic).
std::shared_ptr<const Dataset> Capped(const Dataset& data, size_t cap) {
  if (data.size() <= cap) return std::make_shared<const Dataset>(data);
  std::vector<uint32_t> idx(cap);
  for (size_t i = 0; i < cap; ++i) idx[i] = static_cast<uint32_t>(i * data.size() / cap);
  return std::make_shared<const Dataset>(data.Subset(idx));
}

std::string Daemon::DataSignature(const std::string& dir) {
  std::vector<std::string> entries;
  // The data dir's entries and those of its test/ subdirectory (ScanDataDir reads both), by
  // name relative to the data dir. A missing test/ adds nothing; a missing data dir is an error.
  const auto add = [&](const std::string& where, const std::string& prefix) -> bool {
    DIR* d = ::opendir(where.c_str());
    if (!d) return false;
    while (dirent* e = ::readdir(d)) {
      std::string name = e->d_name;
      if (name == "." || name == "..") continue;
      struct stat st {};
      if (::stat((where + "/" + name).c_str(), &st) != 0) continue;
      entries.push_back(prefix + name + ":" + std::to_string(st.st_size) + ":" +
                        std::to_string(st.st_mtim.tv_sec) + "." +
                        std::to_string(st.st_mtim.tv_nsec));
    }
    ::closedir(d);
    return true;
  };
  if (!add(dir, "")) return "error:" + std::string(std::strerror(errno));
  const std::string test_dir(kTestSubdir);
  (void)add(dir + "/" + test_dir, test_dir + "/");
  std::sort(entries.begin(), entries.end());
  std::string sig;
  for (const auto& e : entries) sig += e + "\n";
  return sig;
}

Daemon::ScanResult Daemon::ScanData(const Options& options, uint32_t features, uint32_t classes,
                                    DataDirReader* reader) {
  ScanResult r;
  r.data.signature = DataSignature(options.data_dir);
  r.data.scanned_ms = NowMs();
  LoadOptions lo;
  lo.num_classes = classes;
  lo.expected_features = features;
  lo.label_column = options.csv_label_column;
  const TestFileRule tests{options.test_files};
  auto scan = reader->Rescan(options.data_dir, lo, tests);
  if (!scan.ok()) {
    r.status = scan.status();
    return r;
  }
  r.data.files_read = scan->files_read;
  r.data.bytes_read = scan->bytes_read;
  for (const Status& s : scan->skipped) r.data.skipped.push_back(SkippedFile(s));
  // Each file's samples are split on their own, by their row in the file and the file's name,
  // so rows appended to one file, or another file coming or going, leave every other sample on
  // its side of the split.
  Dataset test(features, classes);
  Dataset holdout(features, classes);
  r.train = Dataset(features, classes);
  for (const ScannedFile& f : scan->files) {
    r.data.used.insert(r.data.used.end(), f.paths.begin(), f.paths.end());
    if (!f.error.ok()) {
      r.data.with_errors.push_back(
          {f.paths.front(), f.samples->size(), SkippedFile(f.error).second});
    }
    if (f.incomplete_bytes > 0) r.data.incomplete.push_back({f.paths.front(), f.incomplete_bytes});
    if (f.samples->empty()) continue;
    Status added;
    if (f.test) {
      added = test.Append(*f.samples);
    } else {
      Dataset file_train, file_holdout;
      SplitHoldout(*f.samples, options.holdout_fraction, options.holdout_seed ^ NameHash(f.name),
                   &file_train, &file_holdout);
      added = r.train.Append(file_train);
      if (added.ok()) added = holdout.Append(file_holdout);
    }
    if (!added.ok()) {
      r.status = added.WithContext(f.paths.front());
      return r;
    }
  }
  if (r.train.empty() && holdout.empty()) {
    r.status = NoTrainingData(options.data_dir, tests, !r.data.used.empty(), scan->skipped);
    return r;
  }
  r.data.train_samples = r.train.size();
  r.data.test_samples = test.size();
  r.data.holdout = std::make_shared<const Dataset>(std::move(holdout));
  if (!test.empty()) r.data.test = Capped(test, kMaxEvalSamples);
  return r;
}

void Daemon::RescanAsync(bool force, const Responder* reply) {
  if (m_scanning) return;
  if (!force && !reply && DataSignature(m_options.data_dir) == m_data.signature) return;
  m_scanning = true;
  std::optional<Responder> responder;
  if (reply) responder = *reply;
  Options options = m_options;
  asio::post(m_workers, [this, options, responder] {
    ScanResult result =
        ScanData(options, options.layers.front(), options.layers.back(), m_reader.get());
    asio::post(m_io, [this, result = std::move(result), responder]() mutable {
      m_scanning = false;
      if (m_stopping) return;
      Status st = result.status;
      Json skipped = SkippedFilesJson(result.data.skipped);
      size_t used = result.data.used.size();
      ApplyScan(std::move(result));
      if (!responder) return;
      if (!st.ok()) {
        responder->Error(errc::kFailed, st.message());
        return;
      }
      Json answer = DataJson();
      answer["files_used"] = used;  // this scan's, also when the daemon kept its earlier data
      answer["files_skipped"] = std::move(skipped);
      answer["train_samples"] = m_node->train_size();
      answer["holdout_samples"] = m_data.holdout ? m_data.holdout->size() : 0;
      responder->Ok(std::move(answer));
    });
  });
}

void Daemon::ApplyScan(ScanResult result) {
  if (!result.status.ok()) {
    LogWarn("data dir {}: {} (keeping the data already loaded)", m_options.data_dir,
            result.status.message());
    m_data.signature = result.data.signature;  // do not rescan an unchanged broken dir
    Publish("data",
            {{"ok", false}, {"dir", m_options.data_dir}, {"error", result.status.message()}});
    return;
  }
  LogScan(result.data);
  Status st = m_node->SetDataset(std::move(result.train));
  if (!st.ok()) {
    LogError("data dir {}: {}", m_options.data_dir, st.message());
    return;
  }
  m_data = std::move(result.data);
  ::malloc_trim(0);
  LogInfo("data: {} file(s) ({} read now, {} bytes), {} training samples, {} holdout, {} test",
          m_data.used.size(), m_data.files_read, m_data.bytes_read, m_node->train_size(),
          m_data.holdout ? m_data.holdout->size() : 0, m_data.test_samples);
  Publish("data", {{"ok", true},
                   {"dir", m_options.data_dir},
                   {"files_used", m_data.used.size()},
                   {"files_skipped", m_data.skipped.size()},
                   {"files_read", m_data.files_read},
                   {"train_samples", m_node->train_size()},
                   {"holdout_samples", m_data.holdout ? m_data.holdout->size() : 0},
                   {"test_samples", m_data.test_samples}});
  EvaluateAsync();
}

void Daemon::LogScan(const DataState& data) {
  for (const auto& [path, why] : data.skipped) LogWarn("data: skipped {}: {}", path, why);
  for (const auto& f : data.with_errors) {
    LogWarn("data: {}: {} sample(s) used, then {}", f.path, f.samples, f.reason);
  }
  for (const auto& [path, bytes] : data.incomplete) {
    LogInfo("data: {}: {}-byte incomplete last line left for the next rescan", path, bytes);
  }
}

uint64_t Daemon::NameHash(const std::string& name) {
  const Hash256 h =
      Blake2b256(ByteView(reinterpret_cast<const uint8_t*>(name.data()), name.size()));
  uint64_t v = 0;
  std::memcpy(&v, h.data(), sizeof(v));
  return v;
}

std::pair<std::string, std::string> Daemon::SkippedFile(const Status& why) {
  const std::string& m = why.message();
  auto colon = m.find(": ");
  if (colon == std::string::npos) return {"", m};
  return {m.substr(0, colon), m.substr(colon + 2)};
}
}  // namespace dust::daemon
