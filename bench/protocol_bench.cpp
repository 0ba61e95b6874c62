// Throughput of the protocol hot paths, against a memcpy of the same size as the baseline.
//
//   netcore_protocol_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
//
// Every benchmark runs at 16 KiB and 64 KiB (the buffer or chunk size) and reports bytes/s; the
// transform benchmarks run on a 64 KiB body (text-like, JSON, random) at zstd levels 1 and 3 and
// report the plain bytes per second and the ratio (plain / wire).

#include <netcore/protocol/bytes.hpp>
#include <netcore/protocol/crc32c.hpp>
#include <netcore/protocol/decoder.hpp>
#include <netcore/protocol/digest.hpp>
#include <netcore/protocol/encoder.hpp>
#include <netcore/protocol/frame.hpp>
#include <netcore/protocol/limits.hpp>
#include <netcore/protocol/transform_codec.hpp>

#include "../tests/protocol/body_patterns.hpp"

#include <benchmark/benchmark.h>
#include <zstd.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <random>

namespace {

namespace np = netcore::protocol;

constexpr std::size_t body_size = std::size_t{1} << 20;  // message body for encode/decode

np::byte_buffer random_bytes(std::size_t n) {
  std::mt19937_64 rng(42);
  np::byte_buffer out(n);
  for (auto& b : out) b = static_cast<std::uint8_t>(rng());
  return out;
}

void sizes(benchmark::internal::Benchmark* b) {
  b->Arg(16 << 10)->Arg(64 << 10);
}

// Source and destination are 64-byte aligned and 2 KiB apart modulo the page size: with glibc
// 2.36 on AMD Zen, `rep movsb` slows down by more than 10x when the two are less than 64 bytes
// apart modulo 4 KiB (as two equal heap blocks often are), which would understate the baseline.
void BM_memcpy(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  np::byte_buffer storage = random_bytes(2 * n + 8192);
  auto* const src = reinterpret_cast<std::uint8_t*>(
      (reinterpret_cast<std::uintptr_t>(storage.data()) + 4095) & ~std::uintptr_t{4095});
  std::uint8_t* const dst = src + n + 2048;
  for (auto _ : state) {
    std::memcpy(dst, src, n);
    benchmark::DoNotOptimize(dst);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * n));
}
BENCHMARK(BM_memcpy)->Apply(sizes);

void BM_crc32c(benchmark::State& state) {
  const np::byte_buffer buf = random_bytes(static_cast<std::size_t>(state.range(0)));
  std::uint32_t crc = 0;
  for (auto _ : state) {
    crc = np::crc32c(buf, crc);
    benchmark::DoNotOptimize(crc);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * buf.size()));
  state.SetLabel(np::crc32c_implementation());
}
BENCHMARK(BM_crc32c)->Apply(sizes);

void BM_crc32c_portable(benchmark::State& state) {
  const np::byte_buffer buf = random_bytes(static_cast<std::size_t>(state.range(0)));
  std::uint32_t crc = 0;
  for (auto _ : state) {
    crc = np::crc32c_portable(buf, crc);
    benchmark::DoNotOptimize(crc);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * buf.size()));
}
BENCHMARK(BM_crc32c_portable)->Apply(sizes);

void BM_xxh3(benchmark::State& state) {
  const np::byte_buffer buf = random_bytes(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {
    np::digest64 d = np::xxh3_64(buf);
    benchmark::DoNotOptimize(d);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * buf.size()));
}
BENCHMARK(BM_xxh3)->Apply(sizes);

// DATA frames (header + payload CRC) for a 1 MiB body cut into chunks of the given size, then
// the slices for one vectored write, then clear() for the next batch.
void BM_encode(benchmark::State& state) {
  const auto chunk = static_cast<std::size_t>(state.range(0));
  const np::byte_buffer body = random_bytes(body_size);
  np::encoder enc;
  for (auto _ : state) {
    for (std::size_t off = 0; off < body.size(); off += chunk) {
      enc.data(1, off, np::byte_view(body).sub(off, chunk));
    }
    const auto& slices = enc.slices();
    benchmark::DoNotOptimize(slices.data());
    enc.clear();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * body.size()));
}
BENCHMARK(BM_encode)->Apply(sizes);

// A stream of DATA frames carrying a random body of body_size bytes in chunks of `chunk`.
np::byte_buffer encoded_frames(std::size_t chunk) {
  const np::byte_buffer body = random_bytes(body_size);
  np::encoder enc;
  for (std::size_t off = 0; off < body.size(); off += chunk) {
    enc.data(1, off, np::byte_view(body).sub(off, chunk));
  }
  np::byte_buffer wire;
  enc.flatten_into(wire);
  return wire;
}

