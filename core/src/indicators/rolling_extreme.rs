//! Rolling highest/lowest value with TA-Lib's exact semantics, in amortized
//! O(1) per bar.
//!
//! TA-Lib (`MAX`, `MIN`, the Fast-K window of `STOCH`) keeps the current
//! extreme and its index, and rescans the window from its oldest bar when
//! that index leaves it. For NaN-free data the result is simply the window's
//! extreme; with NaNs it depends on when rescans happen: a rescan that starts
//! on a NaN yields NaN (and rescans again on the next bar), otherwise NaNs
//! are skipped. Ties matter too, since they move the index: a rescan keeps
//! the oldest of equal extremes, a new bar equal to the extreme takes over.
//!
//! This type replays that state machine exactly, but answers each rescan from
//! a monotonic deque of the window's non-NaN values instead of scanning, so a
//! bar costs amortized O(1) rather than O(period).

/// A fixed-capacity double-ended queue (a power-of-two ring): the monotonic
/// deques never hold more than `period + 1` entries, so this never grows,
/// and its index arithmetic is a mask (cheaper per bar than `VecDeque`'s
/// wrap-around, which the per-kline pipeline pays four times a bar).
#[derive(Debug, Clone)]
struct Ring<T> {
    buf: Box<[T]>,
    mask: usize,
    /// Absolute positions of the front and one past the back.
    head: usize,
    tail: usize,
}

impl<T: Copy + Default> Ring<T> {
    /// Room for at least `min_cap` entries.
    fn new(min_cap: usize) -> Self {
        let cap = min_cap.max(1).next_power_of_two();
        Self { buf: vec![T::default(); cap].into_boxed_slice(), mask: cap - 1, head: 0, tail: 0 }
    }

    #[inline]
    fn front(&self) -> Option<T> {
        (self.head != self.tail).then(|| self.buf[self.head & self.mask])
    }

    #[inline]
    fn back(&self) -> Option<T> {
        (self.head != self.tail).then(|| self.buf[self.tail.wrapping_sub(1) & self.mask])
    }

    #[inline]
    fn pop_front(&mut self) {
        self.head = self.head.wrapping_add(1);
    }

    #[inline]
    fn pop_back(&mut self) {
        self.tail = self.tail.wrapping_sub(1);
    }

    #[inline]
    fn push_back(&mut self, v: T) {
        debug_assert!(self.tail.wrapping_sub(self.head) < self.buf.len(), "ring overflow");
        self.buf[self.tail & self.mask] = v;
        self.tail = self.tail.wrapping_add(1);
    }

    fn clear(&mut self) {
        self.head = 0;
        self.tail = 0;
    }
}

/// The rolling highest (`HIGHEST = true`) or lowest value of the last
/// `period` bars, NaN until `period` bars were seen.
#[derive(Debug, Clone)]
pub(crate) struct RollingExtreme<const HIGHEST: bool> {
    period: usize,
    /// Bars seen so far; also the position of the next bar.
    seen: usize,
    /// (position, value) of non-NaN bars, values monotonic from the front
    /// (non-increasing for a maximum); equal values are kept, oldest first.
    deque: Ring<(usize, f64)>,
    /// Positions of NaN bars still in the window.
    nans: Ring<usize>,
    /// TA-Lib's current extreme and its position (`None` before the first).
    current: Option<(usize, f64)>,
}

/// Rolling maximum.
pub(crate) type RollingMax = RollingExtreme<true>;
/// Rolling minimum.
pub(crate) type RollingMin = RollingExtreme<false>;

impl<const HIGHEST: bool> RollingExtreme<HIGHEST> {
    /// A tracker over windows of `period >= 1` bars.
    pub(crate) fn new(period: usize) -> Self {
        // a bar is pushed before the one leaving the window is popped: period + 1
        Self { period, seen: 0, deque: Ring::new(period + 1), nans: Ring::new(period + 1), current: None }
    }

