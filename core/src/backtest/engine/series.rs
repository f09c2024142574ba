//! The input of a run: the candle series of each symbol (with an optional
//! finer series and external signals), the window traded, and the checks a
//! series must pass.
use crate::candles::Interval;
use crate::engine::KlineColumns;
use crate::error::{CoreError, CoreResult};

/// One symbol's candles, and optionally a finer series of the same symbol
/// used to resolve exits inside a candle.
#[derive(Debug, Clone, Copy)]
pub struct Series<'a> {
    pub symbol: &'a str,
    pub interval: Interval,
    pub cols: KlineColumns<'a>,
    pub lower: Option<LowerSeries<'a>>,
    /// External signals at each candle's close (+1 BUY, -1 SELL, 0 none)
    /// replacing the engine's (which still runs, for the ATR): research
    /// signals, hand-made test cases, and the hook of the parity test with
    /// the live pipeline (replaying the signals paper trading recorded).
    pub signals: Option<&'a [i8]>,
}

/// A lower-timeframe series (OHLC only).
#[derive(Debug, Clone, Copy)]
pub struct LowerSeries<'a> {
    pub interval: Interval,
    pub open_time: &'a [i64],
    pub open: &'a [f64],
    pub high: &'a [f64],
    pub low: &'a [f64],
    pub close: &'a [f64],
}

/// The time window traded: `[start, end)` by candle open time (ms).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Window {
    pub start: Option<i64>,
    pub end: Option<i64>,
}

/// Checks the series: lengths, sane candles, strictly rising times, one
/// interval, valid lower-timeframe series.
///
/// # Errors
/// `InvalidInput` naming the symbol and the problem.
pub fn validate_series(data: &[Series<'_>]) -> CoreResult<()> {
    let Some(first) = data.first() else {
        return Err(CoreError::InvalidInput("no candle series given".into()));
    };
    for (k, s) in data.iter().enumerate() {
        let bad = |m: String| CoreError::InvalidInput(format!("{}: {m}", s.symbol));
        if data[..k].iter().any(|o| o.symbol == s.symbol) {
            return Err(bad("given twice".into()));
        }
        if s.interval != first.interval {
            return Err(bad(format!(
                "interval {} differs from {} of {} (one strategy interval per run)",
                s.interval, first.interval, first.symbol
            )));
        }
        s.cols.validate().map_err(|e| bad(e.to_string()))?;
        if s.signals.is_some_and(|x| x.len() != s.cols.len()) {
            return Err(bad(format!("signals has a different length than the {} candles", s.cols.len())));
        }
        if let Some(i) = s.cols.open_time.windows(2).position(|w| w[1] <= w[0]) {
            return Err(bad(format!("open times are not strictly rising at row {}", i + 1)));
        }
        if let Some(l) = &s.lower {
            let n = l.open_time.len();
            if [l.open.len(), l.high.len(), l.low.len(), l.close.len()].iter().any(|&m| m != n) {
                return Err(bad("lower-timeframe columns have different lengths".into()));
            }
            let (lm, m) = (l.interval.millis(), s.interval.millis());
            if lm >= m || m % lm != 0 {
                return Err(bad(format!("lower timeframe {} does not divide {}", l.interval, s.interval)));
            }
            if let Some(i) = l.open_time.windows(2).position(|w| w[1] <= w[0]) {
                return Err(bad(format!("lower-timeframe open times are not strictly rising at row {}", i + 1)));
            }
            for i in 0..n {
                let (o, h, lo, c) = (l.open[i], l.high[i], l.low[i], l.close[i]);
                if !(lo > 0.0 && lo.is_finite() && h.is_finite() && lo <= o.min(c) && h >= o.max(c)) {
                    return Err(bad(format!("lower-timeframe candle {i} is not a valid candle")));
                }
            }
        }
    }
    Ok(())
}
