// SPDX-License-Identifier: BSD-3-Clause
// The ovs-ofctl flow syntax: parse/format round trips for every field and
// every action, random matches, and error messages that name the token.
#include "ofproto/flow_syntax.h"

#include <catch2/catch.hpp>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "ofproto/field_text.h"
#include "ofproto/pipeline.h"
#include "packet/field.h"

namespace {

using namespace dpswitch::ofp;  // NOLINT: test file
namespace pkt = dpswitch::pkt;

bool SameSpec(const FlowSpec& a, const FlowSpec& b) {
  return a.table == b.table && a.priority == b.priority && a.cookie == b.cookie &&
         a.idle_timeout == b.idle_timeout && a.hard_timeout == b.hard_timeout &&
         a.flags == b.flags && a.match == b.match && a.instructions == b.instructions;
}

// Parses, formats, parses again: same spec, and formatting is stable. The
// dump-flows line with statistics reads back to the same spec too.
std::string RoundTrip(const std::string& text) {
  CAPTURE(text);
  const FlowSpec a = ParseFlow(text);
  const std::string s = FormatFlow(a);
  CAPTURE(s);
  const FlowSpec b = ParseFlow(s);
  REQUIRE(SameSpec(a, b));
  REQUIRE(FormatFlow(b) == s);
  const std::string with_stats = FormatFlow(a, FlowStatsText{12.345, 3, 180, 2.5});
  CAPTURE(with_stats);
  REQUIRE(SameSpec(a, ParseFlow(with_stats)));
  return s;
}

// The error message of parsing `text` (empty if it parsed).
std::string ErrorOf(const std::string& text) {
  try {
    ParseFlow(text);
  } catch (const FlowError& e) {
    return e.what();
  }
  return {};
}

struct FieldCase {
  const char* match;     // flow text (without actions)
  const char* expected;  // FormatMatch output
};

// At least one case per field of the field table (checked below).
const FieldCase kFieldCases[] = {
    {"in_port=5", "in_port=5"},
    {"in_port=LOCAL", "in_port=LOCAL"},
    {"metadata=0x1234", "metadata=0x1234"},
    {"metadata=0x12/0xff", "metadata=0x12/0xff"},
    {"dl_dst=00:11:22:33:44:55", "dl_dst=00:11:22:33:44:55"},
    {"eth_dst=01:00:00:00:00:00/01:00:00:00:00:00", "dl_dst=01:00:00:00:00:00/01:00:00:00:00:00"},
    {"dl_src=aa:bb:cc:dd:ee:ff", "dl_src=aa:bb:cc:dd:ee:ff"},
    {"dl_type=0x88cc", "dl_type=0x88cc"},
    {"eth_type=0x0800", "ip"},
    {"vlan_tci=0x1005/0x1fff", "dl_vlan=5"},
    {"vlan_tci=0x1000/0x1000", "vlan_tci=0x1000/0x1000"},
    {"vlan_tci=0x0000", "vlan_tci=0x0000"},
    {"vlan_tci=0x0000/0x1000", "vlan_tci=0x0000/0x1000"},
    {"dl_vlan=5", "dl_vlan=5"},
    {"dl_vlan=0xffff", "vlan_tci=0x0000"},
    {"dl_vlan_pcp=3", "dl_vlan_pcp=3"},
    {"vlan_vid=7,vlan_pcp=2", "dl_vlan=7,dl_vlan_pcp=2"},
    {"ip,nw_src=10.0.0.0/8", "ip,nw_src=10.0.0.0/8"},
    {"ip,nw_src=10.1.2.3/8", "ip,nw_src=10.0.0.0/8"},
    {"ip,ip_dst=192.168.1.1", "ip,nw_dst=192.168.1.1"},
    {"ip,nw_dst=1.2.3.4/255.0.255.0", "ip,nw_dst=1.0.3.0/255.0.255.0"},
    {"ip,nw_proto=47", "ip,nw_proto=47"},
    {"ipv6,nw_proto=50", "ipv6,nw_proto=50"},
    {"ip,nw_tos=0x20", "ip,nw_tos=32"},
    {"ip,ip_dscp=8", "ip,nw_tos=32"},
    {"ip,nw_ecn=2", "ip,nw_ecn=2"},
    {"ip,nw_ttl=64", "ip,nw_ttl=64"},
    {"ip,nw_frag_bits=1/1", "ip,nw_frag_bits=0x1/0x1"},
    {"ipv6,ipv6_src=2001:db8::/32", "ipv6,ipv6_src=2001:db8::/32"},
    {"ipv6,ipv6_dst=::1", "ipv6,ipv6_dst=::1"},
    {"ipv6,ipv6_dst=2001:db8::1/ffff:ffff::ff", "ipv6,ipv6_dst=2001:db8::1/ffff:ffff::ff"},
    {"ipv6,ipv6_label=0x12345", "ipv6,ipv6_label=0x12345"},
    {"arp,arp_op=1", "arp,arp_op=1"},
    {"arp,nw_proto=2", "arp,arp_op=2"},
    {"arp,arp_spa=10.0.0.1", "arp,arp_spa=10.0.0.1"},
    {"arp,nw_src=10.0.0.0/24", "arp,arp_spa=10.0.0.0/24"},
    {"arp,arp_tpa=10.0.0.2/31", "arp,arp_tpa=10.0.0.2/31"},
    {"arp,arp_sha=00:00:00:00:00:01", "arp,arp_sha=00:00:00:00:00:01"},
    {"arp,arp_tha=00:00:00:00:00:02/ff:ff:ff:00:00:00",
     "arp,arp_tha=00:00:00:00:00:00/ff:ff:ff:00:00:00"},
    {"tcp,tp_src=80", "tcp,tp_src=80"},
    {"udp,tp_dst=0x50/0xfff0", "udp,tp_dst=0x50/0xfff0"},
    {"sctp,tp_src=9", "sctp,tp_src=9"},
    {"tcp6,tp_dst=443", "tcp6,tp_dst=443"},
    {"udp6,tp_src=53", "udp6,tp_src=53"},
    {"sctp6,tp_dst=1", "sctp6,tp_dst=1"},
    {"tcp,tcp_flags=0x2/0x12", "tcp,tcp_flags=0x2/0x12"},
    {"tcp,tcp_flags=0x10", "tcp,tcp_flags=0x10"},
    {"icmp,icmp_type=8", "icmp,icmp_type=8"},
    {"icmp,icmp_code=3", "icmp,icmp_code=3"},
    {"icmp6,icmpv6_type=135", "icmp6,icmpv6_type=135"},
    {"icmp6,icmpv6_code=1", "icmp6,icmpv6_code=1"},
    {"ip,nw_proto=6", "tcp"},
    {"", ""},
};

}  // namespace

