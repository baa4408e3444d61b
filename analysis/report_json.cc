#include <google/protobuf/util/json_util.h>

#include "analysis/report_writers.h"

namespace migprobe::analysis {

std::string render_json(const v1::Report& report) {
  google::protobuf::util::JsonPrintOptions opt;
  opt.add_whitespace = true;
  opt.always_print_primitive_fields = true;
  opt.preserve_proto_field_names = true;
  std::string out;
  // A Report built by this code always converts; a failure would be a bug worth seeing.
  const auto status = google::protobuf::util::MessageToJsonString(report, &out, opt);
  if (!status.ok()) return "{\"error\": \"report could not be rendered\"}\n";
  return out;
}

}  // namespace migprobe::analysis
