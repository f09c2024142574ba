//! What the indicators share to reproduce TA-Lib 0.6 bit for bit: its zero
//! tolerance, its true range, its warm-up rule for leading NaNs, and the
//! checks every batch function runs on its arguments.
use crate::error::{CoreError, CoreResult};

/// TA-Lib 0.6's `TA_EPSILON`: the band inside which `TA_IS_ZERO` holds.
pub(crate) const TA_EPSILON: f64 = 1e-14;

/// TA-Lib's `TA_IS_ZERO`: strictly inside `(-1e-14, 1e-14)`; false for NaN.
#[inline]
pub(crate) fn is_zero(v: f64) -> bool {
    -TA_EPSILON < v && v < TA_EPSILON
}

/// TA-Lib's `TA_IS_ZERO_OR_NEG`: below `1e-14`; false for NaN.
#[inline]
pub(crate) fn is_zero_or_neg(v: f64) -> bool {
    v < TA_EPSILON
}

/// Exact conversion of a count or period to `f64` (exact below 2^53, which
/// covers every window that fits in memory).
#[inline]
#[allow(clippy::cast_precision_loss)]
pub(crate) fn to_f64(n: usize) -> f64 {
    n as f64
}

/// Wilder's true range of a bar, in TA-Lib's order: start from high - low,
/// then replace it by each distance to the previous close that is strictly
/// greater. A NaN distance never replaces, so a NaN previous close yields
/// high - low, exactly as in TA-Lib.
#[inline]
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
/// then still evaluates that last bar). `n` is the common length (> 0).
pub(crate) fn first_valid(n: usize, cols: &[&[f64]]) -> usize {
    (0..n).find(|&i| cols.iter().all(|c| c.get(i).is_some_and(|v| !v.is_nan()))).unwrap_or(n - 1)
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

/// A new output column: NaN on `..warm`, zeros (to be overwritten) after.
///
/// Zeroed memory comes straight from the allocator, so only the warm-up
/// prefix is written twice.
pub(crate) fn output(n: usize, warm: usize) -> Vec<f64> {
    let mut out = vec![0.0; n];
    out[..warm.min(n)].fill(f64::NAN);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_zero_uses_a_strict_1e14_band() {
        assert!(is_zero(0.0));
        assert!(is_zero(-0.0));
        assert!(is_zero(9e-15));
        assert!(!is_zero(2e-14));
        assert!(!is_zero(-2e-14));
        assert!(!is_zero(f64::NAN));
        assert!(is_zero_or_neg(-5.0));
        assert!(!is_zero_or_neg(f64::NAN));
    }

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
