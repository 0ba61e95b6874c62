// R1 (docs/BENCHMARKS.md): a netcore echo server under hostile peers. For each pattern a fresh
// server process is forked; it is sampled idle for one phase (the baseline), then attacked for
// one phase by raw clients that speak the wire themselves, then visited by a well-behaved
// client. Reported per pattern: peak RSS and descriptors against the idle ones and against the
// bound the documented limits give, whether the server survived and served the visitor, and how
// the hostile connections ended. One JSON object per line, appended to the output file.

#include "hostile_patterns.hpp"
#include "hostile_server.hpp"
#include "hostile_wire.hpp"

#include <nlohmann/json.hpp>

#include <sys/resource.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <set>
#include <string>
#include <thread>

using namespace netcore::bench::hostile;

namespace {

struct options {
  std::string out = "build/bench/results.jsonl";
  std::set<std::string> only;
  bool quick = false;
  double seconds = 10;
};

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--out" && i + 1 < argc) {
      o.out = argv[++i];
    } else if (a == "--seconds" && i + 1 < argc) {
      o.seconds = std::max(1.0, std::atof(argv[++i]));
    } else if (a == "--only" && i + 1 < argc) {
      const std::string list = argv[++i];
      for (std::size_t at = 0; at <= list.size();) {
        auto comma = list.find(',', at);
        if (comma == std::string::npos) comma = list.size();
        o.only.insert(list.substr(at, comma - at));
        at = comma + 1;
      }
    } else if (a == "--quick") {
      o.quick = true;
    } else {
      std::cerr << "usage: netcore_hostile_bench [--out FILE] [--seconds N] [--quick]\n"
                   "                            [--only spill_flood,ping_flood,...]\n";
      std::exit(2);
    }
  }
  if (o.quick && o.seconds == 10) o.seconds = 3;
  return o;
}

/// Appends one result line to the output file and prints it.
void report(std::ofstream& out, const nlohmann::json& j) {
  out << j.dump() << '\n';
  out.flush();
  std::cout << j.dump() << std::endl;
}

void raise_descriptor_limit() {
  rlimit r{};
  ::getrlimit(RLIMIT_NOFILE, &r);
  r.rlim_cur = r.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &r);
}

nlohmann::json run(const pattern& p, std::chrono::milliseconds phase) {
  phase = std::max(phase, p.min_phase);
  echo_server server{p.server};
  std::this_thread::sleep_for(std::chrono::milliseconds{500});  // let it settle
  footprint idle;
  {
    sampler s{server.pid()};
    std::this_thread::sleep_for(phase);
    idle = s.finish();
  }
  sampler s{server.pid()};
  auto a = p.run(server.port(), phase);
  const bool alive_after_attack = server.alive();
  const std::chrono::milliseconds wait{1000};
  if (p.visit_after_close) conclude(a, wait);
  const auto visit = well_behaved(server.port(), 10, std::chrono::milliseconds{10'000});
  const auto loaded = s.finish();
  const auto counts = server.counts();
  conclude(a, wait);
  std::this_thread::sleep_for(std::chrono::milliseconds{300});  // the server hears the ends
  nlohmann::json server_endings = nlohmann::json::object();
  for (auto& [why, n] : server.endings()) server_endings[why] = n;
  const bool survived = alive_after_attack && server.alive();
  const auto exit = server.stop();

  const double rss_bound = 2 * idle.peak_rss_mib + p.limit.rss_mib;
  const std::size_t fd_bound = idle.peak_fds + p.limit.fds;
  const bool rss_met = loaded.peak_rss_mib <= rss_bound;
  const bool fds_met = loaded.peak_fds <= fd_bound;
  nlohmann::json endings = nlohmann::json::object();
  for (auto& [how, n] : a.endings) endings[how] = n;
  return {{"name", "R1"},
          {"value", loaded.peak_rss_mib},
          {"unit", "MiB peak RSS"},
          {"baseline", "idle_server_rss"},
          {"baseline_value", idle.peak_rss_mib},
          {"ratio", loaded.peak_rss_mib / idle.peak_rss_mib},
          {"target", "<= 2x idle + configured bounds"},
          {"met", rss_met && fds_met && survived && visit.ok},
          {"variant", p.name},
          {"pattern", p.name},
          {"description", p.description},
          {"phase_seconds", std::chrono::duration<double>(phase).count()},
          {"rss_bound_mib", rss_bound},
          {"bound_mib", p.limit.rss_mib},
          {"bound_terms", p.limit.rss_terms},
          {"rss_met", rss_met},
          {"idle_fds", idle.peak_fds},
          {"peak_fds", loaded.peak_fds},
          {"fd_bound", fd_bound},
          {"fd_bound_terms", "idle + " + p.limit.fd_terms},
          {"fds_met", fds_met},
          {"samples", loaded.samples},
          {"survived", survived},
          {"server_exit", exit},
          {"client_ok", visit.ok},
          {"client_rtt_us", visit.rtt_us},
          {"client_connect_us", visit.connect_us},
          {"client_error", visit.error},
          {"hostile_connections", a.connections},
          {"attacker_endings", endings},
          {"server_endings", server_endings},
          {"accepted", counts.accepted},
          {"refused", counts.refused},
          {"accept_failures", counts.failures},
          {"server_connections_at_end", counts.connections},
          {"attack", a.detail}};
}

}  // namespace

int main(int argc, char** argv) {
  const auto opt = parse(argc, argv);
  raise_descriptor_limit();
  std::ofstream out{opt.out, std::ios::app};
  if (!out) {
    std::cerr << "cannot write " << opt.out << "\n";
    return 1;
  }
  const auto phase = std::chrono::milliseconds{static_cast<long long>(opt.seconds * 1000)};
  bool all_survived = true;
  for (const auto& p : patterns(opt.quick)) {
    if (!opt.only.empty() && opt.only.count(p.name) == 0) continue;
    std::cerr << "R1 " << p.name << " ...\n";
    const auto j = run(p, phase);
    all_survived = all_survived && j["survived"].get<bool>();
    report(out, j);
  }
  return all_survived ? 0 : 1;
}
