//! What the indicators share to follow TA-Lib (0.6 definitions, 0.8 values): its
//! true range, its warm-up rule for leading NaNs, and the
//! checks every batch function runs on its arguments.
use crate::error::{CoreError, CoreResult};

/// Exact conversion of a count or period to `f64` (exact below 2^53, which
/// covers every window that fits in memory).
#[inline]
#[allow(clippy::cast_precision_loss)]
pub(crate) fn to_f64(n: usize) -> f64 {
    n as f64
}

/// Wilder's smoothing `(y * (period - 1) + x) / period` as one correctly
/// rounded multiply-add, `fma(y, keep, x * share)` with
/// `keep = (period - 1) / period` and `share = 1 / period`: one operation on
/// the chain from bar to bar (TA-Lib 0.6 had a division there), `x * share`
/// beside it. `f64::mul_add` rounds once in every build (the FMA
/// instruction in the kernels [`crate::simd::dispatch`] compiles for AVX2
/// and FMA, the C library's `fma` in the plain build and the streaming
/// forms), so batch and streaming give the same bits; the values differ
/// from TA-Lib's order by a few ulp.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Wilder {
    keep: f64,
    share: f64,
}

impl Wilder {
    /// Wilder's weights for `period >= 1` bars.
    pub(crate) fn new(period: usize) -> Self {
        let n = to_f64(period);
        Self { keep: (n - 1.0) / n, share: 1.0 / n }
    }

    /// The next value from the previous one and the new input.
    #[inline(always)]
    #[allow(clippy::inline_always)] // compiled inside the dispatched kernels
    pub(crate) fn step(self, y: f64, x: f64) -> f64 {
        y.mul_add(self.keep, x * self.share)
    }
}

/// A first-order recurrence `y = y * keep + x * share` (Wilder's smoothing
/// `(y * (period - 1) + x) / period` is one), advanced in blocks of four
/// bars. Within a block, with scaled inputs `s_j = x_j * share`, the
/// partial sums `p_1 = s_0`, `p_j = fma(p_(j-1), keep, s_(j-1))` do not
/// depend on `y`, and `y_j = fma(y_0, keep^j, p_j)`: the chain from bar to
/// bar is one multiply-add every four bars (TA-Lib 0.6 had a division on
/// it every bar, TA-Lib 0.8 has one multiply-add every bar), and the
/// partial sums of the next block run beside it. Each multiply-add rounds
/// once in every build (see [`Wilder`]), and streaming forms keep the same
/// blocks ([`SmoothState`]), so batch and streaming give the same bits;
/// the values differ from the bar-by-bar order by a few ulp.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Smoother {
    /// `keep^1 ..= keep^4`.
    powers: [f64; 4],
    share: f64,
}

impl Smoother {
    /// Wilder's weights: `keep = (period - 1) / period`, `share = 1 / period`.
    pub(crate) fn wilder(period: usize) -> Self {
        let n = to_f64(period);
        let keep = (n - 1.0) / n;
        let keep2 = keep * keep;
        Self { powers: [keep, keep2, keep2 * keep, keep2 * keep2], share: 1.0 / n }
    }

    /// `x * share`.
    #[inline(always)]
    #[allow(clippy::inline_always)] // compiled inside the dispatched kernels
    pub(crate) fn scale(&self, x: f64) -> f64 {
        x * self.share
    }

    /// The next partial sum of a block.
    #[inline(always)]
    #[allow(clippy::inline_always)] // compiled inside the dispatched kernels
    pub(crate) fn partial(&self, p: f64, s: f64) -> f64 {
        p.mul_add(self.powers[0], s)
    }

    /// `y_j` from the block's anchor `y_0` and partial sum `p_j`, `j` in 1..=4.
    #[inline(always)]
    #[allow(clippy::inline_always)] // compiled inside the dispatched kernels
    pub(crate) fn at(&self, y0: f64, j: usize, p: f64) -> f64 {
        y0.mul_add(self.powers[j - 1], p)
    }

    /// One block of four inputs in place: each replaced by its value; the
    /// new anchor.
    #[inline(always)]
    #[allow(clippy::inline_always)] // compiled inside the dispatched kernels
    pub(crate) fn block(&self, y0: f64, xs: &mut [f64; 4]) -> f64 {
        let p1 = self.scale(xs[0]);
        let p2 = self.partial(p1, self.scale(xs[1]));
        let p3 = self.partial(p2, self.scale(xs[2]));
        let p4 = self.partial(p3, self.scale(xs[3]));
        *xs = [self.at(y0, 1, p1), self.at(y0, 2, p2), self.at(y0, 3, p3), self.at(y0, 4, p4)];
        xs[3]
    }
}

/// The streaming side of [`Smoother`]: the block's anchor, the partial sum
/// so far and the position in the block.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SmoothState {
    anchor: f64,
    partial: f64,
    phase: usize,
}

impl SmoothState {
    /// Starts from a seed value.
    pub(crate) fn new(seed: f64) -> Self {
        Self { anchor: seed, partial: 0.0, phase: 0 }
    }

