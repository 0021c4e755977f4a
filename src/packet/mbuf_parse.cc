// SPDX-License-Identifier: BSD-3-Clause
#include "packet/mbuf_parse.h"

#include <algorithm>
#include <cstring>

namespace dpswitch::pkt {

uint32_t PullUp(rte_mbuf* m, uint32_t want) noexcept {
  want = std::min(want, rte_pktmbuf_pkt_len(m));
  if (m->data_len >= want) return m->data_len;
  // We write into the first buffer and edit the next segments' metadata:
  // only when nobody else holds them.
  if (!RTE_MBUF_DIRECT(m) || rte_mbuf_refcnt_read(m) != 1) return m->data_len;
  uint32_t need = want - m->data_len;
  const uint32_t tail = rte_pktmbuf_tailroom(m);
  if (tail < need) {
    // Slide the data towards the buffer start, keeping kKeepHeadroom.
    const uint32_t head = rte_pktmbuf_headroom(m);
    const uint32_t spare = head > kKeepHeadroom ? head - kKeepHeadroom : 0;
    const uint32_t shift = std::min(need - tail, spare);
    if (shift != 0) {
      uint8_t* data = rte_pktmbuf_mtod(m, uint8_t*);
      std::memmove(data - shift, data, m->data_len);
      m->data_off = static_cast<uint16_t>(m->data_off - shift);
    }
    need = std::min(need, static_cast<uint32_t>(rte_pktmbuf_tailroom(m)));
  }
  while (need != 0 && m->next != nullptr) {
    rte_mbuf* s = m->next;
    if (rte_mbuf_refcnt_read(s) != 1) break;
    const uint32_t take = std::min<uint32_t>(need, s->data_len);
    std::memcpy(rte_pktmbuf_mtod_offset(m, uint8_t*, m->data_len), rte_pktmbuf_mtod(s, uint8_t*),
                take);
    m->data_len = static_cast<uint16_t>(m->data_len + take);
    s->data_off = static_cast<uint16_t>(s->data_off + take);
    s->data_len = static_cast<uint16_t>(s->data_len - take);
    need -= take;
    if (s->data_len == 0) {  // emptied: unlink and free (drivers dislike empty segments)
      m->next = s->next;
      m->nb_segs--;
      s->next = nullptr;
      s->nb_segs = 1;
      rte_pktmbuf_free_seg(s);
    }
  }
  return m->data_len;
}

uint32_t ParseMbufChain(rte_mbuf* m, uint32_t in_port, FlowKey* key,
                        PacketLayout* layout) noexcept {
  if (m->data_len < kHeaderWindow && m->data_len < m->pkt_len) [[unlikely]]
    PullUp(m, kHeaderWindow);
  return ParseFrame(rte_pktmbuf_mtod(m, const uint8_t*), m->data_len, m->pkt_len, in_port, key,
                    layout);
}

}  // namespace dpswitch::pkt
