// Waiting for SIGINT / SIGTERM: the waiter returns the signal that came (on whichever thread it
// was raised), the process lives on, the handlers that were there before are back afterwards,
// and a second waiter at the same time is refused.
// Covers app/src/stop_signal.cpp.

#include <netcore/app/stop_signal.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <future>
#include <thread>

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

// Waits (yielding) until the waiter installed its handler for SIGTERM.
bool waiter_ready() {
  for (int i = 0; i < 10'000'000; ++i) {
    if (current_handler(SIGTERM) != earlier_handler) return true;
    std::this_thread::yield();
  }
  return false;
}

}  // namespace

TEST(stop_signal_test, the_waiter_returns_the_signal_and_restores_the_handlers) {
  struct sigaction mine {};
  mine.sa_handler = earlier_handler;
  sigemptyset(&mine.sa_mask);
  struct sigaction old_term {
  }, old_int{};
  ASSERT_EQ(::sigaction(SIGTERM, &mine, &old_term), 0);
  ASSERT_EQ(::sigaction(SIGINT, &mine, &old_int), 0);

  auto waited = std::async(std::launch::async, [] { return netcore::app::wait_for_stop_signal(); });
  ASSERT_TRUE(waiter_ready());
  // A second waiter meanwhile is refused.
  errno = 0;
  EXPECT_EQ(netcore::app::wait_for_stop_signal(), -1);
  EXPECT_EQ(errno, EBUSY);
  // Raised on this thread, not the waiter's: the waiter hears it, the process lives on.
  ASSERT_EQ(::raise(SIGTERM), 0);
  EXPECT_EQ(waited.get(), SIGTERM);
  EXPECT_EQ(earlier_handler_saw.load(), 0);
  EXPECT_EQ(current_handler(SIGTERM), earlier_handler);
  EXPECT_EQ(current_handler(SIGINT), earlier_handler);

  // Waiting again works, and hears SIGINT too.
  auto again = std::async(std::launch::async, [] { return netcore::app::wait_for_stop_signal(); });
  ASSERT_TRUE(waiter_ready());
  ASSERT_EQ(::raise(SIGINT), 0);
  EXPECT_EQ(again.get(), SIGINT);

  ::sigaction(SIGTERM, &old_term, nullptr);
  ::sigaction(SIGINT, &old_int, nullptr);
}
