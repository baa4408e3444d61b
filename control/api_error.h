#pragma once
// Turning a failed OpenStack response into an Error with the API's own message, and
// removing secrets from any text before it leaves the library.

#include <string>
#include <vector>

#include "control/http_transport.h"
#include "control/result.h"

namespace migprobe::control {

// The message an OpenStack service put in an error body: Nova's {"badRequest": {"code":
// 400, "message": "..."}} (any fault name), Keystone's {"error": {"message": ...}}, or a
// short excerpt of a non-JSON body.
std::string api_error_message(const std::string& body);

// An Error of kind kHttp for response, with status, API message and request id.
Error http_error(const HttpResponse& response);

// Replaces every occurrence of each secret in text with "***".
std::string scrub(std::string text, const std::vector<std::string>& secrets);

// The same for an Error's message and request id.
Error scrub(Error error, const std::vector<std::string>& secrets);

}  // namespace migprobe::control
