// The original's examples/server.py in C++: two routes answered at once, over TCP on port 8080
// (any number of clients, not just one). Runs until SIGINT or SIGTERM, then drains.
#include <iostream>
#include <netcore/app/payload.hpp>
#include <netcore/app/server.hpp>
#include <netcore/app/stop_signal.hpp>
using namespace netcore;

int main() {
  app::stop_signals stop;  // first: from here on, SIGINT / SIGTERM wait for stop.wait()
  actors::runtime rt;
  app::endpoint ep{rt};
  ep.handle("message1", [](const app::request& r) {
    std::cout << r.route() << ' ' << app::json_of(r) << std::endl;
    return app::json_response({{"status", "processed"}});
  });
  ep.handle("message2", [](const app::request& r) {
    std::cout << r.id() << std::endl;
    return app::json_response({{"status", "processed"}});
  });
  app::server srv{rt, ep};
  if (!srv.listen_tcp("localhost", 8080)) return 1;
  stop.wait();
}
