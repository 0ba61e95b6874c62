#include "grpc_baseline.hpp"

#include "echo.grpc.pb.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <exception>
#include <functional>
#include <iostream>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace netcore::bench {
namespace {

using clock_type = std::chrono::steady_clock;
using grpc_echo::Echo;
using grpc_echo::Payload;
using grpc_echo::UploadSummary;

/// How long the upload of P2 may take before its deadline cancels it.
constexpr std::chrono::seconds upload_deadline{120};

std::size_t thread_count() {
  const char* v = std::getenv("NETCORE_BENCH_GRPC_THREADS");
  const auto n = v ? std::strtoul(v, nullptr, 10) : 0;
  return n > 0 ? static_cast<std::size_t>(n) : grpc_default_threads;
}

/// Whether NETCORE_BENCH_VERBOSE asks for the samples on stderr.
bool verbose() {
  return std::getenv("NETCORE_BENCH_VERBOSE") != nullptr;
}

std::chrono::system_clock::time_point in(std::chrono::seconds s) {
  return std::chrono::system_clock::now() + s;
}

/// The channel arguments of both ends. P8 takes those of gRPC's own throughput benchmarks (the
/// qps scenarios): optimised for throughput, and the minimal filter stack, which leaves out
/// deadlines among others. P2 keeps gRPC's defaults, as an application streaming an upload would.
enum class tuning { defaults, throughput };

void tune(tuning t, grpc::ServerBuilder& builder) {
  if (t != tuning::throughput) return;
  builder.AddChannelArgument(GRPC_ARG_OPTIMIZATION_TARGET, std::string{"throughput"});
  builder.AddChannelArgument(GRPC_ARG_MINIMAL_STACK, 1);
}

void tune(tuning t, grpc::ChannelArguments& args) {
  if (t != tuning::throughput) return;
  args.SetString(GRPC_ARG_OPTIMIZATION_TARGET, "throughput");
  args.SetInt(GRPC_ARG_MINIMAL_STACK, 1);
}

/// Threads that are all joined before the object goes; the first exception one of them threw is
/// rethrown by join(), after `on_failure` has unblocked the others.
class thread_group {
 public:
  explicit thread_group(std::function<void()> on_failure) : on_failure_(std::move(on_failure)) {}
  thread_group(const thread_group&) = delete;
  thread_group& operator=(const thread_group&) = delete;
  ~thread_group() {
    for (auto& t : threads_)
      if (t.joinable()) t.join();
  }

  template <class F>
  void spawn(F f) {
    threads_.emplace_back([this, f = std::move(f)]() mutable {
      try {
        f();
      } catch (...) {
        {
          std::lock_guard<std::mutex> guard{mutex_};
          if (!error_) error_ = std::current_exception();
        }
        on_failure_();
      }
    });
  }

  void join() {
    for (auto& t : threads_)
      if (t.joinable()) t.join();
    if (error_) std::rethrow_exception(error_);
  }

 private:
  std::function<void()> on_failure_;
  std::mutex mutex_;
  std::exception_ptr error_;
  std::vector<std::thread> threads_;
};

// -- the server -----------------------------------------------------------------------------------

/// An operation waiting on a completion queue; told whether it succeeded.
class pending {
 public:
  virtual ~pending() = default;
  /// Takes the next step; may start a further operation or delete the object.
  virtual void proceed(bool ok) = 0;
};

/// One server completion queue with the lock its thread holds while it handles an event, so that
/// shutting down can stop every thread from starting new operations.
struct server_queue {
  std::unique_ptr<grpc::ServerCompletionQueue> cq;
  std::mutex mutex;
  bool shutting_down = false;
};

/// A unary echo call: requested ahead, answered with the request itself, then deleted.
class echo_call final : public pending {
 public:
  echo_call(Echo::AsyncService& service, grpc::ServerCompletionQueue& cq)
      : service_(service), cq_(cq), responder_(&context_) {
    service_.RequestCall(&context_, &request_, &responder_, &cq_, &cq_, this);
  }

  void proceed(bool ok) override {
    if (!ok || answered_) {
      delete this;
      return;
    }
    new echo_call(service_, cq_);  // the next call of this queue
    answered_ = true;
    responder_.Finish(request_, grpc::Status::OK, this);
  }