    /// `a` strictly beats `b` (false when either is NaN).
    #[inline]
    fn beats(a: f64, b: f64) -> bool {
        if HIGHEST {
            a > b
        } else {
            a < b
        }
    }

    /// `a` is at least as extreme as `b` (false when either is NaN).
    #[inline]
    fn at_least(a: f64, b: f64) -> bool {
        if HIGHEST {
            a >= b
        } else {
            a <= b
        }
    }

    /// Feeds one bar; returns the extreme of the window ending on it.
    #[inline(always)]
    #[allow(clippy::inline_always)] // inlined into the engine's dispatched batch loops
    pub(crate) fn update(&mut self, x: f64) -> f64 {
        let today = self.seen;
        self.seen += 1;
        if x.is_nan() {
            self.nans.push_back(today);
        } else {
            while self.deque.back().is_some_and(|(_, v)| Self::beats(x, v)) {
                self.deque.pop_back();
            }
            self.deque.push_back((today, x));
        }
        if self.seen < self.period {
            return f64::NAN;
        }
        let oldest = self.seen - self.period;
        while self.deque.front().is_some_and(|(pos, _)| pos < oldest) {
            self.deque.pop_front();
        }
        while self.nans.front().is_some_and(|pos| pos < oldest) {
            self.nans.pop_front();
        }
        let next = match self.current {
            // Still inside the window: a bar at least as extreme takes over.
            Some((pos, v)) if pos >= oldest => {
                if Self::at_least(x, v) {
                    (today, x)
                } else {
                    (pos, v)
                }
            }
            // Left the window (or first window): TA-Lib rescans from `oldest`.
            _ => {
                if self.nans.front() == Some(oldest) {
                    (oldest, f64::NAN)
                } else {
                    self.deque.front().unwrap_or((oldest, f64::NAN))
                }
            }
        };
        self.current = Some(next);
        next.1
    }

    /// Forgets every bar, keeping the period.
    pub(crate) fn reset(&mut self) {
        self.seen = 0;
        self.deque.clear();
        self.nans.clear();
        self.current = None;
    }
}

/// TA-Lib's own rescanning state machine: keeps the extreme and its index,
/// rescans the window when that index leaves it. Used by the batch paths,
/// where a rescan over contiguous memory is cheap, and as the reference the
/// deque is tested against.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rescan<const HIGHEST: bool> {
    idx: usize,
    extreme: f64,
    have: bool,
}

impl<const HIGHEST: bool> Rescan<HIGHEST> {
    pub(crate) fn new() -> Self {
        Self { idx: 0, extreme: 0.0, have: false }
    }

    /// The extreme of `window`, whose first bar has index `oldest`, given
    /// the state left by the previous (one bar earlier) window.
    #[inline]
    pub(crate) fn step(&mut self, window: &[f64], oldest: usize) -> f64 {
        if !self.have || self.idx < oldest {
            self.have = true;
            if let Some((&first, rest)) = window.split_first() {
                self.idx = oldest;
                self.extreme = first;
                for (i, &w) in rest.iter().enumerate() {
                    if RollingExtreme::<HIGHEST>::beats(w, self.extreme) {
                        self.idx = oldest + 1 + i;
                        self.extreme = w;
                    }
                }
            }
        } else if let Some(&v) = window.last() {
            if RollingExtreme::<HIGHEST>::at_least(v, self.extreme) {
                self.idx = oldest + window.len() - 1;
                self.extreme = v;
            }
        }
        self.extreme
    }
}

/// The extreme of each full window of `x` (TA-Lib `MAX`/`MIN`), lazily:
/// `x.len() - period + 1` values (none if `x` is shorter).
pub(crate) fn rescan<const HIGHEST: bool>(x: &[f64], period: usize) -> impl Iterator<Item = f64> + '_ {
    let mut state = Rescan::<HIGHEST>::new();
    x.windows(period).enumerate().map(move |(oldest, window)| state.step(window, oldest))
}

