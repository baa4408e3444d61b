#pragma once
// A TCP meter's figures as report messages (v1::TcpStreamReport): one function, used for
// the streams of a capture and for migprobe-dp's TCP flows alike.

#include <cstdint>
#include <string>

#include "analysis/packet.h"
#include "analysis/tcp_meter.h"
#include "migprobe/v1/report.pb.h"

namespace migprobe::analysis {

// "10.0.0.1:7" or "[fe80::1]:7".
std::string endpoint_text(const IpAddress& ip, uint16_t port);

// The figures of one meter (finished) between the two ends named; every timestamp moved by
// time_offset_ns (migprobe-dp's: its clock to CLOCK_REALTIME).
v1::TcpStreamReport to_tcp_stream_report(const TcpMeter& meter, const std::string& opener,
                                         const std::string& peer, int64_t time_offset_ns = 0);

}  // namespace migprobe::analysis
