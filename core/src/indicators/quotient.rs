//! Division by a constant, with the bits of the division, at the cost of
//! multiply-adds.
//!
//! The batch means (SMA, WMA) divide every output by the same number. A
//! vectorised division costs about two cycles a value on current x86 cores
//! (`vdivpd`'s throughput), which is most of an SMA's time; five
//! multiply-adds that vectorise cost a fraction of a cycle. The quotient is
//! still the correctly rounded `a / b` the division gives (and TA-Lib
//! gives), bit for bit:
//!
//! 1. `q0 = a * y` with `y = 1 / b` rounded to nearest: within two ulp of
//!    `a / b` (each rounding adds at most one relative error of 2^-53);
//! 2. `q1 = q0 + (a - b q0) y` (two multiply-adds, the remainder exact
//!    or within 2^-53 of it): within a tiny fraction of an ulp of `a / b`
//!    before its one rounding, so one of the two floating-point numbers
//!    around `a / b` (faithful);
//! 3. `q2 = q1 + (a - b q1) y`: Markstein's theorem (Handbook of
//!    Floating-Point Arithmetic, 2nd ed., §4.9: `y` within half an ulp of
//!    `1 / b` and `q1` faithful make this `a / b` rounded to nearest; the
//!    remainder of a faithful quotient is exact with one FMA).
//!
//! The theorem assumes no underflow: [`Divisor::exact_for`] names the
//! dividends this holds for (finite, and `+0` or of magnitude at least
//! 2^-960), and the callers fall back to the division for any other.
//! `f64::mul_add` rounds once in every build (the FMA instruction in the
//! dispatched kernels, the C library's `fma` otherwise), so every build
//! gives the same bits; the tests compare with the division on random and
//! adversarial operands in both builds.

/// Dividends below this magnitude (other than `+0`) may leave the
/// remainders below the normal range, where the theorem does not hold.
const SMALLEST: f64 = f64::from_bits((1023 - 960) << 52); // 2^-960

/// A divisor `b >= 1` (finite) and its reciprocal rounded to nearest.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Divisor {
    b: f64,
    y: f64,
}

impl Divisor {
    /// Division by `b`, finite and at least 1 (a period, a weights' sum).
    pub(crate) fn new(b: f64) -> Self {
        debug_assert!(b.is_finite() && b >= 1.0, "a divisor of at least 1");
        Self { b, y: 1.0 / b }
    }

    /// `a / b` rounded to nearest, for every `a` with [`Divisor::exact_for`];
    /// for any other `a` a value that may differ from the division.
    #[inline(always)]
    #[allow(clippy::inline_always)] // compiled inside the dispatched kernels
    pub(crate) fn divide(self, a: f64) -> f64 {
        let q0 = a * self.y;
        let q1 = (-q0).mul_add(self.b, a).mul_add(self.y, q0);
        (-q1).mul_add(self.b, a).mul_add(self.y, q1)
    }

    /// Whether [`Divisor::divide`] gives the division's bits for `a`:
    /// finite, and `+0` or at least 2^-960 in magnitude. Branch-free, to
    /// sit in vectorised loops.
    #[inline(always)]
    #[allow(clippy::inline_always)] // compiled inside the dispatched kernels
    #[allow(clippy::needless_bitwise_bool)] // on purpose: no branches
    pub(crate) fn exact_for(a: f64) -> bool {
        let m = a.abs();
        (m < f64::INFINITY) & ((m >= SMALLEST) | (a.to_bits() == 0))
    }