TEST_CASE("flow syntax: every field parses, formats and round-trips", "[flow_syntax]") {
  std::set<pkt::FieldId> covered;
  for (const FieldCase& c : kFieldCases) {
    const std::string text = std::string(c.match) + (*c.match ? "," : "") + "actions=drop";
    CAPTURE(text);
    const FlowSpec spec = ParseFlow(text);
    REQUIRE(FormatMatch(spec.match) == c.expected);
    RoundTrip(text);
    // Record which field-table names the case used.
    std::string m = c.match;
    size_t pos = 0;
    while (pos < m.size()) {
      size_t end = m.find(',', pos);
      if (end == std::string::npos) end = m.size();
      const std::string tok = m.substr(pos, end - pos);
      const size_t eq = tok.find('=');
      if (eq != std::string::npos)
        if (const pkt::FieldInfo* f = pkt::FindField(tok.substr(0, eq))) covered.insert(f->id);
      pos = end + 1;
    }
  }
  for (int i = 0; i < static_cast<int>(pkt::FieldId::kCount); i++) {
    CAPTURE(pkt::GetField(static_cast<pkt::FieldId>(i)).name);
    REQUIRE(covered.count(static_cast<pkt::FieldId>(i)) == 1);
  }
}

TEST_CASE("flow syntax: dump format", "[flow_syntax]") {
  const FlowSpec s = ParseFlow("table=0,priority=100,ip,nw_dst=10.0.0.0/8,actions=resubmit(,1)");
  REQUIRE(FormatFlow(s) ==
          "cookie=0x0, table=0, priority=100, ip,nw_dst=10.0.0.0/8 actions=resubmit(,1)");
  const FlowSpec t = ParseFlow(
      "table=3 cookie=0xabc idle_timeout=10 hard_timeout=20 priority=7 tcp tp_dst=22 "
      "actions=output:1");
  REQUIRE(t.table == 3);
  REQUIRE(t.cookie == 0xabc);
  REQUIRE(t.idle_timeout == 10);
  REQUIRE(t.hard_timeout == 20);
  REQUIRE(FormatFlow(t) ==
          "cookie=0xabc, table=3, idle_timeout=10, hard_timeout=20, priority=7, tcp,tp_dst=22 "
          "actions=output:1");
  RoundTrip(FormatFlow(t));
  const FlowSpec d = ParseFlow("actions=drop");
  REQUIRE(d.priority == kDefaultPriority);
  REQUIRE(FormatFlow(d) == "cookie=0x0, table=0, priority=32768 actions=drop");
  REQUIRE(FormatFlow(ParseFlow("priority=0,actions=")) ==
          "cookie=0x0, table=0, priority=0 actions=drop");
  // Order of fields does not matter for prerequisites.
  REQUIRE(FormatMatch(ParseFlow("nw_dst=10.0.0.1,tp_dst=80,tcp,actions=drop").match) ==
          "tcp,nw_dst=10.0.0.1,tp_dst=80");
}

