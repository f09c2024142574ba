//! Moving average convergence/divergence, TA-Lib `MACD`.
use super::compat::{check_out, fill3, first_valid, to_f64};
use super::ema::{ema_k, ema_step};
use super::Indicator;
use crate::error::{check_period, CoreResult};
use crate::simd::{Build, Dispatched};

/// MACD line, signal line and histogram of one bar.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MacdOutput {
    /// Fast EMA minus slow EMA.
    pub macd: f64,
    /// EMA of the MACD line.
    pub signal: f64,
    /// `macd - signal`.
    pub hist: f64,
}

impl MacdOutput {
    const NAN: Self = Self { macd: f64::NAN, signal: f64::NAN, hist: f64::NAN };
}

/// The three MACD columns of a batch computation.
pub type MacdSeries = (Vec<f64>, Vec<f64>, Vec<f64>);

/// MACD (TA-Lib `MACD`, default compatibility).
///
/// TA-Lib's seeding, which differs from two independent EMAs: the slow EMA
/// is seeded with the mean of the first `slow` values and the fast EMA with
/// the mean of the last `fast` of those, so both start on the same bar; the
/// signal EMA is seeded with the mean of the first `signal` MACD values.
/// All three outputs appear together after lookback
/// `(slow - 1) + (signal - 1)`. `fast`, `slow`, `signal >= 2` (TA-Lib's
/// range; its 0.6 output is garbage for `signal == 1`); if `slow < fast`
/// they are swapped, as TA-Lib does. Leading NaNs are skipped like the
/// TA-Lib Python wrapper does.
#[derive(Debug, Clone)]
pub struct Macd {
    fast: usize,
    slow: usize,
    signal: usize,
    fast_k: f64,
    slow_k: f64,
    signal_k: f64,
    count: usize,
    fast_ema: f64,
    slow_ema: f64,
    signal_ema: f64,
    value: MacdOutput,
}

/// Validates and orders the periods as TA-Lib does (swapping fast and slow).
fn periods(fast: usize, slow: usize, signal: usize) -> CoreResult<(usize, usize, usize)> {
    let fast = check_period("fast", fast, 2)?;
    let slow = check_period("slow", slow, 2)?;
    let signal = check_period("signal", signal, 2)?;
    Ok(if slow < fast { (slow, fast, signal) } else { (fast, slow, signal) })
}

impl Macd {
    /// A MACD with the given EMA periods (TA-Lib's defaults are 12, 26, 9).
    ///
    /// # Errors
    /// [`crate::error::CoreError::InvalidParameter`] if a period is `< 2`.
    pub fn new(fast: usize, slow: usize, signal: usize) -> CoreResult<Self> {
        let (fast, slow, signal) = periods(fast, slow, signal)?;
        Ok(Self {
            fast,
            slow,
            signal,
            fast_k: ema_k(fast),
            slow_k: ema_k(slow),
            signal_k: ema_k(signal),
            count: 0,
            fast_ema: 0.0,
            slow_ema: 0.0,
            signal_ema: 0.0,
            value: MacdOutput::NAN,
        })
    }

    /// `(fast, slow, signal)`, after TA-Lib's swap.
    #[must_use]
    pub fn periods(&self) -> (usize, usize, usize) {
        (self.fast, self.slow, self.signal)
    }
}

impl Indicator for Macd {
    type Input = f64;
    type Output = MacdOutput;

