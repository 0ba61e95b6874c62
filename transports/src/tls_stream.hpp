#pragma once

// The TLS decorator: a tls_engine between the caller's plaintext and the inner stream's
// ciphertext, driven blocking (tls_blocking.cpp: a reader and a writer thread; the engine behind
// one mutex that is never held while the inner stream blocks) or polled (tls_polled.cpp:
// try_read/try_write on the loop thread, plaintext staged and ciphertext kept until the inner
// stream takes it). What both share is in tls_stream.cpp.

#include "tls_engine.hpp"

#include <netcore/transports/tls.hpp>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <vector>

namespace netcore::transports::detail {

/// A lock whose acquisition can wait with a deadline (lock, try_lock, try_lock_for), made of a
/// mutex and a condition variable: std::timed_mutex's timed lock goes through
/// pthread_mutex_clocklock, which GCC 12's ThreadSanitizer does not see, so it would report the
/// unlock as one of an unlocked mutex.
class deadline_lock {
 public:
  void lock() {
    std::unique_lock<std::mutex> g{mutex_};
    free_.wait(g, [this] { return !held_; });
    held_ = true;
  }
  bool try_lock() {
    std::lock_guard<std::mutex> g{mutex_};
    if (held_) return false;
    held_ = true;
    return true;
  }
  template <class Rep, class Period>
  bool try_lock_for(const std::chrono::duration<Rep, Period>& d) {
    std::unique_lock<std::mutex> g{mutex_};
    if (!free_.wait_for(g, d, [this] { return !held_; })) return false;
    held_ = true;
    return true;
  }
  void unlock() {
    {
      std::lock_guard<std::mutex> g{mutex_};
      held_ = false;
    }
    free_.notify_one();
  }

 private:
  std::mutex mutex_;
  std::condition_variable free_;
  bool held_ = false;
};

using step = tls_engine::step;
using clock_type = std::chrono::steady_clock;

/// Polled: plaintext taken by try_write() before the engine has encrypted it.
constexpr std::size_t staging_limit = 256u << 10;
/// Polled: slices from this size on are encrypted in place, smaller ones gathered first.
constexpr std::size_t direct_minimum = 4u << 10;
/// Blocking: plaintext encrypted per engine call, and ciphertext gathered per inner write.
constexpr std::size_t record_batch = 64u << 10;
constexpr std::size_t write_batch = 256u << 10;
/// Blocking: ciphertext asked of one inner read.
constexpr std::size_t read_batch = 64u << 10;

/// The stream make_tls() returns: owns the inner stream and the engine, keeps the context alive.
class tls_stream final : public byte_stream {
 public:
  tls_stream(std::unique_ptr<byte_stream> inner, std::shared_ptr<const tls_context> context,
             std::unique_ptr<tls_engine> engine)
      : inner_(std::move(inner)), context_(std::move(context)), engine_(std::move(engine)),
        cipher_in_(read_batch) {}

  ~tls_stream() override { close(); }

  std::error_code write(const io_slice* slices, std::size_t count) override;
  result<std::size_t> try_write(const io_slice* slices, std::size_t count) override;
  result<std::size_t> read(std::uint8_t* buf, std::size_t max) override;
  result<std::size_t> try_read(std::uint8_t* buf, std::size_t max) override;
  bool has_pending_output() const noexcept override;
  bool write_waits_for_read() const noexcept override;
  std::optional<certificate_identity> verified_peer() const override;
  int native_handle() const noexcept override { return inner_->native_handle(); }
  bool shutdown_write() noexcept override;
  void close() noexcept override;
  stream_profile profile() const override { return inner_->profile(); }
  std::string describe() const override;

 private:
  using guard = std::unique_lock<std::mutex>;

  // Everything below runs under mutex_.
  std::error_code usable() const;
  std::error_code fail(std::error_code e, std::string detail);
  std::error_code fail_engine() { return fail(engine_->error(), engine_->detail()); }
  std::error_code time_out();
  void start_clock();
  void handshake_done();
  void take_output(std::vector<std::uint8_t>& out);
  // Polled.
  std::error_code advance_handshake();
  std::error_code encrypt_staged();
  std::error_code flush_polled();
  // Blocking.
  std::error_code handshake_blocking();
  void flush_from_reader(guard& g);

  std::unique_ptr<byte_stream> inner_;
  std::shared_ptr<const tls_context> context_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  deadline_lock out_mutex_;  // blocking: whoever writes ciphertext, in the engine's order
  std::unique_ptr<tls_engine> engine_;
  enum class phase { idle, running, done } phase_ = phase::idle;
  std::error_code failure_;
  std::string detail_;
  bool closed_ = false;
  bool peer_ended_ = false;  // reads are over (close_notify or the inner end); writes go on
  bool polled_ = false;
  bool waits_for_read_ = false;
  bool shutdown_requested_ = false;  // polled: close_notify once the staged bytes are out
  bool notify_queued_ = false;
  bool inner_shut_ = false;
  bool clock_started_ = false;
  clock_type::time_point deadline_ = clock_type::time_point::max();
  std::optional<certificate_identity> identity_;
  std::vector<std::uint8_t> staged_;  // polled: plaintext taken, not yet encrypted
  std::size_t staged_at_ = 0;
  std::vector<std::uint8_t> cipher_in_;   // blocking: the reading thread's inner reads
  std::vector<std::uint8_t> cipher_out_;  // blocking: the writing thread's inner writes
};

}  // namespace netcore::transports::detail
