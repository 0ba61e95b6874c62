#include <netcore/protocol/decoder.hpp>

#include <netcore/protocol/crc32c.hpp>
#include <netcore/protocol/encoder.hpp>

#include <algorithm>
#include <cstring>

namespace netcore::protocol {

namespace {

/// Index of the first byte in [from, n) that may start a header, or n.
std::size_t find_magic(const std::uint8_t* p, std::size_t n, std::size_t from) {
  if (from >= n) return n;
  auto hit = static_cast<const std::uint8_t*>(std::memchr(p + from, magic0, n - from));
  return hit ? static_cast<std::size_t>(hit - p) : n;
}

}  // namespace

decoder::decoder(const limits& lim)
    : max_payload_(std::min(lim.max_frame_payload, max_wire_payload)) {}

bool decoder::scan_for_header(byte_view& input) {
  for (;;) {
    if (buf_.empty()) {
      auto skip = find_magic(input.data(), input.size(), 0);
      dropped_ += skip;
      stats_.dropped_bytes += skip;
      input.remove_prefix(skip);
      if (input.empty()) return false;
      if (input.size() < header_size) {
        buf_.assign(input.begin(), input.end());
        input.remove_prefix(input.size());
        return false;
      }
      if (unpack_header(input.data(), header_) == errc::ok) {
        input.remove_prefix(header_size);
        return true;
      }
      dropped_ += 1;
      stats_.dropped_bytes += 1;
      input.remove_prefix(1);
      continue;
    }
    // buf_ holds a partial candidate that starts with the magic byte.
    auto take = std::min(header_size - buf_.size(), input.size());
    buf_.insert(buf_.end(), input.data(), input.data() + take);
    input.remove_prefix(take);
    if (buf_.size() < header_size) return false;
    if (unpack_header(buf_.data(), header_) == errc::ok) {
      buf_.clear();
      return true;
    }
    // Not a header: drop its first byte and keep scanning the rest of the buffer.
    auto next = find_magic(buf_.data(), buf_.size(), 1);
    dropped_ += next;
    stats_.dropped_bytes += next;
    buf_.erase(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(next));
  }
}

decode_result decoder::finish_frame(const std::uint8_t* payload) {
  decode_result r;
  r.frame.header = header_;
  byte_view body{payload, header_.payload_length};
  if (crc32c(body) != header_.payload_crc) {
    ++stats_.corrupt_payloads;
    r.status = decode_status::error;
    r.error = errc::payload_corrupt;
    return r;
  }
  ++stats_.frames;
  r.status = decode_status::frame;
  r.frame.payload = body;
  r.dropped = dropped_;
  dropped_ = 0;
  return r;
}

decode_result decoder::next(byte_view& input) {
  if (pending_clear_) {
    buf_.clear();
    pending_clear_ = false;
  }
  auto consumed_before = input.size();
  auto account = [&] { stats_.bytes += consumed_before - input.size(); };
  for (;;) {
    switch (state_) {
    case state::header: {
      errc e;
      if (buf_.empty() && input.size() >= header_size) {
        e = unpack_header(input.data(), header_);
        if (e == errc::ok) input.remove_prefix(header_size);
      } else {
        auto take = std::min(header_size - buf_.size(), input.size());
        buf_.insert(buf_.end(), input.data(), input.data() + take);
        input.remove_prefix(take);
        if (buf_.size() < header_size) {
          account();
          return {};
        }
        e = unpack_header(buf_.data(), header_);
        if (e == errc::ok) buf_.clear();
      }
      if (e != errc::ok) {
        // Lost the frame boundary: report once, then resynchronise. The first byte of the
        // bad header is dropped; the candidate bytes (buffered or still in input) are rescanned.
        ++stats_.resyncs;
        if (!buf_.empty()) {
          auto next = find_magic(buf_.data(), buf_.size(), 1);
          dropped_ += next;
          stats_.dropped_bytes += next;
          buf_.erase(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(next));
        } else {
          dropped_ += 1;
          stats_.dropped_bytes += 1;
          input.remove_prefix(1);
        }
        state_ = state::resync;
        account();
        decode_result r;
        r.status = decode_status::error;
        r.error = e;
        return r;
      }
      break;  // header_ is valid
    }
    case state::resync:
      if (!scan_for_header(input)) {
        account();
        return {};
      }
      break;  // header_ is valid
    case state::skip: {
      auto n = static_cast<std::size_t>(std::min<std::uint64_t>(skip_left_, input.size()));
      input.remove_prefix(n);
      skip_left_ -= n;
      if (skip_left_ > 0) {
        account();
        return {};
      }
      state_ = state::header;
      continue;
    }
    case state::payload: {
      auto len = header_.payload_length;
      if (buf_.empty() && input.size() >= len) {
        auto p = input.data();
        input.remove_prefix(len);
        state_ = state::header;
        account();
        return finish_frame(p);
      }
      auto take = std::min<std::size_t>(len - buf_.size(), input.size());
      buf_.insert(buf_.end(), input.data(), input.data() + take);
      input.remove_prefix(take);
      account();
      if (buf_.size() < len) return {};
      state_ = state::header;
      auto r = finish_frame(buf_.data());
      // The payload view points into buf_: clear it lazily on the next call.
      pending_clear_ = true;
      return r;
    }
    }
    // A verified header is in header_: decide what to do with its payload.
    if (header_.payload_length > max_payload_) {
      ++stats_.oversized;
      skip_left_ = header_.payload_length;
      state_ = state::skip;
      account();
      decode_result r;
      r.status = decode_status::error;
      r.error = errc::frame_too_large;
      r.frame.header = header_;
      return r;
    }
    if (!is_known(header_.type)) {
      ++stats_.unknown_skipped;
      skip_left_ = header_.payload_length;
      state_ = state::skip;
      continue;
    }
    state_ = state::payload;
  }
}

}  // namespace netcore::protocol
