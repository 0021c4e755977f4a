// SPDX-License-Identifier: BSD-3-Clause
// Configuration loading: the INI contract users and scripts rely on, command
// line overrides, and one test per class of error, each checking that the
// message names what is wrong and where.
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "classifier/prefix_field.h"
#include "control/config.h"
#include "control_test_util.h"

namespace dpswitch::control {
namespace {

using pkt::FieldId;
using testing::TempDir;

// The INI contract from the design brief, comments and all.
constexpr const char* kContractIni = R"(# dpswitch example
; a full-line ';' comment
[dpdk]
eal-args = -l 0-1 --file-prefix dpswitch     ; also accepted after a bare --
[datapath]
pmd-cores = 1                 ; lcores running PMD threads  (list syntax "1", "1,2", "1-3")
handler-threads = 1
emc-entries = 8192
emc-insert-inv-prob = 100     ; insert 1 in N misses into the EMC
flow-limit = 200000           ; megaflows
mbufs = 0                     ; 0 = computed
upcall-ring-size = 4096
[openflow]
flows = config/default.flows  ; ovs-ofctl syntax, one flow per line, # comments
[control]
socket = run/dpswitch.ctl     ; relative paths are relative to the working directory
interactive = false           ; same as -i
[log]
level = info
file =                        ; empty: stderr
[port.p0]                     ; one section per port
type = dpdk                   ; dpdk = any DPDK device
devargs = net_pcap0,rx_pcap=in.pcap,tx_pcap=out.pcap   ; or a PCI address
ofport = 1
rxq = 1
rxd = 1024
txd = 1024
[port.p1]
devargs = 0000:03:00.0
ofport = 2
rxq = 2
rxd = 512
txd = 2048
)";

// LoadConfig with a C++ argument list; argv[0] is added.
std::optional<Config> Load(std::vector<std::string> args, const std::string& default_config = "") {
  args.insert(args.begin(), "dpswitch");
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  return LoadConfig(static_cast<int>(argv.size()), argv.data(), default_config);
}

// The message of the ConfigError `args` raises ("" if none).
std::string ErrorOf(std::vector<std::string> args) {
  try {
    Load(std::move(args));
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

// Writes a file made of the contract's fixed part plus `extra` lines.
std::string WithExtra(const TempDir& dir, const std::string& body) {
  return dir.Write("x.conf", body);
}

TEST_CASE("config: the documented INI file loads, inline comments stripped", "[config]") {
  TempDir dir;
  const std::string file = dir.Write("dpswitch.conf", kContractIni);
  const auto cfg = Load({"--config", file});
  REQUIRE(cfg);
  CHECK(cfg->config_file == file);
  CHECK(cfg->eal_args == std::vector<std::string>{"-l", "0-1", "--file-prefix", "dpswitch"});
  CHECK(cfg->pmd_cores == std::vector<unsigned>{1});
  CHECK(cfg->handler_threads == 1);
  CHECK(cfg->emc_entries == 8192);
  CHECK(cfg->emc_insert_inv_prob == 100);
  CHECK(cfg->flow_limit == 200000);
  CHECK(cfg->mbufs == 0);
  CHECK(cfg->upcall_ring_size == 4096);
  CHECK(cfg->flows_file == "config/default.flows");
  CHECK(cfg->control_socket == "run/dpswitch.ctl");
  CHECK_FALSE(cfg->interactive);
  CHECK(cfg->log_level == "info");
  CHECK(cfg->log_file.empty());
  REQUIRE(cfg->ports.size() == 2);
  const PortConfig& p0 = cfg->ports[0];
  CHECK(p0.name == "p0");
  CHECK(p0.type == "dpdk");
  CHECK(p0.devargs == "net_pcap0,rx_pcap=in.pcap,tx_pcap=out.pcap");
  CHECK(p0.ofport == 1);
  CHECK(p0.rxq == 1);
  CHECK(p0.rxd == 1024);
  CHECK(p0.txd == 1024);
  const PortConfig& p1 = cfg->ports[1];
  CHECK(p1.name == "p1");
  CHECK(p1.devargs == "0000:03:00.0");
  CHECK(p1.ofport == 2);
  CHECK(p1.rxq == 2);
  CHECK(p1.rxd == 512);
  CHECK(p1.txd == 2048);
}

TEST_CASE("config: non-default values of every key are read", "[config]") {
  TempDir dir;
  const std::string file = dir.Write("a.conf", R"([datapath]
pmd-cores = 1,3-5
handler-threads = 4
emc-entries = 1024
emc-insert-inv-prob = 0
flow-limit = 1000
mbufs = 65536
upcall-ring-size = 1024
[control]
interactive = yes
socket = /var/run/x.ctl
[log]
level = WARNING
file = logs/dps.log
)");
  const auto cfg = Load({"--config", file});
  REQUIRE(cfg);
  CHECK(cfg->pmd_cores == std::vector<unsigned>{1, 3, 4, 5});
  CHECK(cfg->handler_threads == 4);
  CHECK(cfg->emc_entries == 1024);
  CHECK(cfg->emc_insert_inv_prob == 0);
  CHECK(cfg->flow_limit == 1000);
  CHECK(cfg->mbufs == 65536);
  CHECK(cfg->upcall_ring_size == 1024);
  CHECK(cfg->interactive);
  CHECK(cfg->control_socket == "/var/run/x.ctl");
  CHECK(cfg->log_level == "warn");
  CHECK(cfg->log_file == "logs/dps.log");  // relative paths are not rewritten
  CHECK(cfg->ports.empty());
}

TEST_CASE("config: defaults without a file; the default file is used when present", "[config]") {
  TempDir dir;
  const auto none = Load({}, dir / "missing.conf");
  REQUIRE(none);
  CHECK(*none == Config{});

  const std::string file = dir.Write("dpswitch.conf", "[datapath]\nflow-limit = 7\n");
  const auto found = Load({}, file);
  REQUIRE(found);
  CHECK(found->config_file == file);
  CHECK(found->flow_limit == 7);

  // An explicit --config wins over the default.
  const std::string other = dir.Write("other.conf", "[datapath]\nflow-limit = 9\n");
  CHECK(Load({"--config=" + other}, file)->flow_limit == 9);
}

TEST_CASE("config: the command line overrides the file key by key", "[config]") {
  TempDir dir;
  const std::string file = dir.Write("dpswitch.conf", kContractIni);
  const auto cfg =
      Load({"--config", file, "--datapath.pmd-cores", "1-3", "--datapath.emc-entries=4096",
            "--log.level", "debug", "--dpdk.eal-args", "-l 0-3 --no-pci", "-i"});
  REQUIRE(cfg);
  CHECK(cfg->pmd_cores == std::vector<unsigned>{1, 2, 3});
  CHECK(cfg->emc_entries == 4096);
  CHECK(cfg->log_level == "debug");
  CHECK(cfg->eal_args == std::vector<std::string>{"-l", "0-3", "--no-pci"});
  CHECK(cfg->interactive);
  CHECK(cfg->flow_limit == 200000);  // untouched keys keep the file's values
  CHECK(cfg->flows_file == "config/default.flows");

  // The last of repeated options wins; --control.interactive takes a bool.
  const auto again = Load(
      {"--datapath.flow-limit", "5", "--datapath.flow-limit", "6", "--control.interactive", "on"});
  CHECK(again->flow_limit == 6);
  CHECK(again->interactive);

  // An empty value on the command line clears the file's value.
  const auto cleared = Load({"--config", file, "--openflow.flows", "", "--log.file=", "--log.level",
                             "error", "--control.socket="});
  REQUIRE(cleared);
  CHECK(cleared->flows_file.empty());
  CHECK(cleared->log_file.empty());
  CHECK(cleared->control_socket.empty());
  CHECK(cleared->log_level == "error");
  CHECK(ErrorOf({"--datapath.flow-limit", ""}).find("invalid value '' for 'datapath.flow-limit'") !=
        std::string::npos);
  CHECK(ErrorOf({"--port.p0.devargs", ""}).find("devargs must not be empty") != std::string::npos);
}

TEST_CASE("config: ports come from sections and from --port.NAME.KEY", "[config]") {
  TempDir dir;
  const std::string file = dir.Write("dpswitch.conf", kContractIni);
  const auto cfg = Load({"--config", file, "--port.p0.devargs", "net_null0", "--port.p2.devargs",
                         "net_ring0", "--port.p2.ofport", "3", "--port.p2.rxq=4"});
  REQUIRE(cfg);
  REQUIRE(cfg->ports.size() == 3);
  CHECK(cfg->ports[0].name == "p0");
  CHECK(cfg->ports[0].devargs == "net_null0");  // overridden
  CHECK(cfg->ports[0].ofport == 1);             // kept from the file
  CHECK(cfg->ports[1].name == "p1");
  CHECK(cfg->ports[2].name == "p2");  // new ports follow the file's
  CHECK(cfg->ports[2].devargs == "net_ring0");
  CHECK(cfg->ports[2].ofport == 3);
  CHECK(cfg->ports[2].rxq == 4);
  CHECK(cfg->ports[2].rxd == 1024);

  // Ports on the command line alone, devargs with '=' and ','.
  const auto only = Load(
      {"--port.in.devargs", "net_pcap0,rx_pcap=a.pcap,infinite_rx=1", "--port.in.ofport", "1"});
  REQUIRE(only->ports.size() == 1);
  CHECK(only->ports[0].devargs == "net_pcap0,rx_pcap=a.pcap,infinite_rx=1");
}

TEST_CASE("config: arguments after -- are appended to the EAL arguments", "[config]") {
  TempDir dir;
  const std::string file = dir.Write("dpswitch.conf", "[dpdk]\neal-args = -l 0-1\n");
  const auto cfg = Load({"--config", file, "--", "--no-huge", "-m", "256", "--vdev=net_null0"});
  REQUIRE(cfg);
  CHECK(cfg->eal_args ==
        std::vector<std::string>{"-l", "0-1", "--no-huge", "-m", "256", "--vdev=net_null0"});
  // What follows -- is not parsed as ours, even if it looks like it.
  const auto raw = Load({"--", "--datapath.flow-limit", "x"});
  CHECK(raw->eal_args == std::vector<std::string>{"--datapath.flow-limit", "x"});
  CHECK(raw->flow_limit == Config{}.flow_limit);
}

TEST_CASE("config: comments", "[config]") {
  TempDir dir;
  const std::string file = dir.Write("c.conf", R"(
  ; indented comment
# hash comment
[log]   # after a header
level = debug;notacomment
file = a.log # trailing hash comment
[openflow]
flows = my flows.txt ; a value with a space survives
)");
  // ';' not preceded by whitespace belongs to the value (and makes it invalid).
  const std::string msg = ErrorOf({"--config", file});
  CHECK(msg.find("'debug;notacomment'") != std::string::npos);

  const std::string ok = dir.Write("d.conf", R"([log]
level = debug ; fine
file = a.log # trailing hash comment
[openflow]
flows = my flows.txt ; a value with a space survives
)");
  const auto cfg2 = Load({"--config", ok});
  CHECK(cfg2->log_level == "debug");
  CHECK(cfg2->log_file == "a.log");
  CHECK(cfg2->flows_file == "my flows.txt");
}

TEST_CASE("config: unknown section, key and option are named", "[config][errors]") {
  TempDir dir;
  std::string msg = ErrorOf({"--config", WithExtra(dir, "[datapath]\n\nemc-entrys = 8\n")});
  CHECK(msg.find("unknown key 'datapath.emc-entrys'") != std::string::npos);
  CHECK(msg.find(dir / "x.conf:3") != std::string::npos);
  CHECK(msg.find("did you mean 'datapath.emc-entries'") != std::string::npos);

  msg = ErrorOf({"--config", WithExtra(dir, "[dataplane]\nflow-limit = 1\n")});
  CHECK(msg.find("unknown section [dataplane]") != std::string::npos);
  CHECK(msg.find("x.conf:1") != std::string::npos);

  msg = ErrorOf({"--config", WithExtra(dir, "flow-limit = 1\n")});
  CHECK(msg.find("'flow-limit'") != std::string::npos);
  CHECK(msg.find("outside any [section]") != std::string::npos);

  msg = ErrorOf({"--datapath.emc-entrys", "8"});
  CHECK(msg.find("unknown option '--datapath.emc-entrys") != std::string::npos);
  CHECK(msg.find("datapath.emc-entries") != std::string::npos);

  msg = ErrorOf({"--bogus"});
  CHECK(msg.find("unknown option '--bogus'") != std::string::npos);

  // No prefix guessing: --datapath.emc is not --datapath.emc-entries.
  CHECK(ErrorOf({"--datapath.emc", "8"}).find("unknown option") != std::string::npos);

  msg = ErrorOf({"stray"});
  CHECK(msg.find("unexpected argument 'stray'") != std::string::npos);

  msg = ErrorOf({"--datapath.flow-limit"});
  CHECK(msg.find("'--datapath.flow-limit' needs a value") != std::string::npos);
}

TEST_CASE("config: port errors name the port and key", "[config][errors]") {
  TempDir dir;
  std::string msg =
      ErrorOf({"--config", WithExtra(dir, "[port.p0]\ndevarg = net_null0\nofport = 1\n")});
  CHECK(msg.find("unknown key 'devarg' for port 'p0'") != std::string::npos);
  CHECK(msg.find("x.conf:2") != std::string::npos);
  CHECK(msg.find("did you mean 'devargs'") != std::string::npos);

  msg = ErrorOf({"--port.p0.colour", "red"});
  CHECK(msg.find("unknown key 'colour' for port 'p0'") != std::string::npos);
  CHECK(msg.find("on the command line") != std::string::npos);

  msg = ErrorOf({"--config", WithExtra(dir, "[port.p0]\nofport = 1\n")});
  CHECK(msg.find("port 'p0'") != std::string::npos);
  CHECK(msg.find("no devargs") != std::string::npos);

  msg = ErrorOf({"--config", WithExtra(dir, "[port.lonely]\n")});  // empty section
  CHECK(msg.find("port 'lonely'") != std::string::npos);
  CHECK(msg.find("no devargs") != std::string::npos);

  msg = ErrorOf({"--port.p9.devargs", "net_null0"});
  CHECK(msg.find("port 'p9'") != std::string::npos);
  CHECK(msg.find("no ofport") != std::string::npos);

  msg = ErrorOf({"--config", WithExtra(dir,
                                       "[port.a]\ndevargs = net_null0\nofport = 5\n"
                                       "[port.b]\ndevargs = net_null1\nofport = 5\n")});
  CHECK(msg.find("duplicate ofport 5") != std::string::npos);
  CHECK(msg.find("'a'") != std::string::npos);
  CHECK(msg.find("'b'") != std::string::npos);

  // A command-line ofport can create the clash too.
  msg = ErrorOf({"--config", WithExtra(dir, "[port.a]\ndevargs = net_null0\nofport = 5\n"),
                 "--port.b.devargs", "net_null1", "--port.b.ofport", "5"});
  CHECK(msg.find("duplicate ofport 5") != std::string::npos);

  for (const std::string bad : {"0", "65280", "-1", "x"}) {
    msg = ErrorOf({"--port.p0.devargs", "net_null0", "--port.p0.ofport", bad});
    INFO(bad);
    CHECK(msg.find("for 'port.p0.ofport'") != std::string::npos);
    CHECK(msg.find("between 1 and 65279") != std::string::npos);
  }
  CHECK(Load({"--port.p0.devargs", "net_null0", "--port.p0.ofport", "65279"})->ports[0].ofport ==
        65279);

  msg = ErrorOf(
      {"--port.p0.devargs", "net_null0", "--port.p0.ofport", "1", "--port.p0.type", "vhost"});
  CHECK(msg.find("'port.p0.type'") != std::string::npos);
  CHECK(msg.find("unknown port type") != std::string::npos);

  msg = ErrorOf({"--port.p0.devargs", "net_null0", "--port.p0.ofport", "1", "--port.p0.rxq", "0"});
  CHECK(msg.find("'port.p0.rxq'") != std::string::npos);

  msg = ErrorOf({"--config", WithExtra(dir, "[port.bad name]\ndevargs = x\n")});
  CHECK(msg.find("invalid port name 'bad name'") != std::string::npos);
}

TEST_CASE("config: vhost-user ports take socket and queues; rxq follows queues", "[config]") {
  TempDir dir;
  const auto cfg = Load({"--config", WithExtra(dir,
                                               "[port.vm1]\ntype = dpdkvhostuser\n"
                                               "socket = /run/vm1.sock\nofport = 1\n"
                                               "[port.vm2]\ntype = dpdkvhostuserclient\n"
                                               "socket = /run/vm2.sock\nqueues = 4\n"
                                               "mtu = 9000\nofport = 2\n")});
  REQUIRE(cfg);
  REQUIRE(cfg->ports.size() == 2);
  const auto& vm1 = cfg->ports[0].name == "vm1" ? cfg->ports[0] : cfg->ports[1];
  const auto& vm2 = cfg->ports[0].name == "vm1" ? cfg->ports[1] : cfg->ports[0];
  CHECK(vm1.type == "dpdkvhostuser");
  CHECK(vm1.socket == "/run/vm1.sock");
  CHECK(vm1.queues == 1);
  CHECK(vm1.rxq == 1);
  CHECK(vm1.devargs.empty());
  CHECK(vm2.type == "dpdkvhostuserclient");
  CHECK(vm2.queues == 4);
  CHECK(vm2.rxq == 4);  // one rx queue per queue pair
  CHECK(vm2.mtu == 9000);

  // The same from the command line.
  const auto cli = Load({"--port.v.type", "dpdkvhostuser", "--port.v.socket", "/tmp/v.sock",
                         "--port.v.queues", "2", "--port.v.ofport", "7"});
  REQUIRE(cli);
  CHECK(cli->ports[0].rxq == 2);
  CHECK(cli->ports[0].socket == "/tmp/v.sock");

  // mtu applies to dpdk ports too; 0 is the device default.
  CHECK(Load({"--port.p.devargs", "net_null0", "--port.p.ofport", "1", "--port.p.mtu", "0"})
            ->ports[0]
            .mtu == 0);
}

TEST_CASE("config: vhost-user port errors", "[config][errors]") {
  TempDir dir;
  auto has = [](const std::string& msg, const std::string& part) {
    INFO(msg);
    return msg.find(part) != std::string::npos;
  };
  // No socket.
  std::string msg =
      ErrorOf({"--config", WithExtra(dir, "[port.vm]\ntype = dpdkvhostuser\nofport = 1\n")});
  CHECK(has(msg, "port 'vm'"));
  CHECK(has(msg, "has no socket"));
  CHECK(has(msg, "x.conf"));
  msg = ErrorOf({"--port.vm.type", "dpdkvhostuserclient", "--port.vm.ofport", "1"});
  CHECK(has(msg, "has no socket"));
  CHECK(has(msg, "--port.vm.socket"));

  // devargs on a vhost port.
  msg = ErrorOf({"--port.vm.type", "dpdkvhostuser", "--port.vm.socket", "/s", "--port.vm.devargs",
                 "net_vhost0,iface=/s", "--port.vm.ofport", "1"});
  CHECK(has(msg, "port 'vm'"));
  CHECK(has(msg, "not devargs"));

  // rxq on a vhost port: queues decides.
  msg = ErrorOf({"--port.vm.type", "dpdkvhostuser", "--port.vm.socket", "/s", "--port.vm.rxq", "2",
                 "--port.vm.ofport", "1"});
  CHECK(has(msg, "set queues, not rxq"));

  // socket or queues on a dpdk port.
  msg = ErrorOf({"--port.p.devargs", "net_null0", "--port.p.socket", "/s", "--port.p.ofport", "1"});
  CHECK(has(msg, "port 'p'"));
  CHECK(has(msg, "socket and queues are for vhost-user ports"));
  msg = ErrorOf(
      {"--config", WithExtra(dir, "[port.p]\ndevargs = net_null0\nqueues = 2\nofport = 1\n")});
  CHECK(has(msg, "socket and queues are for vhost-user ports"));

  // Bad values.
  msg = ErrorOf(
      {"--port.vm.type", "dpdkvhostuser", "--port.vm.socket", "", "--port.vm.ofport", "1"});
  CHECK(has(msg, "'port.vm.socket'"));
  for (const std::string bad : {"0", "33", "x"}) {
    msg = ErrorOf({"--port.vm.type", "dpdkvhostuser", "--port.vm.socket", "/s",
                   "--port.vm.queues", bad, "--port.vm.ofport", "1"});
    INFO(bad);
    CHECK(has(msg, "'port.vm.queues'"));
  }
  for (const std::string bad : {"67", "9711", "-1", "x", "1500x"}) {
    msg = ErrorOf({"--port.p.devargs", "net_null0", "--port.p.mtu", bad, "--port.p.ofport", "1"});
    INFO(bad);
    CHECK(has(msg, "'port.p.mtu'"));
    CHECK(has(msg, "between 68 and 9710"));
  }
  CHECK(Load({"--port.p.devargs", "net_null0", "--port.p.mtu", "9710", "--port.p.ofport", "1"})
            ->ports[0]
            .mtu == 9710);
  CHECK(Load({"--port.p.devargs", "net_null0", "--port.p.mtu", "68", "--port.p.ofport", "1"})
            ->ports[0]
            .mtu == 68);
}

TEST_CASE("config: FormatConfig round-trips vhost-user ports", "[config]") {
  TempDir dir;
  const auto cfg = Load({"--config", WithExtra(dir,
                                               "[port.vm1]\ntype = dpdkvhostuser\n"
                                               "socket = /run/vm1.sock\nqueues = 2\nofport = 1\n"
                                               "[port.vm2]\ntype = dpdkvhostuserclient\n"
                                               "socket = /run/vm2.sock\nmtu = 9000\nofport = 2\n"
                                               "[port.nic]\ndevargs = net_null0\nrxq = 3\n"
                                               "ofport = 3\n")});
  REQUIRE(cfg);
  const std::string text = FormatConfig(*cfg);
  CHECK(text.find("[port.vm1]\ntype = dpdkvhostuser\nsocket = /run/vm1.sock\nqueues = 2\n") !=
        std::string::npos);
  CHECK(text.find("devargs = \n") == std::string::npos);  // not printed for vhost ports
  const std::string out = dir.Write("out.conf", text);
  auto back = Load({"--config", out});
  REQUIRE(back);
  back->config_file = cfg->config_file;
  CHECK(*back == *cfg);
  CHECK(FormatConfig(*back) == text);
}

TEST_CASE("config: bad values name the key, the value and the rule", "[config][errors]") {
  struct Case {
    std::string key, value, rule;
  };
  const std::vector<Case> cases = {
      {"datapath.emc-entries", "1000", "power of two between 2 and 1048576"},
      {"datapath.emc-entries", "1", "power of two"},
      {"datapath.emc-entries", "2097152", "power of two"},
      {"datapath.emc-insert-inv-prob", "-1", "integer"},
      {"datapath.handler-threads", "0", "between 1 and 64"},
      {"datapath.handler-threads", "65", "between 1 and 64"},
      {"datapath.flow-limit", "0", "between 1 and"},
      {"datapath.flow-limit", "1e6", "integer"},
      {"datapath.flow-limit", "99999999999", "integer"},
      {"datapath.mbufs", "lots", "integer"},
      {"datapath.mbuf-size", "100", "between 256 and 65535"},
      {"datapath.mbuf-size", "65536", "between 256 and 65535"},
      {"datapath.upcall-ring-size", "1000", "power of two"},
      {"datapath.pmd-cores", "2-1", "backwards"},
      {"datapath.pmd-cores", "1,,2", "lcore ids"},
      {"datapath.pmd-cores", "1,1", "twice"},
      {"datapath.pmd-cores", "x", "lcore ids"},
      {"control.interactive", "maybe", "true/false"},
      {"log.level", "verbose", "trace, debug, info"},
  };
  for (const auto& c : cases) {
    INFO(c.key << " = " << c.value);
    const std::string msg = ErrorOf({"--" + c.key, c.value});
    CHECK(msg.find("invalid value '" + c.value + "' for '" + c.key + "' on the command line") !=
          std::string::npos);
    CHECK(msg.find(c.rule) != std::string::npos);
  }
  // The same from a file names the file and line.
  TempDir dir;
  const std::string msg =
      ErrorOf({"--config", dir.Write("v.conf", "[log]\nfile = x\n[datapath]\nemc-entries = 3\n")});
  CHECK(msg.find("'datapath.emc-entries' in " + (dir / "v.conf") + ":4") != std::string::npos);
}

TEST_CASE("config: file-level errors", "[config][errors]") {
  TempDir dir;
  std::string msg = ErrorOf({"--config", dir / "nope.conf"});
  CHECK(msg.find("config file '" + (dir / "nope.conf") + "' not found") != std::string::npos);

  msg = ErrorOf({"--config", WithExtra(dir, "[datapath]\nflow-limit = 1\nflow-limit = 2\n")});
  CHECK(msg.find("'datapath.flow-limit' set twice") != std::string::npos);
  CHECK(msg.find("x.conf:3") != std::string::npos);

  msg = ErrorOf({"--config", WithExtra(dir, "[datapath]\njust words\n")});
  CHECK(msg.find("x.conf:2") != std::string::npos);
  CHECK(msg.find("key = value") != std::string::npos);

  msg = ErrorOf({"--config", WithExtra(dir, "[datapath\n")});
  CHECK(msg.find("malformed section header") != std::string::npos);
}

TEST_CASE("config: --help prints every key and returns nullopt", "[config]") {
  std::ostringstream captured;
  auto* old = std::cout.rdbuf(captured.rdbuf());
  std::optional<Config> cfg;
  try {
    cfg = Load({"--help"});
  } catch (...) {
    std::cout.rdbuf(old);
    throw;
  }
  std::cout.rdbuf(old);
  CHECK_FALSE(cfg);
  const std::string text = captured.str();
  for (const char* key : {"dpdk.eal-args",
                          "datapath.pmd-cores",
                          "datapath.handler-threads",
                          "datapath.emc-entries",
                          "datapath.emc-insert-inv-prob",
                          "datapath.flow-limit",
                          "datapath.mbufs",
                          "datapath.upcall-ring-size",
                          "openflow.flows",
                          "control.socket",
                          "control.interactive",
                          "log.level",
                          "log.file",
                          "port.NAME.type",
                          "port.NAME.devargs",
                          "port.NAME.ofport",
                          "port.NAME.rxq",
                          "port.NAME.rxd",
                          "port.NAME.txd",
                          "classifier.priority-sorting",
                          "classifier.staged-lookup",
                          "classifier.port-tracking",
                          "classifier.partitioning",
                          "classifier.prefixes",
                          "[table.N]",
                          "--table.N.KEY",
                          "--config",
                          "-i"}) {
    INFO(key);
    CHECK(text.find(key) != std::string::npos);
  }
  CHECK(text.find("8192") != std::string::npos);  // defaults are shown
  CHECK(text.find("nw_src,nw_dst,ipv6_src,ipv6_dst") != std::string::npos);
  CHECK(text == ConfigUsage());
}

TEST_CASE("config: FormatConfig round-trips through LoadConfig", "[config]") {
  TempDir dir;
  const auto cfg =
      Load({"--config", dir.Write("in.conf", kContractIni), "--datapath.pmd-cores", "2,4-5", "-i",
            "--classifier.staged-lookup", "off", "--classifier.prefixes", "ipv6_dst,nw_src",
            "--table.3.prefixes", "none", "--table.200.partitioning", "no", "--", "--no-huge"});
  REQUIRE(cfg);
  REQUIRE(cfg->tables.size() == 2);
  CHECK(FormatConfig(*cfg).find("[classifier]\npriority-sorting = true\nstaged-lookup = false\n") !=
        std::string::npos);
  CHECK(FormatConfig(*cfg).find("[table.200]\n") != std::string::npos);
  const std::string out = dir.Write("out.conf", FormatConfig(*cfg));
  auto back = Load({"--config", out});
  REQUIRE(back);
  back->config_file = cfg->config_file;
  CHECK(*back == *cfg);
  CHECK(FormatConfig(*back) == FormatConfig(*cfg));
}

TEST_CASE("config: classifier options default to all on, default prefixes",
          "[config][classifier]") {
  const auto cfg = Load({});
  REQUIRE(cfg);
  CHECK(cfg->classifier == cls::OfClassifierOptions{});
  CHECK(cfg->classifier.priority_sorting);
  CHECK(cfg->classifier.staged_lookup);
  CHECK(cfg->classifier.port_tracking);
  CHECK(cfg->classifier.partitioning);
  CHECK(cfg->classifier.prefix_fields == std::vector<FieldId>{FieldId::kNwSrc, FieldId::kNwDst,
                                                              FieldId::kIpv6Src,
                                                              FieldId::kIpv6Dst});
  CHECK(cfg->tables.empty());
  // The shipped config documents the keys commented out: same defaults.
  const auto shipped = Load({"--config", DPSWITCH_SOURCE_DIR "/config/dpswitch.conf"});
  REQUIRE(shipped);
  CHECK(shipped->classifier == cls::OfClassifierOptions{});
  CHECK(shipped->tables.empty());
}

TEST_CASE("config: [classifier] sets every table, [table.N] overrides one",
          "[config][classifier]") {
  TempDir dir;
  // [table.2] comes before [classifier]: a table's options are [classifier]
  // plus its own keys whatever the order.
  const std::string file = dir.Write("t.conf", R"([table.2]
staged-lookup = on
[classifier]
priority-sorting = off
staged-lookup = no
port-tracking = 0
partitioning = FALSE
prefixes = nw_dst , ipv6_dst     ; blanks around commas are fine
[table.1]
prefixes = none
[table.254]
)");
  const auto cfg = Load({"--config", file});
  REQUIRE(cfg);
  cls::OfClassifierOptions all;
  all.priority_sorting = false;
  all.staged_lookup = false;
  all.port_tracking = false;
  all.partitioning = false;
  all.prefix_fields = {FieldId::kNwDst, FieldId::kIpv6Dst};
  CHECK(cfg->classifier == all);
  REQUIRE(cfg->tables.size() == 3);
  cls::OfClassifierOptions t1 = all;
  t1.prefix_fields.clear();
  CHECK(cfg->tables.at(1) == t1);
  cls::OfClassifierOptions t2 = all;
  t2.staged_lookup = true;
  CHECK(cfg->tables.at(2) == t2);
  CHECK(cfg->tables.at(254) == all);  // an empty section: the [classifier] values

  // The command line changes [classifier] under the file's table keys, and
  // adds tables of its own.
  const auto over = Load({"--config", file, "--classifier.port-tracking", "yes",
                          "--table.1.partitioning=on", "--table.9.prefixes", "nw_src"});
  REQUIRE(over);
  CHECK(over->classifier.port_tracking);
  CHECK(over->tables.at(1).port_tracking);
  CHECK(over->tables.at(1).partitioning);
  CHECK(over->tables.at(1).prefix_fields.empty());
  CHECK(over->tables.at(2).port_tracking);
  CHECK_FALSE(over->tables.at(2).partitioning);
  CHECK(over->tables.at(9).prefix_fields == std::vector<FieldId>{FieldId::kNwSrc});
  CHECK_FALSE(over->tables.at(9).priority_sorting);

  // A later table key wins over an earlier one (command line over file).
  CHECK(Load({"--config", file, "--table.1.prefixes", "ipv6_src"})->tables.at(1).prefix_fields ==
        std::vector<FieldId>{FieldId::kIpv6Src});
}

TEST_CASE("config: classifier errors name the key, the value and the line",
          "[config][classifier][errors]") {
  TempDir dir;
  std::string msg = ErrorOf({"--config", WithExtra(dir, "[classifier]\nprefix = nw_dst\n")});
  CHECK(msg.find("unknown key 'classifier.prefix'") != std::string::npos);
  CHECK(msg.find("x.conf:2") != std::string::npos);
  CHECK(msg.find("did you mean 'classifier.prefixes'") != std::string::npos);

  struct Case {
    std::string value, rule;
  };
  for (const auto& c : std::vector<Case>{{"nw_dts", "nw_dts"},
                                         {"tp_dst", "tp_dst"},
                                         {"nw_src,nw_src", "nw_src"},
                                         {"", "prefix fields or none"}}) {
    INFO(c.value);
    msg = ErrorOf({"--config", WithExtra(dir, "[log]\nlevel = info\n[classifier]\nprefixes = " +
                                                  c.value + "\n")});
    CHECK(msg.find("invalid value '" + c.value + "' for 'classifier.prefixes' in " +
                   (dir / "x.conf") + ":4") != std::string::npos);
    CHECK(msg.find(c.rule) != std::string::npos);
  }
  msg = ErrorOf({"--config", WithExtra(dir, "[table.3]\nstaged-lookup = maybe\n")});
  CHECK(msg.find("invalid value 'maybe' for 'table.3.staged-lookup' in " + (dir / "x.conf") +
                 ":2") != std::string::npos);
  CHECK(msg.find("on/off") != std::string::npos);
  msg = ErrorOf({"--classifier.partitioning", "2"});
  CHECK(msg.find("invalid value '2' for 'classifier.partitioning' on the command line") !=
        std::string::npos);

  // Table numbers: 0-254, decimal.
  for (const std::string bad : {"255", "x", "-1", "1000", ""}) {
    INFO(bad);
    msg = ErrorOf({"--config", WithExtra(dir, "[log]\n[table." + bad + "]\nprefixes = none\n")});
    CHECK(msg.find("invalid table number '" + bad + "'") != std::string::npos);
    CHECK(msg.find("x.conf:2") != std::string::npos);
    CHECK(msg.find("0-254") != std::string::npos);
  }
  CHECK(Load({"--config", WithExtra(dir, "[table.0]\n[table.254]\n")})->tables.size() == 2);
  msg = ErrorOf({"--table.255.prefixes", "none"});
  CHECK(msg.find("invalid table number '255' on the command line") != std::string::npos);

  // Unknown keys in a table section, as for ports.
  msg = ErrorOf({"--config", WithExtra(dir, "[table.1]\nprefix = nw_dst\n")});
  CHECK(msg.find("unknown key 'prefix' for table 1") != std::string::npos);
  CHECK(msg.find("x.conf:2") != std::string::npos);
  CHECK(msg.find("did you mean 'prefixes'") != std::string::npos);
  CHECK(msg.find("table keys are priority-sorting, staged-lookup, port-tracking, partitioning, "
                 "prefixes") != std::string::npos);
  msg = ErrorOf({"--table.1.colour", "red"});
  CHECK(msg.find("unknown key 'colour' for table 1 on the command line") != std::string::npos);
  msg = ErrorOf({"--table.1", "x"});
  CHECK(msg.find("must look like table.N.KEY") != std::string::npos);
  msg = ErrorOf({"--classifier.prefixs", "none"});
  CHECK(msg.find("unknown option '--classifier.prefixs") != std::string::npos);
  CHECK(msg.find("did you mean 'classifier.prefixes'") != std::string::npos);

  // The unknown-section message lists the new sections.
  msg = ErrorOf({"--config", WithExtra(dir, "[clasifier]\n")});
  CHECK(msg.find("did you mean 'classifier'") != std::string::npos);
  CHECK(msg.find("[table.N]") != std::string::npos);
}

TEST_CASE("config: ParseCoreList", "[config]") {
  CHECK(ParseCoreList("1", "k") == std::vector<unsigned>{1});
  CHECK(ParseCoreList("1,2", "k") == std::vector<unsigned>{1, 2});
  CHECK(ParseCoreList("1-3", "k") == std::vector<unsigned>{1, 2, 3});
  CHECK(ParseCoreList(" 7 , 2-3 ", "k") == std::vector<unsigned>{7, 2, 3});
  for (const char* bad : {"", ",", "1,", "-1", "1-", "a", "3-1", "1,1", "2000", "1 2"}) {
    INFO(bad);
    try {
      ParseCoreList(bad, "datapath.pmd-cores");
      FAIL("no error");
    } catch (const ConfigError& e) {
      CHECK(std::string(e.what()).find("'datapath.pmd-cores'") != std::string::npos);
    }
  }
}

}  // namespace
}  // namespace dpswitch::control
