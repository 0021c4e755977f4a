// SPDX-License-Identifier: BSD-3-Clause
// Configuration loading.
//
// Two sources give SECTION.KEY = VALUE settings: the INI file and the command
// line. Both are collected as ordered lists of (key, value, where) first and
// only then applied to a Config, file before command line, so the command line
// overrides the file key by key, and every error can say where the offending
// setting came from ("in config/x.conf:12" or "on the command line").
//
// Boost.Program_options reads both sources; the fixed keys are registered (and
// --help is printed from that registration), [port.NAME] and [table.N] keys
// are dynamic and arrive as "unregistered" options that we validate
// ourselves. [classifier] and [table.N] keys are the classifier option table
// of control/classifier_config.h; a table's options are computed once all
// settings are in ([classifier] values, then the table's own keys on top). Two things
// Boost does not do are done here:
//   - INI inline comments: Boost strips '#' but not ';', and rejects a line
//     that starts with ';'. A pre-pass drops comment lines and cuts a trailing
//     " ;..." or " #..." (a comment starts at ';' or '#' preceded by
//     whitespace; devargs contain ',' and '=' but never ';'). The same pass
//     records the line of every section and key for error messages.
//   - "--SECTION.KEY VALUE" where VALUE starts with '-' (eal-args "-l 0-1"):
//     a pre-pass rewrites every dotted option to "--SECTION.KEY=VALUE", which
//     also lets unregistered port options carry their value.
//
// Paths are kept exactly as written: relative paths stay relative to the
// working directory of the daemon.

#include "control/config.h"

#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string_view>

#include <boost/program_options.hpp>

#include "control/classifier_config.h"
#include "control/config_values.h"