/// The highest of `a` and `b`, `b` on a tie (one compare and select; no
/// NaN handling).
#[inline(always)]
#[allow(clippy::inline_always)] // compiled inside the dispatched kernel
fn hi(a: f64, b: f64) -> f64 {
    if a > b {
        a
    } else {
        b
    }
}

/// The lowest of `a` and `b`, `b` on a tie.
#[inline(always)]
#[allow(clippy::inline_always)] // compiled inside the dispatched kernel
fn lo(a: f64, b: f64) -> f64 {
    if a < b {
        a
    } else {
        b
    }
}

/// The highest `high` and the lowest `low` of each full window of
/// `period` bars into `upper` and `lower` (one slot per full window:
/// `upper.len() == lower.len() == high.len() + 1 - period`, `low` as long
/// as `high`), exactly TA-Lib 0.8's `MAX(high)` and `MIN(low)`, values
/// and the sign of a zero extreme, when neither column holds a NaN;
/// returns false at the first block holding one (`upper` and `lower` partly
/// written), and they must then be recomputed by [`rescan`], whose
/// handling of a NaN (TA-Lib's rescans) the streaming form replays.
/// `period >= 1`; `period == 1` copies the columns (one-bar blocks).
///
/// Van Herk / Gil-Werman, as TA-Lib 0.8 computes `MAX`/`MIN`: with blocks
/// of `period` bars from the first, a window is the suffix of one block
/// and the prefix of the next, so each value costs three comparisons,
/// without branches and without rescans, whatever the period. Of equal
/// values (which differ only for `+0.0` and `-0.0`) the suffix keeps the
/// later, the prefix the earlier, a window spanning two blocks the
/// suffix's and a window that is a block its suffix: TA-Lib 0.8's
/// choices (tested against it). Both columns in one pass: each of the
/// suffix and prefix loops carries two independent chains of one compare
/// and select (one cycle each), where one column alone waits on its chain.
#[inline(always)]
#[allow(clippy::inline_always)] // compiled inside the dispatched kernel
pub(crate) fn channel_extremes(high: &[f64], low: &[f64], period: usize, upper: &mut [f64], lower: &mut [f64]) -> bool {
    let n = upper.len();
    debug_assert!(period >= 1 && lower.len() == n && high.len() == n + period - 1 && low.len() == high.len());
    // per position of a block: the suffix extremes of the block's highs and lows
    let mut suffix = vec![(f64::NEG_INFINITY, f64::INFINITY); period];
    for (j, (ups, los)) in upper.chunks_mut(period).zip(lower.chunks_mut(period)).enumerate() {
        // the block and the head of the next, as far as these windows reach
        let (start, end) = (j * period, j * period + period + ups.len() - 1);
        if !block(&high[start..end], &low[start..end], &mut suffix, ups, los) {
            return false;
        }
    }
    true
}

