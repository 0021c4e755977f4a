// SPDX-License-Identifier: BSD-3-Clause
// THE megaflow invariant (DESIGN.md): for a translation of key k giving
// (wc, actions), every packet p with p & wc == k & wc translates to the same
// actions. Checked on random multi-table pipelines (goto_table, resubmit
// loops, set_field, VLAN and TTL actions, outputs) and random packets, by
// sampling packets inside each megaflow: the key with every bit outside wc
// re-randomised.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "ofproto/pipeline.h"
#include "packet/dp_actions.h"

namespace {

using namespace dpswitch::ofp;  // NOLINT: test file
namespace pkt = dpswitch::pkt;

class Rng {
 public:
  explicit Rng(uint64_t seed) : rng_(seed) {}
  uint64_t U64() { return rng_(); }
  uint32_t Below(uint32_t n) { return static_cast<uint32_t>(rng_() % n); }
  bool Chance(uint32_t percent) { return Below(100) < percent; }
  template <typename T, size_t N>
  const T& Pick(const T (&a)[N]) {
    return a[Below(N)];
  }

 private:
  std::mt19937_64 rng_;
};

// Value pools shared by rules and packets, so they meet.
const char* const kMacs[] = {"00:00:00:00:00:01", "00:00:00:00:00:02", "02:aa:bb:cc:dd:ee"};
const char* const kNets[] = {"10.0.0.0/8",  "10.1.0.0/16",    "10.1.2.3",
                             "10.1.2.0/24", "192.168.0.0/16", "192.168.1.1"};
const char* const kAddrs[] = {"10.1.2.3",    "10.1.9.9",    "10.200.0.1",
                              "192.168.1.1", "192.168.7.7", "172.16.0.1"};
const char* const kNets6[] = {"2001:db8::/32", "2001:db8::1", "fe80::/10"};
const char* const kPorts[] = {"80", "443", "53", "0x50/0xfff0", "0/0xff00"};

enum class Proto { kNone, kIp, kTcp, kUdp, kIcmp, kArp, kIpv6, kTcp6, kUdp6 };
const char* const kProtoText[] = {"", "ip", "tcp", "udp", "icmp", "arp", "ipv6", "tcp6", "udp6"};

bool IsIp4(Proto p) {
  return p == Proto::kIp || p == Proto::kTcp || p == Proto::kUdp || p == Proto::kIcmp;
}
bool IsIp6(Proto p) { return p == Proto::kIpv6 || p == Proto::kTcp6 || p == Proto::kUdp6; }
bool HasPorts(Proto p) {
  return p == Proto::kTcp || p == Proto::kUdp || p == Proto::kTcp6 || p == Proto::kUdp6;
}

std::string RandomMatch(Rng& r, Proto proto) {
  std::vector<std::string> f;
  if (*kProtoText[static_cast<int>(proto)]) f.emplace_back(kProtoText[static_cast<int>(proto)]);
  const uint32_t n = r.Below(4);
  for (uint32_t i = 0; i < n; i++) {
    switch (r.Below(9)) {
      case 0:
        f.push_back("in_port=" + std::to_string(1 + r.Below(5)));
        break;
      case 1:
        f.push_back(std::string(r.Chance(50) ? "dl_src=" : "dl_dst=") + r.Pick(kMacs));
        break;
      case 2: {
        const char* vlans[] = {"dl_vlan=5", "dl_vlan=9", "vlan_tci=0x0000",
                               "vlan_tci=0x1000/0x1000", "dl_vlan_pcp=3"};
        f.emplace_back(r.Pick(vlans));
        break;
      }
      case 3:
        f.push_back(r.Chance(50) ? "metadata=0x1/0xff" : "metadata=0x2");
        break;
      default:
        if (IsIp4(proto)) {
          const char* l3[] = {"nw_src=", "nw_dst=", "nw_dst=", "nw_ttl=", "nw_tos="};
          const std::string k = r.Pick(l3);
          if (k == "nw_ttl=")
            f.push_back(k + (r.Chance(50) ? "63" : "64"));
          else if (k == "nw_tos=")
            f.push_back(k + (r.Chance(50) ? "0" : "32"));
          else
            f.push_back(k + r.Pick(kNets));
        } else if (IsIp6(proto)) {
          f.push_back(std::string(r.Chance(50) ? "ipv6_src=" : "ipv6_dst=") + r.Pick(kNets6));
        } else if (proto == Proto::kArp) {
          f.push_back(r.Chance(50) ? std::string("arp_tpa=") + r.Pick(kNets)
                                   : "arp_op=" + std::to_string(1 + r.Below(2)));
        }
        if (HasPorts(proto) && r.Chance(60))
          f.push_back(std::string(r.Chance(50) ? "tp_src=" : "tp_dst=") + r.Pick(kPorts));
        if (proto == Proto::kIcmp && r.Chance(50))
          f.push_back("icmp_type=" + std::to_string(r.Chance(50) ? 0 : 8));
        break;
    }
  }
  // One value per field (a second, different one would be a conflict).
  std::string out;
  std::vector<std::string> names;
  for (const auto& s : f) {
    std::string name = s.substr(0, s.find('='));
    if (name.find("vlan") != std::string::npos) name = "vlan";  // all share vlan_tci
    if (std::find(names.begin(), names.end(), name) != names.end()) continue;
    names.push_back(name);
    out += s + ",";
  }
  return out;
}

std::string RandomAction(Rng& r, Proto proto, int table, int n_tables) {
  switch (r.Below(16)) {
    case 0:
    case 1:
      return "output:" + std::to_string(1 + r.Below(6));
    case 2: {
      const char* reserved[] = {"in_port", "flood",      "all",        "normal",
                                "local",   "controller", "set_queue:1"};
      return r.Pick(reserved);
    }
    case 3:
    case 4: {  // set_field on something the match guarantees
      std::vector<std::string> c = {
          std::string("set_field:") + r.Pick(kMacs) + "->eth_src",
          std::string("mod_dl_dst:") + r.Pick(kMacs),
          "set_field:0x" + std::to_string(1 + r.Below(2)) + "/0xf->metadata",
          "set_field:" + std::to_string(5 + 4 * r.Below(2)) + "->vlan_vid",
          r.Chance(50) ? "set_field:0x1009->vlan_tci" : "set_field:0->vlan_tci",
      };
      if (IsIp4(proto)) {
        c.push_back(std::string("set_field:") + r.Pick(kAddrs) + "->nw_dst");
        c.push_back(std::string("mod_nw_src:") + r.Pick(kAddrs));
        c.push_back("mod_nw_tos:32");
        c.push_back("set_field:63->nw_ttl");
      }
      if (IsIp6(proto)) c.push_back("set_field:2001:db8::1->ipv6_src");
      if (HasPorts(proto))
        c.push_back("set_field:" + std::to_string(r.Chance(50) ? 80 : 443) + "->tp_dst");
      if (proto == Proto::kArp)
        c.push_back(std::string("set_field:") + r.Pick(kAddrs) + "->arp_tpa");
      return c[r.Below(static_cast<uint32_t>(c.size()))];
    }
    case 5:
      return "mod_vlan_vid:" + std::to_string(r.Chance(50) ? 5 : 9);
    case 6:
      return "mod_vlan_pcp:3";
    case 7:
      return r.Chance(50) ? "push_vlan:0x8100" : "pop_vlan";
    case 8:
      return "dec_ttl";
    default: {
      // resubmit anywhere (loops allowed), sometimes with a new in_port.
      const int t = r.Chance(90) ? table + 1 + static_cast<int>(r.Below(2))
                                 : static_cast<int>(r.Below(static_cast<uint32_t>(n_tables)));
      if (t >= n_tables) return "output:" + std::to_string(1 + r.Below(5));
      if (r.Chance(25))
        return "resubmit(" + std::to_string(1 + r.Below(5)) + "," + std::to_string(t) + ")";
      return "resubmit(," + std::to_string(t) + ")";
    }
  }
}

std::unique_ptr<Pipeline> RandomPipeline(Rng& r, int* n_rules) {
  auto p = std::make_unique<Pipeline>();
  p->SetPorts({{1, 0, true, "p1"},
               {2, 1, true, "p2"},
               {3, 2, true, "p3"},
               {4, 3, true, "p4"},
               {5, 4, false, "p5"},
               {kPortLocal, 5, true, "br0"}});
  const int n_tables = 3 + static_cast<int>(r.Below(4));
  for (int t = 0; t < n_tables; t++) {
    const int rules = 2 + static_cast<int>(r.Below(10));
    for (int i = 0; i < rules; i++) {
      // Mostly a catch-all first, so fewer packets simply miss.
      const bool catch_all = i == 0 && r.Chance(80);
      const Proto proto = catch_all ? Proto::kNone : static_cast<Proto>(r.Below(9));
      std::string text = "table=" + std::to_string(t) +
                         ",priority=" + std::to_string(catch_all ? 0 : r.Below(60)) + "," +
                         (catch_all ? std::string() : RandomMatch(r, proto)) + "actions=";
      const uint32_t n_actions = r.Chance(10) ? 0 : 1 + r.Below(3);
      for (uint32_t a = 0; a < n_actions; a++) text += RandomAction(r, proto, t, n_tables) + ",";
      if (r.Chance(25)) text += r.Chance(50) ? "write_metadata:0x1/0xff," : "write_metadata:0x2,";
      if (t + 1 < n_tables && r.Chance(40)) {
        const int target = std::min(n_tables - 1, t + 1 + static_cast<int>(r.Below(2)));
        text += "goto_table:" + std::to_string(target) + ",";
      }
      if (text.back() == ',') text.pop_back();
      CAPTURE(text);
      p->AddFlow(text);
      (*n_rules)++;
    }
  }
  return p;
}

uint32_t ParseIp(const char* s) {
  unsigned a, b, c, d;
  std::sscanf(s, "%u.%u.%u.%u", &a, &b, &c, &d);
  return a << 24 | b << 16 | c << 8 | d;
}

// A well-formed random packet key from the same pools.
pkt::FlowKey RandomPacket(Rng& r) {
  pkt::FlowKey k;
  k.Clear();
  k.in_port = 1 + r.Below(5);
  const uint8_t macs[3][6] = {
      {0, 0, 0, 0, 0, 1}, {0, 0, 0, 0, 0, 2}, {2, 0xaa, 0xbb, 0xcc, 0xdd, 0xee}};
  std::memcpy(k.eth_src, macs[r.Below(3)], 6);
  std::memcpy(k.eth_dst, macs[r.Below(3)], 6);
  if (r.Chance(40))
    k.vlan_tci =
        static_cast<uint16_t>(pkt::kVlanPresent | (r.Below(8) << 13) | (r.Chance(50) ? 5 : 9));
  switch (r.Below(6)) {
    case 0:
    case 1:
    case 2: {
      k.eth_type = 0x0800;
      k.nw_src = r.Chance(80) ? ParseIp(r.Pick(kAddrs)) : static_cast<uint32_t>(r.U64());
      k.nw_dst = r.Chance(80) ? ParseIp(r.Pick(kAddrs)) : static_cast<uint32_t>(r.U64());
      const uint8_t protos[] = {6, 17, 1, 47};
      k.nw_proto = protos[r.Below(4)];
      k.nw_tos = r.Chance(50) ? 0 : 32;
      const uint8_t ttls[] = {1, 2, 63, 64, 200};
      k.nw_ttl = ttls[r.Below(5)];
      if (r.Chance(10)) k.nw_frag = pkt::kFragAny | (r.Chance(50) ? pkt::kFragLater : 0);
      if (k.nw_proto != 47 && !(k.nw_frag & pkt::kFragLater)) {
        const uint16_t ports[] = {80, 443, 53, 0x55, 8080};
        k.tp_src = k.nw_proto == 1 ? (r.Chance(50) ? 0 : 8) : ports[r.Below(5)];
        k.tp_dst = k.nw_proto == 1 ? 0 : ports[r.Below(5)];
      }
      break;
    }
    case 3: {
      k.eth_type = 0x86dd;
      const uint8_t pfx[3][2] = {{0x20, 0x01}, {0xfe, 0x80}, {0x30, 0x00}};
      const auto& a = pfx[r.Below(3)];
      k.ipv6_src[0] = a[0];
      k.ipv6_src[1] = a[1];
      k.ipv6_src[2] = 0x0d;
      k.ipv6_src[3] = 0xb8;
      k.ipv6_src[15] = static_cast<uint8_t>(r.Below(3));
      std::memcpy(k.ipv6_dst, k.ipv6_src, 16);
      k.ipv6_dst[15] ^= static_cast<uint8_t>(r.Below(2));
      k.nw_proto = r.Chance(50) ? 6 : 17;
      k.nw_ttl = r.Chance(50) ? 1 : 64;
      k.tp_src = 80;
      k.tp_dst = r.Chance(50) ? 443 : 53;
      break;
    }
    case 4:
      k.eth_type = 0x0806;
      k.nw_proto = static_cast<uint8_t>(1 + r.Below(2));
      k.nw_src = ParseIp(r.Pick(kAddrs));
      k.nw_dst = ParseIp(r.Pick(kAddrs));
      break;
    default:
      k.eth_type = r.Chance(50) ? 0x88cc : static_cast<uint16_t>(r.U64());
      break;
  }
  return k;
}

std::string Bytes(const std::vector<pkt::DpAction>& acts) {
  // DpAction has padding; compare the meaningful members.
  std::string out;
  for (const auto& a : acts) {
    out += std::to_string(static_cast<int>(a.type)) + ":";
    switch (a.type) {
      case pkt::DpActionType::kOutput:
        out += std::to_string(a.port);
        break;
      case pkt::DpActionType::kSetField:
        out += std::to_string(static_cast<int>(a.field)) + "=" + std::to_string(a.value.u) + "/" +
               std::to_string(a.mask.u) + "/" +
               std::string(reinterpret_cast<const char*>(a.value.bytes), 16) +
               std::string(reinterpret_cast<const char*>(a.mask.bytes), 16);
        break;
      case pkt::DpActionType::kPushVlan:
        out += std::to_string(a.tpid) + "/" + std::to_string(a.tci);
        break;
      case pkt::DpActionType::kPopVlan:
      case pkt::DpActionType::kDecTtl:
        break;
    }
    out += ";";
  }
  return out;
}

// p with every bit outside wc re-randomised.
pkt::FlowKey Inside(Rng& r, const pkt::FlowKey& key, const pkt::FlowMask& wc) {
  pkt::FlowKey p = key;
  for (uint32_t i = 0; i < pkt::kKeyWords; i++)
    p.SetWord(i, (key.Word(i) & wc.bits.Word(i)) | (r.U64() & ~wc.bits.Word(i)));
  return p;
}

}  // namespace

