#include "hostile_server.hpp"

#include <netcore/actors/scheduler_settings.hpp>

#include <caf/all.hpp>

#include <dirent.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <vector>

namespace netcore::bench::hostile {

namespace {

using namespace netcore::actors;

template <class T>
void put(int fd, const T& v) {
  if (::write(fd, &v, sizeof v) != static_cast<ssize_t>(sizeof v)) std::_Exit(90);
}

template <class T>
bool get(int fd, T& v) {
  std::size_t got = 0;
  auto* p = reinterpret_cast<char*>(&v);
  while (got < sizeof v) {
    const auto r = ::read(fd, p + got, sizeof v - got);
    if (r <= 0) return false;
    got += static_cast<std::size_t>(r);
  }
  return true;
}

/// The connections the server holds, by actor id; those that ended are released by the
/// server's main thread (a handle's destructor may wait, so never on the connection's thread).
struct connection_table : std::enable_shared_from_this<connection_table> {
  std::mutex mtx;
  std::map<caf::actor_id, connection> live;
  std::vector<caf::actor_id> ended;

  void add(connection c) {
    const auto id = c.actor().id();
    auto* actor = caf::actor_cast<caf::strong_actor_ptr>(c.actor())->get();
    {
      std::lock_guard<std::mutex> guard{mtx};
      live.emplace(id, std::move(c));
    }
    actor->attach_functor([self = shared_from_this(), id] {
      std::lock_guard<std::mutex> guard{self->mtx};
      self->ended.push_back(id);
    });
  }
  void release_ended() {
    std::vector<connection> gone;
    {
      std::lock_guard<std::mutex> guard{mtx};
      for (auto id : ended) {
        auto i = live.find(id);
        if (i == live.end()) continue;
        gone.push_back(std::move(i->second));
        live.erase(i);
      }
      ended.clear();
    }
  }
};

/// Why the server's connections ended, as its event sink heard it.
struct closings {
  std::mutex mtx;
  std::map<std::string, std::uint64_t> reasons;

