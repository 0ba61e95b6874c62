// The wire of a stream whose reads block (a user's send/recv pair, an in-memory pair): a reader
// and a writer thread of its own, the one exception to the shared event loop. The reader hands
// filled buffers over, never more than reads_in_flight at once (the byte-bounded gate at the
// blocking boundary); the writer performs one vectored write per batch.

#include "connection_actor.hpp"

#include <netcore/actors/errors.hpp>

#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

namespace netcore::actors::detail {

namespace {

writer_actor::behavior_type writer_impl(writer_actor::pointer,
                                        std::shared_ptr<transports::byte_stream> stream) {
  return {
      [stream](write_atom, write_job& job) -> caf::result<written_atom> {
        if (auto e = stream->write(job.slices.data(), job.slices.size())) return to_caf_error(e);
        return written_atom::value;
      },
  };
}

struct reader_state {
  std::shared_ptr<transports::byte_stream> stream;
  connection_impl_actor target;
  std::size_t read_size = 0;
  std::size_t in_flight_limit = 1;
  std::size_t in_flight = 0;
  bool reading = false;  // a read_atom is queued
  std::vector<read_buffer> pool;
};

using reader_impl_actor = reader_actor::stateful_pointer<reader_state>;

void keep_reading(reader_impl_actor self) {
  auto& st = self->state;
  if (st.reading || st.in_flight >= st.in_flight_limit) return;
  st.reading = true;
  self->send(self, read_atom::value);
}

reader_actor::behavior_type reader_impl(reader_impl_actor self,
                                        std::shared_ptr<transports::byte_stream> stream,
                                        connection_impl_actor target, std::size_t read_size,
                                        std::size_t in_flight) {
  auto& st = self->state;
  st.stream = std::move(stream);
  st.target = std::move(target);
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
          self->send(st.target, ended_atom::value, to_caf_error(n.error()));
          self->quit();
          return;
        }
        rb.size = *n;
        ++st.in_flight;
        self->request(st.target, caf::infinite, bytes_atom::value, std::move(rb))
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

class threaded_wire final : public wire {
 public:
  explicit threaded_wire(connection_impl& self) : self_(self) {
    auto& p = self.st().params;
    if (p.test_writer)
      writer_ = p.test_writer;
    else
      writer_ = self.system().spawn<caf::detached>(writer_impl, p.stream);
  }

  void start() override {
    auto& p = self_.st().params;
    if (!p.stream) return;  // tests feed bytes themselves
    const auto read_size = p.config.read_size;
    reader_ = self_.system().spawn<caf::detached>(reader_impl, p.stream, self_.handle(), read_size,
                                                  p.config.reads_in_flight);
  }

  void flush() override {
    auto& s = self_.st();
    while (!broken_ && in_flight_ < s.params.config.writes_in_flight) {
      if (!s.core.wants_write()) return;
      const auto& slices = s.core.next_batch();
      if (slices.empty()) return;
      write_job job;
      job.slices = slices;
      job.owner = s.core.last_batch_owner();  // alive until the writer is done with it
      for (const auto& sl : slices) job.size += sl.size;
      ++in_flight_;
      const auto size = job.size;
      self_.request(writer_, caf::infinite, write_atom::value, std::move(job))
          .then(
              [this, size](written_atom) {
                --in_flight_;
                self_.st().core.on_written(size, self_.now());
                self_.pump();
              },
              [this](caf::error& e) {
                --in_flight_;
                broken_ = true;
                self_.transport_failed(to_error_code(e));
              });
    }
  }

  bool idle() const override { return in_flight_ == 0; }

  bool ready() const override {
    return !broken_ && in_flight_ < self_.st().params.config.writes_in_flight;
  }

  bool finish() override { return false; }

  void close() override {
    broken_ = true;
    auto& p = self_.st().params;
    if (p.stream) p.stream->close();  // unblocks the reader and the writer
    if (reader_) caf::anon_send_exit(reader_, caf::exit_reason::user_shutdown);
    if (!p.test_writer) caf::anon_send_exit(writer_, caf::exit_reason::user_shutdown);
  }

 private:
  connection_impl& self_;
  writer_actor writer_;
  reader_actor reader_;
  std::size_t in_flight_ = 0;
  bool broken_ = false;
};

}  // namespace

std::unique_ptr<wire> make_threaded_wire(connection_impl& self) {
  return std::make_unique<threaded_wire>(self);
}

}  // namespace netcore::actors::detail
