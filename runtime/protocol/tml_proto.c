/* Device protocol framing (tml_proto.h). */
#include "tml_proto.h"

uint32_t tml_crc32(uint32_t crc, const void* data, uint32_t n) {
  const uint8_t* p = (const uint8_t*)data;
  uint32_t i;
  int k;
  crc = ~crc;
  for (i = 0; i < n; ++i) {
    crc ^= p[i];
    for (k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

static uint16_t rd16(const uint8_t* p) {
  return (uint16_t)(p[0] | p[1] << 8);
}
static uint32_t rd32(const uint8_t* p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

void tml_proto_rx_init(tml_proto_rx* rx) {
  rx->have = 0;
  rx->need = 2;
  rx->type = 0;
  rx->seq = rx->length = 0;
  rx->payload = 0;
  rx->error = rx->error_seq = 0;
}

static tml_rx_event rx_error(tml_proto_rx* rx, uint16_t code) {
  rx->error = code;
  rx->error_seq = rx->have >= 6 ? rd16(rx->buf + 4) : 0;
  rx->have = 0;
  rx->need = 2;
  return TML_RX_ERROR;
}

tml_rx_event tml_proto_rx_byte(tml_proto_rx* rx, uint8_t byte) {
  /* Sync: A5 5A; anything else before it is skipped (line noise, a cut frame). */
  if (rx->have == 0) {
    if (byte == TML_PROTO_SYNC0) rx->buf[rx->have++] = byte;
    return TML_RX_MORE;
  }
  if (rx->have == 1) {
    if (byte == TML_PROTO_SYNC1)
      rx->buf[rx->have++] = byte;
    else
      rx->have = byte == TML_PROTO_SYNC0 ? 1u : 0u;
    return TML_RX_MORE;
  }
  rx->buf[rx->have++] = byte;
  if (rx->have == TML_PROTO_HEADER) {
    const uint16_t len = rd16(rx->buf + 6);
    if (rx->buf[2] != TML_PROTO_VERSION) return rx_error(rx, TML_E_VERSION);
    if (len > TML_PROTO_MAX_PAYLOAD) return rx_error(rx, TML_E_OVERSIZE);
    rx->need = TML_PROTO_OVERHEAD + len;
  }
  if (rx->have < TML_PROTO_HEADER || rx->have < rx->need) return TML_RX_MORE;
  {
    const uint32_t len = rx->need - TML_PROTO_OVERHEAD;
    const uint32_t crc = rd32(rx->buf + TML_PROTO_HEADER + len);
    if (tml_crc32(0, rx->buf + 2, TML_PROTO_HEADER - 2 + len) != crc)
      return rx_error(rx, TML_E_CRC);
    rx->type = rx->buf[3];
    rx->seq = rd16(rx->buf + 4);
    rx->length = (uint16_t)len;
    rx->payload = rx->buf + TML_PROTO_HEADER;
    rx->have = 0;
    rx->need = 2;
    return TML_RX_FRAME;
  }
}

uint32_t tml_proto_encode(uint8_t* out, uint32_t out_size, uint8_t type, uint16_t seq,
                          const void* payload, uint32_t length) {
  const uint8_t* p = (const uint8_t*)payload;
  uint32_t i, crc;
  if (length > TML_PROTO_MAX_PAYLOAD || out_size < TML_PROTO_OVERHEAD + length) return 0;
  out[0] = TML_PROTO_SYNC0;
  out[1] = TML_PROTO_SYNC1;
  out[2] = TML_PROTO_VERSION;
  out[3] = type;
  out[4] = (uint8_t)seq;
  out[5] = (uint8_t)(seq >> 8);
  out[6] = (uint8_t)length;
  out[7] = (uint8_t)(length >> 8);
  for (i = 0; i < length; ++i) out[TML_PROTO_HEADER + i] = p[i];
  crc = tml_crc32(0, out + 2, TML_PROTO_HEADER - 2 + length);
  for (i = 0; i < 4; ++i) out[TML_PROTO_HEADER + length + i] = (uint8_t)(crc >> (8 * i));
  return TML_PROTO_OVERHEAD + length;
}
