#pragma once

// The runtime's insides, shared by runtime.cpp, connection.cpp and acceptor.cpp.

#include "connection_actor.hpp"
#include "io_loop.hpp"

#include <netcore/actors/runtime.hpp>

#include <atomic>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

namespace netcore::actors::detail {

/// What a connection handle shares with the runtime and the connection actor.
struct connection_shared {
  caf::actor_system* sys = nullptr;
  connection_impl_actor impl;
  connection_actor actor;
  std::shared_ptr<send_gate> gate;
  std::shared_ptr<inbox> box;
  std::shared_ptr<session::id_source> ids;
  std::shared_ptr<end_slot> end;
  std::shared_ptr<identity_slot> certificate;
  std::shared_ptr<submission_queue> queue;
  std::size_t single_frame_max = 0;
  std::chrono::milliseconds close_timeout{0};
  std::string transport;
  transports::peer_identity peer;
  std::atomic<bool> sink_attached{false};
  std::atomic<bool> closed{false};
  /// Ready once the connection's actor is gone (connection::wait_closed()); made by the first
  /// wait, so the actor carries one watcher however often it is waited for.
  std::once_flag end_watch_once;
  std::shared_future<caf::error> end_watch;
};

struct runtime_impl {
  runtime_impl(caf::actor_system& sys, runtime_config cfg);
  ~runtime_impl();

  connection adopt(std::unique_ptr<transports::byte_stream> stream, connection_config config);
  io_loop* next_loop();
  std::size_t next_file_loop();
  void finished(const caf::actor_id& id);
  std::size_t connection_count() const;
  void add(acceptor_core* a);
  void remove(acceptor_core* a);

  caf::actor_system& sys;
  runtime_config config;
  std::string spill_dir;
  std::shared_ptr<protocol::spill_quota> spill_quota;
  std::vector<std::unique_ptr<io_loop>> loops;
  std::vector<std::unique_ptr<io_loop>> file_loops;
  std::atomic<std::size_t> next{0};
  std::atomic<std::size_t> next_file{0};
  /// Pre-shared-key handshakes running on the acceptors (runtime_config::max_pending_handshakes).
  std::atomic<std::size_t> pending_handshakes{0};

  mutable std::mutex mutex;
  std::condition_variable all_done;
  std::unordered_map<caf::actor_id, connection_impl_actor> live;
  std::set<acceptor_core*> acceptors;
};

/// Stops an acceptor from any thread and waits until its loop let go of it (acceptor.cpp).
void stop_acceptor(acceptor_core* a);

}  // namespace netcore::actors::detail
