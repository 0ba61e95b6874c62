#include <netcore/protocol/codec.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <initializer_list>
#include <limits>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

using namespace netcore::protocol;
using netcore::protocol::codec::codec_errc;
using namespace std::string_view_literals;
using nlohmann::json;

namespace {

using int_map = std::map<int, int>;
using string_map = std::map<std::string, std::string>;

struct sample {
  int id = 0;
  std::string name;
  std::vector<double> scores;
  std::map<std::string, std::int64_t> counters;
  std::optional<std::string> note;
  MSGPACK_DEFINE(id, name, scores, counters, note)

  friend bool operator==(const sample& a, const sample& b) {
    return a.id == b.id && a.name == b.name && a.scores == b.scores && a.counters == b.counters &&
           a.note == b.note;
  }
};

sample make_sample() {
  sample s;
  s.id = -42;
  s.name = "caf\xC3\xA9 \xE2\x9C\x93";
  s.scores = {0.5, -1.25, 1e300};
  s.counters = {{"a", 1}, {"b", -(std::int64_t{1} << 40)}, {"", 0}};
  s.note = "hello";
  return s;
}

byte_buffer bytes(std::initializer_list<int> values) {
  byte_buffer out;
  for (int v : values) out.push_back(static_cast<std::uint8_t>(v));
  return out;
}

byte_buffer as_bytes(std::string_view s) {
  return byte_buffer(s.begin(), s.end());
}

/// The characters of `s` as bytes (valid while `s` lives).
byte_view view(const std::string& s) {
  return std::string_view(s);
}

/// `depth` MessagePack arrays nested in each other, the innermost empty.
byte_buffer nested_arrays(std::size_t depth) {
  byte_buffer out(depth - 1, 0x91);  // fixarray of one element
  out.push_back(0x90);               // empty fixarray
  return out;
}

/// `depth` MessagePack maps {"a": {"a": ... {}}}.
byte_buffer nested_maps(std::size_t depth) {
  byte_buffer out;
  for (std::size_t i = 1; i < depth; ++i) {
    out.push_back(0x81);  // fixmap of one entry
    out.push_back(0xA1);  // fixstr "a"
    out.push_back('a');
  }
  out.push_back(0x80);
  return out;
}

std::string nested_json(std::size_t depth) {
  return std::string(depth, '[') + std::string(depth, ']');
}

/// Straightforward reference: decode the code point, then check range, overlong and surrogate.
bool reference_utf8(const std::uint8_t* p, std::size_t n) {
  std::size_t i = 0;
  while (i < n) {
    const std::uint8_t b = p[i];
    std::size_t len = 0;
    std::uint32_t cp = 0;
    if (b < 0x80) {
      ++i;
      continue;
    } else if ((b & 0xE0) == 0xC0) {
      len = 2;
      cp = b & 0x1Fu;
    } else if ((b & 0xF0) == 0xE0) {
      len = 3;
      cp = b & 0x0Fu;
    } else if ((b & 0xF8) == 0xF0) {
      len = 4;
      cp = b & 0x07u;
    } else {
      return false;
    }
    if (n - i < len) return false;
    for (std::size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i + k] & 0x3Fu);
    }
    static const std::uint32_t min_cp[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_cp[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

/// Peak virtual memory of this process in KiB (Linux), or -1 when unknown. Counts address space
/// reserved even if never touched, so it shows an allocation sized from a forged length.
long peak_virtual_kib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmPeak:", 0) == 0) return std::stol(line.substr(7));
  }
  return -1;
}

template <class F>
double seconds(F&& f) {
  const auto start = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

// ---- raw and text ----

TEST(codec, raw_round_trip) {
  const byte_buffer data = bytes({0, 1, 0xFF, 0x80, 0xC0, 0});
  auto enc = codec::encode_raw(data);
  EXPECT_EQ(enc.type, content_type::raw);
  EXPECT_EQ(enc.bytes, data);
  EXPECT_TRUE(codec::encode_raw(byte_view{}).bytes.empty());
}

TEST(codec, text_round_trip) {
  const std::string text =
      std::string("plain, caf\xC3\xA9, \xE2\x82\xAC, \xF0\x9F\x98\x80, nul:") + '\0' + "!";
  auto enc = codec::encode_text(text);
  EXPECT_EQ(enc.type, content_type::text);
  EXPECT_EQ(enc.bytes, as_bytes(text));
  auto back = codec::decode_text(enc.bytes);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, text);

  auto empty = codec::decode_text(codec::encode_text("").bytes);
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST(codec, text_accepts_boundary_code_points) {
  for (const char* s : {"\x7F", "\xC2\x80", "\xDF\xBF", "\xE0\xA0\x80", "\xED\x9F\xBF",
                        "\xEE\x80\x80", "\xEF\xBF\xBF", "\xF0\x90\x80\x80", "\xF4\x8F\xBF\xBF"}) {
    EXPECT_TRUE(codec::decode_text(std::string_view(s)).ok()) << testing::PrintToString(s);
  }
}

TEST(codec, text_rejects_invalid_utf8) {
  const char* bad[] = {
      "\x80",                      // lone continuation byte
      "\xBF",                      //
      "\xC0\x80",                  // overlong NUL
      "\xC1\xBF",                  // overlong U+007F
      "\xE0\x80\x80",              // overlong 3-byte
      "\xE0\x9F\xBF",              // overlong U+07FF
      "\xF0\x80\x80\x80",          // overlong 4-byte
      "\xF0\x8F\xBF\xBF",          // overlong U+FFFF
      "\xED\xA0\x80",              // U+D800, high surrogate
      "\xED\xBF\xBF",              // U+DFFF, low surrogate
      "\xED\xA0\xBD\xED\xB8\x80",  // CESU-8 surrogate pair
      "\xF4\x90\x80\x80",          // U+110000
      "\xF5\x80\x80\x80",          // lead byte beyond U+10FFFF
      "\xFE",                      //
      "\xFF",                      //
      "\xC3",                      // truncated 2-byte at end
      "\xE2\x82",                  // truncated 3-byte at end
      "\xF0\x9F\x98",              // truncated 4-byte at end
      "\xE2\x82x",                 // truncated 3-byte before ASCII
      "\xC3\xC3\xA9",              // lead followed by lead
      "abcdefgh\xFF",              // invalid after an all-ASCII word
      "abcdefg\xE2\x82",           // truncated inside the first word
      "abcdefghijklmnop\xED\xA0\x80qrstuvwx",
  };
  for (const char* s : bad) {
    auto r = codec::decode_text(std::string_view(s));
    ASSERT_FALSE(r.ok()) << testing::PrintToString(s);
    EXPECT_EQ(r.error(), std::error_code{codec_errc::decode_failed});
  }
}

TEST(codec, text_matches_reference_on_all_short_sequences) {
  std::uint8_t buf[4] = {};
  std::uint8_t padded[12] = {'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'};
  auto check = [&](std::size_t n) {
    const bool want = reference_utf8(buf, n);
    ASSERT_EQ(codec::decode_text(byte_view(buf, n)).ok(), want)
        << testing::PrintToString(std::string(reinterpret_cast<const char*>(buf), n));
    // The same bytes after a full ASCII word, past the word-at-a-time path.
    std::memcpy(padded + 8, buf, n);
    ASSERT_EQ(codec::decode_text(byte_view(padded, 8 + n)).ok(), want);
  };
  for (int a = 0; a < 256; ++a) {
    buf[0] = static_cast<std::uint8_t>(a);
    check(1);
    for (int b = 0; b < 256; ++b) {
      buf[1] = static_cast<std::uint8_t>(b);
      check(2);
    }
  }
  for (int a = 0xE0; a <= 0xEF; ++a) {
    for (int b = 0; b < 256; ++b) {
      for (int c = 0; c < 256; ++c) {
        buf[0] = static_cast<std::uint8_t>(a);
        buf[1] = static_cast<std::uint8_t>(b);
        buf[2] = static_cast<std::uint8_t>(c);
        check(3);
      }
    }
  }
  const int tails[] = {0x00, 0x7F, 0x80, 0x9F, 0xA0, 0xBF, 0xC0, 0xFF};
  for (int a = 0xF0; a <= 0xF7; ++a) {
    for (int b = 0; b < 256; ++b) {
      for (int c : tails) {
        for (int d : tails) {
          buf[0] = static_cast<std::uint8_t>(a);
          buf[1] = static_cast<std::uint8_t>(b);
          buf[2] = static_cast<std::uint8_t>(c);
          buf[3] = static_cast<std::uint8_t>(d);
          check(4);
        }
      }
    }
  }
}

TEST(codec, text_checks_every_position_after_ascii_words) {
  // Invalid byte at each offset of a long ASCII run, so word-aligned and unaligned cases occur.
  for (std::size_t at = 0; at < 40; ++at) {
    std::string s(40, 'x');
    s[at] = '\xFF';
    EXPECT_FALSE(codec::decode_text(std::string_view(s)).ok()) << at;
    s[at] = '\xC3';  // truncated, or followed by 'x'
    EXPECT_FALSE(codec::decode_text(std::string_view(s)).ok()) << at;
    s[at] = 'y';
    EXPECT_TRUE(codec::decode_text(std::string_view(s)).ok()) << at;
  }
}

// ---- JSON ----

TEST(codec, json_round_trip) {
  const json value = {
      {"name", "caf\xC3\xA9 \xF0\x9F\x98\x80"},
      {"n", -12},
      {"big", std::numeric_limits<std::uint64_t>::max()},
      {"pi", 3.25},
      {"flags", {true, false, nullptr}},
      {"nested", {{"list", json::array({1, 2, json::object()})}, {"empty", json::array()}}},
  };
  auto enc = codec::encode_json(value);
  EXPECT_EQ(enc.type, content_type::json);
  EXPECT_EQ(enc.bytes, as_bytes(value.dump()));

  auto back = codec::decode_json(enc.bytes);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, value);

  auto structured = codec::decode_structured(content_type::json, enc.bytes);
  ASSERT_TRUE(structured.ok());
  EXPECT_EQ(*structured, value);
}

TEST(codec, json_accepts_surrounding_whitespace_and_scalars) {
  auto r = codec::decode_json(std::string_view(" \n\t{\"a\": [1, 2]} \r\n"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)["a"][1], 2);
  EXPECT_EQ(*codec::decode_json(std::string_view("17")), 17);
  EXPECT_EQ(*codec::decode_json(std::string_view("\"\\u00e9\\ud83d\\ude00\"")),
            "\xC3\xA9\xF0\x9F\x98\x80");
}

TEST(codec, json_rejects_malformed_input) {
  const std::string_view bad[] = {
      ""sv,
      "   "sv,
      "{"sv,
      "}"sv,
      "[1,]"sv,
      "[1 2]"sv,
      "{\"a\" 1}"sv,
      "{\"a\": }"sv,
      "{a: 1}"sv,
      "'x'"sv,
      "nul"sv,
      "tru"sv,
      "01"sv,
      "1."sv,
      "\"unterminated"sv,
      "\"bad escape \\x\""sv,
      "\"lone surrogate \\ud800\""sv,
      "\"raw control \x01\""sv,
      "\"invalid utf8 \xFF\""sv,
      "\"overlong \xC0\xAF\""sv,
      "[1] [2]"sv,             // two values
      "{} x"sv,                // trailing garbage
      "{}\x00"sv,              // trailing NUL
      "{}\x00{{{ not json"sv,  // the parser alone stops at a NUL byte
      "[1]\x00]"sv,            //
      "\x00"sv,                //
      "\"a\0b\""sv,            // raw NUL inside a string
      "// comment\n1"sv,
  };
  for (std::string_view text : bad) {
    auto r = codec::decode_json(text);
    ASSERT_FALSE(r.ok()) << testing::PrintToString(text);
    EXPECT_EQ(r.error(), std::error_code{codec_errc::decode_failed});
    auto s2 = codec::decode_structured(content_type::json, text);
    ASSERT_FALSE(s2.ok());
    EXPECT_EQ(s2.error(), std::error_code{codec_errc::decode_failed});
  }
}

TEST(codec, json_nesting_limit) {
  const std::size_t max = codec::detail::max_nesting_depth;
  EXPECT_TRUE(codec::decode_json(view(nested_json(max))).ok());
  EXPECT_EQ(codec::decode_json(view(nested_json(max + 1))).error(),
            std::error_code{codec_errc::decode_failed});
  EXPECT_EQ(codec::decode_structured(content_type::json, view(nested_json(max + 1))).error(),
            std::error_code{codec_errc::decode_failed});

  std::string objects;
  for (std::size_t i = 1; i < max; ++i) objects += "{\"k\":";
  objects += "{}" + std::string(max - 1, '}');
  EXPECT_TRUE(codec::decode_json(view(objects)).ok());
  EXPECT_FALSE(codec::decode_json(view("[" + objects + "]")).ok());

  // Very deep input fails cleanly (and fast).
  double t = seconds([] {
    EXPECT_FALSE(codec::decode_json(view(nested_json(1'000'000))).ok());
    EXPECT_FALSE(codec::decode_json(view(std::string(1'000'000, '['))).ok());
  });
  EXPECT_LT(t, 2.0);
}

TEST(codec, json_brackets_inside_strings_do_not_count) {
  const std::size_t max = codec::detail::max_nesting_depth;
  const std::string many(200, '[');
  EXPECT_TRUE(codec::decode_json(view("[\"" + many + "\"]")).ok());
  EXPECT_TRUE(codec::decode_json(view("[\"\\\"" + many + "\"]")).ok());  // after an escaped quote
  // An escaped backslash ends before the closing quote; counting resumes after it.
  EXPECT_TRUE(codec::decode_json(view("[\"\\\\\"," + nested_json(max - 1) + "]")).ok());
  EXPECT_FALSE(codec::decode_json(view("[\"\\\\\"," + nested_json(max) + "]")).ok());
}

// ---- MessagePack ----

TEST(codec, msgpack_struct_round_trip) {
  for (bool with_note : {true, false}) {
    sample s = make_sample();
    if (!with_note) s.note.reset();
    auto enc = codec::encode_msgpack(s);
    EXPECT_EQ(enc.type, content_type::msgpack);
    auto back = codec::decode_msgpack<sample>(enc.bytes);
    ASSERT_TRUE(back.ok()) << with_note;
    EXPECT_EQ(*back, s);
  }
}

TEST(codec, msgpack_containers_round_trip) {
  const std::map<std::string, std::vector<int>> m = {{"x", {1, -2, 300000}}, {"y", {}}, {"", {0}}};
  auto back = codec::decode_msgpack<std::map<std::string, std::vector<int>>>(
      codec::encode_msgpack(m).bytes);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, m);

