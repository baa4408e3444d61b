// Error formatting.
#include "base/result.h"

namespace migprobe::base {

std::string Error::to_string() const {
  std::string out;
  if (http_status != 0) {
    out = "HTTP " + std::to_string(http_status);
  } else {
    switch (kind) {
      case ErrorKind::kConfig:
        out = "configuration";
        break;
      case ErrorKind::kTransport:
        out = "transport";
        break;
      case ErrorKind::kHttp:
        out = "HTTP";
        break;
      case ErrorKind::kParse:
        out = "unreadable response";
        break;
      case ErrorKind::kUnsupported:
        out = "unsupported";
        break;
      case ErrorKind::kInvalid:
        return message;
      case ErrorKind::kExhausted:
        out = "full";
        break;
      case ErrorKind::kIo:
      case ErrorKind::kInterrupted:
        return message;
    }
  }
  if (!request_id.empty()) out += " [" + request_id + "]";
  return out + ": " + message;
}

}  // namespace migprobe::base
