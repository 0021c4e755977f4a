// SPDX-License-Identifier: BSD-3-Clause
// Action executor and tx batching tests, observed on the wire: dp ports 0..2
// are net_ring ethdevs whose single ring is both rx and tx, so whatever
// rte_eth_tx_burst sends lands in the ring, where the test dequeues it. Every
// test records the pool's in-use count first and checks it comes back once
// the transmitted mbufs are freed, which catches both leaks and the wrong
// reference counts that sharing an mbuf between outputs could introduce.

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include <catch2/catch.hpp>

#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include "packet/dp_actions.h"
#include "packet/field.h"
#include "packet/flow_key.h"
#include "packet/mbuf_parse.h"
#include "packet/parser.h"
#include "pmd/action_executor.h"
#include "pmd/pmd_stats.h"
#include "pmd/tx_batch.h"
#include "support/packet_builder.h"

namespace dpswitch::pmd {
namespace {

using pkt::DpAction;
using pkt::DpActionType;
using pkt::FieldId;
using test::MacAddr;
using test::MbufBytes;
using test::PacketBuilder;
using test::ParseIp4;
using test::ParseMac;

constexpr uint16_t kNumRingPorts = 3;  // dp ports 0..2
constexpr uint16_t kTinyPort = 3;      // dp port on a ring that holds only 3 packets

// A started net_ring ethdev whose one ring is both its rx and its tx queue.
struct RingPort {
  rte_ring* ring = nullptr;
  uint16_t eth_port = 0;
};

RingPort MakeRingPort(const char* name, unsigned ring_size) {
  RingPort p;
  p.ring = rte_ring_create(name, ring_size, SOCKET_ID_ANY, 0);
  REQUIRE(p.ring != nullptr);
  const int port = rte_eth_from_ring(p.ring);
  REQUIRE(port >= 0);
  p.eth_port = static_cast<uint16_t>(port);
  // Without configure + start, 22.11's rte_eth_tx_burst goes to a dummy that
  // sends nothing.
  rte_eth_conf conf{};
  REQUIRE(rte_eth_dev_configure(p.eth_port, 1, 1, &conf) == 0);
  REQUIRE(rte_eth_rx_queue_setup(p.eth_port, 0, 0, SOCKET_ID_ANY, nullptr, test::TestPktPool()) ==
          0);
  REQUIRE(rte_eth_tx_queue_setup(p.eth_port, 0, 0, SOCKET_ID_ANY, nullptr) == 0);
  REQUIRE(rte_eth_dev_start(p.eth_port) == 0);
  return p;
}

// The ring ethdevs, created once per process (ethdev and ring names are
// global and these tests never tear them down).
struct RingPorts {
  std::array<RingPort, kNumRingPorts> ports;
  RingPort tiny;  // ring of size 4: 3 usable slots
};

const RingPorts& Rings() {
  static const RingPorts rings = [] {
    RingPorts r;
    const char* names[kNumRingPorts] = {"dps_aex0", "dps_aex1", "dps_aex2"};
    for (uint16_t i = 0; i < kNumRingPorts; i++) r.ports[i] = MakeRingPort(names[i], 128);
    r.tiny = MakeRingPort("dps_aex_tiny", 4);
    return r;
  }();
  return rings;
}

// Everything transmitted to a ring so far, in order.
std::vector<rte_mbuf*> Drain(rte_ring* ring) {
  std::vector<rte_mbuf*> out;
  void* obj;
  while (rte_ring_dequeue(ring, &obj) == 0) out.push_back(static_cast<rte_mbuf*>(obj));
  return out;
}

void FreeAll(const std::vector<rte_mbuf*>& v) {
  for (rte_mbuf* m : v) rte_pktmbuf_free(m);
}

unsigned InUse() { return rte_mempool_in_use_count(test::TestPktPool()); }

// One PMD's executor state with dp ports 0..2 (and optionally 3, the tiny
// ring) mapped; the rings start empty.
struct Harness {
  Harness() : tx(std::make_unique<TxBatches>(0)) {
    const RingPorts& r = Rings();
    for (uint16_t i = 0; i < kNumRingPorts; i++) {
      FreeAll(Drain(r.ports[i].ring));  // leftovers of a failed test
      tx->SetPort(i, r.ports[i].eth_port);
    }
    FreeAll(Drain(r.tiny.ring));
    tx->SetPort(kTinyPort, r.tiny.eth_port);
    ctx = ExecContext{tx.get(), test::TestPktPool(), &stats};
  }

