//! Batches of klines as columns in, and columnar results out, so that Python
//! never loops over candles.
use crate::candles::{Candle, PushOutcome};
use crate::error::{CoreError, CoreResult};
use crate::scoring::Components;
use crate::signals::TradeSignal;
use crate::simd;

/// Rows checked at a time by [`KlineColumns::validate`].
const SANITY_STRIP: usize = 256;

/// Borrowed kline columns of one stream; optional columns may be absent.
#[derive(Debug, Clone, Copy)]
pub struct KlineColumns<'a> {
    pub open_time: &'a [i64],
    pub open: &'a [f64],
    pub high: &'a [f64],
    pub low: &'a [f64],
    pub close: &'a [f64],
    pub volume: &'a [f64],
    pub quote_volume: Option<&'a [f64]>,
    pub trades: Option<&'a [f64]>,
    pub taker_buy_base: Option<&'a [f64]>,
    /// Whether each kline is closed (all closed when absent).
    pub closed: Option<&'a [bool]>,
}

impl<'a> KlineColumns<'a> {
    /// Columns of plain OHLCV klines, all closed, without the optional columns.
    #[must_use]
    pub fn ohlcv(
        open_time: &'a [i64],
        open: &'a [f64],
        high: &'a [f64],
        low: &'a [f64],
        close: &'a [f64],
        volume: &'a [f64],
    ) -> Self {
        Self {
            open_time,
            open,
            high,
            low,
            close,
            volume,
            quote_volume: None,
            trades: None,
            taker_buy_base: None,
            closed: None,
        }
    }
}

impl<'a> KlineColumns<'a> {
    /// Number of klines.
    #[must_use]
    pub fn len(&self) -> usize {
        self.open_time.len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.open_time.is_empty()
    }

    /// Checks lengths and every row's sanity before anything is processed,
    /// so that a bad batch changes nothing.
    ///
    /// # Errors
    /// `InvalidInput` naming the column or the first bad row.
    pub fn validate(&self) -> CoreResult<()> {
        let n = self.len();
        let mut lens = vec![
            ("open", self.open.len()),
            ("high", self.high.len()),
            ("low", self.low.len()),
            ("close", self.close.len()),
            ("volume", self.volume.len()),
        ];
        for (name, col) in
            [("quote_volume", self.quote_volume), ("trades", self.trades), ("taker_buy_base", self.taker_buy_base)]
        {
            if let Some(c) = col {
                lens.push((name, c.len()));
            }
        }
        if let Some(c) = self.closed {
            lens.push(("closed", c.len()));
        }
        for (name, len) in lens {
            if len != n {
                return Err(CoreError::InvalidInput(format!(
                    "kline columns have different lengths: open_time has {n}, {name} has {len}"
                )));
            }
        }
        // the AVX2 build when the CPU has it: the rows' check vectorises
        match simd::dispatch(
            #[inline(always)]
            || self.first_insane(),
        ) {
            None => Ok(()),
            Some(i) => {
                let c = self.candle(i);
                Err(CoreError::InvalidInput(format!(
                    "kline {i} (open_time {}) is not a valid candle: open {}, high {}, low {}, close {}, volume {} \
                     (prices must be finite and > 0, low <= open, close <= high, volume >= 0)",
                    c.open_time, c.open, c.high, c.low, c.close, c.volume
                )))
            }
        }
    }

