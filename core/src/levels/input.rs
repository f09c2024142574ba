//! The checks every level function applies to its candles before any math.
use crate::error::{CoreError, CoreResult};

/// Checks that the columns have one length, hold finite prices and that no
/// bar's high is below its low. Returns the common length.
///
/// # Errors
/// [`CoreError::InvalidInput`] naming the column and the first bad index.
pub fn check_bars(high: &[f64], low: &[f64], close: Option<&[f64]>) -> CoreResult<usize> {
    let n = high.len();
    let mut cols: Vec<(&str, &[f64])> = vec![("high", high), ("low", low)];
    if let Some(c) = close {
        cols.push(("close", c));
    }
    for &(name, col) in &cols[1..] {
        if col.len() != n {
            return Err(CoreError::InvalidInput(format!(
                "input arrays have different lengths: `high` has {n}, `{name}` has {}",
                col.len()
            )));
        }
    }
    for &(name, col) in &cols {
        if let Some(i) = col.iter().position(|v| !v.is_finite()) {
            return Err(CoreError::InvalidInput(format!("`{name}` is not finite at index {i}: {}", col[i])));
        }
    }
    if let Some(i) = high.iter().zip(low).position(|(h, l)| h < l) {
        return Err(CoreError::InvalidInput(format!("high < low at index {i}: {} < {}", high[i], low[i])));
    }
    Ok(n)
}

/// Checks one bar (the streaming form of [`check_bars`]).
///
/// # Errors
/// [`CoreError::InvalidInput`] if a price is not finite or `high < low`.
pub fn check_bar(high: f64, low: f64, close: f64) -> CoreResult<()> {
    for (name, v) in [("high", high), ("low", low), ("close", close)] {
        if !v.is_finite() {
            return Err(CoreError::InvalidInput(format!("`{name}` is not finite: {v}")));
        }
    }
    if high < low {
        return Err(CoreError::InvalidInput(format!("high < low: {high} < {low}")));
    }
    Ok(())
}

/// Checks a finite, non-negative tolerance.
///
/// # Errors
/// [`CoreError::InvalidParameter`] otherwise.
pub fn check_tolerance(name: &str, value: f64) -> CoreResult<f64> {
    if !value.is_finite() || value < 0.0 {
        return Err(CoreError::param(name, format!("must be a finite number >= 0, got {value}")));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_are_refused_with_the_column_and_index() {
        let err = check_bars(&[1.0, 2.0], &[0.5], None).unwrap_err().to_string();
        assert!(err.contains("`low` has 1"), "{err}");
        let err = check_bars(&[1.0, f64::NAN], &[0.5, 0.5], None).unwrap_err().to_string();
        assert!(err.contains("`high` is not finite at index 1"), "{err}");
        let err = check_bars(&[1.0, 2.0], &[0.5, 0.5], Some(&[1.0, f64::INFINITY])).unwrap_err().to_string();
        assert!(err.contains("`close` is not finite at index 1"), "{err}");
        let err = check_bars(&[1.0, 2.0], &[0.5, 2.5], None).unwrap_err().to_string();
        assert!(err.contains("high < low at index 1"), "{err}");
        assert_eq!(check_bars(&[1.0, 2.0], &[1.0, 2.0], Some(&[1.0, 2.0])), Ok(2));
    }

    #[test]
    fn one_bar_is_checked_like_a_column() {
        assert!(check_bar(1.0, 2.0, 1.5).is_err());
        assert!(check_bar(f64::NAN, 1.0, 1.0).is_err());
        assert!(check_bar(2.0, 1.0, 1.5).is_ok());
        assert!(check_tolerance("t", -1.0).is_err());
        assert!(check_tolerance("t", f64::NAN).is_err());
    }
}