namespace dpswitch::control {
namespace {

using namespace config_values;  // BadValue and the value parsers

namespace po = boost::program_options;

// Largest values accepted; chosen as sane upper bounds, not hard limits of
// the datapath.
constexpr uint32_t kMaxEmcEntries = 1u << 20;
constexpr uint32_t kMaxUpcallRing = 1u << 28;  // rte_ring's size limit is 2^31-1
constexpr unsigned kMaxHandlerThreads = 64;
constexpr uint32_t kMaxOfport = 0xfeff;  // OFPP_MAX
constexpr uint16_t kMaxRxq = 1024;       // RTE_MAX_QUEUES_PER_PORT
constexpr uint16_t kMaxDesc = 32768;
constexpr unsigned kHelpColumns = 100;  // --help line width
constexpr std::string_view kPortPrefix = "port.";
constexpr std::string_view kTablePrefix = "table.";
constexpr std::string_view kClassifierPrefix = "classifier.";
constexpr unsigned kMaxTable = 254;  // OpenFlow tables 0..254 (255 is OFPTT_ALL)
// Stands in for an empty command-line value while Boost parses ("--log.file ''"
// means "log to stderr"); a control character no real value contains.
constexpr const char* kEmptyValue = "\x1f";
constexpr std::array<std::string_view, 3> kPortTypes = {kPortTypeDpdk, kPortTypeVhostServer,
                                                         kPortTypeVhostClient};
constexpr uint64_t kMaxVhostQueues = 32;
constexpr uint64_t kMinMtu = 68, kMaxMtu = 9710;  // RFC 791 minimum; vhost's jumbo maximum

bool IsVhost(const PortConfig& p) { return p.type != kPortTypeDpdk; }
constexpr std::array<std::string_view, 6> kSections = {"dpdk",    "datapath", "openflow",
                                                       "control", "log",      "classifier"};

// One SECTION.KEY = VALUE from either source.
struct Setting {
  std::string key;    // "datapath.emc-entries", "port.p0.devargs"
  std::string value;  // as written, trimmed
  std::string where;  // "in FILE:LINE" / "on the command line"
};

// --- The fixed keys ---------------------------------------------------------

struct GlobalKey {
  const char* key;                                 // SECTION.KEY
  const char* arg;                                 // value name in --help
  const char* help;                                // one line for --help
  void (*apply)(Config& c, const std::string& v);  // throws BadValue
  std::string (*show)(const Config& c);            // value as FormatConfig writes it
};

const GlobalKey kGlobalKeys[] = {
    {"dpdk.eal-args", "ARGS", "DPDK EAL arguments, split on spaces (more may follow a bare --)",
     [](Config& c, const std::string& v) { c.eal_args = SplitSpaces(v); },
     [](const Config& c) { return Join(c.eal_args, " "); }},
    {"datapath.pmd-cores", "LIST",
     "lcores running PMD threads: \"1\", \"1,2\", \"1-3\" "
     "(empty: chosen by the switch)",
     [](Config& c, const std::string& v) {
       c.pmd_cores = v.empty() ? std::vector<unsigned>{} : CoreList(v);
     },
     [](const Config& c) {
       std::vector<std::string> s;
       for (unsigned core : c.pmd_cores) s.push_back(std::to_string(core));
       return Join(s, ",");
     }},
    {"datapath.handler-threads", "N", "upcall handler threads (1-64)",
     [](Config& c, const std::string& v) {
       c.handler_threads = static_cast<unsigned>(ParseRange(v, 1, kMaxHandlerThreads));
     },
     [](const Config& c) { return std::to_string(c.handler_threads); }},
    {"datapath.emc-entries", "N", "exact-match cache entries per PMD (power of two, 2-1048576)",
     [](Config& c, const std::string& v) { c.emc_entries = ParsePowerOfTwo(v, 2, kMaxEmcEntries); },
     [](const Config& c) { return std::to_string(c.emc_entries); }},
    {"datapath.emc-insert-inv-prob", "N", "insert 1 in N misses into the EMC (0: never insert)",
     [](Config& c, const std::string& v) {
       c.emc_insert_inv_prob = static_cast<uint32_t>(ParseRange(v, 0, UINT32_MAX));
     },
     [](const Config& c) { return std::to_string(c.emc_insert_inv_prob); }},
    {"datapath.flow-limit", "N",
     "ceiling of the megaflow count (the limit in force adapts below it to "
     "how long revalidation takes)",
     [](Config& c, const std::string& v) {
       c.flow_limit = static_cast<uint32_t>(ParseRange(v, 1, UINT32_MAX));
     },
     [](const Config& c) { return std::to_string(c.flow_limit); }},
    {"datapath.revalidator-threads", "N", "revalidator threads (1-16)",
     [](Config& c, const std::string& v) {
       c.revalidator_threads = static_cast<unsigned>(ParseRange(v, 1, 16));
     },
     [](const Config& c) { return std::to_string(c.revalidator_threads); }},
    {"datapath.max-idle", "MS", "delete megaflows unused for this many milliseconds (10-86400000)",
     [](Config& c, const std::string& v) {
       c.max_idle_ms = static_cast<uint32_t>(ParseRange(v, 10, 86400000));
     },
     [](const Config& c) { return std::to_string(c.max_idle_ms); }},
    {"datapath.revalidate-interval", "MS",
     "revalidation round period in milliseconds (10-10000); OpenFlow changes start a round at "
     "once",
     [](Config& c, const std::string& v) {
       c.revalidate_interval_ms = static_cast<uint32_t>(ParseRange(v, 10, 10000));
     },
     [](const Config& c) { return std::to_string(c.revalidate_interval_ms); }},
    {"datapath.mbufs", "N", "mbufs in the packet pool (0: computed from the ports)",
     [](Config& c, const std::string& v) {
       c.mbufs = static_cast<uint32_t>(ParseRange(v, 0, UINT32_MAX));
     },
     [](const Config& c) { return std::to_string(c.mbufs); }},
    {"datapath.mbuf-size", "BYTES",
     "packet buffer data room incl. 128 B headroom "
     "(0: sized per NUMA socket for the largest port MTU there, 2176 for MTU 1500; "
     "256 suits 64 B benchmarks; smaller than a frame means chained buffers)",
     [](Config& c, const std::string& v) {
       const auto size = ParseU64(v);
       if (!size || (*size != 0 && (*size < 256 || *size > 65535))) {
         throw BadValue{"expected 0 (DPDK default) or a size between 256 and 65535 bytes"};
       }
       c.mbuf_size = static_cast<uint32_t>(*size);
     },
     [](const Config& c) { return std::to_string(c.mbuf_size); }},
    {"datapath.upcall-ring-size", "N", "upcall ring entries (power of two)",
     [](Config& c, const std::string& v) {
       c.upcall_ring_size = ParsePowerOfTwo(v, 2, kMaxUpcallRing);
     },
     [](const Config& c) { return std::to_string(c.upcall_ring_size); }},
    {"openflow.flows", "FILE", "flow file, ovs-ofctl syntax, one flow per line (empty: none)",
     [](Config& c, const std::string& v) { c.flows_file = v; },
     [](const Config& c) { return c.flows_file; }},
    {"control.socket", "PATH", "control socket for dpswitch-ctl (empty: none)",
     [](Config& c, const std::string& v) { c.control_socket = v; },
     [](const Config& c) { return c.control_socket; }},
    {"control.interactive", "BOOL", "run the interactive console (same as -i)",
     [](Config& c, const std::string& v) { c.interactive = ParseBool(v); },
     [](const Config& c) { return std::string(c.interactive ? "true" : "false"); }},
    {"log.level", "LEVEL", "trace, debug, info, warn, error, critical or off",
     [](Config& c, const std::string& v) { c.log_level = CanonicalLogLevel(v); },
     [](const Config& c) { return c.log_level; }},
    {"log.file", "FILE", "log file (empty: stderr)",
     [](Config& c, const std::string& v) { c.log_file = v; },
     [](const Config& c) { return c.log_file; }},
};

struct PortKey {
  const char* key;
  const char* arg;
  const char* help;
  void (*apply)(PortConfig& p, const std::string& v);
  std::string (*show)(const PortConfig& p);
};

const PortKey kPortKeys[] = {
    {"type", "TYPE",
     "port type: dpdk (any DPDK device, by devargs), dpdkvhostuser (vhost-user server: "
     "dpswitch creates socket) or dpdkvhostuserclient (QEMU creates socket; dpswitch connects "
     "and reconnects)",
     [](PortConfig& p, const std::string& v) {
       if (std::find(kPortTypes.begin(), kPortTypes.end(), v) == kPortTypes.end()) {
         throw BadValue{"unknown port type (supported: dpdk, dpdkvhostuser, dpdkvhostuserclient)"};
       }
       p.type = v;
     },
     [](const PortConfig& p) { return p.type; }},
    {"devargs", "ARGS",
     "dpdk ports: a vdev string (net_pcap0,rx_pcap=in.pcap) or a PCI address",
     [](PortConfig& p, const std::string& v) {
       if (v.empty()) throw BadValue{"devargs must not be empty"};
       p.devargs = v;
     },
     [](const PortConfig& p) { return p.devargs; }},
    {"socket", "PATH", "vhost-user ports: the unix socket path",
     [](PortConfig& p, const std::string& v) {
       if (v.empty()) throw BadValue{"socket must not be empty"};
       p.socket = v;
     },
     [](const PortConfig& p) { return p.socket; }},
    {"queues", "N", "vhost-user ports: queue pairs, each an rx queue on a PMD (1-32)",
     [](PortConfig& p, const std::string& v) {
       p.queues = static_cast<uint16_t>(ParseRange(v, 1, kMaxVhostQueues));
     },
     [](const PortConfig& p) { return std::to_string(p.queues); }},
    {"mtu", "BYTES", "MTU set on the device (68-9710; 0: the device's default)",
     [](PortConfig& p, const std::string& v) {
       const auto mtu = ParseU64(v);
       if (!mtu || (*mtu != 0 && (*mtu < kMinMtu || *mtu > kMaxMtu))) {
         throw BadValue{"expected 0 (device default) or an MTU between 68 and 9710"};
       }
       p.mtu = static_cast<uint16_t>(*mtu);
     },
     [](const PortConfig& p) { return std::to_string(p.mtu); }},
    {"ofport", "N", "OpenFlow port number, unique (1-65279), required",
     [](PortConfig& p, const std::string& v) {
       p.ofport = static_cast<uint32_t>(ParseRange(v, 1, kMaxOfport));
     },
     [](const PortConfig& p) { return std::to_string(p.ofport); }},
    {"rxq", "N", "rx queues (1-1024)",
     [](PortConfig& p, const std::string& v) {
       p.rxq = static_cast<uint16_t>(ParseRange(v, 1, kMaxRxq));
     },
     [](const PortConfig& p) { return std::to_string(p.rxq); }},
    {"rxd", "N", "rx descriptors per queue (1-32768)",
     [](PortConfig& p, const std::string& v) {
       p.rxd = static_cast<uint16_t>(ParseRange(v, 1, kMaxDesc));
     },
     [](const PortConfig& p) { return std::to_string(p.rxd); }},
    {"txd", "N", "tx descriptors per queue (1-32768)",
     [](PortConfig& p, const std::string& v) {
       p.txd = static_cast<uint16_t>(ParseRange(v, 1, kMaxDesc));
     },
     [](const PortConfig& p) { return std::to_string(p.txd); }},
};

const GlobalKey* FindGlobal(std::string_view key) {
  for (const auto& k : kGlobalKeys) {
    if (key == k.key) return &k;
  }
  return nullptr;
}

const PortKey* FindPortKey(std::string_view key) {
  for (const auto& k : kPortKeys) {
    if (key == k.key) return &k;
  }
  return nullptr;
}

// Every fixed SECTION.KEY, [classifier] keys included (for suggestions).
std::vector<std::string> GlobalKeyNames() {
  std::vector<std::string> v;
  for (const auto& k : kGlobalKeys) v.push_back(k.key);
  for (const auto& name : ClassifierOptionNames())
    v.push_back(std::string(kClassifierPrefix) + name);
  return v;
}

std::vector<std::string> PortKeyNames() {
  std::vector<std::string> v;
  for (const auto& k : kPortKeys) v.push_back(k.key);
  return v;
}

bool ValidPortName(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
}

std::string InvalidTable(std::string_view text, const std::string& where) {
  return "invalid table number '" + std::string(text) + "' " + where + " (expected 0-" +
         std::to_string(kMaxTable) + ")";
}

// --- Per-table classifier options under construction ---------------------------

// The [table.N] keys as given, in order; applied on top of [classifier] once
// every setting is in.
class TableSet {
 public:
  void Touch(uint8_t table) { tables_[table]; }
  void Set(uint8_t table, const std::string& key, const std::string& value) {
    tables_[table].emplace_back(key, value);
  }
  void Finish(Config& config) const {
    for (const auto& [table, settings] : tables_) {
      cls::OfClassifierOptions options = config.classifier;
      // Already validated one by one in Apply.
      for (const auto& [key, value] : settings) SetClassifierOption(&options, key, value);
      config.tables[table] = options;
    }
  }