TEST_CASE("megaflow invariant on random pipelines", "[megaflow]") {
  Rng r(20240601);
  int n_rules = 0;
  uint64_t translations = 0, dropped = 0, depth = 0, tp_wild = 0;
  uint64_t seen[5] = {};
  for (int pipe = 0; pipe < 400; pipe++) {
    const auto p = RandomPipeline(r, &n_rules);
    for (int pk = 0; pk < 150; pk++) {
      const pkt::FlowKey key = RandomPacket(r);
      pkt::FlowMask wc;
      wc.bits.in_port = 0xffffffff;  // the caller's part of the contract
      wc.Finalize();
      std::vector<pkt::DpAction> acts;
      const XlateStats st = p->Translate(key, &wc, &acts);
      translations++;
      dropped += acts.empty();
      depth += st.depth_exceeded || st.too_many_lookups;
      tp_wild += wc.bits.tp_src == 0;
      for (const auto& a : acts) seen[static_cast<int>(a.type)]++;
      const std::string want = Bytes(acts);
      pkt::FlowMask check = wc;
      check.Finalize();
      REQUIRE(check == wc);  // map in sync

      for (int s = 0; s < 30; s++) {
        const pkt::FlowKey q = Inside(r, key, wc);
        REQUIRE(q.in_port == key.in_port);
        pkt::FlowMask wc2;
        wc2.bits.in_port = 0xffffffff;
        wc2.Finalize();
        std::vector<pkt::DpAction> acts2;
        p->Translate(q, &wc2, &acts2);
        if (Bytes(acts2) != want || !(wc2 == wc)) {
          CAPTURE(pipe, pk, s, p->DumpFlows());
          REQUIRE(Bytes(acts2) == want);
          REQUIRE(wc2 == wc);
        }
      }
    }
  }
  // The generator really exercises what it should.
  INFO("translations " << translations << " dropped " << dropped << " limits " << depth
                       << " tp_src wildcarded " << tp_wild);
  for (uint64_t n : seen) REQUIRE(n > 0);  // every datapath action type emitted
  REQUIRE(dropped < translations / 2);
  REQUIRE(depth > 0);
  REQUIRE(tp_wild > translations / 5);  // megaflows are not microflows
}

