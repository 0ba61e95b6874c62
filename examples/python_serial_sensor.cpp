// The original README's serial example in C++: answers "sensor_data" over a serial line.
// Usage: python_serial_sensor [DEVICE] (default /dev/ttyUSB0; a pty from socat works too).
#include <netcore/app/endpoint.hpp>
#include <netcore/app/payload.hpp>
using namespace netcore;

int main(int argc, char** argv) {
  actors::runtime rt;
  auto serial = rt.open_serial(argc > 1 ? argv[1] : "/dev/ttyUSB0", {115200});
  if (!serial) return 1;
  app::endpoint ep{rt};
  ep.handle("sensor_data", [](auto&) { return app::json_response({{"status", "OK"}}); });
  ep.serve(*serial);
  serial->wait_closed();
}
