// netcore_demo: what netcore is for, in one run.
//
// Two endpoints, A and B, in one process, joined by ONE loopback TCP connection: B listens with
// runtime::listen_tcp, A connects with runtime::connect_tcp. Over it, at the same time and in
// both directions (sizes at --scale 1):
//
//   A -> B  files/upload.bin   512 MiB streamed from a file (outgoing_message::from_file)
//   B -> A  bulk/backup        256 MiB from memory
//   A -> B  bulk/dataset       512 MiB from memory
//   B -> A  bulk/abandoned     256 MiB from memory, cancelled at 40 % with connection::cancel
//   A -> B  files/missing.bin  a file that does not exist: fails at once with the OS error
//                              (std::errc::no_such_file_or_directory)
//   A -> B  files/huge.bin       1 GiB (a sparse file), above B's limits.max_message_size:
//                              refused with protocol::errc::message_too_large before it is sent
//   A -> B  bulk/late           64 MiB from memory, queued last, behind 1 GiB going the same way
//   A -> B  rpc/echo           a stream of small requests from a second thread, at priority 200;
//                              B answers each one (rpc/echo-reply, priority 200)
//
// Each message is cut into chunks that the connection time-slices fairly, so the late message
// does not wait for the others to finish, and the small requests overtake the bulk data thanks to
// their priority, so their round trip stays short. Each side keeps large incoming bodies in spill
// files and hands the file over on delivery; the receiver then checks every body byte for byte
// against the deterministic generator the sender used (and its XXH3 digest against the sender's),
// removes the file, and reports. The terminal shows live progress per message (sender side: bytes
// written to the connection), then a summary. Errors are std::error_codes throughout: each failed
// message says why in its own outcome, and the connection carries on.
//
// Exit code 0 only when every check passed. --scale multiplies the bulk sizes.

#include <netcore/actors/connection.hpp>
#include <netcore/actors/interfaces.hpp>
#include <netcore/actors/messages.hpp>
#include <netcore/actors/runtime.hpp>
#include <netcore/actors/scheduler_settings.hpp>
#include <netcore/protocol/digest.hpp>
#include <netcore/protocol/error.hpp>
#include <netcore/transports/tcp_stream.hpp>

#include <CLI/CLI.hpp>
#include <caf/all.hpp>

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <condition_variable>
#include <csignal>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

namespace demo {

using namespace netcore;
using namespace netcore::actors;
using protocol::errc;
using steady = std::chrono::steady_clock;

constexpr std::uint64_t MiB = std::uint64_t{1} << 20;
constexpr std::uint8_t bulk_priority = 0;
constexpr std::uint8_t rpc_priority = 200;
constexpr std::size_t rpc_body_size = 128;
constexpr int idle_round_trips = 200;

const char* side_name(int side) {
  return side == 0 ? "A" : "B";
}
const char* arrow(int from) {
  return from == 0 ? "A→B" : "B→A";
}

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(steady::now().time_since_epoch())
      .count();
}

// -- the deterministic body generator -------------------------------------------------------------
// Byte k of a body is byte k % 8 (little-endian) of word k / 8, and word i is a splitmix64 hash of
// seed + i: any part of a body can be regenerated on its own, so the receiver can check a spill
// file block by block without the sender's memory.

std::uint64_t pattern_word(std::uint64_t seed, std::uint64_t index) {
  std::uint64_t z = seed + (index + 1) * 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

void fill_pattern(std::uint64_t seed, std::uint64_t offset, std::uint8_t* out, std::size_t n) {
  std::uint64_t index = offset / 8;
  std::size_t skip = static_cast<std::size_t>(offset % 8);
  while (n > 0) {
    std::uint8_t word[8];
    protocol::store_le(word, pattern_word(seed, index++), 8);
    std::size_t take = std::min<std::size_t>(8 - skip, n);
    std::memcpy(out, word + skip, take);
    out += take;
    n -= take;
    skip = 0;
  }
}

protocol::byte_buffer make_body(std::uint64_t seed, std::uint64_t size,
                                protocol::digest64& digest) {
  protocol::byte_buffer body(size);
  fill_pattern(seed, 0, body.data(), body.size());
  digest = protocol::xxh3_64(body);
  return body;
}

/// Writes a generated body of `size` bytes to a new file at `path`; false on failure.
bool write_pattern_file(const std::string& path, std::uint64_t seed, std::uint64_t size,
                        protocol::digest64& digest) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  protocol::digest_state d;
  protocol::byte_buffer block(4 * MiB);
  bool ok = true;
  for (std::uint64_t off = 0; off < size && ok;) {
    auto n = static_cast<std::size_t>(std::min<std::uint64_t>(block.size(), size - off));
    fill_pattern(seed, off, block.data(), n);
    d.update(protocol::byte_view{block.data(), n});
    for (std::size_t done = 0; done < n;) {
      auto w = ::write(fd, block.data() + done, n - done);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) {
        ok = false;
        break;
      }
      done += static_cast<std::size_t>(w);
    }
    off += n;
  }
  ok = ::close(fd) == 0 && ok;
  digest = d.finish();
  return ok;
}

std::string hex64(std::uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016" PRIx64, v);
  return buf;
}

// -- formatting -----------------------------------------------------------------------------------

