//! The local order book of one symbol: two sides, the update-id state of
//! Binance's sync procedure and the running order-flow imbalance.
use super::analytics;
use super::message::parse_depth_message;
use super::ofi::{ofi_event, OfiAccumulator};
use super::side::{BookSide, Level, Side, DEFAULT_WINDOW};
use super::sync::{DiffAction, SyncState, UpdateIds};
use super::ticks::{parse_units, Field};
use crate::error::{CoreError, CoreResult};

/// A local copy of an exchange order book, kept by Binance's procedure
/// (see [`super::sync`]): apply a REST snapshot, then every depth event
/// in order. Prices and quantities are exact integers of 10⁻⁸.
#[derive(Debug, Clone)]
pub struct OrderBook {
    symbol: String,
    bids: BookSide,
    asks: BookSide,
    ids: UpdateIds,
    ofi: OfiAccumulator,
    gaps: u64,
    snapshots: u64,
    /// Parsed levels of the event being applied (reused: no allocation per
    /// event once grown).
    scratch_bids: Vec<Level>,
    scratch_asks: Vec<Level>,
}

impl OrderBook {
    /// An empty book whose sides keep a dense window of
    /// [`DEFAULT_WINDOW`] ticks around the touch (see [`super::side`]).
    #[must_use]
    pub fn new(symbol: &str) -> Self {
        Self::with_window(symbol, DEFAULT_WINDOW)
    }

    /// An empty book whose sides keep a dense window of `window` ticks
    /// around the touch; the levels beyond it are kept too, in a sorted map
    /// (the book is whole and exact whatever the window).
    #[must_use]
    pub fn with_window(symbol: &str, window: usize) -> Self {
        Self {
            symbol: symbol.to_owned(),
            bids: BookSide::with_window(Side::Bid, window),
            asks: BookSide::with_window(Side::Ask, window),
            ids: UpdateIds::default(),
            ofi: OfiAccumulator::default(),
            gaps: 0,
            snapshots: 0,
            scratch_bids: Vec::new(),
            scratch_asks: Vec::new(),
        }
    }

    #[must_use]
    pub fn symbol(&self) -> &str {
        &self.symbol
    }

    /// Replaces the whole book with a snapshot whose `lastUpdateId` is
    /// `last_update_id`; the next depth event must straddle it
    /// (`U <= lastUpdateId + 1 <= u`). Zero quantities are skipped.
    pub fn apply_snapshot(&mut self, last_update_id: u64, bids: &[Level], asks: &[Level]) {
        self.bids.load(bids);
        self.asks.load(asks);
        self.ids.snapshot(last_update_id);
        self.snapshots += 1;
    }

    /// Applies one depth event `U = first`, `u = last` whose levels carry
    /// absolute quantities (0 removes the level). Returns `true` when
    /// applied, `false` when stale (`u <= last_update_id`, already in the
    /// book). On a gap nothing is applied and the book waits for a new
    /// snapshot.
    ///
    /// # Errors
    /// [`CoreError::BookGap`] on a gap, before any snapshot and after a gap
    /// until the next snapshot; [`CoreError::InvalidInput`] if `first > last`.
    pub fn apply_diff(&mut self, first: u64, last: u64, bids: &[Level], asks: &[Level]) -> CoreResult<bool> {
        match self.ids.check(&self.symbol, first, last) {
            Ok(DiffAction::Stale) => Ok(false),
            Ok(DiffAction::Apply) => {
                let (b0, a0) = (self.bids.best(), self.asks.best());
                self.bids.set_all(bids);
                self.asks.set_all(asks);
                self.ofi.add(ofi_event(b0, a0, self.bids.best(), self.asks.best()));
                self.ids.applied(last);
                Ok(true)
            }
            Err(e) => {
                let live = matches!(self.ids.state(), SyncState::AwaitingFirst | SyncState::Synced);
                if live && matches!(e, CoreError::BookGap(_)) {
                    self.gaps += 1;
                    self.ids.gap();
                }
                Err(e)
            }
        }
    }

    /// [`Self::apply_diff`] with Binance's decimal strings.
    ///
    /// # Errors
    /// As [`parse_levels`] and [`Self::apply_diff`].
    pub fn apply_diff_text(
        &mut self,
        first: u64,
        last: u64,
        bids: &[(&str, &str)],
        asks: &[(&str, &str)],
    ) -> CoreResult<bool> {
        let (mut b, mut a) = self.take_scratch();
        let parsed = parse_levels_into(bids, &mut b).and_then(|()| parse_levels_into(asks, &mut a));
        let result = parsed.and_then(|()| self.apply_diff(first, last, &b, &a));
        self.scratch_bids = b;
        self.scratch_asks = a;
        result
    }

