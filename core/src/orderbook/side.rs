//! One side of the book: a price ladder indexed by tick around the touch,
//! with a hash map for the levels far from it.
//!
//! Prices are exact integers of 10⁻⁸ ([`super::ticks`]). The side learns its
//! tick as the greatest common divisor of every price it has held (a
//! snapshot sets it at once; a later price that is not a multiple divides
//! it further and the side is re-indexed, which real streams do at most
//! once or twice). Each price becomes a *key* that grows towards the best
//! level: `price / tick` for bids, `u64::MAX − price / tick` for asks.
//!
//! The rule of the two stores (every level is kept, none is dropped):
//!
//! * the **window** is a dense array of `window` slots (keys
//!   `base .. base + window`) with an occupancy bitmap; it always holds the
//!   best level and every level up to `window` ticks better than its lowest
//!   slot: setting, removing and finding the next best level are array and
//!   bit operations, O(1) for a level near the touch;
//! * the **far map** (a hash map, put in order only when iterated past
//!   the window) holds the levels worse than the window (`key < base`), the
//!   deep book;
//! * a level better than the window's top moves the window up so that it
//!   sits at three quarters of it (the levels that fall below go to the far
//!   map); when the best level falls into the window's lowest quarter (or
//!   the window empties) the window moves down to put it at three quarters
//!   again, taking the far map's levels that now fit. Either move costs one
//!   pass over the window and happens after the touch has travelled half a
//!   window.
//!
//! With the default window of 65,536 ticks (BTCUSDT: ±$650 around the
//! touch at a 0.01 tick) 95 % of the level changes of the real recording
//! land in the window. An event's levels are set by [`BookSide::set_all`]:
//! the run of them inside the window with the side's state in registers
//! and the best level settled once at the end of the run.
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// The far map's hasher: a multiplication by an odd constant (keys are
/// tick numbers from the exchange, spread over a small range; the low bits
/// of the product are a permutation of the key's, the high bits mix them
/// all).
#[derive(Debug, Clone, Copy, Default)]
pub struct KeyHasher(u64);

impl Hasher for KeyHasher {
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    #[inline]
    fn write_u64(&mut self, key: u64) {
        self.0 = (self.0 ^ key).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

type KeyHash = BuildHasherDefault<KeyHasher>;

/// Which side a [`BookSide`] holds; the best bid is the highest price, the
/// best ask the lowest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Bid,
    Ask,
}

/// One price level: `(price, quantity)` in units of 10⁻⁸.
pub type Level = (u64, u64);

/// Default number of tick slots in a side's dense window (the Python
/// binding's default `window=65536` too).
pub const DEFAULT_WINDOW: usize = 65_536;
/// Smallest window accepted (one bitmap word).
pub const MIN_WINDOW: usize = 64;

/// Greatest common divisor (`gcd(0, x) = x`).
const fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        let t = a % b;
        a = b;
        b = t;
    }
    a
}

/// `price / tick` when `price` is a multiple of `tick`; `magic` is
/// `⌊(2⁶⁴ − 1) / tick⌋` (None for a tick of 0).
///
/// No division (a 64-bit division costs more than the rest of a level
/// update): the high half of `price × magic` is `⌊price / tick⌋` or one
/// less (`2⁶⁴/tick − 1 < magic ≤ 2⁶⁴/tick` and `price < 2⁶⁴`), settled by
/// one or two multiplications back.
#[inline]
fn ticks_of(t: u64, magic: u64, price: u64) -> Option<u64> {
    let q = ((u128::from(price) * u128::from(magic)) >> 64) as u64;
    if t == 0 {
        return None;
    }
    if q * t == price {
        return Some(q);
    }
    // (q + 1) * t <= price + t < 2^65: a wrapped product cannot equal
    // `price`
    (q.wrapping_add(1).wrapping_mul(t) == price).then(|| q + 1)
}

