// SPDX-License-Identifier: BSD-3-Clause
// The caching-aware optimisations of OfClassifier, one by one: the NSDI'15
// paper's examples (exact wildcards), and for each optimisation a traffic mix
// where turning it on must cut the number of distinct megaflows (or of hash
// probes). The brute-force comparisons live in of_classifier_test.cc.
#include <catch2/catch.hpp>

#include <array>
#include <cstdint>
#include <set>
#include <utility>

#include "classifier/of_classifier.h"
#include "packet/field.h"

namespace {

using dpswitch::cls::OfClassifier;
using dpswitch::cls::OfClassifierOptions;
using dpswitch::cls::OfClsRule;
using dpswitch::cls::OfLookupStats;
using dpswitch::pkt::FieldId;
using dpswitch::pkt::FieldValue;
using dpswitch::pkt::FlowKey;
using dpswitch::pkt::FlowMask;
namespace pkt = dpswitch::pkt;

constexpr uint16_t kIpv4 = 0x0800;
constexpr uint8_t kTcp = 6;

uint32_t Ip(uint32_t a, uint32_t b, uint32_t c, uint32_t d) { return a << 24 | b << 16 | c << 8 | d; }

// A rule's match, built field by field.
struct Match {
  FlowKey key;
  FlowMask mask;

  Match() { key.Clear(); }
  Match& Exact(FieldId id, uint64_t value) {
    return Masked(id, value, pkt::FullMask(pkt::GetField(id)).u);
  }
  Match& Masked(FieldId id, uint64_t value, uint64_t mask_bits) {
    FieldValue v, m;
    v.u = value;
    m.u = mask_bits;
    pkt::SetFieldMatch(pkt::GetField(id), v, m, &key, &mask.bits);
    mask.Finalize();
    return *this;
  }
  Match& Prefix(FieldId id, uint32_t value, unsigned len) {
    return Masked(id, value, len == 0 ? 0 : ~uint32_t{0} << (32 - len));
  }
  Match& Tcp() { return Exact(FieldId::kEthType, kIpv4).Exact(FieldId::kNwProto, kTcp); }
  Match& Ip() { return Exact(FieldId::kEthType, kIpv4); }
};

FlowKey TcpPacket(uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport) {
  FlowKey k;
  k.Clear();
  k.in_port = 1;
  k.eth_type = kIpv4;
  k.nw_proto = kTcp;
  k.nw_ttl = 64;
  k.nw_src = src;
  k.nw_dst = dst;
  k.tp_src = sport;
  k.tp_dst = dport;
  return k;
}

int rules[8];  // their addresses are the rules' user pointers

// The NSDI'15 microbenchmark table (shared/bench R2): a high-priority TCP ACL
// on one host and ports, an IPv4 route, a catch-all.
void AddR2(OfClassifier* cls) {
  Match acl, route, all;
  acl.Tcp().Exact(FieldId::kNwDst, Ip(9, 1, 1, 1)).Exact(FieldId::kTpSrc, 10).Exact(FieldId::kTpDst, 10);
  route.Ip().Prefix(FieldId::kNwDst, Ip(11, 1, 0, 0), 16);
  cls->Insert(acl.key, acl.mask, 200, &rules[0]);
  cls->Insert(route.key, route.mask, 100, &rules[1]);
  cls->Insert(all.key, all.mask, 0, &rules[2]);
}

// Distinct megaflows (masked key, wc) a traffic mix produces, and how many
// tuples were probed.
struct Outcome {
  size_t megaflows;
  OfLookupStats stats;
};

template <class Traffic>
Outcome Run(const OfClassifier& cls, Traffic&& traffic) {
  std::set<std::pair<std::array<uint64_t, pkt::kKeyWords>, std::array<uint64_t, pkt::kKeyWords>>> seen;
  Outcome out{};
  traffic([&](const FlowKey& key) {
    FlowMask wc;
    wc.bits.in_port = ~uint32_t{0};  // as xlate: in_port is always exact
    cls.Lookup(key, &wc, &out.stats);
    std::array<uint64_t, pkt::kKeyWords> masked{}, mask{};
    for (uint32_t i = 0; i < pkt::kKeyWords; i++) {
      mask[i] = wc.bits.Word(i);
      masked[i] = key.Word(i) & mask[i];
    }
    seen.emplace(masked, mask);
  });
  out.megaflows = seen.size();
  return out;
}

OfClassifierOptions AllOff() {
  OfClassifierOptions o;
  o.priority_sorting = false;
  o.staged_lookup = false;
  o.port_tracking = false;
  o.partitioning = false;
  o.prefix_fields.clear();
  return o;
}

}  // namespace