 private:
  Echo::AsyncService& service_;
  grpc::ServerCompletionQueue& cq_;
  grpc::ServerContext context_;
  Payload request_;
  grpc::ServerAsyncResponseWriter<Payload> responder_;
  bool answered_ = false;
};

/// An upload: reads every piece, counting its bytes, then answers with the total.
class upload_call final : public pending {
 public:
  upload_call(Echo::AsyncService& service, grpc::ServerCompletionQueue& cq)
      : service_(service), cq_(cq), reader_(&context_) {
    service_.RequestUpload(&context_, &reader_, &cq_, &cq_, this);
  }

  void proceed(bool ok) override {
    switch (step_) {
    case step::requested:
      if (!ok) break;
      new upload_call(service_, cq_);
      step_ = step::reading;
      reader_.Read(&piece_, this);
      return;
    case step::reading:
      if (ok) {
        bytes_ += piece_.data().size();
        reader_.Read(&piece_, this);
        return;
      }
      step_ = step::finishing;  // the client is done writing
      summary_.set_bytes(bytes_);
      reader_.Finish(summary_, grpc::Status::OK, this);
      return;
    case step::finishing:
      break;
    }
    delete this;
  }

 private:
  enum class step { requested, reading, finishing };
  Echo::AsyncService& service_;
  grpc::ServerCompletionQueue& cq_;
  grpc::ServerContext context_;
  grpc::ServerAsyncReader<UploadSummary, Payload> reader_;
  Payload piece_;
  UploadSummary summary_;
  std::uint64_t bytes_ = 0;
  step step_ = step::requested;
};

/// The asynchronous echo server on 127.0.0.1 (an ephemeral port): `threads` threads, each
/// draining a completion queue of its own on which `calls_ahead` echo calls and one upload are
/// requested ahead of time (each taken request is replaced at once).
class echo_server {
 public:
  echo_server(tuning t, std::size_t threads, std::size_t calls_ahead) : queues_(threads) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(&service_);
    tune(t, builder);
    for (auto& q : queues_) q.cq = builder.AddCompletionQueue();
    server_ = builder.BuildAndStart();
    if (!server_ || port_ == 0) throw std::runtime_error("grpc: the server did not start");
    for (auto& q : queues_) {
      for (std::size_t i = 0; i < calls_ahead; ++i) new echo_call(service_, *q.cq);
      new upload_call(service_, *q.cq);
    }
    for (auto& q : queues_) threads_.emplace_back([&q] { drain(q); });
  }

  echo_server(const echo_server&) = delete;
  echo_server& operator=(const echo_server&) = delete;

  ~echo_server() {
    for (auto& q : queues_) {
      std::lock_guard<std::mutex> guard{q.mutex};
      q.shutting_down = true;
    }
    // Fails the requested calls (their objects are deleted as they come back) and cancels any
    // call still running after the deadline.
    server_->Shutdown(in(std::chrono::seconds{1}));
    for (auto& q : queues_) q.cq->Shutdown();
    for (auto& t : threads_) t.join();
  }

  /// Where clients connect.
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  static void drain(server_queue& q) {
    void* tag = nullptr;
    bool ok = false;
    while (q.cq->Next(&tag, &ok)) {
      auto* op = static_cast<pending*>(tag);
      std::lock_guard<std::mutex> guard{q.mutex};
      if (q.shutting_down)
        delete op;  // no new operation on a queue that is shutting down
      else
        op->proceed(ok);
    }
  }

  Echo::AsyncService service_;
  std::unique_ptr<grpc::Server> server_;
  std::vector<server_queue> queues_;
  std::vector<std::thread> threads_;
  int port_ = 0;
};

/// A channel of its own TCP connection: a subchannel pool of its own and an argument no other
/// channel has, so that gRPC does not share one connection among them.
std::shared_ptr<grpc::Channel> connect(const std::string& address, std::size_t index, tuning t) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetInt("netcore.bench.channel_index", static_cast<int>(index));
  tune(t, args);
  auto channel = grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
  if (!channel->WaitForConnected(in(io_timeout)))
    throw std::runtime_error("grpc: the channel did not connect");
  return channel;
}

// -- P8 -------------------------------------------------------------------------------------------

