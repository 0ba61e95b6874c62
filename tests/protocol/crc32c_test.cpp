#include <netcore/protocol/crc32c.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace {

using netcore::protocol::byte_buffer;
using netcore::protocol::byte_view;
using netcore::protocol::crc32c;
using netcore::protocol::crc32c_portable;
using netcore::protocol::crc32c_uses_hardware;

/// Bit-at-a-time CRC32C, independent of both implementations under test.
std::uint32_t reference_crc32c(const std::uint8_t* p, std::size_t n, std::uint32_t crc = 0) {
  std::uint32_t reg = ~crc;
  for (std::size_t i = 0; i < n; ++i) {
    reg ^= p[i];
    for (int bit = 0; bit < 8; ++bit) reg = (reg & 1) ? (reg >> 1) ^ 0x82F63B78u : reg >> 1;
  }
  return ~reg;
}

byte_buffer random_bytes(std::mt19937_64& rng, std::size_t n) {
  byte_buffer out(n);
  for (auto& b : out) b = static_cast<std::uint8_t>(rng());
  return out;
}

/// Both implementations, so every vector checks each of them.
struct impl {
  const char* name;
  std::uint32_t (*fn)(byte_view, std::uint32_t) noexcept;
};
const impl impls[] = {{"crc32c", &crc32c}, {"crc32c_portable", &crc32c_portable}};

TEST(Crc32c, CheckValue) {
  for (const auto& f : impls) {
    SCOPED_TRACE(f.name);
    EXPECT_EQ(f.fn(std::string_view("123456789"), 0), 0xE3069283u);
  }
}

// RFC 3720 (iSCSI), appendix B.4.
TEST(Crc32c, Rfc3720Vectors) {
  byte_buffer zeros(32, 0x00);
  byte_buffer ones(32, 0xFF);
  byte_buffer ascending(32);
  byte_buffer descending(32);
  for (std::size_t i = 0; i < 32; ++i) {
    ascending[i] = static_cast<std::uint8_t>(i);
    descending[i] = static_cast<std::uint8_t>(31 - i);
  }
  // An iSCSI SCSI Read (10) command PDU.
  const byte_buffer read_pdu = {0x01, 0xC0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                                0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00,
                                0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00,
                                0x00, 0x18, 0x28, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                                0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
  for (const auto& f : impls) {
    SCOPED_TRACE(f.name);
    EXPECT_EQ(f.fn(zeros, 0), 0x8A9136AAu);
    EXPECT_EQ(f.fn(ones, 0), 0x62A8AB43u);
    EXPECT_EQ(f.fn(ascending, 0), 0x46DD794Eu);
    EXPECT_EQ(f.fn(descending, 0), 0x113FDB5Cu);
    EXPECT_EQ(f.fn(read_pdu, 0), 0xD9963A56u);
  }
}

TEST(Crc32c, EmptyInputLeavesCrcUnchanged) {
  const std::uint8_t byte = 0x5A;
  for (const auto& f : impls) {
    SCOPED_TRACE(f.name);
    EXPECT_EQ(f.fn(byte_view{}, 0), 0u);
    EXPECT_EQ(f.fn(byte_view{}, 0xDEADBEEFu), 0xDEADBEEFu);
    EXPECT_EQ(f.fn(byte_view{&byte, 0}, 0x12345678u), 0x12345678u);
  }
  EXPECT_EQ(crc32c(byte_view{}), 0u);
  EXPECT_EQ(crc32c_portable(byte_view{}), 0u);
}

TEST(Crc32c, DefaultArgumentStartsFresh) {
  const std::string_view s = "netcore";
  EXPECT_EQ(crc32c(s), crc32c(s, 0));
  EXPECT_EQ(crc32c_portable(s), crc32c_portable(s, 0));
  EXPECT_EQ(crc32c(s), reference_crc32c(reinterpret_cast<const std::uint8_t*>(s.data()), s.size()));
}

TEST(Crc32c, UsesHardwareWhenTheCpuHasSse42) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
  EXPECT_EQ(crc32c_uses_hardware(), __builtin_cpu_supports("sse4.2") != 0);
#else
  EXPECT_FALSE(crc32c_uses_hardware());
#endif
  // The answer is fixed for the life of the process.
  EXPECT_EQ(crc32c_uses_hardware(), crc32c_uses_hardware());
}

// The name in reports says what runs: ISA-L when the build has it, then SSE4.2 or the table.
TEST(Crc32c, ImplementationNameSaysWhatRuns) {
  const std::string name = netcore::protocol::crc32c_implementation();
  EXPECT_EQ(name.find("sse4.2") != std::string::npos, crc32c_uses_hardware()) << name;
  EXPECT_EQ(name.find("table") != std::string::npos, !crc32c_uses_hardware()) << name;
#if NETCORE_TEST_HAVE_ISAL
  EXPECT_NE(name.find("isa-l"), std::string::npos) << name;
#endif
}

