#pragma once

// The pre-shared-key handshakes of one acceptor's peers, run on the acceptor's event loop
// before any connection exists for them: a fixed state per peer (the handshake, its descriptor's
// registration), one timer for all of them, a bound on how many run at once. Only a peer that
// passes becomes a stream handed on; the others are closed and counted.

#include "io_loop.hpp"

#include <netcore/transports/byte_stream.hpp>
#include <netcore/transports/psk_config.hpp>

#include <asio/steady_timer.hpp>

#include <atomic>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>

namespace netcore::actors::detail {

/// What the handshakes came to (read from any thread).
struct handshake_counters {
  std::atomic<std::uint64_t> pending{0};
  std::atomic<std::uint64_t> authenticated{0};
  std::atomic<std::uint64_t> failed{0};
  std::atomic<std::uint64_t> timed_out{0};
};

/// Every method runs on the loop thread. Create it with std::make_shared (its waits keep it
/// alive); close() it before whatever `adopt` refers to goes away.
class handshake_pool : public std::enable_shared_from_this<handshake_pool> {
 public:
  /// Receives each authenticated stream (its peer() names the identity).
  using adopt_fn = std::function<void(std::unique_ptr<transports::byte_stream>)>;

  /// `running` counts the handshakes of every pool of the runtime, bounded by `max_running`.
  handshake_pool(io_loop& loop, std::shared_ptr<const transports::psk_server_config> config,
                 std::atomic<std::size_t>& running, std::size_t max_running, adopt_fn adopt);
  ~handshake_pool();
  handshake_pool(const handshake_pool&) = delete;
  handshake_pool& operator=(const handshake_pool&) = delete;

  /// Starts the handshake of the pollable `stream` (it sends the hello at once). Returns false,
  /// leaving `stream` to the caller, when `max_running` handshakes run already or the pool is
  /// closed; a handshake that cannot start (an unusable configuration, a descriptor the loop
  /// cannot watch) counts as failed.
  bool start(std::unique_ptr<transports::byte_stream>& stream);
  /// Ends every pending handshake and takes no more; nothing is adopted afterwards. Idempotent.
  void close();

  const handshake_counters& counters() const noexcept { return counters_; }

 private:
  struct peer;
  using peer_ptr = std::shared_ptr<peer>;

  void advance(const peer_ptr& p);
  void wait(const peer_ptr& p, bool readable);
  /// Takes `p` off the loop: its waits end, it is no longer counted as pending.
  void remove(const peer_ptr& p);
  /// Removes and closes `p`, counting it in `counter`.
  void drop(const peer_ptr& p, std::atomic<std::uint64_t>& counter);
  void arm_timer();
  void on_timer();

  io_loop& loop_;
  std::shared_ptr<const transports::psk_server_config> config_;
  std::atomic<std::size_t>& running_;
  std::size_t max_running_;
  adopt_fn adopt_;
  std::list<peer_ptr> peers_;  // in arrival order, which is also deadline order
  asio::steady_timer timer_;
  bool timer_armed_ = false;
  bool closed_ = false;
  handshake_counters counters_;
};

}  // namespace netcore::actors::detail