    /// Applies one raw websocket depth message: the combined-stream JSON
    /// `{"stream": ..., "data": {"e": "depthUpdate", "U": .., "u": ..,
    /// "b": [[price, qty], ...], "a": [...]}}` or the bare `data` object,
    /// with the same result and errors as [`Self::apply_diff`]. Nothing is
    /// applied when the message is malformed.
    ///
    /// # Errors
    /// [`CoreError::InvalidInput`] for a message that is not a depth event
    /// (bad JSON, another event type, a missing `U`/`u`, a bad level); then
    /// as [`Self::apply_diff`].
    pub fn apply_message(&mut self, message: &[u8]) -> CoreResult<bool> {
        let (mut b, mut a) = self.take_scratch();
        let result =
            parse_depth_message(message, &mut b, &mut a).and_then(|(first, last)| self.apply_diff(first, last, &b, &a));
        self.scratch_bids = b;
        self.scratch_asks = a;
        result
    }

    fn take_scratch(&mut self) -> (Vec<Level>, Vec<Level>) {
        let (mut b, mut a) = (std::mem::take(&mut self.scratch_bids), std::mem::take(&mut self.scratch_asks));
        b.clear();
        a.clear();
        (b, a)
    }

    /// [`Self::apply_snapshot`] with Binance's decimal strings.
    ///
    /// # Errors
    /// As [`parse_levels`].
    pub fn apply_snapshot_text(&mut self, last: u64, bids: &[(&str, &str)], asks: &[(&str, &str)]) -> CoreResult<()> {
        let (b, a) = (parse_levels(bids)?, parse_levels(asks)?);
        self.apply_snapshot(last, &b, &a);
        Ok(())
    }

    /// The snapshot's `lastUpdateId`, then the `u` of each applied event.
    #[must_use]
    pub fn last_update_id(&self) -> u64 {
        self.ids.last()
    }

    #[must_use]
    pub fn state(&self) -> SyncState {
        self.ids.state()
    }

    /// Gaps detected since the book was created.
    #[must_use]
    pub fn gaps(&self) -> u64 {
        self.gaps
    }

    /// Snapshots applied since the book was created.
    #[must_use]
    pub fn snapshots(&self) -> u64 {
        self.snapshots
    }

    #[must_use]
    pub fn bids(&self) -> &BookSide {
        &self.bids
    }

    #[must_use]
    pub fn asks(&self) -> &BookSide {
        &self.asks
    }

    /// The order-flow imbalance accumulated since the last [`Self::take_ofi`].
    #[must_use]
    pub fn ofi(&self) -> OfiAccumulator {
        self.ofi
    }

    /// Returns the accumulated order-flow imbalance and resets it.
    pub fn take_ofi(&mut self) -> OfiAccumulator {
        self.ofi.take()
    }

    #[must_use]
    pub fn spread(&self) -> Option<f64> {
        analytics::spread(&self.bids, &self.asks)
    }

    #[must_use]
    pub fn mid(&self) -> Option<f64> {
        analytics::mid(&self.bids, &self.asks)
    }

    #[must_use]
    pub fn microprice(&self) -> Option<f64> {
        analytics::microprice(&self.bids, &self.asks)
    }

    /// # Errors
    /// As [`analytics::imbalance`].
    pub fn imbalance(&self, n: usize) -> CoreResult<Option<f64>> {
        analytics::imbalance(&self.bids, &self.asks, n)
    }

    /// # Errors
    /// As [`analytics::depth`].
    pub fn depth(&self, bps: f64) -> CoreResult<(f64, f64)> {
        analytics::depth(&self.bids, &self.asks, bps)
    }
}

/// Parses `(price, quantity)` decimal strings into exact levels.
///
/// # Errors
/// [`CoreError::InvalidInput`] naming the first bad price or quantity.
pub fn parse_levels(levels: &[(&str, &str)]) -> CoreResult<Vec<Level>> {
    levels.iter().map(|&(p, q)| parse_level(p, q)).collect()
}

/// [`parse_levels`] appending to `out`.
///
/// # Errors
/// [`CoreError::InvalidInput`] naming the first bad price or quantity.
pub fn parse_levels_into(levels: &[(&str, &str)], out: &mut Vec<Level>) -> CoreResult<()> {
    out.reserve(levels.len());
    for &(p, q) in levels {
        out.push(parse_level(p, q)?);
    }
    Ok(())
}

/// Parses one `(price, quantity)` pair; the price must be positive.
///
/// # Errors
/// [`CoreError::InvalidInput`] naming the bad field.
#[inline]
pub fn parse_level(price: &str, qty: &str) -> CoreResult<Level> {
    let p = parse_units(price, Field::Price)?;
    if p == 0 {
        return Err(CoreError::InvalidInput(format!("price {price:?} must be > 0")));
    }
    Ok((p, parse_units(qty, Field::Quantity)?))
}

#[cfg(test)]
mod tests {
    use super::super::ticks::ONE;
    use super::*;

    fn lv(p: u64, q: u64) -> Level {
        (p * ONE, q * ONE)
    }

