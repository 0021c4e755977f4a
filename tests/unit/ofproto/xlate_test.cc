// SPDX-License-Identifier: BSD-3-Clause
// Translation through the OpenFlow tables: goto_table, resubmit, multi-table
// pipelines, set_field seen by later tables, FLOOD/ALL, drops, limits, VLAN
// and TTL semantics, and the wildcards each decision leaves in the mask.
#include "ofproto/xlate.h"

#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <vector>

#include "ofproto/field_text.h"
#include "ofproto/pipeline.h"
#include "packet/dp_actions.h"

namespace {

using namespace dpswitch::ofp;  // NOLINT: test file
namespace pkt = dpswitch::pkt;
namespace cls = dpswitch::cls;

// Ports 1..4 with datapath indexes 11..14; port 4 is down.
void SetupPorts(Pipeline* p) {
  p->SetPorts({{3, 13, true, "p3"},
               {1, 11, true, "p1"},
               {2, 12, true, "p2"},
               {4, 14, false, "p4"},
               {kPortLocal, 10, true, "br0"}});
}

std::string Describe(const std::vector<pkt::DpAction>& acts) {
  std::string out;
  for (const pkt::DpAction& a : acts) {
    if (!out.empty()) out += ',';
    switch (a.type) {
      case pkt::DpActionType::kOutput:
        out += "out:" + std::to_string(a.port);
        break;
      case pkt::DpActionType::kSetField: {
        const pkt::FieldInfo& f = pkt::GetField(a.field);
        out += std::string("set:") + f.name + "=" + FormatFieldValue(f, a.value, a.mask);
        break;
      }
      case pkt::DpActionType::kPushVlan: {
        char buf[32];
        std::snprintf(buf, sizeof(buf), "push:0x%04x/0x%04x", a.tpid, a.tci);
        out += buf;
        break;
      }
      case pkt::DpActionType::kPopVlan:
        out += "pop";
        break;
      case pkt::DpActionType::kDecTtl:
        out += "dec_ttl";
        break;
    }
  }
  return out;
}

pkt::FlowKey Tcp(uint32_t in_port, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport) {
  pkt::FlowKey k;
  k.Clear();
  k.in_port = in_port;
  k.eth_type = 0x0800;
  k.nw_src = src;
  k.nw_dst = dst;
  k.nw_proto = 6;
  k.nw_ttl = 64;
  k.tp_src = sport;
  k.tp_dst = dport;
  return k;
}

pkt::FlowKey Arp(uint32_t in_port) {
  pkt::FlowKey k;
  k.Clear();
  k.in_port = in_port;
  k.eth_type = 0x0806;
  k.nw_proto = 1;
  return k;
}

struct Result {
  std::string actions;
  pkt::FlowMask wc;
  XlateStats stats;
};

Result Run(const Pipeline& p, const pkt::FlowKey& key) {
  Result r;
  std::vector<pkt::DpAction> acts;
  r.stats = p.Translate(key, &r.wc, &acts);
  r.actions = Describe(acts);
  return r;
}

Result Run(const std::unique_ptr<Pipeline>& p, const pkt::FlowKey& key) { return Run(*p, key); }

std::unique_ptr<Pipeline> Make(std::initializer_list<const char*> flows) {
  auto p = std::make_unique<Pipeline>();
  SetupPorts(p.get());
  for (const char* f : flows) p->AddFlow(f);
  return p;
}

}  // namespace

TEST_CASE("xlate: outputs, reserved ports and drops", "[xlate]") {
  const pkt::FlowKey k = Tcp(1, 0x0a000001, 0x0a000002, 1000, 80);
  REQUIRE(Run(Make({"actions=output:2"}), k).actions == "out:12");
  REQUIRE(Run(Make({"actions=output:1"}), k).actions == "");  // ingress by number: dropped
  REQUIRE(Run(Make({"actions=in_port"}), k).actions == "out:11");
  REQUIRE(Run(Make({"actions=flood"}), k).actions == "out:12,out:13,out:10");  // not 1, not down 4
  REQUIRE(Run(Make({"actions=all"}), k).actions == "out:12,out:13,out:10");
  REQUIRE(Run(Make({"actions=normal"}), k).actions == "out:12,out:13,out:10");
  REQUIRE(Run(Make({"actions=local"}), k).actions == "out:10");
  REQUIRE(Run(Make({"actions=output:4"}), k).actions ==
          "out:14");                                           // explicit output ignores link state
  REQUIRE(Run(Make({"actions=output:99"}), k).actions == "");  // unknown port
  REQUIRE(Run(Make({"actions=controller,set_queue:1"}), k).actions == "");
  REQUIRE(Run(Make({"actions=drop"}), k).actions == "");
  REQUIRE(Run(Make({"arp,actions=output:2"}), k).actions == "");  // table miss
  REQUIRE(Run(Make({"actions=output:3,output:2,output:3"}), k).actions == "out:13,out:12,out:13");

  const Result r = Run(Make({"actions=output:2"}), k);
  REQUIRE(r.wc.bits.in_port == 0xffffffff);
  REQUIRE(r.stats.tables_visited == 1);
  REQUIRE(!r.stats.depth_exceeded);
}