/// The levels of one side, best level and best `n` levels without sorting.
#[derive(Debug, Clone)]
pub struct BookSide {
    side: Side,
    /// Units of 10⁻⁸ per tick; 0 until the first price.
    tick: u64,
    /// `⌊(2⁶⁴ − 1) / tick⌋`, for [`ticks_of`].
    magic: u64,
    /// Slots of the window (a multiple of 64).
    window: usize,
    /// Key of slot 0.
    base: u64,
    /// Quantity per slot (allocated at the first level); meaningful only
    /// where the slot's bit is set, so that a change of level writes it
    /// without reading it (no load from a cold cache line).
    qty: Vec<u64>,
    /// Occupancy bitmap of the slots (bit `s % 64` of word `s / 64`): the
    /// authority on which slots hold a level.
    bits: Vec<u64>,
    /// Levels in the window.
    count: usize,
    /// Slot of the best level (meaningful while `count > 0`).
    best: usize,
    /// Levels worse than the window, by key: a hash map (a level is set
    /// or removed in O(1), without the B-tree's chain of node loads), put
    /// in order only when iterated past the window.
    far: HashMap<u64, u64, KeyHash>,
}

impl BookSide {
    /// An empty side with the default window.
    #[must_use]
    pub fn new(side: Side) -> Self {
        Self::with_window(side, DEFAULT_WINDOW)
    }

    /// An empty side whose dense window holds `window` ticks (rounded up to
    /// a multiple of 64, at least [`MIN_WINDOW`]).
    #[must_use]
    pub fn with_window(side: Side, window: usize) -> Self {
        let window = window.max(MIN_WINDOW).next_multiple_of(64);
        Self {
            side,
            tick: 0,
            magic: 0,
            window,
            base: 0,
            qty: Vec::new(),
            bits: Vec::new(),
            count: 0,
            best: 0,
            far: HashMap::default(),
        }
    }

    #[must_use]
    pub fn side(&self) -> Side {
        self.side
    }

    /// The tick learnt so far (units of 10⁻⁸; 0 before any price).
    #[must_use]
    pub fn tick(&self) -> u64 {
        self.tick
    }

    /// Slots in the dense window.
    #[must_use]
    pub fn window(&self) -> usize {
        self.window
    }

    /// Levels kept in the far map (outside the window).
    #[must_use]
    pub fn far_len(&self) -> usize {
        self.far.len()
    }

    #[inline]
    fn key_of_index(&self, idx: u64) -> u64 {
        match self.side {
            Side::Bid => idx,
            Side::Ask => u64::MAX - idx,
        }
    }

    #[inline]
    fn price_of_key(&self, key: u64) -> u64 {
        let idx = match self.side {
            Side::Bid => key,
            Side::Ask => u64::MAX - key,
        };
        idx * self.tick
    }

    /// `price / tick` when `price` is a multiple of the tick ([`ticks_of`]).
    #[inline]
    fn ticks_of(&self, price: u64) -> Option<u64> {
        ticks_of(self.tick, self.magic, price)
    }

    fn set_tick(&mut self, tick: u64) {
        self.tick = tick;
        self.magic = u64::MAX.checked_div(tick).unwrap_or(0);
    }

    /// Sets a level's absolute quantity; a quantity of 0 removes the level.
    /// Prices are positive (a price of 0 is no level and is ignored).
    #[inline]
    pub fn set(&mut self, price: u64, qty: u64) {
        let idx = if let Some(i) = self.ticks_of(price) {
            i
        } else {
            if qty == 0 || price == 0 {
                return; // no level can sit at a price off the tick grid
            }
            self.retick(price);
            price / self.tick
        };
        let key = self.key_of_index(idx);
        if self.count != 0 && key >= self.base && key - self.base < self.window as u64 {
            self.set_in_window((key - self.base) as usize, qty);
        } else if qty == 0 {
            self.remove_key(key);
        } else {
            self.insert_key(key, qty);
        }
    }

    /// Sets the levels of one event (absolute quantities, 0 removes) with
    /// the result of [`Self::set`] on each in turn. The levels inside the
    /// window are set by `set_run` (the best level settled once per
    /// run, not per level); the others one by one.
    pub fn set_all(&mut self, levels: &[Level]) {
        let mut rest = levels;
        while !rest.is_empty() {
            rest = &rest[self.set_run(rest)..];
            if let Some((&(p, q), tail)) = rest.split_first() {
                self.set(p, q);
                rest = tail;
            }
        }
    }

