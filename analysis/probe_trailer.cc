#include "analysis/probe_trailer.h"

#include "analysis/byte_order.h"

namespace migprobe::analysis {

size_t encode_trailer(const ProbeTrailer& t, uint8_t* out) {
  store_be16(out, t.reflected ? kTrailerMagicReflected : kTrailerMagicProbe);
  const uint32_t word = (static_cast<uint32_t>(t.version & 0xf) << 28) |
                        (static_cast<uint32_t>(t.generation) << 20) | (t.flow_id & kMaxFlowId);
  store_be32(out + 2, word);
  store_be32(out + 6, t.seq);
  store_be64(out + 10, t.tx_ns);
  if (!t.has_reflector_count) return kTrailerSize;
  store_be32(out + kTrailerSize, t.reflector_count);
  return kTrailerSize + kReflectorCounterSize;
}

TrailerError decode_trailer(const uint8_t* payload, size_t len, ProbeTrailer* out) {
  if (len < 2) return TrailerError::kNoMagic;
  const uint16_t magic = load_be16(payload);
  if (magic != kTrailerMagicProbe && magic != kTrailerMagicReflected) return TrailerError::kNoMagic;
  if (len < kTrailerSize) return TrailerError::kTooShort;
  const uint32_t word = load_be32(payload + 2);
  out->version = static_cast<uint8_t>(word >> 28);
  if (out->version != kTrailerVersion) return TrailerError::kBadVersion;
  out->generation = static_cast<uint8_t>(word >> 20);
  out->flow_id = word & kMaxFlowId;
  out->seq = load_be32(payload + 6);
  out->tx_ns = load_be64(payload + 10);
  out->reflected = magic == kTrailerMagicReflected;
  out->has_reflector_count = out->reflected && len >= kTrailerSize + kReflectorCounterSize;
  out->reflector_count = out->has_reflector_count ? load_be32(payload + kTrailerSize) : 0;
  return TrailerError::kNone;
}

}  // namespace migprobe::analysis
