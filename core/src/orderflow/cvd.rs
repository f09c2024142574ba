//! Cumulative volume delta from trades: each trade's quantity signed by the
//! aggressor's side, summed.
//!
//! Binance's `m` ("is the buyer the market maker") tells the side exactly:
//! `m = true` means the buyer's order was resting, so the seller crossed
//! the spread (a taker **sell**, −qty); `m = false` is a taker **buy**
//! (+qty).
use crate::error::{CoreError, CoreResult};

/// A trade's signed quantity: `+qty` for a taker buy, `−qty` for a taker
/// sell (`is_buyer_maker`).
#[must_use]
pub fn signed_qty(qty: f64, is_buyer_maker: bool) -> f64 {
    if is_buyer_maker {
        -qty
    } else {
        qty
    }
}

/// Checks one trade quantity.
///
/// # Errors
/// [`CoreError::InvalidInput`] if `qty` is negative or not finite.
pub fn check_qty(qty: f64, index: usize) -> CoreResult<()> {
    if !qty.is_finite() || qty < 0.0 {
        return Err(CoreError::InvalidInput(format!(
            "trade quantity at index {index} must be finite and >= 0, got {qty}"
        )));
    }
    Ok(())
}

/// CVD after each trade, written into `out` (`out[i]` = Σ signed qty of
/// trades `0..=i`).
///
/// # Errors
/// [`CoreError::InvalidInput`] on a length mismatch or a bad quantity.
pub fn cvd_into(qty: &[f64], is_buyer_maker: &[bool], out: &mut [f64]) -> CoreResult<()> {
    if qty.len() != is_buyer_maker.len() || qty.len() != out.len() {
        return Err(CoreError::InvalidInput(format!(
            "input arrays have different lengths: `qty` has {}, `is_buyer_maker` has {}",
            qty.len(),
            is_buyer_maker.len()
        )));
    }
    let mut acc = 0.0;
    for (i, ((&q, &m), o)) in qty.iter().zip(is_buyer_maker).zip(out.iter_mut()).enumerate() {
        check_qty(q, i)?;
        acc += signed_qty(q, m);
        *o = acc;
    }
    Ok(())
}

/// [`cvd_into`] into a new vector.
///
/// # Errors
/// As [`cvd_into`].
pub fn cvd(qty: &[f64], is_buyer_maker: &[bool]) -> CoreResult<Vec<f64>> {
    let mut out = vec![0.0; qty.len()];
    cvd_into(qty, is_buyer_maker, &mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buyer_maker_trades_are_sells() {
        assert_eq!(cvd(&[1.0, 2.0, 0.5, 4.0], &[false, true, false, false]).unwrap(), vec![1.0, -1.0, -0.5, 3.5]);
        assert!(cvd(&[1.0], &[]).is_err());
        assert!(cvd(&[-1.0], &[true]).is_err());
        assert!(cvd(&[f64::NAN], &[true]).is_err());
    }
}