  std::string text() {
    std::lock_guard<std::mutex> guard{mtx};
    std::string out;
    for (auto& [why, n] : reasons) out += why + '\t' + std::to_string(n) + '\n';
    return out;
  }
};

[[noreturn]] void serve(runtime_config config, int commands, int replies) {
  {
    caf::actor_system_config cfg;
    apply(cfg);
    cfg.set("logger.verbosity", caf::atom("quiet"));
    caf::actor_system sys{cfg};
    runtime rt{sys, config};
    // Every message goes back on its connection; a body that went to a file goes back empty.
    auto echo = sys.spawn([](delivery_sink::pointer self) -> delivery_sink::behavior_type {
      return {[self](deliver_atom, delivery& d) {
        auto conn = caf::actor_cast<connection_actor>(self->current_sender());
        for (auto& m : d.messages) {
          if (m.body.is_file()) m.body.remove_file();
          self->send(conn, send_atom::value, std::uint64_t{0},
                     outgoing_message::from_bytes(m.meta.route, m.body.take_bytes()));
        }
        return caf::ok_atom::value;
      }};
    });
    auto ends = std::make_shared<closings>();
    auto watcher = sys.spawn([ends](event_sink::pointer) -> event_sink::behavior_type {
      return {
          [](outcome_atom, send_outcome&) {},
          [](progress_atom, send_progress&) {},
          [ends](closed_atom, connection_closed& c) {
            std::lock_guard<std::mutex> guard{ends->mtx};
            ++ends->reasons[c.clean() ? std::string{"clean"} : c.reason.message()];
          },
      };
    });
    auto table = std::make_shared<connection_table>();
    auto acc = rt.listen_tcp("127.0.0.1", 0, [table, echo, watcher](connection c) {
      c.attach(echo);
      c.subscribe(watcher);
      table->add(std::move(c));
    });
    if (!acc) std::_Exit(91);
    put(replies, acc->port());
    for (;;) {
      pollfd p{commands, POLLIN, 0};
      if (::poll(&p, 1, 200) == 0) {
        table->release_ended();
        continue;
      }
      char command = 0;
      if (!get(commands, command) || command == 'q') break;
      if (command == 'e') {
        const auto text = ends->text();
        put(replies, static_cast<std::uint32_t>(text.size()));
        if (::write(replies, text.data(), text.size()) != static_cast<ssize_t>(text.size()))
          std::_Exit(92);
        continue;
      }
      put(replies,
          acceptor_counts{acc->accepted(), acc->refused(), acc->failures(), rt.connections()});
    }
    acc->close();
    {
      std::lock_guard<std::mutex> guard{table->mtx};
      for (auto& [id, c] : table->live) c.abort();
    }
    std::map<caf::actor_id, connection> rest;
    {
      std::lock_guard<std::mutex> guard{table->mtx};
      rest.swap(table->live);
    }
    caf::anon_send_exit(echo, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(watcher, caf::exit_reason::user_shutdown);
  }
  std::_Exit(0);
}

}  // namespace

echo_server::echo_server(runtime_config config) {
  int down[2], up[2];
  if (::pipe(down) != 0 || ::pipe(up) != 0) throw std::runtime_error("pipe");
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork");
  if (pid_ == 0) {
    ::close(down[1]);
    ::close(up[0]);
    serve(std::move(config), down[0], up[1]);
  }
  ::close(down[0]);
  ::close(up[1]);
  to_child_ = down[1];
  from_child_ = up[0];
  if (!get(from_child_, port_)) throw std::runtime_error("the echo server did not start");
}

echo_server::~echo_server() {
  stop();
}

bool echo_server::alive() {
  if (reaped_) return false;
  int status = 0;
  const auto r = ::waitpid(pid_, &status, WNOHANG);
  if (r == 0) return true;
  reaped_ = true;
  ended_ = WIFSIGNALED(status) ? "signal " + std::to_string(WTERMSIG(status))
                               : "exit " + std::to_string(WEXITSTATUS(status));
  return false;
}

acceptor_counts echo_server::counts() {
  acceptor_counts c;
  if (!alive()) return c;
  const char command = 'c';
  if (::write(to_child_, &command, 1) != 1 || !get(from_child_, c)) return acceptor_counts{};
  return c;
}

std::map<std::string, std::uint64_t> echo_server::endings() {
  std::map<std::string, std::uint64_t> out;
  if (!alive()) return out;
  const char command = 'e';
  std::uint32_t size = 0;
  if (::write(to_child_, &command, 1) != 1 || !get(from_child_, size)) return out;
  std::string text(size, '\0');
  for (char& ch : text)
    if (!get(from_child_, ch)) return out;
  for (std::size_t at = 0; at < text.size();) {
    const auto tab = text.find('\t', at), nl = text.find('\n', at);
    if (tab == std::string::npos || nl == std::string::npos) break;
    out[text.substr(at, tab - at)] = std::stoull(text.substr(tab + 1, nl - tab - 1));
    at = nl + 1;
  }
  return out;
}

std::string echo_server::stop() {
  if (to_child_ >= 0) {
    const char command = 'q';
    if (::write(to_child_, &command, 1) != 1) { /* gone already: reaped below */
    }
    ::close(to_child_);
    ::close(from_child_);
    to_child_ = from_child_ = -1;
    for (int i = 0; i < 200 && alive(); ++i) ::usleep(50'000);
    if (alive()) {
      ::kill(pid_, SIGKILL);
      int status = 0;
      ::waitpid(pid_, &status, 0);
      reaped_ = true;
      ended_ = "killed";
    }
  }
  return ended_;
}

double rss_mib(pid_t pid) {
  std::ifstream status{"/proc/" + std::to_string(pid) + "/status"};
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  return 0;
}

std::size_t descriptors(pid_t pid) {
  std::size_t n = 0;
  if (DIR* d = ::opendir(("/proc/" + std::to_string(pid) + "/fd").c_str())) {
    while (dirent* e = ::readdir(d))
      if (e->d_name[0] != '.') ++n;
    ::closedir(d);
  }
  return n;
}

sampler::sampler(pid_t pid)
    : pid_(pid), thread_([this] {
        while (!stop_) {
          sample();
          std::this_thread::sleep_for(std::chrono::milliseconds{50});
        }
      }) {}

sampler::~sampler() {
  finish();
}

void sampler::sample() {
  const double rss = rss_mib(pid_);
  const std::size_t fds = descriptors(pid_);
  if (rss > peak_.peak_rss_mib) peak_.peak_rss_mib = rss;
  if (fds > peak_.peak_fds) peak_.peak_fds = fds;
  ++peak_.samples;
}

footprint sampler::finish() {
  if (thread_.joinable()) {
    stop_ = true;
    thread_.join();
    sample();
  }
  return peak_;
}

}  // namespace netcore::bench::hostile