TEST_CASE("prefix tracking: 10/8 and 10.1.2.3/32, a packet to 10.5.6.7", "[of_classifier_opt]") {
  // The paper's example. OVS tracks prefixes a byte at a time in its example
  // and gets 10.5/16; at bit granularity the first bit where 10.5 and 10.1
  // differ is bit 13, so 14 bits (10.4/14) decide: wider still.
  OfClassifier cls;
  Match net, host;
  net.Ip().Prefix(FieldId::kNwDst, Ip(10, 0, 0, 0), 8);
  host.Ip().Exact(FieldId::kNwDst, Ip(10, 1, 2, 3));
  cls.Insert(host.key, host.mask, 20, &rules[0]);
  cls.Insert(net.key, net.mask, 10, &rules[1]);

  const FlowKey p = TcpPacket(Ip(1, 2, 3, 4), Ip(10, 5, 6, 7), 1000, 80);
  FlowMask wc;
  OfLookupStats stats;
  REQUIRE(cls.Lookup(p, &wc, &stats)->user == &rules[1]);
  CHECK(wc.bits.nw_dst == 0xfffc0000u);  // /14
  CHECK(wc.bits.nw_src == 0);
  CHECK(stats.skipped_by_prefix == 1);

  // The host itself still matches /32.
  FlowMask wc_host;
  REQUIRE(cls.Lookup(TcpPacket(0, Ip(10, 1, 2, 3), 1, 1), &wc_host)->user == &rules[0]);
  CHECK(wc_host.bits.nw_dst == 0xffffffffu);

  // Without tries the /32 tuple is probed and all 32 bits are un-wildcarded.
  OfClassifierOptions no_tries;
  no_tries.prefix_fields.clear();
  cls.SetOptions(no_tries);
  FlowMask wc_off;
  REQUIRE(cls.Lookup(p, &wc_off)->user == &rules[1]);
  CHECK(wc_off.bits.nw_dst == 0xffffffffu);
}

TEST_CASE("prefix tracking works on IPv6 and on nw_src", "[of_classifier_opt]") {
  OfClassifier cls;
  Match v6;
  FieldValue v, m;
  v.bytes[0] = 0x20;
  v.bytes[1] = 0x01;
  v.bytes[15] = 0x01;
  for (int i = 0; i < 16; i++) m.bytes[i] = 0xff;  // one /128 host
  v6.Exact(FieldId::kEthType, 0x86dd);
  pkt::SetFieldMatch(pkt::GetField(FieldId::kIpv6Dst), v, m, &v6.key, &v6.mask.bits);
  v6.mask.Finalize();
  cls.Insert(v6.key, v6.mask, 5, &rules[0]);
  Match src;
  src.Ip().Prefix(FieldId::kNwSrc, Ip(192, 168, 0, 0), 16);
  cls.Insert(src.key, src.mask, 4, &rules[1]);

  FlowKey p;
  p.Clear();
  p.eth_type = 0x86dd;
  p.ipv6_dst[0] = 0x20;
  p.ipv6_dst[1] = 0x02;  // differs from 2001:: at bit 14
  FlowMask wc;
  REQUIRE(cls.Lookup(p, &wc) == nullptr);
  CHECK(wc.bits.ipv6_dst[0] == 0xff);
  CHECK(wc.bits.ipv6_dst[1] == 0xfe);  // 15 bits: 0x01 and 0x02 differ at bit 14
  CHECK(wc.bits.ipv6_dst[2] == 0);
  CHECK(wc.bits.nw_src == 0);  // the IPv4 tuple stopped at its eth_type stage

  // An IPv4 packet from 10.0.0.1: 10 and 192 differ in the first bit.
  FlowMask wc4;
  REQUIRE(cls.Lookup(TcpPacket(Ip(10, 0, 0, 1), Ip(1, 1, 1, 1), 1, 1), &wc4) == nullptr);
  CHECK(wc4.bits.nw_src == 0x80000000u);
  CHECK(wc4.bits.ipv6_dst[0] == 0);
}

