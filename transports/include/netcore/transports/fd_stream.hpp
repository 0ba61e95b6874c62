#pragma once

#include <netcore/transports/byte_stream.hpp>

#include <atomic>
#include <memory>
#include <string>

namespace netcore::transports {

/// A byte_stream over a descriptor the caller opened (a socket, a tty, a pipe end): the runtime's
/// event loop polls it, and its blocking read()/write() wait in poll(). Every descriptor
/// transport (TCP, unix sockets, serial lines) is one of these; wrap any other descriptor the
/// same way.
class fd_stream final : public byte_stream {
 public:
  /// How close() wakes blocked calls and how writes avoid SIGPIPE.
  enum class kind {
    socket,  ///< shutdown() wakes blocked calls; sendmsg(MSG_NOSIGNAL) writes
    other,   ///< an eventfd wakes blocked calls; writev() writes (ttys, pipes)
  };

  /// Takes ownership of `fd` and makes it non-blocking. Errors: the OS error (e.g. EMFILE when
  /// no descriptor is left for the eventfd of kind::other).
  static result<std::unique_ptr<fd_stream>> adopt(int fd, kind k, stream_profile profile,
                                                  std::string description);
  ~fd_stream() override;
  fd_stream(const fd_stream&) = delete;
  fd_stream& operator=(const fd_stream&) = delete;

  std::error_code write(const io_slice* slices, std::size_t count) override;
  result<std::size_t> try_write(const io_slice* slices, std::size_t count) override;
  result<std::size_t> read(std::uint8_t* buf, std::size_t max) override;
  result<std::size_t> try_read(std::uint8_t* buf, std::size_t max) override;
  int native_handle() const noexcept override { return fd_; }
  bool shutdown_write() noexcept override;
  void close() noexcept override;
  stream_profile profile() const override { return profile_; }
  std::string describe() const override { return description_; }

 private:
  fd_stream(int fd, int wake_fd, kind k, stream_profile profile, std::string description);
  /// Waits until the descriptor is ready for `events` or close() was called.
  std::error_code wait(short events);

  int fd_;
  int wake_fd_;  // kind::other: an eventfd that close() makes readable
  kind kind_;
  stream_profile profile_;
  std::string description_;
  std::atomic<bool> closed_{false};
};

}  // namespace netcore::transports