 private:
  std::map<uint8_t, std::vector<std::pair<std::string, std::string>>> tables_;
};

// --- Ports under construction -------------------------------------------------

struct PortBuild {
  PortConfig port;
  std::string where;  // where the port was first mentioned
  bool has_devargs = false;
  bool has_ofport = false;
  bool has_socket = false;
  bool has_queues = false;
  bool has_rxq = false;
};

class PortSet {
 public:
  PortBuild& Get(const std::string& name, const std::string& where) {
    auto it = index_.find(name);
    if (it != index_.end()) return ports_[it->second];
    if (!ValidPortName(name)) {
      throw ConfigError("invalid port name '" + name + "' " + where +
                        " (letters, digits, '_' and '-' only)");
    }
    index_.emplace(name, ports_.size());
    ports_.push_back(PortBuild{});
    ports_.back().port.name = name;
    ports_.back().where = where;
    return ports_.back();
  }
  std::vector<PortBuild>& all() { return ports_; }

 private:
  std::map<std::string, std::size_t> index_;  // name -> position in ports_
  std::vector<PortBuild> ports_;              // in order of first mention
};

// --- The INI file -------------------------------------------------------------

struct IniScan {
  std::string cleaned;                                // what Boost parses
  std::map<std::string, int> key_line;                // "section.key" -> line
  std::vector<std::pair<std::string, int>> sections;  // in file order
};

// Cuts a comment: ';' or '#' at the start or after whitespace.
std::string StripComment(const std::string& line) {
  for (std::size_t i = 0; i < line.size(); ++i) {
    if ((line[i] == ';' || line[i] == '#') &&
        (i == 0 || line[i - 1] == ' ' || line[i - 1] == '\t')) {
      return line.substr(0, i);
    }
  }
  return line;
}

IniScan ScanIni(std::istream& in, const std::string& file) {
  IniScan scan;
  std::string section;
  std::string raw;
  int lineno = 0;
  while (std::getline(in, raw)) {
    ++lineno;
    const std::string where = "in " + file + ":" + std::to_string(lineno);
    const std::string line = Trim(StripComment(raw));
    if (line.empty()) {
      scan.cleaned += "\n";
      continue;
    }
    if (line.front() == '[') {
      if (line.back() != ']') throw ConfigError("malformed section header '" + line + "' " + where);
      section = Trim(line.substr(1, line.size() - 2));
      const bool known = std::find(kSections.begin(), kSections.end(), section) != kSections.end();
      const bool table = section.rfind(kTablePrefix, 0) == 0;
      if (!known && !table && section.rfind(kPortPrefix, 0) != 0) {
        std::vector<std::string> names(kSections.begin(), kSections.end());
        throw ConfigError("unknown section [" + section + "] " + where + Suggest(section, names) +
                          "; sections are [dpdk], [datapath], [openflow], [classifier], "
                          "[control], [log], [table.N] and [port.NAME]");
      }
      if (table && !ParseTableId(section.substr(kTablePrefix.size()))) {
        throw ConfigError(InvalidTable(section.substr(kTablePrefix.size()), where));
      }
      if (!known && !table && !ValidPortName(section.substr(kPortPrefix.size()))) {
        throw ConfigError("invalid port name '" + section.substr(kPortPrefix.size()) + "' " +
                          where + " (letters, digits, '_' and '-' only)");
      }
      scan.sections.emplace_back(section, lineno);
      scan.cleaned += "[" + section + "]\n";
      continue;
    }
    const auto eq = line.find('=');
    if (eq == std::string::npos) {
      throw ConfigError("expected 'key = value' or '[section]' " + where + ", got '" + line + "'");
    }
    const std::string key = Trim(line.substr(0, eq));
    if (key.empty()) throw ConfigError("missing key before '=' " + where);
    if (section.empty()) {
      throw ConfigError("key '" + key + "' " + where + " is outside any [section]");
    }
    const std::string full = section + "." + key;
    if (!scan.key_line.emplace(full, lineno).second) {
      throw ConfigError("key '" + full + "' set twice " + where + " (first at line " +
                        std::to_string(scan.key_line[full]) + ")");
    }
    scan.cleaned += key + " = " + Trim(line.substr(eq + 1)) + "\n";
  }
  return scan;
}

po::options_description GlobalOptions() {
  po::options_description desc("Configuration keys ([SECTION] KEY = VALUE in the file)",
                               kHelpColumns, kHelpColumns / 2);
  const Config defaults;
  for (const auto& k : kGlobalKeys) {
    std::string shown = k.show(defaults);
    if (shown.empty()) shown = "\"\"";
    desc.add_options()(k.key, po::value<std::string>()->value_name(k.arg)->default_value(shown),
                       k.help);
  }
  return desc;
}

po::options_description ClassifierKeyOptions() {
  po::options_description desc(
      "Classifier keys ([classifier]: every OpenFlow table; [table.N], N = 0-254: one table)",
      kHelpColumns, kHelpColumns / 2);
  const cls::OfClassifierOptions defaults;
  for (const auto& info : ClassifierOptionInfos()) {
    const std::string name = std::string(kClassifierPrefix) + info.name;
    desc.add_options()(name.c_str(),
                       po::value<std::string>()->value_name(info.arg)->default_value(
                           ClassifierOptionValue(defaults, info.name)),
                       info.help);
  }
  return desc;
}

po::options_description PortOptions() {
  po::options_description desc("Port keys ([port.NAME] sections; NAME is letters, digits, _ and -)",
                               kHelpColumns, kHelpColumns / 2);
  const PortConfig defaults;
  for (const auto& k : kPortKeys) {
    const std::string name = std::string("port.NAME.") + k.key;
    auto* value = po::value<std::string>()->value_name(k.arg);
    const bool required =
        std::string_view(k.key) == "devargs" || std::string_view(k.key) == "ofport";
    if (!required) value->default_value(k.show(defaults));
    desc.add_options()(name.c_str(), value, k.help);
  }
  return desc;
}

std::vector<Setting> ReadFile(const std::string& file, PortSet& ports, TableSet& tables) {
  std::ifstream in(file);
  if (!in) throw ConfigError("cannot read config file '" + file + "'");
  IniScan scan = ScanIni(in, file);
  // Ports exist from their section header on, even with no keys, so that an
  // empty [port.p0] reports its missing devargs.
  for (const auto& [section, line] : scan.sections) {
    if (section.rfind(kPortPrefix, 0) == 0) {
      ports.Get(section.substr(kPortPrefix.size()), "in " + file + ":" + std::to_string(line));
    }
    if (section.rfind(kTablePrefix, 0) == 0) {
      tables.Touch(*ParseTableId(section.substr(kTablePrefix.size())));  // checked by ScanIni
    }
  }
  std::istringstream cleaned(scan.cleaned);
  po::parsed_options parsed(nullptr);
  try {
    parsed = po::parse_config_file(cleaned, GlobalOptions(), /*allow_unregistered=*/true);
  } catch (const po::error& e) {
    throw ConfigError(file + ": " + e.what());
  }
  std::vector<Setting> settings;
  for (const auto& opt : parsed.options) {
    const auto line = scan.key_line.find(opt.string_key);
    const std::string where =
        "in " + file + (line == scan.key_line.end() ? "" : ":" + std::to_string(line->second));
    settings.push_back({opt.string_key, opt.value.empty() ? "" : Trim(opt.value.front()), where});
  }
  return settings;
}

// --- The command line -----------------------------------------------------------

struct CommandLine {
  std::vector<Setting> settings;
  std::optional<std::string> config_file;
  bool interactive = false;
  bool help = false;
  std::vector<std::string> eal_args;  // after a bare --
};

CommandLine ParseCommandLine(int argc, const char* const argv[]) {
  CommandLine cl;
  const std::string where = "on the command line";
  std::vector<std::string> args;
  int i = 1;
  for (; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--") {
      ++i;
      break;
    }
    const auto eq = a.find('=');
    const bool dotted = a.rfind("--", 0) == 0 && (a.substr(0, eq).find('.') != std::string::npos ||
                                                  a.substr(0, eq) == "--config");
    if (dotted && eq == std::string::npos) {
      if (i + 1 >= argc || std::string_view(argv[i + 1]) == "--") {
        throw ConfigError("option '" + a + "' needs a value");
      }
      const std::string value = argv[++i];
      args.push_back(a + "=" + (value.empty() ? kEmptyValue : value));
    } else if (dotted && eq + 1 == a.size()) {
      args.push_back(a + kEmptyValue);  // "--log.file=": Boost refuses empty values
    } else {
      args.push_back(a);
    }
  }
  for (; i < argc; ++i) cl.eal_args.emplace_back(argv[i]);