    #[test]
    fn snapshot_then_diffs_then_gap_then_resync() {
        let mut b = OrderBook::new("BTCUSDT");
        assert!(matches!(b.apply_diff(1, 2, &[], &[]), Err(CoreError::BookGap(_))));
        assert_eq!(b.gaps(), 0);
        b.apply_snapshot(100, &[lv(99, 1), lv(98, 2)], &[lv(101, 1), lv(102, 0)]);
        assert_eq!(b.asks().len(), 1);
        assert_eq!(b.apply_diff(90, 100, &[lv(99, 9)], &[]), Ok(false));
        assert_eq!(b.bids().best(), Some(lv(99, 1)));
        assert_eq!(b.apply_diff(95, 105, &[lv(99, 0)], &[lv(100, 3)]), Ok(true));
        assert_eq!(b.bids().best(), Some(lv(98, 2)));
        assert_eq!(b.asks().best(), Some(lv(100, 3)));
        assert_eq!(b.last_update_id(), 105);
        // bid: -1 (level consumed, price fell); ask: -3 (stepped down)
        assert_eq!(b.take_ofi(), OfiAccumulator { sum: -4 * i128::from(ONE), events: 1 });
        assert!(matches!(b.apply_diff(107, 110, &[lv(97, 1)], &[]), Err(CoreError::BookGap(_))));
        assert_eq!(b.gaps(), 1);
        assert_eq!(b.bids().qty_at(97 * ONE), 0);
        assert!(matches!(b.apply_diff(106, 110, &[], &[]), Err(CoreError::BookGap(_))));
        assert_eq!(b.gaps(), 1);
        b.apply_snapshot(108, &[lv(97, 1)], &[lv(103, 1)]);
        assert_eq!(b.apply_diff(107, 110, &[lv(96, 1)], &[]), Ok(true));
        assert_eq!(b.bids().top(5), vec![lv(97, 1), lv(96, 1)]);
        assert_eq!(b.snapshots(), 2);
    }

    #[test]
    fn crossing_updates_keep_both_sides_as_sent() {
        // a bid above the best ask (a crossed book, as a lagging stream can
        // show): each side holds exactly its levels, the spread is negative
        let mut b = OrderBook::with_window("X", 64);
        b.apply_snapshot(10, &[lv(99, 1)], &[lv(101, 1), lv(102, 2)]);
        assert_eq!(b.apply_diff(11, 11, &[lv(103, 4), lv(1000, 1)], &[lv(101, 0)]), Ok(true));
        assert_eq!(b.bids().top(5), vec![lv(1000, 1), lv(103, 4), lv(99, 1)]);
        assert_eq!(b.asks().top(5), vec![lv(102, 2)]);
        assert_eq!(b.spread(), Some(-898.0));
        assert_eq!(b.apply_diff(12, 12, &[lv(1000, 0), lv(103, 0)], &[lv(102, 0)]), Ok(true));
        assert_eq!(b.bids().best(), Some(lv(99, 1)));
        assert_eq!(b.asks().best(), None);
    }

    #[test]
    fn raw_messages_apply_like_diffs() {
        let msg = |u0: u64, u1: u64, bid: &str| {
            format!(
                r#"{{"stream":"xusdt@depth@100ms","data":{{"e":"depthUpdate","E":1,"s":"XUSDT","U":{u0},"u":{u1},"b":[["{bid}","2.00000000"]],"a":[]}}}}"#
            )
        };
        let mut b = OrderBook::new("X");
        assert!(matches!(b.apply_message(msg(1, 2, "1.00000000").as_bytes()), Err(CoreError::BookGap(_))));
        b.apply_snapshot(5, &[], &[lv(3, 1)]);
        assert_eq!(b.apply_message(msg(1, 5, "1.00000000").as_bytes()), Ok(false));
        assert_eq!(b.apply_message(msg(4, 6, "1.50000000").as_bytes()), Ok(true));
        assert_eq!(b.bids().best(), Some((150_000_000, 2 * ONE)));
        let e = b.apply_message(msg(7, 7, "x").as_bytes()).unwrap_err().to_string();
        assert!(e.contains("b[0]"), "{e}");
        assert_eq!(b.last_update_id(), 6);
        assert!(matches!(b.apply_message(msg(8, 9, "1.00000000").as_bytes()), Err(CoreError::BookGap(_))));
        assert_eq!(b.gaps(), 1);
    }

    #[test]
    fn text_levels_parse_or_name_the_culprit() {
        let mut b = OrderBook::new("X");
        b.apply_snapshot_text(1, &[("1.5", "2")], &[("2.5", "0.00100000")]).unwrap();
        assert_eq!(b.asks().best(), Some((250_000_000, 100_000)));
        let e = b.apply_diff_text(2, 2, &[("abc", "1")], &[]).unwrap_err().to_string();
        assert!(e.contains("price \"abc\""), "{e}");
        let e = b.apply_diff_text(2, 2, &[("1", "-1")], &[]).unwrap_err().to_string();
        assert!(e.contains("negative"), "{e}");
        assert!(b.apply_diff_text(2, 2, &[("0", "1")], &[]).is_err());
        assert_eq!(b.last_update_id(), 1);
    }
}
