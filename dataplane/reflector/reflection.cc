#include "dataplane/reflector/reflection.h"

#include <cstring>

#include "analysis/probe_trailer.h"

namespace migprobe::reflector {

namespace an = migprobe::analysis;

size_t FlowKeyHash::operator()(const FlowKey& k) const {
  // FNV-1a over the address and the flow id: small, and good enough for a guest.
  uint64_t h = 1469598103934665603ULL;
  for (uint8_t b : k.addr) h = (h ^ b) * 1099511628211ULL;
  for (int i = 0; i < 4; ++i) h = (h ^ ((k.flow_id >> (8 * i)) & 0xff)) * 1099511628211ULL;
  return static_cast<size_t>(h);
}

Verdict Reflection::reflect(const FlowKey& src, const uint8_t* payload, size_t len, uint8_t* out,
                            size_t cap, size_t* out_len) {
  an::ProbeTrailer t;
  const an::TrailerError err = an::decode_trailer(payload, len, &t);
  if (err == an::TrailerError::kNoMagic || t.reflected) {
    // Replies ("mr") are never answered: two reflectors must not ping-pong.
    ++counters_.not_probe;
    return Verdict::kNotProbe;
  }
  if (err != an::TrailerError::kNone) {
    ++counters_.malformed;
    return Verdict::kMalformed;
  }
  const size_t reply_len = len < an::kTrailerSize + an::kReflectorCounterSize
                               ? an::kTrailerSize + an::kReflectorCounterSize
                               : len;
  if (cap < reply_len) return Verdict::kNoRoom;

  FlowKey key = src;
  key.flow_id = t.flow_id;
  auto it = table_.find(key);
  if (it == table_.end()) {
    if (table_.size() >= max_flows_) {
      counters_.flows_evicted += table_.size();
      table_.clear();
    }
    it = table_.emplace(key, 0).first;
  }
  const uint32_t count = ++it->second;

  // Echo the whole payload (padding included, so the reply is as long as the probe), then
  // mark it reflected and put the counter right after the trailer.
  std::memcpy(out, payload, len);
  if (reply_len > len) std::memset(out + len, 0, reply_len - len);
  t.reflected = true;
  t.has_reflector_count = true;
  t.reflector_count = count;
  an::encode_trailer(t, out);
  ++counters_.replied;
  *out_len = reply_len;
  return Verdict::kReply;
}

}  // namespace migprobe::reflector