TEST_CASE("staged lookup: another host does not un-wildcard the ACL's ports", "[of_classifier_opt]") {
  // Tries and port tracking off, so staged lookup alone decides.
  OfClassifierOptions staged = AllOff();
  staged.priority_sorting = true;
  staged.staged_lookup = true;
  OfClassifier cls(staged);
  AddR2(&cls);
  const FlowKey p = TcpPacket(Ip(10, 0, 0, 2), Ip(11, 1, 2, 3), 1234, 80);
  FlowMask wc;
  OfLookupStats stats;
  REQUIRE(cls.Lookup(p, &wc, &stats)->user == &rules[1]);
  CHECK(wc.bits.tp_src == 0);
  CHECK(wc.bits.tp_dst == 0);
  CHECK(wc.bits.nw_dst == 0xffffffffu);  // the ACL's L3 stage was probed
  CHECK(stats.stage_exits == 1);

  OfClassifierOptions flat = staged;
  flat.staged_lookup = false;
  cls.SetOptions(flat);
  FlowMask wc_flat;
  REQUIRE(cls.Lookup(p, &wc_flat)->user == &rules[1]);
  CHECK(wc_flat.bits.tp_src == 0xffff);
  CHECK(wc_flat.bits.tp_dst == 0xffff);
}

TEST_CASE("priority sorting: a lower-priority match skips tuples it cannot lose to",
          "[of_classifier_opt]") {
  // A route at priority 100 and an ACL on ports at 50: a routed packet never
  // needs the ACL tuple, so its ports stay wildcarded.
  OfClassifierOptions sorted = AllOff();
  sorted.priority_sorting = true;
  OfClassifier cls(sorted);
  Match route, acl;
  route.Ip().Prefix(FieldId::kNwDst, Ip(11, 1, 0, 0), 16);
  acl.Tcp().Exact(FieldId::kTpDst, 22);
  cls.Insert(route.key, route.mask, 100, &rules[0]);
  cls.Insert(acl.key, acl.mask, 50, &rules[1]);
  const FlowKey p = TcpPacket(1, Ip(11, 1, 9, 9), 5555, 22);
  FlowMask wc;
  REQUIRE(cls.Lookup(p, &wc)->user == &rules[0]);
  CHECK(wc.bits.tp_dst == 0);
  CHECK(wc.bits.nw_proto == 0);

  cls.SetOptions(AllOff());
  FlowMask wc_all;
  REQUIRE(cls.Lookup(p, &wc_all)->user == &rules[0]);
  CHECK(wc_all.bits.tp_dst == 0xffff);
}

TEST_CASE("port tracking: a scan of the ACL host's ports un-wildcards a few port bits",
          "[of_classifier_opt]") {
  OfClassifier cls;
  AddR2(&cls);
  // 40000 and the rule's tp_src 10 differ in the top bit: that bit alone
  // proves the miss.
  const FlowKey p = TcpPacket(Ip(10, 0, 0, 9), Ip(9, 1, 1, 1), 40000, 77);
  FlowMask wc;
  OfLookupStats stats;
  REQUIRE(cls.Lookup(p, &wc, &stats)->user == &rules[2]);
  CHECK(wc.bits.tp_src == 0x8000);
  CHECK(wc.bits.tp_dst == 0);
  CHECK(stats.port_trie_exits == 1);
  // Same source port as the rule: the destination port decides, up to the
  // first bit where 77 (0b1001101) and 10 (0b0001010) differ: bit 9 of 16.
  const FlowKey q = TcpPacket(Ip(10, 0, 0, 9), Ip(9, 1, 1, 1), 10, 77);
  FlowMask wc2;
  REQUIRE(cls.Lookup(q, &wc2)->user == &rules[2]);
  CHECK(wc2.bits.tp_src == 0xffff);
  CHECK(wc2.bits.tp_dst == 0xffc0);
  // The rule's own ports still match exactly.
  FlowMask wc3;
  REQUIRE(cls.Lookup(TcpPacket(1, Ip(9, 1, 1, 1), 10, 10), &wc3)->user == &rules[0]);
  CHECK(wc3.bits.tp_dst == 0xffff);
}