TEST_CASE("xlate: goto_table and resubmit", "[xlate]") {
  const pkt::FlowKey k = Tcp(1, 0x0a000001, 0x0a000002, 1000, 80);
  const auto p = Make({
      "table=0,priority=10,ip,actions=output:3,goto_table:2",
      "table=2,priority=10,tcp,tp_dst=80,actions=output:2",
      "table=2,priority=5,actions=output:1",
  });
  const Result r = Run(p, k);
  REQUIRE(r.actions == "out:13,out:12");
  REQUIRE(r.stats.tables_visited == 2);

  // resubmit continues with the remaining actions afterwards.
  const auto q = Make({
      "table=0,actions=output:3,resubmit(,1),output:2",
      "table=1,actions=local",
  });
  REQUIRE(Run(q, k).actions == "out:13,out:10,out:12");

  // resubmit(port,table): the lookup sees the new in_port, the actions the
  // real one (IN_PORT still means port 1; output:2 is not suppressed).
  const auto s = Make({
      "table=0,in_port=1,actions=resubmit(2,1)",
      "table=1,in_port=2,actions=in_port,output:2",
      "table=1,in_port=1,actions=output:3",
  });
  REQUIRE(Run(s, k).actions == "out:11,out:12");

  // resubmit:PORT resubmits to the current table.
  const auto t = Make({
      "table=3,in_port=1,actions=resubmit:2",
      "table=3,in_port=2,actions=output:3",
      "table=0,actions=goto_table:3",
  });
  REQUIRE(Run(t, k).actions == "out:13");

  // A miss in a resubmitted table drops only that branch.
  REQUIRE(Run(Make({"actions=resubmit(,9),output:2"}), k).actions == "out:12");
}

TEST_CASE("xlate: set_field and write_metadata are seen by later tables", "[xlate]") {
  const pkt::FlowKey k = Tcp(1, 0x0a000001, 0x0a000002, 1000, 80);
  const auto p = Make({
      "table=0,ip,actions=set_field:10.9.9.9->nw_dst,write_metadata:0x5/0xff,goto_table:1",
      "table=1,priority=10,ip,nw_dst=10.9.9.9,metadata=0x5/0xff,actions=output:2",
      "table=1,priority=5,actions=output:3",
  });
  const Result r = Run(p, k);
  REQUIRE(r.actions == "set:nw_dst=10.9.9.9,out:12");
  // Written bits carry constants: the megaflow needs none of them.
  REQUIRE(r.wc.bits.nw_dst == 0);
  REQUIRE(r.wc.bits.metadata == 0);
  REQUIRE(r.wc.bits.eth_type == 0xffff);

  // Without the rewrite the same packet falls through to priority 5.
  const auto q = Make({
      "table=0,ip,actions=goto_table:1",
      "table=1,priority=10,ip,nw_dst=10.9.9.9,actions=output:2",
      "table=1,priority=5,actions=output:3",
  });
  const Result s = Run(q, k);
  REQUIRE(s.actions == "out:13");
  // The nw_dst prefix trie: 13 bits tell 10.0.0.2 from 10.9.9.9.
  REQUIRE(s.wc.bits.nw_dst == 0xfff80000);
  // Without the trie the whole address is consulted.
  cls::OfClassifierOptions no_tries;
  no_tries.prefix_fields.clear();
  q->SetClassifierOptions(std::nullopt, no_tries);
  const Result s2 = Run(q, k);
  REQUIRE(s2.actions == "out:13");
  REQUIRE(s2.wc.bits.nw_dst == 0xffffffff);

  // set_field of an L4 field on a packet without that header is skipped.
  // (mod_tp_dst needs tcp in its own match.)
  REQUIRE_THROWS_AS(Make({"table=1,actions=mod_tp_dst:99"}), FlowError);
  const auto u = Make({"tcp,actions=mod_tp_dst:99,output:2"});
  pkt::FlowKey frag = k;
  frag.nw_frag = pkt::kFragAny | pkt::kFragLater;
  const Result f = Run(u, frag);
  REQUIRE(f.actions == "out:12");
  REQUIRE(f.wc.bits.nw_frag == pkt::kFragLater);
  REQUIRE(Run(u, k).actions == "set:tp_dst=99,out:12");
}

