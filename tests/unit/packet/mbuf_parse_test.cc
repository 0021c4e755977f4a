// SPDX-License-Identifier: BSD-3-Clause
// Multi-segment mbufs (jumbo frames in 2 KiB segments, headers split across
// segments): ParseMbuf must give the key and layout ParsePacket gives for the
// same bytes laid out flat, leave the bytes alone, and let the header rewrite
// produce what the same rewrite produces on the flat frame (which the
// builder states independently, checksums included).

#include <cstring>
#include <vector>

#include <catch2/catch.hpp>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "packet/dp_actions.h"
#include "packet/field.h"
#include "packet/mbuf_parse.h"
#include "packet/parser.h"
#include "packet/rewrite.h"
#include "support/packet_builder.h"

namespace dpswitch::pkt {
namespace {

using test::PacketBuilder;
using test::ParseIp4;
using test::ParseIp6;

constexpr uint32_t kInPort = 7;
constexpr size_t kJumbo = 9000;  // frame bytes
const uint32_t kIpA = ParseIp4("10.0.0.1");
const uint32_t kIpB = ParseIp4("10.0.0.2");
const uint32_t kIpC = ParseIp4("192.168.7.9");

bool SameKey(const FlowKey& a, const FlowKey& b) { return std::memcmp(&a, &b, sizeof(a)) == 0; }
bool SameLayout(const PacketLayout& a, const PacketLayout& b) {
  return a.l3_ofs == b.l3_ofs && a.l4_ofs == b.l4_ofs && a.n_vlans == b.n_vlans;
}

unsigned InUse() { return rte_mempool_in_use_count(test::TestPktPool()); }

// A TCP/IPv4 frame of exactly `frame` bytes (optionally VLAN-tagged).
std::vector<uint8_t> Tcp4Frame(size_t frame, bool vlan = false, uint32_t src = kIpA,
                               uint8_t ttl = 64, uint16_t dport = 2000) {
  PacketBuilder b;
  b.Eth();
  if (vlan) b.Vlan(0x0123);
  const size_t hdrs = 14 + (vlan ? 4 : 0) + 20 + 20;
  return b.Ipv4(src, kIpB, {.ttl = ttl}).Tcp(1000, dport).Payload(frame - hdrs).Build();
}

std::vector<uint8_t> Udp6Frame(size_t frame) {
  return PacketBuilder()
      .Eth()
      .Ipv6(ParseIp6("2001:db8::1"), ParseIp6("2001:db8::2"))
      .Ipv6Ext(0 /* hop-by-hop */, 16)
      .Udp(53, 5353)
      .Payload(frame - 14 - 40 - 16 - 8)
      .Build();
}

std::vector<uint8_t> Sctp4Frame(size_t frame, uint16_t dport) {
  return PacketBuilder()
      .Eth()
      .Ipv4(kIpA, kIpB)
      .Sctp(1000, dport)
      .Payload(frame - 14 - 20 - 12)
      .Build();
}

// Parses `bytes` flat and as the chain `m`; checks both agree and that the
// chain still holds exactly `bytes`.
void CheckSameAsFlat(rte_mbuf* m, const std::vector<uint8_t>& bytes) {
  FlowKey flat_key, key;
  PacketLayout flat_layout, layout;
  const uint32_t flat_err = ParsePacket(bytes.data(), static_cast<uint32_t>(bytes.size()), kInPort,
                                        &flat_key, &flat_layout);
  const uint32_t err = ParseMbuf(m, kInPort, &key, &layout);
  CHECK(flat_err == kParseOk);
  CHECK(err == flat_err);
  CHECK(SameKey(key, flat_key));
  CHECK(SameLayout(layout, flat_layout));
  CHECK(rte_pktmbuf_pkt_len(m) == bytes.size());
  CHECK(test::MbufBytes(m) == bytes);
  CHECK(rte_mbuf_check(m, 1, nullptr) == 0);
}

DpAction Set(FieldId id, uint64_t value) {
  DpAction a{};
  a.type = DpActionType::kSetField;
  a.field = id;
  a.value.u = value;
  a.mask = FullMask(GetField(id));
  return a;
}

TEST_CASE("ParseMbuf: a 9000-byte frame in 2 KiB segments parses as the flat frame",
          "[mbuf_parse]") {
  const unsigned base = InUse();
  for (const auto& bytes : {Tcp4Frame(kJumbo), Tcp4Frame(kJumbo, true), Udp6Frame(kJumbo),
                            Tcp4Frame(1518), Tcp4Frame(9018, true)}) {
    test::MbufPtr m = test::ToMbufSegments(bytes, 2048);
    REQUIRE(m);
    REQUIRE(m->nb_segs == (bytes.size() + 2047) / 2048);
    const uint16_t segs = m->nb_segs;
    CheckSameAsFlat(m.get(), bytes);
    CHECK(m->nb_segs == segs);  // headers were in the first segment: nothing moved
  }
  CHECK(InUse() == base);
}

TEST_CASE("ParseFrame: lengths against the frame, headers from the readable bytes",
          "[mbuf_parse]") {
  const auto bytes = Tcp4Frame(1000);
  FlowKey flat, k;
  PacketLayout flat_l, l;
  REQUIRE(ParsePacket(bytes.data(), 1000, kInPort, &flat, &flat_l) == kParseOk);
  // All headers within the first 100 bytes: as if flat.
  CHECK(ParseFrame(bytes.data(), 100, 1000, kInPort, &k, &l) == kParseOk);
  CHECK(SameKey(k, flat));
  CHECK(SameLayout(l, flat_l));
  // Only 100 bytes of a 100-byte buffer: the IPv4 total length says 986.
  CHECK(ParsePacket(bytes.data(), 100, kInPort, &k, &l) == kParseTruncL3);
  // The IPv4 header reaches past the readable bytes: truncated, L2 kept.
  CHECK(ParseFrame(bytes.data(), 30, 1000, kInPort, &k, &l) == kParseTruncL3);
  CHECK(k.eth_type == 0x0800);
  CHECK(k.nw_src == 0);
  CHECK(l.l3_ofs == 0);
  // The TCP header reaches past them: L3 kept, L4 truncated.
  CHECK(ParseFrame(bytes.data(), 40, 1000, kInPort, &k, &l) == kParseTruncL4);
  CHECK(k.nw_src == kIpA);
  CHECK(k.tp_dst == 0);
  CHECK(l.l4_ofs == 0);
}

TEST_CASE("ParseMbuf: headers split across segments are pulled into the first one",
          "[mbuf_parse]") {
  const unsigned base = InUse();
  for (size_t first : {1, 10, 14, 20, 40, 60, 100, 255}) {
    INFO("first segment " << first << " bytes");
    const auto bytes = Tcp4Frame(kJumbo, true);
    test::MbufPtr m = test::ToMbufSegments(bytes, 2048, first);
    REQUIRE(m);
    CheckSameAsFlat(m.get(), bytes);
    CHECK(m->data_len >= kHeaderWindow);
  }
  // Many tiny segments: the ones emptied by the pull-up go back to the pool.
  for (size_t seg : {1, 7, 16, 64}) {
    INFO("segments of " << seg << " bytes");
    const auto bytes = Udp6Frame(600);
    test::MbufPtr m = test::ToMbufSegments(bytes, seg);
    REQUIRE(m);
    const unsigned held = InUse();
    CheckSameAsFlat(m.get(), bytes);
    CHECK(m->data_len >= kHeaderWindow);
    CHECK(InUse() == held - (kHeaderWindow - seg) / seg);  // emptied segments
    CHECK(m->nb_segs == 1 + (bytes.size() - m->data_len + seg - 1) / seg);
  }
  CHECK(InUse() == base);
}

TEST_CASE("ParseMbuf: a full first buffer makes room by using its headroom", "[mbuf_parse]") {
  const auto bytes = Tcp4Frame(2000);
  test::MbufPtr head = test::ToMbuf(std::vector<uint8_t>(bytes.begin(), bytes.begin() + 20),
                                    static_cast<uint16_t>(RTE_MBUF_DEFAULT_BUF_SIZE - 20));
  test::MbufPtr tail = test::ToMbuf(std::vector<uint8_t>(bytes.begin() + 20, bytes.end()));
  REQUIRE(head);
  REQUIRE(tail);
  REQUIRE(rte_pktmbuf_tailroom(head.get()) == 0);
  REQUIRE(rte_pktmbuf_chain(head.get(), tail.release()) == 0);
  CheckSameAsFlat(head.get(), bytes);
  CHECK(head->data_len >= kHeaderWindow);
  CHECK(rte_pktmbuf_headroom(head.get()) >= kKeepHeadroom);
}

TEST_CASE("ParseMbuf: a shared chain is left alone; headers past its first segment are truncated",
          "[mbuf_parse]") {
  const auto bytes = Tcp4Frame(3000);
  test::MbufPtr m = test::ToMbufSegments(bytes, 2048, 30);
  REQUIRE(m);
  rte_pktmbuf_refcnt_update(m.get(), 1);
  FlowKey k;
  PacketLayout l;
  CHECK(ParseMbuf(m.get(), kInPort, &k, &l) == kParseTruncL3);
  CHECK(m->data_len == 30);
  CHECK(test::MbufBytes(m.get()) == bytes);
  // Rewrites then touch nothing outside the first segment.
  SetField(m.get(), &l, &k, Set(FieldId::kNwSrc, kIpC));
  CHECK(test::MbufBytes(m.get()) == bytes);
  rte_pktmbuf_refcnt_update(m.get(), -1);
}

TEST_CASE("rewrites on a 9000-byte chain give the bytes of the same rewrites on the flat frame",
          "[mbuf_parse][rewrite]") {
  const unsigned base = InUse();
  for (size_t first : {0, 20}) {  // 0: 2 KiB segments throughout; 20: split headers
    INFO("first segment " << (first ? first : 2048) << " bytes");
    const auto bytes = Tcp4Frame(kJumbo);
    test::MbufPtr m = test::ToMbufSegments(bytes, 2048, first);
    REQUIRE(m);
    FlowKey k;
    PacketLayout l;
    REQUIRE(ParseMbuf(m.get(), kInPort, &k, &l) == kParseOk);
    SetField(m.get(), &l, &k, Set(FieldId::kNwSrc, kIpC));
    SetField(m.get(), &l, &k, Set(FieldId::kTpDst, 80));
    REQUIRE(DecTtl(m.get(), l, &k));
    REQUIRE(PushVlan(m.get(), &l, &k, 0x8100, 0x0123));
    auto want = Tcp4Frame(kJumbo + 4, true, kIpC, 63, 80);
    CHECK(test::ChecksumErrors(want).empty());
    CHECK(test::MbufBytes(m.get()) == want);
    CHECK(rte_pktmbuf_pkt_len(m.get()) == kJumbo + 4);
    FlowKey reparsed;
    PacketLayout reparsed_l;
    ParsePacket(want.data(), static_cast<uint32_t>(want.size()), kInPort, &reparsed, &reparsed_l);
    CHECK(SameKey(k, reparsed));
    CHECK(SameLayout(l, reparsed_l));
    PopVlan(m.get(), &l, &k);
    CHECK(test::MbufBytes(m.get()) == Tcp4Frame(kJumbo, false, kIpC, 63, 80));
    CHECK(rte_mbuf_check(m.get(), 1, nullptr) == 0);
  }
  // SCTP: the CRC32c covers the whole chain.
  const auto sctp = Sctp4Frame(kJumbo, 2000);
  test::MbufPtr m = test::ToMbufSegments(sctp, 2048);
  REQUIRE(m);
  FlowKey k;
  PacketLayout l;
  REQUIRE(ParseMbuf(m.get(), kInPort, &k, &l) == kParseOk);
  SetField(m.get(), &l, &k, Set(FieldId::kTpDst, 80));
  CHECK(test::MbufBytes(m.get()) == Sctp4Frame(kJumbo, 80));
  m.reset();
  CHECK(InUse() == base);
}

}  // namespace
}  // namespace dpswitch::pkt
