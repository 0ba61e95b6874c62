// The two actors at the blocking-I/O boundary, each on its own thread: the writer performs one
// vectored write per batch; the reader reads into reused buffers and hands them to the receiver,
// never more than `in_flight` at a time (a byte-bounded gate: the receiver's replies reopen it).

#include <netcore/actors/messages.hpp>
#include <netcore/actors/runtime.hpp>
#include <netcore/transports/byte_stream.hpp>

#include <caf/all.hpp>

#include <vector>

namespace netcore::actors {

namespace {

using protocol::errc;

caf::behavior writer_impl(caf::event_based_actor* self,
                          std::shared_ptr<transports::byte_stream> stream) {
  return {
      [self, stream](write_atom, write_job_ptr& job) -> caf::result<written_atom, errc> {
        const auto& all = job->frames.slices();
        const auto* slices = all.data();
        auto count = all.size();
        std::vector<protocol::io_slice> rest;
        if (job->skip > 0) {
          // Resume where the link's inline write stopped.
          std::size_t skip = job->skip;
          for (std::size_t i = 0; i < all.size(); ++i) {
            if (skip >= all[i].size) {
              skip -= all[i].size;
              continue;
            }
            auto p = static_cast<const std::uint8_t*>(all[i].data) + skip;
            rest.push_back({p, all[i].size - skip});
            skip = 0;
          }
          slices = rest.data();
          count = rest.size();
        }
        auto e = stream->write(slices, count);
        if (e != errc::ok) self->quit();
        return {written_atom::value, e};
      },
  };
}

struct reader_state {
  std::shared_ptr<transports::byte_stream> stream;
  caf::actor receiver;
  std::size_t read_size = 0;
  std::size_t in_flight_limit = 0;
  std::size_t in_flight = 0;
  bool reading = false;  // a read_atom is queued
  std::vector<read_buffer> pool;
  static inline const char* name = "netcore.reader";
};

using reader_actor = caf::stateful_actor<reader_state>;

void keep_reading(reader_actor* self) {
  auto& st = self->state;
  if (st.reading || st.in_flight >= st.in_flight_limit) return;
  st.reading = true;
  self->send(self, read_atom::value);
}

caf::behavior reader_impl(reader_actor* self, std::shared_ptr<transports::byte_stream> stream,
                          caf::actor receiver, std::size_t read_size, std::size_t in_flight) {
  auto& st = self->state;
  st.stream = std::move(stream);
  st.receiver = std::move(receiver);
  st.read_size = read_size;
  st.in_flight_limit = std::max<std::size_t>(in_flight, 1);
  keep_reading(self);
  return {
      [self](read_atom) {
        auto& st = self->state;
        st.reading = false;
        read_buffer rb;
        if (!st.pool.empty()) {
          rb = std::move(st.pool.back());
          st.pool.pop_back();
        } else {
          rb.bytes = std::make_shared<protocol::byte_buffer>(st.read_size);
        }
        auto n = st.stream->read(rb.bytes->data(), rb.bytes->size());
        if (!n) {
          self->send(st.receiver, fail_atom::value, n.error());
          self->quit();
          return;
        }
        rb.size = *n;
        ++st.in_flight;
        self->request(st.receiver, caf::infinite, bytes_atom::value, std::move(rb))
            .then(
                [self](read_buffer& back) {
                  auto& st = self->state;
                  --st.in_flight;
                  back.size = 0;
                  st.pool.push_back(std::move(back));
                  keep_reading(self);
                },
                [self](caf::error&) { self->quit(); });
        keep_reading(self);
      },
  };
}

}  // namespace

caf::actor spawn_writer(caf::actor_system& sys, std::shared_ptr<transports::byte_stream> stream) {
  return sys.spawn<caf::detached>(writer_impl, std::move(stream));
}

caf::actor spawn_reader(caf::actor_system& sys, std::shared_ptr<transports::byte_stream> stream,
                        caf::actor receiver, std::size_t read_size, std::size_t in_flight) {
  return sys.spawn<caf::detached>(reader_impl, std::move(stream), std::move(receiver), read_size,
                                  in_flight);
}

}  // namespace netcore::actors
