// Control requests read from their JSON text without building a DOM, for the one command whose
// request is bulky: predict (docs/control-protocol.md). nlohmann::json parses about 18 MB/s of
// feature rows (6,000 MNIST rows/s, measured), far from what predict must serve, so the rows are
// read by ParseFeatureRows straight into a Dataset, and the dispatcher parses the rest of the
// request (cmd, id) as usual after SplitMember has cut the rows out.
//
// A library of its own (dustd_request: only dust_ml) so its fuzz target
// (tests/fuzz/fuzz_predict_request.cpp) links no sockets.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "dust/ml/dataset.h"
#include "dust/util/status.h"

namespace dust::daemon {

// Rows per predict request, whatever the width: bounds the reply (rows x classes numbers) and
// the time one request holds a worker.
inline constexpr size_t kMaxPredictRows = 256;
// The request line limit for predict (other commands: kMaxRequestBytes, 64 KiB). 4 MiB holds
// kMaxPredictRows rows of a 784-wide model at their longest (see kMaxFeatureChars).
inline constexpr size_t kMaxBulkRequestBytes = size_t{4} << 20;
// The longest shortest-round-trip text of a float ("-1.17549435e-38") and its comma: what one
// feature takes at most when a client writes floats as dustctl does.
inline constexpr size_t kMaxFeatureChars = 16;
// Room left in a request line for everything but the rows ({"cmd":"predict","id":...}).
inline constexpr size_t kPredictEnvelopeBytes = 1024;

// The rows a predict request may hold for a model `width` features wide: kMaxPredictRows, or
// fewer if that many rows at kMaxFeatureChars per feature would not fit kMaxBulkRequestBytes;
// at least 1.
size_t MaxPredictRows(uint32_t width);

// A request line cut in two: the JSON text of one top-level member's value, and the request
// without that member (a JSON object's text, for the usual parser).
struct MemberSplit {
  std::string_view value;  // points into the line
  std::string rest;
};

// Finds the top-level member `name` of the JSON object `line` by scanning (strings and
// brackets are skipped, not validated). nullopt if the line does not look like an object, or
// its member names use escapes, or it has no member `name` or has it twice: the caller then
// parses the line whole, which says what is wrong. What is returned is only cut, not checked:
// the caller parses `rest` and the value's own parser checks `value`.
std::optional<MemberSplit> SplitMember(std::string_view line, std::string_view name);

// Parses predict's "features": the JSON text of an array of 1..max_rows rows, each an array of
// exactly `width` JSON numbers that are finite as floats. Numbers are converted as
// std::from_chars does (correctly rounded to the nearest float), as the CSV reader converts its
// fields, so a float written in shortest form comes back bit for bit. Returns the rows as a
// Dataset(width, num_classes), every label 0. Errors are kInvalidArgument and name the place
// as JSON does: "features[2][17]: ...", "features[2]: ...".
Result<Dataset> ParseFeatureRows(std::string_view text, uint32_t width, uint32_t num_classes,
                                 size_t max_rows);

// The predict request line (no newline) for rows [begin, end) of `data`:
//   {"id":ID,"cmd":"predict","features":[[x,...],...]}
// every feature in shortest round-trip form (zeros as 0), so that ParseFeatureRows reads back
// exactly the floats `data` holds: the daemon predicts on the very values evaluate reads from
// the same file. end <= data.size().
std::string PredictRequestLine(const Dataset& data, size_t begin, size_t end, uint64_t id);

// predict's result object as JSON text:
//   {"rows":N,"steps":S,"predictions":[{"class":C,"probabilities":[p0,...]},...]}
// `classes` has one entry per row and `probs` classes.size() * num_classes floats (PredictBatch's
// output); each probability is written in shortest round-trip form.
std::string PredictionsJson(std::span<const uint32_t> classes, std::span<const float> probs,
                            uint32_t num_classes, uint64_t steps);

}  // namespace dust::daemon
