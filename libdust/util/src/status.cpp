#include "dust/util/status.h"

namespace dust {

const char* StatusCodeName(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return "ok";
    case StatusCode::kInvalidArgument: return "invalid argument";
    case StatusCode::kNotFound: return "not found";
    case StatusCode::kCorrupt: return "corrupt";
    case StatusCode::kIoError: return "I/O error";
    case StatusCode::kPermission: return "permission";
    case StatusCode::kUnsupported: return "unsupported";
    case StatusCode::kAlreadyExists: return "already exists";
    case StatusCode::kResourceExhausted: return "resource exhausted";
  }
  return "unknown";
}

std::string Status::ToString() const {
  if (ok()) return "ok";
  return std::string(StatusCodeName(m_code)) + ": " + m_message;
}

}  // namespace dust
