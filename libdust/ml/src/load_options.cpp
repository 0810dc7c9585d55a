#include "dust/ml/load_options.h"

#include <string>

namespace dust {

Status CheckLoadOptions(const LoadOptions& options) {
  if (options.num_classes == 0 || options.num_classes > 256) {
    return Status::InvalidArgument("num_classes must be 1..256 (labels are one byte), got " +
                                   std::to_string(options.num_classes));
  }
  if (options.label_column.find(',') != std::string::npos) {
    return Status::InvalidArgument("label column \"" + options.label_column +
                                   "\": a CSV column name cannot contain a comma");
  }
  if (options.no_label && !options.label_column.empty()) {
    return Status::InvalidArgument("label column \"" + options.label_column +
                                   "\" given for a file read without a label column");
  }
  return Status::Ok();
}

}  // namespace dust