  const std::vector<std::optional<std::int64_t>> v = {std::nullopt, 5, -(std::int64_t{1} << 62)};
  auto back2 = codec::decode_msgpack<std::vector<std::optional<std::int64_t>>>(
      codec::encode_msgpack(v).bytes);
  ASSERT_TRUE(back2.ok());
  EXPECT_EQ(*back2, v);

  const std::map<int, std::string> keyed = {{1, "one"}, {-1, "minus one"}};
  auto back3 =
      codec::decode_msgpack<std::map<int, std::string>>(codec::encode_msgpack(keyed).bytes);
  ASSERT_TRUE(back3.ok());
  EXPECT_EQ(*back3, keyed);

  std::vector<int> large(100'000);
  for (std::size_t i = 0; i < large.size(); ++i) large[i] = static_cast<int>(i % 100);
  auto back4 = codec::decode_msgpack<std::vector<int>>(codec::encode_msgpack(large).bytes);
  ASSERT_TRUE(back4.ok());
  EXPECT_EQ(*back4, large);
}

TEST(codec, msgpack_minimal_containers_fit_the_size_limits) {
  // Each of these is as small as its declared size allows.
  EXPECT_TRUE(codec::decode_msgpack<int_map>(bytes({0x81, 0x00, 0x00})).ok());
  EXPECT_TRUE(codec::decode_msgpack<int_map>(bytes({0xDE, 0x00, 0x01, 0x00, 0x00})).ok());
  EXPECT_TRUE(codec::decode_msgpack<std::vector<int>>(bytes({0x91, 0x00})).ok());
  EXPECT_TRUE(codec::decode_msgpack<std::vector<int>>(bytes({0xDC, 0x00, 0x01, 0x07})).ok());
  EXPECT_TRUE(codec::decode_msgpack<std::string>(bytes({0xA0})).ok());
  EXPECT_TRUE(codec::decode_msgpack<std::string>(bytes({0xD9, 0x01, 'a'})).ok());
}

TEST(codec, msgpack_wrong_type_conversion_fails) {
  auto as_string = codec::encode_msgpack(std::string("not a number")).bytes;
  EXPECT_EQ(codec::decode_msgpack<int>(as_string).error(),
            std::error_code{codec_errc::decode_failed});
  EXPECT_EQ(codec::decode_msgpack<std::vector<int>>(as_string).error(),
            std::error_code{codec_errc::decode_failed});

  auto as_map = codec::encode_msgpack(std::map<std::string, int>{{"a", 1}}).bytes;
  EXPECT_EQ(codec::decode_msgpack<std::vector<int>>(as_map).error(),
            std::error_code{codec_errc::decode_failed});
  EXPECT_EQ(codec::decode_msgpack<int_map>(as_map).error(),
            std::error_code{codec_errc::decode_failed});

  EXPECT_EQ(codec::decode_msgpack<std::uint8_t>(codec::encode_msgpack(300).bytes).error(),
            std::error_code{codec_errc::decode_failed});
  EXPECT_EQ(codec::decode_msgpack<unsigned>(codec::encode_msgpack(-1).bytes).error(),
            std::error_code{codec_errc::decode_failed});
  EXPECT_EQ(codec::decode_msgpack<sample>(codec::encode_msgpack(42).bytes).error(),
            std::error_code{codec_errc::decode_failed});
  EXPECT_EQ(codec::decode_msgpack<bool>(bytes({0xC0})).error(),
            std::error_code{codec_errc::decode_failed});
}

TEST(codec, msgpack_rejects_malformed_input) {
  const byte_buffer bad[] = {
      {},
      bytes({0xC1}),                       // never used
      bytes({0x92, 0x01}),                 // array missing an element
      bytes({0x81, 0xA1, 'a'}),            // map missing a value
      bytes({0xA3, 'a', 'b'}),             // fixstr missing a byte
      bytes({0xD9}),                       // str 8 without its length
      bytes({0xDA, 0x00}),                 // str 16 with half its length
      bytes({0xCB, 0, 0, 0, 0, 0, 0, 0}),  // float 64 missing a byte
      bytes({0xCF, 0, 0}),                 // uint 64 truncated
      bytes({0xD8, 0x01, 0, 0, 0}),        // fixext 16 truncated
      bytes({0xC7, 0x05, 0x01, 0, 0}),     // ext 8 truncated
  };
  for (const auto& b : bad) {
    EXPECT_EQ(codec::decode_msgpack<msgpack::type::nil_t>(b).error(),
              std::error_code{codec_errc::decode_failed})
        << testing::PrintToString(b);
    EXPECT_EQ(codec::decode_structured(content_type::msgpack, b).error(),
              std::error_code{codec_errc::decode_failed})
        << testing::PrintToString(b);
  }
}

TEST(codec, msgpack_every_truncation_fails) {
  const byte_buffer full = codec::encode_msgpack(make_sample()).bytes;
  ASSERT_TRUE(codec::decode_msgpack<sample>(full).ok());
  ASSERT_TRUE(codec::decode_structured(content_type::msgpack, full).ok());
  for (std::size_t n = 0; n < full.size(); ++n) {
    byte_view prefix(full.data(), n);
    EXPECT_EQ(codec::decode_msgpack<sample>(prefix).error(),
              std::error_code{codec_errc::decode_failed})
        << n;
    EXPECT_EQ(codec::decode_structured(content_type::msgpack, prefix).error(),
              std::error_code{codec_errc::decode_failed})
        << n;
  }
}

TEST(codec, msgpack_trailing_bytes_fail) {
  for (int extra : {0x00, 0xC0, 0x90, 0xFF}) {
    byte_buffer b = codec::encode_msgpack(make_sample()).bytes;
    b.push_back(static_cast<std::uint8_t>(extra));
    EXPECT_EQ(codec::decode_msgpack<sample>(b).error(), std::error_code{codec_errc::decode_failed})
        << extra;
    EXPECT_EQ(codec::decode_structured(content_type::msgpack, b).error(),
              std::error_code{codec_errc::decode_failed});
  }
  // Two complete objects.
  byte_buffer two = codec::encode_msgpack(1).bytes;
  two.push_back(0x02);
  EXPECT_EQ(codec::decode_msgpack<int>(two).error(), std::error_code{codec_errc::decode_failed});
}

TEST(codec, msgpack_huge_declared_sizes_fail_fast) {
  // Headers claiming up to 2^32-1 elements or bytes, backed by nothing.
  const byte_buffer claims[] = {
      bytes({0xDD, 0xFF, 0xFF, 0xFF, 0xFF}),        // array 32: 4294967295 elements
      bytes({0xDF, 0xFF, 0xFF, 0xFF, 0xFF}),        // map 32
      bytes({0xDB, 0xFF, 0xFF, 0xFF, 0xFF}),        // str 32
      bytes({0xC6, 0xFF, 0xFF, 0xFF, 0xFF}),        // bin 32
      bytes({0xC9, 0xFF, 0xFF, 0xFF, 0xFF, 0x01}),  // ext 32
      bytes({0xDC, 0xFF, 0xFF, 0x01, 0x02, 0x03}),  // array 16 with 3 of 65535 elements
      bytes({0xDD, 0x7F, 0xFF, 0xFF, 0xFF, 0xC0}),  // array 32 with one of 2^31-1 elements
  };
  double t = seconds([&] {
    for (const auto& b : claims) {
      EXPECT_EQ(codec::decode_structured(content_type::msgpack, b).error(),
                std::error_code{codec_errc::decode_failed})
          << testing::PrintToString(b);
      EXPECT_EQ(codec::decode_msgpack<std::vector<int>>(b).error(),
                std::error_code{codec_errc::decode_failed});
      EXPECT_EQ(codec::decode_msgpack<std::string>(b).error(),
                std::error_code{codec_errc::decode_failed});
    }
    // Every level of a deep nest claiming the maximum.
    byte_buffer nest;
    for (int i = 0; i < 64; ++i) nest.insert(nest.end(), {0xDD, 0xFF, 0xFF, 0xFF, 0xFF});
    EXPECT_EQ(codec::decode_structured(content_type::msgpack, nest).error(),
              std::error_code{codec_errc::decode_failed});
    EXPECT_EQ(codec::decode_msgpack<std::vector<std::vector<int>>>(nest).error(),
              std::error_code{codec_errc::decode_failed});
  });
  EXPECT_LT(t, 1.0);
}

TEST(codec, msgpack_forged_sizes_reserve_no_memory) {
  const long before = peak_virtual_kib();
  if (before < 0) GTEST_SKIP() << "no /proc/self/status";
  // 2^24 .. 2^31 declared elements: a naive unpacker reserves 16 bytes per element up front,
  // which the system grants (lazily) for all but the largest.
  for (int shift = 24; shift <= 31; ++shift) {
    const std::uint32_t n = std::uint32_t{1} << shift;
    for (int tag : {0xDD, 0xDF}) {  // array 32, map 32
      const byte_buffer b = bytes({tag, static_cast<int>(n >> 24), static_cast<int>(n >> 16 & 0xFF),
                                   static_cast<int>(n >> 8 & 0xFF), static_cast<int>(n & 0xFF)});
      EXPECT_FALSE(codec::decode_structured(content_type::msgpack, b).ok()) << shift;
      EXPECT_FALSE(codec::decode_msgpack<std::vector<int>>(b).ok()) << shift;
    }
  }
  // Nested containers each claiming as many elements as there are bytes left: every claim on
  // its own is plausible, but together they would reserve 64 times the input's size in objects.
  const std::size_t size = std::size_t{1} << 20;
  byte_buffer nest;
  for (std::size_t level = 0; level < codec::detail::max_nesting_depth; ++level) {
    const std::size_t left = size - nest.size() - 5;
    nest.insert(nest.end(),
                {0xDD, static_cast<std::uint8_t>(left >> 24), static_cast<std::uint8_t>(left >> 16),
                 static_cast<std::uint8_t>(left >> 8), static_cast<std::uint8_t>(left)});
  }
  nest.resize(size, 0xC0);  // fills the innermost array with nils; the outer ones stay short
  EXPECT_FALSE(codec::decode_structured(content_type::msgpack, nest).ok());
  EXPECT_FALSE(codec::decode_msgpack<msgpack::type::nil_t>(nest).ok());

  EXPECT_LT(peak_virtual_kib() - before, 256 * 1024) << "KiB of address space reserved";
}

TEST(codec, msgpack_nesting_limit) {
  const std::size_t max = codec::detail::max_nesting_depth;
  auto ok = codec::decode_structured(content_type::msgpack, nested_arrays(max));
  ASSERT_TRUE(ok.ok());
  const json* inner = &*ok;
  for (std::size_t i = 1; i < max; ++i) inner = &(*inner)[0];
  EXPECT_EQ(*inner, json::array());
  EXPECT_TRUE(codec::decode_structured(content_type::msgpack, nested_maps(max)).ok());

  EXPECT_EQ(codec::decode_structured(content_type::msgpack, nested_arrays(max + 1)).error(),
            std::error_code{codec_errc::decode_failed});
  EXPECT_EQ(codec::decode_structured(content_type::msgpack, nested_maps(max + 1)).error(),
            std::error_code{codec_errc::decode_failed});
  EXPECT_EQ(codec::decode_msgpack<msgpack::type::nil_t>(nested_arrays(max + 1)).error(),
            std::error_code{codec_errc::decode_failed});

  double t = seconds([] {
    EXPECT_EQ(codec::decode_structured(content_type::msgpack, nested_arrays(1'000'000)).error(),
              std::error_code{codec_errc::decode_failed});
    EXPECT_EQ(codec::decode_structured(content_type::msgpack, byte_buffer(1'000'000, 0x91)).error(),
              std::error_code{codec_errc::decode_failed});
  });
  EXPECT_LT(t, 2.0);
}

// ---- decode_structured ----

TEST(codec, structured_converts_msgpack_to_json) {
  const sample s = make_sample();
  auto r = codec::decode_structured(content_type::msgpack, codec::encode_msgpack(s).bytes);
  ASSERT_TRUE(r.ok());
  const json want = json::array({-42,
                                 s.name,
                                 {0.5, -1.25, 1e300},
                                 {{"a", 1}, {"b", -(std::int64_t{1} << 40)}, {"", 0}},
                                 "hello"});
  EXPECT_EQ(*r, want);

  sample no_note = s;
  no_note.note.reset();
  r = codec::decode_structured(content_type::msgpack, codec::encode_msgpack(no_note).bytes);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE((*r)[4].is_null());
}

TEST(codec, structured_scalars) {
  auto dec = [](const byte_buffer& b) {
    auto r = codec::decode_structured(content_type::msgpack, b);
    EXPECT_TRUE(r.ok()) << testing::PrintToString(b);
    return r.ok() ? *r : json("decode failed");
  };
  EXPECT_TRUE(dec(bytes({0xC0})).is_null());
  EXPECT_EQ(dec(bytes({0xC3})), true);
  EXPECT_EQ(dec(bytes({0xC2})), false);
  EXPECT_EQ(dec(bytes({0x7F})), 127);
  EXPECT_EQ(dec(bytes({0xFF})), -1);
  const json umax = dec(codec::encode_msgpack(std::numeric_limits<std::uint64_t>::max()).bytes);
  EXPECT_TRUE(umax.is_number_unsigned());
  EXPECT_EQ(umax.get<std::uint64_t>(), std::numeric_limits<std::uint64_t>::max());
  const json imin = dec(codec::encode_msgpack(std::numeric_limits<std::int64_t>::min()).bytes);
  EXPECT_TRUE(imin.is_number_integer());
  EXPECT_EQ(imin.get<std::int64_t>(), std::numeric_limits<std::int64_t>::min());
  EXPECT_EQ(dec(codec::encode_msgpack(1.5f).bytes), 1.5);
  EXPECT_EQ(dec(codec::encode_msgpack(-2.25).bytes), -2.25);
  EXPECT_EQ(dec(bytes({0xA2, 'h', 'i'})), "hi");

  const json bin = dec(bytes({0xC4, 0x03, 0x00, 0x7F, 0xFF}));
  ASSERT_TRUE(bin.is_binary());
  EXPECT_EQ(static_cast<const std::vector<std::uint8_t>&>(bin.get_binary()),
            (std::vector<std::uint8_t>{0x00, 0x7F, 0xFF}));
  EXPECT_FALSE(bin.get_binary().has_subtype());

  const json ext = dec(bytes({0xD5, 0xFE, 0x01, 0x02}));  // fixext 2, type -2
  ASSERT_TRUE(ext.is_binary());
  EXPECT_EQ(static_cast<const std::vector<std::uint8_t>&>(ext.get_binary()),
            (std::vector<std::uint8_t>{0x01, 0x02}));
  ASSERT_TRUE(ext.get_binary().has_subtype());
  EXPECT_EQ(ext.get_binary().subtype(), 0xFEu);
}

TEST(codec, structured_matches_nlohmann_msgpack) {
  const json values[] = {
      json::object(),
      json::array(),
      {{"a", {1, 2.5, "x", nullptr, true}}, {"b", {{"c", json::array()}}}},
      json::binary({1, 2, 3}),
      json::binary({9, 8}, 42),
      {{"\xC3\xA9t\xC3\xA9", -100000}, {"u", 4000000000u}, {"f", 0.1}},
      json(std::numeric_limits<std::int64_t>::min()),
      json(std::string(70000, 'z')),
  };
  for (const json& v : values) {
    const std::vector<std::uint8_t> packed = json::to_msgpack(v);
    auto r = codec::decode_structured(content_type::msgpack, packed);
    ASSERT_TRUE(r.ok()) << v.dump().substr(0, 80);
    EXPECT_EQ(*r, v);
    EXPECT_EQ(*r, json::from_msgpack(packed));
  }
}

TEST(codec, structured_rejects_non_string_keys_and_bad_strings) {
  // {1: 2}
  EXPECT_EQ(codec::decode_structured(content_type::msgpack, bytes({0x81, 0x01, 0x02})).error(),
            std::error_code{codec_errc::decode_failed});
  // {nil: 2}, {[]: 2}
  EXPECT_EQ(codec::decode_structured(content_type::msgpack, bytes({0x81, 0xC0, 0x02})).error(),
            std::error_code{codec_errc::decode_failed});
  EXPECT_EQ(codec::decode_structured(content_type::msgpack, bytes({0x81, 0x90, 0x02})).error(),
            std::error_code{codec_errc::decode_failed});
  // A binary key is not a string either.
  EXPECT_EQ(
      codec::decode_structured(content_type::msgpack, bytes({0x81, 0xC4, 0x01, 'a', 0x02})).error(),
      std::error_code{codec_errc::decode_failed});
  // Invalid UTF-8 in a string value and in a key.
  EXPECT_EQ(codec::decode_structured(content_type::msgpack, bytes({0xA2, 0xC0, 0x80})).error(),
            std::error_code{codec_errc::decode_failed});
  EXPECT_EQ(
      codec::decode_structured(content_type::msgpack, bytes({0x81, 0xA1, 0xFF, 0x00})).error(),
      std::error_code{codec_errc::decode_failed});
  // Non-string keys stay fine for typed decoding.
  EXPECT_TRUE(codec::decode_msgpack<int_map>(bytes({0x81, 0x01, 0x02})).ok());
}

TEST(codec, structured_repeated_key_keeps_the_last_value) {
  auto r = codec::decode_structured(content_type::msgpack,
                                    bytes({0x82, 0xA1, 'k', 0x01, 0xA1, 'k', 0x02}));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, (json{{"k", 2}}));
}