std::string format(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
std::string format(const char* fmt, ...) {
  char buf[512];
  va_list args;
  va_start(args, fmt);
  std::vsnprintf(buf, sizeof buf, fmt, args);
  va_end(args);
  return buf;
}

std::string fmt_size(double bytes) {
  if (bytes >= 1024.0 * MiB) return format("%.2f GiB", bytes / (1024.0 * MiB));
  if (bytes >= MiB) return format("%.1f MiB", bytes / MiB);
  if (bytes >= 1024) return format("%.1f KiB", bytes / 1024);
  return format("%.0f B", bytes);
}

std::string fmt_rate(double bytes_per_s) {
  if (bytes_per_s >= 1024.0 * MiB) return format("%.2f GiB/s", bytes_per_s / (1024.0 * MiB));
  return format("%.0f MiB/s", bytes_per_s / MiB);
}

std::string fmt_us(double us) {
  if (us >= 1e6) return format("%.2f s", us / 1e6);
  if (us >= 1e3) return format("%.2f ms", us / 1e3);
  return format("%.0f µs", us);
}

std::string fmt_secs(double s) {
  return format("%.2f s", s);
}

/// Colours, or nothing with --no-color (or when NO_COLOR is set, or output is not a terminal).
struct palette {
  bool on = false;
  std::string wrap(const char* code, const std::string& s) const {
    return on ? std::string{"\033["} + code + "m" + s + "\033[0m" : s;
  }
  std::string green(const std::string& s) const { return wrap("32", s); }
  std::string red(const std::string& s) const { return wrap("31", s); }
  std::string yellow(const std::string& s) const { return wrap("33", s); }
  std::string cyan(const std::string& s) const { return wrap("36", s); }
  std::string bold(const std::string& s) const { return wrap("1", s); }
  std::string dim(const std::string& s) const { return wrap("2", s); }
};

/// Pads `s` with spaces to `width` terminal columns (counts UTF-8 code points, not bytes).
std::string pad(std::string s, std::size_t width) {
  std::size_t cols = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++cols;
  if (cols < width) s.append(width - cols, ' ');
  return s;
}

double percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  auto i = static_cast<std::size_t>(q * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

// -- shared between the request thread, the delivery actors and the dashboard ---------------------

/// Round trips of the small requests. The request thread waits here for each answer.
struct rpc_tracker {
  std::mutex mtx;
  std::condition_variable cv;
  std::uint64_t answered_seq = 0;
  std::vector<double> idle_us;    // before any bulk transfer started
  std::vector<double> loaded_us;  // sent and answered while bulk data was on the wire
  std::uint64_t other = 0;        // round trips around the start or end of the bulk phase
  std::uint64_t bad_answers = 0;  // an echo that did not match its request
  std::uint64_t lost = 0;         // no answer within the time limit

  void answered(std::uint64_t seq, double us, int phase, bool intact) {
    {
      std::lock_guard<std::mutex> guard{mtx};
      if (!intact) ++bad_answers;
      if (phase == 0)
        idle_us.push_back(us);
      else if (phase == 1)
        loaded_us.push_back(us);
      else
        ++other;
      answered_seq = std::max(answered_seq, seq);
    }
    cv.notify_all();
  }
};

struct shared_context {
  rpc_tracker rpc;
  /// Bulk messages still on the wire (registered, not yet received or failed at the receiver).
  std::atomic<int> bulk_on_wire{0};
  /// Set once the first bulk message is queued.
  std::atomic<bool> bulk_started{false};
};

// -- messages between the demo's actors -----------------------------------------------------------

/// What kind of end a transfer is meant to have.
enum class expect {
  delivered,     // arrives intact
  cancelled,     // cancelled by its sender while under way
  missing_file,  // from_file on a path that does not exist: the OS error, nothing sent
  too_large,     // above the peer's limits.max_message_size: refused before it is sent
};

/// True for transfers that are refused at the sender and never reach the receiver.
bool refused(expect e) {
  return e == expect::missing_file || e == expect::too_large;
}

/// A bulk message, registered with the dashboard right after it was queued.
struct transfer_spec {
  int from = 0;  // 0 = A, 1 = B
  std::uint64_t id = 0;
  std::string route;
  std::uint64_t size = 0;
  bool from_file = false;
  expect expected = expect::delivered;
  /// Cancel the message once this fraction of it was written (0 = never).
  double cancel_at = 0;
  std::function<void(std::uint64_t)> cancel;
  steady::time_point queued;
};

/// The receiver's verdict on one delivered bulk message.
struct verify_report {
  int from = 0;
  std::uint64_t id = 0;
  std::string route;
  std::uint64_t size = 0;
  bool identical = false;       // every byte equals the generator's
  bool digest_matches = false;  // XXH3 of the received bytes equals the sender's
  protocol::digest64 digest = 0;
  bool was_file = false;
  std::string spill_path;
  unsigned mode = 0;
  bool removed = false;
  double seconds = 0;  // time the check took
  std::string problem;
};

/// Everything the dashboard knows about one transfer.
struct transfer_state {
  transfer_spec spec;
  bool registered = false;
  std::uint64_t written = 0;
  bool outcome_known = false;
  std::error_code outcome;  // empty: written in full
  std::optional<steady::time_point> sent_at;
  std::optional<steady::time_point> received_at;
  bool receiver_failed = false;
  std::error_code receiver_error;
  bool verified = false;
  verify_report report;
  bool cancel_requested = false;
  double cancelled_at = 0;  // fraction written when cancel() was called
  bool off_wire = false;
};

/// The dashboard's final picture, handed to main for the summary.
struct summary {
  std::vector<transfer_state> transfers;
  std::error_code closed[2];  // empty: a clean close
  bool closed_known[2] = {false, false};
  steady::time_point bulk_start;
  steady::time_point bulk_end;
  bool complete = false;
};
using summary_ptr = std::shared_ptr<const summary>;

using register_atom = caf::atom_constant<caf::atom("demo_reg")>;
using arrived_atom = caf::atom_constant<caf::atom("demo_arr")>;
using rfailed_atom = caf::atom_constant<caf::atom("demo_rfail")>;
using verified_atom = caf::atom_constant<caf::atom("demo_ver")>;
using redraw_atom = caf::atom_constant<caf::atom("demo_draw")>;
using wait_atom = caf::atom_constant<caf::atom("demo_wait")>;
using stop_atom = caf::atom_constant<caf::atom("demo_stop")>;

}  // namespace demo

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(demo::transfer_spec)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(demo::verify_report)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(demo::summary_ptr)

namespace demo {

// -- the dashboard: the events of both connections in, live progress out --------------------------

struct display_options {
  bool quiet = false;
  bool tty = false;
  palette colors;
};

struct dashboard_state {
  display_options display;
  std::shared_ptr<shared_context> ctx;
  std::map<std::pair<int, std::uint64_t>, transfer_state> transfers;
  std::vector<std::pair<int, std::uint64_t>> order;  // registration order
  /// Failures reported before their message was registered (a refusal is reported at once,
  /// possibly before main has registered the id that send() returned).
  std::map<std::pair<int, std::uint64_t>, std::error_code> early_failures;
  std::error_code closed[2];
  bool closed_known[2] = {false, false};
  std::optional<steady::time_point> bulk_start;
  std::optional<steady::time_point> bulk_end;
  std::vector<caf::response_promise> waiters;
  std::size_t expected = SIZE_MAX;  // transfers main will register
  std::size_t lines_drawn = 0;
  steady::time_point last_plain;
  bool stopped = false;
  static inline const char* name = "demo.dashboard";
};

using dashboard_actor = caf::stateful_actor<dashboard_state>;

/// True when `ec` is the error the sender of `s` is meant to see.
bool expected_error(const transfer_spec& s, std::error_code ec) {
  switch (s.expected) {
  case expect::cancelled:
    return ec == errc::cancelled;
  case expect::missing_file:
    return ec == std::errc::no_such_file_or_directory;  // the OS error itself (ENOENT)
  case expect::too_large:
    return ec == errc::message_too_large;
  case expect::delivered:
    return false;
  }
  return false;
}

/// True when `t` has reached the end it will have.
bool finished(const transfer_state& t) {
  if (!t.registered) return false;
  switch (t.spec.expected) {
  case expect::missing_file:
  case expect::too_large:
    return t.outcome_known;
  case expect::cancelled:
    // The receiver must have seen the cancel (or, had the sender finished first, the message).
    return t.outcome_known && (t.receiver_failed || t.verified);
  case expect::delivered:
    return t.verified || t.receiver_failed || (t.outcome_known && t.outcome);
  }
  return false;
}

bool all_finished(const dashboard_state& st, std::size_t expected) {
  if (st.order.size() < expected) return false;
  for (auto& key : st.order)
    if (!finished(st.transfers.at(key))) return false;
  return true;
}

/// Counts a transfer off the wire once its receiver has it (or it ended otherwise).
void mark_off_wire(dashboard_state& st, transfer_state& t) {
  if (t.off_wire || !t.registered || refused(t.spec.expected)) return;
  t.off_wire = true;
  if (st.ctx->bulk_on_wire.fetch_sub(1) == 1) st.bulk_end = steady::now();
}

std::string status_of(const transfer_state& t, const palette& c) {
  if (t.verified) {
    const auto& r = t.report;
    bool good = r.identical && r.digest_matches && t.spec.expected == expect::delivered;
    return good ? c.green("verified ✓") : c.red("CHECK FAILED ✗");
  }
  if (t.receiver_failed) {
    auto text = t.receiver_error.message();
    return t.spec.expected == expect::cancelled && t.receiver_error == errc::cancelled
               ? c.green(text + " ✓")
               : c.red(text + " ✗");
  }
  if (t.outcome_known && t.outcome) {
    if (t.spec.expected == expect::cancelled && t.outcome == errc::cancelled)
      return c.yellow("cancelling…");
    auto text = t.outcome.message();
    return expected_error(t.spec, t.outcome) ? c.green(text + " ✓") : c.red(text + " ✗");
  }
  if (t.received_at) return c.yellow("checking…");
  if (t.outcome_known) return c.yellow("delivering…");
  if (t.written > 0) return "sending";
  return c.dim("queued");
}

/// Cuts `line` to `cols` terminal columns (escape sequences take none), so that no line wraps
/// and the cursor arithmetic of the redraw holds.
std::string fit(const std::string& line, std::size_t cols, bool colors) {
  std::string out;
  std::size_t used = 0;
  for (std::size_t i = 0; i < line.size();) {
    if (line[i] == '\033') {
      auto end = line.find('m', i);
      if (end == std::string::npos) break;
      out.append(line, i, end + 1 - i);
      i = end + 1;
      continue;
    }
    std::size_t len = 1;
    auto lead = static_cast<unsigned char>(line[i]);
    if (lead >= 0xF0)
      len = 4;
    else if (lead >= 0xE0)
      len = 3;
    else if (lead >= 0xC0)
      len = 2;
    if (used + 1 > cols) {
      if (colors) out += "\033[0m";
      break;
    }
    out.append(line, i, len);
    ++used;
    i += len;
  }
  return out;
}

std::vector<std::string> render(dashboard_state& st) {
  const auto& c = st.display.colors;
  std::size_t cols = 100;
  winsize ws{};
  if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) cols = ws.ws_col;
  // Fixed columns take about 70; the bar gets the rest, within limits.
  std::size_t bar = std::clamp<std::size_t>(cols > 72 ? cols - 72 : 8, 8, 32);
  auto now = steady::now();
  double elapsed =
      st.bulk_start
          ? std::chrono::duration<double>(st.bulk_end.value_or(now) - *st.bulk_start).count()
          : 0.0;
  std::vector<std::string> lines;
  std::uint64_t dir_bytes[2] = {0, 0};
  for (auto& key : st.order) dir_bytes[key.first] += st.transfers[key].written;
  auto dir_rate = [&](int d) {
    return fmt_rate(static_cast<double>(dir_bytes[d]) / std::max(elapsed, 1e-3));
  };
  lines.push_back(c.bold(format(" one TCP connection  %5.1f s", elapsed)) + "   A→B " +
                  dir_rate(0) + "   B→A " + dir_rate(1));
  for (auto& key : st.order) {
    auto& t = st.transfers[key];
    double frac =
        t.spec.size ? static_cast<double>(t.written) / static_cast<double>(t.spec.size) : 0;
    frac = std::clamp(frac, 0.0, 1.0);
    std::string line = "  " + c.cyan(arrow(t.spec.from)) + " " + pad(t.spec.route, 18) +
                       pad(t.spec.size ? fmt_size(static_cast<double>(t.spec.size)) : "-", 10);
    if (st.display.tty) {
      // Eighth blocks give the bar sub-character resolution.
      static const char* parts[] = {"", "▏", "▎", "▍", "▌", "▋", "▊", "▉"};
      auto eighths = static_cast<std::size_t>(frac * static_cast<double>(bar) * 8);
      std::string b;
      for (std::size_t i = 0; i < eighths / 8; ++i) b += "█";
      if (eighths / 8 < bar) {
        b += parts[eighths % 8];
        b += std::string(bar - eighths / 8 - (eighths % 8 ? 1 : 0), ' ');
      }
      line += c.dim("▕") + b + c.dim("▏");
    } else {
      auto full = static_cast<std::size_t>(frac * static_cast<double>(bar));
      line += "[" + std::string(full, '#') + std::string(bar - full, '.') + "]";
    }
    line += format(" %5.1f%% ", frac * 100);
    if (t.written > 0 && t.written < t.spec.size && !t.cancel_requested) {
      double secs = std::chrono::duration<double>(now - t.spec.queued).count();
      line += pad(fmt_rate(static_cast<double>(t.written) / std::max(secs, 1e-3)), 10);
    } else {
      line += std::string(10, ' ');
    }
    line += status_of(t, c);
    lines.push_back(line);
  }
  std::vector<double> loaded;
  std::size_t idle_n = 0;
  double idle_p50 = 0;
  {
    std::lock_guard<std::mutex> guard{st.ctx->rpc.mtx};
    loaded = st.ctx->rpc.loaded_us;
    idle_n = st.ctx->rpc.idle_us.size();
    idle_p50 = percentile(st.ctx->rpc.idle_us, 0.5);
  }
  std::string rpc = "  " + c.cyan("A⇄B") + " " + pad("rpc/echo", 18);
  if (loaded.empty())
    rpc += format("%zu round trips, idle p50 %s", idle_n, fmt_us(idle_p50).c_str());
  else
    rpc +=
        format("%zu round trips under load, p50 %s  p99 %s", loaded.size(),
               fmt_us(percentile(loaded, 0.5)).c_str(), fmt_us(percentile(loaded, 0.99)).c_str());
  lines.push_back(rpc);
  if (st.display.tty)
    for (auto& l : lines) l = fit(l, cols - 1, c.on);
  return lines;
}

void draw(dashboard_actor* self, bool final) {
  auto& st = self->state;
  if (st.display.quiet || st.order.empty()) return;
  auto lines = render(st);
  if (st.display.tty) {
    std::string out;
    if (st.lines_drawn > 0) out += format("\033[%zuA", st.lines_drawn);
    for (auto& l : lines) out += "\r\033[2K" + l + "\n";
    std::fputs(out.c_str(), stdout);
    std::fflush(stdout);
    st.lines_drawn = lines.size();
    return;
  }
  // Not a terminal: a compact line every two seconds, and the full table at the end.
  auto now = steady::now();
  if (final) {
    for (auto& l : lines) std::printf("%s\n", l.c_str());
  } else if (now - st.last_plain >= std::chrono::seconds{2}) {
    st.last_plain = now;
    double elapsed =
        st.bulk_start ? std::chrono::duration<double>(now - *st.bulk_start).count() : 0;
    std::string line = format("[%5.1f s]", elapsed);
    for (auto& key : st.order) {
      auto& t = st.transfers[key];
      line += format(" %s %.0f%%", t.spec.route.c_str(),
                     t.spec.size
                         ? 100.0 * static_cast<double>(t.written) / static_cast<double>(t.spec.size)
                         : 0.0);
      if (finished(t)) line += " (done)";
      line += ";";
    }
    std::lock_guard<std::mutex> guard{st.ctx->rpc.mtx};
    line +=
        format(" rpc %zu round trips", st.ctx->rpc.idle_us.size() + st.ctx->rpc.loaded_us.size());
    std::printf("%s\n", line.c_str());
  }
  std::fflush(stdout);
}

summary_ptr snapshot(dashboard_state& st, bool complete) {
  auto s = std::make_shared<summary>();
  for (auto& key : st.order) s->transfers.push_back(st.transfers[key]);
  for (int i = 0; i < 2; ++i) {
    s->closed[i] = st.closed[i];
    s->closed_known[i] = st.closed_known[i];
  }
  s->bulk_start = st.bulk_start.value_or(steady::now());
  s->bulk_end = st.bulk_end.value_or(steady::now());
  s->complete = complete;
  return s;
}

/// Records the outcome of transfer `t`.
void set_outcome(dashboard_state& st, transfer_state& t, std::error_code error) {
  t.outcome_known = true;
  t.outcome = error;
  if (!error) {
    t.sent_at = steady::now();
    t.written = t.spec.size;
  } else if (error != errc::cancelled) {
    mark_off_wire(st, t);  // it never reaches the receiver
  }
}

void check_done(dashboard_actor* self) {
  auto& st = self->state;
  if (st.waiters.empty() || !all_finished(st, st.expected)) return;
  auto s = snapshot(st, true);
  for (auto& w : st.waiters) w.deliver(s);
  st.waiters.clear();
}

caf::behavior dashboard(dashboard_actor* self, display_options display,
                        std::shared_ptr<shared_context> ctx) {
  auto& st = self->state;
  st.display = display;
  st.ctx = std::move(ctx);
  self->send(self, redraw_atom::value);
  auto entry = [self](int side, std::uint64_t id) -> transfer_state& {
    return self->state.transfers[{side, id}];
  };
  auto known = [self](int side, std::uint64_t id) {
    return self->state.transfers.count({side, id}) != 0;
  };
  return {
      [=](register_atom, transfer_spec& spec) {
        auto& st = self->state;
        auto& t = entry(spec.from, spec.id);
        t.spec = std::move(spec);
        t.registered = true;
        st.order.emplace_back(t.spec.from, t.spec.id);
        if (!st.bulk_start || t.spec.queued < *st.bulk_start) st.bulk_start = t.spec.queued;
        if (auto early = st.early_failures.find(st.order.back());
            early != st.early_failures.end()) {
          set_outcome(st, t, early->second);
          st.early_failures.erase(early);
        }
        check_done(self);
      },
      // -- from the event sinks of the two connections (sender side) --
      [=](progress_atom, int side, send_progress& p) {
        if (!known(side, p.id)) return;  // a small message: not on the board
        auto& t = entry(side, p.id);
        t.written = std::max(t.written, p.written);
        if (t.spec.cancel_at > 0 && !t.cancel_requested && t.spec.cancel &&
            static_cast<double>(t.written) >= t.spec.cancel_at * static_cast<double>(t.spec.size)) {
          t.cancel_requested = true;
          t.cancelled_at = static_cast<double>(t.written) / static_cast<double>(t.spec.size);
          t.spec.cancel(p.id);  // connection::cancel: the peer is told, all state freed
        }
      },
      [=](outcome_atom, int side, send_outcome& o) {
        if (!known(side, o.id)) {
          // A small message (not on the board), or a bulk one refused before it was registered.
          if (!o.ok()) self->state.early_failures[{side, o.id}] = o.error;
          return;
        }
        set_outcome(self->state, entry(side, o.id), o.error);
        check_done(self);
      },
      [=](closed_atom, int side, connection_closed& c) {
        self->state.closed[side] = c.reason;
        self->state.closed_known[side] = true;
      },
      // -- from the delivery sinks and verifiers (receiver side) --
      [=](arrived_atom, int from, std::uint64_t id, std::int64_t at_ns) {
        auto& t = entry(from, id);
        t.received_at = steady::time_point{std::chrono::nanoseconds{at_ns}};
        mark_off_wire(self->state, t);
      },
      [=](rfailed_atom, int from, incoming_failure& f) {
        auto& t = entry(from, f.id);
        t.receiver_failed = true;
        t.receiver_error = f.reason;
        mark_off_wire(self->state, t);
        check_done(self);
      },
      [=](verified_atom, verify_report& r) {
        auto& t = entry(r.from, r.id);
        t.verified = true;
        t.report = std::move(r);
        check_done(self);
      },
      // -- from main --
      [=](wait_atom, std::uint64_t expected) -> caf::result<summary_ptr> {
        auto rp = self->make_response_promise();
        self->state.expected = static_cast<std::size_t>(expected);
        self->state.waiters.push_back(rp);
        check_done(self);
        return caf::delegated<summary_ptr>{};
      },
      [=](stop_atom) -> summary_ptr {
        auto& st = self->state;
        if (!st.stopped) draw(self, true);
        st.stopped = true;
        return snapshot(st, all_finished(st, st.expected));
      },
      [=](caf::get_atom) -> summary_ptr {
        return snapshot(self->state, all_finished(self->state, self->state.expected));
      },
      [=](redraw_atom) {
        if (self->state.stopped) return;
        draw(self, false);
        self->delayed_send(self, std::chrono::milliseconds{100}, redraw_atom::value);
      },
  };
}

/// The event sink of one connection: tags its events with the side and passes them on.
/// (A typed actor sends to the untyped dashboard with anon_send.)
event_sink::behavior_type events_tap(event_sink::pointer, int side, caf::actor dash) {
  return {
      [=](progress_atom, send_progress& p) { caf::anon_send(dash, progress_atom::value, side, p); },
      [=](outcome_atom, send_outcome& o) { caf::anon_send(dash, outcome_atom::value, side, o); },
      [=](closed_atom, connection_closed& c) { caf::anon_send(dash, closed_atom::value, side, c); },
  };
}

// -- receiving: a delivery sink per side, a verifier per bulk message -----------------------------

/// Reads a header as an unsigned number (0 when absent).
std::uint64_t header_u64(const protocol::message_meta& meta, const char* name, int base = 10) {
  auto* v = meta.header(name);
  return v ? std::strtoull(v->c_str(), nullptr, base) : 0;
}

/// Checks one delivered bulk body against the generator (own thread: reading back hundreds of
/// MiB must not hold up the connection's actors), removes its spill file and reports.
void verifier(caf::blocking_actor* self, int from, protocol::incoming_message msg,
              caf::actor dash) {
  // Checking is the application's business: run it at a lower CPU priority than the connection.
  ::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), 10);
  auto start = steady::now();
  verify_report r;
  r.from = from;
  r.id = msg.id;
  r.route = msg.meta.route;
  r.size = msg.body.size();
  auto seed = header_u64(msg.meta, "x-seed");
  auto expected_size = header_u64(msg.meta, "x-size");
  auto expected_digest = header_u64(msg.meta, "x-xxh3", 16);
  protocol::digest_state digest;
  protocol::byte_buffer got(4 * MiB);
  protocol::byte_buffer want(4 * MiB);
  bool same = true;
  r.was_file = msg.body.is_file();
  if (r.was_file) {
    // The spill file, handed over by the connection: ours to read, move or delete.
    r.spill_path = msg.body.path();
    struct stat info {};
    if (::stat(r.spill_path.c_str(), &info) == 0) r.mode = info.st_mode & 0777;
    int fd = ::open(r.spill_path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      r.problem = "cannot open the spill file";
      same = false;
    }
    std::uint64_t off = 0;
    while (fd >= 0 && same) {
      auto n = ::read(fd, got.data(), got.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        r.problem = "reading the spill file failed";
        same = false;
      }
      if (n <= 0) break;
      auto len = static_cast<std::size_t>(n);
      fill_pattern(seed, off, want.data(), len);
      same = std::memcmp(got.data(), want.data(), len) == 0;
      if (!same) r.problem = format("first difference in the block at offset %" PRIu64, off);
      digest.update(protocol::byte_view{got.data(), len});
      off += len;
    }
    if (fd >= 0) ::close(fd);
    if (same && off != expected_size) {
      same = false;
      r.problem = format("%" PRIu64 " bytes, expected %" PRIu64, off, expected_size);
    }
    msg.body.remove_file();
    r.removed = ::access(r.spill_path.c_str(), F_OK) != 0 && errno == ENOENT;
  } else {
    const auto& b = msg.body.bytes();
    for (std::size_t off = 0; off < b.size() && same; off += want.size()) {
      auto len = std::min(want.size(), b.size() - off);
      fill_pattern(seed, off, want.data(), len);
      same = std::memcmp(b.data() + off, want.data(), len) == 0;
    }
    digest.update(b);
    if (same && b.size() != expected_size) same = false;
    r.removed = true;
  }
  r.identical = same;
  r.digest = digest.finish();
  r.digest_matches = r.digest == expected_digest;
  r.seconds = std::chrono::duration<double>(steady::now() - start).count();
  self->send(dash, verified_atom::value, std::move(r));
}

