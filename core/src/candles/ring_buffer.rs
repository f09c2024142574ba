//! A fixed-capacity ring of closed candles per symbol and interval, stored as
//! a struct of arrays, with Binance's kline semantics.
//!
//! * an update of the candle in progress (`closed == false`) replaces it;
//! * a closed candle appends (and ends the candle in progress);
//! * a duplicate (same open time as the last closed candle) or a stale one
//!   (older) is ignored and counted;
//! * a gap (the next closed candle opens later than the interval allows) is
//!   reported with the number of missing candles, so the collector can
//!   backfill. With `allow_gap == false` the buffer is left untouched and the
//!   caller is expected to push the missing candles first, then this one.
use super::{Candle, Interval};
use crate::error::{CoreError, CoreResult};

/// What a push did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushOutcome {
    /// A closed candle was appended right after the previous one.
    Appended,
    /// A closed candle was appended after `missing` absent candles
    /// (only with `allow_gap`).
    AppendedAfterGap { missing: u64 },
    /// A closed candle was appended off the interval grid (it opens less
    /// than one interval after the previous one, or not on the grid).
    AppendedMisaligned,
    /// The candle in progress was created or replaced.
    FormingUpdated,
    /// Same open time as the last closed candle: ignored.
    Duplicate,
    /// Older than the last closed (or forming) candle: ignored.
    Stale,
    /// Nothing stored: `missing` closed candles must be pushed first
    /// (only without `allow_gap`). `expected` is the first missing open time.
    GapHeld { expected: i64, missing: u64 },
}

impl PushOutcome {
    /// Whether a closed candle was stored (indicators should advance).
    #[must_use]
    pub fn appended(self) -> bool {
        matches!(self, Self::Appended | Self::AppendedAfterGap { .. } | Self::AppendedMisaligned)
    }

    /// Short machine name, used by the Python layer.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Appended => "appended",
            Self::AppendedAfterGap { .. } => "appended_after_gap",
            Self::AppendedMisaligned => "appended_misaligned",
            Self::FormingUpdated => "forming_updated",
            Self::Duplicate => "duplicate",
            Self::Stale => "stale",
            Self::GapHeld { .. } => "gap_held",
        }
    }
}

/// Counters of what the buffer has seen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BufferStats {
    pub appended: u64,
    pub forming_updates: u64,
    pub duplicates: u64,
    pub stale: u64,
    /// Gaps seen (held or appended across).
    pub gaps: u64,
    /// Candles missing across those gaps.
    pub missing: u64,
    pub misaligned: u64,
}

/// Ring buffer of closed candles plus the candle in progress.
#[derive(Debug, Clone)]
pub struct CandleBuffer {
    interval: Interval,
    capacity: usize,
    /// Physical index of the oldest candle.
    head: usize,
    len: usize,
    open_time: Vec<i64>,
    open: Vec<f64>,
    high: Vec<f64>,
    low: Vec<f64>,
    close: Vec<f64>,
    volume: Vec<f64>,
    quote_volume: Vec<f64>,
    trades: Vec<f64>,
    taker_buy_base: Vec<f64>,
    forming: Option<Candle>,
    stats: BufferStats,
    /// Whether the newest closed candle is on the interval's grid.
    last_aligned: bool,
    /// Open time of the newest closed candle (meaningful when `len > 0`).
    last_open: i64,
    /// The interval's length in ms, 0 for the calendar month (whose length
    /// varies): a closed candle opening `step` after an aligned one is the
    /// common case, appended without the grid checks.
    step: i64,
}

impl CandleBuffer {
    /// An empty buffer holding at most `capacity` closed candles.
    ///
    /// # Errors
    /// `InvalidParameter` if `capacity` is 0.
    pub fn new(interval: Interval, capacity: usize) -> CoreResult<Self> {
        if capacity == 0 {
            return Err(CoreError::param("capacity", "must be >= 1"));
        }
        Ok(Self {
            interval,
            capacity,
            head: 0,
            len: 0,
            open_time: vec![0; capacity],
            open: vec![0.0; capacity],
            high: vec![0.0; capacity],
            low: vec![0.0; capacity],
            close: vec![0.0; capacity],
            volume: vec![0.0; capacity],
            quote_volume: vec![0.0; capacity],
            trades: vec![0.0; capacity],
            taker_buy_base: vec![0.0; capacity],
            forming: None,
            stats: BufferStats::default(),
            last_aligned: false,
            last_open: 0,
            step: if interval == Interval::Mo1 { 0 } else { interval.millis() },
        })
    }

