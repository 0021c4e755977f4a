// SPDX-License-Identifier: BSD-3-Clause
#include "ofproto/xlate.h"

#include <algorithm>
#include <optional>

#include "ofproto/field_text.h"

namespace dpswitch::ofp {
namespace {

using pkt::DpAction;
using pkt::DpActionType;
using pkt::FieldId;
using pkt::FieldInfo;
using pkt::FieldValue;
using pkt::FlowKey;
using pkt::FlowMask;

constexpr uint16_t kEthIpv4 = 0x0800;
constexpr uint16_t kEthIpv6 = 0x86dd;
constexpr uint16_t kEthArp = 0x0806;

// One translation: the working key, what has been written, what was read.
class XlateContext {
 public:
  XlateContext(const FlowTable* tables, const XlatePorts& ports, FlowMask* wc,
               std::vector<DpAction>* out, std::vector<const Rule*>* matched)
      : tables_(tables),
        ports_(ports),
        wc_(wc),
        out_(out),
        out_start_(out->size()),
        matched_(matched) {}

  XlateStats Run(const FlowKey& key) {
    flow_ = key;
    written_.Clear();
    // OpenFlow metadata is 0 when a packet enters the pipeline, whatever the
    // key says: a constant, like a written field, so no megaflow depends on
    // it. (The classifier's metadata partitioning relies on this: it skips
    // tuples by metadata without un-wildcarding it.)
    flow_.metadata = 0;
    written_.metadata = ~uint64_t{0};
    wc_->bits.in_port = 0xffffffff;  // output/flood decisions compare against it
    DoTable(0, 0, std::nullopt);
    if (aborted_) out_->resize(out_start_);
    wc_->Finalize();
    return stats_;
  }

 private:
  // --- reading the working key ------------------------------------------------
  // Un-wildcards `bits`, except those holding constants written by actions.
  void Consult(const FlowKey& bits) {
    for (uint32_t i = 0; i < pkt::kKeyWords; i++)
      wc_->bits.SetWord(i, wc_->bits.Word(i) | (bits.Word(i) & ~written_.Word(i)));
    if (ttl_derived_ && bits.nw_ttl != 0) wc_->bits.nw_ttl = 0xff;
  }

  uint64_t Read(FieldId id) {
    const FieldInfo& f = pkt::GetField(id);
    Consult(FieldBits(f));
    return pkt::GetFieldValue(f, flow_).u;
  }

  bool VlanPresent() {
    FlowKey bits;
    bits.Clear();
    bits.vlan_tci = pkt::kVlanPresent;
    Consult(bits);
    return (flow_.vlan_tci & pkt::kVlanPresent) != 0;
  }

  bool LaterFragment() {
    FlowKey bits;
    bits.Clear();
    bits.nw_frag = pkt::kFragLater;
    Consult(bits);
    return (flow_.nw_frag & pkt::kFragLater) != 0;
  }

  // Does the working packet have the header a field needs? `l4` also
  // requires the L4 header to be present (not a later fragment).
  bool Has(pkt::Prereq p, bool l4) {
    if (p == pkt::Prereq::kNone) return true;
    if (p == pkt::Prereq::kVlan) return VlanPresent();
    const uint64_t type = Read(FieldId::kEthType);
    const bool ip4 = type == kEthIpv4, ip6 = type == kEthIpv6;
    auto proto_in = [&](std::initializer_list<uint8_t> protos) {
      const uint64_t proto = Read(FieldId::kNwProto);
      if (std::find(protos.begin(), protos.end(), proto) == protos.end()) return false;
      return !l4 || !LaterFragment();
    };
    switch (p) {
      case pkt::Prereq::kNone:
      case pkt::Prereq::kVlan:
        return true;  // handled above
      case pkt::Prereq::kIpv4:
        return ip4;
      case pkt::Prereq::kIpv6:
        return ip6;
      case pkt::Prereq::kIp:
        return ip4 || ip6;
      case pkt::Prereq::kArp:
        return type == kEthArp;
      case pkt::Prereq::kIpOrArp:
        return ip4 || ip6 || type == kEthArp;
      case pkt::Prereq::kTcp:
        return (ip4 || ip6) && proto_in({6});
      case pkt::Prereq::kL4:
        return (ip4 || ip6) && proto_in({6, 17, 132});
      case pkt::Prereq::kIcmp4:
        return ip4 && proto_in({1});
      case pkt::Prereq::kIcmp6:
        return ip6 && proto_in({58});
    }
    return false;
  }

