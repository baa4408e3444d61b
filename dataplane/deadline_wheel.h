#pragma once
// The TX core's schedule: a hierarchical timer wheel of flow deadlines (TSC), so that taking
// the next due flow and putting it back costs the same with 10 flows or 100,000 (a heap's
// log n was half the TX core's time). Deadlines fall into slots of 2^kSlotShift ticks; a slot
// is due once the clock has passed its end, so a probe leaves at most one slot (a fraction
// of a microsecond) after its exact deadline, which the flow's pacing keeps without drift.
// Flows are nodes of intrusive doubly linked lists (one per slot), so adding, moving and
// removing a flow are O(1) and need no lazy deletion.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace migprobe::dataplane {

class DeadlineWheel {
 public:
  static constexpr uint32_t kNone = UINT32_MAX;
  // Ticks per slot: 512 (0.2 us at 2.5 GHz).
  static constexpr unsigned kSlotShift = 9;
  // Three levels of 1024 slots: 0.2 ms, 0.2 s and 3.7 min at 2.5 GHz. Deadlines further
  // out wait in the last slot of level 2 and are placed again when it comes up.
  static constexpr unsigned kLevelBits = 10;
  static constexpr unsigned kLevels = 3;
  static constexpr uint32_t kSlots = 1U << kLevelBits;

  // Room for flows 0 .. max_flows-1; the clock starts at now (TSC).
  DeadlineWheel(uint32_t max_flows, uint64_t now)
      : nodes_(max_flows + kLevels * kSlots), flows_(max_flows), tick_(now >> kSlotShift) {
    for (uint32_t i = 0; i < kLevels * kSlots; ++i) {
      Node& s = nodes_[flows_ + i];
      s.next = s.prev = flows_ + i;
    }
  }

