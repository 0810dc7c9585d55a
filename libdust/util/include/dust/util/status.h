// Status and Result<T>: how libdust reports failure without exceptions.
//
// Contract: every fallible libdust function returns [[nodiscard]] Status or Result<T>.
// Decoding untrusted bytes never throws and never aborts; it returns an error Status whose
// message says what was wrong, with what, and (where it helps) what to do.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace dust {

enum class StatusCode : int {
  kOk = 0,
  kInvalidArgument = 1,  // the caller passed something malformed (bad config value, bad bytes)
  kNotFound = 2,         // a file, peer or key that should exist does not
  kCorrupt = 3,          // stored or received bytes fail a structural or checksum check
  kIoError = 4,          // the operating system refused (open, read, write, rename, fsync)
  kPermission = 5,       // refused for safety (e.g. a secret key readable by others)
  kUnsupported = 6,      // a version, format or architecture we do not speak
  kAlreadyExists = 7,
  kResourceExhausted = 8,  // a cap was hit (size, count, rate)
};

const char* StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(StatusCode code, std::string message) : m_code(code), m_message(std::move(message)) {}

  static Status Ok() { return {}; }
  static Status InvalidArgument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
  static Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
  static Status Corrupt(std::string m) { return {StatusCode::kCorrupt, std::move(m)}; }
  static Status IoError(std::string m) { return {StatusCode::kIoError, std::move(m)}; }
  static Status Permission(std::string m) { return {StatusCode::kPermission, std::move(m)}; }
  static Status Unsupported(std::string m) { return {StatusCode::kUnsupported, std::move(m)}; }
  static Status AlreadyExists(std::string m) { return {StatusCode::kAlreadyExists, std::move(m)}; }
  static Status ResourceExhausted(std::string m) { return {StatusCode::kResourceExhausted, std::move(m)}; }

  bool ok() const { return m_code == StatusCode::kOk; }
  StatusCode code() const { return m_code; }
  const std::string& message() const { return m_message; }

  // Returns a copy whose message is "<context>: <message>", for adding the file or field name
  // as an error travels up: `return st.WithContext(path);`.
  Status WithContext(const std::string& context) const {
    if (ok()) return *this;
    return {m_code, context + ": " + m_message};
  }
  // "corrupt: <message>" style text for logs and user-facing errors.
  std::string ToString() const;

 private:
  StatusCode m_code = StatusCode::kOk;
  std::string m_message;
};

// Result<T>: a T or an error Status, shaped like std::expected (C++23), which g++ 12 lacks.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : m_v(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : m_v(std::in_place_index<1>, std::move(status)) {  // NOLINT
    assert(!std::get<1>(m_v).ok() && "Result built from an OK Status carries no value");
  }

  bool ok() const { return m_v.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(m_v); }
  const T& value() const& { return std::get<0>(m_v); }
  T&& value() && { return std::get<0>(std::move(m_v)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  // The error; an OK Status when the Result holds a value.
  Status status() const { return ok() ? Status::Ok() : std::get<1>(m_v); }

 private:
  std::variant<T, Status> m_v;
};

}  // namespace dust

// Propagate an error Status from an expression that yields Status.
#define DUST_RETURN_IF_ERROR(expr)        \
  do {                                    \
    ::dust::Status dust_st_ = (expr);     \
    if (!dust_st_.ok()) return dust_st_;  \
  } while (0)