TEST_CASE("megaflow of one prefix rule does not match L4", "[megaflow]") {
  Pipeline p;
  p.SetPorts({{1, 0, true, "p1"}, {2, 1, true, "p2"}});
  p.AddFlow("ip,nw_dst=10.0.0.0/8,actions=output:2");
  Rng r(7);
  for (int i = 0; i < 200; i++) {
    pkt::FlowKey k = RandomPacket(r);
    pkt::FlowMask wc;
    wc.bits.in_port = 0xffffffff;
    std::vector<pkt::DpAction> acts;
    p.Translate(k, &wc, &acts);
    REQUIRE(wc.bits.tp_src == 0);
    REQUIRE(wc.bits.tp_dst == 0);
    REQUIRE(wc.bits.nw_src == 0);
    REQUIRE(wc.bits.eth_type == 0xffff);
    // nw_dst: a prefix of the rule's /8, as long as the nw_dst trie needed
    // to tell the packet's address from 10/8 (all 8 bits for a hit).
    const uint32_t m = wc.bits.nw_dst;
    REQUIRE((m & ~0xff000000u) == 0);
    REQUIRE(((~m) & (~m + 1)) == 0);  // ~m is 0..01..1: m is a prefix
    const bool hit = k.eth_type == 0x0800 && (k.nw_dst >> 24) == 10;
    if (hit) REQUIRE(m == 0xff000000);
  }
}