/// One block's windows: `h` and `l` hold the block and the head of the
/// next (`period + ups.len() - 1` bars), `ups` and `los` the windows
/// starting in the block; `suffix` is scratch of `period` slots for the
/// suffix extremes. The suffix and prefix scans carry two chains each
/// (highs and lows) and note a NaN on the way (false if one was read): a
/// separate vectorised check pass ahead of them was the first to touch
/// the columns and stalled on memory (2.5 against 1.9 ms a million bars).
#[inline(always)]
#[allow(clippy::inline_always)] // compiled inside the dispatched kernel
fn block(h: &[f64], l: &[f64], suffix: &mut [(f64, f64)], ups: &mut [f64], los: &mut [f64]) -> bool {
    let period = suffix.len();
    let (mut acc_h, mut acc_l) = (f64::NEG_INFINITY, f64::INFINITY);
    let mut nan = false;
    for ((s, &vh), &vl) in suffix.iter_mut().zip(&h[..period]).zip(&l[..period]).rev() {
        nan |= vh.is_nan() | vl.is_nan();
        acc_h = hi(vh, acc_h);
        acc_l = lo(vl, acc_l);
        *s = (acc_h, acc_l);
    }
    let (Some((up0, up_rest)), Some((lo0, lo_rest))) = (ups.split_first_mut(), los.split_first_mut()) else {
        return !nan;
    };
    (*up0, *lo0) = (acc_h, acc_l);
    let (mut pre_h, mut pre_l) = (f64::NEG_INFINITY, f64::INFINITY);
    let next = h[period..].iter().zip(&l[period..]);
    for (((u, d), &(sh, sl)), (&vh, &vl)) in up_rest.iter_mut().zip(lo_rest.iter_mut()).zip(&suffix[1..]).zip(next) {
        nan |= vh.is_nan() | vl.is_nan();
        pre_h = hi(vh, pre_h);
        pre_l = lo(vl, pre_l);
        // a window spanning two blocks: the prefix's extreme, the suffix's on a tie
        *u = hi(pre_h, sh);
        *d = lo(pre_l, sl);
    }
    !nan
}

/// The highest and lowest of the last `period` values of a series with no
/// NaN (the squeeze rank's band widths), or the highest of one series and
/// the lowest of another (the channel's highs and lows,
/// [`WindowRange::update_pair`]): van Herk / Gil-Werman blocks kept
/// incrementally. The window is the tail of the previous block (its suffix
/// extremes, computed once when the block ends) and the head of the current
/// one (a running prefix extreme): O(1) per value with no data-dependent
/// branch, where the monotonic deques' pop loops mispredict on most bars.
/// For NaN-free input the values equal [`RollingExtreme`]'s (TA-Lib's
/// rescans reduce to the window's extreme there; only which of equal values
/// it points at differs, and the value is the same: bit for bit unless the
/// window holds both zeros, +0 and -0).
#[derive(Debug, Clone)]
pub(crate) struct WindowRange {
    period: usize,
    seen: usize,
    /// Position in the current block, `0..period`.
    k: usize,
    /// `period + 1` slots: the values (the current block's before `k`, the
    /// previous block's from `k` on: together the last `period` values, see
    /// [`WindowRange::history`]) and the previous block's suffix extremes;
    /// the last slot is a sentinel whose suffix is empty (−inf, +inf).
    slots: Box<[Slot]>,
    prefix_max: f64,
    prefix_min: f64,
}

/// One position of a block.
#[derive(Debug, Clone, Copy)]
struct Slot {
    high: f64,
    low: f64,
    /// The highest high and lowest low of the previous block from this
    /// position to its end.
    suffix_max: f64,
    suffix_min: f64,
}

impl Slot {
    const EMPTY: Self =
        Self { high: f64::NAN, low: f64::NAN, suffix_max: f64::NEG_INFINITY, suffix_min: f64::INFINITY };
}

/// The larger of two values that are not NaN (one compare and select: no
/// NaN handling, unlike `f64::max`).
#[inline]
fn larger(a: f64, b: f64) -> f64 {
    if a > b {
        a
    } else {
        b
    }
}

/// The smaller of two values that are not NaN.
#[inline]
fn smaller(a: f64, b: f64) -> f64 {
    if a < b {
        a
    } else {
        b
    }
}

impl WindowRange {
    /// A window of `period >= 1` values.
    ///
    /// # Errors
    /// `InvalidParameter` if `period < 1`.
    pub(crate) fn new(period: usize) -> crate::error::CoreResult<Self> {
        let period = crate::error::check_period("period", period, 1)?;
        Ok(Self {
            period,
            seen: 0,
            k: 0,
            slots: vec![Slot::EMPTY; period + 1].into_boxed_slice(),
            prefix_max: f64::NEG_INFINITY,
            prefix_min: f64::INFINITY,
        })
    }

