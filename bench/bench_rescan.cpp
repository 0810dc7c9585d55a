// dust-bench rescan: a rescan of a data directory of --files CSV files (each --rows rows of
// --features features) after one of them grew by --append rows, read in full (ScanDataDir, what
// every rescan did before) and incrementally (DataDirReader, the daemon's rescan), side by side
// in one run on the same directory. Each round appends to the next file in turn, then times
// both; the best of --reps rounds of each is kept (the machine is shared). Both results are
// checked to hold the same samples. incremental_s includes putting the files' samples together
// (Concatenate, as the daemon does after every scan that changed something); incremental_read_s
// is the reader alone. Progress on stderr; the last stdout line is one JSON object.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "bench_registry.h"
#include "data_dir.h"
#include "data_dir_reader.h"

namespace dust::bench {
namespace {

struct RescanOptions {
  int files = 50;
  int rows = 2000;
  int features = 19;
  int append = 10;
  int reps = 5;
};

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

void AppendRows(const std::string& path, int rows, int features, int first) {
  std::ofstream out(path, std::ios::app);
  for (int r = first; r < first + rows; ++r) {
    out << r % 7;
    for (int f = 0; f < features; ++f) out << ',' << (r * 31 + f * 17) % 1000 / 10.0 - 50;
    out << '\n';
  }
}

int RunRescan(int argc, char** argv) {
  RescanOptions o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    const int v = std::atoi(argv[i + 1]);
    if (a == "--files")
      o.files = v;
    else if (a == "--rows")
      o.rows = v;
    else if (a == "--features")
      o.features = v;
    else if (a == "--append")
      o.append = v;
    else if (a == "--reps")
      o.reps = v;
    else {
      std::fprintf(stderr,
                   "usage: dust-bench rescan [--files N] [--rows N] [--features N] [--append N] "
                   "[--reps N]\n");
      return 2;
    }
  }
  if (argc % 2 == 0 || o.files < 1 || o.rows < 1 || o.features < 1 || o.append < 1 || o.reps < 1) {
    std::fprintf(stderr, "dust-bench rescan: every option takes a positive count\n");
    return 2;
  }
  namespace fs = std::filesystem;
  char tmpl[] = "/tmp/dust-bench-rescan.XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) return 1;
  const std::string dir = tmpl;
  for (int f = 0; f < o.files; ++f) {
    AppendRows(dir + "/part-" + std::to_string(f) + ".csv", o.rows, o.features, 0);
  }
  LoadOptions lo;
  lo.num_classes = 7;
  lo.expected_features = static_cast<uint32_t>(o.features);
  // Files written less than a second before a scan are confirmed by a hash on the next one
  // (data_dir_reader.h); a daemon's files are older than that, except the one being appended to.
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  daemon::DataDirReader reader;
  if (!reader.Rescan(dir, lo, {}).ok()) return 1;
  double best_full = 1e9, best_incremental = 1e9, best_read = 1e9;
  uint64_t bytes_incremental = 0;
  size_t samples = 0;
  for (int rep = 0; rep < o.reps; ++rep) {
    AppendRows(dir + "/part-" + std::to_string(rep % o.files) + ".csv", o.append, o.features,
               o.rows + rep * o.append);
    auto t0 = std::chrono::steady_clock::now();
    auto full = daemon::ScanDataDir(dir, lo, /*strict=*/false);
    const double full_s = Seconds(t0);
    t0 = std::chrono::steady_clock::now();
    auto scan = reader.Rescan(dir, lo, {});
    best_read = std::min(best_read, Seconds(t0));
    auto incremental = scan.ok() ? daemon::Concatenate(dir, *scan, {})
                                 : Result<daemon::DataDirContents>(scan.status());
    const double incremental_s = Seconds(t0);
    if (!full.ok() || !incremental.ok() || full->train.size() != incremental->train.size() ||
        full->train.nonzeros() != incremental->train.nonzeros()) {
      std::fprintf(stderr, "dust-bench rescan: the two scans disagree\n");
      return 1;
    }
    best_full = std::min(best_full, full_s);
    best_incremental = std::min(best_incremental, incremental_s);
    bytes_incremental = scan->bytes_read;
    samples = full->train.size();
    std::fprintf(stderr, "rep %d: full %.4f s, incremental %.4f s (%zu file read)\n", rep, full_s,
                 incremental_s, scan->files_read);
  }
  uint64_t bytes_total = 0;
  for (const auto& e : fs::directory_iterator(dir)) bytes_total += e.file_size();
  fs::remove_all(dir);
  std::printf(
      "{\"files\":%d,\"rows_per_file\":%d,\"features\":%d,\"appended_rows\":%d,\"samples\":%zu,"
      "\"dir_bytes\":%llu,\"full_s\":%.6f,\"incremental_s\":%.6f,\"incremental_read_s\":%.6f,"
      "\"incremental_bytes_read\":%llu,\"speedup\":%.1f}\n",
      o.files, o.rows, o.features, o.append, samples, static_cast<unsigned long long>(bytes_total),
      best_full, best_incremental, best_read, static_cast<unsigned long long>(bytes_incremental),
      best_full / best_incremental);
  return 0;
}

const BenchRegistrar kRescan{"rescan",
                             "rescan of a CSV data dir after one file grew: full re-read vs "
                             "incremental (the daemon's)",
                             &RunRescan};

}  // namespace
}  // namespace dust::bench