    #[must_use]
    pub fn interval(&self) -> Interval {
        self.interval
    }

    #[must_use]
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Number of closed candles held.
    #[must_use]
    pub fn len(&self) -> usize {
        self.len
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    #[must_use]
    pub fn stats(&self) -> BufferStats {
        self.stats
    }

    /// The candle in progress, if any.
    #[must_use]
    pub fn forming(&self) -> Option<Candle> {
        self.forming
    }

    /// Open time of the newest closed candle.
    #[must_use]
    pub fn last_open_time(&self) -> Option<i64> {
        (self.len > 0).then_some(self.last_open)
    }

    /// The `i`-th closed candle, oldest first.
    #[must_use]
    pub fn get(&self, i: usize) -> Option<Candle> {
        (i < self.len).then(|| {
            let p = self.phys(i);
            Candle {
                open_time: self.open_time[p],
                open: self.open[p],
                high: self.high[p],
                low: self.low[p],
                close: self.close[p],
                volume: self.volume[p],
                quote_volume: self.quote_volume[p],
                trades: self.trades[p],
                taker_buy_base: self.taker_buy_base[p],
            }
        })
    }

    /// The newest closed candle.
    #[must_use]
    pub fn last(&self) -> Option<Candle> {
        self.len.checked_sub(1).and_then(|i| self.get(i))
    }

    /// Closed candles, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = Candle> + '_ {
        (0..self.len).filter_map(|i| self.get(i))
    }

    /// Open times of the closed candles, oldest first (a copy).
    #[must_use]
    pub fn open_times(&self) -> Vec<i64> {
        (0..self.len).map(|i| self.open_time[self.phys(i)]).collect()
    }

    /// A named f64 column (`open high low close volume quote_volume trades
    /// taker_buy_base`), oldest first (a copy).
    #[must_use]
    pub fn column(&self, name: &str) -> Option<Vec<f64>> {
        let col = match name {
            "open" => &self.open,
            "high" => &self.high,
            "low" => &self.low,
            "close" => &self.close,
            "volume" => &self.volume,
            "quote_volume" => &self.quote_volume,
            "trades" => &self.trades,
            "taker_buy_base" => &self.taker_buy_base,
            _ => return None,
        };
        Some((0..self.len).map(|i| col[self.phys(i)]).collect())
    }

    /// Pushes one kline (see the module docs for the semantics).
    #[inline(always)]
    #[allow(clippy::inline_always)] // inlined into the engine's dispatched batch loops
    pub fn push(&mut self, candle: &Candle, closed: bool, allow_gap: bool) -> PushOutcome {
        if closed {
            self.push_closed(candle, allow_gap)
        } else {
            self.push_forming(candle)
        }
    }

    /// Forgets every candle and counter.
    pub fn clear(&mut self) {
        self.head = 0;
        self.len = 0;
        self.forming = None;
        self.stats = BufferStats::default();
        self.last_aligned = false;
        self.last_open = 0;
    }

    /// A closed candle. The common case first: the next candle on the grid
    /// after an aligned one (for the fixed intervals: one add and a
    /// compare), appended without the checks below, which would reach the
    /// same outcome. (`last_aligned` is false while the buffer is empty.)
    #[inline(always)]
    #[allow(clippy::inline_always)] // inlined into the engine's dispatched batch loops
    fn push_closed(&mut self, c: &Candle, allow_gap: bool) -> PushOutcome {
        if self.step != 0 && self.last_aligned && c.open_time == self.last_open + self.step {
            self.end_forming(c);
            self.append(c);
            self.stats.appended += 1;
            return PushOutcome::Appended;
        }
        self.push_closed_checked(c, allow_gap)
    }

    fn push_closed_checked(&mut self, c: &Candle, allow_gap: bool) -> PushOutcome {
        let mut outcome = PushOutcome::Appended;
        // A candle exactly one interval after an aligned one is aligned too:
        // the (integer-division) grid check is only needed otherwise.
        let mut follows_aligned = false;
        if let Some(last) = self.last_open_time() {
            if c.open_time == last {
                self.stats.duplicates += 1;
                return PushOutcome::Duplicate;
            }
            if c.open_time < last {
                self.stats.stale += 1;
                return PushOutcome::Stale;
            }
            let expected = self.interval.next_open(last);
            if c.open_time > expected {
                let missing = self.interval.missing_between(last, c.open_time);
                self.stats.gaps += 1;
                self.stats.missing += missing;
                if !allow_gap {
                    return PushOutcome::GapHeld { expected, missing };
                }
                outcome = PushOutcome::AppendedAfterGap { missing };
            } else if c.open_time < expected {
                outcome = PushOutcome::AppendedMisaligned;
            }
            follows_aligned = self.last_aligned && c.open_time == expected;
        }
        if matches!(outcome, PushOutcome::Appended) && !follows_aligned && !self.interval.is_aligned(c.open_time) {
            outcome = PushOutcome::AppendedMisaligned;
        }
        self.last_aligned =
            outcome != PushOutcome::AppendedMisaligned && (follows_aligned || self.interval.is_aligned(c.open_time));
        if outcome == PushOutcome::AppendedMisaligned {
            self.stats.misaligned += 1;
        }
        self.end_forming(c);
        self.append(c);
        self.stats.appended += 1;
        outcome
    }

