#pragma once
// A value with the request id of the response that carried it, what every OpenStack client
// call returns.

#include <string>
#include <utility>

#include "control/http_transport.h"
#include "control/result.h"

namespace migprobe::control {

// A value with the request id of the response that carried it (the last page's for a
// paginated list).
template <typename T>
struct Traced {
  T value;
  std::string request_id;
};

// A parsed body with the request id of its response; a parse error gets the status and
// request id of the response too.
template <typename T>
Result<Traced<T>> traced(Result<T> parsed, const HttpResponse& response) {
  if (!parsed.ok()) {
    Error e = parsed.error();
    e.request_id = response.request_id;
    e.http_status = response.status;
    return e;
  }
  return Traced<T>{std::move(parsed).value(), response.request_id};
}

}  // namespace migprobe::control