struct delivery_state {
  int side = 0;
  connection_actor conn;  // this side's connection: the answers to requests go there
  caf::actor dash;
  std::shared_ptr<shared_context> ctx;
  static inline const char* name = "demo.delivery";
};

/// A request body: sequence number, send time, phase (0 idle, 1 bulk on the wire), filler.
protocol::byte_buffer make_request(std::uint64_t seq, int phase) {
  protocol::byte_buffer b(rpc_body_size);
  protocol::store_le(b.data(), seq, 8);
  protocol::store_le(b.data() + 8, static_cast<std::uint64_t>(now_ns()), 8);
  b[16] = static_cast<std::uint8_t>(phase);
  fill_pattern(seq, 17, b.data() + 17, b.size() - 17);
  return b;
}

/// The delivery sink of one side: answers requests, times the answers to its own requests, and
/// hands bulk messages to verifiers. Replying ok_atom releases the delivery budget.
delivery_sink::behavior_type delivery_handler(delivery_sink::stateful_pointer<delivery_state> self,
                                              int side, connection_actor conn, caf::actor dash,
                                              std::shared_ptr<shared_context> ctx) {
  auto& st = self->state;
  st.side = side;
  st.conn = std::move(conn);
  st.dash = std::move(dash);
  st.ctx = std::move(ctx);
  return {
      [self](deliver_atom, delivery& d) {
        auto& st = self->state;
        int from = 1 - st.side;
        for (auto& m : d.messages) {
          if (m.meta.route == "rpc/echo") {
            // A request: answer with the same body, at the same high priority.
            auto reply = outgoing_message::from_bytes("rpc/echo-reply", m.body.take_bytes());
            reply.meta.priority = rpc_priority;
            // The connection actor responds with the answer's outcome once it was written.
            self->request(st.conn, caf::infinite, send_atom::value, std::move(reply))
                .then([](send_outcome&) {}, [](caf::error&) {});
          } else if (m.meta.route == "rpc/echo-reply") {
            const auto& b = m.body.bytes();
            if (b.size() != rpc_body_size) {
              st.ctx->rpc.answered(0, 0, 2, false);
              continue;
            }
            auto seq = protocol::load_le(b.data(), 8);
            auto sent = static_cast<std::int64_t>(protocol::load_le(b.data() + 8, 8));
            int phase = b[16];
            // Counted as "under load" only when bulk data was on the wire at both ends of it.
            if (phase == 1 && st.ctx->bulk_on_wire.load() == 0) phase = 2;
            protocol::byte_buffer filler(rpc_body_size - 17);
            fill_pattern(seq, 17, filler.data(), filler.size());
            bool intact = std::equal(filler.begin(), filler.end(), b.begin() + 17);
            st.ctx->rpc.answered(seq, static_cast<double>(now_ns() - sent) / 1e3, phase, intact);
          } else {
            // A bulk message: check it on a thread of its own.
            caf::anon_send(st.dash, arrived_atom::value, from, m.id, now_ns());
            self->spawn(verifier, from, std::move(m), st.dash);
          }
        }
        // Incoming messages that failed (here: the one its sender cancelled), each with a reason.
        for (auto& f : d.failures) caf::anon_send(st.dash, rfailed_atom::value, from, f);
        return caf::ok_atom::value;  // releases the delivery budget
      },
  };
}