TEST_CASE("flow syntax: every action round-trips", "[flow_syntax]") {
  struct ActionCase {
    const char* match;
    const char* actions;
    const char* expected;
  };
  const ActionCase cases[] = {
      {"", "output:1", "output:1"},
      {"", "3", "output:3"},
      {"", "in_port", "IN_PORT"},
      {"", "output:in_port", "IN_PORT"},
      {"", "flood", "FLOOD"},
      {"", "all", "ALL"},
      {"", "normal", "NORMAL"},
      {"", "local", "LOCAL"},
      {"", "output:LOCAL", "LOCAL"},
      {"", "controller", "CONTROLLER:65535"},
      {"", "controller:128", "CONTROLLER:128"},
      {"", "output:controller", "CONTROLLER:65535"},
      {"", "controller(reason=no_match,max_len=100)", "controller(reason=no_match,max_len=100)"},
      {"", "mod_dl_src:00:11:22:33:44:55", "mod_dl_src:00:11:22:33:44:55"},
      {"", "mod_dl_dst:00:11:22:33:44:66", "mod_dl_dst:00:11:22:33:44:66"},
      {"ip", "mod_nw_src:1.2.3.4", "mod_nw_src:1.2.3.4"},
      {"ip", "mod_nw_dst:1.2.3.5", "mod_nw_dst:1.2.3.5"},
      {"tcp", "mod_tp_src:80", "mod_tp_src:80"},
      {"udp", "mod_tp_dst:53", "mod_tp_dst:53"},
      {"ip", "mod_nw_tos:32", "mod_nw_tos:32"},
      {"ipv6", "mod_nw_ecn:1", "mod_nw_ecn:1"},
      {"ip", "mod_nw_ttl:9", "mod_nw_ttl:9"},
      {"", "mod_vlan_vid:100", "mod_vlan_vid:100"},
      {"", "mod_vlan_pcp:5", "mod_vlan_pcp:5"},
      {"ip", "set_field:10.0.0.1->nw_dst", "set_field:10.0.0.1->nw_dst"},
      {"ip", "set_field:10.1.0.0/255.255.0.0->ip_src", "set_field:10.1.0.0/16->nw_src"},
      {"", "set_field:00:11:22:33:44:55->eth_dst", "set_field:00:11:22:33:44:55->dl_dst"},
      {"", "set_field:0x5->metadata", "set_field:0x5->metadata"},
      {"", "set_field:0xf/0xff->metadata", "set_field:0xf/0xff->metadata"},
      {"", "load:0x7->metadata", "set_field:0x7->metadata"},
      {"", "set_field:100->vlan_vid", "set_field:100->dl_vlan"},
      {"", "set_field:3->dl_vlan_pcp", "set_field:3->dl_vlan_pcp"},
      {"", "set_field:0x1005->vlan_tci", "set_field:0x1005->vlan_tci"},
      {"tcp", "set_field:443->tp_dst", "set_field:443->tp_dst"},
      {"ip", "set_field:46->ip_dscp", "set_field:46->ip_dscp"},
      {"ipv6", "set_field:2001:db8::1->ipv6_dst", "set_field:2001:db8::1->ipv6_dst"},
      {"ipv6", "set_field:0x12345->ipv6_label", "set_field:0x12345->ipv6_label"},
      {"arp", "set_field:2->arp_op", "set_field:2->arp_op"},
      {"arp", "set_field:10.0.0.9->arp_tpa", "set_field:10.0.0.9->arp_tpa"},
      {"icmp", "set_field:0->icmp_type", "set_field:0->icmp_type"},
      {"", "push_vlan:0x8100", "push_vlan:0x8100"},
      {"", "push_vlan:0x88a8", "push_vlan:0x88a8"},
      {"", "strip_vlan", "pop_vlan"},
      {"", "pop_vlan", "pop_vlan"},
      {"", "dec_ttl", "dec_ttl"},
      {"", "resubmit(,1)", "resubmit(,1)"},
      {"", "resubmit(2,3)", "resubmit(2,3)"},
      {"", "resubmit:4", "resubmit:4"},
      {"", "resubmit(5)", "resubmit:5"},
      {"", "resubmit(LOCAL,7)", "resubmit(LOCAL,7)"},
      {"", "goto_table:5", "goto_table:5"},
      {"", "write_metadata:0x1/0xff", "write_metadata:0x1/0xff"},
      {"", "write_metadata:0x5", "write_metadata:0x5"},
      {"", "set_queue:3", "set_queue:3"},
      {"", "drop", "drop"},
      {"", "", "drop"},
      {"ip", "set_field:10.0.0.1->nw_dst,output:1 resubmit(,2),write_metadata:0x1/0x1,goto_table:3",
       "set_field:10.0.0.1->nw_dst,output:1,resubmit(,2),write_metadata:0x1/0x1,goto_table:3"},
  };
  for (const ActionCase& c : cases) {
    const std::string text = std::string(c.match) + (*c.match ? "," : "") + "actions=" + c.actions;
    CAPTURE(text);
    const FlowSpec s = ParseFlow(text);
    REQUIRE(FormatActions(s.instructions) == c.expected);
    RoundTrip(text);
  }
  // Details the text does not show.
  const FlowSpec r = ParseFlow("actions=resubmit(,1),resubmit:2,controller:9");
  REQUIRE(r.instructions.apply[0].port == kPortInPort);
  REQUIRE(r.instructions.apply[0].table == 1);
  REQUIRE(r.instructions.apply[1].port == 2);
  REQUIRE(r.instructions.apply[1].table == kTableCurrent);
  REQUIRE(r.instructions.apply[2].max_len == 9);
  const FlowSpec w = ParseFlow("actions=write_metadata:0xff/0xf0");
  REQUIRE(w.instructions.metadata == 0xf0);  // value masked
}

