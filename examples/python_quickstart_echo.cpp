// The original's quick start in C++: an endpoint over a transport made of two plain functions
// (here the process's stdin and stdout: run two of them joined by pipes, or over a serial line
// with socat). Answers "echo" with what it was sent; ends when the other side closes.
#include <netcore/app/endpoint.hpp>
#include <unistd.h>
using namespace netcore;

int main() {
  actors::runtime rt;
  auto conn = rt.open_pipe(
      {[](const std::uint8_t* data, std::size_t n) { return ::write(1, data, n); },
       [](std::uint8_t* buf, std::size_t max) { return ::read(0, buf, max); }, [] { ::close(0); }});
  if (!conn) return 1;
  app::endpoint ep{rt};
  ep.handle("echo", [](const app::request& r) { return app::response::text(r.text()); });
  ep.serve(*conn);
  conn->wait_closed();
}
