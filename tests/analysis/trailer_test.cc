// The probe trailer codec: exact wire layout, round trips over random fields, and every
// way a payload is refused.

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <random>
#include <vector>

#include "analysis/probe_trailer.h"

namespace migprobe::analysis {
namespace {

std::vector<uint8_t> encoded(const ProbeTrailer& t) {
  std::vector<uint8_t> out(trailer_size(t));
  EXPECT_EQ(encode_trailer(t, out.data()), out.size());
  return out;
}

TEST(TrailerTest, WireLayoutIsNetworkOrder) {
  ProbeTrailer t;
  t.generation = 0xab;
  t.flow_id = 0x12345;
  t.seq = 0xdeadbeef;
  t.tx_ns = 0x0102030405060708ULL;
  const std::vector<uint8_t> want = {0x6d, 0x70,                                       // "mp"
                                     0x1a, 0xb1, 0x23, 0x45,                           // 1|ab|12345
                                     0xde, 0xad, 0xbe, 0xef,                           // seq
                                     0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08};  // tx
  EXPECT_EQ(encoded(t), want);

  t.reflected = true;
  t.has_reflector_count = true;
  t.reflector_count = 0x0a0b0c0d;
  const std::vector<uint8_t> got = encoded(t);
  ASSERT_EQ(got.size(), kTrailerSize + kReflectorCounterSize);
  EXPECT_EQ(got[0], 0x6d);
  EXPECT_EQ(got[1], 0x72);  // "mr"
  EXPECT_EQ(std::vector<uint8_t>(got.end() - 4, got.end()),
            (std::vector<uint8_t>{0x0a, 0x0b, 0x0c, 0x0d}));
}

TEST(TrailerTest, RoundTripsRandomFields) {
  std::mt19937_64 rng(20260101);
  for (int i = 0; i < 20000; ++i) {
    ProbeTrailer t;
    t.generation = static_cast<uint8_t>(rng());
    t.flow_id = static_cast<uint32_t>(rng()) & kMaxFlowId;
    t.seq = static_cast<uint32_t>(rng());
    t.tx_ns = rng();
    t.reflected = rng() % 2 == 0;
    t.has_reflector_count = t.reflected && rng() % 2 == 0;
    t.reflector_count = t.has_reflector_count ? static_cast<uint32_t>(rng()) : 0;
    std::vector<uint8_t> wire = encoded(t);
    // Payloads are often longer than the trailer (padding, larger probes).
    const size_t extra = rng() % 3 == 0 ? rng() % 40 : 0;
    // Extra bytes after a probe's trailer must not be read as a reflector counter.
    wire.resize(wire.size() + extra, 0x5a);
    ProbeTrailer back;
    ASSERT_EQ(decode_trailer(wire.data(), wire.size(), &back), TrailerError::kNone) << i;
    EXPECT_EQ(back.version, kTrailerVersion);
    EXPECT_EQ(back.generation, t.generation);
    EXPECT_EQ(back.flow_id, t.flow_id);
    EXPECT_EQ(back.seq, t.seq);
    EXPECT_EQ(back.tx_ns, t.tx_ns);
    EXPECT_EQ(back.reflected, t.reflected);
    if (t.has_reflector_count) {
      EXPECT_TRUE(back.has_reflector_count);
      EXPECT_EQ(back.reflector_count, t.reflector_count);
    } else if (!t.reflected) {
      EXPECT_FALSE(back.has_reflector_count);
    }
  }
}

TEST(TrailerTest, FlowIdIsTwentyBits) {
  ProbeTrailer t;
  t.flow_id = kMaxFlowId;
  t.generation = kMaxGeneration;
  ProbeTrailer back;
  std::vector<uint8_t> wire = encoded(t);
  ASSERT_EQ(decode_trailer(wire.data(), wire.size(), &back), TrailerError::kNone);
  EXPECT_EQ(back.flow_id, kMaxFlowId);
  EXPECT_EQ(back.generation, kMaxGeneration);
  EXPECT_EQ(back.version, kTrailerVersion);
}

TEST(TrailerTest, RefusesPayloadsWithoutMagic) {
  ProbeTrailer out;
  const std::array<uint8_t, 18> zeros{};
  EXPECT_EQ(decode_trailer(zeros.data(), 0, &out), TrailerError::kNoMagic);
  EXPECT_EQ(decode_trailer(zeros.data(), 1, &out), TrailerError::kNoMagic);
  EXPECT_EQ(decode_trailer(zeros.data(), zeros.size(), &out), TrailerError::kNoMagic);
  // One byte of the magic is not the magic.
  const uint8_t m[1] = {0x6d};
  EXPECT_EQ(decode_trailer(m, 1, &out), TrailerError::kNoMagic);
  // Byte-swapped magic: a writer with the wrong byte order.
  std::vector<uint8_t> wire = encoded(ProbeTrailer{});
  std::swap(wire[0], wire[1]);
  EXPECT_EQ(decode_trailer(wire.data(), wire.size(), &out), TrailerError::kNoMagic);
  // A Linux ping payload starts with a timeval, never with the magic.
  const uint8_t ping[16] = {0x00, 0x5b, 0x55, 0x69, 0, 0, 0, 0, 0x40, 0xe2, 0x01, 0, 0, 0, 0, 0};
  EXPECT_EQ(decode_trailer(ping, sizeof ping, &out), TrailerError::kNoMagic);
}

TEST(TrailerTest, RefusesShortTrailers) {
  for (const bool reflected : {false, true}) {
    ProbeTrailer t;
    t.reflected = reflected;
    const std::vector<uint8_t> wire = encoded(t);
    ProbeTrailer out;
    for (size_t len = 2; len < kTrailerSize; ++len) {
      EXPECT_EQ(decode_trailer(wire.data(), len, &out), TrailerError::kTooShort) << len;
    }
  }
}

TEST(TrailerTest, RefusesOtherVersions) {
  for (const int version : {0, 2, 7, 15}) {
    ProbeTrailer t;
    t.version = static_cast<uint8_t>(version);
    const std::vector<uint8_t> wire = encoded(t);
    ProbeTrailer out;
    EXPECT_EQ(decode_trailer(wire.data(), wire.size(), &out), TrailerError::kBadVersion) << version;
  }
}

TEST(TrailerTest, ReflectorCounterOnlyWhenPresent) {
  ProbeTrailer t;
  t.reflected = true;
  t.has_reflector_count = true;
  t.reflector_count = 1234;
  const std::vector<uint8_t> wire = encoded(t);
  ProbeTrailer out;
  // Cut inside the counter: the trailer is valid, the counter is not there.
  for (size_t len = kTrailerSize; len < wire.size(); ++len) {
    ASSERT_EQ(decode_trailer(wire.data(), len, &out), TrailerError::kNone);
    EXPECT_TRUE(out.reflected);
    EXPECT_FALSE(out.has_reflector_count) << len;
    EXPECT_EQ(out.reflector_count, 0u);
  }
  ASSERT_EQ(decode_trailer(wire.data(), wire.size(), &out), TrailerError::kNone);
  EXPECT_TRUE(out.has_reflector_count);
  EXPECT_EQ(out.reflector_count, 1234u);
}

}  // namespace
}  // namespace migprobe::analysis