    /// Sets the leading levels of `levels` that fall inside a non-empty
    /// window and returns how many: the side's state in registers, no
    /// branch on insertion, change or removal, and the best level found
    /// once at the end (the highest occupied slot at or below the highest
    /// slot that held or received a level), with the window recentred as
    /// [`Self::best_removed`] would. Stops before a level off the tick grid
    /// or outside the window, and after one that empties the window.
    #[inline]
    fn set_run(&mut self, levels: &[Level]) -> usize {
        if self.count == 0 {
            return 0;
        }
        let (tick, magic, base) = (self.tick, self.magic, self.base);
        // `off < window` iff `off / 64 < words` (the window is a multiple
        // of 64 slots): one comparison proves both indices in range
        let words = self.bits.len() as u64;
        let ask = self.side == Side::Ask;
        let (bits, qty) = (&mut self.bits[..], &mut self.qty[..words as usize * 64]);
        // `n` indexes the levels and `top` is a maximum: both stay in
        // registers (a counter and a running maximum spilled to the stack
        // were chains of store-forwarded loads, level after level)
        let (mut count, mut top, mut n) = (self.count, self.best, 0);
        while let Some(&(price, q)) = levels.get(n) {
            let Some(idx) = ticks_of(tick, magic, price) else { break };
            let key = if ask { u64::MAX - idx } else { idx };
            let off = key.wrapping_sub(base);
            let word = off >> 6;
            if word >= words {
                break;
            }
            let (word, b) = (word as usize, off as usize % 64);
            let s = word * 64 + b;
            let old = bits[word];
            let present = (old >> b) & 1;
            let nonzero = u64::from(q != 0);
            bits[word] = (old & !(1 << b)) | (nonzero << b);
            qty[s] = q;
            count = count + nonzero as usize - present as usize;
            top = top.max(s & 0usize.wrapping_sub(nonzero as usize));
            n += 1;
            if count == 0 {
                break;
            }
        }
        self.count = count;
        if count == 0 {
            self.best = 0;
            if let Some(k) = self.far_best() {
                self.shift_to(k.saturating_sub(self.anchor()));
            }
        } else {
            let b = self.next_below_or_at(top);
            self.best = b;
            if b < self.window / 4 && self.base > 0 {
                self.shift_to((self.base + b as u64).saturating_sub(self.anchor()));
            }
        }
        n
    }

    /// The hot path: a level inside a non-empty window, without a branch on
    /// whether it is an insertion, a change or a removal (those are as good
    /// as random in a real stream; mispredicting them cost more than the
    /// update itself). Only an update at or above the best level branches.
    #[inline]
    fn set_in_window(&mut self, s: usize, qty: u64) {
        let (word, b) = (s / 64, s % 64);
        let old = self.bits[word];
        let present = (old >> b) & 1;
        let nonzero = u64::from(qty != 0);
        self.bits[word] = (old & !(1 << b)) | (nonzero << b);
        self.qty[s] = qty;
        self.count = self.count + nonzero as usize - present as usize;
        if s >= self.best {
            if nonzero == 1 {
                self.best = s;
            } else if s == self.best {
                self.best_removed(s);
            }
        }
    }

    /// Replaces the side with `levels` (zero quantities skipped), learning
    /// the tick from all of them first.
    pub fn load(&mut self, levels: &[Level]) {
        self.clear();
        let mut tick = self.tick;
        for &(p, q) in levels {
            if q != 0 {
                tick = gcd(tick, p);
            }
        }
        self.set_tick(tick);
        if tick == 0 {
            return;
        }
        let best = levels.iter().filter(|l| l.1 != 0).map(|&(p, _)| self.key_of_index(p / tick)).max();
        if let Some(k) = best {
            self.place(k);
        }
        for &(p, q) in levels {
            if q != 0 {
                self.insert_key(self.key_of_index(p / tick), q);
            }
        }
    }

    /// Removes every level (the tick learnt is kept).
    pub fn clear(&mut self) {
        if self.count > 0 {
            self.bits.fill(0);
        }
        self.count = 0;
        self.best = 0;
        self.far.clear();
    }

