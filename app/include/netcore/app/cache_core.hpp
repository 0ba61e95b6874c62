#pragma once

// The cache's state in plain C++: entries with a per-entry TTL, a count and a weight bound with
// least-recently-used eviction, the expiry order a single timer follows, and the bookkeeping of
// get-or-compute loads (one computation per key, the other callers wait for it). No I/O, no
// threads, no clock: the owner (the cache actor) passes the time in and arms one timer at
// next_expiry().

#include <chrono>
#include <cstdint>
#include <limits>
#include <list>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace netcore::app {

/// The bounds of one cache. Every structure it keeps is bounded by them: entries (and with them
/// the recency list and the expiry index), their total weight, and the callers waiting on loads
/// (and with them the loads in flight, each of which has at least one).
struct cache_limits {
  /// At most this many entries; 0 stores nothing (every set answers set_result::too_large).
  std::size_t max_entries = 100'000;
  /// The entries' weights sum to at most this; 0 = no weight bound.
  std::uint64_t max_weight = 0;
  /// At most this many callers registered with begin_load() across all keys, the computing
  /// ones included; 0 refuses every load.
  std::size_t max_waiters = 65'536;
};

/// Counters since construction (clear() resets none of them) and current gauges.
struct cache_stats {
  std::uint64_t hits = 0;           ///< get() found a live entry.
  std::uint64_t misses = 0;         ///< get() found none, or one whose time was up.
  std::uint64_t loads = 0;          ///< Loads finished successfully.
  std::uint64_t load_failures = 0;  ///< Loads finished unsuccessfully.
  std::uint64_t evictions = 0;      ///< Live entries removed to make room for another.
  std::uint64_t expirations = 0;    ///< Entries removed because their time was up.
  std::size_t entries = 0;          ///< Entries stored now (see cache_core::size()).
  std::uint64_t weight = 0;         ///< Their total weight.
  std::size_t timed = 0;            ///< Entries with a TTL: the size of the expiry index.
  std::size_t loading = 0;          ///< Loads in flight (keys between begin and finish_load).
  std::size_t waiters = 0;          ///< Callers registered with those loads.
};

/// What set() did.
enum class set_result {
  stored,     ///< The entry is stored.
  too_large,  ///< Refused: its weight exceeds max_weight (or max_entries is 0).
  bad_ttl,    ///< Refused: the TTL is negative.
};

/// What a caller of begin_load() does next.
enum class load_role {
  compute,  ///< No load for the key was in flight: this caller computes the value.
  wait,     ///< Another caller computes it: this one waits for finish_load() to name it.
};

/// The end of a load, from finish_load().
struct load_result {
  /// The ids of every caller registered for the key, in arrival order, the computing one first;
  /// each is to be answered with the load's outcome. Empty when no load for the key was in
  /// flight.
  std::vector<std::uint64_t> waiters;
  /// True when set(), erase() or clear() touched the key while it was loading: the computed
  /// value may predate that change, and the owner may prefer not to store it.
  bool superseded = false;
};

/// The pure core of a cache mapping strings to values of type `V` (which need only be movable).
///
/// Time. Every entry has a TTL fixed by the set() that stored it; a TTL of zero means the entry
/// never expires (unlike the Python library this follows, where 0 meant "the default TTL"). An
/// entry set at `t` with a positive TTL `d` is live before `t + d` and dead from `t + d` on
/// (saturating at clock::time_point::max()). A dead entry is never answered: get() and erase()
/// treat it as absent and remove it; expire() removes all of them, driven by the owner's timer.
///
/// Room. Storing a new entry first removes dead entries if the bounds would not hold otherwise,
/// then evicts live entries, least recently used first, until both bounds hold with the new
/// entry. A get() hit and a set() make an entry the most recently used.
///
/// Loads. begin_load() and finish_load() only keep the books of who computes and who waits;
/// storing a loaded value is the owner's call (set()), so a failed load caches nothing unless the
/// owner asks. Loads are independent of the entries: erase() and clear() leave them in flight
/// (marking them superseded), and the cache itself is not consulted by begin_load().
///
/// Complexity: get, erase and set O(1) amortised, plus O(log n) in the expiry index for entries
/// with a TTL; evictions and expirations O(1) amortised per entry removed.
///
/// Thread safety: none; one owner drives it. If an allocation throws, the cache stays
/// consistent (the key being set may then be absent).
template <class V>
class cache_core {
 public:
  using clock = std::chrono::steady_clock;

  /// An empty cache with these bounds.
  explicit cache_core(cache_limits limits = {}) : limits_(limits) {}
  cache_core(const cache_core&) = delete;
  cache_core& operator=(const cache_core&) = delete;
  /// Moving keeps every entry, load and counter; a moved-from cache may only be destroyed or
  /// assigned to.
  cache_core(cache_core&&) = default;
  cache_core& operator=(cache_core&&) = default;

