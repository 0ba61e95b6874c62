// The events actor on CAF's deterministic scheduler: on, once, off and emit with typed payloads,
// asynchronous delivery in subscription order, failing handlers isolated and reported.
// Covers app/src/events.cpp.

#include <netcore/actors/scheduler_settings.hpp>
#include <netcore/app/events.hpp>

#include <caf/all.hpp>
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

using namespace netcore;
using namespace netcore::app;

namespace {

class events_test : public ::testing::Test {
 protected:
  events_test() {
    cfg_.set("scheduler.policy", caf::atom("testing"));
    cfg_.set("logger.verbosity", caf::atom("quiet"));
    actors::apply(cfg_);
    sys_ = std::make_unique<caf::actor_system>(cfg_);
    sched_ = &dynamic_cast<caf::scheduler::test_coordinator&>(sys_->scheduler());
    ev_ = std::make_unique<events>(*sys_);
  }
  ~events_test() override {
    ev_.reset();
    sched_->run();
  }

  caf::actor_system_config cfg_;
  std::unique_ptr<caf::actor_system> sys_;
  caf::scheduler::test_coordinator* sched_ = nullptr;
  std::unique_ptr<events> ev_;
};

}  // namespace

TEST_F(events_test, emit_reaches_the_handlers_of_its_name_asynchronously_in_order) {
  std::vector<std::string> seen;
  ev_->on("job.done", [&](const event& e) { seen.push_back("a:" + *e.as<std::string>()); });
  ev_->on("job.done", [&](const event& e) { seen.push_back("b:" + *e.as<std::string>()); });
  ev_->on("other", [&](const event&) { seen.push_back("other"); });
  ev_->emit("job.done", std::string{"42"});
  EXPECT_TRUE(seen.empty());  // asynchronous: nothing ran inside emit()
  sched_->run();
  EXPECT_EQ(seen, (std::vector<std::string>{"a:42", "b:42"}));
}

TEST_F(events_test, payloads_keep_their_type) {
  struct progress {
    int done;
    int total;
  };
  const progress* got = nullptr;
  progress copy{};
  ev_->on("progress", [&](const event& e) {
    got = e.as<progress>();
    if (got) copy = *got;
    EXPECT_EQ(e.as<std::string>(), nullptr);  // another type: nullptr, no throw
  });
  ev_->emit("progress", progress{3, 7});
  sched_->run();
  ASSERT_NE(got, nullptr);
  EXPECT_EQ(copy.done, 3);
  EXPECT_EQ(copy.total, 7);
}

TEST_F(events_test, once_runs_for_the_next_event_only_and_off_stops_a_handler) {
  int once_runs = 0, on_runs = 0;
  ev_->once("tick", [&](const event&) { ++once_runs; });
  auto s = ev_->on("tick", [&](const event&) { ++on_runs; });
  ev_->emit("tick");
  ev_->emit("tick");
  sched_->run();
  EXPECT_EQ(once_runs, 1);
  EXPECT_EQ(on_runs, 2);
  ev_->off(s);
  ev_->emit("tick");
  sched_->run();
  EXPECT_EQ(on_runs, 2);
}

TEST_F(events_test, a_handler_that_throws_is_isolated_and_reported_as_an_error_event) {
  int later_runs = 0;
  std::vector<event_failure> failures;
  auto bad = ev_->on("save", [](const event&) { throw std::runtime_error("disk full"); });
  ev_->on("save", [&](const event&) { ++later_runs; });
  ev_->on(event_names::error, [&](const event& e) {
    ASSERT_NE(e.as<event_failure>(), nullptr);
    failures.push_back(*e.as<event_failure>());
  });
  ev_->emit("save");
  sched_->run();
  EXPECT_EQ(later_runs, 1);
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_EQ(failures[0].event_name, "save");
  EXPECT_EQ(failures[0].subscription, bad.id);
  EXPECT_EQ(failures[0].what, "disk full");
}

TEST_F(events_test, a_failing_error_handler_does_not_loop) {
  int error_runs = 0;
  ev_->on(event_names::error, [&](const event&) {
    ++error_runs;
    throw std::runtime_error("again");
  });
  ev_->on("x", [](const event&) { throw std::runtime_error("first"); });
  ev_->emit("x");
  sched_->run();
  EXPECT_EQ(error_runs, 1);
}

TEST_F(events_test, handlers_may_subscribe_and_emit_from_inside_a_handler) {
  std::vector<std::string> seen;
  ev_->on("first", [&](const event&) {
    seen.push_back("first");
    ev_->on("second", [&](const event&) { seen.push_back("second"); });
    ev_->emit("second");
  });
  ev_->emit("first");
  sched_->run();
  EXPECT_EQ(seen, (std::vector<std::string>{"first", "second"}));
}

TEST_F(events_test, subscriptions_beyond_the_bound_are_refused_and_reported) {
  ev_.reset();
  sched_->run();
  events_config small;
  small.max_subscriptions = 2;
  ev_ = std::make_unique<events>(*sys_, small);
  std::vector<event_failure> failures;
  ev_->on(event_names::error, [&](const event& e) { failures.push_back(*e.as<event_failure>()); });
  int runs = 0;
  ev_->on("a", [&](const event&) { ++runs; });
  auto refused = ev_->on("a", [&](const event&) { ++runs; });
  sched_->run();
  ev_->emit("a");
  sched_->run();
  EXPECT_EQ(runs, 1);
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_EQ(failures[0].subscription, refused.id);
}
