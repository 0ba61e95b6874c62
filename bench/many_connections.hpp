// P7: one server process holding many concurrent TCP connections, each carrying one 100 B request
// per second, against a plain epoll echo server holding as many. The processes are forked, so
// call run_many_connections() before this process starts an actor system of its own.
#pragma once

#include <chrono>
#include <cstddef>

namespace netcore::bench {

struct many_connections_result {
  std::size_t connections = 0;
  std::size_t server_threads = 0;       ///< OS threads of the netcore server under load
  std::size_t server_threads_idle = 0;  ///< ... before any connection
  double rss_idle_mib = 0;              ///< netcore server RSS before any connection
  double rss_loaded_mib = 0;            ///< ... with every connection open, under load
  double rss_per_connection_kib = 0;
  double accept_seconds = 0;  ///< from the first accepted connection to the last
  double p50_us = 0;          ///< request round trip seen by the client process
  double p99_us = 0;
  std::size_t samples = 0;
  double baseline_rss_per_connection_kib = 0;  ///< the epoll echo server's
  double baseline_rss_idle_mib = 0;
  double baseline_rss_loaded_mib = 0;
  double baseline_p50_us = 0;  ///< round trips of the same load against the epoll server
  double baseline_p99_us = 0;
};

/// Runs P7 with `connections` connections and `load` seconds of requests.
many_connections_result run_many_connections(std::size_t connections, std::chrono::seconds load);

}  // namespace netcore::bench
