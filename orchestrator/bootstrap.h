#pragma once
// A campaign's bootstrap and teardown (issue 14): the image, flavors, keypair, security
// group and the workload slice a spec's bootstrap: section asks for, created in the cloud or
// reused when the cloud already has them as asked, and deleted again by teardown.
//
// Every step is journaled in the campaign directory's bootstrap.mpj, before the call that
// creates a thing ("creating": an image with the id chosen here, a server with its name) and
// after it ("created", "reused", "failed"), so that teardown deletes exactly what the
// campaign created, also after a crash or a failed bootstrap, and never anything else:
// things it reused stay; servers are also found by their name prefix and their metadata
// migprobe_campaign (a crash between Nova's answer and the journal).

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "base/result.h"
#include "control/glance_client.h"
#include "control/neutron_client.h"
#include "control/nova_client.h"
#include "migprobe/v1/campaign.pb.h"

namespace migprobe::orchestrator {

// The bootstrap's journal, in the campaign directory.
inline constexpr const char* kBootstrapJournal = "bootstrap.mpj";
// The server metadata key that tags a server with its campaign.
inline constexpr const char* kCampaignMetadataKey = "migprobe_campaign";

// The clients of the cloud the bootstrap runs against (one session).
struct CloudClients {
  control::NovaClient* nova = nullptr;
  control::GlanceClient* glance = nullptr;
  control::NeutronClient* neutron = nullptr;
};

// A server of the slice, ACTIVE, as the probe needs it.
struct SliceServer {
  std::string id;
  std::string name;
  std::string host;
  std::string address;
  std::string mac;
};

struct BootstrapResult {
  std::vector<SliceServer> servers;
  // How many things were created and how many reused.
  int created = 0;
  int reused = 0;
};

// Progress lines ("image migprobe-guest: uploaded 12.0 of 24.0 MiB").
using Say = std::function<void(const std::string&)>;

// Runs spec's bootstrap against the cloud, journaling into DIR/bootstrap.mpj (created, or
// continued: a second bootstrap into the same directory reuses what the first made). A
// failure is an error naming what was asked and what the cloud said; what was created
// before it stays journaled for teardown. stop (Ctrl-C) ends it between steps
// (ErrorKind::kInterrupted).
base::Result<BootstrapResult> run_bootstrap(const v1::CampaignSpec& spec, const std::string& dir,
                                            const CloudClients& cloud, const Say& say,
                                            const std::atomic<int>* stop = nullptr);

// Deletes what DIR/bootstrap.mpj says the campaign created (and servers named with its
// prefix and tagged with its name), journaling each deletion; things it reused are left.
// Waits up to server_timeout for deleted servers to be gone before deleting what they use.
// Returns what could not be deleted, one line each (empty: everything is gone).
std::vector<std::string> run_teardown(
    const std::string& dir, const CloudClients& cloud, const Say& say,
    std::chrono::seconds server_timeout = std::chrono::seconds(300));

// What a bootstrap would fail on before asking the cloud: its image file and public key
// file unreadable. One line each; empty when none.
std::vector<std::string> check_bootstrap_files(const v1::CampaignSpec& spec);

// The campaign name and bootstrap prefix a bootstrap journal was written for.
base::Status read_bootstrap_identity(const std::string& dir, std::string* campaign,
                                     std::string* prefix, std::string* cloud);

}  // namespace migprobe::orchestrator
