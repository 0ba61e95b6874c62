// The event loop (actors/src/io_loop.cpp, on_loop.hpp): actors pinned to a loop are served on the
// loop's thread whoever sends to them, actors they send to still run on CAF's workers, and stop()
// waits until every pinned actor has finished. The two wires that run on it (polled_wire.cpp on
// loops, threaded_wire.cpp for blocking streams) are exercised through the runtime tests and the
// integration scenarios (TCP and unix sockets polled; pipes and memory pairs threaded).

#include "on_loop.hpp"

#include <netcore/actors/scheduler_settings.hpp>

#include <caf/all.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

using namespace netcore::actors;
using namespace netcore::actors::detail;
using namespace std::chrono_literals;

namespace {

using where_atom = caf::atom_constant<caf::atom("where")>;
using where_actor = caf::typed_actor<caf::replies_to<where_atom>::with<std::string>>;

std::string this_thread() {
  std::ostringstream out;
  out << std::this_thread::get_id();
  return out.str();
}

/// Answers the id of the thread it runs on.
class pinned final : public on_loop<where_actor::base> {
 public:
  pinned(caf::actor_config& cfg, io_loop* loop) : on_loop(cfg, loop) {}
  behavior_type make_behavior() override {
    return {[](where_atom) { return this_thread(); }};
  }
};

std::string id_of(std::thread::id id) {
  std::ostringstream out;
  out << id;
  return out.str();
}

class io_loop_test : public ::testing::Test {
 protected:
  io_loop_test() {
    apply(cfg_);
    cfg_.set("logger.verbosity", caf::atom("quiet"));
    sys_ = std::make_unique<caf::actor_system>(cfg_);
  }
  caf::actor_system_config cfg_;
  std::unique_ptr<caf::actor_system> sys_;
};

}  // namespace

TEST_F(io_loop_test, a_pinned_actor_runs_on_the_loop_thread_whoever_sends) {
  io_loop loop{*sys_, "test-loop", 0, 4096};
  caf::actor_config cfg{&loop};
  auto a = sys_->spawn_class<pinned, caf::no_spawn_options>(cfg, &loop);
  EXPECT_EQ(loop.live_actors(), 1u);
  caf::scoped_actor self{*sys_};
  std::string from_scoped;
  self->request(a, 10s, where_atom::value)
      .receive([&](std::string& t) { from_scoped = t; }, [](caf::error&) {});
  EXPECT_EQ(from_scoped, id_of(loop.thread_id()));
  // From an event-based actor on a CAF worker as well.
  std::atomic<bool> done{false};
  std::string from_worker, worker_thread;
  auto asker = sys_->spawn([&, a](caf::event_based_actor* me) {
    worker_thread = this_thread();
    me->request(a, 10s, where_atom::value).then([&](std::string& t) {
      from_worker = t;
      done = true;
    });
  });
  self->wait_for(asker);
  EXPECT_TRUE(done.load());
  EXPECT_EQ(from_worker, id_of(loop.thread_id()));
  EXPECT_NE(worker_thread, id_of(loop.thread_id()));  // the asker ran on a worker, not the loop
  caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  a = nullptr;
  loop.stop();  // returns once the pinned actor finished
  EXPECT_EQ(loop.live_actors(), 0u);
}

TEST_F(io_loop_test, without_a_loop_it_is_an_ordinary_actor) {
  caf::actor_config cfg{nullptr};
  auto a = sys_->spawn_class<pinned, caf::no_spawn_options>(cfg, nullptr);
  caf::scoped_actor self{*sys_};
  std::string where;
  self->request(a, 10s, where_atom::value)
      .receive([&](std::string& t) { where = t; }, [](caf::error&) {});
  EXPECT_FALSE(where.empty());
  caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
}