TEST_CASE("partitioning skips tuples of other metadata without probing", "[of_classifier_opt]") {
  OfClassifier cls;
  Match a, b;
  a.Exact(FieldId::kMetadata, 1).Tcp().Exact(FieldId::kTpDst, 80);
  b.Exact(FieldId::kMetadata, 2).Tcp().Exact(FieldId::kTpSrc, 443);
  cls.Insert(a.key, a.mask, 10, &rules[0]);
  cls.Insert(b.key, b.mask, 20, &rules[1]);  // searched first
  REQUIRE(cls.PartitionCount() == 2);

  FlowKey p = TcpPacket(1, 2, 443, 80);
  p.metadata = 1;
  OfLookupStats stats;
  FlowMask wc;
  REQUIRE(cls.Lookup(p, &wc, &stats)->user == &rules[0]);
  CHECK(stats.skipped_by_partition == 1);
  CHECK(stats.tuples_probed == 1);
  CHECK(wc.bits.tp_src == 0);  // the metadata=2 tuple was never looked at

  p.metadata = 3;  // no partition at all: both skipped
  OfLookupStats stats3;
  REQUIRE(cls.Lookup(p, nullptr, &stats3) == nullptr);
  CHECK(stats3.skipped_by_partition == 2);
  CHECK(stats3.tuples_probed == 0);

  cls.Remove(a.key, a.mask, 10);
  CHECK(cls.PartitionCount() == 1);
}

// --- each optimisation cuts megaflows (or probes) on its traffic mix -------------

TEST_CASE("megaflow counts: priority sorting on a routed mix", "[of_classifier_opt]") {
  auto traffic = [](auto&& send) {
    for (uint16_t port = 1; port <= 500; port++) send(TcpPacket(Ip(10, 0, 0, 1), Ip(11, 1, 2, 3), 40000, port));
  };
  OfClassifierOptions off = AllOff();
  OfClassifierOptions on = off;
  on.priority_sorting = true;
  OfClassifier with(on), without(off);
  Match route, acl;
  route.Ip().Prefix(FieldId::kNwDst, Ip(11, 1, 0, 0), 16);
  acl.Tcp().Exact(FieldId::kTpDst, 22);
  for (OfClassifier* c : {&with, &without}) {
    c->Insert(route.key, route.mask, 100, &rules[0]);
    c->Insert(acl.key, acl.mask, 50, &rules[1]);
  }
  const Outcome a = Run(with, traffic), b = Run(without, traffic);
  CHECK(a.megaflows == 1);
  CHECK(b.megaflows == 500);
}

TEST_CASE("megaflow counts: staged lookup on R2 with other hosts' ports", "[of_classifier_opt]") {
  auto traffic = [](auto&& send) {
    for (uint16_t port = 1; port <= 500; port++) send(TcpPacket(Ip(10, 0, 0, 1), Ip(11, 1, 2, 3), 40000, port));
  };
  OfClassifierOptions off = AllOff();
  off.priority_sorting = true;
  OfClassifierOptions on = off;
  on.staged_lookup = true;
  OfClassifier with(on), without(off);
  AddR2(&with);
  AddR2(&without);
  const Outcome a = Run(with, traffic), b = Run(without, traffic);
  CHECK(a.megaflows == 1);
  CHECK(b.megaflows == 500);
  CHECK(a.stats.stage_exits == 500);
}

TEST_CASE("megaflow counts: prefix tracking on a host scan", "[of_classifier_opt]") {
  // Hosts 11.1.0.0/24 scanned against R2: without tries each packet
  // un-wildcards the ACL host's /32; with them the walk ends at the route's
  // 11.1/16 node, so 16 bits (which the route needs anyway) prove the ACL
  // tuple cannot match.
  auto traffic = [](auto&& send) {
    for (uint32_t h = 0; h < 256; h++) send(TcpPacket(Ip(10, 0, 0, 1), Ip(11, 1, 0, h), 10, 10));
  };
  OfClassifierOptions on;
  OfClassifierOptions off = on;
  off.prefix_fields.clear();
  OfClassifier with(on), without(off);
  AddR2(&with);
  AddR2(&without);
  const Outcome a = Run(with, traffic), b = Run(without, traffic);
  CHECK(a.megaflows == 1);
  CHECK(b.megaflows == 256);
  CHECK(a.stats.skipped_by_prefix == 256);
}