    /// The index of the first row that is not a sane candle, if any. The
    /// five checked columns are read in strips of [`SANITY_STRIP`] rows with
    /// the verdicts `&`-ed together (no branch per row; in the AVX2 build
    /// [`KlineColumns::validate`] calls it in, the compiler vectorises it:
    /// ~21 instructions a row, against ~100 on baseline x86-64); only a
    /// strip that fails is searched row by row. The lengths must have been
    /// checked.
    #[allow(clippy::manual_range_contains)] // on purpose: no branches
    #[inline(always)]
    #[allow(clippy::inline_always)] // compiled into the caller's dispatched (AVX2) build
    fn first_insane(&self) -> Option<usize> {
        let n = self.len();
        let (o, h, l, c, v) = (&self.open[..n], &self.high[..n], &self.low[..n], &self.close[..n], &self.volume[..n]);
        let row = |i: usize| Candle::ohlcv(0, o[i], h[i], l[i], c[i], v[i]).is_sane();
        let mut start = 0;
        while start < n {
            let end = n.min(start + SANITY_STRIP);
            let so = &o[start..end];
            let m = so.len();
            let (sh, sl, sc, sv) =
                (&h[start..start + m], &l[start..start + m], &c[start..start + m], &v[start..start + m]);
            let mut bad = 0u8;
            for k in 0..so.len() {
                let (o, h, l, c, v) = (so[k], sh[k], sl[k], sc[k], sv[k]);
                // `Candle::is_sane` without its `min`/`max` (whose NaN
                // handling costs instructions): every price finite and
                // > 0 makes `l <= o & l <= c` the same as `l <= min(o, c)`,
                // and a NaN fails every compare either way
                let good = u8::from(o > 0.0)
                    & u8::from(o < f64::INFINITY)
                    & u8::from(h > 0.0)
                    & u8::from(h < f64::INFINITY)
                    & u8::from(l > 0.0)
                    & u8::from(l < f64::INFINITY)
                    & u8::from(c > 0.0)
                    & u8::from(c < f64::INFINITY)
                    & u8::from(v >= 0.0)
                    & u8::from(v < f64::INFINITY)
                    & u8::from(l <= o)
                    & u8::from(l <= c)
                    & u8::from(h >= o)
                    & u8::from(h >= c);
                bad |= good ^ 1;
            }
            if bad != 0 {
                return (start..end).find(|&i| !row(i));
            }
            start = end;
        }
        None
    }

    /// Row `i` as a candle.
    #[inline(always)]
    #[allow(clippy::inline_always)] // inlined into the engine's dispatched batch loops
    #[must_use]
    pub fn candle(&self, i: usize) -> Candle {
        let opt = |c: Option<&[f64]>| c.map_or(f64::NAN, |c| c[i]);
        Candle {
            open_time: self.open_time[i],
            open: self.open[i],
            high: self.high[i],
            low: self.low[i],
            close: self.close[i],
            volume: self.volume[i],
            quote_volume: opt(self.quote_volume),
            trades: opt(self.trades),
            taker_buy_base: opt(self.taker_buy_base),
        }
    }

    /// The same columns, each cut to [`KlineColumns::len`] rows (equal
    /// lengths the compiler can see: no bounds check per row in the loops
    /// over them). The lengths must have been checked
    /// ([`KlineColumns::validate`]).
    #[inline(always)]
    #[allow(clippy::inline_always)] // inlined into the engine's dispatched batch loops
    #[must_use]
    pub(crate) fn trimmed(&self) -> Self {
        let n = self.len();
        let cut = |c: &'a [f64]| &c[..n];
        Self {
            open_time: &self.open_time[..n],
            open: cut(self.open),
            high: cut(self.high),
            low: cut(self.low),
            close: cut(self.close),
            volume: cut(self.volume),
            quote_volume: self.quote_volume.map(cut),
            trades: self.trades.map(cut),
            taker_buy_base: self.taker_buy_base.map(cut),
            closed: self.closed.map(|c| &c[..n]),
        }
    }

    /// Whether row `i` is closed.
    #[inline]
    #[must_use]
    pub fn is_closed(&self, i: usize) -> bool {
        self.closed.is_none_or(|c| c[i])
    }
}