  po::options_description desc;
  desc.add_options()("config", po::value<std::string>())("interactive,i", po::bool_switch())(
      "help,h", po::bool_switch());
  desc.add(GlobalOptions()).add(ClassifierKeyOptions());
  const int style = po::command_line_style::default_style & ~po::command_line_style::allow_guessing;
  po::parsed_options parsed(nullptr);
  try {
    parsed = po::command_line_parser(args).options(desc).style(style).allow_unregistered().run();
  } catch (const po::error& e) {
    throw ConfigError(std::string(e.what()) + " (see --help)");
  }
  for (const auto& opt : parsed.options) {
    std::string token = opt.original_tokens.empty() ? opt.string_key : opt.original_tokens[0];
    if (const auto at = token.find(kEmptyValue); at != std::string::npos) token.erase(at);
    if (opt.position_key >= 0 || opt.string_key.empty()) {
      throw ConfigError("unexpected argument '" + token + "' (EAL arguments go after --)");
    }
    const std::string& key = opt.string_key;
    std::string value = opt.value.empty() ? "" : opt.value.front();
    if (value == kEmptyValue) value.clear();
    if (key == "config") {
      cl.config_file = value;
    } else if (key == "interactive") {
      cl.interactive = true;
    } else if (key == "help") {
      cl.help = true;
    } else if (!opt.unregistered || key.rfind(kPortPrefix, 0) == 0 ||
               key.rfind(kTablePrefix, 0) == 0) {
      cl.settings.push_back({key, Trim(value), where});
    } else {
      const std::string name = key.rfind("--", 0) == 0 ? key.substr(2) : key;
      throw ConfigError("unknown option '" + token + "'" + Suggest(name, GlobalKeyNames()) +
                        " (see --help)");
    }
  }
  return cl;
}

// --- Applying -----------------------------------------------------------------

// A [classifier] or [table.N] key; returns false for any other key.
bool ApplyClassifier(Config& config, TableSet& tables, const Setting& s) {
  const auto set = [&](cls::OfClassifierOptions* options, const std::string& key) {
    try {
      SetClassifierOption(options, key, s.value);
    } catch (const std::invalid_argument& e) {
      throw ConfigError("invalid value '" + s.value + "' for '" + s.key + "' " + s.where + ": " +
                        e.what());
    }
  };
  if (s.key.rfind(kClassifierPrefix, 0) == 0) {
    const std::string key = s.key.substr(kClassifierPrefix.size());
    if (!IsClassifierOption(key)) {
      throw ConfigError("unknown key '" + s.key + "' " + s.where +
                        Suggest(s.key, GlobalKeyNames()));
    }
    set(&config.classifier, key);
    return true;
  }
  if (s.key.rfind(kTablePrefix, 0) != 0) return false;
  const auto dot = s.key.find('.', kTablePrefix.size());
  if (dot == std::string::npos) {
    throw ConfigError("table option '" + s.key + "' " + s.where + " must look like table.N.KEY");
  }
  const std::string number = s.key.substr(kTablePrefix.size(), dot - kTablePrefix.size());
  const std::string key = s.key.substr(dot + 1);
  const auto table = ParseTableId(number);
  if (!table) throw ConfigError(InvalidTable(number, s.where));
  if (!IsClassifierOption(key)) {
    throw ConfigError("unknown key '" + key + "' for table " + number + " " + s.where +
                      Suggest(key, ClassifierOptionNames()) + "; table keys are " +
                      Join(ClassifierOptionNames(), ", "));
  }
  cls::OfClassifierOptions scratch;  // validates now, applied by TableSet::Finish
  set(&scratch, key);
  tables.Set(*table, key, s.value);
  return true;
}

void Apply(Config& config, PortSet& ports, TableSet& tables, const Setting& s) {
  const auto bad = [&](const BadValue& e) {
    return ConfigError("invalid value '" + s.value + "' for '" + s.key + "' " + s.where + ": " +
                       e.reason);
  };
  if (ApplyClassifier(config, tables, s)) return;
  if (s.key.rfind(kPortPrefix, 0) == 0) {
    const auto dot = s.key.rfind('.');
    if (dot < kPortPrefix.size() + 1) {
      throw ConfigError("port option '" + s.key + "' " + s.where + " must look like port.NAME.KEY");
    }
    const std::string name = s.key.substr(kPortPrefix.size(), dot - kPortPrefix.size());
    const std::string key = s.key.substr(dot + 1);
    PortBuild& build = ports.Get(name, s.where);
    const PortKey* pk = FindPortKey(key);
    if (pk == nullptr) {
      throw ConfigError("unknown key '" + key + "' for port '" + name + "' " + s.where +
                        Suggest(key, PortKeyNames()) + "; port keys are " +
                        Join(PortKeyNames(), ", "));
    }
    try {
      pk->apply(build.port, s.value);
    } catch (const BadValue& e) {
      throw bad(e);
    }
    if (key == "devargs") build.has_devargs = true;
    if (key == "ofport") build.has_ofport = true;
    if (key == "socket") build.has_socket = true;
    if (key == "queues") build.has_queues = true;
    if (key == "rxq") build.has_rxq = true;
    return;
  }
  const GlobalKey* gk = FindGlobal(s.key);
  if (gk == nullptr) {
    throw ConfigError("unknown key '" + s.key + "' " + s.where + Suggest(s.key, GlobalKeyNames()));
  }
  try {
    gk->apply(config, s.value);
  } catch (const BadValue& e) {
    throw bad(e);
  }
}

void FinishPorts(Config& config, PortSet& ports) {
  std::map<uint32_t, std::string> by_ofport;
  for (auto& b : ports.all()) {
    const std::string& name = b.port.name;
    const std::string at = "port '" + name + "' (" + b.where + ")";
    if (IsVhost(b.port)) {
      if (!b.has_socket) {
        throw ConfigError(at + " of type " + b.port.type + " has no socket: set socket in [port." +
                          name + "] or --port." + name + ".socket");
      }
      if (b.has_devargs) {
        throw ConfigError(at + " of type " + b.port.type +
                          " takes socket and queues, not devargs (devargs are for type dpdk)");
      }
      if (b.has_rxq) {
        throw ConfigError(at + " of type " + b.port.type +
                          ": set queues, not rxq (each queue pair is one rx queue)");
      }
      b.port.rxq = b.port.queues;
    } else {
      if (b.has_socket || b.has_queues) {
        throw ConfigError(at + ": socket and queues are for vhost-user ports (type " +
                          kPortTypeVhostServer + " or " + kPortTypeVhostClient +
                          "); a dpdk port takes devargs and rxq");
      }
      if (!b.has_devargs) {
        throw ConfigError("port '" + name + "' (" + b.where +
                          ") has no devargs: set devargs in [port." + name + "] or --port." +
                          name + ".devargs");
      }
    }
    if (!b.has_ofport) {
      throw ConfigError("port '" + name + "' (" + b.where +
                        ") has no ofport: set ofport in [port." + name + "] or --port." + name +
                        ".ofport");
    }
    const auto [it, fresh] = by_ofport.emplace(b.port.ofport, name);
    if (!fresh) {
      throw ConfigError("duplicate ofport " + std::to_string(b.port.ofport) + ": ports '" +
                        it->second + "' and '" + name + "' both use it");
    }
    config.ports.push_back(b.port);
  }
}

}  // namespace

