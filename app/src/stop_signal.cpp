#include <netcore/app/stop_signal.hpp>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <mutex>

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

namespace netcore::app {

namespace {

// The process's signal pipe, made on first use and kept (so a handler running late never
// writes to a descriptor that was closed and reused). The handler may only touch lock-free
// atomics and async-signal-safe calls; its write end never blocks.
std::atomic<int> signal_write_fd{-1};
static_assert(std::atomic<int>::is_always_lock_free);
int signal_read_fd = -1;
std::atomic<bool> waiting{false};

extern "C" void on_stop_signal(int signo) {
  const int saved = errno;
  const int fd = signal_write_fd.load();
  if (fd >= 0) {
    const char byte = static_cast<char>(signo);
    [[maybe_unused]] const auto n = ::write(fd, &byte, 1);
  }
  errno = saved;
}

bool make_pipe_once() {
  static std::once_flag once;
  static bool made = false;
  std::call_once(once, [] {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return;
    ::fcntl(fds[1], F_SETFL, ::fcntl(fds[1], F_GETFL) | O_NONBLOCK);
    signal_read_fd = fds[0];
    signal_write_fd.store(fds[1]);
    made = true;
  });
  return made;
}

// Drops bytes of signals that came after an earlier wait ended.
void drain_stale() {
  pollfd p{signal_read_fd, POLLIN, 0};
  char buf[64];
  while (::poll(&p, 1, 0) == 1 && (p.revents & POLLIN) != 0)
    if (::read(signal_read_fd, buf, sizeof buf) <= 0) break;
}

}  // namespace

int wait_for_stop_signal() {
  if (waiting.exchange(true)) {
    errno = EBUSY;
    return -1;
  }
  if (!make_pipe_once()) {
    const int saved = errno;
    waiting.store(false);
    errno = saved;
    return -1;
  }
  drain_stale();
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  struct sigaction old_int {
  }, old_term{};
  ::sigaction(SIGINT, &action, &old_int);
  ::sigaction(SIGTERM, &action, &old_term);
  char byte = 0;
  ssize_t n = 0;
  do {
    n = ::read(signal_read_fd, &byte, 1);
  } while (n < 0 && errno == EINTR);
  ::sigaction(SIGINT, &old_int, nullptr);
  ::sigaction(SIGTERM, &old_term, nullptr);
  waiting.store(false);
  return n == 1 ? static_cast<unsigned char>(byte) : -1;
}

}  // namespace netcore::app