  // -- entries -----------------------------------------------------------------------------------

  /// Stores `value` under `key` at `now`, replacing whatever was there (its value, weight and
  /// TTL are forgotten): expiring at `now + ttl`, never when `ttl` is zero; `weight` counts
  /// against max_weight (0 is allowed). Makes room as described above. Errors:
  /// set_result::bad_ttl (ttl < 0), set_result::too_large (weight > max_weight, or
  /// max_entries == 0). A refused set still removes the key's previous entry, so the key never
  /// answers a value older than the last set of it. Marks a load of `key` superseded.
  set_result set(const std::string& key, V value, clock::duration ttl, clock::time_point now,
                 std::uint64_t weight = 1);

  /// The live value under `key` at `now`, or null (a miss). A hit makes the entry the most
  /// recently used (its TTL stays). A dead entry is removed and counted as an expiration (and the
  /// get as a miss). The pointer stays valid until the next call of a non-const member.
  const V* get(const std::string& key, clock::time_point now);

  /// Removes the entry under `key`; true when it was live at `now`. A dead one is removed too,
  /// counted as an expiration, and answers false. Marks a load of `key` superseded (whether or
  /// not there was an entry).
  bool erase(const std::string& key, clock::time_point now);

  /// Removes every entry, counting none as evicted or expired. Loads in flight stay, each marked
  /// superseded. The counters stay.
  void clear();

  /// Removes every entry dead at `now`; returns how many (each counted as an expiration).
  std::size_t expire(clock::time_point now);

  /// The earliest time an entry stored now dies, or nothing when no entry has a TTL. It may be
  /// at or before the time the owner last passed in (an entry died and expire() has not run):
  /// the owner's single timer should then fire at once.
  std::optional<clock::time_point> next_expiry() const {
    if (index_.empty()) return std::nullopt;
    return index_.begin()->first;
  }

  /// Entries stored, including dead ones that have not been removed yet.
  std::size_t size() const noexcept { return entries_.size(); }

  // -- loads -------------------------------------------------------------------------------------

  /// Registers caller `waiter` (an id of the owner's choosing, not interpreted) for a load of
  /// `key`: load_role::compute when none was in flight (this caller computes the value, then the
  /// owner calls finish_load()), load_role::wait otherwise. Nothing when max_waiters callers are
  /// registered already (the caller is not registered).
  std::optional<load_role> begin_load(const std::string& key, std::uint64_t waiter);

  /// Ends the load of `key`: counts it as a load or a load failure and returns the callers to
  /// answer (see load_result); the next begin_load() for `key` computes again. Stores nothing.
  /// When no load of `key` is in flight: an empty result, nothing counted.
  load_result finish_load(const std::string& key, bool succeeded);

  /// True while a load of `key` is in flight.
  bool loading(const std::string& key) const { return loads_.count(key) != 0; }

  // -- state -------------------------------------------------------------------------------------

  /// The counters, with the gauges filled in.
  cache_stats stats() const;
  /// The bounds.
  const cache_limits& limits() const noexcept { return limits_; }

 private:
  struct entry;
  using node = std::pair<const std::string, entry>;  // an element of entries_, address stable
  using recency_list = std::list<node*>;             // most recently used first
  using expiry_index = std::multimap<clock::time_point, node*>;
  struct entry {
    entry(V v, std::uint64_t w) : value(std::move(v)), weight(w) {}
    V value;
    std::uint64_t weight;
    typename recency_list::iterator recency{};
    bool timed = false;  // false: never expires, `expiry` is unused
    typename expiry_index::iterator expiry{};
  };
  struct load {
    std::vector<std::uint64_t> waiters;
    bool superseded = false;
  };
  using entry_map = std::unordered_map<std::string, entry>;

  std::uint64_t weight_limit() const noexcept {
    return limits_.max_weight == 0 ? std::numeric_limits<std::uint64_t>::max() : limits_.max_weight;
  }
  bool dead(const entry& e, clock::time_point now) const noexcept {
    return e.timed && e.expiry->first <= now;
  }
  bool lacks_room(std::uint64_t weight) const noexcept {
    return entries_.size() >= limits_.max_entries || weight > weight_limit() - weight_;
  }
  void make_room(std::uint64_t weight, clock::time_point now);
  void remove(typename entry_map::iterator it);
  void supersede(const std::string& key);

  cache_limits limits_;
  entry_map entries_;
  recency_list recency_;
  expiry_index index_;
  std::uint64_t weight_ = 0;
  std::unordered_map<std::string, load> loads_;
  std::size_t waiters_ = 0;
  cache_stats counters_;  // the counters only; stats() adds the gauges
};

}  // namespace netcore::app

#include <netcore/app/detail/cache_core_impl.hpp>