// -- the request thread: closed-loop round trips through connection::send() -----------------------

void request_loop(connection& a, shared_context& ctx, std::atomic<bool>& stop) {
  auto& rpc = ctx.rpc;
  for (std::uint64_t seq = 1; !stop.load(); ++seq) {
    int phase = !ctx.bulk_started.load() ? 0 : ctx.bulk_on_wire.load() > 0 ? 1 : 2;
    auto msg = outgoing_message::from_bytes("rpc/echo", make_request(seq, phase));
    msg.meta.priority = rpc_priority;
    if (!a.send(std::move(msg))) break;
    std::unique_lock<std::mutex> lock{rpc.mtx};
    if (!rpc.cv.wait_for(lock, std::chrono::seconds{5}, [&] { return rpc.answered_seq >= seq; })) {
      ++rpc.lost;
      break;
    }
    lock.unlock();
    std::this_thread::sleep_for(std::chrono::microseconds{500});
  }
  rpc.cv.notify_all();
}

// -- temporary files ------------------------------------------------------------------------------

std::vector<std::string> files_in(const std::string& dir) {
  std::vector<std::string> out;
  if (auto* d = ::opendir(dir.c_str())) {
    while (auto* e = ::readdir(d)) {
      std::string name = e->d_name;
      if (name != "." && name != "..") out.push_back(dir + "/" + name);
    }
    ::closedir(d);
  }
  return out;
}