TEST_CASE("flow syntax: random matches round-trip", "[flow_syntax]") {
  // Random values and masks for every field, one protocol context at a time.
  struct Context {
    const char* shorthand;
    std::vector<pkt::FieldId> fields;
  };
  using F = pkt::FieldId;
  const std::vector<F> common = {F::kInPort, F::kMetadata, F::kEthDst, F::kEthSrc, F::kVlanTci};
  const Context contexts[] = {
      {"", {}},
      {"ip", {F::kNwSrc, F::kNwDst, F::kNwProto, F::kNwTos, F::kNwEcn, F::kNwTtl, F::kNwFrag}},
      {"tcp", {F::kNwSrc, F::kNwDst, F::kTpSrc, F::kTpDst, F::kTcpFlags, F::kIpDscp}},
      {"udp6", {F::kIpv6Src, F::kIpv6Dst, F::kIpv6Label, F::kTpSrc, F::kTpDst}},
      {"icmp", {F::kIcmpType, F::kIcmpCode, F::kNwTtl}},
      {"icmp6", {F::kIcmpv6Type, F::kIcmpv6Code, F::kIpv6Src}},
      {"arp", {F::kArpOp, F::kArpSpa, F::kArpTpa, F::kArpSha, F::kArpTha}},
  };
  std::mt19937_64 rng(42);
  for (int iter = 0; iter < 3000; iter++) {
    const Context& c = contexts[rng() % std::size(contexts)];
    std::vector<F> pool = common;
    pool.insert(pool.end(), c.fields.begin(), c.fields.end());
    std::string text = c.shorthand;
    for (F id : pool) {
      if (rng() % 3 != 0) continue;
      const pkt::FieldInfo& f = pkt::GetField(id);
      pkt::FieldValue v, m = pkt::FullMask(f);
      if (f.is_int) {
        v.u = rng() & m.u;
        if (f.maskable && rng() % 2) m.u &= rng();
      } else {
        for (uint32_t i = 0; i < f.size; i++) v.bytes[i] = static_cast<uint8_t>(rng());
        if (f.maskable && rng() % 2)
          for (uint32_t i = 0; i < f.size; i++) m.bytes[i] = static_cast<uint8_t>(rng());
      }
      if (id == F::kInPort && v.u > kPortMax) v.u = 1;
      if (IsZeroMask(f, m)) m = pkt::FullMask(f);
      if (!text.empty()) text += ',';
      text += std::string(f.name) + "=" + FormatFieldValue(f, v, m);
    }
    for (const char* flag :
         {"send_flow_rem", "check_overlap", "reset_counts", "no_packet_counts", "no_byte_counts"})
      if (rng() % 4 == 0) text += text.empty() ? flag : std::string(",") + flag;
    text += text.empty() ? "actions=drop" : ",actions=drop";
    RoundTrip(text);
  }
}