/// A call of the asynchronous client.
struct client_call {
  grpc::ClientContext context;
  Payload reply;
  grpc::Status status;
  std::unique_ptr<grpc::ClientAsyncResponseReader<Payload>> reader;
  std::size_t slot = 0;  // in the calls of its client thread
};

/// One client thread's part of P8: its channels, each with `window` slots for calls in flight, on
/// a completion queue of its own. A reply frees its slot for the next call of that channel.
class client_driver {
 public:
  client_driver(std::vector<Echo::Stub*> stubs, std::size_t window, const Payload& request)
      : stubs_(std::move(stubs)), window_(window), request_(request),
        slots_(stubs_.size() * window) {}

  /// Keeps the calls going until `issued` reaches `total`, counting replies in `answered` and
  /// noting when the last one came; returns once none of its calls is in flight. Throws when a
  /// call failed or no reply came for `io_timeout` (the minimal stack has no deadlines: calls
  /// still in flight then are cancelled).
  void run(std::atomic<std::size_t>& issued, std::atomic<std::size_t>& answered, std::size_t total,
           const std::atomic<bool>& stop, clock_type::time_point& finished) {
    for (std::size_t slot = 0; slot < slots_.size(); ++slot) issue(slot, issued, total, stop);
    std::string failure;
    auto last_reply = clock_type::now();
    while (in_flight_ > 0) {
      void* tag = nullptr;
      bool ok = false;
      const auto got = cq_.AsyncNext(&tag, &ok, in(std::chrono::seconds{1}));
      if (got == grpc::CompletionQueue::SHUTDOWN) break;
      if (got == grpc::CompletionQueue::TIMEOUT) {
        if (clock_type::now() - last_reply > io_timeout || stop.load()) {
          if (failure.empty()) failure = "grpc: replies stopped coming";
          cancel_all();
        }
        continue;
      }
      last_reply = clock_type::now();
      const std::size_t slot = static_cast<client_call*>(tag)->slot;
      auto call = std::move(slots_[slot]);
      --in_flight_;
      if (!ok || !call->status.ok() || call->reply.data().size() != request_.data().size()) {
        if (failure.empty()) failure = "grpc: a call failed: " + call->status.error_message();
        cancel_all();
        continue;
      }
      if (answered.fetch_add(1) + 1 == total) finished = clock_type::now();
      if (failure.empty()) issue(slot, issued, total, stop);
    }
    cq_.Shutdown();
    void* tag = nullptr;
    bool ok = false;
    while (cq_.Next(&tag, &ok)) {
    }
    if (!failure.empty()) throw std::runtime_error(failure);
  }

 private:
  void issue(std::size_t slot, std::atomic<std::size_t>& issued, std::size_t total,
             const std::atomic<bool>& stop) {
    if (stop.load() || issued.fetch_add(1) >= total) return;
    auto call = std::make_unique<client_call>();
    call->slot = slot;
    call->reader = stubs_[slot / window_]->PrepareAsyncCall(&call->context, request_, &cq_);
    call->reader->StartCall();
    call->reader->Finish(&call->reply, &call->status, call.get());
    slots_[slot] = std::move(call);
    ++in_flight_;
  }

  void cancel_all() {
    for (auto& call : slots_)
      if (call) call->context.TryCancel();
  }

  std::vector<Echo::Stub*> stubs_;
  std::size_t window_;
  const Payload& request_;
  grpc::CompletionQueue cq_;
  std::vector<std::unique_ptr<client_call>> slots_;
  std::size_t in_flight_ = 0;
};

}  // namespace

