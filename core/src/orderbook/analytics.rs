//! Analytics of a book's two sides: spread, mid, imbalance, microprice and
//! the quantity resting near the mid.
//!
//! Inputs are exact integer units (10⁻⁸); sums are exact and every result
//! is rounded to a double once or twice at the end.
use super::side::BookSide;
use super::ticks::{signed_to_f64, ONE};
use crate::error::{CoreError, CoreResult};

/// `ask − bid` (negative if the book is crossed), or None with an empty side.
#[must_use]
pub fn spread(bids: &BookSide, asks: &BookSide) -> Option<f64> {
    let ((b, _), (a, _)) = (bids.best()?, asks.best()?);
    Some(signed_to_f64(i128::from(a) - i128::from(b)))
}

/// `(bid + ask) / 2`, or None with an empty side.
#[must_use]
pub fn mid(bids: &BookSide, asks: &BookSide) -> Option<f64> {
    let ((b, _), (a, _)) = (bids.best()?, asks.best()?);
    // b + a is an exact double below 2^53 (prices below 4.5e7): one rounding
    Some((u128::from(b) + u128::from(a)) as f64 / (2 * ONE) as f64)
}

/// `(Σ bid qty − Σ ask qty) / (Σ bid qty + Σ ask qty)` over the best `n`
/// levels of each side, in [−1, 1]; None when both sides are empty.
///
/// # Errors
/// [`CoreError::InvalidParameter`] if `n` is 0.
pub fn imbalance(bids: &BookSide, asks: &BookSide, n: usize) -> CoreResult<Option<f64>> {
    if n == 0 {
        return Err(CoreError::param("n", "must be >= 1, got 0"));
    }
    let (b, a) = (bids.qty_top(n), asks.qty_top(n));
    if b + a == 0 {
        return Ok(None);
    }
    let diff = b as f64 - a as f64;
    Ok(Some(diff / (b + a) as f64))
}

/// The size-weighted mid at the top of the book,
/// `(bid·ask_qty + ask·bid_qty) / (bid_qty + ask_qty)`: it leans towards the
/// side with less quantity (the price more likely to trade through next).
/// None with an empty side.
#[must_use]
pub fn microprice(bids: &BookSide, asks: &BookSide) -> Option<f64> {
    let ((b, qb), (a, qa)) = (bids.best()?, asks.best()?);
    let num = u128::from(b) * u128::from(qa) + u128::from(a) * u128::from(qb);
    let den = u128::from(qb) + u128::from(qa);
    Some(num as f64 / den as f64 / ONE as f64)
}

/// Total quantity on each side within `bps` basis points of the mid:
/// bids with `(mid − p)·10⁴ ≤ bps·mid`, asks with `(p − mid)·10⁴ ≤ bps·mid`
/// (bounds inclusive). `(0, 0)` with an empty side (no mid).
///
/// # Errors
/// [`CoreError::InvalidParameter`] if `bps` is negative or not finite.
pub fn depth(bids: &BookSide, asks: &BookSide, bps: f64) -> CoreResult<(f64, f64)> {
    if !bps.is_finite() || bps < 0.0 {
        return Err(CoreError::param("bps", format!("must be a finite number >= 0, got {bps}")));
    }
    let (Some((b, _)), Some((a, _))) = (bids.best(), asks.best()) else { return Ok((0.0, 0.0)) };
    // twice the mid, in units: every comparison stays on integers until the
    // last multiplication
    let mid2 = i128::from(b) + i128::from(a);
    let bound = bps * mid2 as f64;
    let within = |p: u64| ((mid2 - 2 * i128::from(p)).abs() as f64) * 10_000.0 <= bound;
    let sum = |side: &BookSide| -> i128 {
        side.iter_best().take_while(|&(p, _)| within(p)).map(|(_, q)| i128::from(q)).sum()
    };
    Ok((signed_to_f64(sum(bids)), signed_to_f64(sum(asks))))
}

#[cfg(test)]
mod tests {
    use super::super::side::Side;
    use super::*;

    fn book(bids: &[(u64, u64)], asks: &[(u64, u64)]) -> (BookSide, BookSide) {
        let (mut b, mut a) = (BookSide::new(Side::Bid), BookSide::new(Side::Ask));
        for &(p, q) in bids {
            b.set(p * ONE, q * ONE);
        }
        for &(p, q) in asks {
            a.set(p * ONE, q * ONE);
        }
        (b, a)
    }

    #[test]
    fn hand_worked_book() {
        // bids 99 x 3, 98 x 5, 97 x 2; asks 101 x 1, 102 x 4, 104 x 6
        let (b, a) = book(&[(99, 3), (98, 5), (97, 2)], &[(101, 1), (102, 4), (104, 6)]);
        assert_eq!(spread(&b, &a), Some(2.0));
        assert_eq!(mid(&b, &a), Some(100.0));
        assert_eq!(imbalance(&b, &a, 1).unwrap(), Some(0.5)); // (3-1)/4
        assert_eq!(imbalance(&b, &a, 2).unwrap(), Some((8.0 - 5.0) / 13.0));
        // (99*1 + 101*3) / 4 = 100.5
        assert_eq!(microprice(&b, &a), Some(100.5));
        // 2% of 100 = 2: bids >= 98, asks <= 102 (inclusive)
        assert_eq!(depth(&b, &a, 200.0).unwrap(), (8.0, 5.0));
        assert_eq!(depth(&b, &a, 0.0).unwrap(), (0.0, 0.0));
        assert_eq!(depth(&b, &a, 400.0).unwrap(), (10.0, 11.0));
    }

    #[test]
    fn empty_sides_and_bad_parameters() {
        let (b, a) = book(&[(99, 3)], &[]);
        assert_eq!(spread(&b, &a), None);
        assert_eq!(mid(&b, &a), None);
        assert_eq!(microprice(&b, &a), None);
        assert_eq!(imbalance(&b, &a, 5).unwrap(), Some(1.0));
        assert_eq!(depth(&b, &a, 10.0).unwrap(), (0.0, 0.0));
        let (e1, e2) = book(&[], &[]);
        assert_eq!(imbalance(&e1, &e2, 1).unwrap(), None);
        assert!(imbalance(&b, &a, 0).is_err());
        assert!(depth(&b, &a, -1.0).is_err());
        assert!(depth(&b, &a, f64::NAN).is_err());
    }
}
