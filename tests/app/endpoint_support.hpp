#pragma once

// Two endpoints on the two ends of one TCP connection on loopback, for the app tests.

#include <netcore/actors/runtime.hpp>
#include <netcore/actors/scheduler_settings.hpp>
#include <netcore/app/endpoint.hpp>

#include <caf/all.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

namespace netcore::app::test {

using namespace std::chrono_literals;

/// A handler that keeps every responder it is given, for tests that answer later (or never).
class held_calls {
 public:
  /// The handler; `look` (optional) sees each request first.
  handler keep(std::function<void(const request&)> look = {}) {
    return [this, look](const request& req, responder rs) {
      if (look) look(req);
      std::lock_guard<std::mutex> guard{mutex_};
      held_.push_back(std::move(rs));
      cv_.notify_all();
    };
  }
  /// Waits until `n` calls are held.
  bool wait(std::size_t n, std::chrono::milliseconds timeout = 10s) {
    std::unique_lock<std::mutex> guard{mutex_};
    return cv_.wait_for(guard, timeout, [&] { return held_.size() >= n; });
  }
  /// The responder of the `i`-th call held.
  responder at(std::size_t i) {
    std::lock_guard<std::mutex> guard{mutex_};
    return held_.at(i);
  }
  /// Drops every responder still held (their calls are then answered internal).
  void clear() {
    std::lock_guard<std::mutex> guard{mutex_};
    held_.clear();
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<responder> held_;
};

/// A server endpoint and a client endpoint; connect() joins them (the server serves its end).
class endpoint_pair : public ::testing::Test {
 public:
  endpoint_pair() {
    actors::apply(cfg_);
    cfg_.set("logger.verbosity", caf::atom("quiet"));
    sys_ = std::make_unique<caf::actor_system>(cfg_);
    rt_ = std::make_unique<actors::runtime>(*sys_);
    server_ = std::make_unique<endpoint>(*rt_);
    client_ = std::make_unique<endpoint>(*rt_);
  }
  ~endpoint_pair() override {
    listener_ = {};
    client_conn_ = {};
    server_conn_ = {};
    client_.reset();
    server_.reset();
    rt_.reset();
    sys_.reset();
  }

  void connect() {
    std::mutex m;
    std::condition_variable cv;
    auto l = rt_->listen_tcp("127.0.0.1", 0, [&](actors::connection c) {
      std::lock_guard<std::mutex> guard{m};
      server_conn_ = std::move(c);
      cv.notify_all();
    });
    ASSERT_TRUE(l);
    auto c = rt_->connect_tcp("127.0.0.1", l->port());
    ASSERT_TRUE(c);
    client_conn_ = std::move(*c);
    std::unique_lock<std::mutex> guard{m};
    ASSERT_TRUE(cv.wait_for(guard, 10s, [&] { return server_conn_.valid(); }));
    server_->serve(server_conn_);
    listener_ = std::move(*l);
  }

  /// Calls `route` with a text body from the client and waits for the reply.
  reply call(std::string route, std::string_view body = {},
             std::chrono::milliseconds timeout = 0ms) {
    auto f = client_->call(client_conn_,
                           actors::outgoing_message::from_text(std::move(route), body), timeout);
    EXPECT_EQ(f.wait_for(20s), std::future_status::ready) << "no reply at all";
    return f.get();
  }

  caf::actor_system_config cfg_;
  std::unique_ptr<caf::actor_system> sys_;
  std::unique_ptr<actors::runtime> rt_;
  std::unique_ptr<endpoint> server_, client_;
  actors::acceptor listener_;
  actors::connection server_conn_, client_conn_;
};

}  // namespace netcore::app::test