    /// Feeds one input; the new value.
    #[inline(always)]
    #[allow(clippy::inline_always)] // compiled inside the dispatched kernels
    pub(crate) fn step(&mut self, s: &Smoother, x: f64) -> f64 {
        let xs = s.scale(x);
        self.partial = if self.phase == 0 { xs } else { s.partial(self.partial, xs) };
        self.phase += 1;
        let y = s.at(self.anchor, self.phase, self.partial);
        if self.phase == 4 {
            self.anchor = y;
            self.phase = 0;
        }
        y
    }
}

/// Runs a [`Smoother`] from `seed` over the inputs in `buf`, replacing
/// each by its value: the batch form of [`SmoothState`]. In place, so a first
/// pass can compute the inputs into the output (loop fission: that pass
/// vectorises, and this one is only the short chain).
/// Returns the anchor to continue from, which is the last value when
/// `buf.len()` is a multiple of 4 (callers that go on in strips keep them
/// so, which keeps the blocks where the streaming form has them).
#[inline(always)]
#[allow(clippy::inline_always)] // compiled inside the dispatched kernels
pub(crate) fn smooth_in_place(s: &Smoother, seed: f64, buf: &mut [f64]) -> f64 {
    let mut y = seed;
    let mut blocks = buf.chunks_exact_mut(4);
    for chunk in &mut blocks {
        if let Ok(xs) = <&mut [f64; 4]>::try_from(chunk) {
            y = s.block(y, xs);
        }
    }
    let mut stream = SmoothState::new(y);
    for x in blocks.into_remainder() {
        *x = stream.step(s, *x);
    }
    y
}

/// Wilder's true range of a bar, in TA-Lib's order: start from high - low,
/// then replace it by each distance to the previous close that is strictly
/// greater. A NaN distance never replaces, so a NaN previous close yields
/// high - low, exactly as in TA-Lib.
#[inline(always)]
#[allow(clippy::inline_always)] // compiled inside the dispatched kernels
pub(crate) fn true_range(high: f64, low: f64, prev_close: f64) -> f64 {
    let mut greatest = high - low;
    let up = (prev_close - high).abs();
    if up > greatest {
        greatest = up;
    }
    let down = (prev_close - low).abs();
    if down > greatest {
        greatest = down;
    }
    greatest
}

/// Where the TA-Lib Python wrapper starts computing: the first bar whose
/// inputs are all non-NaN, or the last bar when there is none (the wrapper
/// then still evaluates that last bar). `n` is the common length (0 for an
/// empty series).
pub(crate) fn first_valid(n: usize, cols: &[&[f64]]) -> usize {
    (0..n).find(|&i| cols.iter().all(|c| c.get(i).is_some_and(|v| !v.is_nan()))).unwrap_or(n.saturating_sub(1))
}

/// Checks that all named inputs have the length of the first; returns it.
pub(crate) fn same_len(cols: &[(&str, &[f64])]) -> CoreResult<usize> {
    let Some(&(first, col)) = cols.first() else {
        return Ok(0);
    };
    let n = col.len();
    for &(name, c) in &cols[1..] {
        if c.len() != n {
            return Err(CoreError::InvalidInput(format!(
                "input arrays have different lengths: `{first}` has {n}, `{name}` has {}",
                c.len()
            )));
        }
    }
    Ok(n)
}

/// Validates a multiplier such as Bollinger's `nbdev`: any finite number.
pub(crate) fn check_finite(name: &str, value: f64) -> CoreResult<f64> {
    if value.is_finite() {
        Ok(value)
    } else {
        Err(CoreError::param(name, format!("must be a finite number, got {value}")))
    }
}

/// One output column in lazy form: NaN for the first `warm` of `n` bars,
/// then `values`, then NaN again if the series was too short to fill it.
pub(crate) struct Column<I> {
    pub(crate) n: usize,
    pub(crate) warm: usize,
    pub(crate) values: I,
}

impl<I: Iterator<Item = f64>> Column<I> {
    /// The column as a new vector, written once (no zero-fill first).
    #[inline(always)]
    #[allow(clippy::inline_always)] // compiled inside the dispatched kernels
    pub(crate) fn collect(self) -> Vec<f64> {
        let mut out = Vec::with_capacity(self.n);
        out.resize(self.warm.min(self.n), f64::NAN);
        // `extend` drives the iterator with `fold`: the tightest loop.
        out.extend(self.values);
        out.resize(self.n, f64::NAN);
        out
    }

    /// The column written into `out`.
    ///
    /// # Errors
    /// [`CoreError::InvalidInput`] if `out` does not have `n` slots.
    #[inline(always)]
    #[allow(clippy::inline_always)] // compiled inside the dispatched kernels
    pub(crate) fn write(self, out: &mut [f64]) -> CoreResult<()> {
        check_out(self.n, &[("out", out.len())])?;
        fill(out, self.warm, self.values);
        Ok(())
    }
}

