#include "runtime_impl.hpp"

#include <netcore/actors/scheduler_settings.hpp>
#include <netcore/transports/listener.hpp>
#include <netcore/transports/psk_stream.hpp>
#include <netcore/transports/unix_stream.hpp>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/send.hpp>

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace netcore::actors {

namespace detail {

namespace {

/// Creates a private directory (mode 0700) for spill files under `parent`.
std::string make_spill_dir(const std::string& parent) {
  std::string base = parent;
  if (base.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    base = tmp && *tmp ? tmp : "/tmp";
  }
  std::string tmpl = base + "/netcore-" + std::to_string(::getpid()) + "-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr) return {};
  ::chmod(buf.data(), 0700);
  return buf.data();
}

/// Removes `dir` and the files in it (spill files are never nested).
void remove_dir(const std::string& dir) {
  if (dir.empty()) return;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d)) {
      if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
      ::unlink((dir + "/" + e->d_name).c_str());
    }
    ::closedir(d);
  }
  ::rmdir(dir.c_str());
}

}  // namespace

runtime_impl::runtime_impl(caf::actor_system& s, runtime_config cfg)
    : sys(s), config(std::move(cfg)), spill_dir(make_spill_dir(config.spill_parent)),
      spill_quota(
          std::make_shared<protocol::spill_quota>(config.max_spill_files, config.max_spill_bytes)) {
  const auto n = std::max<std::size_t>(config.io_threads, 1);
  for (std::size_t i = 0; i < n; ++i)
    loops.push_back(std::make_unique<io_loop>(sys, "netcore-io" + std::to_string(i),
                                              config.io_spin_polls, config.read_buffer));
  const auto f = std::max<std::size_t>(config.file_threads, 1);
  for (std::size_t i = 0; i < f; ++i)
    file_loops.push_back(std::make_unique<io_loop>(sys, "netcore-files" + std::to_string(i), 0, 0));
}

runtime_impl::~runtime_impl() {
  // Acceptors first, so that nothing new arrives; then every open connection ends.
  std::vector<acceptor_core*> open_acceptors;
  std::vector<connection_impl_actor> open;
  {
    std::lock_guard<std::mutex> guard{mutex};
    open_acceptors.assign(acceptors.begin(), acceptors.end());
    for (auto& [id, a] : live) open.push_back(a);
  }
  for (auto* a : open_acceptors) stop_acceptor(a);
  for (auto& a : open) caf::anon_send(a, abort_atom::value);
  {
    std::unique_lock<std::mutex> guard{mutex};
    all_done.wait(guard, [this] { return live.empty(); });
  }
  for (auto& l : loops) l->stop();
  for (auto& l : file_loops) l->stop();
  remove_dir(spill_dir);
}

io_loop* runtime_impl::next_loop() {
  return loops[next.fetch_add(1, std::memory_order_relaxed) % loops.size()].get();
}

std::size_t runtime_impl::next_file_loop() {
  return next_file.fetch_add(1, std::memory_order_relaxed) % file_loops.size();
}

void runtime_impl::finished(const caf::actor_id& id) {
  // `id` is read under the lock: an actor that ends before adopt() stored its id (a peer whose
  // bytes and reset were there before the actor started) waits here until it is stored.
  std::lock_guard<std::mutex> guard{mutex};
  live.erase(id);
  if (live.empty()) all_done.notify_all();
}

void runtime_impl::add(acceptor_core* a) {
  std::lock_guard<std::mutex> guard{mutex};
  acceptors.insert(a);
}

void runtime_impl::remove(acceptor_core* a) {
  std::lock_guard<std::mutex> guard{mutex};
  acceptors.erase(a);
}

