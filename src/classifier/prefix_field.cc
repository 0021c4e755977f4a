// SPDX-License-Identifier: BSD-3-Clause
#include "classifier/prefix_field.h"

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstring>
#include <stdexcept>
#include <string>

namespace dpswitch::cls {
namespace {

using pkt::FieldId;

// OVS allows 3 tries per table; we allow one per address field.
constexpr size_t kMaxPrefixFields = 4;
constexpr const char* kAllowed = "nw_src, nw_dst, ipv6_src, ipv6_dst";

// A field value or mask as a bit string, most significant bit first: integer
// fields are right-aligned in v.u, FieldWidth(f) bits wide; byte arrays are
// in network order already.
PrefixValue ToPrefix(const pkt::FieldInfo& f, const pkt::FieldValue& v) noexcept {
  if (f.is_int) {
    const uint32_t w = pkt::FieldWidth(f);  // 1..64
    return {v.u << (64 - w), 0};
  }
  PrefixValue p;
  for (uint32_t i = 0; i < f.size && i < 16; i++) {
    uint64_t& word = i < 8 ? p.hi : p.lo;
    word |= static_cast<uint64_t>(v.bytes[i]) << (56 - 8 * (i % 8));
  }
  return p;
}

// The inverse of ToPrefix.
pkt::FieldValue FromPrefix(const pkt::FieldInfo& f, const PrefixValue& p) noexcept {
  pkt::FieldValue v;
  if (f.is_int) {
    v.u = p.hi >> (64 - pkt::FieldWidth(f));
  } else {
    for (uint32_t i = 0; i < f.size && i < 16; i++)
      v.bytes[i] = static_cast<uint8_t>((i < 8 ? p.hi : p.lo) >> (56 - 8 * (i % 8)));
  }
  return v;
}

// 'name', for error messages.
std::string Quoted(std::string_view name) {
  std::string q;
  q.reserve(name.size() + 2);
  q += '\'';
  q += name;
  q += '\'';
  return q;
}

constexpr PrefixValue kAllOnes{~uint64_t{0}, ~uint64_t{0}};

// 16 network-order bytes as a bit string.
PrefixValue Load128(const uint8_t* bytes) noexcept {
  uint64_t hi, lo;
  std::memcpy(&hi, bytes, 8);
  std::memcpy(&lo, bytes + 8, 8);
  return {__builtin_bswap64(hi), __builtin_bswap64(lo)};
}

// bytes |= bits (16 network-order bytes).
void Or128(uint8_t* bytes, const PrefixValue& bits) noexcept {
  const PrefixValue old = Load128(bytes);
  const uint64_t hi = __builtin_bswap64(old.hi | bits.hi);
  const uint64_t lo = __builtin_bswap64(old.lo | bits.lo);
  std::memcpy(bytes, &hi, 8);
  std::memcpy(bytes + 8, &lo, 8);
}

// The words a prefix of n bits of a 128-bit field at byte `offset` touches.
pkt::WordMap MapOf(size_t offset, unsigned n) noexcept {
  const uint32_t first = static_cast<uint32_t>(offset / 8);
  return n > 64 ? pkt::WordMap{3} << first : pkt::WordMap{1} << first;
}

}  // namespace

bool IsPrefixField(pkt::FieldId id) noexcept {
  switch (id) {
    case FieldId::kNwSrc:
    case FieldId::kNwDst:
    case FieldId::kIpv6Src:
    case FieldId::kIpv6Dst:
      return true;
    default:
      return false;
  }
}

std::vector<pkt::FieldId> DefaultPrefixFields() {
  return {FieldId::kNwSrc, FieldId::kNwDst, FieldId::kIpv6Src, FieldId::kIpv6Dst};
}

std::vector<pkt::FieldId> ParsePrefixFields(std::string_view text) {
  constexpr std::string_view kSpace = " \t";
  const auto trim = [&](std::string_view s) {
    const size_t b = s.find_first_not_of(kSpace);
    if (b == std::string_view::npos) return std::string_view{};
    return s.substr(b, s.find_last_not_of(kSpace) - b + 1);
  };
  text = trim(text);
  std::vector<pkt::FieldId> fields;
  if (text.empty() || text == "none") return fields;
  // Checked first: with one trie per field, a fifth entry is always also a
  // duplicate or a bad name, but the count is the clearer error.
  const size_t entries = static_cast<size_t>(std::count(text.begin(), text.end(), ',')) + 1;
  if (entries > kMaxPrefixFields)
    throw std::invalid_argument("prefix fields: " + std::to_string(entries) + " entries in " +
                                Quoted(text) + ", at most " + std::to_string(kMaxPrefixFields) +
                                " allowed");

  for (size_t pos = 0;;) {
    const size_t comma = text.find(',', pos);
    const std::string_view name =
        trim(text.substr(pos, comma == std::string_view::npos ? comma : comma - pos));
    if (name.empty()) throw std::invalid_argument("prefix fields: empty entry in " + Quoted(text));
    const std::string quoted = Quoted(name);
    const pkt::FieldInfo* f = pkt::FindField(name);
    if (!f) throw std::invalid_argument("prefix fields: unknown field " + quoted);
    if (!IsPrefixField(f->id))
      throw std::invalid_argument("prefix fields: " + quoted +
                                  " cannot be a prefix field (allowed: " + kAllowed + ")");
    if (std::find(fields.begin(), fields.end(), f->id) != fields.end())
      throw std::invalid_argument("prefix fields: " + quoted + " listed twice (as " +
                                  pkt::GetField(f->id).name + ")");
    fields.push_back(f->id);
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return fields;
}

std::string FormatPrefixFields(const std::vector<pkt::FieldId>& fields) {
  if (fields.empty()) return "none";
  std::string out;
  for (const pkt::FieldId id : fields) {
    if (!out.empty()) out += ',';
    out += pkt::GetField(id).name;
  }
  return out;
}

PrefixValue PrefixFieldValue(const pkt::FlowKey& key, pkt::FieldId id) noexcept {
  // The four trie fields directly: this runs for every lookup that reaches a
  // tuple with a trie.
  switch (id) {
    case FieldId::kNwSrc:
      return {static_cast<uint64_t>(key.nw_src) << 32, 0};
    case FieldId::kNwDst:
      return {static_cast<uint64_t>(key.nw_dst) << 32, 0};
    case FieldId::kIpv6Src:
      return Load128(key.ipv6_src);
    case FieldId::kIpv6Dst:
      return Load128(key.ipv6_dst);
    default:
      break;
  }
  const pkt::FieldInfo& f = pkt::GetField(id);
  return ToPrefix(f, pkt::GetFieldValue(f, key));
}

std::optional<unsigned> PrefixFieldMaskLen(const pkt::FlowMask& mask, pkt::FieldId id) noexcept {
  const pkt::FieldInfo& f = pkt::GetField(id);
  const PrefixValue m = ToPrefix(f, pkt::GetFieldValue(f, mask.bits));
  // Leading ones; the bits past the field's width are zero, so n <= width.
  const unsigned n = m.hi == ~uint64_t{0} ? 64 + static_cast<unsigned>(std::countl_one(m.lo))
                                          : static_cast<unsigned>(std::countl_one(m.hi));
  if (!(m == kAllOnes.Truncated(n))) return std::nullopt;
  return n;
}

void UnwildcardPrefix(pkt::FlowMask* wc, pkt::FieldId id, unsigned n) noexcept {
  if (n == 0) return;
  const pkt::FieldInfo& f = pkt::GetField(id);
  n = std::min<unsigned>(n, pkt::FieldWidth(f));
  const PrefixValue bits = kAllOnes.Truncated(n);
  constexpr uint32_t kIpv4Word = offsetof(pkt::FlowKey, nw_src) / 8;
  switch (id) {  // the trie fields directly, as above
    case FieldId::kNwSrc:
      wc->bits.nw_src |= static_cast<uint32_t>(bits.hi >> 32);
      wc->map |= pkt::WordMap{1} << kIpv4Word;
      return;
    case FieldId::kNwDst:
      wc->bits.nw_dst |= static_cast<uint32_t>(bits.hi >> 32);
      wc->map |= pkt::WordMap{1} << kIpv4Word;
      return;
    case FieldId::kIpv6Src:
      Or128(wc->bits.ipv6_src, bits);
      wc->map |= MapOf(offsetof(pkt::FlowKey, ipv6_src), n);
      return;
    case FieldId::kIpv6Dst:
      Or128(wc->bits.ipv6_dst, bits);
      wc->map |= MapOf(offsetof(pkt::FlowKey, ipv6_dst), n);
      return;
    default:
      break;
  }
  // SetFieldMatch ORs the mask into wc and writes the (zero) value into a
  // scratch key we throw away; this keeps the field layout in one place.
  pkt::FlowKey scratch;
  scratch.Clear();
  pkt::SetFieldMatch(f, pkt::FieldValue{}, FromPrefix(f, bits), &scratch, &wc->bits);
  wc->Finalize();
}

void UnwildcardPorts(pkt::FlowMask* wc, uint32_t bits) noexcept {
  if (bits == 0) return;
  wc->bits.tp_src = static_cast<uint16_t>(wc->bits.tp_src | bits >> 16);
  wc->bits.tp_dst = static_cast<uint16_t>(wc->bits.tp_dst | (bits & 0xffff));
  constexpr uint32_t kPortsWord = offsetof(pkt::FlowKey, tp_src) / 8;
  wc->map |= pkt::WordMap{1} << kPortsWord;
}

}  // namespace dpswitch::cls
