// session::reliable_link: selective-repeat retransmission of the frame stream over a lossy
// stream. Sequence numbers are 64-bit inside and travel as their low 32 bits.

#include <netcore/session/reliable_link.hpp>

#include <algorithm>
#include <cmath>
#include <utility>

namespace netcore::session {

struct reliable_link::out_packet {
  std::uint64_t seq = 0;
  std::shared_ptr<protocol::byte_buffer> payload;
  enum class state : std::uint8_t { queued, emitting, written } st = state::queued;
  bool sacked = false;
  std::uint32_t retries = 0;
  std::uint64_t tx = 0;  // order of its latest transmission
  clock::time_point sent_at{};
};

struct reliable_link::emission {
  struct item {
    std::uint64_t seq = 0;  // the data packet, or none for an acknowledgement
    bool data = false;
    std::size_t wire = 0;
  };
  protocol::byte_buffer headers;
  std::vector<std::shared_ptr<const protocol::byte_buffer>> payloads;
  std::vector<protocol::io_slice> slices;
  std::vector<item> items;
};

namespace {

/// The full sequence number nearest `base` whose low 32 bits are `wire`.
std::uint64_t widen(std::uint64_t base, std::uint32_t wire) noexcept {
  const auto delta = static_cast<std::int32_t>(wire - static_cast<std::uint32_t>(base));
  return base + static_cast<std::uint64_t>(static_cast<std::int64_t>(delta));
}

}  // namespace

reliable_link::reliable_link(link_config config)
    : config_(config), decoder_(std::max<std::size_t>(config.max_packet_payload, 1)) {
  config_.window = std::clamp<std::uint32_t>(config_.window, 1, link_max_window);
  config_.packet_payload = std::clamp<std::size_t>(config_.packet_payload, 1, 0xFFFF);
  config_.max_packet_payload = std::clamp<std::size_t>(config_.max_packet_payload, 1, 0xFFFF);
  config_.min_rto = std::max(config_.min_rto, std::chrono::milliseconds{1});
  config_.max_rto = std::max(config_.max_rto, config_.min_rto);
  rto_ = std::clamp<clock::duration>(config_.initial_rto, config_.min_rto, config_.max_rto);
}

reliable_link::~reliable_link() = default;

// -- sending
// ---------------------------------------------------------------------------------------

std::size_t reliable_link::room() const noexcept {
  const std::uint64_t used = next_seq_ - base_;
  if (used >= config_.window) return 0;
  return static_cast<std::size_t>(config_.window - used) * config_.packet_payload;
}

std::size_t reliable_link::packet_size() const noexcept {
  // A byte error rate p destroys a packet of n wire bytes with probability 1 - (1 - p)^n; the
  // goodput n_payload / (n_payload + header) * (1 - p)^n peaks near sqrt(header / p). Estimate
  // p from the share of transmissions lost and size new packets for it.
  // Until a few dozen transmissions tell how noisy the line is, packets stay moderate: a large
  // one on a very noisy line might never get through.
  if (observed_ < 32) return std::min<std::size_t>(config_.packet_payload, 512);
  if (loss_ < 1e-6 || mean_wire_ <= 0) return config_.packet_payload;
  const double p = -std::log1p(-std::min(loss_, 0.999)) / mean_wire_;
  const double best = std::sqrt(static_cast<double>(link_header_size) / p);
  const double lo = std::min<double>(128, static_cast<double>(config_.packet_payload));
  return static_cast<std::size_t>(std::clamp(best, lo, double(config_.packet_payload)));
}

void reliable_link::count_transmission(const out_packet& p, bool arrived) noexcept {
  constexpr double weight = 1.0 / 32;
  ++observed_;
  loss_ += weight * ((arrived ? 0.0 : 1.0) - loss_);
  const double wire = static_cast<double>(link_header_size + p.payload->size());
  mean_wire_ = mean_wire_ <= 0 ? wire : mean_wire_ + weight * (wire - mean_wire_);
}

void reliable_link::submit(const std::vector<protocol::io_slice>& slices) {
  const std::size_t size = packet_size();
  std::shared_ptr<protocol::byte_buffer> cur;
  for (const auto& s : slices) {
    const auto* p = static_cast<const std::uint8_t*>(s.data);
    std::size_t left = s.size;
    while (left > 0) {
      if (!cur || cur->size() == size) {
        out_packet pk;
        pk.seq = next_seq_++;
        pk.payload = std::make_shared<protocol::byte_buffer>();
        pk.payload->reserve(size);
        cur = pk.payload;
        inflight_.push_back(std::move(pk));
      }
      const std::size_t take = std::min(left, size - cur->size());
      cur->insert(cur->end(), p, p + take);
      p += take;
      left -= take;
    }
  }
}

reliable_link::out_packet* reliable_link::find(std::uint64_t seq) noexcept {
  if (seq < base_ || seq >= next_seq_) return nullptr;
  return &inflight_[static_cast<std::size_t>(seq - base_)];
}

bool reliable_link::wants_write() const noexcept {
  if (ack_due_ || !retransmit_.empty()) return true;
  return first_unsent_ < next_seq_ && first_unsent_ < window_end();
}

std::uint64_t reliable_link::window_end() const noexcept {
  // Once the session ended nothing waits for acknowledgements: its last words go out at once
  // (the peer takes them if they fall in its window, and nothing is lost if it does not).
  return retransmitting_ ? base_ + config_.window : next_seq_;
}

const std::vector<protocol::io_slice>& reliable_link::next_batch() {
  std::vector<std::uint64_t> seqs;
  for (auto seq : retransmit_) {
    out_packet* p = find(seq);
    if (p && !p->sacked && p->st == out_packet::state::queued) seqs.push_back(seq);
  }
  retransmit_.clear();
  while (first_unsent_ < next_seq_ && first_unsent_ < window_end()) seqs.push_back(first_unsent_++);
  if (seqs.empty() && !ack_due_) return no_slices_;

  auto e = std::make_shared<emission>();
  const std::size_t count = std::max<std::size_t>(seqs.size(), 1);
  e->headers.resize(count * link_header_size);
  link_header h;
  h.ack = static_cast<std::uint32_t>(expected_);
  h.sack = sack_bits();
  std::uint8_t* hdr = e->headers.data();
  if (seqs.empty()) {
    h.kind = link_kind::ack;
    encode_link_header(h, {}, hdr);
    e->slices.push_back({hdr, link_header_size});
    e->items.push_back({0, false, link_header_size});
  }
  for (auto seq : seqs) {
    out_packet& p = *find(seq);
    p.st = out_packet::state::emitting;
    h.kind = link_kind::data;
    h.seq = static_cast<std::uint32_t>(seq);
    encode_link_header(h, *p.payload, hdr);
    e->slices.push_back({hdr, link_header_size});
    e->slices.push_back({p.payload->data(), p.payload->size()});
    e->items.push_back({seq, true, link_header_size + p.payload->size()});
    e->payloads.push_back(p.payload);
    hdr += link_header_size;
  }
  ack_due_ = false;
  emissions_.push_back(std::move(e));
  return emissions_.back()->slices;
}

void reliable_link::on_written(std::size_t n, clock::time_point now) {
  while (n > 0 && !emissions_.empty()) {
    emission& e = *emissions_.front();
    const auto& it = e.items[item_];
    const std::size_t take = std::min(n, it.wire - item_written_);
    item_written_ += take;
    n -= take;
    if (item_written_ < it.wire) break;
    if (!it.data) {
      ++stats_.acks_sent;
    } else if (out_packet* p = find(it.seq); p && p->st == out_packet::state::emitting) {
      p->st = out_packet::state::written;
      p->sent_at = now;
      p->tx = ++tx_counter_;
      if (p->retries == 0) ++stats_.packets_sent;
    }
    item_written_ = 0;
    if (++item_ == e.items.size()) {
      item_ = 0;
      emissions_.pop_front();
    }
  }
}

std::shared_ptr<const void> reliable_link::last_batch_owner() const {
  if (emissions_.empty()) return nullptr;
  return emissions_.back();
}

std::uint64_t reliable_link::take_acked() noexcept {
  return std::exchange(acked_, 0);
}

bool reliable_link::flushed() const noexcept {
  return emissions_.empty() && !wants_write();
}

void reliable_link::stop_retransmitting() noexcept {
  retransmitting_ = false;
  retransmit_.clear();
}

void reliable_link::lost(out_packet& p, bool shown_lost) {
  if (!retransmitting_ || p.st != out_packet::state::written) return;
  if (p.retries >= config_.max_retries) {
    failed_ = true;
    return;
  }
  // Only a loss the acknowledgements prove tells how noisy the line is; a timeout may be a late
  // acknowledgement.
  if (shown_lost) count_transmission(p, false);
  ++p.retries;
  ++stats_.retransmissions;
  p.st = out_packet::state::queued;
  retransmit_.push_back(p.seq);
}

// -- receiving
// -------------------------------------------------------------------------------------

void reliable_link::feed(protocol::byte_view bytes, clock::time_point now, sink deliver,
                         void* ctx) {
  decoder_.feed(bytes, [&](const link_header& h, protocol::byte_view payload) {
    on_packet(h, payload, now, deliver, ctx);
  });
}

void reliable_link::on_packet(const link_header& h, protocol::byte_view payload,
                              clock::time_point now, sink deliver, void* ctx) {
  on_ack(h.ack, h.sack, now);
  if (h.kind != link_kind::data) return;
  ack_due_ = true;  // every data packet is answered, duplicates too (their ack was lost)
  const std::uint64_t seq = widen(expected_, h.seq);
  if (seq < expected_) {
    ++stats_.duplicates;
    return;
  }
  if (seq > expected_) {
    if (seq - expected_ > link_max_window) {
      ++stats_.out_of_window;
    } else if (!held_.emplace(seq, protocol::byte_buffer{payload.begin(), payload.end()}).second) {
      ++stats_.duplicates;
    }
    return;
  }
  ++stats_.packets_received;
  ++expected_;
  if (!payload.empty()) deliver(ctx, payload);
  for (auto it = held_.begin(); it != held_.end() && it->first == expected_; it = held_.erase(it)) {
    ++stats_.packets_received;
    ++expected_;
    if (!it->second.empty()) deliver(ctx, it->second);
  }
}

std::uint32_t reliable_link::sack_bits() const noexcept {
  std::uint32_t bits = 0;
  for (const auto& [seq, payload] : held_) {
    const std::uint64_t d = seq - expected_;  // 2 … link_max_window + 1 beyond the next
    if (d >= 1 && d <= link_max_window) bits |= std::uint32_t{1} << (d - 1);
  }
  return bits;
}

void reliable_link::on_ack(std::uint32_t ack_wire, std::uint32_t sack, clock::time_point now) {
  const std::uint64_t ack = widen(base_, ack_wire);
  // Only packets handed out can have arrived: anything else is not an acknowledgement of ours.
  if (ack < base_ || ack > first_unsent_) return;
  std::uint64_t newest_arrived = 0;  // latest transmission the peer is known to have
  while (base_ < ack) {
    out_packet& p = inflight_.front();
    if (p.st == out_packet::state::written) {
      if (p.retries == 0) sample_rtt(now - p.sent_at);  // Karn: unambiguous samples only
      newest_arrived = std::max(newest_arrived, p.tx);
      count_transmission(p, true);
    }
    acked_ += p.payload->size();
    inflight_.pop_front();
    ++base_;
  }
  for (std::uint32_t i = 0; i < link_max_window; ++i) {
    if ((sack & (std::uint32_t{1} << i)) == 0) continue;
    const std::uint64_t seq = ack + 1 + i;
    if (seq >= first_unsent_) break;
    out_packet* p = find(seq);
    if (!p || p->sacked) continue;
    p->sacked = true;
    if (p->st == out_packet::state::written) {
      newest_arrived = std::max(newest_arrived, p->tx);
      count_transmission(*p, true);
    }
  }
  if (newest_arrived == 0) return;
  // The stream keeps order: a packet written before one that arrived, and not itself
  // acknowledged, was destroyed on the way. Send it again now rather than at its timeout.
  for (auto& p : inflight_)
    if (p.st == out_packet::state::written && !p.sacked && p.tx < newest_arrived) lost(p, true);
}

// -- time
// ------------------------------------------------------------------------------------------

void reliable_link::sample_rtt(clock::duration r) {
  if (srtt_ == clock::duration::zero()) {
    srtt_ = r;
    rttvar_ = r / 2;
  } else {
    const clock::duration err = srtt_ > r ? srtt_ - r : r - srtt_;
    rttvar_ = (rttvar_ * 3 + err) / 4;
    srtt_ = (srtt_ * 7 + r) / 8;
  }
  clock::duration floor = config_.min_rto;
  if (config_.bytes_per_second > 0) {
    // Two full packets on the wire: the packet itself and the one ahead of it.
    const auto wire = 2 * (link_header_size + config_.packet_payload);
    floor = std::max(floor, std::chrono::duration_cast<clock::duration>(std::chrono::microseconds{
                                wire * 1'000'000 / config_.bytes_per_second}));
  }
  rto_ = std::clamp<clock::duration>(srtt_ + 4 * rttvar_, floor, config_.max_rto);
}

reliable_link::clock::duration reliable_link::timeout_of(const out_packet& p) const noexcept {
  clock::duration t = rto_;
  for (std::uint32_t i = 0; i < p.retries && t < config_.max_rto; ++i) t *= 2;
  return std::min<clock::duration>(t, config_.max_rto);
}

void reliable_link::tick(clock::time_point now) {
  if (!retransmitting_) return;
  // As TCP does on a timeout: send the oldest packet again and restart the others' clocks. The
  // acknowledgement of that one shows which of the others were lost (and they go at once);
  // when the acknowledgements were only late, the line is not flooded with copies.
  out_packet* oldest = nullptr;
  for (auto& p : inflight_) {
    if (p.st != out_packet::state::written || p.sacked || now < p.sent_at + timeout_of(p)) continue;
    if (!oldest)
      oldest = &p;
    else
      p.sent_at = now;
  }
  if (oldest) lost(*oldest, false);
}

std::optional<reliable_link::clock::time_point> reliable_link::next_deadline() const {
  if (!retransmitting_ || failed_) return std::nullopt;
  std::optional<clock::time_point> at;
  for (const auto& p : inflight_) {
    if (p.st != out_packet::state::written || p.sacked) continue;
    const auto t = p.sent_at + timeout_of(p);
    if (!at || t < *at) at = t;
  }
  return at;
}

link_stats reliable_link::stats() const {
  link_stats s = stats_;
  s.decoder = decoder_.stats();
  s.srtt = std::chrono::duration_cast<std::chrono::microseconds>(srtt_);
  s.rto = std::chrono::duration_cast<std::chrono::microseconds>(rto_);
  s.packet_payload = packet_size();
  return s;
}

}  // namespace netcore::session
