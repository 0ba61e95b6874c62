#include <netcore/app/stop_signal.hpp>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <mutex>

#include <fcntl.h>
#include <poll.h>
#include <sys/signalfd.h>
#include <unistd.h>

namespace netcore::app {

namespace {

// The process's signal pipe, made on first use and kept (so a handler running late never
// writes to a descriptor that was closed and reused). The handler may only touch lock-free
// atomics and async-signal-safe calls; its write end never blocks.
std::atomic<int> signal_write_fd{-1};
static_assert(std::atomic<int>::is_always_lock_free);
int signal_read_fd = -1;
std::atomic<bool> taken{false};  // a stop_signals is active
struct sigaction old_int {
}, old_term{};

extern "C" void on_stop_signal(int signo) {
  const int saved = errno;
  const int fd = signal_write_fd.load();
  if (fd >= 0) {
    const char byte = static_cast<char>(signo);
    [[maybe_unused]] const auto n = ::write(fd, &byte, 1);
  }
  errno = saved;
}

// 0, or the errno of the failed pipe2().
int make_pipe_once() {
  static std::once_flag once;
  static int error = 0;
  std::call_once(once, [] {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
      error = errno;
      return;
    }
    ::fcntl(fds[1], F_SETFL, ::fcntl(fds[1], F_GETFL) | O_NONBLOCK);
    signal_read_fd = fds[0];
    signal_write_fd.store(fds[1]);
  });
  return error;
}

// Drops bytes of signals that came while no stop_signals was active.
void drain_stale() {
  pollfd p{signal_read_fd, POLLIN, 0};
  char buf[64];
  while (::poll(&p, 1, 0) == 1 && (p.revents & POLLIN) != 0)
    if (::read(signal_read_fd, buf, sizeof buf) <= 0) break;
}

}  // namespace

stop_signals::stop_signals() {
  if (taken.exchange(true)) {
    error_ = EBUSY;
    return;
  }
  if ((error_ = make_pipe_once()) != 0) {
    taken.store(false);
    return;
  }
  sigset_t both;
  sigemptyset(&both);
  sigaddset(&both, SIGINT);
  sigaddset(&both, SIGTERM);
  signal_fd_ = ::signalfd(-1, &both, SFD_CLOEXEC | SFD_NONBLOCK);
  if (signal_fd_ < 0) {
    error_ = errno;
    taken.store(false);
    return;
  }
  drain_stale();
  // Threads started from here on inherit the blocked mask: the signals stay pending for the
  // signalfd. Threads that run already may take them; the handler forwards them to the pipe.
  mask_owner_ = ::pthread_self();
  ::pthread_sigmask(SIG_BLOCK, &both, &old_mask_);
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  ::sigaction(SIGINT, &action, &old_int);
  ::sigaction(SIGTERM, &action, &old_term);
  active_ = true;
}

stop_signals::~stop_signals() {
  if (!active_) return;
  ::sigaction(SIGINT, &old_int, nullptr);
  ::sigaction(SIGTERM, &old_term, nullptr);
  // Signals still pending for the signalfd are dropped with it, not delivered when unblocked.
  signalfd_siginfo info{};
  while (::read(signal_fd_, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
  }
  ::close(signal_fd_);
  if (::pthread_equal(mask_owner_, ::pthread_self()) != 0)
    ::pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
  taken.store(false);
}

int stop_signals::wait() {
  if (!active_) {
    errno = error_;
    return -1;
  }
  for (;;) {
    pollfd fds[2] = {{signal_fd_, POLLIN, 0}, {signal_read_fd, POLLIN, 0}};
    const int n = ::poll(fds, 2, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if ((fds[0].revents & POLLIN) != 0) {
      signalfd_siginfo info{};
      if (::read(signal_fd_, &info, sizeof info) == static_cast<ssize_t>(sizeof info))
        return static_cast<int>(info.ssi_signo);
    }
    if ((fds[1].revents & POLLIN) != 0) {
      char byte = 0;
      if (::read(signal_read_fd, &byte, 1) == 1) return static_cast<unsigned char>(byte);
    }
  }
}

int wait_for_stop_signal() {
  stop_signals signals;
  return signals.wait();
}

}  // namespace netcore::app
