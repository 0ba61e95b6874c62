// Covers protocol/src/reassembler_transforms.cpp (and the transformed OPEN of encoder.cpp):
// transformed messages undone in single frames and in chunks, in memory and in spill files; the
// transform block checked at OPEN (unannounced or unknown transforms, declared sizes beyond the
// limits, unknown wire sizes) before any body byte arrives; corrupt and mis-sized bodies failing
// their message only.

#include <netcore/protocol/reassembler.hpp>

#include <netcore/protocol/transform_codec.hpp>

#include "body_patterns.hpp"
#include "reassembly_support.hpp"

#include <gtest/gtest.h>

#include <filesystem>

#ifndef NETCORE_TEST_TMP
#error "NETCORE_TEST_TMP must name a scratch directory for spill files"
#endif

namespace {

namespace fs = std::filesystem;
using namespace netcore::protocol;
using namespace netcore::protocol::test;

constexpr std::uint64_t zstd_mask = transform_bit(transform_id::zstd);

/// A body, and what it looks like on the wire compressed.
struct compressed {
  byte_buffer plain;
  byte_buffer wire;
  transform_chain chain;
};

compressed compress(byte_buffer plain) {
  transform_codec codec;
  transformed_body t;
  EXPECT_TRUE(codec.apply(zstd_mask, plain, {}, t));
  return {std::move(plain), std::move(t.bytes), t.chain};
}

transform_chain chain_of(transform_id id, std::uint64_t decoded) {
  transform_chain c;
  c.push(id, decoded);
  return c;
}

owned_frame transformed_open(std::uint64_t id, std::uint64_t wire_size, const transform_chain& c,
                             const message_meta& meta = {}) {
  encoder enc;
  enc.open(id, meta, wire_size, c);
  return only_frame(enc);
}

owned_frame transformed_single(std::uint64_t id, byte_view wire, const transform_chain& c,
                               const message_meta& meta = {}) {
  encoder enc;
  enc.open_single(id, meta, wire, c);
  return only_frame(enc);
}

/// OPEN (transformed), DATA chunks of the wire body, END; stops at the first error.
errc send_transformed(reassembler& r, std::uint64_t id, const byte_buffer& wire,
                      const transform_chain& c, std::size_t chunk) {
  errc e = r.on_frame(transformed_open(id, wire.size(), c).view(), t0);
  for (std::size_t at = 0; e == errc::ok && at < wire.size(); at += chunk)
    e = r.on_frame(data_frame(id, at, byte_view{wire}.sub(at, chunk)).view(), t0);
  if (e != errc::ok) return e;
  return r.on_frame(end_frame(id, wire.size(), xxh3_64(wire)).view(), t0);
}

class ReassemblerTransformsTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = fresh_test_dir(NETCORE_TEST_TMP); }
  void TearDown() override {
    std::error_code ec;
    EXPECT_TRUE(fs::is_empty(dir_, ec)) << "spill files left behind";
    fs::remove_all(dir_, ec);
  }
  storage_policy spill(std::uint64_t threshold) const {
    storage_policy p;
    p.memory_threshold = threshold;
    p.spill_directory = dir_;
    return p;
  }
  std::string dir_;
};

}  // namespace

TEST_F(ReassemblerTransformsTest, SingleFrameTransformedMessageIsDecoded) {
  reassembler r;
  const compressed c = compress(text_bytes(12000));
  const message_meta meta = sample_meta();
  const owned_frame f = transformed_single(1, c.wire, c.chain, meta);
  EXPECT_EQ(f.header.flags & flags::transformed, flags::transformed);
  EXPECT_EQ(f.header.argument, c.wire.size());  // the wire size, like any OPEN
  ASSERT_EQ(r.on_frame(f.view(), t0), errc::ok);
  auto events = drain(r);
  ASSERT_EQ(events.size(), 1u);
  ASSERT_EQ(events[0].what, kind::completed);
  EXPECT_EQ(events[0].message.meta, meta);
  EXPECT_EQ(events[0].message.body.bytes(), c.plain);
  EXPECT_EQ(r.stats().decoded, 1u);
  EXPECT_EQ(r.stats().decoded_wire_bytes, c.wire.size());
  EXPECT_EQ(r.stats().decoded_bytes, c.plain.size());
  EXPECT_EQ(r.stats().body_bytes, c.wire.size());
}

