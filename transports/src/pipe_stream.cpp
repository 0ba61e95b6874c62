#include <netcore/transports/pipe_stream.hpp>

#include <utility>

namespace netcore::transports {

namespace {

class pipe_stream final : public byte_stream {
 public:
  pipe_stream(pipe_functions fns, stream_profile profile)
      : fns_(std::move(fns)), profile_(profile) {}

  std::error_code write(const io_slice* slices, std::size_t count) override {
    for (std::size_t i = 0; i < count; ++i) {
      auto* data = static_cast<const std::uint8_t*>(slices[i].data);
      std::size_t left = slices[i].size;
      while (left > 0) {
        if (closed_.load(std::memory_order_acquire)) return transport_errc::closed;
        const long n = fns_.send(data, left);
        if (n < 0 || static_cast<unsigned long>(n) > left) {
          // A failure caused by close() (which unblocks a pending send) is the close.
          return closed_.load(std::memory_order_acquire) ? transport_errc::closed
                                                         : transport_errc::end_of_stream;
        }
        data += n;
        left -= static_cast<std::size_t>(n);
      }
    }
    return {};
  }

  result<std::size_t> read(std::uint8_t* buf, std::size_t max) override {
    if (closed_.load(std::memory_order_acquire)) return std::error_code{transport_errc::closed};
    if (max == 0) return std::size_t{0};
    const long n = fns_.recv(buf, max);
    if (n <= 0 || static_cast<unsigned long>(n) > max) {
      if (closed_.load(std::memory_order_acquire)) return std::error_code{transport_errc::closed};
      return std::error_code{transport_errc::end_of_stream};
    }
    return static_cast<std::size_t>(n);
  }

  void close() noexcept override {
    if (closed_.exchange(true, std::memory_order_acq_rel)) return;
    try {
      fns_.close();
    } catch (...) {
      // close() is noexcept: a throwing user callback must not escape.
    }
  }

  stream_profile profile() const override { return profile_; }
  std::string describe() const override { return "pipe"; }

 private:
  pipe_functions fns_;
  stream_profile profile_;
  std::atomic<bool> closed_{false};
};

}  // namespace

result<std::unique_ptr<byte_stream>> make_pipe_stream(pipe_functions fns, stream_profile profile) {
  if (!fns.send || !fns.recv || !fns.close)
    return std::error_code{transport_errc::invalid_argument};
  return std::unique_ptr<byte_stream>(std::make_unique<pipe_stream>(std::move(fns), profile));
}

}  // namespace netcore::transports