    /// Number of levels.
    #[must_use]
    pub fn len(&self) -> usize {
        self.count + self.far.len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The best level, if any.
    #[inline]
    #[must_use]
    pub fn best(&self) -> Option<Level> {
        if self.count == 0 {
            return None; // the far map is empty whenever the window is
        }
        Some((self.price_of_key(self.base + self.best as u64), self.qty[self.best]))
    }

    /// The quantity at `price` (0 when there is no level).
    #[must_use]
    pub fn qty_at(&self, price: u64) -> u64 {
        let Some(idx) = self.ticks_of(price) else { return 0 };
        let key = self.key_of_index(idx);
        if key < self.base {
            self.far.get(&key).copied().unwrap_or(0)
        } else if key - self.base < self.window as u64 && !self.qty.is_empty() {
            let s = (key - self.base) as usize;
            if self.bits[s / 64] >> (s % 64) & 1 == 1 {
                self.qty[s]
            } else {
                0
            }
        } else {
            0
        }
    }

    /// The levels, best first.
    #[must_use]
    pub fn iter_best(&self) -> BestFirst<'_> {
        let (word, mask) = if self.count == 0 {
            (None, 0)
        } else {
            let w = self.best / 64;
            (Some(w), self.bits[w] & (u64::MAX >> (63 - self.best % 64)))
        };
        BestFirst { side: self, word, mask, far: None }
    }

    /// The best `n` levels, best first.
    #[must_use]
    pub fn top(&self, n: usize) -> Vec<Level> {
        self.iter_best().take(n).collect()
    }

    /// Total quantity of the best `n` levels (exact).
    #[must_use]
    pub fn qty_top(&self, n: usize) -> u128 {
        self.iter_best().take(n).map(|(_, q)| u128::from(q)).sum()
    }

    /// Every level, best first (for re-indexing).
    fn collect_all(&self) -> Vec<Level> {
        self.iter_best().collect()
    }

    /// A price off the tick grid: the tick becomes the gcd and every level
    /// is re-indexed.
    #[cold]
    fn retick(&mut self, price: u64) {
        let levels = self.collect_all();
        self.set_tick(gcd(self.tick, price));
        self.load(&levels);
    }

    /// Positions an empty window so that `key` sits at three quarters.
    fn place(&mut self, key: u64) {
        debug_assert!(self.count == 0 && self.far.is_empty());
        if self.qty.is_empty() {
            self.qty = vec![0; self.window];
            self.bits = vec![0; self.window / 64];
        }
        self.base = key.saturating_sub(self.anchor());
    }

    /// Slot where a recentred best level goes.
    #[inline]
    fn anchor(&self) -> u64 {
        (self.window - self.window / 4) as u64
    }

    #[inline]
    fn insert_key(&mut self, key: u64, qty: u64) {
        if self.count == 0 && self.far.is_empty() {
            self.place(key);
        }
        if key < self.base {
            self.far.insert(key, qty);
            return;
        }
        if key - self.base >= self.window as u64 {
            self.shift_to(key - self.anchor());
        }
        let s = (key - self.base) as usize;
        let (word, bit) = (s / 64, 1u64 << (s % 64));
        if self.bits[word] & bit == 0 {
            self.bits[word] |= bit;
            self.count += 1;
            if self.count == 1 || s > self.best {
                self.best = s;
            }
        }
        self.qty[s] = qty;
    }

    #[inline]
    fn remove_key(&mut self, key: u64) {
        if key < self.base {
            self.far.remove(&key);
            return;
        }
        let off = key - self.base;
        if off >= self.window as u64 || self.qty.is_empty() {
            return;
        }
        let s = off as usize;
        let (word, bit) = (s / 64, 1u64 << (s % 64));
        if self.bits[word] & bit == 0 {
            return;
        }
        self.bits[word] &= !bit;
        self.count -= 1;
        if s == self.best {
            self.best_removed(s);
        }
    }

    /// The best level, at slot `s`, was removed: the next one below in the
    /// window, else the far map's best; recentres the window when the best
    /// falls into its lowest quarter or out of it.
    fn best_removed(&mut self, s: usize) {
        if let Some(b) = self.next_below(s) {
            self.best = b;
            if b < self.window / 4 && self.base > 0 {
                self.shift_to((self.base + b as u64).saturating_sub(self.anchor()));
            }
        } else {
            self.best = 0;
            if let Some(k) = self.far_best() {
                self.shift_to(k.saturating_sub(self.anchor()));
            }
        }
    }

    /// The far map's best key (a pass over it: only when the window has
    /// emptied).
    #[cold]
    fn far_best(&self) -> Option<u64> {
        self.far.keys().copied().max()
    }