  // --- tables ------------------------------------------------------------------
  void DoTable(uint8_t table, uint32_t depth, std::optional<uint32_t> lookup_in_port) {
    if (aborted_) return;
    if (depth >= kMaxXlateDepth) {
      stats_.depth_exceeded = true;
      aborted_ = true;
      return;
    }
    if (stats_.tables_visited >= kMaxXlateLookups) {
      stats_.too_many_lookups = true;
      aborted_ = true;
      return;
    }
    stats_.tables_visited++;
    // resubmit(port,table): the lookup sees `port`, the actions the real in_port.
    const uint32_t in_port = flow_.in_port;
    if (lookup_in_port) flow_.in_port = *lookup_in_port;
    FlowMask searched;
    const Rule* rule = tables_[table].Lookup(flow_, &searched, &stats_.lookup);
    flow_.in_port = in_port;
    Consult(searched.bits);
    if (rule == nullptr) return;  // table miss: drop (for this lookup)
    if (matched_ != nullptr) matched_->push_back(rule);

    const OfInstructions& ins = rule->spec.instructions;
    for (const OfAction& a : ins.apply) {
      if (aborted_) return;
      DoAction(a, table, depth);
    }
    if (ins.write_metadata) {
      flow_.metadata = (flow_.metadata & ~ins.metadata_mask) | ins.metadata;
      written_.metadata |= ins.metadata_mask;
    }
    if (ins.goto_table) DoTable(*ins.goto_table, depth + 1, std::nullopt);
  }

  void DoAction(const OfAction& a, uint8_t table, uint32_t depth) {
    switch (a.type) {
      case OfActionType::kOutput:
        Output(a.port);
        break;
      case OfActionType::kController:
        break;  // no controller connection yet
      case OfActionType::kSetField:
        SetField(pkt::GetField(a.field), a.value, a.mask);
        break;
      case OfActionType::kModVlanVid:
      case OfActionType::kModVlanPcp: {
        const FieldInfo& f = pkt::GetField(a.type == OfActionType::kModVlanVid ? FieldId::kVlanVid
                                                                               : FieldId::kVlanPcp);
        SetVlanField(f, a.value, pkt::FullMask(f), /*push_if_untagged=*/true);
        break;
      }
      case OfActionType::kPushVlan:
        PushVlan(a.tpid, 0);
        break;
      case OfActionType::kPopVlan:
        if (VlanPresent()) {
          Emit(DpActionType::kPopVlan);
          flow_.vlan_tci = 0;
          written_.vlan_tci = 0xffff;
        }
        break;
      case OfActionType::kDecTtl:
        DecTtl();
        break;
      case OfActionType::kResubmit: {
        const uint8_t t = a.table == kTableCurrent ? table : a.table;
        std::optional<uint32_t> port;
        if (a.port != kPortInPort) port = a.port;
        DoTable(t, depth + 1, port);
        break;
      }
      case OfActionType::kSetQueue:
        break;  // no QoS queues in the datapath
    }
  }

  // --- datapath program --------------------------------------------------------
  DpAction& Emit(DpActionType type) {
    DpAction a{};
    a.type = type;
    out_->push_back(a);
    return out_->back();
  }

  void EmitOutputTo(const PortInfo& p) { Emit(DpActionType::kOutput).port = p.dp_index; }

  void Output(uint32_t port) {
    const uint32_t in_port = flow_.in_port;  // exact in wc (Run)
    switch (port) {
      case kPortInPort:
        if (const PortInfo* p = ports_.Find(in_port)) EmitOutputTo(*p);
        return;
      case kPortNormal:  // NORMAL floods until MAC learning exists
      case kPortFlood:
      case kPortAll:
        for (const PortInfo& p : ports_.ports)
          if (p.up && p.ofport != in_port) EmitOutputTo(p);
        return;
      case kPortController:
      case kPortTable:
      case kPortAny:
        return;
      default:
        if (port == in_port) return;  // OpenFlow: never back out the ingress port by number
        if (const PortInfo* p = ports_.Find(port)) EmitOutputTo(*p);
        return;
    }
  }

  void SetField(const FieldInfo& f, const FieldValue& v, const FieldValue& m) {
    switch (f.id) {
      case FieldId::kMetadata:  // pipeline state only, nothing for the datapath
        pkt::SetFieldMatch(f, v, m, &flow_, &written_);
        return;
      case FieldId::kVlanTci:
        SetVlanTci(static_cast<uint16_t>(v.u), static_cast<uint16_t>(m.u));
        return;
      case FieldId::kVlanVid:
      case FieldId::kVlanPcp:
        SetVlanField(f, v, m, /*push_if_untagged=*/false);
        return;
      default:
        break;
    }
    if (!Has(f.prereq, f.stage == pkt::Stage::kL4)) return;  // no such header: skip
    DpAction& a = Emit(DpActionType::kSetField);
    a.field = f.id;
    a.value = v;
    a.mask = m;
    pkt::SetFieldMatch(f, v, m, &flow_, &written_);
    if (f.id == FieldId::kNwTtl) ttl_derived_ = false;  // now a constant
  }

