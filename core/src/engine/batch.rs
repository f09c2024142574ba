//! Batches of klines as columns in, and columnar results out, so that Python
//! never loops over candles.
use crate::candles::{Candle, PushOutcome};
use crate::error::{CoreError, CoreResult};
use crate::scoring::Components;
use crate::signals::TradeSignal;

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

impl KlineColumns<'_> {
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
        // the six checked columns cut to `n` (no bounds checks), and no
        // optional column read: only the error builds the full row
        let (t, o, h, l, c, v) = (
            &self.open_time[..n],
            &self.open[..n],
            &self.high[..n],
            &self.low[..n],
            &self.close[..n],
            &self.volume[..n],
        );
        for i in 0..n {
            if !Candle::ohlcv(t[i], o[i], h[i], l[i], c[i], v[i]).is_sane() {
                let c = self.candle(i);
                return Err(CoreError::InvalidInput(format!(
                    "kline {i} (open_time {}) is not a valid candle: open {}, high {}, low {}, close {}, volume {} \
                     (prices must be finite and > 0, low <= open, close <= high, volume >= 0)",
                    c.open_time, c.open, c.high, c.low, c.close, c.volume
                )));
            }
        }
        Ok(())
    }

    /// Row `i` as a candle.
    #[inline]
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

    /// Whether row `i` is closed.
    #[inline]
    #[must_use]
    pub fn is_closed(&self, i: usize) -> bool {
        self.closed.is_none_or(|c| c[i])
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

impl BatchOutput {
    /// An empty output with room for `n` rows.
    #[must_use]
    pub fn with_capacity(n: usize) -> Self {
        let col = || Vec::with_capacity(n);
        Self {
            timestamp: Vec::with_capacity(n),
            score: col(),
            direction: Vec::with_capacity(n),
            pattern: Vec::with_capacity(n),
            components: [col(), col(), col(), col(), col(), col()],
            ..Self::default()
        }
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

    pub(crate) fn push_row(&mut self, timestamp: i64, scored: Option<(f64, i8, u8, &Components)>) {
        let (score, direction, pattern, comps) =
            scored.map_or((f64::NAN, 0, 0, [f64::NAN; 6]), |(s, d, p, c)| (s, d, p, c.to_array()));
        self.timestamp.push(timestamp);
        self.score.push(score);
        self.direction.push(direction);
        self.pattern.push(pattern);
        for (col, v) in self.components.iter_mut().zip(comps) {
            col.push(v);
        }
    }

    pub(crate) fn count(&mut self, outcome: PushOutcome) {
        match outcome {
            PushOutcome::Duplicate | PushOutcome::Stale => self.ignored += 1,
            PushOutcome::FormingUpdated => self.forming_updates += 1,
            _ => {}
        }
    }
}
