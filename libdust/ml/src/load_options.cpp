#include "dust/ml/load_options.h"

#include <string>

namespace dust {

Status CheckLoadOptions(const LoadOptions& options) {
  if (options.num_classes == 0 || options.num_classes > 256) {
    return Status::InvalidArgument("num_classes must be 1..256 (labels are one byte), got " +
                                   std::to_string(options.num_classes));
  }
  return Status::Ok();
}

}  // namespace dust