std::vector<unsigned> ParseCoreList(const std::string& text, const std::string& key) {
  try {
    return CoreList(text);
  } catch (const BadValue& e) {
    throw ConfigError("invalid value '" + text + "' for '" + key + "': " + e.reason);
  }
}

std::string ConfigUsage() {
  std::ostringstream out;
  out << "Usage: dpswitch [--config FILE] [-i] [--help] [--SECTION.KEY VALUE ...] [-- EAL-ARGS]\n"
         "\n"
         "  --config FILE   INI configuration (default: config/dpswitch.conf when it exists)\n"
         "  -i              run the interactive console (control.interactive = true)\n"
         "  --help          this text\n"
         "  -- EAL-ARGS     extra DPDK EAL arguments, appended to dpdk.eal-args\n"
         "\n"
         "Every key below is also an option --SECTION.KEY VALUE (or --SECTION.KEY=VALUE);\n"
         "the command line overrides the file. --port.NAME.KEY VALUE creates or changes a\n"
         "port; --table.N.KEY VALUE sets a classifier key of table N. Relative paths are\n"
         "relative to the working directory. In the file, ';' or '#' after whitespace starts\n"
         "a comment.\n"
         "\n"
      << GlobalOptions() << "\n"
      << ClassifierKeyOptions() << "\n"
      << PortOptions();
  std::string text = out.str();
  if (text.back() != '\n') text += '\n';
  return text;
}