// Header and payload verification of a buffer of DATA frames of the given chunk size, all of
// them whole in the input (the decoder's zero-copy path). Counts payload bytes.
void BM_decode_verify(benchmark::State& state) {
  const np::byte_buffer wire = encoded_frames(static_cast<std::size_t>(state.range(0)));

  np::decoder dec;
  std::size_t payload = 0;
  for (auto _ : state) {
    np::byte_view in(wire);
    for (;;) {
      const np::decode_result r = dec.next(in);
      if (r.status == np::decode_status::need_more) break;
      if (r.status != np::decode_status::frame) {
        state.SkipWithError("decode error");
        return;
      }
      payload += r.frame.payload.size();
      benchmark::DoNotOptimize(r.frame.payload.data());
    }
  }
  if (payload != state.iterations() * body_size) state.SkipWithError("payload bytes lost");
  state.SetBytesProcessed(static_cast<std::int64_t>(payload));
}
BENCHMARK(BM_decode_verify)->Apply(sizes);

// The baseline for BM_decode_verify: a memcpy of exactly the bytes it decodes (the same buffer of
// DATA frames), into a destination placed as in BM_memcpy. Counts payload bytes, like the decoder.
void BM_memcpy_frames(benchmark::State& state) {
  const np::byte_buffer wire = encoded_frames(static_cast<std::size_t>(state.range(0)));
  np::byte_buffer storage(wire.size() + 8192);
  auto* dst = reinterpret_cast<std::uint8_t*>(
      (reinterpret_cast<std::uintptr_t>(storage.data()) + 4095) & ~std::uintptr_t{4095});
  dst += ((reinterpret_cast<std::uintptr_t>(wire.data()) + 2048) & 4095);
  for (auto _ : state) {
    std::memcpy(dst, wire.data(), wire.size());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * body_size));
}
BENCHMARK(BM_memcpy_frames)->Apply(sizes);

// -- transforms -------------------------------------------------------------------------------

constexpr std::size_t transform_body = 64u << 10;
constexpr std::uint64_t zstd_mask = np::transform_bit(np::transform_id::zstd);

// The 64 KiB bodies: text-like (words of logs and JSON), JSON records, or random bytes.
enum class body_kind { text, json, random };
np::byte_buffer transform_input(body_kind kind) {
  switch (kind) {
  case body_kind::text:
    return np::test::text_bytes(transform_body, 42);
  case body_kind::json:
    return np::test::json_bytes(transform_body, 42);
  case body_kind::random:
    break;
  }
  return np::test::noise_bytes(transform_body, 42);
}

// What the session does to a body before it sends it: zstd at level range(1), kept only when it
// is smaller. For random bytes that is the cost of trying (the body then goes plain).
void BM_zstd_compress(benchmark::State& state, body_kind kind) {
  const np::byte_buffer body = transform_input(kind);
  const np::transform_options options{static_cast<int>(state.range(0))};
  np::transform_codec codec;
  np::transformed_body out;
  std::size_t wire = body.size();
  for (auto _ : state) {
    wire = codec.apply(zstd_mask, body, options, out) ? out.bytes.size() : body.size();
    benchmark::DoNotOptimize(out.bytes.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * body.size()));
  state.counters["ratio"] = static_cast<double>(body.size()) / static_cast<double>(wire);
}
BENCHMARK_CAPTURE(BM_zstd_compress, text, body_kind::text)->Arg(1)->Arg(3);
BENCHMARK_CAPTURE(BM_zstd_compress, json, body_kind::json)->Arg(1)->Arg(3);
BENCHMARK_CAPTURE(BM_zstd_compress, random, body_kind::random)->Arg(1)->Arg(3);

// What the receiver does: undo the chain into a body of the declared size. For random bytes the
// zstd frame is made directly (the session would send them plain): zstd stores them as raw
// blocks, which decoding copies.
void BM_zstd_decompress(benchmark::State& state, body_kind kind) {
  const np::byte_buffer body = transform_input(kind);
  const int level = static_cast<int>(state.range(0));
  np::byte_buffer wire(ZSTD_compressBound(body.size()));
  const std::size_t n = ZSTD_compress(wire.data(), wire.size(), body.data(), body.size(), level);
  if (ZSTD_isError(n)) {
    state.SkipWithError("zstd failed");
    return;
  }
  wire.resize(n);
  np::transform_chain chain;
  chain.push(np::transform_id::zstd, body.size());
  np::transform_codec codec;
  np::byte_buffer out;
  for (auto _ : state) {
    if (codec.undo(chain, wire, out) != np::errc::ok) {
      state.SkipWithError("undo failed");
      return;
    }
    benchmark::DoNotOptimize(out.data());
  }
  if (out != body) state.SkipWithError("round trip differs");
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * body.size()));
  state.counters["ratio"] = static_cast<double>(body.size()) / static_cast<double>(wire.size());
}
BENCHMARK_CAPTURE(BM_zstd_decompress, text, body_kind::text)->Arg(1)->Arg(3);
BENCHMARK_CAPTURE(BM_zstd_decompress, json, body_kind::json)->Arg(1)->Arg(3);
BENCHMARK_CAPTURE(BM_zstd_decompress, random, body_kind::random)->Arg(1)->Arg(3);

}  // namespace

BENCHMARK_MAIN();