TEST(codec, structured_rejects_raw_and_text) {
  const byte_buffer b = as_bytes("{}");
  EXPECT_EQ(codec::decode_structured(content_type::raw, b).error(),
            std::error_code{codec_errc::content_type_mismatch});
  EXPECT_EQ(codec::decode_structured(content_type::text, b).error(),
            std::error_code{codec_errc::content_type_mismatch});
  EXPECT_EQ(codec::decode_structured(static_cast<content_type>(9), b).error(),
            std::error_code{codec_errc::content_type_mismatch});
}

TEST(codec, random_input_never_throws) {
  std::mt19937_64 rng{12345};
  for (int i = 0; i < 20000; ++i) {
    byte_buffer b(rng() % 48);
    for (auto& x : b) x = static_cast<std::uint8_t>(rng());
    // Bias towards container and length headers.
    if (!b.empty() && i % 2 == 0) b[0] = static_cast<std::uint8_t>(0x80 + rng() % 0x60);
    EXPECT_NO_THROW({
      (void)codec::decode_structured(content_type::msgpack, b);
      (void)codec::decode_structured(content_type::json, b);
      (void)codec::decode_msgpack<std::vector<int>>(b);
      (void)codec::decode_msgpack<string_map>(b);
      (void)codec::decode_text(b);
    });
  }
}