TEST_CASE("xlate: recursion and lookup limits drop the packet", "[xlate]") {
  const pkt::FlowKey k = Tcp(1, 0x0a000001, 0x0a000002, 1000, 80);
  const Result loop = Run(Make({"actions=output:2,resubmit(,0)"}), k);
  REQUIRE(loop.stats.depth_exceeded);
  REQUIRE(loop.actions == "");
  REQUIRE(loop.stats.tables_visited == kMaxXlateDepth);

  // Fan-out: 2^13 lookups exceed the lookup budget long before the depth limit.
  Pipeline fan;
  SetupPorts(&fan);
  for (int t = 0; t < 13; t++)
    fan.AddFlow("table=" + std::to_string(t) + ",actions=resubmit(," + std::to_string(t + 1) +
                "),resubmit(," + std::to_string(t + 1) + ")");
  fan.AddFlow("table=13,actions=output:2");
  const Result r = Run(fan, k);
  REQUIRE(r.stats.too_many_lookups);
  REQUIRE(!r.stats.depth_exceeded);
  REQUIRE(r.actions == "");

  // 63 nested resubmits are fine.
  Pipeline deep;
  SetupPorts(&deep);
  for (int t = 0; t < 63; t++)
    deep.AddFlow("table=" + std::to_string(t) + ",actions=resubmit(," + std::to_string(t + 1) +
                 ")");
  deep.AddFlow("table=63,actions=output:2");
  REQUIRE(Run(deep, k).actions == "out:12");
  deep.AddFlow("table=63,actions=resubmit(,64)");
  deep.AddFlow("table=64,actions=output:2");
  REQUIRE(Run(deep, k).stats.depth_exceeded);
}

TEST_CASE("xlate: VLAN actions", "[xlate]") {
  const pkt::FlowKey untagged = Tcp(1, 1, 2, 3, 4);
  pkt::FlowKey tagged = untagged;
  tagged.vlan_tci = pkt::kVlanPresent | 0x2000 | 7;  // pcp 1, vid 7

  const auto pop = Make({"actions=pop_vlan,output:2"});
  REQUIRE(Run(pop, tagged).actions == "pop,out:12");
  const Result r = Run(pop, untagged);
  REQUIRE(r.actions == "out:12");
  REQUIRE(r.wc.bits.vlan_tci == pkt::kVlanPresent);  // only the present bit was consulted

  const auto mod = Make({"actions=mod_vlan_vid:100,output:2"});
  REQUIRE(Run(mod, untagged).actions == "push:0x8100/0x0064,out:12");
  REQUIRE(Run(mod, tagged).actions == "set:dl_vlan=100,out:12");
  const auto pcp = Make({"actions=mod_vlan_pcp:5,output:2"});
  REQUIRE(Run(pcp, untagged).actions == "push:0x8100/0xa000,out:12");

  const auto sf = Make({"actions=set_field:100->vlan_vid,output:2"});
  REQUIRE(Run(sf, untagged).actions == "out:12");  // set_field does not push
  REQUIRE(Run(sf, tagged).actions == "set:dl_vlan=100,out:12");

  // push then set folds into the pushed TCI; a later table sees the tag.
  const auto push = Make({
      "table=0,actions=push_vlan:0x88a8,set_field:9->vlan_vid,mod_vlan_pcp:3,goto_table:1",
      "table=1,dl_vlan=9,dl_vlan_pcp=3,actions=output:2",
  });
  const Result pr = Run(push, untagged);
  REQUIRE(pr.actions == "push:0x88a8/0x6009,out:12");
  REQUIRE(pr.wc.bits.vlan_tci == 0);

  // set_field on vlan_tci changes the tag state.
  REQUIRE(Run(Make({"actions=set_field:0x1005->vlan_tci,output:2"}), untagged).actions ==
          "push:0x8100/0x0005,out:12");
  REQUIRE(Run(Make({"actions=set_field:0->vlan_tci,output:2"}), tagged).actions == "pop,out:12");
  REQUIRE(Run(Make({"actions=set_field:0x1005->vlan_tci,output:2"}), tagged).actions ==
          "set:vlan_tci=0x5/0xefff,out:12");
}

TEST_CASE("xlate: dec_ttl", "[xlate]") {
  const auto p = Make({"actions=dec_ttl,output:2"});
  const Result ip = Run(p, Tcp(1, 1, 2, 3, 4));
  REQUIRE(ip.actions == "dec_ttl,out:12");
  REQUIRE(ip.wc.bits.nw_ttl == 0);  // the executor checks TTL itself
  const Result arp = Run(p, Arp(1));
  REQUIRE(arp.actions == "out:12");  // no-op on non-IP
  REQUIRE(arp.wc.bits.eth_type == 0xffff);

  // A later match on the TTL sees the decremented value and needs all of it.
  const auto q =
      Make({"table=0,ip,actions=dec_ttl,goto_table:1", "table=1,ip,nw_ttl=63,actions=output:2",
            "table=1,priority=0,actions=output:3"});
  const Result r = Run(q, Tcp(1, 1, 2, 3, 4));
  REQUIRE(r.actions == "dec_ttl,out:12");
  REQUIRE(r.wc.bits.nw_ttl == 0xff);
}

TEST_CASE("xlate: megaflow of a single prefix rule stays wide", "[xlate]") {
  const auto p = Make({"ip,nw_dst=10.0.0.0/8,actions=output:2"});
  const Result r = Run(p, Tcp(1, 0xc0a80001, 0x0a010203, 1234, 80));
  REQUIRE(r.actions == "out:12");
  pkt::FlowMask want;
  want.bits.in_port = 0xffffffff;
  want.bits.eth_type = 0xffff;
  want.bits.nw_dst = 0xff000000;
  want.Finalize();
  REQUIRE(r.wc == want);  // in particular tp_src, nw_src, ports: wildcarded
  REQUIRE(r.wc.bits.tp_src == 0);
}