/// The output columns of a batch, borrowed (from numpy arrays, or from
/// [`BatchOutput`]'s vectors): each at least as long as the batch, row `r`
/// written once for the `r`-th closed candle appended.
#[derive(Debug)]
pub struct BatchColumns<'a> {
    /// Close time of each appended closed candle.
    pub timestamp: &'a mut [i64],
    /// The context score, NaN while warming up.
    pub score: &'a mut [f64],
    pub direction: &'a mut [i8],
    pub pattern: &'a mut [u8],
    /// Component columns, in the order of [`Components::NAMES`].
    pub components: [&'a mut [f64]; 6],
}

impl BatchColumns<'_> {
    /// The rows every column can hold.
    #[must_use]
    pub fn capacity(&self) -> usize {
        let comps = self.components.iter().map(|c| c.len()).min().unwrap_or(0);
        self.timestamp.len().min(self.score.len()).min(self.direction.len()).min(self.pattern.len()).min(comps)
    }

    /// The same columns, each cut to `n` rows (one length the compiler can
    /// see: [`BatchColumns::write`] then checks the row once, not once per
    /// column). `n` must be at most [`BatchColumns::capacity`].
    #[inline(always)]
    #[allow(clippy::inline_always)] // inlined into the engine's dispatched batch loops
    pub(crate) fn trimmed(&mut self, n: usize) -> BatchColumns<'_> {
        let [c0, c1, c2, c3, c4, c5] = &mut self.components;
        BatchColumns {
            timestamp: &mut self.timestamp[..n],
            score: &mut self.score[..n],
            direction: &mut self.direction[..n],
            pattern: &mut self.pattern[..n],
            components: [&mut c0[..n], &mut c1[..n], &mut c2[..n], &mut c3[..n], &mut c4[..n], &mut c5[..n]],
        }
    }

    /// Writes row `r`.
    #[inline(always)]
    #[allow(clippy::inline_always)] // inlined into the engine's dispatched batch loops
    pub(crate) fn write(&mut self, r: usize, timestamp: i64, scored: Option<(f64, i8, u8, &Components)>) {
        assert!(r < self.timestamp.len(), "row {r} past the output columns");
        let (score, direction, pattern, comps) =
            scored.map_or((f64::NAN, 0, 0, [f64::NAN; 6]), |(s, d, p, c)| (s, d, p, c.to_array()));
        self.timestamp[r] = timestamp;
        self.score[r] = score;
        self.direction[r] = direction;
        self.pattern[r] = pattern;
        for (col, v) in self.components.iter_mut().zip(comps) {
            col[r] = v;
        }
    }
}

/// What a batch produced besides its rows: how many rows were written, the
/// signals, and the counts of the rest.
#[derive(Debug, Clone, Default)]
pub struct BatchEvents {
    /// Rows written (closed candles appended).
    pub rows: usize,
    pub signals: Vec<TradeSignal>,
    /// Klines ignored as duplicates or stale.
    pub ignored: u64,
    /// In-progress updates applied.
    pub forming_updates: u64,
    /// Gaps crossed: (open time of the first missing candle, candles missing).
    pub gaps: Vec<(i64, u64)>,
    /// With gaps held: the index of the kline that was not processed because
    /// candles are missing before it; the batch stops there.
    pub held_at: Option<usize>,
}

impl BatchEvents {
    pub(crate) fn count(&mut self, outcome: PushOutcome) {
        match outcome {
            PushOutcome::Duplicate | PushOutcome::Stale => self.ignored += 1,
            PushOutcome::FormingUpdated => self.forming_updates += 1,
            _ => {}
        }
    }
}

/// What a batch produced: one row per closed candle the buffer appended
/// (score NaN while warming up), the signals, and the counts of the rest.
#[derive(Debug, Clone, Default)]
pub struct BatchOutput {
    /// Close time of each appended closed candle.
    pub timestamp: Vec<i64>,
    pub score: Vec<f64>,
    pub direction: Vec<i8>,
    pub pattern: Vec<u8>,
    /// Component columns, in the order of [`Components::NAMES`].
    pub components: [Vec<f64>; 6],
    /// The signals and the counts of the klines that made no row.
    pub events: BatchEvents,
}