  // VLAN TCI bits of a set (field f, right-aligned v/m), excluding the
  // present bit, which is tag state rather than a header bit.
  static uint16_t TciBits(const FieldInfo& f, const FieldValue& m) {
    return static_cast<uint16_t>((m.u << f.shift) & f.bits & ~pkt::kVlanPresent);
  }

  // Sets VID/PCP/TCI bits of the existing tag; folds into a push just emitted.
  void EmitVlanSet(const FieldInfo& f, const FieldValue& v, const FieldValue& m) {
    const uint16_t bits = TciBits(f, m);
    if (bits == 0) return;
    if (out_->size() > out_start_ && out_->back().type == DpActionType::kPushVlan) {
      DpAction& push = out_->back();
      push.tci = static_cast<uint16_t>((push.tci & ~bits) | ((v.u << f.shift) & bits));
      return;
    }
    DpAction& a = Emit(DpActionType::kSetField);
    a.field = f.id;
    a.value = v;
    a.mask = m;
    if (f.id == FieldId::kVlanTci) {
      a.mask.u &= ~uint64_t{pkt::kVlanPresent};
      a.value.u &= a.mask.u;
    }
  }

  void SetVlanField(const FieldInfo& f, const FieldValue& v, const FieldValue& m,
                    bool push_if_untagged) {
    if (VlanPresent()) {
      EmitVlanSet(f, v, m);
      pkt::SetFieldMatch(f, v, m, &flow_, &written_);
    } else if (push_if_untagged) {
      PushVlan(0x8100, static_cast<uint16_t>((v.u << f.shift) & (m.u << f.shift) & f.bits));
    }
  }

  // set_field on vlan_tci may change the tag state itself (OVS semantics).
  void SetVlanTci(uint16_t v, uint16_t m) {
    const FieldInfo& f = pkt::GetField(FieldId::kVlanTci);
    const bool was = VlanPresent();
    const bool now = (m & pkt::kVlanPresent) ? (v & pkt::kVlanPresent) != 0 : was;
    FieldValue fv, fm;
    fv.u = v & m;
    fm.u = m;
    if (was && now) {
      EmitVlanSet(f, fv, fm);
      pkt::SetFieldMatch(f, fv, fm, &flow_, &written_);
    } else if (was) {
      Emit(DpActionType::kPopVlan);
      flow_.vlan_tci = 0;
      written_.vlan_tci = 0xffff;
    } else if (now) {
      // An untagged packet's TCI is 0 (FlowKey convention): the new tag is v&m.
      PushVlan(0x8100, static_cast<uint16_t>(v & m & ~pkt::kVlanPresent));
    }
    // Untagged stays untagged: nothing to do.
  }

  void PushVlan(uint16_t tpid, uint16_t tci) {
    DpAction& a = Emit(DpActionType::kPushVlan);
    a.tpid = tpid;
    a.tci = tci;
    flow_.vlan_tci = static_cast<uint16_t>(tci | pkt::kVlanPresent);
    written_.vlan_tci = 0xffff;
  }

  void DecTtl() {
    const uint64_t type = Read(FieldId::kEthType);
    if (type != kEthIpv4 && type != kEthIpv6) return;  // OVS: no-op on non-IP
    Emit(DpActionType::kDecTtl);
    flow_.nw_ttl--;
    if (written_.nw_ttl != 0xff) {
      ttl_derived_ = true;  // TTL-1 depends on every bit of the original TTL
      written_.nw_ttl = 0;
    }
  }

  const FlowTable* tables_;            // kNumTables tables
  const XlatePorts& ports_;            // ports by ofport
  FlowMask* wc_;                       // the megaflow mask being built
  std::vector<DpAction>* out_;         // program being appended to
  const size_t out_start_;             // out_->size() at the start (truncated to on abort)
  std::vector<const Rule*>* matched_;  // rules lookups returned, or null: not wanted
  FlowKey flow_;                       // the working key: the packet as modified so far
  FlowKey written_;                    // bits holding constants written by actions
  bool ttl_derived_ = false;           // nw_ttl was decremented from the packet's value
  bool aborted_ = false;               // a limit was hit: drop everything
  XlateStats stats_;
};

}  // namespace

const PortInfo* XlatePorts::Find(uint32_t ofport) const noexcept {
  auto it = std::lower_bound(ports.begin(), ports.end(), ofport,
                             [](const PortInfo& p, uint32_t o) { return p.ofport < o; });
  return it != ports.end() && it->ofport == ofport ? &*it : nullptr;
}

XlateStats Xlate(const FlowTable* tables, const XlatePorts& ports, const FlowKey& key, FlowMask* wc,
                 std::vector<DpAction>* actions, std::vector<const Rule*>* rules) {
  XlateContext ctx(tables, ports, wc, actions, rules);
  return ctx.Run(key);
}

}  // namespace dpswitch::ofp