std::string FormatConfig(const Config& config) {
  std::ostringstream out;
  std::string section;
  for (const auto& k : kGlobalKeys) {
    const std::string_view key(k.key);
    const auto dot = key.find('.');
    if (key.substr(0, dot) != section) {
      section = std::string(key.substr(0, dot));
      out << (out.tellp() > 0 ? "\n" : "") << "[" << section << "]\n";
    }
    const std::string value = k.show(config);
    out << key.substr(dot + 1) << (value.empty() ? " =" : " = ") << value << "\n";
  }
  const auto classifier = [&](const cls::OfClassifierOptions& options) {
    for (const auto& name : ClassifierOptionNames())
      out << name << " = " << ClassifierOptionValue(options, name) << "\n";
  };
  out << "\n[classifier]\n";
  classifier(config.classifier);
  for (const auto& [table, options] : config.tables) {
    out << "\n[table." << unsigned{table} << "]\n";
    classifier(options);
  }
  for (const auto& p : config.ports) {
    out << "\n[port." << p.name << "]\n";
    for (const auto& k : kPortKeys) {
      // Keys that do not apply to this type (devargs of a vhost port, socket
      // and queues of a dpdk port, rxq derived from queues) are left out, so
      // the text reads back.
      const std::string_view key = k.key;
      const bool vhost = IsVhost(p);
      if ((vhost && (key == "devargs" || key == "rxq")) ||
          (!vhost && (key == "socket" || key == "queues")))
        continue;
      out << k.key << " = " << k.show(p) << "\n";
    }
  }
  return out.str();
}