    /// Feeds a value (never NaN: a NaN is the caller's bug, checked in debug
    /// builds); `(highest, lowest)` of the last `period` values, NaN until
    /// `period` values were seen.
    #[inline]
    pub(crate) fn update(&mut self, x: f64) -> (f64, f64) {
        self.update_pair(x, x)
    }

    /// Feeds one value of each series (never NaN); `(highest of the
    /// highs, lowest of the lows)` over the last `period` pairs, NaN until
    /// `period` pairs were seen.
    #[inline]
    pub(crate) fn update_pair(&mut self, high: f64, low: f64) -> (f64, f64) {
        debug_assert!(!high.is_nan() && !low.is_nan(), "WindowRange takes no NaN");
        let k = self.k;
        // the previous block's values after position k (the sentinel's
        // empty suffix at the block's last position), then this block's up to k
        let after = self.slots[k + 1];
        let slot = &mut self.slots[k];
        slot.high = high;
        slot.low = low;
        self.prefix_max = larger(high, self.prefix_max);
        self.prefix_min = smaller(low, self.prefix_min);
        let hi = larger(after.suffix_max, self.prefix_max);
        let lo = smaller(after.suffix_min, self.prefix_min);
        self.seen += 1;
        self.k = k + 1;
        if self.k == self.period {
            self.end_block();
        }
        if self.seen < self.period {
            (f64::NAN, f64::NAN)
        } else {
            (hi, lo)
        }
    }

    /// The suffix extremes of the block just completed; a new block starts.
    #[inline(never)]
    fn end_block(&mut self) {
        self.k = 0;
        (self.prefix_max, self.prefix_min) = (f64::NEG_INFINITY, f64::INFINITY);
        let (mut h, mut l) = (f64::NEG_INFINITY, f64::INFINITY);
        for slot in self.slots[..self.period].iter_mut().rev() {
            h = larger(slot.high, h);
            l = smaller(slot.low, l);
            slot.suffix_max = h;
            slot.suffix_min = l;
        }
    }