TEST_F(ReassemblerTransformsTest, ChunkedTransformedMessageIsDecodedInMemory) {
  reassembler r;
  const compressed c = compress(text_bytes(200000, 4));
  message_meta call_meta;
  call_meta.call = call_info{};  // a call block follows the transform block
  encoder enc;
  enc.open(9, call_meta, c.wire.size(), c.chain);
  ASSERT_EQ(r.on_frame(only_frame(enc).view(), t0), errc::ok);
  for (std::size_t at = 0; at < c.wire.size(); at += 1000)
    ASSERT_EQ(r.on_frame(data_frame(9, at, byte_view{c.wire}.sub(at, 1000)).view(), t0), errc::ok);
  ASSERT_EQ(r.on_frame(end_frame(9, c.wire.size(), xxh3_64(c.wire)).view(), t0), errc::ok);
  auto events = drain(r);
  ASSERT_EQ(events.size(), 1u);
  ASSERT_EQ(events[0].what, kind::completed);
  EXPECT_TRUE(events[0].message.meta.call.has_value());
  EXPECT_FALSE(events[0].message.body.is_file());
  EXPECT_EQ(events[0].message.body.bytes(), c.plain);
  EXPECT_EQ(r.buffered_bytes(), 0u);
}

TEST_F(ReassemblerTransformsTest, DecodedBodiesAboveTheThresholdGoToFiles) {
  // Wire body and decoded body both above the threshold: the wire body spills while it arrives,
  // is read back, and the decoded body goes to a file of its own.
  reassembler r{{}, spill(4096)};
  const compressed c = compress(text_bytes(300000, 8));
  ASSERT_GT(c.wire.size(), 4096u);
  ASSERT_EQ(send_transformed(r, 3, c.wire, c.chain, 7000), errc::ok);
  // A SINGLE one too.
  const compressed s = compress(text_bytes(20000, 9));
  ASSERT_EQ(r.on_frame(transformed_single(4, s.wire, s.chain).view(), t0), errc::ok);
  auto events = drain(r);
  ASSERT_EQ(events.size(), 2u);
  for (auto& ev : events) {
    ASSERT_EQ(ev.what, kind::completed);
    ASSERT_TRUE(ev.message.body.is_file());
    auto back = ev.message.body.read_all();
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, ev.id == 3 ? c.plain : s.plain);
    ev.message.body.remove_file();
  }
}

TEST_F(ReassemblerTransformsTest, UnannouncedAndUnknownTransformsAreUnsupported) {
  limits none;
  none.accepted_transforms = 0;
  reassembler r{none};
  const compressed c = compress(text_bytes(9000));
  EXPECT_EQ(r.on_frame(transformed_single(1, c.wire, c.chain).view(), t0),
            errc::unsupported_transform);
  EXPECT_EQ(r.on_frame(transformed_open(2, c.wire.size(), c.chain).view(), t0),
            errc::unsupported_transform);
  // Even a receiver that claims every bit cannot undo a transform it does not know.
  limits all;
  all.accepted_transforms = ~std::uint64_t{0};
  reassembler r2{all};
  EXPECT_EQ(
      r2.on_frame(transformed_open(3, 100, chain_of(static_cast<transform_id>(5), 500)).view(), t0),
      errc::unsupported_transform);
  for (auto* x : {&r, &r2}) {
    EXPECT_EQ(x->open_count(), 0u);
    for (const auto& ev : drain(*x)) EXPECT_EQ(ev.error, errc::unsupported_transform);
  }
}

TEST_F(ReassemblerTransformsTest, DeclaredSizesBeyondTheLimitsAreRefusedAtOpen) {
  limits lim;
  lim.max_decoded_size = 100000;
  lim.max_message_size = 200000;
  reassembler r{lim};
  // Decoded size over max_decoded_size: refused before any DATA, nothing allocated for it.
  EXPECT_EQ(r.on_frame(transformed_open(1, 1000, chain_of(transform_id::zstd, 100001)).view(), t0),
            errc::message_too_large);
  // A terabyte declared: the same, at once.
  EXPECT_EQ(
      r.on_frame(transformed_open(2, 1000, chain_of(transform_id::zstd, 1ull << 40)).view(), t0),
      errc::message_too_large);
  // A wire body larger than the decoded bound.
  EXPECT_EQ(r.on_frame(transformed_open(3, 100001, chain_of(transform_id::zstd, 5000)).view(), t0),
            errc::message_too_large);
  // max_message_size bounds it too, when it is the smaller one.
  lim.max_decoded_size = 1u << 30;
  reassembler r2{lim};
  EXPECT_EQ(r2.on_frame(transformed_open(4, 1000, chain_of(transform_id::zstd, 200001)).view(), t0),
            errc::message_too_large);
  // At the limit is fine.
  EXPECT_EQ(r2.on_frame(transformed_open(5, 1000, chain_of(transform_id::zstd, 200000)).view(), t0),
            errc::ok);
  EXPECT_EQ(r.open_count(), 0u);
  EXPECT_EQ(r2.open_count(), 1u);
  EXPECT_EQ(r.buffered_bytes(), 0u);
}

