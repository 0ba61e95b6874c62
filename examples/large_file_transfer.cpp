// large_file_transfer: send a file without loading it, receive it into a spill file, watch it go.
//
//  - The sender streams the body from disk: outgoing_message::from_file reads it chunk by chunk.
//  - The receiver keeps bodies above a threshold in a spill file (created with mode 0600 in a
//    directory it chooses) and, on delivery, hands that file over: message_body::path().
//  - Progress of the outgoing message arrives at the sender's event sink as
//    (progress_atom, send_progress), its end as (outcome_atom, send_outcome).

#include <netcore/actors/connection.hpp>
#include <netcore/actors/interfaces.hpp>
#include <netcore/actors/messages.hpp>
#include <netcore/actors/runtime.hpp>
#include <netcore/actors/scheduler_settings.hpp>
#include <netcore/protocol/digest.hpp>

#include <caf/all.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <future>
#include <iterator>
#include <string>

using namespace netcore;
using namespace netcore::actors;

namespace {

constexpr std::size_t file_size = 48u << 20;  // 48 MiB

/// Reads a whole file (to check the result; netcore itself never does this).
protocol::byte_buffer slurp(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  return {std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}

/// Follows outgoing message `id` on `events` (the sender's event sink): a progress line per
/// quarter, until its outcome. True when it was sent in full.
bool follow(caf::scoped_actor& events, std::uint64_t id) {
  bool done = false;
  bool sent = false;
  int next_quarter = 1;
  while (!done) {
    events->receive(
        [&](progress_atom, send_progress& p) {
          if (p.id != id || p.written * 4 < next_quarter * p.total) return;
          std::printf("sender: %3llu %% written (%llu of %llu bytes)\n",
                      static_cast<unsigned long long>(p.written * 100 / p.total),
                      static_cast<unsigned long long>(p.written),
                      static_cast<unsigned long long>(p.total));
          while (next_quarter <= 4 && p.written * 4 >= next_quarter * p.total) ++next_quarter;
        },
        [&](outcome_atom, send_outcome& o) {
          if (o.id != id) return;
          std::printf("sender: outcome %s\n", o.ok() ? "sent in full" : o.error.message().c_str());
          sent = o.ok();
          done = true;
        },
        [&](closed_atom, connection_closed& c) {
          std::printf("sender: connection ended: %s\n", c.reason.message().c_str());
          done = true;
        },
        caf::after(std::chrono::seconds{10}) >> [&] { done = true; });
  }
  return sent;
}

/// Sends `source` from one endpoint to another over loopback TCP; true when it arrived intact.
bool transfer(const std::string& source, const std::string& spill, protocol::digest64 sent_digest) {
  caf::actor_system_config cfg;
  actors::apply(cfg);
  caf::actor_system sys{cfg};
  actors::runtime rt{sys};  // after the actor system, before the connections

  // The receiver: bodies above 1 MiB go to a spill file in `spill` (without a directory of its
  // own, a connection spills into the runtime's private one).
  connection_config receiver_config;
  receiver_config.storage.spill_directory = spill;
  receiver_config.storage.memory_threshold = 1u << 20;

  // Loopback TCP: the receiver listens, the sender connects.
  std::promise<connection> accepted;
  auto server = rt.listen_tcp(
      "127.0.0.1", 0, [&](connection c) { accepted.set_value(std::move(c)); }, receiver_config);
  if (!server) {
    std::printf("listen failed: %s\n", server.error().message().c_str());
    return false;
  }
  auto sender = rt.connect_tcp("127.0.0.1", server->port());
  if (!sender) {
    std::printf("connect failed: %s\n", sender.error().message().c_str());
    return false;
  }
  auto incoming = accepted.get_future();
  if (incoming.wait_for(std::chrono::seconds{10}) != std::future_status::ready) {
    std::printf("nothing accepted\n");
    return false;
  }
  connection receiver = incoming.get();
  server->close();

  // The sender's event sink is this thread (a scoped_actor can receive here).
  caf::scoped_actor events{sys};
  sender->subscribe(caf::actor_cast<event_sink>(events));

  auto id = sender->send(outgoing_message::from_file("files/source.bin", source));
  if (!id) return false;
  const bool sent = follow(events, *id);

  // The receiver gets the message with its body in a file that is now the application's.
  auto m = receiver.receive(std::chrono::seconds{10});
  if (!m || !m->body.is_file()) {
    std::printf("receiver: no spilled message (%s)\n",
                m ? "kept in memory" : m.error().reason.message().c_str());
    return false;
  }
  struct stat info {};
  ::stat(m->body.path().c_str(), &info);
  std::printf("receiver: %s, %llu bytes, handed over as %s (mode %03o)\n", m->meta.route.c_str(),
              static_cast<unsigned long long>(m->body.size()), m->body.path().c_str(),
              info.st_mode & 0777);
  // An application would rename() it into place; here it is checked and deleted.
  bool ok = protocol::xxh3_64(slurp(m->body.path())) == sent_digest;
  std::printf("receiver: contents %s the file sent\n", ok ? "match" : "DO NOT MATCH");
  m->body.remove_file();
  sender->close();
  return sent && ok;
}

}  // namespace

int main() {
  // A scratch directory with the file to send and the receiver's spill directory.
  char dir_template[] = "/tmp/netcore-file-example-XXXXXX";
  if (!::mkdtemp(dir_template)) return 1;
  const std::string dir = dir_template;
  const std::string source = dir + "/source.bin";
  const std::string spill = dir + "/incoming";
  ::mkdir(spill.c_str(), 0700);
  protocol::digest64 sent_digest = 0;
  {
    protocol::byte_buffer body(file_size);
    std::uint64_t x = 88172645463325252ull;  // xorshift64: any non-trivial content will do
    for (auto& b : body) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      b = static_cast<std::uint8_t>(x);
    }
    sent_digest = protocol::xxh3_64(body);
    std::ofstream{source, std::ios::binary}.write(reinterpret_cast<const char*>(body.data()),
                                                  static_cast<std::streamsize>(body.size()));
  }

  bool ok = transfer(source, spill, sent_digest);

  ::unlink(source.c_str());
  ::rmdir(spill.c_str());
  ::rmdir(dir.c_str());
  return ok ? 0 : 1;
}
