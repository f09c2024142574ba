//! Stable rolling mean and population variance of a fixed window: the one
//! implementation behind `STDDEV`, `BBANDS` and the rolling z-score.
//!
//! The sums are kept over `x - shift`, where the shift sits near the
//! window's mean, so `E[d^2] - E[d]^2` never subtracts two numbers of the
//! size of the price (TA-Lib 0.6's running sums of `x^2` did, and lost every
//! digit of a small deviation on prices around 1e5). The add/subtract
//! updates are O(1); their rounding is tracked by a running bound, and when
//! that bound is no longer small against the variance (the window went flat
//! after a move, or the price drifted far from the shift) the window is
//! re-centred: the shift moves to the window's mean and both sums are
//! recomputed from the values (a corrected two-pass pass, O(period), rare on
//! real data). The variance is then within about `1e-10` of its own value,
//! far below the rounding of the price itself, and a window of equal values
//! reads exactly 0.
//!
//! Batch and streaming forms call the same functions in the same order, so
//! they agree bit for bit.

/// Rounding of one update, as a multiple of the sums' size (4 ulp).
const UPDATE_ERROR: f64 = 4.0 * f64::EPSILON;
/// The relative accuracy kept on the variance: re-centre once the rounding
/// bound exceeds this fraction of it.
const ACCURACY: f64 = 1e-10;
/// A variance this small against the mean square deviation from the shift
/// (taken right after re-centring) is a window of equal values: exactly 0.
const FLAT: f64 = 1e-12;

/// The rolling sums of one window.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Moments {
    inv_n: f64,
    /// `UPDATE_ERROR / ACCURACY / n`: turns the accumulated bound into the
    /// variance it must stay below.
    trigger: f64,
    shift: f64,
    /// Sum of `x - shift` over the window.
    s1: f64,
    /// Sum of `(x - shift)^2` over the window.
    s2: f64,
    /// Sum of `s2` over the updates since the last re-centring: the
    /// rounding of those updates is at most `UPDATE_ERROR * bound`.
    bound: f64,
    count: usize,
}

impl Moments {
    /// Empty sums for a window of `period >= 1` values.
    pub(crate) fn new(period: usize) -> Self {
        let inv_n = 1.0 / super::compat::to_f64(period);
        Self {
            inv_n,
            trigger: UPDATE_ERROR / ACCURACY * inv_n,
            shift: f64::NAN,
            s1: 0.0,
            s2: 0.0,
            bound: 0.0,
            count: 0,
        }
    }

    /// Values added since the last reset.
    pub(crate) fn count(&self) -> usize {
        self.count
    }

    /// Forgets everything.
    pub(crate) fn reset(&mut self) {
        self.shift = f64::NAN;
        self.s1 = 0.0;
        self.s2 = 0.0;
        self.bound = 0.0;
        self.count = 0;
    }

    /// Adds a value while the window is filling (no value leaves).
    #[inline]
    pub(crate) fn add(&mut self, x: f64) {
        if self.count == 0 {
            self.shift = x;
        }
        self.count += 1;
        let d = x - self.shift;
        self.s1 += d;
        self.s2 += d * d;
        self.bound += self.s2;
    }

    /// Replaces `old` (leaving the window) by `new`.
    #[allow(clippy::inline_always)] // must inline into the batch loop: measured
    #[inline(always)]
    pub(crate) fn roll(&mut self, new: f64, old: f64) {
        self.count += 1;
        let dn = new - self.shift;
        let d_old = old - self.shift;
        let diff = dn - d_old;
        self.s1 += diff;
        self.s2 += diff * (dn + d_old);
        self.bound += self.s2;
    }

    /// `(mean, variance)` of the full window whose values, oldest first,
    /// `window` yields; re-centres first when the sums are no longer
    /// accurate enough (or hold a non-finite value that may have left).
    #[inline(always)]
    #[allow(clippy::inline_always)] // inlined into the engine's dispatched batch loops
    pub(crate) fn get<I: Iterator<Item = f64>>(&mut self, window: impl Fn() -> I) -> (f64, f64) {
        match self.fast() {
            Some(stats) => stats,
            None => self.slow(window),
        }
    }

    /// [`Moments::get`] when the sums are accurate enough as they are (the
    /// common case: no call, so loops keep the sums in registers); None
    /// when [`Moments::slow`] must decide.
    #[allow(clippy::inline_always)] // must inline into the batch loop: measured
    #[inline(always)]
    pub(crate) fn fast(&self) -> Option<(f64, f64)> {
        let (mean, m2) = (self.s1 * self.inv_n, self.s2 * self.inv_n);
        let var = m2 - mean * mean;
        // Holds only for a variance >= 0 (the bound is >= 0) and not NaN.
        (self.bound * self.trigger <= var).then_some((self.shift + mean, var))
    }

