// Taking SIGINT / SIGTERM: a signal raised after a stop_signals was made is returned by its
// wait() (also when it came before the wait, on any thread) and does not end the process; the
// handlers that were there before are back afterwards; a second one at the same time is
// inactive.
// Covers app/src/stop_signal.cpp.

#include <netcore/app/stop_signal.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <csignal>
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
    // Raised before the wait: kept; the process lives on.
    ASSERT_EQ(::raise(SIGTERM), 0);
    EXPECT_EQ(signals.wait(), SIGTERM);
    // Raised on another thread while this one waits.
    std::thread other{[] { ::raise(SIGINT); }};
    EXPECT_EQ(signals.wait(), SIGINT);
    other.join();
  }
  EXPECT_EQ(earlier_handler_saw.load(), 0);
  EXPECT_EQ(current_handler(SIGTERM), earlier_handler);
  EXPECT_EQ(current_handler(SIGINT), earlier_handler);
}

TEST_F(stop_signal_test, a_signal_from_before_is_not_taken_by_a_later_guard) {
  {
    netcore::app::stop_signals first;
    ASSERT_TRUE(first.active());
    ASSERT_EQ(::raise(SIGTERM), 0);
    ASSERT_EQ(::raise(SIGTERM), 0);
    EXPECT_EQ(first.wait(), SIGTERM);  // the second stays unread
  }
  netcore::app::stop_signals later;
  ASSERT_TRUE(later.active());
  ASSERT_EQ(::raise(SIGINT), 0);
  EXPECT_EQ(later.wait(), SIGINT);  // not the SIGTERM left over from before
}
