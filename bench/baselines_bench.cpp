// Prints the loopback baselines (raw TCP, ZeroMQ), one measurement per line:
//   <name> <parameters as key=value> <result as key=value> seconds=<wall time of the measurement>
// Usage: netcore_baselines_bench [rounds]   (default 1; rounds run the whole list again)
#include "baselines.hpp"

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>

namespace {

using netcore::bench::latency;

constexpr std::uint64_t MiB = std::uint64_t{1} << 20;

template <class F>
double timed(F&& f) {
  const auto start = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void bulk_tcp(std::uint64_t total, std::size_t write_size) {
  double gbps = 0;
  const double s = timed([&] { gbps = netcore::bench::raw_tcp_bulk_gbps(total, write_size); });
  std::printf("raw_tcp_bulk total_bytes=%llu write_size=%zu gbps=%.3f seconds=%.2f\n",
              static_cast<unsigned long long>(total), write_size, gbps, s);
}

void bulk_zmq(std::uint64_t total, std::size_t message_size) {
  double gbps = 0;
  const double s = timed([&] { gbps = netcore::bench::zmq_bulk_gbps(total, message_size); });
  std::printf("zmq_bulk total_bytes=%llu message_size=%zu gbps=%.3f seconds=%.2f\n",
              static_cast<unsigned long long>(total), message_size, gbps, s);
}

void small_zmq(std::size_t count, std::size_t size) {
  double rate = 0;
  const double s = timed([&] { rate = netcore::bench::zmq_small_msgs_per_sec(count, size); });
  std::printf("zmq_small_msgs count=%zu size=%zu msgs_per_sec=%.0f seconds=%.2f\n", count, size,
              rate, s);
}

template <class F>
void rtt(const char* name, std::uint64_t bulk, std::size_t request_size, F f) {
  latency l;
  const double s = timed([&] { l = f(); });
  std::printf(
      "%s bulk_bytes=%llu request_size=%zu samples=%zu p50_us=%.1f p99_us=%.1f seconds=%.2f\n",
      name, static_cast<unsigned long long>(bulk), request_size, l.samples, l.p50_us, l.p99_us, s);
}

void run_all() {
  // Long enough (0.2 s and more at loopback speeds) for one run not to be dominated by start-up.
  constexpr std::uint64_t bulk_total = 1024 * MiB;
  bulk_tcp(bulk_total, 1 << 20);
  bulk_tcp(bulk_total, 256 << 10);
  bulk_tcp(bulk_total, 64 << 10);
  bulk_zmq(bulk_total, 1 << 20);
  bulk_zmq(bulk_total, 10000);
  small_zmq(1000000, 100);

  constexpr std::size_t request = 100;
  constexpr std::uint64_t load = 64 * MiB;
  // Under load every request waits for whole 64 MiB messages (tens of milliseconds behind the naive
  // framing, about two messages and a hundred milliseconds or more behind ZeroMQ), so these take
  // several seconds even with few samples.
  rtt("raw_tcp_idle_rtt", 0, request,
      [] { return netcore::bench::raw_tcp_idle_rtt(request, 2000); });
  rtt("naive_framing_rtt_under_load", load, request,
      [] { return netcore::bench::naive_framing_rtt_under_load(load, request, 200); });
  rtt("zmq_rtt_under_load", load, request,
      [] { return netcore::bench::zmq_rtt_under_load(load, request, 50); });
}

}  // namespace

int main(int argc, char** argv) {
  const int rounds = argc > 1 ? std::atoi(argv[1]) : 1;
  try {
    for (int i = 0; i < rounds; ++i) {
      run_all();
      std::fflush(stdout);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "netcore_baselines_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
