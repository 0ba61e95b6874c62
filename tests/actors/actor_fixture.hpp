#pragma once

// A deterministic CAF world for actor tests: the test scheduler (virtual time, jobs run only
// when the test says so), a fake writer that records the wire bytes, and recorders for
// deliveries and events.

#include <netcore/actors/messages.hpp>
#include <netcore/actors/runtime.hpp>
#include <netcore/protocol/decoder.hpp>

#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>

#include <gtest/gtest.h>

#include <deque>
#include <memory>
#include <vector>

namespace netcore::actors::test {

using protocol::errc;

/// What the fake writer saw and holds.
struct wire_log {
  protocol::byte_buffer bytes;
  std::size_t writes = 0;
  bool hold = false;                       // keep write replies back (a slow transport)
  std::deque<caf::response_promise> held;  // replies kept back
};

/// What the recorders saw.
struct record {
  std::vector<protocol::incoming_message> messages;
  std::vector<incoming_failure> failures;
  std::vector<send_outcome> outcomes;
  std::vector<send_progress> progress;
  std::vector<errc> closed;
};

/// Tells the fake writer to answer its oldest held write with the given result.
using release_atom = caf::atom_constant<caf::atom("release")>;

inline caf::behavior fake_writer(caf::event_based_actor* self, wire_log* log) {
  return {
      [log](release_atom, errc result) {
        if (log->held.empty()) return;
        auto rp = log->held.front();
        log->held.pop_front();
        rp.deliver(written_atom::value, result);
      },
      [self, log](write_atom, write_job_ptr& job) -> caf::result<written_atom, errc> {
        job->frames.flatten_into(log->bytes);
        ++log->writes;
        if (log->hold) {
          auto rp = self->make_response_promise();
          log->held.push_back(rp);
          return caf::delegated<written_atom, errc>{};
        }
        return {written_atom::value, errc::ok};
      },
  };
}

inline caf::behavior recorder(caf::event_based_actor*, record* rec) {
  return {
      [rec](deliver_atom, delivery_ptr& d) {
        for (auto& m : d->messages) rec->messages.push_back(std::move(m));
        for (auto& f : d->failures) rec->failures.push_back(f);
        return caf::ok_atom::value;
      },
      [rec](outcome_atom, send_outcome& o) { rec->outcomes.push_back(o); },
      [rec](progress_atom, send_progress& p) { rec->progress.push_back(p); },
      [rec](closed_atom, errc e) { rec->closed.push_back(e); },
  };
}

/// Frames decoded from wire bytes.
struct wire_frame {
  protocol::frame_header header;
  protocol::byte_buffer payload;
};

inline std::vector<wire_frame> decode_wire(const protocol::byte_buffer& bytes) {
  std::vector<wire_frame> out;
  protocol::decoder dec;
  protocol::byte_view in{bytes};
  for (;;) {
    auto r = dec.next(in);
    if (r.status == protocol::decode_status::need_more) break;
    EXPECT_EQ(r.status, protocol::decode_status::frame);
    if (r.status != protocol::decode_status::frame) continue;
    out.push_back({r.frame.header, {r.frame.payload.begin(), r.frame.payload.end()}});
  }
  return out;
}

class actor_fixture : public ::testing::Test {
 protected:
  actor_fixture() {
    cfg_.set("scheduler.policy", caf::atom("testing"));
    cfg_.set("logger.verbosity", caf::atom("quiet"));
    sys_ = std::make_unique<caf::actor_system>(cfg_);
    sched_ = &dynamic_cast<caf::scheduler::test_coordinator&>(sys_->scheduler());
    writer_ = sys_->spawn(fake_writer, &wire_);
    recorder_ = sys_->spawn(recorder, &rec_);
  }

  ~actor_fixture() override {
    release_writes();
    for (auto& a : spawned_) caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(writer_, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(recorder_, caf::exit_reason::user_shutdown);
    sched_->run();
  }

  /// Runs every pending job.
  void run() { sched_->run(); }

  /// Releases replies held by the fake writer (one or all).
  void release_writes(std::size_t n = SIZE_MAX) {
    while (n-- > 0 && !wire_.held.empty()) {
      caf::anon_send(writer_, release_atom::value, errc::ok);
      run();
    }
  }

  link_params make_link_params(const connection_config& config = {}) {
    link_params p;
    p.config = config;
    p.chunk_size = 1000;
    p.write_batch = 1;  // one frame per write: every choice of the link is visible
    p.writer = writer_;
    p.events = recorder_;
    return p;
  }

  caf::actor spawn_link_actor(link_params p) {
    auto a = spawn_link(*sys_, std::move(p));
    spawned_.push_back(a);
    return a;
  }

  caf::actor spawn_receiver_actor(caf::actor link, const connection_config& config = {}) {
    receiver_params p;
    p.config = config;
    p.link = link;
    p.delivery = recorder_;
    p.events = recorder_;
    auto a = spawn_receiver(*sys_, std::move(p));
    spawned_.push_back(a);
    return a;
  }

  caf::actor_system_config cfg_;
  std::unique_ptr<caf::actor_system> sys_;
  caf::scheduler::test_coordinator* sched_ = nullptr;
  wire_log wire_;
  record rec_;
  caf::actor writer_;
  caf::actor recorder_;
  std::vector<caf::actor> spawned_;
};

}  // namespace netcore::actors::test
