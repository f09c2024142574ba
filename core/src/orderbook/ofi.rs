//! Order-flow imbalance (Cont, Kukanov & Stoikov, 2014, "The price impact
//! of order book events", eq. 10), accumulated over the book's updates.
//!
//! With the best bid `(Pᵇ, qᵇ)` and best ask `(Pᵃ, qᵃ)` before (`n−1`) and
//! after (`n`) one applied depth event:
//!
//! ```text
//! eₙ = qᵇₙ·1{Pᵇₙ ≥ Pᵇₙ₋₁} − qᵇₙ₋₁·1{Pᵇₙ ≤ Pᵇₙ₋₁}
//!    − qᵃₙ·1{Pᵃₙ ≤ Pᵃₙ₋₁} + qᵃₙ₋₁·1{Pᵃₙ ≥ Pᵃₙ₋₁}
//! ```
//!
//! Positive values are net buying pressure at the top (bids growing or
//! stepping up, asks shrinking or stepping up). The sum over a period (a
//! candle) is that period's OFI. A side that is empty before or after the
//! event contributes nothing; a snapshot starts a new baseline (the jump
//! from the old book to the new one is not order flow).
//!
//! Sums are exact (integer units of 10⁻⁸ base asset).
use super::side::Level;

/// One event's contribution `eₙ`, in quantity units.
#[must_use]
pub fn ofi_event(bid_before: Option<Level>, ask_before: Option<Level>, bid: Option<Level>, ask: Option<Level>) -> i128 {
    let mut e: i128 = 0;
    if let (Some((p0, q0)), Some((p1, q1))) = (bid_before, bid) {
        if p1 >= p0 {
            e += i128::from(q1);
        }
        if p1 <= p0 {
            e -= i128::from(q0);
        }
    }
    if let (Some((p0, q0)), Some((p1, q1))) = (ask_before, ask) {
        if p1 <= p0 {
            e -= i128::from(q1);
        }
        if p1 >= p0 {
            e += i128::from(q0);
        }
    }
    e
}

/// The running OFI sum and the number of events in it, read and reset by
/// the caller (once per candle).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OfiAccumulator {
    pub sum: i128,
    pub events: u64,
}

impl OfiAccumulator {
    /// Adds one event's contribution.
    pub fn add(&mut self, e: i128) {
        self.sum += e;
        self.events += 1;
    }

    /// Returns the sum so far and starts again from zero.
    #[must_use = "the taken sum is gone from the accumulator"]
    pub fn take(&mut self) -> Self {
        std::mem::take(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_worked_events() {
        // bid grows 5 -> 7 at the same price, ask unchanged: +7 - 5 = +2
        assert_eq!(ofi_event(Some((100, 5)), Some((101, 4)), Some((100, 7)), Some((101, 4))), 2);
        // bid steps up to a new level of 3: +3; ask unchanged (+0)
        assert_eq!(ofi_event(Some((100, 5)), Some((102, 4)), Some((101, 3)), Some((102, 4))), 3);
        // bid level consumed, best bid drops: -5; ask steps down to a new level of 2: -2
        assert_eq!(ofi_event(Some((100, 5)), Some((102, 4)), Some((99, 8)), Some((101, 2))), -7);
        // ask level consumed, best ask rises: +4
        assert_eq!(ofi_event(Some((100, 5)), Some((102, 4)), Some((100, 5)), Some((103, 9))), 4);
        // an empty side contributes nothing
        assert_eq!(ofi_event(None, Some((102, 4)), Some((100, 5)), Some((102, 1))), 3);
    }

    #[test]
    fn take_resets() {
        let mut a = OfiAccumulator::default();
        a.add(3);
        a.add(-5);
        assert_eq!(a.take(), OfiAccumulator { sum: -2, events: 2 });
        assert_eq!(a, OfiAccumulator::default());
    }
}