/// Removes `dir` and what is in it (two levels: the demo's layout); true when it is gone.
bool remove_tree(const std::string& dir) {
  for (auto& p : files_in(dir)) {
    struct stat info {};
    if (::lstat(p.c_str(), &info) == 0 && S_ISDIR(info.st_mode)) {
      for (auto& q : files_in(p)) ::unlink(q.c_str());
      ::rmdir(p.c_str());
    } else {
      ::unlink(p.c_str());
    }
  }
  return ::rmdir(dir.c_str()) == 0 || errno == ENOENT;
}

/// On SIGINT/SIGTERM: remove the temporary directory and leave (a thread waits for the signal).
void watch_signals(std::string dir) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);  // inherited by every thread started after this
  std::thread([set, dir] {
    int sig = 0;
    if (sigwait(&set, &sig) != 0) return;
    std::fprintf(stderr, "\ninterrupted: removing %s\n", dir.c_str());
    for (int i = 0; i < 3 && !remove_tree(dir); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds{100});
    std::_Exit(128 + sig);
  }).detach();
}

// -- the run --------------------------------------------------------------------------------------

struct options {
  double scale = 1.0;
  bool no_color = false;
  bool quiet = false;
};

std::uint64_t scaled(double mib, double scale) {
  auto bytes = static_cast<std::uint64_t>(mib * scale * static_cast<double>(MiB));
  bytes = bytes / 4096 * 4096;
  return std::max<std::uint64_t>(bytes, 64 * 1024);
}

/// A bulk message of the run (size in MiB at --scale 1).
struct bulk {
  int from;
  std::string route;
  double mib;
  bool from_file;
  expect expected;
  double cancel_at;
  std::uint64_t seed;
  std::uint64_t size = 0;
  protocol::digest64 digest = 0;
  std::shared_ptr<protocol::byte_buffer> body{};  // in-memory bodies
  std::string path{};                             // file bodies
  bool prepared = true;
};

/// The bulk messages, queued in this order.
std::vector<bulk> bulk_plan() {
  return {
      {0, "files/upload.bin", 512, true, expect::delivered, 0, 11},
      {1, "bulk/backup", 256, false, expect::delivered, 0, 22},
      {0, "bulk/dataset", 512, false, expect::delivered, 0, 33},
      {1, "bulk/abandoned", 256, false, expect::cancelled, 0.4, 44},
      {0, "files/missing.bin", 0, true, expect::missing_file, 0, 55},
      // Twice the receiver's limit (sized in prepare_bodies).
      {0, "files/huge.bin", 0, true, expect::too_large, 0, 77},
      // Queued last, behind 1 GiB going the same way: time slicing lets it finish first.
      {0, "bulk/late", 64, false, expect::delivered, 0, 66},
  };
}

/// What the pieces of one run share.
struct run_state {
  explicit run_state(const options& o) : opt(o) {}

  const options& opt;
  display_options display;
  steady::time_point wall_start = steady::now();
  /// Scratch space: the source files and one spill directory per endpoint.
  std::string dir;
  std::string spill[2];
  std::vector<bulk> bulks = bulk_plan();
  std::uint64_t memory_bytes[2] = {0, 0};
  std::uint64_t file_bytes = 0;
  /// Bodies above this size are spilled.
  std::uint64_t spill_threshold = 4 * MiB;
  /// limits.max_message_size of both endpoints: the largest bulk message that is to arrive.
  std::uint64_t max_message = 0;
  std::shared_ptr<shared_context> ctx = std::make_shared<shared_context>();
  // Results.
  int exit_code = 0;
  summary_ptr result;
  std::string closed_text[2];
  std::vector<std::string> leftovers;

  const palette& colors() const { return display.colors; }
  /// Prints a progress line unless --quiet.
  void say(const std::string& s) const {
    if (opt.quiet) return;
    std::printf("%s\n", s.c_str());
    std::fflush(stdout);
  }
};

std::string mark(const palette& c, bool good) {
  return good ? c.green("✓") : c.red("✗");
}

/// An error for the summary: what it says, and its category.
std::string describe(std::error_code ec) {
  if (!ec) return "success";
  return "\"" + ec.message() + "\" (" + ec.category().name() + ")";
}

// -- preparing: scratch space and bodies ----------------------------------------------------------

