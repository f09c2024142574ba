//! Fractal swing highs and lows.
//!
//! With `left = l` and `right = r`, bar `i` is a **swing high** when its high
//! is strictly greater than each of the `l` highs before it and each of the
//! `r` highs after it, and a **swing low** when its low is strictly less
//! than each of the `l` lows before and the `r` lows after.
//!
//! * Ties: equal highs (lows) on either side disqualify the bar, so a flat
//!   top of two or more equal highs is no swing high at all.
//! * Edges: the first `l` and last `r` bars can never be swings (their window
//!   is incomplete); a series shorter than `l + r + 1` bars has none.
//! * One bar can be both a swing high and a swing low (an outside bar).
//! * A swing at `i` is known only once bar `i + r` has closed: that is when
//!   the streaming [`super::tracker::LevelTracker`] confirms it.
use super::input::check_bars;
use crate::error::{check_period, CoreResult};

/// Which side of the price a swing marks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SwingKind {
    High,
    Low,
}

/// One confirmed swing: the bar's index and its high (or low).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SwingPoint {
    pub index: usize,
    pub price: f64,
    pub kind: SwingKind,
}

/// The swing bars of a series, ascending.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Swings {
    pub highs: Vec<usize>,
    pub lows: Vec<usize>,
}

impl Swings {
    /// The swings as points in confirmation order: by index, and at one
    /// index the high before the low.
    #[must_use]
    pub fn points(&self, high: &[f64], low: &[f64]) -> Vec<SwingPoint> {
        let mut out = Vec::with_capacity(self.highs.len() + self.lows.len());
        let (mut a, mut b) = (self.highs.iter().peekable(), self.lows.iter().peekable());
        loop {
            let take_high = match (a.peek(), b.peek()) {
                (Some(&&h), Some(&&l)) => h <= l,
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (None, None) => break,
            };
            if take_high {
                let i = *a.next().unwrap_or(&0);
                out.push(SwingPoint { index: i, price: high[i], kind: SwingKind::High });
            } else {
                let i = *b.next().unwrap_or(&0);
                out.push(SwingPoint { index: i, price: low[i], kind: SwingKind::Low });
            }
        }
        out
    }
}

/// Whether the middle bar of `window` (at `left`) is strictly above all the
/// others.
pub(crate) fn is_swing_high(window: &[f64], left: usize) -> bool {
    let v = window[left];
    window[..left].iter().all(|&x| x < v) && window[left + 1..].iter().all(|&x| x < v)
}

/// Whether the middle bar of `window` (at `left`) is strictly below all the
/// others.
pub(crate) fn is_swing_low(window: &[f64], left: usize) -> bool {
    let v = window[left];
    window[..left].iter().all(|&x| x > v) && window[left + 1..].iter().all(|&x| x > v)
}

/// Checks the fractal's arms: both at least 1.
///
/// # Errors
/// [`crate::error::CoreError::InvalidParameter`] naming the arm.
pub fn check_arms(left: usize, right: usize) -> CoreResult<()> {
    check_period("left", left, 1)?;
    check_period("right", right, 1)?;
    Ok(())
}

/// The fractal swing highs and lows of a series (see the module docs).
///
/// # Errors
/// [`crate::error::CoreError::InvalidParameter`] if `left` or `right` is 0;
/// [`crate::error::CoreError::InvalidInput`] if the lengths differ, a price
/// is not finite or a high is below its low.
pub fn swings(high: &[f64], low: &[f64], left: usize, right: usize) -> CoreResult<Swings> {
    check_arms(left, right)?;
    let n = check_bars(high, low, None)?;
    let mut out = Swings::default();
    let span = left + right + 1;
    if n < span {
        return Ok(out);
    }
    for start in 0..=n - span {
        let i = start + left;
        if is_swing_high(&high[start..start + span], left) {
            out.highs.push(i);
        }
        if is_swing_low(&low[start..start + span], left) {
            out.lows.push(i);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swing_highs_and_lows_of_a_hand_worked_series() {
        //            0    1    2    3    4    5    6    7    8
        let high = [1.0, 3.0, 2.0, 5.0, 4.0, 4.0, 6.0, 2.0, 1.0];
        let low = [0.5, 2.0, 1.0, 4.0, 0.8, 3.0, 5.0, 1.5, 0.5];
        let s = swings(&high, &low, 2, 2).unwrap();
        // 3: 5 > 3, 2 and > 4, 4; 6: 6 > 4, 4 and > 2, 1; 1 and 7 lack a full window
        assert_eq!(s.highs, vec![3, 6]);
        // 4: 0.8 < 1.0, 4.0 and < 3.0, 5.0; 2: 1.0 is not below 0.8 at 4
        assert_eq!(s.lows, vec![4]);
    }

    #[test]
    fn ties_on_either_side_are_no_swing() {
        let high = [1.0, 2.0, 5.0, 5.0, 2.0, 1.0];
        let s = swings(&high, &high, 1, 1).unwrap();
        assert!(s.highs.is_empty());
        let low = [5.0, 4.0, 1.0, 1.0, 4.0, 5.0];
        assert!(swings(&low, &low, 1, 1).unwrap().lows.is_empty());
        // a tie further than the arms does not matter
        let s = swings(&[5.0, 1.0, 5.0, 1.0, 5.0], &[5.0, 1.0, 5.0, 1.0, 5.0], 1, 1).unwrap();
        assert_eq!((s.highs, s.lows), (vec![2], vec![1, 3]));
    }

    #[test]
    fn arms_may_differ_and_edges_never_swing() {
        let high = [0.5, 1.0, 2.0, 3.0, 2.0, 1.0, 9.0];
        let s = swings(&high, &high, 3, 1).unwrap();
        // 3 tops its three left and one right neighbours; 6 is the highest
        // bar but has no right arm
        assert_eq!(s.highs, vec![3]);
        // with a right arm of 3, bar 6 (9.0) is inside bar 3's window
        let s = swings(&high, &high, 1, 3).unwrap();
        assert!(s.highs.is_empty());
    }

    #[test]
    fn too_short_series_have_no_swings() {
        let s = swings(&[1.0, 3.0, 1.0, 0.5], &[0.5, 2.0, 0.5, 0.2], 2, 2).unwrap();
        assert_eq!(s, Swings::default());
        assert_eq!(swings(&[], &[], 2, 2).unwrap(), Swings::default());
        // exactly left + right + 1 bars: the middle one can be a swing
        assert_eq!(swings(&[1.0, 3.0, 1.0], &[1.0, 3.0, 1.0], 1, 1).unwrap().highs, vec![1]);
    }

    #[test]
    fn an_outside_bar_is_both() {
        let high = [2.0, 5.0, 2.0];
        let low = [1.0, 0.0, 1.0];
        let s = swings(&high, &low, 1, 1).unwrap();
        assert_eq!((s.highs.clone(), s.lows.clone()), (vec![1], vec![1]));
        let pts = s.points(&high, &low);
        assert_eq!(pts[0], SwingPoint { index: 1, price: 5.0, kind: SwingKind::High });
        assert_eq!(pts[1], SwingPoint { index: 1, price: 0.0, kind: SwingKind::Low });
    }

    #[test]
    fn zero_arms_and_bad_candles_are_refused() {
        assert!(swings(&[1.0], &[1.0], 0, 2).unwrap_err().to_string().contains("`left`"));
        assert!(swings(&[1.0], &[1.0], 2, 0).unwrap_err().to_string().contains("`right`"));
        assert!(swings(&[1.0, 2.0], &[1.0], 1, 1).is_err());
        assert!(swings(&[1.0], &[2.0], 1, 1).is_err());
    }
}