    /// The highest occupied slot below `s`.
    #[inline]
    fn next_below(&self, s: usize) -> Option<usize> {
        let mut w = s / 64;
        let mut m = self.bits[w] & ((1u64 << (s % 64)) - 1);
        loop {
            if m != 0 {
                return Some(w * 64 + 63 - m.leading_zeros() as usize);
            }
            if w == 0 {
                return None;
            }
            w -= 1;
            m = self.bits[w];
        }
    }

    /// Moves the window to start at key `new_base`: levels below it go to
    /// the far map, far levels that fit come in. Never leaves a level above
    /// the window (callers move it up for a better key, down only under the
    /// best).
    #[cold]
    fn shift_to(&mut self, new_base: u64) {
        let w = self.window;
        if new_base == self.base {
            return;
        }
        // the free slots' stale quantities become zeros: below, a zero
        // quantity is a free slot
        for (i, &word) in self.bits.iter().enumerate() {
            for (j, q) in self.qty[i * 64..i * 64 + 64].iter_mut().enumerate() {
                if word >> j & 1 == 0 {
                    *q = 0;
                }
            }
        }
        if new_base > self.base {
            let d = new_base - self.base;
            let keep_from = usize::try_from(d).unwrap_or(w).min(w);
            for s in 0..keep_from {
                if self.qty[s] != 0 {
                    self.far.insert(self.base + s as u64, self.qty[s]);
                }
            }
            self.qty.copy_within(keep_from.., 0);
            self.qty[w - keep_from..].fill(0);
        } else if new_base < self.base {
            let d = self.base - new_base;
            let by = usize::try_from(d).unwrap_or(w).min(w);
            self.qty.copy_within(..w - by, by);
            self.qty[..by].fill(0);
            let mut moved = Vec::new();
            self.far.retain(|&k, &mut q| {
                let stays = k < new_base;
                if !stays {
                    moved.push((k, q));
                }
                stays
            });
            for (k, q) in moved {
                self.qty[(k - new_base) as usize] = q;
            }
        }
        self.base = new_base;
        self.count = 0;
        for (i, word) in self.bits.iter_mut().enumerate() {
            let mut b = 0u64;
            for (j, &q) in self.qty[i * 64..i * 64 + 64].iter().enumerate() {
                b |= u64::from(q != 0) << j;
            }
            *word = b;
            self.count += b.count_ones() as usize;
        }
        self.best = if self.count == 0 { 0 } else { self.next_below_or_at(w - 1) };
    }

    fn next_below_or_at(&self, s: usize) -> usize {
        if self.bits[s / 64] >> (s % 64) & 1 == 1 {
            s
        } else {
            self.next_below(s).unwrap_or(0)
        }
    }
}

/// Iterator over a side's levels, best first: the window's occupied slots
/// downwards, then the far map.
pub struct BestFirst<'a> {
    side: &'a BookSide,
    /// Current bitmap word (None once the window is done).
    word: Option<usize>,
    /// Bits of that word still to visit.
    mask: u64,
    /// The far map's levels, best first, sorted once the window is done.
    far: Option<std::vec::IntoIter<Level>>,
}