std::optional<Config> LoadConfig(int argc, const char* const argv[],
                                 const std::string& default_config) {
  CommandLine cl = ParseCommandLine(argc, argv);
  if (cl.help) {
    std::cout << ConfigUsage();
    return std::nullopt;
  }

  Config config;
  PortSet ports;
  TableSet tables;
  std::vector<Setting> settings;
  if (cl.config_file) {
    if (cl.config_file->empty()) throw ConfigError("--config needs a file name");
    std::error_code ec;
    if (!std::filesystem::is_regular_file(*cl.config_file, ec)) {
      throw ConfigError("config file '" + *cl.config_file + "' not found");
    }
    config.config_file = *cl.config_file;
  } else if (std::error_code ec;
             !default_config.empty() && std::filesystem::is_regular_file(default_config, ec)) {
    config.config_file = default_config;
  }
  if (!config.config_file.empty()) settings = ReadFile(config.config_file, ports, tables);
  settings.insert(settings.end(), cl.settings.begin(), cl.settings.end());

  for (const auto& s : settings) Apply(config, ports, tables, s);
  tables.Finish(config);
  FinishPorts(config, ports);
  if (cl.interactive) config.interactive = true;
  config.eal_args.insert(config.eal_args.end(), cl.eal_args.begin(), cl.eal_args.end());
  return config;
}

}  // namespace dpswitch::control
