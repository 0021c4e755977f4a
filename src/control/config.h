// SPDX-License-Identifier: BSD-3-Clause
#pragma once

// dpswitch configuration: an INI file plus command-line overrides, loaded with
// Boost.Program_options. Every INI key SECTION.KEY is also a command-line
// option --SECTION.KEY VALUE; [port.NAME] sections are dynamic. Arguments
// after a bare "--" are extra EAL arguments.
//
// Errors (unknown key, bad value, duplicate ofport, missing file...) throw
// ConfigError whose message names the key or port and where it was set
// ("in FILE:LINE" / "on the command line"); main() prints it and exits with
// status 2. Paths are kept as written (relative to the working directory).

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "classifier/of_classifier.h"

namespace dpswitch::control {

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Port types ([port.NAME] type), as OVS names them.
inline constexpr const char* kPortTypeDpdk = "dpdk";  // any DPDK ethdev: devargs
inline constexpr const char* kPortTypeVhostServer = "dpdkvhostuser";  // we create `socket`
inline constexpr const char* kPortTypeVhostClient =
    "dpdkvhostuserclient";  // QEMU creates `socket`; we connect and reconnect

struct PortConfig {
  std::string name;           // NAME of [port.NAME]
  std::string type = "dpdk";  // kPortType*
  std::string devargs;        // dpdk: vdev string ("net_pcap0,rx_pcap=...") or PCI address
  std::string socket;         // vhost types: the vhost-user unix socket path
  uint32_t ofport = 0;        // OpenFlow port number, unique, 1..0xfeff
  uint16_t rxq = 1;           // rx queues (vhost types: = queues)
  uint16_t queues = 1;        // vhost types: queue pairs (1..kMaxVhostQueues)
  uint16_t mtu = 0;           // 0: the device's default; else set on the device (jumbo: 9000)
  uint16_t rxd = 1024;        // rx ring size
  uint16_t txd = 1024;        // tx ring size

  friend bool operator==(const PortConfig&, const PortConfig&) = default;
};

struct Config {
  std::string config_file;             // the INI file used ("" = none)
  std::vector<std::string> eal_args;   // [dpdk] eal-args split on spaces, then args after --
  std::vector<unsigned> pmd_cores;     // [datapath] pmd-cores, e.g. "1" or "1,2" or "1-3"
  unsigned handler_threads = 1;        // [datapath] handler-threads, 1..64
  uint32_t emc_entries = 8192;         // [datapath] emc-entries, power of 2, 2..2^20
  uint32_t emc_insert_inv_prob = 100;  // [datapath] insert 1 in N EMC misses; 0 = never
  uint32_t flow_limit = 200000;        // [datapath] flow-limit: megaflow ceiling, >= 1
  unsigned revalidator_threads = 1;    // [datapath] revalidator-threads, 1..16
  uint32_t max_idle_ms = 10000;        // [datapath] max-idle: idle megaflows deleted after
  uint32_t revalidate_interval_ms = 500;  // [datapath] revalidate-interval: round period
  uint32_t mbufs = 0;                  // [datapath] mbufs: 0 = computed from ports
  uint32_t mbuf_size = 0;              // [datapath] mbuf-size: data room; 0 = DPDK default
  uint32_t upcall_ring_size = 4096;    // [datapath] upcall-ring-size (power of 2)
  std::string flows_file;              // [openflow] flows ("" = none)
  std::string control_socket = "run/dpswitch.ctl";     // [control] socket ("" = none)
  bool interactive = false;                            // [control] interactive / -i
  std::string log_level = "info";                      // trace debug info warn error critical off
  std::string log_file;                                // "" = stderr
  cls::OfClassifierOptions classifier;                 // [classifier]: every table's options
  std::map<uint8_t, cls::OfClassifierOptions> tables;  // [table.N]: complete options of table N
  std::vector<PortConfig> ports;                       // in file order

  friend bool operator==(const Config&, const Config&) = default;
};

// Parses argv. `default_config` is used when no --config is given and it
// exists (main passes "config/dpswitch.conf"). --help prints usage to stdout
// and returns std::nullopt.
std::optional<Config> LoadConfig(int argc, const char* const argv[],
                                 const std::string& default_config);

// "1,3-5" -> {1,3,4,5}; throws ConfigError naming `key` on bad input.
std::vector<unsigned> ParseCoreList(const std::string& text, const std::string& key);

// The --help text: synopsis, then every key with its default and meaning.
std::string ConfigUsage();

// `config` as INI text that LoadConfig reads back to an equal Config (for
// "show config" and tests). EAL arguments given after "--" are folded into
// [dpdk] eal-args; arguments containing spaces do not survive the trip.
std::string FormatConfig(const Config& config);

}  // namespace dpswitch::control