    #[inline(always)]
    #[allow(clippy::inline_always)] // inlined into the engine's dispatched batch loops
    fn update(&mut self, x: f64) -> MacdOutput {
        if self.count == 0 && x.is_nan() {
            return MacdOutput::NAN;
        }
        self.count += 1;
        let n = self.count;
        if n <= self.slow {
            // Seed windows: the fast one is the tail of the slow one.
            self.slow_ema += x;
            if n > self.slow - self.fast {
                self.fast_ema += x;
            }
            if n == self.slow {
                self.slow_ema /= to_f64(self.slow);
                self.fast_ema /= to_f64(self.fast);
                self.signal_ema = 0.0;
                self.signal_ema += self.fast_ema - self.slow_ema;
            }
            return MacdOutput::NAN;
        }
        self.fast_ema = ema_step(self.fast_ema, x, self.fast_k);
        self.slow_ema = ema_step(self.slow_ema, x, self.slow_k);
        let macd = self.fast_ema - self.slow_ema;
        let ready = self.slow + self.signal - 1;
        if n < ready {
            self.signal_ema += macd;
            return MacdOutput::NAN;
        }
        if n == ready {
            self.signal_ema += macd;
            self.signal_ema /= to_f64(self.signal);
        } else {
            self.signal_ema = ema_step(self.signal_ema, macd, self.signal_k);
        }
        self.value = MacdOutput { macd, signal: self.signal_ema, hist: macd - self.signal_ema };
        self.value
    }

    fn value(&self) -> MacdOutput {
        self.value
    }

    fn is_ready(&self) -> bool {
        self.count > self.lookback()
    }

    fn reset(&mut self) {
        self.count = 0;
        self.fast_ema = 0.0;
        self.slow_ema = 0.0;
        self.signal_ema = 0.0;
        self.value = MacdOutput::NAN;
    }

    fn lookback(&self) -> usize {
        (self.slow - 1) + (self.signal - 1)
    }
}

/// Batch MACD: `(macd, signal, hist)`, each one output per input.
///
/// # Errors
/// [`crate::error::CoreError::InvalidParameter`] if a period is `< 2`.
pub fn macd(x: &[f64], fast: usize, slow: usize, signal: usize) -> CoreResult<MacdSeries> {
    let n = x.len();
    let (mut line, mut sig, mut hist) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
    macd_into(x, fast, slow, signal, [&mut line, &mut sig, &mut hist])?;
    Ok((line, sig, hist))
}

/// [`macd`] written into `[macd, signal, hist]` (each as long as `x`).
///
/// # Errors
/// As [`macd`], and [`crate::error::CoreError::InvalidInput`] if an output
/// has another length.
pub fn macd_into(x: &[f64], fast: usize, slow: usize, signal: usize, out: [&mut [f64]; 3]) -> CoreResult<()> {
    macd_into_with::<Dispatched>(x, fast, slow, signal, out)
}