TEST_CASE("flow syntax: errors name the offending token", "[flow_syntax]") {
  struct ErrorCase {
    const char* text;
    const char* token;  // must appear in the message
    const char* why;    // and so must this
  };
  const ErrorCase cases[] = {
      {"foo=1,actions=drop", "foo", "unknown field"},
      {"bogus,actions=drop", "bogus", "unknown keyword"},
      {"ip,nw_src=10.0.0.300,actions=drop", "nw_src=10.0.0.300", "bad IPv4"},
      {"ip,nw_src=10.0.0.0/33,actions=drop", "nw_src=10.0.0.0/33", "out of range"},
      {"ipv6,ipv6_src=zz::1,actions=drop", "ipv6_src=zz::1", "bad IPv6"},
      {"dl_src=00:11:22:33:44,actions=drop", "dl_src=00:11:22:33:44", "bad MAC"},
      {"tcp,tp_dst=70000,actions=drop", "tp_dst=70000", "does not fit"},
      {"tcp,tp_dst=http,actions=drop", "tp_dst=http", "bad number"},
      {"dl_vlan=4096,actions=drop", "dl_vlan=4096", "does not fit"},
      {"ip,nw_tos=3,actions=drop", "nw_tos=3", "does not fit"},
      {"tp_dst=80,actions=drop", "tp_dst=80", "prerequisite"},
      {"ip,tp_dst=80,actions=drop", "tp_dst=80", "prerequisite"},
      {"nw_src=10.0.0.1,actions=drop", "nw_src=10.0.0.1", "prerequisite"},
      {"ipv6,nw_src=10.0.0.1,actions=drop", "nw_src=10.0.0.1", "prerequisite"},
      {"ip,icmp_type=8,actions=drop", "icmp_type=8", "prerequisite"},
      {"ip,arp_op=1,actions=drop", "arp_op=1", "prerequisite"},
      {"udp,tcp_flags=1,actions=drop", "tcp_flags=1", "prerequisite"},
      {"in_port=1/0xff,actions=drop", "in_port=1/0xff", "does not accept a mask"},
      {"ip,nw_ttl=5/0xff,actions=drop", "nw_ttl=5/0xff", "does not accept a mask"},
      {"dl_type=0x800/0xff00,actions=drop", "dl_type=0x800/0xff00", "does not accept a mask"},
      {"in_port=,actions=drop", "in_port=", "missing value"},
      {"tcp,udp,actions=drop", "udp", "conflicts"},
      {"dl_vlan=5,vlan_tci=0,actions=drop", "vlan_tci=0", "conflicts"},
      {"priority=70000,actions=drop", "priority=70000", "out of range"},
      {"table=255,actions=drop", "table=255", "out of range"},
      {"cookie=1/1,actions=drop", "cookie=1/1", "cookie mask"},
      {"ip", "ip", "missing actions"},
      {"actions=frob", "frob", "unknown action"},
      {"actions=output:abc", "output:abc", "bad number"},
      {"actions=output:any", "output:any", "not allowed"},
      {"actions=output:1,drop", "drop", "only action"},
      {"table=1,actions=goto_table:1", "goto_table:1", "later table"},
      {"actions=goto_table:2,output:1", "output:1", "after instruction goto_table"},
      {"actions=write_metadata:1,output:1", "output:1", "after instruction write_metadata"},
      {"actions=goto_table:2,write_metadata:1", "write_metadata:1", "before goto_table"},
      {"actions=set_field:1.2.3.4->nw_src", "set_field:1.2.3.4->nw_src", "prerequisites"},
      {"ip,actions=mod_tp_dst:80", "mod_tp_dst:80", "prerequisites"},
      {"actions=set_field:1->eth_type", "set_field:1->eth_type", "not writable"},
      {"actions=set_field:1->nosuch", "set_field:1->nosuch", "unknown field"},
      {"ip,actions=set_field:4/4->nw_ttl", "set_field:4/4->nw_ttl", "does not accept a mask"},
      {"actions=set_field:0/0->metadata", "set_field:0/0->metadata", "all-zero mask"},
      {"actions=set_field:5", "set_field:5", "VALUE[/MASK]->FIELD"},
      {"actions=resubmit(1,2,3)", "resubmit(1,2,3)", "(PORT,TABLE)"},
      {"actions=resubmit(,255)", "resubmit(,255)", "out of range"},
      {"actions=push_vlan:0x1234", "push_vlan:0x1234", "0x8100"},
      {"actions=mod_vlan_vid:4096", "mod_vlan_vid:4096", "out of range"},
      {"actions=dec_ttl:1", "dec_ttl:1", "no argument"},
      {"actions=output:1,(", "(", "unbalanced"},
  };
  for (const ErrorCase& c : cases) {
    CAPTURE(c.text);
    const std::string msg = ErrorOf(c.text);
    CAPTURE(msg);
    REQUIRE(!msg.empty());
    REQUIRE(msg.find(c.token) != std::string::npos);
    REQUIRE(msg.find(c.why) != std::string::npos);
  }
}