impl Iterator for BestFirst<'_> {
    type Item = Level;

    #[inline]
    fn next(&mut self) -> Option<Level> {
        while let Some(w) = self.word {
            if self.mask != 0 {
                let b = 63 - self.mask.leading_zeros() as usize;
                self.mask &= !(1 << b);
                let s = w * 64 + b;
                let side = self.side;
                return Some((side.price_of_key(side.base + s as u64), side.qty[s]));
            }
            if w == 0 {
                self.word = None;
            } else {
                self.word = Some(w - 1);
                self.mask = self.side.bits[w - 1];
            }
        }
        let side = self.side;
        let far = self.far.get_or_insert_with(|| {
            let mut levels: Vec<Level> = side.far.iter().map(|(&k, &q)| (k, q)).collect();
            levels.sort_unstable_by_key(|&(k, _)| std::cmp::Reverse(k));
            levels.into_iter()
        });
        far.next().map(|(k, q)| (side.price_of_key(k), q))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    #[test]
    fn bids_are_best_when_highest_and_asks_when_lowest() {
        let mut b = BookSide::new(Side::Bid);
        let mut a = BookSide::new(Side::Ask);
        for (p, q) in [(100, 1), (102, 2), (101, 3)] {
            b.set(p, q);
            a.set(p, q);
        }
        assert_eq!(b.best(), Some((102, 2)));
        assert_eq!(a.best(), Some((100, 1)));
        assert_eq!(b.top(2), vec![(102, 2), (101, 3)]);
        assert_eq!(a.top(5), vec![(100, 1), (101, 3), (102, 2)]);
        assert_eq!(b.qty_top(2), 5);
    }

    #[test]
    fn zero_quantity_removes_the_level() {
        let mut b = BookSide::new(Side::Bid);
        b.set(100, 1);
        b.set(100, 0);
        b.set(99, 0);
        assert!(b.is_empty());
        assert_eq!(b.best(), None);
        assert_eq!(b.qty_at(100), 0);
    }

    /// The reference: a B-tree of the same levels.
    fn reference_top(r: &BTreeMap<u64, u64>, side: Side) -> Vec<Level> {
        match side {
            Side::Bid => r.iter().rev().map(|(&p, &q)| (p, q)).collect(),
            Side::Ask => r.iter().map(|(&p, &q)| (p, q)).collect(),
        }
    }

    fn check(s: &BookSide, r: &BTreeMap<u64, u64>) {
        let want = reference_top(r, s.side());
        assert_eq!(s.iter_best().collect::<Vec<_>>(), want);
        assert_eq!(s.best(), want.first().copied());
        assert_eq!(s.len(), r.len());
    }

    #[test]
    fn the_touch_moves_beyond_the_window_both_ways() {
        const T: u64 = 1_000_000; // a 0.01 tick
        for side in [Side::Bid, Side::Ask] {
            let mut s = BookSide::with_window(side, 64);
            let mut r = BTreeMap::new();
            let mut put = |s: &mut BookSide, p: u64, q: u64| {
                s.set(p * T, q);
                if q == 0 {
                    r.remove(&(p * T));
                } else {
                    r.insert(p * T, q);
                }
                check(s, &r);
            };
            for p in 1000..1040 {
                put(&mut s, p, p);
            }
            // far beyond the window, on the best side and the worst side
            put(&mut s, 5000, 7);
            put(&mut s, 10, 3);
            put(&mut s, 1_000_000, 2);
            // removing the best levels one by one walks back through the
            // window and the far map
            put(&mut s, 1_000_000, 0);
            put(&mut s, 5000, 0);
            put(&mut s, 10, 0);
            for p in (1000..1040).rev() {
                put(&mut s, p, 0);
            }
            assert!(s.is_empty());
            put(&mut s, 3, 1);
            assert_eq!(s.far_len() + 1, s.len());
        }
    }

    #[test]
    fn removing_the_best_falls_back_to_the_far_map() {
        let mut s = BookSide::with_window(Side::Bid, 64);
        s.set(10_000, 5);
        s.set(100, 1); // far below the window
        s.set(50, 2);
        assert_eq!(s.far_len(), 2);
        s.set(10_000, 0);
        assert_eq!(s.best(), Some((100, 1)));
        assert_eq!(s.top(3), vec![(100, 1), (50, 2)]);
        s.set(100, 0);
        s.set(50, 0);
        assert_eq!(s.best(), None);
    }

    #[test]
    fn a_finer_price_refines_the_tick() {
        let mut s = BookSide::new(Side::Ask);
        s.load(&[(2_000_000, 1), (4_000_000, 2), (9_000_000, 0)]);
        assert_eq!(s.tick(), 2_000_000);
        s.set(3_000_000, 0); // off the grid: nothing to remove
        assert_eq!(s.tick(), 2_000_000);
        s.set(3_000_000, 5);
        assert_eq!(s.tick(), 1_000_000);
        assert_eq!(s.top(5), vec![(2_000_000, 1), (3_000_000, 5), (4_000_000, 2)]);
        assert_eq!(s.qty_at(3_000_000), 5);
        assert_eq!(s.qty_at(3_000_001), 0);
    }

    #[test]
    fn ticks_of_at_the_ends_of_the_range() {
        for (tick, price) in [
            (1, u64::MAX),
            (1, 0),
            (1, 1),
            (2, u64::MAX - 1),
            (2, u64::MAX),
            (3, u64::MAX),
            (u64::MAX, u64::MAX),
            (u64::MAX, u64::MAX - 1),
            (u64::MAX - 1, u64::MAX - 1),
            (1 << 63, 1 << 63),
            ((1 << 32) + 1, u64::MAX),
            (1_000_000, 18_446_744_073_709_000_000),
            (1_000_000, 18_446_744_073_709_000_001),
        ] {
            let want = (price % tick == 0).then(|| price / tick);
            assert_eq!(ticks_of(tick, u64::MAX / tick, price), want, "price {price} tick {tick}");
        }
        assert_eq!(ticks_of(0, 0, 5), None);
    }

    proptest! {
        /// The quotient from the multiplication equals the integer division.
        #[test]
        fn ticks_of_is_exact(tick in 1u64..u64::MAX, k in 0u64..1 << 40, off in 0u64..3, big in any::<u64>()) {
            let mut s = BookSide::new(Side::Bid);
            s.set_tick(tick);
            for price in [k.wrapping_mul(tick).wrapping_add(off), big, k, k * (tick % 1_000_000 + 1)] {
                let want = (price % tick == 0).then(|| price / tick);
                prop_assert_eq!(s.ticks_of(price), want, "price {} tick {}", price, tick);
            }
        }

        /// Events of several levels (sorted best first, as Binance sends
        /// them, or in any order) set with `set_all`: the same book as the
        /// reference after every event, small windows so that runs stop at
        /// the window's edges, at the far map and at an emptied window.
        #[test]
        fn set_all_equals_a_btree(
            side in prop_oneof![Just(Side::Bid), Just(Side::Ask)],
            window in prop_oneof![Just(64usize), Just(128), Just(1024)],
            sorted in any::<bool>(),
            events in proptest::collection::vec(
                (proptest::collection::vec((-60i64..60, 0u64..4, 0u8..3), 0..30), -3i64..4),
                1..60,
            ),
        ) {
            let tick = 1_000u64;
            let mut s = BookSide::with_window(side, window);
            let mut r: BTreeMap<u64, u64> = BTreeMap::new();
            let mut mid: i64 = 100_000;
            for (ops, step) in events {
                mid = (mid + step * 41).max(500);
                let mut levels: Vec<Level> = ops
                    .iter()
                    .map(|&(off, q, kind)| {
                        let p = match kind {
                            0 => (mid + off * 40).max(1),
                            1 => (mid + off).max(1),
                            _ => match reference_top(&r, side).first() {
                                Some(&(bp, _)) => (bp / tick) as i64 + off % 3,
                                None => mid,
                            }
                            .max(1),
                        };
                        (p as u64 * tick, q)
                    })
                    .collect();
                if sorted {
                    levels.sort_by_key(|&(p, _)| p);
                    levels.dedup_by_key(|l| l.0);
                    if side == Side::Bid {
                        levels.reverse();
                    }
                }
                s.set_all(&levels);
                for &(p, q) in &levels {
                    if q == 0 { r.remove(&p); } else { r.insert(p, q); }
                }
                check(&s, &r);
            }
        }

        /// Random walks of a touch with levels set and removed around it,
        /// small windows so that the window moves all the time.
        #[test]
        fn ladder_equals_a_btree(
            side in prop_oneof![Just(Side::Bid), Just(Side::Ask)],
            window in prop_oneof![Just(64usize), Just(128), Just(1024)],
            ops in proptest::collection::vec((-40i64..40, 0u64..4, 0u8..4, -3i64..4), 1..400),
        ) {
            let tick = 1_000u64;
            let mut s = BookSide::with_window(side, window);
            let mut r: BTreeMap<u64, u64> = BTreeMap::new();
            let mut mid: i64 = 100_000;
            for (off, q, kind, step) in ops {
                mid = (mid + step * 37).max(500);
                let p = match kind {
                    0 => (mid + off * 50).max(1),           // far, either side
                    1 => (mid + off).max(1),                // near the touch
                    2 => match reference_top(&r, side).first() { // the best itself
                        Some(&(bp, _)) => (bp / tick) as i64,
                        None => mid,
                    },
                    _ => (mid - 5000 + off).max(1),         // deep
                } as u64 * tick;
                s.set(p, q);
                if q == 0 { r.remove(&p); } else { r.insert(p, q); }
                check(&s, &r);
            }
        }
    }
}