/// The column of a one-input window function over `period` bars, prepared:
/// `period >= 1` checked, `out` as long as `x`, NaN written through the
/// warm-up (leading NaNs skipped, as TA-Lib's wrapper does) and `x` passed
/// through for `period == 1`. Returns the inputs from the first valid one
/// and the outputs left to write (the window ending at input
/// `period - 1 + j` writes output `j`), or None when none is left.
///
/// # Errors
/// `InvalidParameter` for a period below 1, `InvalidInput` for an `out` of
/// another length.
pub(crate) fn window_column<'x, 'o>(
    x: &'x [f64],
    period: usize,
    out: &'o mut [f64],
) -> CoreResult<Option<(&'x [f64], &'o mut [f64])>> {
    crate::error::check_period("period", period, 1)?;
    let n = x.len();
    check_out(n, &[("out", out.len())])?;
    let begin = first_valid(n, &[x]).min(n);
    let warm = begin.saturating_add(period - 1).min(n);
    let (head, tail) = out.split_at_mut(warm);
    head.fill(f64::NAN);
    let xs = &x[begin..];
    if period == 1 {
        tail.copy_from_slice(xs);
        return Ok(None);
    }
    Ok((!tail.is_empty()).then_some((xs, tail)))
}

/// Checks that every output slice has the inputs' length `n`.
pub(crate) fn check_out(n: usize, outs: &[(&str, usize)]) -> CoreResult<()> {
    for &(name, len) in outs {
        if len != n {
            return Err(CoreError::InvalidInput(format!("output `{name}` has {len} slots for {n} input values")));
        }
    }
    Ok(())
}

/// Writes one output column: NaN on `out[..warm]`, then `values`; any slot
/// `values` does not reach (a series too short to warm up) is NaN too.
#[inline(always)]
#[allow(clippy::inline_always)] // compiled inside the dispatched kernels
pub(crate) fn fill(out: &mut [f64], warm: usize, values: impl IntoIterator<Item = f64>) {
    let (head, tail) = out.split_at_mut(warm.min(out.len()));
    head.fill(f64::NAN);
    let mut written = 0;
    for (o, v) in tail.iter_mut().zip(values) {
        *o = v;
        written += 1;
    }
    tail[written..].fill(f64::NAN);
}

/// [`fill`] for two columns of equal length fed together.
pub(crate) fn fill2(a: &mut [f64], b: &mut [f64], warm: usize, values: impl IntoIterator<Item = (f64, f64)>) {
    let warm = warm.min(a.len()).min(b.len());
    a[..warm].fill(f64::NAN);
    b[..warm].fill(f64::NAN);
    let mut written = warm;
    for ((oa, ob), (va, vb)) in a[warm..].iter_mut().zip(b[warm..].iter_mut()).zip(values) {
        (*oa, *ob) = (va, vb);
        written += 1;
    }
    a[written..].fill(f64::NAN);
    b[written..].fill(f64::NAN);
}

/// [`fill`] for three columns of equal length fed together.
#[inline(always)]
#[allow(clippy::inline_always)] // compiled inside the dispatched kernels
pub(crate) fn fill3(cols: [&mut [f64]; 3], warm: usize, values: impl IntoIterator<Item = (f64, f64, f64)>) {
    let [a, b, c] = cols;
    let warm = warm.min(a.len()).min(b.len()).min(c.len());
    for col in [&mut *a, &mut *b, &mut *c] {
        col[..warm].fill(f64::NAN);
    }
    let mut written = warm;
    let outs = a[warm..].iter_mut().zip(b[warm..].iter_mut()).zip(c[warm..].iter_mut());
    for (((oa, ob), oc), (va, vb, vc)) in outs.zip(values) {
        (*oa, *ob, *oc) = (va, vb, vc);
        written += 1;
    }
    for col in [a, b, c] {
        col[written..].fill(f64::NAN);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn true_range_takes_the_greatest_distance() {
        assert_eq!(true_range(10.0, 8.0, 9.0), 2.0);
        assert_eq!(true_range(10.0, 8.0, 5.0), 5.0);
        assert_eq!(true_range(10.0, 8.0, 13.0), 5.0);
        // TA-Lib quirk: a NaN previous close never wins a comparison.
        assert_eq!(true_range(10.0, 8.0, f64::NAN), 2.0);
        assert!(true_range(f64::NAN, 8.0, 9.0).is_nan());
    }

    #[test]
    fn first_valid_follows_the_talib_wrapper() {
        let nan = f64::NAN;
        assert_eq!(first_valid(3, &[&[nan, 1.0, 2.0]]), 1);
        assert_eq!(first_valid(3, &[&[nan, 1.0, 2.0], &[1.0, nan, 2.0]]), 2);
        assert_eq!(first_valid(3, &[&[nan, nan, nan]]), 2);
    }

    #[test]
    fn same_len_names_the_offending_column() {
        let err = same_len(&[("high", &[1.0, 2.0]), ("low", &[1.0])]).unwrap_err();
        assert!(err.to_string().contains("`low` has 1"));
        assert_eq!(same_len(&[("x", &[1.0, 2.0])]).unwrap(), 2);
    }
}
