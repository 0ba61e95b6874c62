#pragma once

// Waiting for the request to stop a server process: Ctrl-C or a service manager's SIGTERM.

namespace netcore::app {

/// Takes SIGINT and SIGTERM for the process while it lives: from its construction on, those
/// signals no longer end the process, on whichever thread they land, but are kept for wait().
/// Make it before the server starts listening, so a signal that comes early is not lost. The
/// previous handlers are back when it is destroyed. One at a time: a second one made while
/// another lives is inactive (its wait() returns -1 with errno EBUSY at once).
class stop_signals {
 public:
  stop_signals();
  ~stop_signals();
  stop_signals(const stop_signals&) = delete;
  stop_signals& operator=(const stop_signals&) = delete;

  /// True when this one took the signals.
  bool active() const noexcept { return active_; }
  /// Blocks until SIGINT or SIGTERM came (one that came since the construction returns at once)
  /// and returns that signal's number; -1 when inactive (errno EBUSY) or when the pipe it waits
  /// on could not be made (errno tells why). Each signal is returned once.
  int wait();

 private:
  bool active_ = false;
  int error_ = 0;
};

/// stop_signals{}.wait(): blocks until the process receives SIGINT or SIGTERM.
int wait_for_stop_signal();

}  // namespace netcore::app