  // Schedules flow at deadline (TSC), moving it if it was scheduled already.
  void schedule(uint32_t flow, uint64_t deadline) {
    Node& n = nodes_[flow];
    if (n.next != kNone) unlink(flow);
    n.deadline = deadline;
    place(flow);
  }
  // Takes flow off the schedule (nothing when it is not on it).
  void cancel(uint32_t flow) {
    if (nodes_[flow].next != kNone) unlink(flow);
  }
  bool scheduled(uint32_t flow) const { return nodes_[flow].next != kNone; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  // Takes off the schedule and returns a flow whose deadline lies in a slot wholly before
  // now (so deadline < now), earliest slots first; kNone when none is due.
  uint32_t pop_due(uint64_t now) {
    uint32_t id = kNone;
    pop_due(now, &id, 1);
    return id;
  }
  // The same for up to max flows at once, into out; returns how many.
  unsigned pop_due(uint64_t now, uint32_t* out, unsigned max) {
    const uint64_t target = now >> kSlotShift;
    unsigned n = 0;
    while (n < max && tick_ < target) {
      // Take the current slot's list from its head, as far as max allows, in one cut.
      const uint32_t head = slot_node(0, tick_);
      uint32_t id = nodes_[head].next;
      while (id != head && n < max) {
        out[n++] = id;
        const uint32_t next = nodes_[id].next;
        nodes_[id].next = kNone;
        id = next;
      }
      nodes_[head].next = id;
      nodes_[id].prev = head;
      if (id != head) break;  // max reached
      if (size_ == n) {
        // Nothing left anywhere: the clock may jump.
        tick_ = target;
        break;
      }
      advance(target);
    }
    size_ -= n;
    return n;
  }

  // The earliest TSC a flow can fall due, or UINT64_MAX with nothing scheduled: never after
  // the true next deadline (the idle loop may wake early, never late).
  uint64_t next_due_lower_bound() const {
    if (size_ == 0) return UINT64_MAX;
    uint64_t best = UINT64_MAX;
    // Level 0 holds ticks tick_ .. tick_+1023: from the current slot round to the one before.
    const uint32_t i0 = find_next(0, tick_, kSlots);
    if (i0 < kSlots) best = (tick_ + i0) << kSlotShift;
    // A higher level holds slots 1 .. 1023 after the current one of that level.
    for (unsigned level = 1; level < kLevels; ++level) {
      const unsigned shift = level * kLevelBits;
      const uint64_t block = tick_ >> shift;
      const uint32_t i = find_next(level, block + 1, kSlots - 1);
      if (i < kSlots - 1) {
        const uint64_t at = ((block + 1 + i) << shift) << kSlotShift;
        if (at < best) best = at;
      }
    }
    return best;
  }

 private:
  struct Node {
    uint64_t deadline = 0;
    uint32_t next = kNone;  // kNone: not scheduled
    uint32_t prev = kNone;
  };

  uint32_t slot_node(unsigned level, uint64_t index) const {
    return flows_ + level * kSlots + static_cast<uint32_t>(index & (kSlots - 1));
  }
  bool slot_empty(unsigned level, uint32_t index) const {
    const uint32_t h = slot_node(level, index);
    return nodes_[h].next == h;
  }

  // Links flow id into slot index of level and marks the slot in the level's bitmap.
  void link(unsigned level, uint64_t index, uint32_t id) {
    const uint32_t i = static_cast<uint32_t>(index & (kSlots - 1));
    bits_[level][i / 64] |= uint64_t{1} << (i % 64);
    const uint32_t head = slot_node(level, i);
    Node& h = nodes_[head];
    Node& n = nodes_[id];
    n.prev = head;
    n.next = h.next;
    nodes_[h.next].prev = id;
    h.next = id;
    ++size_;
  }
  void unlink(uint32_t id) {
    Node& n = nodes_[id];
    nodes_[n.prev].next = n.next;
    nodes_[n.next].prev = n.prev;
    n.next = n.prev = kNone;
    --size_;
  }

  // Puts a flow in the slot of its deadline, relative to the current tick.
  void place(uint32_t id) {
    uint64_t t = nodes_[id].deadline >> kSlotShift;
    if (t < tick_) t = tick_;  // already due: the current slot
    for (unsigned level = 0; level < kLevels; ++level) {
      const unsigned shift = level * kLevelBits;
      if ((t >> shift) - (tick_ >> shift) < kSlots) {
        link(level, t >> shift, id);
        return;
      }
    }
    // Beyond the horizon: the last slot of the top level, placed again when it comes up.
    constexpr unsigned kTop = (kLevels - 1) * kLevelBits;
    link(kLevels - 1, (tick_ >> kTop) + kSlots - 1, id);
  }

  // Moves the clock on by at least one slot, towards target (> tick_), skipping empty
  // level-0 slots and bringing the flows of a higher-level slot down when its time comes.
  void advance(uint64_t target) {
    const uint32_t cur = static_cast<uint32_t>(tick_ & (kSlots - 1));
    // The next non-empty level-0 slot of this block, if any.
    const uint32_t i = find_next(0, tick_ + 1, kSlots - 1 - cur);
    if (i < kSlots - 1 - cur) {
      const uint64_t t = tick_ + 1 + i;
      tick_ = t < target ? t : target;
      return;
    }
    // The rest of this block is empty. The next block matters when level 0 holds any of
    // its slots (those before the current one); else skip to the first higher-level slot
    // that holds flows, since crossing empty slots needs no work.
    const uint64_t block0 = tick_ - cur;
    uint64_t next = block0 + kSlots;
    if (find_next(0, block0, cur) == cur) {
      next = UINT64_MAX;
      for (unsigned level = 1; level < kLevels; ++level) {
        const unsigned shift = level * kLevelBits;
        const uint64_t from = (tick_ >> shift) + 1;
        const uint32_t j = find_next(level, from, kSlots - 1);
        if (j < kSlots - 1) next = std::min(next, (from + j) << shift);
      }
    }
    if (next > target) {
      tick_ = target;
      return;
    }
    tick_ = next;
    // Bring down the flows of every level whose slot starts here, top first.
    for (unsigned level = kLevels - 1; level >= 1; --level) {
      const unsigned shift = level * kLevelBits;
      if ((tick_ & ((uint64_t{1} << shift) - 1)) != 0) continue;
      cascade(level, tick_ >> shift);
    }
  }

  // The offset k < count of the first non-empty slot of level among from, from+1, ...
  // (circular), or count when all are empty. Bits of slots emptied since are cleared here:
  // unlinking does not know its slot.
  uint32_t find_next(unsigned level, uint64_t from, uint32_t count) const {
    uint32_t k = 0;
    while (k < count) {
      const uint32_t pos = static_cast<uint32_t>((from + k) & (kSlots - 1));
      const uint32_t take = std::min<uint32_t>(64 - pos % 64, count - k);
      uint64_t w = bits_[level][pos / 64] >> (pos % 64);
      if (take < 64) w &= (uint64_t{1} << take) - 1;
      while (w != 0) {
        const uint32_t b = static_cast<uint32_t>(__builtin_ctzll(w));
        if (!slot_empty(level, pos + b)) return k + b;
        bits_[level][(pos + b) / 64] &= ~(uint64_t{1} << ((pos + b) % 64));
        w &= w - 1;
      }
      k += take;
    }
    return count;
  }

  // Re-places every flow of one slot of a higher level.
  void cascade(unsigned level, uint64_t index) {
    const uint32_t head = slot_node(level, index);
    uint32_t id = nodes_[head].next;
    if (id == head) return;
    // Detach the whole list first: a flow may land in this very slot again (top level).
    nodes_[nodes_[head].prev].next = kNone;
    nodes_[head].next = nodes_[head].prev = head;
    while (id != kNone) {
      const uint32_t next = nodes_[id].next;
      --size_;
      place(id);
      id = next;
    }
  }

  std::vector<Node> nodes_;  // flows, then the list heads of every slot
  uint32_t flows_;
  // Per level, a bit per slot that may be non-empty (set when linked, cleared lazily).
  mutable uint64_t bits_[kLevels][kSlots / 64] = {};
  uint64_t tick_;  // current slot (TSC >> kSlotShift); level-0 slots before it are empty
  size_t size_ = 0;
};

}  // namespace migprobe::dataplane