connection runtime_impl::adopt(std::unique_ptr<transports::byte_stream> stream,
                               connection_config cfg) {
  const auto profile = stream->profile();
  cfg.psk.reset();  // the handshake is over: no key stays with the connection
  cfg.psk_server.reset();
  if (cfg.chunk_size == 0) cfg.chunk_size = profile.chunk_size;
  if (cfg.write_batch == 0) cfg.write_batch = profile.write_batch;
  if (cfg.read_size == 0) cfg.read_size = profile.read_size;
  cfg.lossy = cfg.lossy || profile.lossy;
  if (cfg.link.bytes_per_second == 0) cfg.link.bytes_per_second = profile.bytes_per_second;
  if (!cfg.spill_to_files)
    cfg.storage.spill_directory.clear();
  else if (cfg.storage.spill_directory.empty())
    cfg.storage.spill_directory = spill_dir;
  if (!cfg.storage.quota) cfg.storage.quota = spill_quota;
  const std::size_t file_index = next_file_loop();

  auto shared = std::make_shared<connection_shared>();
  shared->sys = &sys;
  shared->gate = std::make_shared<send_gate>(cfg.send_queue_limit);
  shared->ids = std::make_shared<session::id_source>();
  shared->end = std::make_shared<end_slot>();
  shared->certificate = std::make_shared<identity_slot>();
  shared->queue = std::make_shared<submission_queue>();
  shared->single_frame_max = cfg.single_frame_max;
  shared->close_timeout = cfg.close_timeout;
  shared->transport = stream->describe();
  shared->peer = stream->peer();
  // The inbox acknowledges taken messages to the actor, which does not exist yet: it reaches it
  // through a slot filled right after the spawn (before anyone can take a message).
  auto target = std::make_shared<caf::weak_actor_ptr>();
  shared->box = std::make_shared<inbox>(
      [target](std::uint64_t cost) {
        if (auto a = caf::actor_cast<connection_impl_actor>(*target))
          caf::anon_send(a, ack_atom::value, cost);
      },
      cfg.receive_spin);

  connection_params p;
  p.config = std::move(cfg);
  const bool pollable = stream->native_handle() >= 0;
  p.stream = std::shared_ptr<transports::byte_stream>(std::move(stream));
  p.loop = pollable ? next_loop() : nullptr;
  p.file_loop = file_loops[file_index].get();
  p.ids = shared->ids;
  p.gate = shared->gate;
  p.box = shared->box;
  p.end = shared->end;
  p.certificate = shared->certificate;
  p.queue = shared->queue;
  auto id_slot = std::make_shared<caf::actor_id>(0);
  p.on_finished = [this, id_slot] { finished(*id_slot); };  // by reference: read under the lock
  {
    // Registered before it can finish, so finished() always finds it.
    std::lock_guard<std::mutex> guard{mutex};
    shared->impl = spawn_connection(sys, std::move(p));
    *id_slot = shared->impl.id();
    live.emplace(shared->impl.id(), shared->impl);
  }
  *target = caf::actor_cast<caf::weak_actor_ptr>(shared->impl);
  shared->actor = caf::actor_cast<connection_actor>(shared->impl);
  return make_connection(std::move(shared));
}

namespace {

/// `s` after the client side of the pre-shared-key handshake when `config` asks for one.
protocol::result<std::unique_ptr<transports::byte_stream>, std::error_code>
authenticated(std::unique_ptr<transports::byte_stream> s, const connection_config& config) {
  if (!config.psk) return s;
  return transports::psk_client(std::move(s), *config.psk);
}

}  // namespace

}  // namespace detail

struct runtime::owned_system {
  owned_system() {
    apply(cfg);
    sys = std::make_unique<caf::actor_system>(cfg);
  }
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
};

runtime::runtime(caf::actor_system& sys, runtime_config config)
    : impl_(std::make_unique<detail::runtime_impl>(sys, std::move(config))) {}

runtime::runtime(runtime_config config)
    : own_(std::make_unique<owned_system>()),
      impl_(std::make_unique<detail::runtime_impl>(*own_->sys, std::move(config))) {}

runtime::~runtime() = default;

caf::actor_system& runtime::system() const noexcept {
  return impl_->sys;
}

const std::string& runtime::spill_directory() const noexcept {
  return impl_->spill_dir;
}

const protocol::spill_quota& runtime::spill_usage() const noexcept {
  return *impl_->spill_quota;
}

std::size_t detail::runtime_impl::connection_count() const {
  std::lock_guard<std::mutex> guard{mutex};
  return live.size();
}

std::size_t runtime::connections() const {
  return impl_->connection_count();
}

std::size_t runtime::io_threads() const noexcept {
  return impl_->loops.size();
}

connection runtime::adopt(std::unique_ptr<transports::byte_stream> stream,
                          connection_config config) {
  return impl_->adopt(std::move(stream), std::move(config));
}

protocol::result<connection, std::error_code>
runtime::connect_tcp(const std::string& host, std::uint16_t port, connection_config config,
                     const transports::tcp_options& opts) {
  auto s = transports::tcp_connect(host, port, opts);
  if (!s) return s.error();
  auto a = detail::authenticated(std::move(*s), config);
  if (!a) return a.error();
  return adopt(std::move(*a), std::move(config));
}

protocol::result<connection, std::error_code> runtime::connect_unix(const std::string& path,
                                                                    connection_config config) {
  auto s = transports::unix_connect(path);
  if (!s) return s.error();
  auto a = detail::authenticated(std::move(*s), config);
  if (!a) return a.error();
  return adopt(std::move(*a), std::move(config));
}

protocol::result<connection, std::error_code>
runtime::open_serial(const std::string& path, const transports::serial_options& opts,
                     connection_config config) {
  auto s = transports::serial_open(path, opts);
  if (!s) return s.error();
  auto a = detail::authenticated(std::move(*s), config);
  if (!a) return a.error();
  return adopt(std::move(*a), std::move(config));
}

protocol::result<connection, std::error_code>
runtime::open_pipe(transports::pipe_functions fns, connection_config config,
                   transports::stream_profile profile) {
  auto s = transports::make_pipe_stream(std::move(fns), profile);
  if (!s) return s.error();
  auto a = detail::authenticated(std::move(*s), config);
  if (!a) return a.error();
  return adopt(std::move(*a), std::move(config));
}

}  // namespace netcore::actors
