// The original's examples/client.py in C++: connects to localhost:8080 (waiting for the server
// to come up, within the call's deadline), calls "message1" and prints the answer.
#include <iostream>
#include <netcore/app/client.hpp>
#include <netcore/app/payload.hpp>
using namespace netcore;

int main() {
  actors::runtime rt;
  app::endpoint ep{rt};
  app::client cl{rt, ep, app::tcp_connector(rt, "localhost", 8080)};
  auto reply =
      cl.call(app::json_message("message1", {{"data", "hello"}}), std::chrono::seconds{10}).get();
  if (!reply.ok()) return std::cerr << to_string(reply.code) << ": " << reply.reason << '\n', 1;
  std::cout << "status: " << app::json_of(reply)->at("status") << '\n';
}
