#pragma once

// Waiting for the request to stop a server process: Ctrl-C or a service manager's SIGTERM.

#include <pthread.h>
#include <signal.h>

namespace netcore::app {

/// Takes SIGINT and SIGTERM for the process while it lives: from its construction on, those
/// signals no longer end the process but are kept for wait(). Make it first in main(), before
/// the runtime and the server: it blocks the two signals on the thread that makes it, every
/// thread started afterwards inherits that, and wait() reads them from a signalfd, whatever the
/// threads do meanwhile (a thread asleep in epoll_wait never has to run a handler). Threads that
/// existed before still take them through a handler that forwards them to wait(). The previous
/// handlers and that thread's signal mask are back when it is destroyed (destroy it on the
/// thread that made it). One at a time: a second one made while another lives is inactive (its
/// wait() returns -1 with errno EBUSY at once).
class stop_signals {
 public:
  stop_signals();
  ~stop_signals();
  stop_signals(const stop_signals&) = delete;
  stop_signals& operator=(const stop_signals&) = delete;

  /// True when this one took the signals.
  bool active() const noexcept { return active_; }
  /// Blocks until SIGINT or SIGTERM was sent to the process (one that came since the
  /// construction returns at once) and returns that signal's number; -1 when inactive (errno
  /// EBUSY) or when what it waits on could not be made (errno tells why). Each signal is
  /// returned once.
  int wait();

 private:
  bool active_ = false;
  int error_ = 0;
  int signal_fd_ = -1;
  pthread_t mask_owner_{};  // the thread that blocked the signals
  sigset_t old_mask_{};     // its mask before
};

/// stop_signals{}.wait(): blocks until the process receives SIGINT or SIGTERM.
int wait_for_stop_signal();

}  // namespace netcore::app
