#pragma once
// What the text rendering's files share (report_text.cc, report_text_tcp.cc): the line and
// time formatting, and the sections kept in files of their own. Internal to the rendering.

#include <cstdint>
#include <string>

#include "migprobe/v1/report.pb.h"

namespace migprobe::analysis::text {

// "+1.234567 s" relative to origin (the first frame of the capture, or the run's start).
std::string rel(uint64_t ns, uint64_t origin);
// "12.345 s": a duration of seconds or more, to the millisecond.
std::string format_s(uint64_t ns);
// "1.5 GiB": a size for people.
std::string format_bytes(uint64_t bytes);
// Appends one printf-formatted line.
void line(std::string* out, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

// A migration's TCP verdict in a few words: "recovered: stall 1.4 s, 62 retransmitted".
std::string tcp_verdict_text(const v1::TcpVerdict& v, uint64_t origin);

// The TCP streams section.
void render_tcp_streams(std::string* out, const v1::Report& r, uint64_t origin);

}  // namespace migprobe::analysis::text