TEST_F(ReassemblerTransformsTest, ABodyThatCouldNeverBeHeldIsRefusedAtOpen) {
  limits lim;
  lim.max_buffered_bytes = 50000;  // no spill directory: memory only
  reassembler r{lim};
  EXPECT_EQ(r.on_frame(transformed_open(1, 1000, chain_of(transform_id::zstd, 50001)).view(), t0),
            errc::memory_limit);
}

TEST_F(ReassemblerTransformsTest, TransformedMessagesMustDeclareTheirWireSize) {
  reassembler r;
  EXPECT_EQ(
      r.on_frame(transformed_open(1, unknown_size, chain_of(transform_id::zstd, 10)).view(), t0),
      errc::malformed_frame);
  // A truncated transform block.
  owned_frame f = transformed_open(2, 10, chain_of(transform_id::zstd, 10));
  f.payload.resize(3);
  EXPECT_EQ(r.on_frame(f.view(), t0), errc::malformed_frame);
}

TEST_F(ReassemblerTransformsTest, CorruptBodiesFailTheirMessageOnly) {
  reassembler r;
  compressed bad = compress(text_bytes(30000, 2));
  // The sender's bytes are not zstd (the digest is right: the damage is not the line's).
  for (std::size_t i = 8; i < bad.wire.size(); i += 3) bad.wire[i] ^= 0x5A;
  const compressed good = compress(text_bytes(30000, 3));
  ASSERT_EQ(r.on_frame(transformed_open(1, bad.wire.size(), bad.chain).view(), t0), errc::ok);
  ASSERT_EQ(r.on_frame(transformed_open(2, good.wire.size(), good.chain).view(), t0), errc::ok);
  ASSERT_EQ(r.on_frame(data_frame(1, 0, bad.wire).view(), t0), errc::ok);
  ASSERT_EQ(r.on_frame(data_frame(2, 0, good.wire).view(), t0), errc::ok);
  EXPECT_EQ(r.on_frame(end_frame(1, bad.wire.size(), xxh3_64(bad.wire)).view(), t0),
            errc::transform_failed);
  EXPECT_EQ(r.on_frame(end_frame(2, good.wire.size(), xxh3_64(good.wire)).view(), t0), errc::ok);
  // A corrupt SINGLE one as well.
  EXPECT_EQ(
      r.on_frame(transformed_single(3, noise_bytes(500), chain_of(transform_id::zstd, 900)).view(),
                 t0),
      errc::transform_failed);
  auto events = drain(r);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].what, kind::failed);
  EXPECT_EQ(events[0].id, 1u);
  EXPECT_EQ(events[0].error, errc::transform_failed);
  EXPECT_EQ(events[1].what, kind::completed);
  EXPECT_EQ(events[1].message.body.bytes(), good.plain);
  EXPECT_EQ(events[2].error, errc::transform_failed);
  EXPECT_EQ(r.open_count(), 0u);
  EXPECT_EQ(r.buffered_bytes(), 0u);
}

TEST_F(ReassemblerTransformsTest, ADecodedSizeOtherThanDeclaredIsSizeMismatch) {
  reassembler r{{}, spill(1000)};  // the wire body spills: its file goes with the failure
  const compressed c = compress(text_bytes(40000, 6));
  for (std::uint64_t declared : {c.plain.size() - 1, c.plain.size() + 1}) {
    transform_chain lie = chain_of(transform_id::zstd, declared);
    const std::uint64_t id = declared;
    EXPECT_EQ(send_transformed(r, id, c.wire, lie, 4096), errc::size_mismatch);
    EXPECT_EQ(r.on_frame(transformed_single(id + 1000000, c.wire, lie).view(), t0),
              errc::size_mismatch);
  }
  for (const auto& ev : drain(r)) EXPECT_EQ(ev.error, errc::size_mismatch);
  EXPECT_EQ(r.stats().decoded, 0u);
}