/// [`macd_into`] in the build `B` (tests run the plain one beside it).
fn macd_into_with<B: Build>(
    x: &[f64],
    fast: usize,
    slow: usize,
    signal: usize,
    out: [&mut [f64]; 3],
) -> CoreResult<()> {
    let (fast, slow, signal) = periods(fast, slow, signal)?;
    let n = x.len();
    check_out(n, &[("macd", out[0].len()), ("signal", out[1].len()), ("hist", out[2].len())])?;
    if n == 0 {
        return Ok(());
    }
    let begin = first_valid(n, &[x]);
    let lookback = (slow - 1) + (signal - 1);
    let warm = begin.saturating_add(lookback);
    let x = &x[begin..];
    if x.len() <= lookback {
        fill3(out, warm, []);
        return Ok(());
    }
    let (fast_k, slow_k, signal_k) = (ema_k(fast), ema_k(slow), ema_k(signal));
    let (mut slow_ema, mut fast_ema) = (0.0, 0.0);
    for &v in &x[..slow - fast] {
        slow_ema += v;
    }
    for &v in &x[slow - fast..slow] {
        fast_ema += v;
        slow_ema += v;
    }
    slow_ema /= to_f64(slow);
    fast_ema /= to_f64(fast);
    let mut signal_ema = 0.0;
    signal_ema += fast_ema - slow_ema;
    for &v in &x[slow..=lookback] {
        fast_ema = ema_step(fast_ema, v, fast_k);
        slow_ema = ema_step(slow_ema, v, slow_k);
        signal_ema += fast_ema - slow_ema;
    }
    signal_ema /= to_f64(signal);
    let line = fast_ema - slow_ema;
    let first = (line, signal_ema, line - signal_ema);
    let rest = x[lookback + 1..].iter().map(move |&v| {
        fast_ema = ema_step(fast_ema, v, fast_k);
        slow_ema = ema_step(slow_ema, v, slow_k);
        let line = fast_ema - slow_ema;
        signal_ema = ema_step(signal_ema, line, signal_k);
        (line, signal_ema, line - signal_ema)
    });
    B::run(
        #[inline(always)]
        || fill3(out, warm, std::iter::once(first).chain(rest)),
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plain_build_gives_the_bits_of_the_dispatched_one() {
        // On a CPU with AVX2 and FMA, `macd` runs the FMA instruction and
        // `Plain` the C library's `fma`: both round once, so the bits agree.
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut x = vec![f64::NAN];
        let mut price = 40_000.0;
        for _ in 0..10_000 {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            price += (f64::from((state >> 33) as u32) / f64::from(u32::MAX) - 0.5) * 50.0;
            x.push(price);
        }
        let (m, s, h) = macd(&x, 12, 26, 9).unwrap();
        let (mut pm, mut ps, mut ph) = (vec![0.0; x.len()], vec![0.0; x.len()], vec![0.0; x.len()]);
        macd_into_with::<crate::simd::Plain>(&x, 12, 26, 9, [&mut pm, &mut ps, &mut ph]).unwrap();
        assert!(m[40..].iter().all(|v| v.is_finite()));
        for (a, b) in [(&m, &pm), (&s, &ps), (&h, &ph)] {
            assert!(a.iter().zip(b.iter()).all(|(u, v)| u.to_bits() == v.to_bits() || u.is_nan() && v.is_nan()));
        }
    }

    #[test]
    fn macd_seeds_fast_ema_on_the_tail_of_the_slow_window() {
        // fast 2, slow 3, signal 2: lookback 3.
        // bar 2: slow seed (1+2+4)/3 = 7/3, fast seed (2+4)/2 = 3, macd 2/3.
        // bar 3 (x=8): fast (8-3)*2/3+3 = 19/3, slow (8-7/3)*0.5+7/3 = 31/6,
        //   macd 7/6; signal seed (2/3 + 7/6)/2 = 11/12.
        let (m, s, h) = macd(&[1.0, 2.0, 4.0, 8.0], 2, 3, 2).unwrap();
        assert!(m[2].is_nan() && s[2].is_nan() && h[2].is_nan());
        assert!((m[3] - 7.0 / 6.0).abs() < 1e-12);
        assert!((s[3] - 11.0 / 12.0).abs() < 1e-12);
        assert!((h[3] - (7.0 / 6.0 - 11.0 / 12.0)).abs() < 1e-12);
    }

    #[test]
    fn macd_swaps_fast_and_slow_like_talib() {
        let x: Vec<f64> = (0..40).map(|i| f64::from(i % 7) + f64::from(i) * 0.5).collect();
        let a = macd(&x, 5, 3, 2).unwrap();
        let b = macd(&x, 3, 5, 2).unwrap();
        assert_eq!(
            a.0.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            b.0.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
        );
        assert_eq!(Macd::new(5, 3, 2).unwrap().periods(), (3, 5, 2));
    }

    #[test]
    fn streaming_macd_matches_batch() {
        let x: Vec<f64> = (0..60).map(|i| (f64::from(i) * 0.37).sin() * 10.0 + 100.0).collect();
        let (m, s, h) = macd(&x, 12, 26, 9).unwrap();
        let mut st = Macd::new(12, 26, 9).unwrap();
        assert_eq!(st.lookback(), 33);
        for (i, &v) in x.iter().enumerate() {
            let o = st.update(v);
            for (a, b) in [(o.macd, m[i]), (o.signal, s[i]), (o.hist, h[i])] {
                assert!(a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()));
            }
            assert_eq!(st.is_ready(), i >= 33);
        }
        st.reset();
        assert!(st.value().macd.is_nan());
        assert!(Macd::new(1, 26, 9).is_err());
        assert!(Macd::new(12, 26, 1).is_err());
    }
}