    fn push_forming(&mut self, c: &Candle) -> PushOutcome {
        let older_than_closed = self.last_open_time().is_some_and(|last| c.open_time <= last);
        let older_than_forming = self.forming.is_some_and(|f| c.open_time < f.open_time);
        if older_than_closed || older_than_forming {
            self.stats.stale += 1;
            return PushOutcome::Stale;
        }
        self.forming = Some(*c);
        self.stats.forming_updates += 1;
        PushOutcome::FormingUpdated
    }

    /// A closed candle `c` ends the candle in progress if that opened at or
    /// before it.
    #[inline(always)]
    #[allow(clippy::inline_always)] // on the fast path of `push_closed`
    fn end_forming(&mut self, c: &Candle) {
        if self.forming.is_some_and(|f| f.open_time <= c.open_time) {
            self.forming = None;
        }
    }

    #[inline(always)]
    #[allow(clippy::inline_always)] // on the fast path of `push_closed`
    fn append(&mut self, c: &Candle) {
        let p = if self.len < self.capacity {
            self.len += 1;
            self.phys(self.len - 1)
        } else {
            let p = self.head;
            // a compare, not a division (`%`), on every append of a full buffer
            let next = self.head + 1;
            self.head = if next == self.capacity { 0 } else { next };
            p
        };
        self.open_time[p] = c.open_time;
        self.open[p] = c.open;
        self.high[p] = c.high;
        self.low[p] = c.low;
        self.close[p] = c.close;
        self.volume[p] = c.volume;
        self.quote_volume[p] = c.quote_volume;
        self.trades[p] = c.trades;
        self.taker_buy_base[p] = c.taker_buy_base;
        self.last_open = c.open_time;
    }

