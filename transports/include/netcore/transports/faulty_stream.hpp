#pragma once

#include <netcore/transports/byte_stream.hpp>

#include <cstdint>
#include <memory>

namespace netcore::transports {

/// Which faults a faulty_stream injects, drawn from a seeded generator so that a run can be
/// repeated exactly. Rates are probabilities; byte counts of 0 mean "never".
struct fault_plan {
  std::uint64_t seed = 1;
  /// Per byte read: one bit of it is flipped.
  double flip_per_byte = 0;
  /// Per read: a random span of what was read vanishes.
  double drop_per_read = 0;
  /// Per read: a random span of what was read is delivered twice.
  double duplicate_per_read = 0;
  /// After this many bytes were read, reads report the end of the stream (a truncated stream).
  std::uint64_t truncate_after = 0;
  /// After this many bytes were written, the write fails and the stream is closed (a disconnect
  /// in the middle of whatever is being written).
  std::uint64_t disconnect_after = 0;
  /// After this many bytes were read, reads deliver nothing until close() (a peer gone silent).
  std::uint64_t stall_after = 0;
};

/// What a faulty_stream has done so far.
struct fault_counts {
  std::uint64_t bytes_read = 0;     ///< delivered to the reader, faults included
  std::uint64_t bytes_written = 0;  ///< handed to the inner stream
  std::uint64_t flips = 0;
  std::uint64_t drops = 0;
  std::uint64_t duplicates = 0;
  bool truncated = false;
  bool disconnected = false;
  bool stalled = false;
};

/// A byte_stream decorator for tests: it wraps `inner` and injects the faults of `plan` into
/// what is read (flips, drops, duplicates, truncation, a stall) and written (a disconnect). It is
/// always driven by blocking threads (native_handle() is -1), so every fault lands at a point the
/// seed decides. close() closes the inner stream and ends a stall. Owns `inner`.
class faulty_stream final : public byte_stream {
 public:
  faulty_stream(std::unique_ptr<byte_stream> inner, fault_plan plan);
  ~faulty_stream() override;

  std::error_code write(const io_slice* slices, std::size_t count) override;
  result<std::size_t> read(std::uint8_t* buf, std::size_t max) override;
  void close() noexcept override;
  stream_profile profile() const override;
  std::string describe() const override;

  /// The faults injected so far (thread-safe).
  fault_counts counts() const;

 private:
  struct state;
  std::unique_ptr<byte_stream> inner_;
  std::unique_ptr<state> state_;
};

/// Wraps `inner` in a faulty_stream.
std::unique_ptr<byte_stream> make_faulty(std::unique_ptr<byte_stream> inner, fault_plan plan);

}  // namespace netcore::transports