TEST_CASE("flow syntax: del-flows selectors", "[flow_syntax]") {
  const FlowSelector all = ParseFlowSelector("");
  REQUIRE(!all.table);
  REQUIRE(!all.priority);
  REQUIRE(all.cookie_mask == 0);
  REQUIRE(all.match.mask.map == 0);

  const FlowSelector s = ParseFlowSelector("table=2,priority=5,cookie=0x10/0xf0,tcp,tp_dst=80");
  REQUIRE(s.table == 2);
  REQUIRE(s.priority == 5);
  REQUIRE(s.cookie == 0x10);
  REQUIRE(s.cookie_mask == 0xf0);
  REQUIRE(FormatMatch(s.match) == "tcp,tp_dst=80");
  REQUIRE(!ParseFlowSelector("table=255").table);

  REQUIRE_THROWS_AS(ParseFlowSelector("ip,actions=drop"), FlowError);
  REQUIRE_THROWS_WITH(ParseFlowSelector("idle_timeout=5"),
                      Catch::Matchers::Contains("idle_timeout=5"));
  REQUIRE_THROWS_WITH(ParseFlowSelector("tp_dst=80"), Catch::Matchers::Contains("prerequisite"));

  // Flags say how to add a flow: not a selector.
  for (const char* flag :
       {"send_flow_rem", "check_overlap", "reset_counts", "no_packet_counts", "no_byte_counts"}) {
    CAPTURE(flag);
    REQUIRE_THROWS_WITH(ParseFlowSelector(std::string("ip,") + flag),
                        Catch::Matchers::Contains(flag) &&
                            Catch::Matchers::Contains("only allowed when adding flows"));
  }
  // dump-flows statistics are ignored, as ovs-ofctl does.
  const FlowSelector st = ParseFlowSelector("duration=1.5s,n_packets=3,tcp");
  REQUIRE(FormatMatch(st.match) == "tcp");
}

