#pragma once
// Errors as return values across every library boundary: an Error that says what failed
// and names the input (with the HTTP status, the API's own message and the request id when
// an OpenStack service answered), and Result<T>, which holds either a value or an Error
// (std::expected-style; GCC 12 in C++20 mode has no std::expected).

#include <string>
#include <utility>
#include <variant>

namespace migprobe::base {

// What kind of failure an Error is; callers branch on this, never on message text.
enum class ErrorKind {
  kConfig,       // credentials or options missing or inconsistent
  kTransport,    // no HTTP response: connection refused, timeout, TLS failure
  kHttp,         // the service answered with a status >= 400
  kParse,        // the service answered 2xx with a body we could not read
  kUnsupported,  // the negotiated microversion does not offer the operation
  kInvalid,      // an input (option, spec, target, file contents) is wrong
  kExhausted,    // a table or a resource is full
  kIo,           // a file or device could not be read or written
  kInterrupted,  // the operator asked to stop (Ctrl-C) before the work was done
};

// One failure. Never carries a credential: the session scrubs every message it returns.
struct Error {
  ErrorKind kind = ErrorKind::kTransport;
  // HTTP status of the response, 0 when there was none.
  long http_status = 0;
  // The API's own message (Nova's "message", Keystone's "error.message") or ours.
  std::string message;
  // x-openstack-request-id of the failing response, empty when there was none.
  std::string request_id;

  // One line for logs and terminals: "HTTP 409 [req-...]: message".
  std::string to_string() const;
};

// Marks success for operations that return nothing else.
struct Done {};

// Either a T or an Error.
template <typename T>
class [[nodiscard]] Result {
 public:
  // Success.
  Result(T value) : state_(std::move(value)) {}
  // Failure.
  Result(Error error) : state_(std::move(error)) {}

  // True when the result holds a value.
  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }

  // The value; only valid when ok().
  T& value() & { return std::get<0>(state_); }
  const T& value() const& { return std::get<0>(state_); }
  T&& value() && { return std::get<0>(std::move(state_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  // The error; only valid when !ok().
  const Error& error() const { return std::get<1>(state_); }

 private:
  // The value (index 0) or the error (index 1).
  std::variant<T, Error> state_;
};

// Success or an Error, for operations with no value.
using Status = Result<Done>;

// Builds an Error in one expression.
inline Error make_error(ErrorKind kind, std::string message, long http_status = 0,
                        std::string request_id = {}) {
  return Error{kind, http_status, std::move(message), std::move(request_id)};
}

}  // namespace migprobe::base
