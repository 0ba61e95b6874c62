// Taking SIGINT / SIGTERM: a signal that came after a stop_signals was made is returned by its
// wait() (also when it came before the wait), through the signalfd or, from threads started
// before it, through the handler; it does not end the process; the handlers that were there
// before are back afterwards; nothing is left for a later one; a second one at the same time is
// inactive.
// Covers app/src/stop_signal.cpp.

#include <netcore/app/stop_signal.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <csignal>
#include <mutex>
#include <thread>
#include <vector>

#include <sys/types.h>
#include <unistd.h>

namespace {

std::atomic<int> earlier_handler_saw{0};
extern "C" void earlier_handler(int signo) {
  earlier_handler_saw = signo;
}

// The handler installed for `signo` now.
void (*current_handler(int signo))(int) {
  struct sigaction now {};
  ::sigaction(signo, nullptr, &now);
  return now.sa_handler;
}

class stop_signal_test : public ::testing::Test {
 protected:
  void SetUp() override {
    struct sigaction mine {};
    mine.sa_handler = earlier_handler;
    sigemptyset(&mine.sa_mask);
    ASSERT_EQ(::sigaction(SIGTERM, &mine, &old_term_), 0);
    ASSERT_EQ(::sigaction(SIGINT, &mine, &old_int_), 0);
  }
  void TearDown() override {
    ::sigaction(SIGTERM, &old_term_, nullptr);
    ::sigaction(SIGINT, &old_int_, nullptr);
  }
  struct sigaction old_term_ {
  }, old_int_{};
};

}  // namespace

TEST_F(stop_signal_test, a_signal_is_kept_for_the_wait_and_the_handlers_come_back) {
  {
    netcore::app::stop_signals signals;
    ASSERT_TRUE(signals.active());
    EXPECT_NE(current_handler(SIGTERM), earlier_handler);
    // A second one meanwhile is inactive.
    netcore::app::stop_signals second;
    EXPECT_FALSE(second.active());
    errno = 0;
    EXPECT_EQ(second.wait(), -1);
    EXPECT_EQ(errno, EBUSY);
    // Raised before the wait: kept (blocked on this thread, read from the signalfd); the
    // process lives on.
    ASSERT_EQ(::raise(SIGTERM), 0);
    EXPECT_EQ(signals.wait(), SIGTERM);
    // Sent to the process from a thread started afterwards (it inherited the blocked mask).
    std::thread other{[] { ::kill(::getpid(), SIGINT); }};
    EXPECT_EQ(signals.wait(), SIGINT);
    other.join();
  }
  EXPECT_EQ(earlier_handler_saw.load(), 0);
  EXPECT_EQ(current_handler(SIGTERM), earlier_handler);
  EXPECT_EQ(current_handler(SIGINT), earlier_handler);
}

namespace {

/// A thread started before any stop_signals (its signal mask lets both signals in): it raises
/// the signals it is given, on itself, so they reach the process's handler.
class early_thread {
 public:
  early_thread() : thread_{[this] { run(); }} {}
  ~early_thread() {
    {
      std::lock_guard<std::mutex> guard{mutex_};
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  /// Returns once both were raised (their handler has run).
  void raise_twice(int signo) {
    std::unique_lock<std::mutex> guard{mutex_};
    const auto target = raised_ + 2;
    pending_.push_back(signo);
    pending_.push_back(signo);
    cv_.notify_all();
    cv_.wait(guard, [&] { return raised_ >= target; });
  }

 private:
  void run() {
    std::unique_lock<std::mutex> guard{mutex_};
    for (;;) {
      cv_.wait(guard, [&] { return done_ || !pending_.empty(); });
      if (pending_.empty()) return;
      const int signo = pending_.front();
      pending_.erase(pending_.begin());
      guard.unlock();
      ::raise(signo);  // the handler runs before raise() returns (the signal is unblocked here)
      guard.lock();
      ++raised_;
      cv_.notify_all();
    }
  }
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<int> pending_;
  std::size_t raised_ = 0;
  bool done_ = false;
  std::thread thread_;
};

}  // namespace

TEST_F(stop_signal_test, threads_from_before_forward_through_the_handler_and_leave_nothing_behind) {
  early_thread early;
  {
    netcore::app::stop_signals first;
    ASSERT_TRUE(first.active());
    early.raise_twice(SIGTERM);  // through the handler: two bytes in the pipe
    EXPECT_EQ(first.wait(), SIGTERM);
    EXPECT_EQ(first.wait(), SIGTERM);
  }
  {
    netcore::app::stop_signals later;
    ASSERT_TRUE(later.active());
    early.raise_twice(SIGINT);
    EXPECT_EQ(later.wait(), SIGINT);
  }  // the second SIGINT is left in the pipe for no one
  netcore::app::stop_signals last;
  ASSERT_TRUE(last.active());
  ASSERT_EQ(::raise(SIGTERM), 0);
  EXPECT_EQ(last.wait(), SIGTERM);  // not the SIGINT left over from before
  EXPECT_EQ(earlier_handler_saw.load(), 0);
}