impl BatchOutput {
    /// Columns of `n` rows (zero), to be written through [`BatchOutput::columns`].
    #[must_use]
    pub fn zeroed(n: usize) -> Self {
        let col = || vec![0.0; n];
        Self {
            timestamp: vec![0; n],
            score: col(),
            direction: vec![0; n],
            pattern: vec![0; n],
            components: [col(), col(), col(), col(), col(), col()],
            ..Self::default()
        }
    }

    /// The columns, borrowed for writing.
    pub fn columns(&mut self) -> BatchColumns<'_> {
        let [a, b, c, d, e, f] = &mut self.components;
        BatchColumns {
            timestamp: &mut self.timestamp,
            score: &mut self.score,
            direction: &mut self.direction,
            pattern: &mut self.pattern,
            components: [a, b, c, d, e, f],
        }
    }

    /// Keeps the first `events.rows` rows and takes the events.
    pub(crate) fn finish(&mut self, events: BatchEvents) {
        let rows = events.rows;
        self.timestamp.truncate(rows);
        self.score.truncate(rows);
        self.direction.truncate(rows);
        self.pattern.truncate(rows);
        for c in &mut self.components {
            c.truncate(rows);
        }
        self.events = events;
    }

    /// Number of rows.
    #[must_use]
    pub fn len(&self) -> usize {
        self.timestamp.len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.timestamp.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every way a row can fail, at rows around the strips' edges: the
    /// error names the first bad row, as a row-by-row check finds it.
    #[test]
    fn the_first_insane_row_is_found_across_strips() {
        type Row = (f64, f64, f64, f64, f64);
        let n = 3 * SANITY_STRIP + 7;
        let t: Vec<i64> = (0..n as i64).map(|i| i * 60_000).collect();
        let good = |_: usize| (10.0, 12.0, 9.0, 11.0, 5.0);
        let bad: [fn(Row) -> Row; 9] = [
            |(_, h, l, c, v)| (f64::NAN, h, l, c, v),
            |(o, _, l, c, v)| (o, f64::INFINITY, l, c, v),
            |(o, h, _, c, v)| (o, h, 0.0, c, v),
            |(o, h, l, _, v)| (o, h, l, -1.0, v),
            |(o, h, l, c, _)| (o, h, l, c, -0.5),
            |(o, h, l, c, _)| (o, h, l, c, f64::INFINITY),
            |(o, _, l, c, v)| (o, 10.5, l, c, v), // high below the close
            |(o, h, _, c, v)| (o, h, 10.5, c, v), // low above the open
            |(_, h, l, c, v)| (12.5, h, l, c, v), // open above the high
        ];
        for at in [0, 1, SANITY_STRIP - 1, SANITY_STRIP, SANITY_STRIP + 1, 2 * SANITY_STRIP + 3, n - 1] {
            for (k, f) in bad.iter().enumerate() {
                let rows: Vec<Row> = (0..n).map(|i| if i == at || i == n - 1 { f(good(i)) } else { good(i) }).collect();
                let col = |j: usize| rows.iter().map(|r| [r.0, r.1, r.2, r.3, r.4][j]).collect::<Vec<f64>>();
                let (o, h, l, c, v) = (col(0), col(1), col(2), col(3), col(4));
                let cols = KlineColumns::ohlcv(&t, &o, &h, &l, &c, &v);
                // the reference: each row checked alone
                let first = (0..n).find(|&i| !cols.candle(i).is_sane());
                assert_eq!(first, Some(at), "case {k}");
                let err = cols.validate().unwrap_err().to_string();
                assert!(err.contains(&format!("kline {at} (open_time")), "case {k} at {at}: {err}");
            }
        }
        let (o, h, l, c, v) = (vec![10.0; n], vec![12.0; n], vec![9.0; n], vec![11.0; n], vec![0.0; n]);
        let cols = KlineColumns::ohlcv(&t, &o, &h, &l, &c, &v);
        assert!(cols.validate().is_ok());
    }
}