/// Creates the scratch directory and the spill directories; false when it cannot.
bool make_scratch(run_state& st) {
  const char* tmp_root = std::getenv("TMPDIR");
  std::string templ =
      std::string{tmp_root && *tmp_root ? tmp_root : "/tmp"} + "/netcore-demo-XXXXXX";
  std::vector<char> buf(templ.begin(), templ.end());
  buf.push_back('\0');
  if (!::mkdtemp(buf.data())) {
    std::fprintf(stderr, "cannot create a temporary directory from %s\n", templ.c_str());
    return false;
  }
  st.dir = buf.data();
  watch_signals(st.dir);
  st.spill[0] = st.dir + "/spill-a";
  st.spill[1] = st.dir + "/spill-b";
  for (auto& s : st.spill) ::mkdir(s.c_str(), 0700);
  return true;
}

/// Creates a sparse file of `size` bytes (no disk space, nothing to generate).
bool write_sparse_file(const std::string& path, std::uint64_t size) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  bool ok = ::ftruncate(fd, static_cast<off_t>(size)) == 0;
  return ::close(fd) == 0 && ok;
}

/// Generates the bodies (in memory and in files) and sizes the limits; false when a file could
/// not be written.
bool prepare_bodies(run_state& st) {
  auto prep_start = steady::now();
  // Generate the bodies in parallel (the generator is position-addressable).
  std::vector<std::thread> makers;
  for (auto& b : st.bulks) {
    if (b.expected == expect::missing_file) {
      b.path = st.dir + "/missing.bin";  // never created
      continue;
    }
    if (b.expected == expect::too_large) continue;  // sized once the limit is known
    b.size = scaled(b.mib, st.opt.scale);
    if (b.from_file) {
      b.path = st.dir + "/" + b.route.substr(b.route.find('/') + 1);
      st.file_bytes += b.size;
      makers.emplace_back(
          [&b] { b.prepared = write_pattern_file(b.path, b.seed, b.size, b.digest); });
    } else {
      st.memory_bytes[b.from] += b.size;
      makers.emplace_back([&b] {
        b.body = std::make_shared<protocol::byte_buffer>(make_body(b.seed, b.size, b.digest));
      });
    }
  }
  for (auto& t : makers) t.join();
  // Both sides accept messages up to the largest one that is to arrive; the oversized message
  // is twice that.
  for (auto& b : st.bulks)
    if (!refused(b.expected)) st.max_message = std::max(st.max_message, b.size);
  for (auto& b : st.bulks) {
    if (b.expected != expect::too_large) continue;
    b.size = 2 * st.max_message;
    b.path = st.dir + "/" + b.route.substr(b.route.find('/') + 1);
    b.prepared = write_sparse_file(b.path, b.size);
  }
  for (auto& b : st.bulks) {
    if (!b.prepared) {
      std::fprintf(stderr, "cannot write %s\n", b.path.c_str());
      return false;
    }
  }
  st.say(format("  generated %s in memory and a %s source file in %s (%.1f s)",
                fmt_size(static_cast<double>(st.memory_bytes[0] + st.memory_bytes[1])).c_str(),
                fmt_size(static_cast<double>(st.file_bytes)).c_str(), st.dir.c_str(),
                std::chrono::duration<double>(steady::now() - prep_start).count()));
  // The spill threshold: 4 MiB, less at small --scale so that every bulk message still goes to
  // a file.
  for (auto& b : st.bulks)
    if (b.size > 0) st.spill_threshold = std::min(st.spill_threshold, b.size / 2);
  return true;
}

// -- the connection -------------------------------------------------------------------------------

connection_config config_for(const run_state& st, int side) {
  connection_config cc;
  // Large bodies go to a spill file in this directory and are handed over as a file.
  cc.storage.spill_directory = st.spill[side];
  cc.storage.memory_threshold = st.spill_threshold;
  // Larger messages are refused before they are sent (the limit is announced to the peer).
  cc.limits.max_message_size = st.max_message;
  // connection::send() counts an in-memory body against this limit until it was written in
  // full; room for all bulk bodies keeps the request thread from waiting behind them.
  cc.send_queue_limit = static_cast<std::size_t>(st.memory_bytes[side] + 64 * MiB);
  // The credit this side grants bounds the bytes in flight towards it. When the receiver is
  // the bottleneck (here: writing spill files), every byte in flight is queued ahead of the
  // next small message, so modest credits (instead of 32 MiB and 4 MiB) keep the round trips
  // short at a small cost in throughput.
  cc.initial_connection_credit = 2 * MiB;
  cc.initial_message_credit = 512 * 1024;
  return cc;
}

/// The two ends of the connection and the actors that take their deliveries and events.
struct endpoints {
  connection a;  // the client
  connection b;  // the server
  std::uint16_t port = 0;
  caf::actor dash;
  delivery_sink deliveries[2];
  event_sink events[2];

  connection& side(int i) { return i == 0 ? a : b; }
};

/// One TCP connection over loopback: B listens, A connects. False (with a message) on failure.
bool connect_endpoints(actors::runtime& rt, const run_state& st, endpoints& ep) {
  transports::tcp_options tcp;
  tcp.no_delay = true;
  // The handler runs on an event-loop thread: it only hands the connection over.
  std::promise<connection> accepted;
  auto server = rt.listen_tcp(
      "127.0.0.1", 0, [&accepted](connection c) { accepted.set_value(std::move(c)); },
      config_for(st, 1), tcp);
  if (!server) {
    std::fprintf(stderr, "listen failed: %s\n", server.error().message().c_str());
    return false;
  }
  ep.port = server->port();
  auto a = rt.connect_tcp("127.0.0.1", ep.port, config_for(st, 0), tcp);
  if (!a) {
    std::fprintf(stderr, "could not connect over loopback: %s\n", a.error().message().c_str());
    return false;
  }
  auto b = accepted.get_future();
  if (b.wait_for(std::chrono::seconds{10}) != std::future_status::ready) {
    std::fprintf(stderr, "could not connect over loopback: nothing accepted\n");
    return false;
  }
  ep.a = std::move(*a);
  ep.b = b.get();
  return true;  // the acceptor stops listening as it goes out of scope
}

/// Gives side `i` its delivery sink and its event sink.
void attach_sinks(caf::actor_system& sys, const run_state& st, endpoints& ep, int i) {
  auto& c = ep.side(i);
  ep.events[i] = sys.spawn(events_tap, i, ep.dash);
  ep.deliveries[i] = sys.spawn(delivery_handler, i, c.actor(), ep.dash, st.ctx);
  c.subscribe(ep.events[i]);
  c.attach(ep.deliveries[i]);
}