namespace {

// Distinct megaflows (masked key, wc) a pipeline makes for a set of keys.
size_t CountMegaflows(const Pipeline& p, const std::vector<pkt::FlowKey>& keys) {
  std::vector<std::vector<uint64_t>> seen;
  for (const pkt::FlowKey& k : keys) {
    pkt::FlowMask wc;
    wc.bits.in_port = 0xffffffff;
    std::vector<pkt::DpAction> acts;
    p.Translate(k, &wc, &acts);
    std::vector<uint64_t> mf;
    for (uint32_t i = 0; i < pkt::kKeyWords; i++) {
      mf.push_back(k.Word(i) & wc.bits.Word(i));
      mf.push_back(wc.bits.Word(i));
    }
    seen.push_back(std::move(mf));
  }
  std::sort(seen.begin(), seen.end());
  return static_cast<size_t>(std::unique(seen.begin(), seen.end()) - seen.begin());
}

pkt::FlowKey Ip4Key(uint8_t proto, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport) {
  pkt::FlowKey k;
  k.Clear();
  k.in_port = 1;
  k.eth_type = 0x0800;
  k.nw_proto = proto;
  k.nw_ttl = 64;
  k.nw_src = src;
  k.nw_dst = dst;
  k.tp_src = sport;
  k.tp_dst = dport;
  return k;
}

constexpr uint32_t Ip(uint32_t a, uint32_t b, uint32_t c, uint32_t d) {
  return a << 24 | b << 16 | c << 8 | d;
}

// shared/bench's megaflow probe for R2: hand-picked packets, a port scan of a
// routed host, a port scan of the ACL host, a host scan on the ACL's ports.
std::vector<pkt::FlowKey> R2ProbeKeys() {
  constexpr uint8_t kT = 6, kU = 17;
  std::vector<pkt::FlowKey> keys = {
      Ip4Key(kU, Ip(10, 0, 0, 1), Ip(11, 1, 2, 3), 1234, 5678),
      Ip4Key(kT, Ip(10, 0, 0, 1), Ip(11, 1, 2, 3), 1234, 80),
      Ip4Key(kT, Ip(10, 0, 0, 2), Ip(9, 1, 1, 1), 10, 10),
      Ip4Key(kT, Ip(10, 0, 0, 2), Ip(9, 1, 1, 2), 10, 10),
      Ip4Key(kT, Ip(10, 0, 0, 2), Ip(9, 1, 1, 1), 11, 10),
      Ip4Key(kU, Ip(10, 0, 0, 2), Ip(9, 1, 1, 1), 10, 10),
      Ip4Key(kT, Ip(10, 0, 0, 1), Ip(11, 2, 0, 1), 1234, 80),
      Ip4Key(kT, Ip(10, 0, 0, 1), Ip(12, 0, 0, 1), 1234, 80),
  };
  pkt::FlowKey arp;
  arp.Clear();
  arp.in_port = 1;
  arp.eth_type = 0x0806;
  arp.nw_proto = 1;
  arp.nw_src = Ip(11, 1, 0, 1);
  arp.nw_dst = Ip(11, 1, 0, 2);
  keys.push_back(arp);
  for (uint16_t port = 1; port <= 1024; port++)
    keys.push_back(Ip4Key(kT, Ip(10, 0, 0, 9), Ip(11, 1, 2, 3), 40000, port));
  for (uint16_t port = 1; port <= 1024; port++)
    keys.push_back(Ip4Key(kT, Ip(10, 0, 0, 9), Ip(9, 1, 1, 1), 40000, port));
  for (uint32_t h = 1; h <= 254; h++)
    keys.push_back(Ip4Key(kT, Ip(10, 0, 0, 9), Ip(9, 1, 1, h), 10, 10));
  return keys;
}

}  // namespace