// Every short length at every alignment, against the bitwise reference and each other.
TEST(Crc32c, ShortLengthsAllAlignmentsAgree) {
  std::mt19937_64 rng(0x5EED0001);
  const byte_buffer buf = random_bytes(rng, 300 + 16);
  for (std::size_t len = 0; len <= 300; ++len) {
    for (std::size_t off = 0; off < 16; ++off) {
      SCOPED_TRACE(::testing::Message() << "len " << len << " offset " << off);
      const byte_view v(buf.data() + off, len);
      const auto seed = static_cast<std::uint32_t>(rng());
      const std::uint32_t expected = reference_crc32c(v.data(), v.size(), seed);
      ASSERT_EQ(crc32c(v, seed), expected);
      ASSERT_EQ(crc32c_portable(v, seed), expected);
    }
  }
}

// Lengths around the internal block boundaries of the hardware path, and large random ones.
TEST(Crc32c, LargeBuffersAtRandomOffsetsAgree) {
  std::mt19937_64 rng(0x5EED0002);
  const std::size_t max_len = 300'000;
  const byte_buffer buf = random_bytes(rng, max_len + 64);
  std::vector<std::size_t> lengths;
  for (std::size_t base :
       {96u, 192u, 256u, 768u, 1024u, 1536u, 4096u, 12288u, 24576u, 16384u, 65536u, 262144u}) {
    for (std::size_t delta = 0; delta <= 16; ++delta) {
      lengths.push_back(base + delta);
      lengths.push_back(base - delta);
    }
  }
  std::uniform_int_distribution<std::size_t> any_len(301, max_len);
  for (int i = 0; i < 60; ++i) lengths.push_back(any_len(rng));

  std::uniform_int_distribution<std::size_t> any_off(0, 63);
  for (std::size_t len : lengths) {
    const std::size_t off = any_off(rng);
    SCOPED_TRACE(::testing::Message() << "len " << len << " offset " << off);
    const byte_view v(buf.data() + off, len);
    const auto seed = static_cast<std::uint32_t>(rng());
    const std::uint32_t portable = crc32c_portable(v, seed);
    ASSERT_EQ(crc32c(v, seed), portable);
    if (len % 7 == 0) {
      ASSERT_EQ(reference_crc32c(v.data(), v.size(), seed), portable);
    }
  }
}

TEST(Crc32c, IncrementalEqualsOneShot) {
  std::mt19937_64 rng(0x5EED0003);
  const byte_buffer buf = random_bytes(rng, 100'000);
  const std::uint32_t whole = reference_crc32c(buf.data(), buf.size());
  for (const auto& f : impls) {
    SCOPED_TRACE(f.name);
    ASSERT_EQ(f.fn(buf, 0), whole);
    for (int round = 0; round < 200; ++round) {
      // Between one and eight pieces of random sizes.
      std::vector<std::size_t> cuts{0, buf.size()};
      std::uniform_int_distribution<std::size_t> pos(0, buf.size());
      const int pieces = 1 + static_cast<int>(rng() % 8);
      for (int i = 1; i < pieces; ++i) cuts.push_back(pos(rng));
      std::sort(cuts.begin(), cuts.end());
      std::uint32_t crc = 0;
      for (std::size_t i = 0; i + 1 < cuts.size(); ++i) {
        crc = f.fn(byte_view(buf.data() + cuts[i], cuts[i + 1] - cuts[i]), crc);
      }
      ASSERT_EQ(crc, whole) << "round " << round;
    }
  }
}

TEST(Crc32c, ByteAtATimeEqualsOneShot) {
  std::mt19937_64 rng(0x5EED0004);
  const byte_buffer buf = random_bytes(rng, 1000);
  for (const auto& f : impls) {
    SCOPED_TRACE(f.name);
    std::uint32_t crc = 0;
    for (std::uint8_t b : buf) crc = f.fn(byte_view(&b, 1), crc);
    EXPECT_EQ(crc, f.fn(buf, 0));
  }
}

// A CRC detects every single-bit error; a broken table or combine step would not.
TEST(Crc32c, DetectsEverySingleBitFlip) {
  std::mt19937_64 rng(0x5EED0005);
  byte_buffer buf = random_bytes(rng, 40'000);
  const std::uint32_t good = crc32c(buf);
  ASSERT_EQ(good, crc32c_portable(buf));
  for (std::size_t i = 0; i < buf.size(); i += 37) {
    const auto mask = static_cast<std::uint8_t>(1u << (i % 8));
    buf[i] ^= mask;
    ASSERT_NE(crc32c(buf), good) << "byte " << i;
    buf[i] ^= mask;
  }
  EXPECT_EQ(crc32c(buf), good);
}

}  // namespace