    /// Whether `q`, a quotient [`Divisor::divide`] returned for a divisor of
    /// at least 2, is the division's: finite and at least 2^-960 in
    /// magnitude. Then so was the dividend (about `q * b`, and a dividend
    /// below 2^-960 gives a quotient below half of it); a `+0` quotient
    /// counts as inexact, the caller divides again. Cheaper than
    /// [`Divisor::exact_for`] on the dividends (no zero case).
    #[inline(always)]
    #[allow(clippy::inline_always)] // compiled inside the dispatched kernels
    pub(crate) fn exact_quotient(q: f64) -> bool {
        (SMALLEST..f64::INFINITY).contains(&q.abs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simd;

    #[test]
    fn the_smallest_exact_dividend_is_two_to_the_minus_960() {
        assert_eq!(SMALLEST, 2f64.powi(-960));
        assert!(Divisor::exact_for(SMALLEST) && !Divisor::exact_for(SMALLEST / 2.0));
        assert!(Divisor::exact_for(0.0) && !Divisor::exact_for(-0.0));
        assert!(!Divisor::exact_for(f64::INFINITY) && !Divisor::exact_for(f64::NAN));
        assert!(Divisor::exact_for(-f64::MAX) && Divisor::exact_for(-1e-280));
    }

    #[test]
    fn a_quotient_is_taken_as_exact_only_when_its_dividend_was() {
        for b in [2.0, 3.0, 465.0, 1e9] {
            let d = Divisor::new(b);
            // the dividend in the exact range and its quotient above 2^-960
            for a in [1.0, -7.5e5, 3.6e7, f64::MAX, SMALLEST * 2.0 * b] {
                assert!(Divisor::exact_quotient(d.divide(a)), "{a:e} / {b}");
            }
            // anything the theorem does not cover reads inexact (the caller
            // divides again): non-finite, zero, below 2^-960
            for a in [f64::NAN, f64::INFINITY, -f64::INFINITY, 0.0, -0.0, SMALLEST / 4.0, 1e-310] {
                assert!(!Divisor::exact_quotient(d.divide(a)), "{a:e} / {b}");
            }
        }
    }

    /// A linear congruential generator's next 64 bits (Knuth's MMIX).
    fn next(state: &mut u64) -> u64 {
        *state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        *state ^ (*state >> 29)
    }

    /// Dividends of every kind: random bits over the whole exact range,
    /// prices and window sums, and the hard cases for a divisor `b`:
    /// quotients next to a power of two (where a ulp halves), dividends
    /// that are `b` times a float plus or minus an ulp (near-exact
    /// quotients), and midpoints' neighbours.
    fn dividends(b: f64, state: &mut u64, out: &mut Vec<f64>) {
        out.clear();
        for _ in 0..2_000 {
            let bits = next(state);
            let a = f64::from_bits(bits & !(1 << 63) & 0x7fef_ffff_ffff_ffff);
            if Divisor::exact_for(a) {
                out.push(if bits >> 63 == 1 { -a } else { a });
            }
            #[allow(clippy::cast_precision_loss)]
            let price = (next(state) % 20_000_000) as f64 / 100.0;
            out.push(price);
            out.push(price * b);
            let q = f64::from_bits((1023u64 << 52) | (next(state) & ((1 << 52) - 1)));
            for a in [q * b, (q * b).next_up(), (q * b).next_down(), 2.0 * b, (2.0 * b).next_down(), b.next_up()] {
                out.push(a);
                out.push(-a * 1e300);
                out.push(a * 1e-280);
            }
            let mid = q + f64::EPSILON / 2.0 * q; // an exact quotient's neighbour midway
            out.push(mid * b);
        }
    }

    /// Every exact dividend's quotient against the division's. `q0` alone
    /// differs on about a third of them; one correction already matched on
    /// every one (and on 80 M quotients next to the top of a binade,
    /// searched apart): the second correction is what the proof needs.
    fn check(build: &str, divide: impl Fn(Divisor, &[f64], &mut [f64])) {
        let mut state = 7;
        let mut a = Vec::new();
        let mut got = Vec::new();
        let divisors = (1..=600).map(f64::from).chain([3e9, 123_456_789.0, 1.5, 7.25, 1e15 + 1.0, 2f64.powi(52) - 1.0]);
        let mut checked = 0usize;
        for b in divisors {
            dividends(b, &mut state, &mut a);
            got.resize(a.len(), 0.0);
            divide(Divisor::new(b), &a, &mut got);
            for (&x, &q) in a.iter().zip(&got) {
                if Divisor::exact_for(x) {
                    assert_eq!(q.to_bits(), (x / b).to_bits(), "{build}: {x:e} / {b} gave {q:e}, not {:e}", x / b);
                    checked += 1;
                }
            }
        }
        assert!(checked > 10_000_000, "{checked} quotients checked");
    }

    #[test]
    fn the_quotient_is_the_divisions_in_the_plain_build() {
        check("plain", |d, a, out| {
            simd::plain(|| {
                for (o, &x) in out.iter_mut().zip(a) {
                    *o = d.divide(x);
                }
            });
        });
    }

    #[test]
    fn the_quotient_is_the_divisions_in_the_dispatched_build() {
        check("dispatched", |d, a, out| {
            simd::dispatch(
                #[inline(always)]
                || {
                    for (o, &x) in out.iter_mut().zip(a) {
                        *o = d.divide(x);
                    }
                },
            );
        });
    }
}