    #[inline]
    fn phys(&self, i: usize) -> usize {
        let p = self.head + i;
        if p >= self.capacity {
            p - self.capacity
        } else {
            p
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const M: i64 = 60_000;

    fn c(t: i64, close: f64) -> Candle {
        Candle::ohlcv(t * M, close, close + 1.0, close - 1.0, close, 1.0)
    }

    #[test]
    fn closed_candles_append_and_wrap_at_capacity() {
        let mut b = CandleBuffer::new(Interval::M1, 3).unwrap();
        for t in 0..5 {
            assert_eq!(b.push(&c(t, t as f64 + 10.0), true, true), PushOutcome::Appended);
        }
        assert_eq!(b.len(), 3);
        assert_eq!(b.open_times(), vec![2 * M, 3 * M, 4 * M]);
        assert_eq!(b.column("close").unwrap(), vec![12.0, 13.0, 14.0]);
        assert_eq!(b.last().unwrap().close, 14.0);
    }

    #[test]
    fn forming_updates_replace_and_the_close_ends_them() {
        let mut b = CandleBuffer::new(Interval::M1, 10).unwrap();
        b.push(&c(0, 10.0), true, true);
        assert_eq!(b.push(&c(1, 11.0), false, true), PushOutcome::FormingUpdated);
        assert_eq!(b.push(&c(1, 11.5), false, true), PushOutcome::FormingUpdated);
        assert_eq!(b.forming().unwrap().close, 11.5);
        assert_eq!(b.len(), 1);
        assert_eq!(b.push(&c(1, 11.7), true, true), PushOutcome::Appended);
        assert!(b.forming().is_none());
        assert_eq!(b.last().unwrap().close, 11.7);
        // an in-progress update of an already closed candle is stale
        assert_eq!(b.push(&c(1, 99.0), false, true), PushOutcome::Stale);
    }

    #[test]
    fn duplicates_and_stale_candles_are_ignored_and_counted() {
        let mut b = CandleBuffer::new(Interval::M1, 10).unwrap();
        b.push(&c(5, 10.0), true, true);
        assert_eq!(b.push(&c(5, 99.0), true, true), PushOutcome::Duplicate);
        assert_eq!(b.push(&c(3, 99.0), true, true), PushOutcome::Stale);
        assert_eq!(b.len(), 1);
        assert_eq!(b.last().unwrap().close, 10.0);
        let s = b.stats();
        assert_eq!((s.duplicates, s.stale, s.appended), (1, 1, 1));
    }

    #[test]
    fn a_gap_is_held_for_backfill_or_appended_when_allowed() {
        let mut b = CandleBuffer::new(Interval::M1, 10).unwrap();
        b.push(&c(0, 10.0), true, false);
        assert_eq!(b.push(&c(4, 14.0), true, false), PushOutcome::GapHeld { expected: M, missing: 3 });
        assert_eq!(b.len(), 1, "a held gap stores nothing");
        for t in 1..4 {
            assert_eq!(b.push(&c(t, 10.0 + t as f64), true, false), PushOutcome::Appended);
        }
        assert_eq!(b.push(&c(4, 14.0), true, false), PushOutcome::Appended);
        assert_eq!(b.push(&c(6, 16.0), true, true), PushOutcome::AppendedAfterGap { missing: 1 });
        assert_eq!(b.stats().gaps, 2);
        assert_eq!(b.stats().missing, 4);
    }

    #[test]
    fn off_grid_candles_are_appended_and_counted_as_misaligned() {
        // Shaped like Binance's 2018-02 hourly candles: after an outage they
        // open at hh:28, and the last one overlaps the next regular hour.
        let mut b = CandleBuffer::new(Interval::H1, 10).unwrap();
        let h = 3_600_000;
        let k = |t: i64| Candle::ohlcv(t, 1.0, 1.0, 1.0, 1.0, 1.0);
        b.push(&k(h), true, true);
        assert_eq!(b.push(&k(2 * h + 28 * M), true, true), PushOutcome::AppendedAfterGap { missing: 1 });
        assert_eq!(b.push(&k(3 * h + 28 * M), true, true), PushOutcome::AppendedMisaligned);
        assert_eq!(b.push(&k(4 * h), true, true), PushOutcome::AppendedMisaligned);
        assert_eq!(b.push(&k(5 * h), true, true), PushOutcome::Appended);
        assert_eq!(b.stats().misaligned, 2);
        assert_eq!(b.len(), 5);
    }

    #[test]
    fn months_take_the_calendar_not_a_fixed_step() {
        // 2024-01-01, 2024-02-01, 2024-03-01 and 2024-03-03 (days since 1970)
        let day = 86_400_000;
        let k = |d: i64| Candle::ohlcv(d * day, 1.0, 1.0, 1.0, 1.0, 1.0);
        let mut b = CandleBuffer::new(Interval::Mo1, 10).unwrap();
        assert_eq!(b.push(&k(19_723), true, true), PushOutcome::Appended);
        assert_eq!(b.push(&k(19_754), true, true), PushOutcome::Appended);
        // 31 days after February 1st of a leap year is March 3rd: not the
        // next month's candle, but one after a missing March 1st
        assert_eq!(b.push(&k(19_785), true, true), PushOutcome::AppendedAfterGap { missing: 1 });
        let mut b = CandleBuffer::new(Interval::Mo1, 10).unwrap();
        for d in [19_723, 19_754, 19_783] {
            assert_eq!(b.push(&k(d), true, true), PushOutcome::Appended);
        }
    }

    #[test]
    fn a_candle_in_progress_ahead_stays_while_the_next_closes() {
        let mut b = CandleBuffer::new(Interval::M1, 10).unwrap();
        b.push(&c(0, 10.0), true, true);
        assert_eq!(b.push(&c(2, 12.0), false, true), PushOutcome::FormingUpdated);
        assert_eq!(b.push(&c(1, 11.0), true, true), PushOutcome::Appended);
        assert_eq!(b.forming().unwrap().open_time, 2 * M, "the forming candle opens after the closed one");
        assert_eq!(b.push(&c(2, 12.5), true, true), PushOutcome::Appended);
        assert!(b.forming().is_none());
        assert_eq!(b.last_open_time(), Some(2 * M));
        b.clear();
        assert_eq!(b.last_open_time(), None);
        assert_eq!(b.push(&c(7, 1.0), true, true), PushOutcome::Appended, "after clear, nothing before it");
    }

    #[test]
    fn zero_capacity_is_refused() {
        assert!(CandleBuffer::new(Interval::M1, 0).is_err());
    }
}
