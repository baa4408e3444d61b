#include "dataplane/port_setup.h"

#include <dirent.h>
#include <rte_bus.h>
#include <rte_dev.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>

#include <cstring>
#include <fstream>
#include <utility>

#include "dataplane/lcore_cores.h"

namespace migprobe::dataplane {

base::Status check_hugepages(int eal_argc, char** eal_argv) {
  for (int i = 0; i < eal_argc; ++i) {
    if (std::strcmp(eal_argv[i], "--no-huge") == 0) return base::Done{};
  }
  uint64_t free_pages = 0;
  if (DIR* d = opendir("/sys/kernel/mm/hugepages")) {
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] == '.') continue;
      std::ifstream in(std::string("/sys/kernel/mm/hugepages/") + e->d_name + "/free_hugepages");
      uint64_t n = 0;
      if (in >> n) free_pages += n;
    }
    closedir(d);
  }
  if (free_pages == 0) {
    return base::make_error(
        base::ErrorKind::kExhausted,
        "no free hugepages: reserve some (echo 256 > "
        "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages) or pass --no-huge -m 256 "
        "to the EAL (before --)");
  }
  return base::Done{};
}

base::Status check_lcores(Options* o) {
  auto invalid = [](std::string message) {
    return base::make_error(base::ErrorKind::kInvalid, std::move(message));
  };
  const unsigned main_lcore = rte_get_main_lcore();
  std::vector<int> workers;
  unsigned id = 0;
  RTE_LCORE_FOREACH_WORKER(id) workers.push_back(static_cast<int>(id));
  auto list = [&] {
    std::string s;
    for (int w : workers) s += (s.empty() ? "" : ",") + std::to_string(w);
    return s.empty() ? std::string("none") : s;
  };
  if (o->tx_lcore < 0) o->tx_lcore = workers.size() > 0 ? workers[0] : -1;
  if (o->rx_lcore < 0) o->rx_lcore = workers.size() > 1 ? workers[1] : -1;
  if (o->tx_lcore < 0 || o->rx_lcore < 0) {
    return invalid("need two worker lcores besides the main one (" + std::to_string(main_lcore) +
                   ") for TX and RX; enabled workers: " + list() +
                   " (give the EAL e.g. -l 0-2, or --lcores 0@0,1@1,2@1 on a 2-core machine)");
  }
  for (int l : {o->tx_lcore, o->rx_lcore}) {
    if (l >= RTE_MAX_LCORE || !rte_lcore_is_enabled(static_cast<unsigned>(l)) ||
        static_cast<unsigned>(l) == main_lcore) {
      return invalid("lcore " + std::to_string(l) +
                     " is not available as a worker (enabled workers: " + list() + ")");
    }
  }
  if (o->tx_lcore == o->rx_lcore) return invalid("--tx-lcore and --rx-lcore must differ");
  return base::Done{};
}

namespace {

bool find_port(const std::string& name, uint16_t* id) {
  return rte_eth_dev_get_port_by_name(name.c_str(), id) == 0;
}

std::string available_ports() {
  std::string s;
  for (uint16_t pid = 0; pid < RTE_MAX_ETHPORTS; ++pid) {
    if (rte_eth_dev_is_valid_port(pid) == 0) continue;
    char name[RTE_ETH_NAME_MAX_LEN];
    if (rte_eth_dev_get_name_by_port(pid, name) == 0)
      s += (s.empty() ? "" : ", ") + std::string(name);
  }
  return s.empty() ? "none" : s;
}

}  // namespace