  // Parses `m` and runs `actions` on it, then flushes as the PMD does at the
  // end of a poll iteration.
  void Run(rte_mbuf* m, std::vector<DpAction> actions) {
    REQUIRE(pkt::ParsePacket(rte_pktmbuf_mtod(m, const uint8_t*), m->data_len, 1, &key, &layout) ==
            pkt::kParseOk);
    ExecuteActions(ctx, m, &key, &layout, actions);
    tx->FlushAll();
  }

  std::vector<rte_mbuf*> Sent(uint16_t dp_port) const {
    return Drain(dp_port == kTinyPort ? Rings().tiny.ring : Rings().ports[dp_port].ring);
  }

  std::unique_ptr<TxBatches> tx;  // ~70 KB: keep it off the stack
  PmdStats stats;
  ExecContext ctx{};
  pkt::FlowKey key;
  pkt::PacketLayout layout;
};

DpAction Output(uint16_t port) {
  DpAction a{};
  a.type = DpActionType::kOutput;
  a.port = port;
  return a;
}

DpAction SetEthDst(const MacAddr& mac) {
  DpAction a{};
  a.type = DpActionType::kSetField;
  a.field = FieldId::kEthDst;
  std::memcpy(a.value.bytes, mac.data(), 6);
  a.mask = pkt::FullMask(pkt::GetField(FieldId::kEthDst));
  return a;
}

DpAction SetNwSrc(uint32_t addr) {
  DpAction a{};
  a.type = DpActionType::kSetField;
  a.field = FieldId::kNwSrc;
  a.value.u = addr;
  a.mask = pkt::FullMask(pkt::GetField(FieldId::kNwSrc));
  return a;
}

DpAction PushVlan(uint16_t tci, uint16_t tpid = 0x8100) {
  DpAction a{};
  a.type = DpActionType::kPushVlan;
  a.tci = tci;
  a.tpid = tpid;
  return a;
}

DpAction Simple(DpActionType t) {
  DpAction a{};
  a.type = t;
  return a;
}

const uint32_t kSrc = ParseIp4("10.0.0.1");
const uint32_t kDst = ParseIp4("10.0.0.2");

std::vector<uint8_t> Udp4(uint8_t ttl = 64) {
  return PacketBuilder().Eth().Ipv4(kSrc, kDst, {.ttl = ttl}).Udp(1000, 2000).Payload(18).Build();
}

// An mbuf the test hands to the executor (which then owns it).
rte_mbuf* NewMbuf(const std::vector<uint8_t>& bytes) {
  test::MbufPtr m = test::ToMbuf(bytes);
  REQUIRE(m);
  return m.release();
}

TEST_CASE("ExecuteActions: a single output hands the mbuf over", "[action_executor]") {
  Harness h;
  const unsigned base = InUse();
  const auto bytes = Udp4();
  rte_mbuf* m = NewMbuf(bytes);
  h.Run(m, {Output(1)});
  auto sent = h.Sent(1);
  REQUIRE(sent.size() == 1);
  CHECK(sent[0] == m);
  CHECK(rte_mbuf_refcnt_read(m) == 1);
  CHECK(MbufBytes(m) == bytes);
  CHECK(h.Sent(0).empty());
  CHECK(h.Sent(2).empty());
  FreeAll(sent);
  CHECK(InUse() == base);
}

TEST_CASE("ExecuteActions: a flood shares one mbuf, no copy", "[action_executor]") {
  Harness h;
  const unsigned base = InUse();
  const auto bytes = Udp4();
  rte_mbuf* m = NewMbuf(bytes);
  h.Run(m, {Output(0), Output(1), Output(2)});
  // No copy was made: the only mbuf in use is the original.
  CHECK(InUse() == base + 1);
  CHECK(rte_mbuf_refcnt_read(m) == 3);
  std::vector<rte_mbuf*> all;
  for (uint16_t p = 0; p < kNumRingPorts; p++) {
    auto sent = h.Sent(p);
    REQUIRE(sent.size() == 1);
    CHECK(sent[0] == m);
    CHECK(MbufBytes(sent[0]) == bytes);
    all.push_back(sent[0]);
  }
  FreeAll(all);
  CHECK(InUse() == base);
}

TEST_CASE("ExecuteActions: a flood of a chained mbuf references every segment",
          "[action_executor]") {
  // The transmitting driver frees each reference with rte_pktmbuf_free,
  // which drops the count of every segment: all of them must be shared, not
  // only the first, or the tail is freed while other ports still send it.
  Harness h;
  const unsigned base = InUse();
  const auto bytes = Udp4();
  test::MbufPtr chain = test::ToMbufChain(bytes, 30);
  REQUIRE(chain);
  REQUIRE(chain->nb_segs == 2);
  rte_mbuf* m = chain.get();
  rte_mbuf* tail = m->next;
  REQUIRE(pkt::ParsePacket(rte_pktmbuf_mtod(m, const uint8_t*), m->data_len, 1, &h.key,
                           &h.layout) != pkt::kParseOk);  // headers span both segments
  const std::vector<DpAction> flood = {Output(0), Output(1), Output(2)};
  ExecuteActions(h.ctx, chain.release(), &h.key, &h.layout, flood);
  h.tx->FlushAll();
  std::vector<rte_mbuf*> all;
  for (uint16_t p = 0; p < kNumRingPorts; p++) {
    auto sent = h.Sent(p);
    REQUIRE(sent.size() == 1);
    CHECK(sent[0] == m);
    CHECK(MbufBytes(sent[0]) == bytes);
    all.push_back(sent[0]);
  }
  CHECK(rte_mbuf_refcnt_read(m) == 3);
  const bool tail_shared = rte_mbuf_refcnt_read(tail) == 3;
  CHECK(tail_shared);
  // Freeing with a wrong tail count would put the tail into the pool three
  // times and corrupt it for later tests: leak instead.
  if (!tail_shared) return;
  FreeAll(all);
  CHECK(InUse() == base);
}

TEST_CASE("ExecuteActions: output, rewrite, output sends both versions", "[action_executor]") {
  Harness h;
  const unsigned base = InUse();
  const MacAddr new_dst = ParseMac("02:aa:bb:cc:dd:ee");
  const auto bytes = Udp4();
  const auto rewritten = PacketBuilder()
                             .Eth(new_dst, test::kDefaultSrcMac)
                             .Ipv4(kSrc, kDst)
                             .Udp(1000, 2000)
                             .Payload(18)
                             .Build();
  REQUIRE(rewritten != bytes);
  rte_mbuf* m = NewMbuf(bytes);
  h.Run(m, {Output(0), SetEthDst(new_dst), Output(1)});
  auto sent0 = h.Sent(0);
  auto sent1 = h.Sent(1);
  REQUIRE(sent0.size() == 1);
  REQUIRE(sent1.size() == 1);
  CHECK(sent0[0] != m);  // the copy goes first; the original is rewritten
  CHECK(sent1[0] == m);
  CHECK(MbufBytes(sent0[0]) == bytes);
  CHECK(MbufBytes(sent1[0]) == rewritten);
  CHECK(rte_mbuf_refcnt_read(sent0[0]) == 1);
  CHECK(rte_mbuf_refcnt_read(sent1[0]) == 1);
  CHECK(h.Sent(2).empty());
  FreeAll(sent0);
  FreeAll(sent1);
  CHECK(InUse() == base);
}

TEST_CASE("ExecuteActions: a rewrite after the last output is dropped with the packet",
          "[action_executor]") {
  Harness h;
  const unsigned base = InUse();
  const auto bytes = Udp4();
  rte_mbuf* m = NewMbuf(bytes);
  h.Run(m, {Output(2), SetEthDst(ParseMac("02:00:00:00:00:99"))});
  auto sent = h.Sent(2);
  REQUIRE(sent.size() == 1);
  CHECK(MbufBytes(sent[0]) == bytes);  // sent before the rewrite
  FreeAll(sent);
  CHECK(InUse() == base);
}

TEST_CASE("ExecuteActions: set nw_src keeps IPv4 and L4 checksums valid", "[action_executor]") {
  const uint32_t new_src = ParseIp4("192.168.77.5");
  struct Case {
    const char* name;
    std::vector<uint8_t> in, want;
  };
  const Case cases[] = {
      {"udp", Udp4(),
       PacketBuilder().Eth().Ipv4(new_src, kDst).Udp(1000, 2000).Payload(18).Build()},
      {"tcp", test::BuildTcp4(kSrc, kDst, 1000, 80), test::BuildTcp4(new_src, kDst, 1000, 80)},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    Harness h;
    const unsigned base = InUse();
    rte_mbuf* m = NewMbuf(c.in);
    h.Run(m, {SetNwSrc(new_src), Output(0)});
    CHECK(h.key.nw_src == new_src);
    auto sent = h.Sent(0);
    REQUIRE(sent.size() == 1);
    CHECK(sent[0] == m);  // nothing follows the output: no copy
    const auto out = MbufBytes(sent[0]);
    CHECK(test::ChecksumErrors(out) == "");
    CHECK(out == c.want);
    FreeAll(sent);
    CHECK(InUse() == base);
  }
}

TEST_CASE("ExecuteActions: push_vlan, output, pop_vlan, output", "[action_executor]") {
  Harness h;
  const unsigned base = InUse();
  const auto bytes = Udp4();
  const auto tagged =
      PacketBuilder().Eth().Vlan(0x2064).Ipv4(kSrc, kDst).Udp(1000, 2000).Payload(18).Build();
  rte_mbuf* m = NewMbuf(bytes);
  h.Run(m, {PushVlan(0x2064), Output(0), Simple(DpActionType::kPopVlan), Output(1)});
  auto sent0 = h.Sent(0);
  auto sent1 = h.Sent(1);
  REQUIRE(sent0.size() == 1);
  REQUIRE(sent1.size() == 1);
  CHECK(sent0[0] != m);
  CHECK(sent1[0] == m);
  CHECK(MbufBytes(sent0[0]) == tagged);
  CHECK(MbufBytes(sent1[0]) == bytes);
  CHECK(test::ChecksumErrors(MbufBytes(sent0[0])) == "");
  CHECK(h.key.vlan_tci == 0);
  CHECK(h.layout.n_vlans == 0);
  FreeAll(sent0);
  FreeAll(sent1);
  CHECK(InUse() == base);
}

TEST_CASE("ExecuteActions: dec_ttl with TTL 1 stops the program and frees the packet",
          "[action_executor]") {
  SECTION("nothing before it") {
    Harness h;
    const unsigned base = InUse();
    h.Run(NewMbuf(Udp4(1)), {Simple(DpActionType::kDecTtl), Output(0)});
    CHECK(h.Sent(0).empty());
    CHECK(InUse() == base);
  }
  SECTION("an earlier output still goes out, a later one does not") {
    Harness h;
    const unsigned base = InUse();
    const auto bytes = Udp4(1);
    h.Run(NewMbuf(bytes), {Output(0), Simple(DpActionType::kDecTtl), Output(1)});
    auto sent0 = h.Sent(0);
    REQUIRE(sent0.size() == 1);
    CHECK(MbufBytes(sent0[0]) == bytes);
    CHECK(h.Sent(1).empty());
    FreeAll(sent0);
    CHECK(InUse() == base);
  }
}

TEST_CASE("ExecuteActions: dec_ttl with TTL 64 sends TTL 63", "[action_executor]") {
  Harness h;
  const unsigned base = InUse();
  rte_mbuf* m = NewMbuf(Udp4(64));
  h.Run(m, {Simple(DpActionType::kDecTtl), Output(2)});
  CHECK(h.key.nw_ttl == 63);
  auto sent = h.Sent(2);
  REQUIRE(sent.size() == 1);
  const auto out = MbufBytes(sent[0]);
  CHECK(out[14 + 8] == 63);
  CHECK(test::ChecksumErrors(out) == "");
  CHECK(out == Udp4(63));
  FreeAll(sent);
  CHECK(InUse() == base);
}

TEST_CASE("ExecuteActions: an empty program drops the packet", "[action_executor]") {
  Harness h;
  const unsigned base = InUse();
  h.Run(NewMbuf(Udp4()), {});
  for (uint16_t p = 0; p < kNumRingPorts; p++) CHECK(h.Sent(p).empty());
  CHECK(InUse() == base);
  CHECK(h.stats.tx_dropped.load() == 0);  // a drop action, not a tx failure
}

TEST_CASE("ExecuteActions: a 9000-byte chain through output, rewrite, output, push_vlan, output",
          "[action_executor][jumbo]") {
  Harness h;
  const unsigned base = InUse();
  const MacAddr mac = ParseMac("02:aa:bb:cc:dd:ee");
  auto frame = [&](bool rewritten, bool tagged) {
    PacketBuilder b;
    b.Eth(rewritten ? mac : test::kDefaultDstMac);
    if (tagged) b.Vlan(0x0005);
    return b.Ipv4(rewritten ? ParseIp4("10.9.9.9") : kSrc, kDst)
        .Udp(1000, 2000)
        .Payload(9000 - 14 - 20 - 8)
        .Build();
  };
  for (size_t first : {0, 20}) {  // 2 KiB segments; headers split after 20 bytes
    INFO("first segment " << (first ? first : 2048) << " bytes");
    const auto in = frame(false, false);
    test::MbufPtr chain = test::ToMbufSegments(in, 2048, first);
    REQUIRE(chain);
    rte_mbuf* m = chain.release();
    REQUIRE(pkt::ParseMbuf(m, 1, &h.key, &h.layout) == pkt::kParseOk);
    ExecuteActions(h.ctx, m, &h.key, &h.layout,
                   std::vector<DpAction>{Output(0), SetEthDst(mac), SetNwSrc(ParseIp4("10.9.9.9")),
                                         Output(1), PushVlan(5), Output(2)});
    h.tx->FlushAll();
    const auto sent0 = h.Sent(0), sent1 = h.Sent(1), sent2 = h.Sent(2);
    REQUIRE(sent0.size() == 1);
    REQUIRE(sent1.size() == 1);
    REQUIRE(sent2.size() == 1);
    CHECK(MbufBytes(sent0[0]) == in);
    CHECK(MbufBytes(sent1[0]) == frame(true, false));
    CHECK(MbufBytes(sent2[0]) == frame(true, true));
    for (rte_mbuf* s : {sent0[0], sent1[0], sent2[0]}) {
      CHECK(s->nb_segs > 1);
      CHECK(rte_mbuf_check(s, 1, nullptr) == 0);
    }
    FreeAll(sent0);
    FreeAll(sent1);
    FreeAll(sent2);
    CHECK(InUse() == base);  // every segment of every copy came back
  }
}

TEST_CASE("TxBatches: a full batch goes out at once, the rest on FlushAll", "[tx_batch]") {
  Harness h;
  const unsigned base = InUse();
  std::vector<rte_mbuf*> pkts;
  for (int i = 0; i < kTxBurst + 1; i++) pkts.push_back(NewMbuf(Udp4()));
  for (int i = 0; i < kTxBurst; i++) h.tx->Enqueue(0, pkts[i]);
  CHECK(rte_ring_count(Rings().ports[0].ring) == kTxBurst);
  h.tx->Enqueue(0, pkts[kTxBurst]);
  CHECK(rte_ring_count(Rings().ports[0].ring) == kTxBurst);  // batch of one waits
  h.tx->FlushAll();
  auto sent = h.Sent(0);
  CHECK(sent == pkts);  // all of them, in order
  CHECK(h.tx->TotalDropped() == 0);
  // A second FlushAll has nothing left to send.
  h.tx->FlushAll();
  CHECK(h.Sent(0).empty());
  FreeAll(sent);
  CHECK(InUse() == base);
}

TEST_CASE("TxBatches: a packet for an unmapped port is dropped and counted", "[tx_batch]") {
  Harness h;
  const unsigned base = InUse();
  h.tx->Enqueue(7, NewMbuf(Udp4()));
  CHECK(h.tx->Dropped(7) == 1);
  h.tx->Enqueue(kMaxPorts + 5, NewMbuf(Udp4()));  // out of range entirely
  CHECK(h.tx->TotalDropped() == 2);
  h.tx->FlushAll();
  for (uint16_t p = 0; p < kNumRingPorts; p++) CHECK(h.Sent(p).empty());
  CHECK(InUse() == base);
}

TEST_CASE("TxBatches: what a full tx ring refuses is freed and counted", "[tx_batch]") {
  Harness h;
  const unsigned base = InUse();
  std::vector<rte_mbuf*> pkts;
  for (int i = 0; i < 5; i++) pkts.push_back(NewMbuf(Udp4()));
  for (rte_mbuf* m : pkts) h.tx->Enqueue(kTinyPort, m);
  h.tx->FlushAll();
  auto sent = h.Sent(kTinyPort);
  REQUIRE(sent.size() == 3);
  CHECK(std::equal(sent.begin(), sent.end(), pkts.begin()));
  CHECK(h.tx->Dropped(kTinyPort) == 2);
  CHECK(h.tx->TotalDropped() == 2);
  CHECK(InUse() == base + 3);  // the two refused ones are already back
  FreeAll(sent);
  CHECK(InUse() == base);
}

TEST_CASE("ExecuteActions + TxBatches: a shared reference the driver refuses",
          "[action_executor][tx_batch]") {
  // A refused reference is freed on its own; the mbuf must live on for the
  // port that did take it, and go back to the pool with its last reference.
  Harness h;
  const unsigned base = InUse();
  std::vector<rte_mbuf*> flooded;
  // The tiny ring takes 3: filler 0, flooded 0, filler 1; flooded 1 is refused.
  for (int i = 0; i < 2; i++) {
    h.tx->Enqueue(kTinyPort, NewMbuf(Udp4()));
    rte_mbuf* m = NewMbuf(Udp4());
    flooded.push_back(m);
    h.Run(m, {Output(0), Output(kTinyPort)});
  }
  CHECK(h.tx->Dropped(kTinyPort) == 1);
  auto sent_tiny = h.Sent(kTinyPort);
  REQUIRE(sent_tiny.size() == 3);
  CHECK(sent_tiny[1] == flooded[0]);
  auto sent0 = h.Sent(0);
  CHECK(sent0 == flooded);
  CHECK(rte_mbuf_refcnt_read(flooded[0]) == 2);
  CHECK(rte_mbuf_refcnt_read(flooded[1]) == 1);
  CHECK(MbufBytes(flooded[1]) == Udp4());
  FreeAll(sent_tiny);
  FreeAll(sent0);
  CHECK(InUse() == base);
}

}  // namespace
}  // namespace dpswitch::pmd