double grpc_unary_calls_per_sec(std::size_t connections, std::size_t window,
                                std::size_t total_calls, std::size_t size) {
  if (connections == 0 || window == 0 || total_calls == 0)
    throw std::invalid_argument("grpc_unary_calls_per_sec: nothing to do");
  const std::size_t threads = std::min(thread_count(), connections);
  echo_server server{tuning::throughput, thread_count(),
                     std::max<std::size_t>(16, connections * window / thread_count())};
  std::vector<std::unique_ptr<Echo::Stub>> stubs;
  for (std::size_t i = 0; i < connections; ++i)
    stubs.push_back(Echo::NewStub(connect(server.address(), i, tuning::throughput)));
  Payload request;
  request.set_data(std::string(size, 'x'));
  // Client thread t drives the channels t, t + threads, ...
  std::vector<std::unique_ptr<client_driver>> drivers;
  for (std::size_t t = 0; t < threads; ++t) {
    std::vector<Echo::Stub*> mine;
    for (std::size_t ch = t; ch < connections; ch += threads) mine.push_back(stubs[ch].get());
    drivers.push_back(std::make_unique<client_driver>(std::move(mine), window, request));
  }

  std::atomic<std::size_t> issued{0}, answered{0};
  std::atomic<bool> stop{false};
  clock_type::time_point finished;
  thread_group group{[&] { stop = true; }};
  const auto start = clock_type::now();
  for (auto& d : drivers)
    group.spawn(
        [&, driver = d.get()] { driver->run(issued, answered, total_calls, stop, finished); });
  group.join();
  if (answered.load() != total_calls) throw std::runtime_error("grpc: replies missing");
  return static_cast<double>(total_calls) / std::chrono::duration<double>(finished - start).count();
}

// -- P2 -------------------------------------------------------------------------------------------

latency grpc_rtt_under_load(std::uint64_t bulk_bytes, std::size_t message_size,
                            std::size_t request_size, std::size_t samples) {
  if (message_size == 0 || bulk_bytes == 0)
    throw std::invalid_argument("grpc_rtt_under_load: nothing to upload");
  if (samples == 0) return {};
  echo_server server{tuning::defaults, thread_count(), 16};
  auto stub = Echo::NewStub(connect(server.address(), 0, tuning::defaults));

  std::atomic<bool> upload_started{false}, upload_written{false}, stop{false};
  grpc::ClientContext upload_context;
  upload_context.set_deadline(in(upload_deadline));
  std::vector<double> rtts;
  rtts.reserve(samples);
  thread_group group{[&] {
    stop = true;
    upload_context.TryCancel();
  }};

  // The upload: pieces of `message_size` bytes written back to back by the synchronous writer
  // (each Write returns once gRPC has taken the piece, as flow control allows).
  group.spawn([&] {
    UploadSummary summary;
    auto writer = stub->Upload(&upload_context, &summary);
    Payload piece;
    piece.set_data(std::string(message_size, 'b'));
    std::uint64_t sent = 0;
    const auto begin = clock_type::now();
    while (sent < bulk_bytes && !stop.load()) {
      const auto n =
          static_cast<std::size_t>(std::min<std::uint64_t>(message_size, bulk_bytes - sent));
      if (n != piece.data().size()) piece.mutable_data()->resize(n);
      if (!writer->Write(piece)) break;
      sent += n;
      upload_started = true;
    }
    upload_written = true;
    if (verbose())
      std::cerr << "grpc upload: " << sent << " bytes written in "
                << std::chrono::duration<double>(clock_type::now() - begin).count() << " s\n";
    writer->WritesDone();
    const auto status = writer->Finish();
    if (stop.load()) return;
    if (!status.ok() || summary.bytes() != bulk_bytes)
      throw std::runtime_error("grpc_rtt_under_load: the upload failed: " + status.error_message());
  });

  // The calls: one after another from the synchronous stub while the upload is being written.
  group.spawn([&] {
    Payload request, reply;
    request.set_data(std::string(request_size, 'r'));
    while (!upload_started.load() && !upload_written.load() && !stop.load())
      std::this_thread::sleep_for(std::chrono::milliseconds{1});
    const auto deadline = clock_type::now() + max_latency_run_time;
    while (rtts.size() < samples && !upload_written.load() && !stop.load() &&
           clock_type::now() < deadline) {
      grpc::ClientContext context;
      context.set_deadline(in(io_timeout));
      const auto t0 = clock_type::now();
      const auto status = stub->Call(&context, request, &reply);
      const auto t1 = clock_type::now();
      if (!status.ok() || reply.data().size() != request_size)
        throw std::runtime_error("grpc_rtt_under_load: a call failed: " + status.error_message());
      rtts.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
    }
  });

  group.join();
  if (verbose()) {
    std::cerr << "grpc P2 " << rtts.size() << " samples:";
    for (auto r : rtts) std::cerr << ' ' << static_cast<long>(r);
    std::cerr << '\n';
  }
  return percentiles(std::move(rtts));
}

}  // namespace netcore::bench