base::Status setup_port(const Options& o, rte_mempool** pool, PortInfo* out) {
  const std::string name = o.port.substr(0, o.port.find(','));
  uint16_t pid = 0;
  if (!find_port(name, &pid)) {
    // Not probed by the EAL: hot-plug it (a vdev's devargs, or a PCI address).
    const bool is_vdev = name.rfind("net_", 0) == 0;
    const int rc = rte_dev_probe(o.port.c_str());
    if (rc != 0 || !find_port(name, &pid)) {
      return base::make_error(
          base::ErrorKind::kInvalid,
          "port '" + o.port + "' does not exist or cannot be probed (" +
              std::string(rc != 0 ? rte_strerror(-rc) : "no ethdev of that name") +
              "); ports present: " + available_ports() +
              (is_vdev ? "" : "; a PCI device must be bound to vfio-pci"));
    }
  }
  rte_eth_dev_info info{};
  if (rte_eth_dev_info_get(pid, &info) != 0) {
    return base::make_error(base::ErrorKind::kIo, "port '" + name + "': no device info");
  }
  out->port_id = pid;
  out->name = name;
  out->driver = info.driver_name != nullptr ? info.driver_name : "";
  out->is_virtual = info.device == nullptr || rte_dev_bus(info.device) == nullptr ||
                    std::strcmp(rte_bus_name(rte_dev_bus(info.device)), "vdev") == 0;

  const int socket = rte_eth_dev_socket_id(pid) < 0 ? 0 : rte_eth_dev_socket_id(pid);
  *pool = rte_pktmbuf_pool_create("migprobe_mbufs", o.mbufs, o.mbuf_cache, kMbufPrivSize,
                                  RTE_MBUF_DEFAULT_BUF_SIZE, socket);
  if (*pool == nullptr) {
    return base::make_error(base::ErrorKind::kExhausted,
                            "cannot create a pool of " + std::to_string(o.mbufs) +
                                " mbufs: " + rte_strerror(rte_errno) +
                                " (lower --mbufs or give the EAL more memory, -m)");
  }

  rte_eth_conf conf{};
  if (o.port_timestamps) {
    // net_pcap stamps every mbuf with the file's timestamp without advertising the offload.
    const bool stamps_always = out->driver == "net_pcap";
    if (stamps_always) {
      // Nothing to enable; the dynamic field is registered below.
    } else if ((info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_TIMESTAMP) == 0) {
      return base::make_error(base::ErrorKind::kInvalid, "--rx-timestamp port: port '" + name +
                                                             "' (" + out->driver +
                                                             ") does not offer RX timestamps");
    }
    if (!stamps_always) conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_TIMESTAMP;
    if (rte_mbuf_dyn_rx_timestamp_register(&out->timestamp_offset, &out->timestamp_flag) != 0) {
      return base::make_error(base::ErrorKind::kExhausted,
                              "cannot register the mbuf timestamp field");
    }
    out->timestamps = true;
    if (stamps_always) out->timestamp_scale = 1000;
  }
  int rc = rte_eth_dev_configure(pid, 1, 1, &conf);
  if (rc != 0) {
    return base::make_error(base::ErrorKind::kIo,
                            "port '" + name + "': configure failed: " + rte_strerror(-rc));
  }
  uint16_t rxd = o.rx_desc, txd = o.tx_desc;
  rte_eth_dev_adjust_nb_rx_tx_desc(pid, &rxd, &txd);
  rc = rte_eth_rx_queue_setup(pid, 0, rxd, static_cast<unsigned>(socket), nullptr, *pool);
  if (rc != 0) {
    return base::make_error(base::ErrorKind::kIo,
                            "port '" + name + "': RX queue setup failed: " + rte_strerror(-rc));
  }
  rc = rte_eth_tx_queue_setup(pid, 0, txd, static_cast<unsigned>(socket), nullptr);
  if (rc != 0) {
    return base::make_error(base::ErrorKind::kIo,
                            "port '" + name + "': TX queue setup failed: " + rte_strerror(-rc));
  }
  rte_ether_addr mac{};
  rte_eth_macaddr_get(pid, &mac);
  std::memcpy(out->mac.data(), mac.addr_bytes, 6);
  rc = rte_eth_dev_start(pid);
  if (rc != 0) {
    return base::make_error(base::ErrorKind::kIo,
                            "port '" + name + "': start failed: " + rte_strerror(-rc));
  }
  // Replies go to the probe's MAC, which may differ from the port's.
  if (o.probe_mac && *o.probe_mac != out->mac) rte_eth_promiscuous_enable(pid);
  return base::Done{};
}

}  // namespace migprobe::dataplane
