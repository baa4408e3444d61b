// migprobe-reflector's logic: reply format, per-flow counters, what it refuses.

#include "dataplane/reflector/reflection.h"

#include <gtest/gtest.h>

#include <vector>

#include "analysis/probe_trailer.h"

namespace migprobe::reflector {
namespace {

namespace an = migprobe::analysis;

std::vector<uint8_t> probe(uint32_t flow, uint32_t seq, size_t len = an::kTrailerSize) {
  std::vector<uint8_t> p(len, 0xab);
  an::ProbeTrailer t;
  t.generation = 7;
  t.flow_id = flow;
  t.seq = seq;
  t.tx_ns = 1'700'000'000'000'000'000ULL + seq;
  an::encode_trailer(t, p.data());
  return p;
}

FlowKey from(uint8_t last_octet) {
  FlowKey k;
  k.addr = {10, 78, 0, last_octet};
  return k;
}

TEST(Reflection, RepliesWithReflectedMagicAndCounter) {
  Reflection r;
  const auto p = probe(5, 100);
  uint8_t out[64];
  size_t n = 0;
  ASSERT_EQ(r.reflect(from(1), p.data(), p.size(), out, sizeof(out), &n), Verdict::kReply);
  EXPECT_EQ(n, an::kTrailerSize + an::kReflectorCounterSize);
  an::ProbeTrailer t;
  ASSERT_EQ(an::decode_trailer(out, n, &t), an::TrailerError::kNone);
  EXPECT_TRUE(t.reflected);
  EXPECT_TRUE(t.has_reflector_count);
  EXPECT_EQ(t.reflector_count, 1U);
  EXPECT_EQ(t.flow_id, 5U);
  EXPECT_EQ(t.seq, 100U);
  EXPECT_EQ(t.generation, 7);
  EXPECT_EQ(t.tx_ns, 1'700'000'000'000'000'100ULL);
}

TEST(Reflection, CountsPerSourceAndFlow) {
  Reflection r;
  uint8_t out[64];
  size_t n = 0;
  an::ProbeTrailer t;
  for (uint32_t seq = 0; seq < 3; ++seq) {
    const auto p = probe(1, seq);
    ASSERT_EQ(r.reflect(from(1), p.data(), p.size(), out, sizeof(out), &n), Verdict::kReply);
  }
  ASSERT_EQ(an::decode_trailer(out, n, &t), an::TrailerError::kNone);
  EXPECT_EQ(t.reflector_count, 3U);
  // Same flow id from another probe node, and another flow from the first: own counters.
  auto p = probe(1, 0);
  ASSERT_EQ(r.reflect(from(2), p.data(), p.size(), out, sizeof(out), &n), Verdict::kReply);
  ASSERT_EQ(an::decode_trailer(out, n, &t), an::TrailerError::kNone);
  EXPECT_EQ(t.reflector_count, 1U);
  p = probe(2, 0);
  ASSERT_EQ(r.reflect(from(1), p.data(), p.size(), out, sizeof(out), &n), Verdict::kReply);
  ASSERT_EQ(an::decode_trailer(out, n, &t), an::TrailerError::kNone);
  EXPECT_EQ(t.reflector_count, 1U);
  EXPECT_EQ(r.flows(), 3U);
}

TEST(Reflection, KeepsPaddingAndLength) {
  Reflection r;
  const auto p = probe(3, 9, 100);
  uint8_t out[128];
  size_t n = 0;
  ASSERT_EQ(r.reflect(from(1), p.data(), p.size(), out, sizeof(out), &n), Verdict::kReply);
  EXPECT_EQ(n, 100U);
  EXPECT_EQ(out[an::kTrailerSize + an::kReflectorCounterSize], 0xab);
  EXPECT_EQ(out[99], 0xab);
}

TEST(Reflection, IgnoresForeignRepliesAndMalformed) {
  Reflection r;
  uint8_t out[64];
  size_t n = 0;
  const uint8_t junk[] = {'h', 'e', 'l', 'l', 'o'};
  EXPECT_EQ(r.reflect(from(1), junk, sizeof(junk), out, sizeof(out), &n), Verdict::kNotProbe);
  auto p = probe(1, 1);
  EXPECT_EQ(r.reflect(from(1), p.data(), 10, out, sizeof(out), &n), Verdict::kMalformed);
  // A reply is never answered, so two reflectors cannot ping-pong.
  ASSERT_EQ(r.reflect(from(1), p.data(), p.size(), out, sizeof(out), &n), Verdict::kReply);
  EXPECT_EQ(r.reflect(from(1), out, n, out + 32, 32, &n), Verdict::kNotProbe);
  EXPECT_EQ(r.counters().not_probe, 2U);
  EXPECT_EQ(r.counters().malformed, 1U);
  EXPECT_EQ(r.reflect(from(1), p.data(), p.size(), out, 8, &n), Verdict::kNoRoom);
}

TEST(Reflection, StartsOverWhenTableIsFull) {
  Reflection r(2);
  uint8_t out[64];
  size_t n = 0;
  for (uint32_t f = 0; f < 3; ++f) {
    const auto p = probe(f, 0);
    ASSERT_EQ(r.reflect(from(1), p.data(), p.size(), out, sizeof(out), &n), Verdict::kReply);
  }
  EXPECT_EQ(r.flows(), 1U);
  EXPECT_EQ(r.counters().flows_evicted, 2U);
}

}  // namespace
}  // namespace migprobe::reflector
