// SPDX-License-Identifier: BSD-3-Clause
#include "ofproto/of_actions.h"

#include <cctype>
#include <cstdio>
#include <cstring>

#include "ofproto/field_text.h"
#include "ofproto/pipeline.h"

namespace dpswitch::ofp {
namespace {

using pkt::FieldId;

[[noreturn]] void Fail(std::string_view token, const std::string& why) {
  throw FlowError(std::string(token) + ": " + why);
}

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

// Splits at commas and blanks outside parentheses.
std::vector<std::string_view> SplitActions(std::string_view text) {
  std::vector<std::string_view> out;
  int depth = 0;
  size_t start = 0;
  for (size_t i = 0; i <= text.size(); i++) {
    const bool end = i == text.size();
    const char c = end ? ',' : text[i];
    if (c == '(') depth++;
    if (c == ')') {
      if (depth == 0) Fail(text, "unbalanced ')'");
      depth--;
    }
    if ((c == ',' || IsSpace(c)) && depth == 0) {
      if (i > start) out.push_back(text.substr(start, i - start));
      start = i + 1;
    }
  }
  if (depth != 0) Fail(text, "unbalanced '('");
  return out;
}

// The mod_* spellings that are plain set_fields.
struct LegacySet {
  const char* name;
  FieldId field;
};
constexpr LegacySet kLegacy[] = {
    {"mod_dl_src", FieldId::kEthSrc}, {"mod_dl_dst", FieldId::kEthDst},
    {"mod_nw_src", FieldId::kNwSrc},  {"mod_nw_dst", FieldId::kNwDst},
    {"mod_tp_src", FieldId::kTpSrc},  {"mod_tp_dst", FieldId::kTpDst},
    {"mod_nw_tos", FieldId::kNwTos},  {"mod_nw_ecn", FieldId::kNwEcn},
    {"mod_nw_ttl", FieldId::kNwTtl},
};

const char* LegacyName(FieldId id) {
  for (const auto& l : kLegacy)
    if (l.field == id) return l.name;
  return nullptr;
}

uint8_t ParseTable(std::string_view text, std::string_view token) {
  return static_cast<uint8_t>(ParseNumber(text, kNumTables - 1, token));
}

// Rejects a set_field the rule's match cannot guarantee the header for.
void CheckSetPrereq(const pkt::FieldInfo& f, std::string_view token, const pkt::FlowKey* key,
                    const pkt::FlowMask* mask) {
  if (key == nullptr || mask == nullptr || f.prereq == pkt::Prereq::kVlan) return;
  const std::string need = UnmetPrereq(f, *key, *mask, /*match_aliases=*/false);
  if (!need.empty())
    Fail(token, std::string("set_field of ") + f.name + ": prerequisites not met by the match " +
                    "(needs " + need + ")");
}

OfAction ParseOne(std::string_view tok, const pkt::FlowKey* key, const pkt::FlowMask* mask) {
  OfAction a;
  std::string_view name = tok;
  std::string_view arg;
  bool paren = false;
  const size_t colon = tok.find(':');
  const size_t open = tok.find('(');
  if (open != std::string_view::npos && (colon == std::string_view::npos || open < colon)) {
    if (tok.back() != ')') Fail(tok, "missing ')'");
    name = tok.substr(0, open);
    arg = tok.substr(open + 1, tok.size() - open - 2);
    paren = true;
  } else if (colon != std::string_view::npos) {
    name = tok.substr(0, colon);
    arg = tok.substr(colon + 1);
    if (arg.empty()) Fail(tok, "missing argument");
  }
  const bool has_arg = paren || !arg.empty();
  auto no_arg = [&] {
    if (has_arg) Fail(tok, "action takes no argument");
  };

  if (AllDigits(tok)) {
    a.type = OfActionType::kOutput;
    a.port = static_cast<uint32_t>(ParseNumber(tok, kPortMax, tok));
    return a;
  }
  if (name == "output") {
    if (paren || arg.empty()) Fail(tok, "output needs a port (output:PORT)");
    a.port = ParsePort(arg, tok);
    if (a.port == kPortAny || a.port == kPortTable)
      Fail(tok, "port " + FormatPort(a.port) + " is not allowed in output");
    if (a.port > kPortMax && a.port < kPortInPort) Fail(tok, "invalid port");
    if (a.port == kPortController) {
      a = OfAction{};  // output:CONTROLLER is the controller action
      a.type = OfActionType::kController;
    }
    return a;
  }
  if (name == "in_port" || name == "flood" || name == "all" || name == "normal" ||
      name == "local" || name == "IN_PORT" || name == "FLOOD" || name == "ALL" ||
      name == "NORMAL" || name == "LOCAL") {
    no_arg();
    a.type = OfActionType::kOutput;
    a.port = ParsePort(name, tok);
    return a;
  }
  if (name == "controller" || name == "CONTROLLER") {
    a.type = OfActionType::kController;
    if (paren) {
      a.args = std::string(arg);
      for (std::string_view kv : SplitActions(arg))
        if (kv.substr(0, 8) == "max_len=")
          a.max_len = static_cast<uint16_t>(ParseNumber(kv.substr(8), 0xffff, tok));
    } else if (!arg.empty()) {
      a.max_len = static_cast<uint16_t>(ParseNumber(arg, 0xffff, tok));
    }
    return a;
  }
  for (const auto& l : kLegacy) {
    if (name != l.name) continue;
    if (paren || arg.empty()) Fail(tok, std::string(l.name) + " needs a value");
    const pkt::FieldInfo& f = pkt::GetField(l.field);
    const MaskedValue mv = ParseFieldValue(f, arg, /*allow_mask=*/false, tok);
    CheckSetPrereq(f, tok, key, mask);
    a.type = OfActionType::kSetField;
    a.field = l.field;
    a.value = mv.value;
    a.mask = mv.mask;
    a.legacy = true;
    return a;
  }
  if (name == "mod_vlan_vid" || name == "mod_vlan_pcp") {
    if (paren || arg.empty()) Fail(tok, std::string(name) + " needs a value");
    const bool vid = name == "mod_vlan_vid";
    a.type = vid ? OfActionType::kModVlanVid : OfActionType::kModVlanPcp;
    a.value.u = ParseNumber(arg, vid ? 0xfff : 7, tok);
    return a;
  }
  if (name == "set_field" || name == "load") {
    if (paren || arg.empty()) Fail(tok, "set_field needs VALUE[/MASK]->FIELD");
    const size_t arrow = arg.find("->");
    if (arrow == std::string_view::npos) Fail(tok, "set_field needs VALUE[/MASK]->FIELD");
    const std::string_view fname = arg.substr(arrow + 2);
    const pkt::FieldInfo* f = pkt::FindField(fname);
    if (f == nullptr) Fail(tok, "unknown field '" + std::string(fname) + "'");
    if (!f->writable) Fail(tok, std::string("field ") + f->name + " is not writable");
    const MaskedValue mv = ParseFieldValue(*f, arg.substr(0, arrow), f->maskable, tok);
    if (IsZeroMask(*f, mv.mask)) Fail(tok, "set_field with an all-zero mask");
    CheckSetPrereq(*f, tok, key, mask);
    a.type = OfActionType::kSetField;
    a.field = f->id;
    a.value = mv.value;
    a.mask = mv.mask;
    return a;
  }
  if (name == "push_vlan") {
    if (paren || arg.empty()) Fail(tok, "push_vlan needs an ethertype");
    a.type = OfActionType::kPushVlan;
    a.tpid = static_cast<uint16_t>(ParseNumber(arg, 0xffff, tok));
    if (a.tpid != 0x8100 && a.tpid != 0x88a8)
      Fail(tok, "push_vlan ethertype must be 0x8100 or 0x88a8");
    return a;
  }
  if (name == "pop_vlan" || name == "strip_vlan") {
    no_arg();
    a.type = OfActionType::kPopVlan;
    return a;
  }
  if (name == "dec_ttl") {
    no_arg();
    a.type = OfActionType::kDecTtl;
    return a;
  }
  if (name == "resubmit") {
    a.type = OfActionType::kResubmit;
    if (!paren) {
      if (arg.empty()) Fail(tok, "resubmit needs a port or (PORT,TABLE)");
      a.port = ParsePort(arg, tok);
      return a;
    }
    const size_t comma = arg.find(',');
    const std::string_view p = Trim(arg.substr(0, comma));
    const std::string_view t =
        comma == std::string_view::npos ? std::string_view() : Trim(arg.substr(comma + 1));
    if (t.find(',') != std::string_view::npos) Fail(tok, "resubmit takes (PORT,TABLE)");
    if (p.empty() && t.empty()) Fail(tok, "resubmit needs a port or a table");
    a.port = p.empty() ? kPortInPort : ParsePort(p, tok);
    if (!t.empty()) a.table = ParseTable(t, tok);
    if (a.port == kPortAny) Fail(tok, "bad resubmit port");
    return a;
  }
  if (name == "set_queue") {
    if (paren || arg.empty()) Fail(tok, "set_queue needs a queue number");
    a.type = OfActionType::kSetQueue;
    a.queue = static_cast<uint32_t>(ParseNumber(arg, 0xffffffff, tok));
    return a;
  }
  Fail(tok, "unknown action '" + std::string(name) + "'");
}

}  // namespace

bool operator==(const OfAction& a, const OfAction& b) {
  return a.type == b.type && a.port == b.port && a.table == b.table && a.field == b.field &&
         std::memcmp(&a.value, &b.value, sizeof(a.value)) == 0 &&
         std::memcmp(&a.mask, &b.mask, sizeof(a.mask)) == 0 && a.tpid == b.tpid &&
         a.max_len == b.max_len && a.queue == b.queue && a.legacy == b.legacy && a.args == b.args;
}

bool operator==(const OfInstructions& a, const OfInstructions& b) {
  return a.apply == b.apply && a.write_metadata == b.write_metadata && a.metadata == b.metadata &&
         a.metadata_mask == b.metadata_mask && a.goto_table == b.goto_table;
}

OfInstructions ParseActions(std::string_view text, uint8_t table, const pkt::FlowKey* match_key,
                            const pkt::FlowMask* match_mask) {
  OfInstructions ins;
  const std::vector<std::string_view> toks = SplitActions(Trim(text));
  for (std::string_view tok : toks) {
    if (tok == "drop") {
      if (toks.size() != 1) Fail(tok, "drop must be the only action");
      continue;
    }
    if (tok.substr(0, 15) == "write_metadata:") {
      if (ins.write_metadata) Fail(tok, "write_metadata given twice");
      if (ins.goto_table) Fail(tok, "write_metadata must come before goto_table");
      const std::string_view arg = tok.substr(15);
      const size_t slash = arg.find('/');
      ins.metadata = ParseNumber(arg.substr(0, slash), ~0ull, tok);
      ins.metadata_mask =
          slash == std::string_view::npos ? ~0ull : ParseNumber(arg.substr(slash + 1), ~0ull, tok);
      ins.metadata &= ins.metadata_mask;
      ins.write_metadata = true;
      continue;
    }
    if (tok.substr(0, 11) == "goto_table:") {
      if (ins.goto_table) Fail(tok, "goto_table given twice");
      const uint8_t t = ParseTable(tok.substr(11), tok);
      if (t <= table)
        Fail(tok, "goto_table must go to a later table than " + std::to_string(table));
      ins.goto_table = t;
      continue;
    }
    if (ins.goto_table || ins.write_metadata)
      Fail(tok, std::string("apply action after instruction ") +
                    (ins.goto_table ? "goto_table" : "write_metadata"));
    ins.apply.push_back(ParseOne(tok, match_key, match_mask));
  }
  return ins;
}

std::string FormatActions(const OfInstructions& ins) {
  std::string out;
  auto add = [&](const std::string& s) {
    if (!out.empty()) out += ',';
    out += s;
  };
  for (const OfAction& a : ins.apply) {
    switch (a.type) {
      case OfActionType::kOutput:
        add(a.port > kPortMax ? FormatPort(a.port) : "output:" + std::to_string(a.port));
        break;
      case OfActionType::kController:
        add(a.args.empty() ? "CONTROLLER:" + std::to_string(a.max_len)
                           : "controller(" + a.args + ")");
        break;
      case OfActionType::kSetField: {
        const pkt::FieldInfo& f = pkt::GetField(a.field);
        const char* legacy = LegacyName(a.field);
        if (a.legacy && legacy != nullptr)
          add(std::string(legacy) + ":" + FormatFieldValue(f, a.value, a.mask));
        else
          add("set_field:" + FormatFieldValue(f, a.value, a.mask) + "->" + f.name);
        break;
      }
      case OfActionType::kModVlanVid:
        add("mod_vlan_vid:" + std::to_string(a.value.u));
        break;
      case OfActionType::kModVlanPcp:
        add("mod_vlan_pcp:" + std::to_string(a.value.u));
        break;
      case OfActionType::kPushVlan: {
        char buf[24];
        std::snprintf(buf, sizeof(buf), "push_vlan:0x%04x", a.tpid);
        add(buf);
        break;
      }
      case OfActionType::kPopVlan:
        add("pop_vlan");
        break;
      case OfActionType::kDecTtl:
        add("dec_ttl");
        break;
      case OfActionType::kResubmit:
        if (a.table == kTableCurrent)
          add("resubmit:" + FormatPort(a.port));
        else if (a.port == kPortInPort)
          add("resubmit(," + std::to_string(a.table) + ")");
        else
          add("resubmit(" + FormatPort(a.port) + "," + std::to_string(a.table) + ")");
        break;
      case OfActionType::kSetQueue:
        add("set_queue:" + std::to_string(a.queue));
        break;
    }
  }
  if (ins.write_metadata) {
    char buf[64];
    if (ins.metadata_mask == ~0ull)
      std::snprintf(buf, sizeof(buf), "write_metadata:0x%llx",
                    static_cast<unsigned long long>(ins.metadata));
    else
      std::snprintf(buf, sizeof(buf), "write_metadata:0x%llx/0x%llx",
                    static_cast<unsigned long long>(ins.metadata),
                    static_cast<unsigned long long>(ins.metadata_mask));
    add(buf);
  }
  if (ins.goto_table) add("goto_table:" + std::to_string(*ins.goto_table));
  return out.empty() ? "drop" : out;
}

}  // namespace dpswitch::ofp