// The NSDI'15 microbenchmark table under the R2 probe: OVS-DPDK 3.1 makes 15
// megaflows here (shared/bench); so must we, and each optimisation must
// matter where it should.
TEST_CASE("megaflow counts of the NSDI'15 table under the R2 probe", "[megaflow]") {
  Pipeline p;
  p.SetPorts({{1, 0, true, "p1"}, {2, 1, true, "p2"}});
  p.AddFlow("table=0,priority=300,arp,actions=NORMAL");
  p.AddFlow("table=0,priority=200,tcp,nw_dst=9.1.1.1,tp_src=10,tp_dst=10,actions=drop");
  p.AddFlow("table=0,priority=100,ip,nw_dst=11.1.0.0/16,actions=output:2");
  p.AddFlow("table=0,priority=0,actions=drop");
  const std::vector<pkt::FlowKey> keys = R2ProbeKeys();

  CHECK(CountMegaflows(p, keys) == 15);

  dpswitch::cls::OfClassifierOptions o;
  o.prefix_fields.clear();
  p.SetClassifierOptions(std::nullopt, o);
  CHECK(CountMegaflows(p, keys) == 262);  // host scan and route misses go exact

  o = {};
  o.port_tracking = false;
  p.SetClassifierOptions(std::nullopt, o);
  CHECK(CountMegaflows(p, keys) == 1038);  // the ACL host's port scan goes exact

  o.priority_sorting = o.staged_lookup = o.partitioning = false;
  o.prefix_fields.clear();
  p.SetClassifierOptions(std::nullopt, o);
  // One per distinct value of the matched fields: two probes differ from
  // host-scan packets only in nw_src, which no rule matches.
  CHECK(CountMegaflows(p, keys) == keys.size() - 2);
}