/// Ends the demo's actors (the actor system waits for every actor before it shuts down).
void end_actors(endpoints& ep) {
  for (auto& h : ep.events) caf::anon_send_exit(h, caf::exit_reason::user_shutdown);
  for (auto& h : ep.deliveries) caf::anon_send_exit(h, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(ep.dash, caf::exit_reason::user_shutdown);
}

// -- the phases of the run ------------------------------------------------------------------------

/// Waits until the request thread made its round trips on the idle connection.
void await_idle_round_trips(const run_state& st) {
  auto& rpc = st.ctx->rpc;
  std::unique_lock<std::mutex> lock{rpc.mtx};
  rpc.cv.wait_for(lock, std::chrono::seconds{10}, [&] {
    return rpc.idle_us.size() >= static_cast<std::size_t>(idle_round_trips) || rpc.lost > 0;
  });
}

/// Queues every bulk message at once from this thread, in both directions, and registers each
/// with the dashboard; returns how many were registered.
std::uint64_t queue_bulks(run_state& st, endpoints& ep) {
  st.ctx->bulk_started = true;
  std::uint64_t registered = 0;
  for (auto& bk : st.bulks) {
    transfer_spec spec;
    spec.from = bk.from;
    spec.route = bk.route;
    spec.size = bk.size;
    spec.from_file = bk.from_file;
    spec.expected = bk.expected;
    spec.cancel_at = bk.cancel_at;
    auto* conn = &ep.side(bk.from);
    if (bk.cancel_at > 0) spec.cancel = [conn](std::uint64_t id) { conn->cancel(id); };
    outgoing_message msg = bk.from_file ? outgoing_message::from_file(bk.route, bk.path)
                                        : outgoing_message::from_bytes(bk.route, {});
    if (!bk.from_file) msg.bytes = bk.body;  // shared, never copied
    msg.meta.priority = bulk_priority;
    // The receiver regenerates the body from the seed and checks it against the digest.
    msg.meta.headers = {{"x-seed", std::to_string(bk.seed)},
                        {"x-size", std::to_string(bk.size)},
                        {"x-xxh3", hex64(bk.digest)}};
    if (!refused(bk.expected)) st.ctx->bulk_on_wire.fetch_add(1);
    spec.queued = steady::now();
    // send() queues the message and returns its id; what becomes of it is its outcome (a
    // refusal too), which the event sink hears.
    auto id = conn->send(std::move(msg));
    if (!id) {
      std::fprintf(stderr, "send of %s failed: %s\n", bk.route.c_str(),
                   id.error().message().c_str());
      st.exit_code = 1;
      break;
    }
    spec.id = *id;
    caf::anon_send(ep.dash, register_atom::value, std::move(spec));
    ++registered;
  }
  for (auto& bk : st.bulks) bk.body.reset();  // the connection holds them while needed
  return registered;
}

/// Waits until every transfer has its end (delivered and checked, cancelled, refused), stops
/// the request thread and takes the dashboard's final picture.
void await_transfers(run_state& st, caf::scoped_actor& self, const caf::actor& dash,
                     std::uint64_t registered, std::atomic<bool>& stop_requests,
                     std::thread& requester) {
  auto limit = std::chrono::seconds{static_cast<long>(60 + 120 * std::max(1.0, st.opt.scale))};
  self->request(dash, limit, wait_atom::value, registered)
      .receive([&](summary_ptr& s) { st.result = s; },
               [&](caf::error&) { std::fprintf(stderr, "timed out waiting for the transfers\n"); });
  stop_requests = true;
  requester.join();
  self->request(dash, caf::infinite, stop_atom::value)
      .receive(
          [&](summary_ptr& s) {
            if (!st.result) st.result = s;
          },
          [](caf::error&) {});
}

/// Closes both ends gracefully and waits until each connection reported its end to its event
/// sink.
void close_endpoints(run_state& st, caf::scoped_actor& self, endpoints& ep) {
  // A drains and says GOAWAY; B finishes what it has queued and answers in kind.
  ep.a.close();
  ep.b.close();
  for (int i = 0; i < 50; ++i) {
    summary_ptr s;
    self->request(ep.dash, caf::infinite, caf::get_atom::value)
        .receive([&](summary_ptr& x) { s = x; }, [](caf::error&) {});
    if (s && s->closed_known[0] && s->closed_known[1]) {
      for (int k = 0; k < 2; ++k)
        st.closed_text[k] = s->closed[k] ? s->closed[k].message() : std::string{"clean"};
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
  }
}

/// The transfers themselves: an actor system, a runtime, the connection, the actors and the
/// request thread, set up and torn down in that order.
void run_transfers(run_state& st) {
  caf::actor_system_config cfg;
  actors::apply(cfg);  // netcore's scheduler settings and message types
  caf::actor_system sys{cfg};
  actors::runtime rt{sys};  // ends before the actor system, after the connections
  endpoints ep;
  ep.dash = sys.spawn(dashboard, st.display, st.ctx);
  if (!connect_endpoints(rt, st, ep)) {
    st.exit_code = 1;
    end_actors(ep);
    return;
  }
  for (int i = 0; i < 2; ++i) attach_sinks(sys, st, ep, i);
  st.say(format("  A = 127.0.0.1 client, B = 127.0.0.1:%u server, one TCP connection; spill "
                "directories %s/spill-{a,b}",
                ep.port, st.dir.c_str()));

  // 1. The request thread: first round trips on an idle connection, then on, during the bulk.
  std::atomic<bool> stop_requests{false};
  std::thread requester{[&] { request_loop(ep.a, *st.ctx, stop_requests); }};
  await_idle_round_trips(st);
  st.say(format("  %d round trips on the idle connection first, then the bulk transfers start:\n",
                idle_round_trips));

  // 2. The bulk messages, all queued at once.
  auto registered = queue_bulks(st, ep);

  // 3. Every transfer reaches its end.
  caf::scoped_actor self{sys};
  await_transfers(st, self, ep.dash, registered, stop_requests, requester);

  // 4. Both ends close gracefully.
  close_endpoints(st, self, ep);
  end_actors(ep);
  for (auto& s : st.spill)
    for (auto& f : files_in(s)) st.leftovers.push_back(f);
}  // the connections, then the runtime, then the actor system end here

// -- the summary ----------------------------------------------------------------------------------

/// What the bulk part of the summary adds up.
struct bulk_totals {
  std::uint64_t on_wire = 0;
  double fifo_wait = 0;  // longest wait of an A→B message behind the ones queued before it
};

/// One line per delivered bulk message, with its checks; true when all passed.
bool print_bulk_summary(const run_state& st, bulk_totals& totals) {
  const auto& c = st.colors();
  bool all_ok = true;
  // Arrival order of the delivered messages.
  std::vector<steady::time_point> arrivals;
  for (auto& t : st.result->transfers)
    if (t.received_at && t.spec.expected == expect::delivered) arrivals.push_back(*t.received_at);
  std::sort(arrivals.begin(), arrivals.end());
  static const char* ordinal[] = {"1st", "2nd", "3rd", "4th", "5th", "6th", "7th", "8th"};
  std::printf("  bulk messages, priority %u (time: from send() to delivery at the receiver)\n",
              bulk_priority);
  for (auto& t : st.result->transfers) {
    const auto& s = t.spec;
    totals.on_wire += s.expected == expect::delivered ? s.size : t.written;
    if (s.from == 0 && t.sent_at)
      totals.fifo_wait =
          std::max(totals.fifo_wait, std::chrono::duration<double>(*t.sent_at - s.queued).count());
    if (s.expected != expect::delivered) continue;
    const auto& r = t.report;
    bool good = t.verified && r.identical && r.digest_matches && r.was_file && r.removed;
    all_ok = all_ok && good;
    double secs =
        t.received_at ? std::chrono::duration<double>(*t.received_at - s.queued).count() : 0;
    auto rank = static_cast<std::size_t>(
        std::find(arrivals.begin(), arrivals.end(), t.received_at.value_or(steady::time_point{})) -
        arrivals.begin());
    std::printf("  %s %s%s%s%s%s%s  %s\n", c.cyan(arrow(s.from)).c_str(), pad(s.route, 18).c_str(),
                pad(fmt_size(static_cast<double>(s.size)), 11).c_str(),
                s.from_file ? "from a file  " : "from memory  ", pad(fmt_secs(secs), 9).c_str(),
                pad(fmt_rate(static_cast<double>(s.size) / std::max(secs, 1e-6)), 12).c_str(),
                good ? c.green("verified ✓").c_str() : c.red("FAILED ✗").c_str(),
                rank < arrivals.size() && rank < 8
                    ? (std::string{"arrived "} + ordinal[rank]).c_str()
                    : "");
    if (!t.verified) {
      std::printf("      %s\n", t.receiver_failed
                                    ? ("receiver: " + describe(t.receiver_error)).c_str()
                                    : ("sender: " + describe(t.outcome)).c_str());
      continue;
    }
    if (r.was_file)
      std::printf("      spill file handed over: %s (mode %03o), removed %s\n",
                  r.spill_path.c_str(), r.mode, mark(c, r.removed).c_str());
    else
      std::printf("      delivered in memory, not as a spill file %s\n", mark(c, false).c_str());
    std::printf("      every byte identical to the generator %s   XXH3-64 %s %s sender's %s\n",
                mark(c, r.identical).c_str(), hex64(r.digest).c_str(), r.digest_matches ? "=" : "≠",
                mark(c, r.digest_matches).c_str());
    if (!r.problem.empty()) std::printf("      %s\n", c.red(r.problem).c_str());
    if (&t == &st.result->transfers.back() && s.from == 0) {
      std::uint64_t ahead = 0;
      for (auto& u : st.result->transfers)
        if (&u != &t && u.spec.from == 0 && u.spec.expected == expect::delivered)
          ahead += u.spec.size;
      std::printf("      queued last, behind %s going the same way: time slicing let it "
                  "through early\n",
                  fmt_size(static_cast<double>(ahead)).c_str());
    }
  }
  return all_ok;
}

/// The round trips of the small requests; true when they all came back intact.
bool print_rpc_summary(const run_state& st, double fifo_wait) {
  const auto& c = st.colors();
  std::lock_guard<std::mutex> guard{st.ctx->rpc.mtx};
  const auto& rpc = st.ctx->rpc;
  bool good =
      !rpc.idle_us.empty() && !rpc.loaded_us.empty() && rpc.bad_answers == 0 && rpc.lost == 0;
  std::printf(
      "\n  small requests %s rpc/echo: %zu bytes, priority %u, sent with connection::send()\n"
      "  from a second thread, one at a time, each echoed by B's delivery actor\n",
      c.cyan("A⇄B").c_str(), rpc_body_size, rpc_priority);
  std::printf("      idle connection        %5zu round trips   p50 %-9s p99 %s\n",
              rpc.idle_us.size(), fmt_us(percentile(rpc.idle_us, 0.5)).c_str(),
              fmt_us(percentile(rpc.idle_us, 0.99)).c_str());
  std::printf("      during the bulk data   %5zu round trips   p50 %-9s p99 %-9s max %s\n",
              rpc.loaded_us.size(), fmt_us(percentile(rpc.loaded_us, 0.5)).c_str(),
              fmt_us(percentile(rpc.loaded_us, 0.99)).c_str(),
              fmt_us(percentile(rpc.loaded_us, 1.0)).c_str());
  if (fifo_wait > 0)
    std::printf("      (one first-in-first-out stream would have kept a request behind the "
                "A→B bulk data: ≈ %s)\n",
                fmt_secs(fifo_wait).c_str());
  std::printf("      every answer intact %s, none lost %s\n", mark(c, rpc.bad_answers == 0).c_str(),
              mark(c, rpc.lost == 0).c_str());
  return good;
}

/// The messages meant to fail, each with the std::error_code it failed with; true when each
/// failed as it should.
bool print_typed_errors(const run_state& st) {
  const auto& c = st.colors();
  bool all_ok = true;
  std::printf("\n  typed errors, each confined to its own message:\n");
  for (auto& t : st.result->transfers) {
    const auto& s = t.spec;
    if (s.expected == expect::cancelled) {
      bool good = t.cancel_requested && t.outcome_known && t.outcome == errc::cancelled &&
                  t.receiver_failed && t.receiver_error == errc::cancelled;
      all_ok = all_ok && good;
      std::printf("      %s %s: connection::cancel at %.0f %% of %s\n"
                  "          -> sender %s, receiver %s %s %s\n",
                  arrow(s.from), s.route.c_str(), t.cancelled_at * 100,
                  fmt_size(static_cast<double>(s.size)).c_str(), describe(t.outcome).c_str(),
                  side_name(1 - s.from),
                  t.receiver_failed ? describe(t.receiver_error).c_str()
                  : t.verified      ? "received the whole message"
                                    : "(nothing)",
                  mark(c, good).c_str());
    } else if (s.expected == expect::missing_file) {
      bool good = t.outcome_known && t.outcome == std::errc::no_such_file_or_directory;
      all_ok = all_ok && good;
      std::printf("      %s %s: from_file on a path that does not exist\n"
                  "          -> sender %s %s\n",
                  arrow(s.from), s.route.c_str(), describe(t.outcome).c_str(),
                  mark(c, good).c_str());
    } else if (s.expected == expect::too_large) {
      bool good = t.outcome_known && t.outcome == errc::message_too_large && t.written == 0;
      all_ok = all_ok && good;
      std::printf("      %s %s: %s, above %s's limits.max_message_size of %s\n"
                  "          -> refused before a byte was sent: sender %s %s\n",
                  arrow(s.from), s.route.c_str(), fmt_size(static_cast<double>(s.size)).c_str(),
                  side_name(1 - s.from), fmt_size(static_cast<double>(st.max_message)).c_str(),
                  describe(t.outcome).c_str(), mark(c, good).c_str());
    }
  }
  return all_ok;
}

/// Throughput, how the connection closed, and the clean-up; true when nothing was left behind.
bool print_totals(const run_state& st, std::uint64_t on_wire) {
  const auto& c = st.colors();
  if (st.result) {
    double secs =
        std::chrono::duration<double>(st.result->bulk_end - st.result->bulk_start).count();
    std::printf("\n  %s of bulk data in %.2f s over one TCP connection (%s, both directions "
                "together)\n",
                fmt_size(static_cast<double>(on_wire)).c_str(), secs,
                fmt_rate(static_cast<double>(on_wire) / std::max(secs, 1e-6)).c_str());
  }
  if (!st.closed_text[0].empty())
    std::printf("  closed with connection::close() on both ends (A: %s, B: %s)\n",
                st.closed_text[0].c_str(), st.closed_text[1].c_str());
  bool spill_clean = st.leftovers.empty();
  for (auto& f : st.leftovers) std::printf("  left behind: %s\n", f.c_str());
  bool removed = remove_tree(st.dir);
  std::printf("  spill directories empty %s, %s removed %s\n", mark(c, spill_clean).c_str(),
              st.dir.c_str(), mark(c, removed).c_str());
  return spill_clean && removed;
}

int run(const options& opt) {
  run_state st{opt};
  const bool tty = ::isatty(STDOUT_FILENO) == 1;
  st.display.quiet = opt.quiet;
  st.display.tty = tty;
  st.display.colors.on = tty && !opt.no_color && std::getenv("NO_COLOR") == nullptr;
  const auto& c = st.colors();

  if (!make_scratch(st)) return 1;
  st.say(c.bold("netcore demo") +
         ": messages of very different sizes, both ways, over ONE connection");
  if (!prepare_bodies(st)) {
    remove_tree(st.dir);
    return 1;
  }
  run_transfers(st);
  auto wall = std::chrono::duration<double>(steady::now() - st.wall_start).count();

  std::printf("\n%s\n", c.bold("Summary").c_str());
  bool all_ok = st.exit_code == 0 && st.result && st.result->complete;
  bulk_totals totals;
  if (st.result) all_ok = print_bulk_summary(st, totals) && all_ok;
  all_ok = print_rpc_summary(st, totals.fifo_wait) && all_ok;
  if (st.result) all_ok = print_typed_errors(st) && all_ok;
  all_ok = print_totals(st, totals.on_wire) && all_ok;
  std::printf("  wall time %.1f s\n\n%s\n", wall,
              all_ok ? c.green(c.bold("all checks passed")).c_str()
                     : c.red(c.bold("SOME CHECKS FAILED")).c_str());
  return all_ok ? 0 : 1;
}

}  // namespace demo

int main(int argc, char** argv) {
  CLI::App app{"netcore demo: several large messages and a stream of small requests, "
               "concurrently and in both directions, over one TCP connection"};
  demo::options opt;
  // Below 0.02 the cancelled message is so small that it may be written in full before the
  // cancel lands.
  app.add_option("--scale", opt.scale, "multiply the bulk message sizes (1.0: 64-512 MiB)")
      ->check(CLI::Range(0.02, 16.0));
  app.add_flag("--no-color", opt.no_color, "no colours in the output");
  app.add_flag("-q,--quiet", opt.quiet, "no live progress, only the summary");
  CLI11_PARSE(app, argc, argv);
  return demo::run(opt);
}