    /// [`Moments::get`] when the rounding bound is not small against the
    /// variance: re-centre if that can help.
    #[cold]
    #[inline(never)]
    pub(crate) fn slow<I: Iterator<Item = f64>>(&mut self, window: impl Fn() -> I) -> (f64, f64) {
        let (mut mean, mut m2) = (self.s1 * self.inv_n, self.s2 * self.inv_n);
        let mut var = m2 - mean * mean;
        if needs_recentre(self.shift, var, m2, self.bound * self.inv_n * UPDATE_ERROR) {
            (self.shift, self.s1, self.s2) = recentre(self.inv_n, window);
            self.bound = self.s2;
            (mean, m2) = (self.s1 * self.inv_n, self.s2 * self.inv_n);
            var = m2 - mean * mean;
            if var < FLAT * m2 {
                var = 0.0;
            }
        }
        // Not `max`, which would turn a NaN into 0.
        (self.shift + mean, if var < 0.0 { 0.0 } else { var })
    }
}

/// Whether re-centring can help: not when every deviation from the shift is
/// already at the rounding of the shift itself and so is the rounding the
/// updates may have left (a flat window just re-centred, whose variance
/// reads 0 either way: without this, every bar of a flat stretch would
/// re-centre); always when the sums are NaN (a non-finite value, which may
/// have left the window). `rounding` is the updates' rounding bound on the
/// mean square. Free functions on values, so the hot state stays in
/// registers.
#[cold]
fn needs_recentre(shift: f64, var: f64, m2: f64, rounding: f64) -> bool {
    let floor = 16.0 * f64::EPSILON * shift;
    let floor2 = floor * floor;
    var.is_nan() || m2.is_nan() || m2 > floor2 || rounding > floor2
}

/// The window's mean as the new shift, and the sums of the deviations from
/// it: `(shift, s1, s2)`.
#[cold]
#[inline(never)]
fn recentre<I: Iterator<Item = f64>>(inv_n: f64, window: impl Fn() -> I) -> (f64, f64, f64) {
    let Some(pivot) = window().last() else {
        return (f64::NAN, f64::NAN, f64::NAN);
    };
    let sum: f64 = window().map(|x| x - pivot).sum();
    let shift = pivot + sum * inv_n;
    let (mut s1, mut s2) = (0.0, 0.0);
    for x in window() {
        let d = x - shift;
        s1 += d;
        s2 += d * d;
    }
    (shift, s1, s2)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `(mean, variance)` by a plain two-pass computation.
    fn two_pass(w: &[f64]) -> (f64, f64) {
        let n = w.len() as f64;
        let mean = w.iter().sum::<f64>() / n;
        (mean, w.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n)
    }

    fn rolling(x: &[f64], n: usize) -> Vec<(f64, f64)> {
        let mut m = Moments::new(n);
        let mut out = Vec::new();
        for (i, &v) in x.iter().enumerate() {
            if i < n {
                m.add(v);
            } else {
                m.roll(v, x[i - n]);
            }
            if i + 1 >= n {
                out.push(m.get(|| x[i + 1 - n..=i].iter().copied()));
            }
        }
        out
    }

    #[test]
    fn a_flat_window_after_a_move_reads_exactly_zero() {
        let mut x = vec![100_000.0, 100_300.0, 99_800.0, 100_050.0];
        x.extend([100_007.3; 10]);
        let out = rolling(&x, 4);
        assert!(out[6..].iter().all(|&(m, v)| v == 0.0 && m == 100_007.3), "{out:?}");
    }

    #[test]
    fn small_moves_on_a_large_price_keep_their_digits() {
        // Prices near 1e5 moving by cents: TA-Lib 0.6's sums lose them all.
        let x: Vec<f64> =
            (0..5000).map(|i| 1e5 + 1000.0 * (f64::from(i) / 300.0).sin() + 0.01 * f64::from(i % 3)).collect();
        for (k, &(mean, var)) in rolling(&x, 20).iter().enumerate() {
            let (m, v) = two_pass(&x[k..k + 20]);
            assert!((mean - m).abs() <= 1e-10, "{k}: {mean} {m}");
            assert!((var.sqrt() - v.sqrt()).abs() <= 1e-9 * v.sqrt() + 1e-12, "{k}: {var} {v}");
        }
    }

    #[test]
    fn sums_that_cancelled_to_zero_are_recomputed() {
        // The infinity leaves, [-1, 1, 0] re-centres on shift 0; rolling in
        // 1e-9 and 0 then leaves s2 at exactly 0 by rounding although the
        // window [0, 1e-9, 0] is not flat (and the shift is 0, so no floor).
        let x = [f64::INFINITY, -1.0, 1.0, 0.0, 1e-9, 0.0];
        let out = rolling(&x, 3);
        let (_, v) = two_pass(&x[3..]);
        assert!(v > 0.0 && (out[3].1 - v).abs() <= 1e-30, "{:?} {v}", out[3]);
    }

    #[test]
    fn non_finite_values_poison_only_the_windows_holding_them() {
        let x = [1.0, 2.0, f64::INFINITY, 4.0, 5.0, 6.0, f64::NAN, 8.0, 9.0, 10.0];
        let out = rolling(&x, 2);
        let var: Vec<f64> = out.iter().map(|o| o.1).collect();
        assert_eq!(var[0], 0.25);
        assert!(var[1].is_nan() && var[2].is_nan() && var[5].is_nan() && var[6].is_nan());
        assert_eq!((var[3], var[4], var[7], var[8]), (0.25, 0.25, 0.25, 0.25));
    }
}
