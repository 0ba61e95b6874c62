#pragma once

// The member definitions of netcore::app::cache_core (included by netcore/app/cache_core.hpp).

#include <netcore/app/cache_core.hpp>

namespace netcore::app {

template <class V>
set_result cache_core<V>::set(const std::string& key, V value, clock::duration ttl,
                              clock::time_point now, std::uint64_t weight) {
  supersede(key);
  if (auto it = entries_.find(key); it != entries_.end()) remove(it);
  if (ttl < clock::duration::zero()) return set_result::bad_ttl;
  if (limits_.max_entries == 0 || weight > weight_limit()) return set_result::too_large;
  make_room(weight, now);
  // Allocate everything before linking, undoing on failure, so a throw leaves no dangling node.
  auto it = entries_.try_emplace(key, std::move(value), weight).first;
  node* n = &*it;
  try {
    recency_.push_front(n);
  } catch (...) {
    entries_.erase(it);
    throw;
  }
  n->second.recency = recency_.begin();
  if (ttl != clock::duration::zero()) {
    // now + ttl, saturating (max() - now cannot overflow unless now is before the epoch, and
    // then now + ttl cannot).
    const bool fits = now < clock::time_point{} || ttl <= clock::time_point::max() - now;
    const auto deadline = fits ? now + ttl : clock::time_point::max();
    try {
      n->second.expiry = index_.emplace(deadline, n);
    } catch (...) {
      recency_.pop_front();
      entries_.erase(it);
      throw;
    }
    n->second.timed = true;
  }
  weight_ += weight;
  return set_result::stored;
}

template <class V>
const V* cache_core<V>::get(const std::string& key, clock::time_point now) {
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    ++counters_.misses;
    return nullptr;
  }
  if (dead(it->second, now)) {
    remove(it);
    ++counters_.expirations;
    ++counters_.misses;
    return nullptr;
  }
  recency_.splice(recency_.begin(), recency_, it->second.recency);
  ++counters_.hits;
  return &it->second.value;
}

template <class V>
bool cache_core<V>::erase(const std::string& key, clock::time_point now) {
  supersede(key);
  auto it = entries_.find(key);
  if (it == entries_.end()) return false;
  const bool live = !dead(it->second, now);
  if (!live) ++counters_.expirations;
  remove(it);
  return live;
}

template <class V>
void cache_core<V>::clear() {
  index_.clear();
  recency_.clear();
  entries_.clear();
  weight_ = 0;
  for (auto& [key, l] : loads_) l.superseded = true;
}

template <class V>
std::size_t cache_core<V>::expire(clock::time_point now) {
  std::size_t n = 0;
  while (!index_.empty() && index_.begin()->first <= now) {
    remove(entries_.find(index_.begin()->second->first));
    ++n;
  }
  counters_.expirations += n;
  return n;
}

template <class V>
std::optional<load_role> cache_core<V>::begin_load(const std::string& key, std::uint64_t waiter) {
  if (waiters_ >= limits_.max_waiters) return std::nullopt;
  auto [it, fresh] = loads_.try_emplace(key);
  try {
    it->second.waiters.push_back(waiter);
  } catch (...) {
    if (fresh) loads_.erase(it);
    throw;
  }
  ++waiters_;
  return fresh ? load_role::compute : load_role::wait;
}

template <class V>
load_result cache_core<V>::finish_load(const std::string& key, bool succeeded) {
  auto it = loads_.find(key);
  if (it == loads_.end()) return {};
  load_result r{std::move(it->second.waiters), it->second.superseded};
  loads_.erase(it);
  waiters_ -= r.waiters.size();
  ++(succeeded ? counters_.loads : counters_.load_failures);
  return r;
}

template <class V>
cache_stats cache_core<V>::stats() const {
  cache_stats s = counters_;
  s.entries = entries_.size();
  s.weight = weight_;
  s.timed = index_.size();
  s.loading = loads_.size();
  s.waiters = waiters_;
  return s;
}

template <class V>
void cache_core<V>::make_room(std::uint64_t weight, clock::time_point now) {
  if (!lacks_room(weight)) return;
  expire(now);  // the dead go first: no live entry is evicted while a dead one takes its room
  // Terminates: weight <= weight_limit() and max_entries >= 1, so an empty cache has room.
  while (lacks_room(weight)) {
    remove(entries_.find(recency_.back()->first));
    ++counters_.evictions;
  }
}

template <class V>
void cache_core<V>::remove(typename entry_map::iterator it) {
  entry& e = it->second;
  recency_.erase(e.recency);
  if (e.timed) index_.erase(e.expiry);
  weight_ -= e.weight;
  entries_.erase(it);
}

template <class V>
void cache_core<V>::supersede(const std::string& key) {
  if (auto it = loads_.find(key); it != loads_.end()) it->second.superseded = true;
}

}  // namespace netcore::app
