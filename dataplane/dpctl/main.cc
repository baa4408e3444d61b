// migprobe-dpctl: a small client of migprobe-dp's control API, for tests and operators.
//   migprobe-dpctl --socket PATH configure --target SPEC [--target SPEC...] [--replace]
//   migprobe-dpctl --socket PATH remove NAME...
//   migprobe-dpctl --socket PATH start | stop | stats [--per-flow] | events [--count N]
// Replies are printed as JSON.

#include <google/protobuf/util/json_util.h>
#include <grpcpp/grpcpp.h>

#include <boost/program_options.hpp>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "analysis/flow_proto.h"
#include "analysis/packet.h"
#include "dataplane/target_spec.h"
#include "migprobe/v1/dataplane.grpc.pb.h"

namespace po = boost::program_options;
namespace v1 = migprobe::v1;
namespace dp = migprobe::dataplane;

namespace {

void print(const google::protobuf::Message& m) {
  std::string json;
  google::protobuf::util::JsonPrintOptions opt;
  opt.preserve_proto_field_names = true;
  opt.always_print_primitive_fields = true;
  (void)google::protobuf::util::MessageToJsonString(m, &json, opt);
  std::cout << json << std::endl;
}

int fail(const grpc::Status& s) {
  std::fprintf(stderr, "migprobe-dpctl: %s\n", s.error_message().c_str());
  return 1;
}

v1::Target to_proto(const dp::TargetParams& t) {
  v1::Target p;
  p.set_name(t.name);
  p.set_ip(migprobe::analysis::IpAddress::v4(t.ip).to_string());
  if (t.mac) p.set_mac(migprobe::analysis::mac_to_string(*t.mac));
  p.set_vlan(t.vlan);
  for (const auto& f : t.flows) *p.add_flows() = migprobe::analysis::to_proto(f);
  return p;
}

}  // namespace

int main(int argc, char** argv) {
  std::string socket, command;
  std::vector<std::string> args, targets;
  uint32_t count = 0;
  po::options_description desc("migprobe-dpctl options");
  desc.add_options()("help,h", "this help")(
      "socket", po::value<std::string>(&socket)->default_value("/run/migprobe-dp.sock"),
      "migprobe-dp's control socket")("target", po::value<std::vector<std::string>>(&targets),
                                      "configure: a target, as migprobe-dp --target")(
      "replace", "configure: remove targets not listed")("per-flow", "stats: per-flow figures")(
      "count", po::value<uint32_t>(&count)->default_value(0), "events: stop after N (0: never)")(
      "command", po::value<std::string>(&command), "configure|remove|start|stop|stats|events")(
      "args", po::value<std::vector<std::string>>(&args), "");
  po::positional_options_description pos;
  pos.add("command", 1).add("args", -1);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(desc).positional(pos).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    std::fprintf(stderr, "migprobe-dpctl: %s\n", e.what());
    return 2;
  }
  if (vm.count("help") != 0 || command.empty()) {
    std::cout << "usage: migprobe-dpctl [--socket PATH] COMMAND [args]\n" << desc << std::endl;
    return command.empty() && vm.count("help") == 0 ? 2 : 0;
  }
  auto stub = v1::Dataplane::NewStub(
      grpc::CreateChannel("unix:" + socket, grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  if (command == "configure") {
    v1::ConfigureRequest req;
    req.set_replace(vm.count("replace") != 0);
    for (const auto& text : targets) {
      auto t = dp::parse_target(text);
      if (!t) {
        std::fprintf(stderr, "migprobe-dpctl: %s\n", t.error().message.c_str());
        return 2;
      }
      *req.add_targets() = to_proto(*t);
    }
    v1::ConfigureReply reply;
    grpc::Status s = stub->Configure(&ctx, req, &reply);
    if (!s.ok()) return fail(s);
    print(reply);
  } else if (command == "remove") {
    v1::RemoveTargetsRequest req;
    for (const auto& a : args) req.add_targets(a);
    v1::RemoveTargetsReply reply;
    grpc::Status s = stub->RemoveTargets(&ctx, req, &reply);
    if (!s.ok()) return fail(s);
    print(reply);
  } else if (command == "start") {
    v1::StartReply reply;
    grpc::Status s = stub->Start(&ctx, v1::StartRequest(), &reply);
    if (!s.ok()) return fail(s);
    print(reply);
  } else if (command == "stop") {
    v1::StopReply reply;
    grpc::Status s = stub->Stop(&ctx, v1::StopRequest(), &reply);
    if (!s.ok()) return fail(s);
    print(reply);
  } else if (command == "stats") {
    v1::StatsRequest req;
    req.set_per_flow(vm.count("per-flow") != 0);
    v1::Stats reply;
    grpc::Status s = stub->GetStats(&ctx, req, &reply);
    if (!s.ok()) return fail(s);
    print(reply);
  } else if (command == "events") {
    auto reader = stub->StreamEvents(&ctx, v1::StreamEventsRequest());
    v1::Event e;
    uint32_t n = 0;
    while (reader->Read(&e)) {
      print(e);
      if (count != 0 && ++n >= count) {
        ctx.TryCancel();
        break;
      }
    }
    grpc::Status s = reader->Finish();
    if (!s.ok() && s.error_code() != grpc::StatusCode::CANCELLED) return fail(s);
  } else {
    std::fprintf(stderr, "migprobe-dpctl: unknown command '%s'\n", command.c_str());
    return 2;
  }
  return 0;
}