    /// The last `min(seen, period)` pairs fed, oldest first.
    #[cfg_attr(not(test), allow(dead_code))] // the tests read it
    pub(crate) fn history(&self) -> impl Iterator<Item = (f64, f64)> + '_ {
        let held = self.seen.min(self.period);
        // the newest value sits just before `k`, the oldest held `held` slots back
        let first = (self.k + self.period - held) % self.period;
        (0..held).map(move |i| {
            let s = self.slots[(first + i) % self.period];
            (s.high, s.low)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Bitwise equal, any NaN matching any NaN.
    fn same(a: f64, b: f64) -> bool {
        a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
    }

    fn streamed<const H: bool>(x: &[f64], period: usize) -> Vec<f64> {
        let mut r = RollingExtreme::<H>::new(period);
        x.iter().map(|&v| r.update(v)).collect()
    }

    fn rescanned<const H: bool>(x: &[f64], period: usize) -> Vec<f64> {
        let mut out = vec![f64::NAN; (period - 1).min(x.len())];
        out.extend(rescan::<H>(x, period));
        out
    }

    #[test]
    fn rolling_max_and_min_of_a_small_series() {
        let x = [3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0];
        let max = streamed::<true>(&x, 3);
        let min = streamed::<false>(&x, 3);
        assert!(max[0].is_nan() && max[1].is_nan());
        assert_eq!(&max[2..], &[4.0, 4.0, 5.0, 9.0, 9.0, 9.0]);
        assert_eq!(&min[2..], &[1.0, 1.0, 1.0, 1.0, 2.0, 2.0]);
    }

    #[test]
    fn nan_at_the_start_of_a_rescan_gives_nan_like_talib() {
        // Window [NaN, 1, 2]: the index of the last max (5.0) left, the rescan
        // starts on the NaN and TA-Lib reports NaN; then it recovers.
        let x = [5.0, f64::NAN, 1.0, 2.0, 0.0];
        let out = streamed::<true>(&x, 3);
        assert_eq!(out[2], 5.0);
        assert!(out[3].is_nan());
        assert_eq!(out[4], 2.0);
        let reference = rescanned::<true>(&x, 3);
        assert!(out.iter().zip(&reference).skip(2).all(|(&a, &b)| same(a, b)));
    }

    #[test]
    fn reset_forgets_the_window() {
        let mut r = RollingMax::new(2);
        r.update(10.0);
        r.update(1.0);
        r.reset();
        assert!(r.update(3.0).is_nan());
        assert_eq!(r.update(2.0), 3.0);
    }

    fn value() -> impl Strategy<Value = f64> {
        prop_oneof![
            8 => (0i32..6).prop_map(f64::from),
            1 => Just(f64::NAN),
            1 => Just(f64::INFINITY),
            1 => Just(f64::NEG_INFINITY),
            1 => Just(-0.0),
        ]
    }

    #[test]
    fn window_range_of_a_small_series() {
        let mut w = WindowRange::new(3).unwrap();
        let got: Vec<(f64, f64)> = [3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0].iter().map(|&v| w.update(v)).collect();
        assert!(got[1].0.is_nan() && got[1].1.is_nan());
        let want = [(4.0, 1.0), (4.0, 1.0), (5.0, 1.0), (9.0, 1.0), (9.0, 2.0), (9.0, 2.0)];
        assert_eq!(&got[2..], &want);
        assert!(WindowRange::new(0).is_err());
    }

    proptest! {
        #[test]
        fn blocks_equal_rescans_without_nans(
            x in proptest::collection::vec((-5i32..5).prop_map(f64::from), 0..300),
            y in proptest::collection::vec((-5i32..5).prop_map(f64::from), 300),
            period in 1usize..40,
        ) {
            if x.len() >= period {
                let y = &y[..x.len()];
                let mut up = vec![0.0; x.len() + 1 - period];
                let mut down = up.clone();
                prop_assert!(channel_extremes(&x, y, period, &mut up, &mut down));
                prop_assert_eq!(&up, &rescan::<true>(&x, period).collect::<Vec<_>>());
                prop_assert_eq!(&down, &rescan::<false>(y, period).collect::<Vec<_>>());
            }
        }

        #[test]
        fn window_range_equals_the_deques_without_nans(
            x in proptest::collection::vec(prop_oneof![
                8 => (-5i32..5).prop_map(f64::from),
                1 => Just(f64::INFINITY),
                1 => Just(f64::NEG_INFINITY),
            ], 0..200),
            period in 1usize..20,
        ) {
            let mut w = WindowRange::new(period).unwrap();
            let max = streamed::<true>(&x, period);
            let min = streamed::<false>(&x, period);
            for (i, &v) in x.iter().enumerate() {
                let (hi, lo) = w.update(v);
                prop_assert!(same(hi, max[i]) && same(lo, min[i]), "bar {}: {:?} vs {:?}", i, (hi, lo), (max[i], min[i]));
                let held: Vec<f64> = w.history().map(|(h, l)| { assert!(same(h, l)); h }).collect();
                prop_assert_eq!(&held, &x[(i + 1).saturating_sub(period)..=i]);
            }
        }

        #[test]
        fn deque_replays_talib_rescans_exactly(
            x in proptest::collection::vec(value(), 0..80),
            period in 1usize..8,
        ) {
            let max = streamed::<true>(&x, period);
            let max_ref = rescanned::<true>(&x, period);
            prop_assert!(max.iter().zip(&max_ref).skip(period - 1).all(|(&a, &b)| same(a, b)));
            let min = streamed::<false>(&x, period);
            let min_ref = rescanned::<false>(&x, period);
            prop_assert!(min.iter().zip(&min_ref).skip(period - 1).all(|(&a, &b)| same(a, b)));
        }
    }
}
