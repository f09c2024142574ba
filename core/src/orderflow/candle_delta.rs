//! Volume delta from klines alone: Binance's kline carries the taker-buy
//! base volume, so a candle's delta is `taker_buy − (volume − taker_buy)
//! = 2·taker_buy − volume`, exactly the trade-based delta of that candle.
//! History files and backtests get CVD wherever that column exists.
//!
//! A missing taker-buy volume (NaN: the column is empty in the file) gives
//! a NaN delta; the CVD skips it (adds nothing) and is NaN on that row, like
//! pandas' `cumsum`.
use crate::error::{CoreError, CoreResult};

fn check(volume: &[f64], taker_buy: &[f64]) -> CoreResult<()> {
    if volume.len() != taker_buy.len() {
        return Err(CoreError::InvalidInput(format!(
            "input arrays have different lengths: `volume` has {}, `taker_buy_volume` has {}",
            volume.len(),
            taker_buy.len()
        )));
    }
    for (i, (&v, &t)) in volume.iter().zip(taker_buy).enumerate() {
        if v.is_nan() || t.is_nan() {
            continue;
        }
        if !v.is_finite() || v < 0.0 || !t.is_finite() || t < 0.0 {
            return Err(CoreError::InvalidInput(format!(
                "volumes at index {i} must be finite and >= 0, got volume={v}, taker_buy_volume={t}"
            )));
        }
        if t > v {
            return Err(CoreError::InvalidInput(format!("taker_buy_volume {t} exceeds volume {v} at index {i}")));
        }
    }
    Ok(())
}

/// One candle's delta, `2·taker_buy − volume`.
#[must_use]
pub fn delta(volume: f64, taker_buy: f64) -> f64 {
    2.0 * taker_buy - volume
}

/// Per-candle deltas into `out`.
///
/// # Errors
/// [`CoreError::InvalidInput`] on a length mismatch, a negative or infinite
/// volume, or a taker-buy volume above the candle's volume.
pub fn candle_delta_into(volume: &[f64], taker_buy: &[f64], out: &mut [f64]) -> CoreResult<()> {
    check(volume, taker_buy)?;
    for ((o, &v), &t) in out.iter_mut().zip(volume).zip(taker_buy) {
        *o = delta(v, t);
    }
    Ok(())
}

/// The running sum of the per-candle deltas into `out` (NaN deltas skipped,
/// NaN on their row).
///
/// # Errors
/// As [`candle_delta_into`].
pub fn candle_cvd_into(volume: &[f64], taker_buy: &[f64], out: &mut [f64]) -> CoreResult<()> {
    check(volume, taker_buy)?;
    let mut acc = 0.0;
    for ((o, &v), &t) in out.iter_mut().zip(volume).zip(taker_buy) {
        let d = delta(v, t);
        if d.is_nan() {
            *o = f64::NAN;
        } else {
            acc += d;
            *o = acc;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delta_and_cvd_by_hand() {
        let (v, t) = ([10.0, 4.0, 6.0, 2.0], [7.0, 1.0, f64::NAN, 2.0]);
        let mut d = [0.0; 4];
        candle_delta_into(&v, &t, &mut d).unwrap();
        assert_eq!(&d[..2], &[4.0, -2.0]);
        assert!(d[2].is_nan());
        assert_eq!(d[3], 2.0);
        let mut c = [0.0; 4];
        candle_cvd_into(&v, &t, &mut c).unwrap();
        assert_eq!(c[..2], [4.0, 2.0]);
        assert!(c[2].is_nan());
        assert_eq!(c[3], 4.0);
    }

    #[test]
    fn impossible_volumes_are_refused() {
        let mut o = [0.0; 1];
        assert!(candle_delta_into(&[1.0], &[2.0], &mut o).unwrap_err().to_string().contains("exceeds"));
        assert!(candle_delta_into(&[-1.0], &[0.0], &mut o).is_err());
        assert!(candle_delta_into(&[1.0, 2.0], &[0.0], &mut o).is_err());
    }
}