TEST_CASE("flow syntax: flags", "[flow_syntax]") {
  REQUIRE(ParseFlow("actions=drop").flags == 0);
  REQUIRE(ParseFlow("send_flow_rem,actions=drop").flags == kFlowSendFlowRem);
  REQUIRE(ParseFlow("check_overlap actions=drop").flags == kFlowCheckOverlap);
  REQUIRE(ParseFlow("reset_counts,actions=drop").flags == kFlowResetCounts);
  REQUIRE(ParseFlow("no_packet_counts,actions=drop").flags == kFlowNoPacketCounts);
  REQUIRE(ParseFlow("no_byte_counts,actions=drop").flags == kFlowNoByteCounts);
  // Anywhere before actions=, repeats harmless.
  const FlowSpec all = ParseFlow(
      "no_byte_counts,ip,send_flow_rem,priority=9,check_overlap,no_packet_counts,reset_counts,"
      "send_flow_rem,actions=drop");
  REQUIRE(all.flags == (kFlowSendFlowRem | kFlowCheckOverlap | kFlowResetCounts |
                        kFlowNoPacketCounts | kFlowNoByteCounts));

  // ovs-ofctl's place and order: after the timeouts, before the priority,
  // each followed by a blank.
  REQUIRE(FormatFlow(all) ==
          "cookie=0x0, table=0, send_flow_rem check_overlap reset_counts no_packet_counts "
          "no_byte_counts priority=9, ip actions=drop");
  REQUIRE(RoundTrip("hard_timeout=5,check_overlap,send_flow_rem,tcp,actions=drop") ==
          "cookie=0x0, table=0, hard_timeout=5, send_flow_rem check_overlap priority=32768, tcp "
          "actions=drop");
  RoundTrip(FormatFlow(all));
  // A flag is not a field: no value.
  REQUIRE(ErrorOf("send_flow_rem=1,actions=drop").find("unknown field") != std::string::npos);
}

TEST_CASE("flow syntax: dump format with statistics", "[flow_syntax]") {
  const FlowSpec f = ParseFlow(
      "table=0,cookie=0x1f,idle_timeout=10,hard_timeout=30,send_flow_rem,priority=100,ip,"
      "nw_dst=10.0.0.0/8,actions=output:1");
  // OVS 3.1 ofputil_flow_stats_format's order; priority joins the match.
  REQUIRE(FormatFlow(f, FlowStatsText{12.345, 3, 180, 2.9}) ==
          "cookie=0x1f, duration=12.345s, table=0, n_packets=3, n_bytes=180, idle_timeout=10, "
          "hard_timeout=30, send_flow_rem idle_age=2, priority=100,ip,nw_dst=10.0.0.0/8 "
          "actions=output:1");
  // No timeouts, no flags, match-all; a whole number of seconds has no
  // decimals, sub-millisecond rounds, negative clamps to 0.
  const FlowSpec d = ParseFlow("table=4,actions=drop");
  REQUIRE(FormatFlow(d, FlowStatsText{5.0, 0, 0, 0.0}) ==
          "cookie=0x0, duration=5s, table=4, n_packets=0, n_bytes=0, idle_age=0, "
          "priority=32768 actions=drop");
  REQUIRE(FormatFlow(d, FlowStatsText{0.0504, 1, 64, 0.999}).find("duration=0.050s, ") !=
          std::string::npos);
  REQUIRE(FormatFlow(d, FlowStatsText{-1.0, 1, 64, -3.0}) ==
          "cookie=0x0, duration=0s, table=4, n_packets=1, n_bytes=64, idle_age=0, "
          "priority=32768 actions=drop");
  REQUIRE(FormatFlow(d, FlowStatsText{86400.001, 18446744073709551615ull, 1, 86400}) ==
          "cookie=0x0, duration=86400.001s, table=4, n_packets=18446744073709551615, n_bytes=1, "
          "idle_age=86400, priority=32768 actions=drop");

  // The statistics are accepted and ignored when parsing (so a dump line can
  // be fed back), in any form.
  const FlowSpec back = ParseFlow(
      "cookie=0x1f, duration=12.345s, table=0, n_packets=3, n_bytes=180, idle_timeout=10, "
      "hard_timeout=30, send_flow_rem idle_age=2, hard_age=1, priority=100,ip,"
      "nw_dst=10.0.0.0/8 actions=output:1");
  REQUIRE(SameSpec(back, f));
  REQUIRE(SameSpec(ParseFlow("n_packets=x,n_bytes=y,duration=z,actions=drop"),
                   ParseFlow("actions=drop")));
  REQUIRE(ErrorOf("n_packets=,actions=drop").find("missing value") != std::string::npos);
}
