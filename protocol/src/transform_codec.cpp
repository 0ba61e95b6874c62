// The transforms themselves: zstd compression with contexts kept between messages, and the
// bounded undoing of a transform chain.

#include <netcore/protocol/transform_codec.hpp>

#include <zstd.h>
#include <zstd_errors.h>

#include <algorithm>
#include <new>
#include <utility>

namespace netcore::protocol {

struct transform_codec::contexts {
  ZSTD_CCtx* cctx = nullptr;
  ZSTD_DCtx* dctx = nullptr;
  byte_buffer scratch;  // compression output, reused: results are copied out at their size

  ~contexts() {
    ZSTD_freeCCtx(cctx);
    ZSTD_freeDCtx(dctx);
  }
};

namespace {

// Compresses `in` into `out` (exactly sized) when the result is strictly smaller.
bool zstd_compress(ZSTD_CCtx* cctx, byte_buffer& scratch, byte_view in, int level,
                   byte_buffer& out) {
  level = std::clamp(level, ZSTD_minCLevel(), ZSTD_maxCLevel());
  if (ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level))) return false;
  // The frame names its content size, so the receiver can check it before it decodes anything.
  if (ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 1))) return false;
  const std::size_t bound = ZSTD_compressBound(in.size());
  if (scratch.size() < bound) scratch.resize(bound);
  const std::size_t n = ZSTD_compress2(cctx, scratch.data(), bound, in.data(), in.size());
  if (ZSTD_isError(n) || n >= in.size()) return false;
  out.assign(scratch.begin(), scratch.begin() + static_cast<std::ptrdiff_t>(n));
  return true;
}

// Decompresses `in` into `out`, which gets exactly `size` bytes, never more.
errc zstd_decompress(ZSTD_DCtx* dctx, byte_view in, std::uint64_t size, byte_buffer& out) {
  const unsigned long long declared = ZSTD_getFrameContentSize(in.data(), in.size());
  if (declared == ZSTD_CONTENTSIZE_ERROR) return errc::transform_failed;
  if (declared != ZSTD_CONTENTSIZE_UNKNOWN && declared != size) return errc::size_mismatch;
  out.resize(static_cast<std::size_t>(size));
  std::uint8_t none = 0;  // a valid destination for an empty body
  std::uint8_t* dst = out.empty() ? &none : out.data();
  const std::size_t n = ZSTD_decompressDCtx(dctx, dst, out.size(), in.data(), in.size());
  if (ZSTD_isError(n))
    return ZSTD_getErrorCode(n) == ZSTD_error_dstSize_tooSmall ? errc::size_mismatch
                                                               : errc::transform_failed;
  return n == size ? errc::ok : errc::size_mismatch;
}

}  // namespace

transform_codec::transform_codec() noexcept = default;
transform_codec::~transform_codec() = default;
transform_codec::transform_codec(transform_codec&&) noexcept = default;
transform_codec& transform_codec::operator=(transform_codec&&) noexcept = default;

bool transform_codec::apply(std::uint64_t mask, byte_view body, const transform_options& options,
                            transformed_body& out) {
  mask &= known_transforms;
  if (mask == 0) return false;
  try {
    if (!ctx_) ctx_ = std::make_unique<contexts>();
    out.chain = {};
    byte_buffer current;
    byte_view input = body;
    for (unsigned id = 0; id < 64; ++id) {
      const auto t = static_cast<transform_id>(id);
      if ((mask & transform_bit(t)) == 0) continue;
      byte_buffer next;
      bool applied = false;
      switch (t) {
      case transform_id::zstd:
        if (!ctx_->cctx) ctx_->cctx = ZSTD_createCCtx();
        applied =
            ctx_->cctx && zstd_compress(ctx_->cctx, ctx_->scratch, input, options.zstd_level, next);
        break;
      }
      if (!applied || !out.chain.push(t, input.size())) continue;
      current = std::move(next);
      input = byte_view{current};
    }
    if (out.chain.empty()) return false;
    out.bytes = std::move(current);
    return true;
  } catch (const std::bad_alloc&) {
    return false;
  }
}

errc transform_codec::undo(const transform_chain& chain, byte_view wire, byte_buffer& out) {
  if (!chain.only_uses(known_transforms)) return errc::unsupported_transform;
  try {
    if (chain.empty()) {
      out.assign(wire.begin(), wire.end());
      return errc::ok;
    }
    if (!ctx_) ctx_ = std::make_unique<contexts>();
    byte_buffer current;
    byte_view input = wire;
    for (std::size_t i = chain.count; i-- > 0;) {
      const transform_step& step = chain.steps[i];
      byte_buffer next;
      errc e = errc::unsupported_transform;
      switch (step.id) {
      case transform_id::zstd:
        if (!ctx_->dctx) ctx_->dctx = ZSTD_createDCtx();
        e = ctx_->dctx ? zstd_decompress(ctx_->dctx, input, step.input_size, next)
                       : errc::memory_limit;
        break;
      }
      if (e != errc::ok) return e;
      current = std::move(next);
      input = byte_view{current};
    }
    out = std::move(current);
    return errc::ok;
  } catch (const std::bad_alloc&) {
    return errc::memory_limit;
  }
}

}  // namespace netcore::protocol