TEST_CASE("megaflow counts: port tracking on a port scan of the ACL host", "[of_classifier_opt]") {
  auto traffic = [](auto&& send) {
    for (uint16_t port = 1; port <= 1024; port++) send(TcpPacket(Ip(10, 0, 0, 9), Ip(9, 1, 1, 1), 40000, port));
  };
  OfClassifierOptions on;
  OfClassifierOptions off = on;
  off.port_tracking = false;
  OfClassifier with(on), without(off);
  AddR2(&with);
  AddR2(&without);
  const Outcome a = Run(with, traffic), b = Run(without, traffic);
  CHECK(a.megaflows == 1);
  CHECK(b.megaflows == 1024);
}

TEST_CASE("megaflow counts: partitioning on a metadata pipeline", "[of_classifier_opt]") {
  // A table shared by pipeline stages (metadata 1..8), each with its own ACL
  // on tp_dst. Traffic in stage 9 has no rules: with partitioning no tuple is
  // even probed. Without staged lookup, the probed tuples would also
  // un-wildcard tp_dst, so there partitioning also cuts megaflows.
  auto traffic = [](auto&& send) {
    for (uint16_t port = 1; port <= 300; port++) {
      FlowKey k = TcpPacket(Ip(10, 0, 0, 1), Ip(11, 1, 2, 3), 40000, port);
      k.metadata = 9;
      send(k);
    }
  };
  auto fill = [](OfClassifier* c) {
    for (uint64_t stage = 1; stage <= 8; stage++) {
      Match m;
      m.Exact(FieldId::kMetadata, stage).Tcp().Masked(FieldId::kTpDst, stage * 100, 0xffff >> (stage - 1));
      c->Insert(m.key, m.mask, static_cast<int32_t>(stage), &rules[0]);
    }
  };
  OfClassifierOptions on = AllOff();
  on.priority_sorting = true;
  on.partitioning = true;
  OfClassifierOptions off = on;
  off.partitioning = false;
  OfClassifier with(on), without(off);
  fill(&with);
  fill(&without);
  const Outcome a = Run(with, traffic), b = Run(without, traffic);
  CHECK(a.megaflows == 1);
  CHECK(b.megaflows > 100);
  CHECK(a.stats.tuples_probed == 0);
  CHECK(b.stats.tuples_probed == 8 * 300);

  // With staged lookup on, the stage-0 miss already keeps tp_dst wildcarded;
  // partitioning still saves every probe.
  on.staged_lookup = off.staged_lookup = true;
  with.SetOptions(on);
  without.SetOptions(off);
  const Outcome c = Run(with, traffic), d = Run(without, traffic);
  CHECK(c.stats.tuples_probed == 0);
  CHECK(d.stats.tuples_probed == 8 * 300);
  CHECK(d.stats.stage_exits == 8 * 300);
}

TEST_CASE("prefix tries stay small and empty out", "[of_classifier_opt]") {
  OfClassifier cls;
  std::vector<Match> ms;
  for (uint32_t i = 0; i < 1000; i++) {
    Match m;
    m.Ip().Prefix(FieldId::kNwDst, i * 2654435761u, 8 + i % 25).Prefix(FieldId::kNwSrc, i * 40503u, 16);
    cls.Insert(m.key, m.mask, static_cast<int32_t>(i), &rules[0]);
    ms.push_back(m);
  }
  // Path compression: at most 2 nodes per distinct prefix, per trie.
  CHECK(cls.TrieNodeCount() <= 2 * 2 * 1000);
  for (size_t i = 0; i < ms.size(); i++) cls.Remove(ms[i].key, ms[i].mask, static_cast<int32_t>(i));
  CHECK(cls.TrieNodeCount() == 0);
  CHECK(cls.SubtableCount() == 0);
}
