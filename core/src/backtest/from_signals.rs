//! `from_signals`: run entry and exit boolean arrays, filling at the next
//! bar's open (like vectorbt's `from_signals` and backtesting.py's default).
//!
//! Rules, bar by bar (`i` is the bar whose close produced the signal):
//! * a signal on bar `i` fills at `open[i + 1]`; a signal on the last bar
//!   never fills;
//! * `entries` opens a long when flat, `exits` closes a long; `short_entries`
//!   opens a short when flat, `short_exits` closes a short. When an exit and
//!   an entry of the other side fire on the same bar, the position is
//!   reversed at the same open (close, then open);
//! * size: a fraction `size` of equity at the fill, fees included:
//!   `qty = equity * size / (price * (1 + fee))`;
//! * fee: a fraction of the notional, paid on entry and on exit;
//! * stops (fractions of the entry price, active from the entry bar on):
//!   stop-loss at `entry * (1 - sl)`, take-profit at `entry * (1 + tp)`,
//!   trailing stop at `peak * (1 - trailing)` where `peak` is the highest high
//!   since entry (mirrored for shorts). A stop fills at its level, or at the
//!   open when the bar gaps through it. When the stop-loss (or trailing stop)
//!   and the take-profit both lie inside one bar, the stop is assumed to fill
//!   first (worst case); the trailing peak is updated with the bar's high
//!   only after the bar's stops were checked (no look-ahead);
//! * the trade's `return_pct` is backtesting.py's: the gross return minus the
//!   fees over the entry notional, `exit/entry - 1 - fee * (1 + exit/entry)`
//!   for a long;
//! * a position still open at the end is closed at the last close
//!   (`TradeExit::EndOfData`) so that the statistics see it.
use super::stats::{EquityCurve, Stats};
use crate::error::{CoreError, CoreResult};

/// Why a trade closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum TradeExit {
    Signal = 0,
    StopLoss = 1,
    TakeProfit = 2,
    TrailingStop = 3,
    EndOfData = 4,
}

impl TradeExit {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Signal => "signal",
            Self::StopLoss => "stop_loss",
            Self::TakeProfit => "take_profit",
            Self::TrailingStop => "trailing_stop",
            Self::EndOfData => "end_of_data",
        }
    }
}

/// One closed trade.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Trade {
    pub entry_bar: usize,
    pub exit_bar: usize,
    pub entry_price: f64,
    pub exit_price: f64,
    /// Positive for longs, negative for shorts.
    pub quantity: f64,
    /// Net of both fees, in cash.
    pub pnl: f64,
    /// Net return over the entry notional (a fraction, not percent).
    pub return_pct: f64,
    pub fees: f64,
    pub exit: TradeExit,
}

/// The arrays of one run.
#[derive(Debug, Clone, Copy)]
pub struct SignalInputs<'a> {
    pub open: &'a [f64],
    pub high: &'a [f64],
    pub low: &'a [f64],
    pub close: &'a [f64],
    pub entries: &'a [bool],
    pub exits: &'a [bool],
    pub short_entries: Option<&'a [bool]>,
    pub short_exits: Option<&'a [bool]>,
}

/// Options of one run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SignalOptions {
    pub fee: f64,
    pub init_cash: f64,
    pub size: f64,
    pub sl: Option<f64>,
    pub tp: Option<f64>,
    pub trailing: Option<f64>,
}

impl Default for SignalOptions {
    fn default() -> Self {
        Self { fee: 0.001, init_cash: 10_000.0, size: 1.0, sl: None, tp: None, trailing: None }
    }
}

impl SignalOptions {
    /// Checks every option.
    ///
    /// # Errors
    /// `InvalidParameter` naming the bad option.
    pub fn validate(&self) -> CoreResult<()> {
        let frac = |name: &str, v: f64, lo: f64, hi: f64| {
            if v.is_finite() && v >= lo && v <= hi {
                Ok(())
            } else {
                Err(CoreError::param(name, format!("must be within [{lo}, {hi}], got {v}")))
            }
        };
        frac("fee", self.fee, 0.0, 0.1)?;
        frac("size", self.size, 1e-9, 1.0)?;
        if !(self.init_cash.is_finite() && self.init_cash > 0.0) {
            return Err(CoreError::param("init_cash", format!("must be > 0, got {}", self.init_cash)));
        }
        for (name, v) in [("sl", self.sl), ("tp", self.tp), ("trailing", self.trailing)] {
            if let Some(v) = v {
                frac(name, v, 1e-9, if name == "tp" { 1e6 } else { 0.999_999 })?;
            }
        }
        Ok(())
    }
}

/// Result of a run: the trades and the equity curve marked at each close.
#[derive(Debug, Clone, Default)]
pub struct SignalBacktest {
    pub trades: Vec<Trade>,
    pub equity: Vec<f64>,
    /// Bars with an open position (after the bar's fills).
    pub bars_in_market: usize,
}

#[derive(Debug, Clone, Copy)]
struct Open {
    entry_bar: usize,
    entry_price: f64,
    qty: f64, // signed
    entry_fee: f64,
    /// Highest high (long) or lowest low (short) since entry.
    extreme: f64,
}

impl SignalInputs<'_> {
    fn validate(&self) -> CoreResult<usize> {
        let n = self.open.len();
        let mut cols: Vec<(&str, usize)> = vec![
            ("high", self.high.len()),
            ("low", self.low.len()),
            ("close", self.close.len()),
            ("entries", self.entries.len()),
            ("exits", self.exits.len()),
        ];
        if let Some(s) = self.short_entries {
            cols.push(("short_entries", s.len()));
        }
        if let Some(s) = self.short_exits {
            cols.push(("short_exits", s.len()));
        }
        for (name, len) in cols {
            if len != n {
                return Err(CoreError::InvalidInput(format!(
                    "input arrays have different lengths: `open` has {n}, `{name}` has {len}"
                )));
            }
        }
        Ok(n)
    }

    /// The error naming the first bad price (called only when one exists).
    fn bad_price(&self) -> CoreError {
        for (name, col) in [("open", self.open), ("high", self.high), ("low", self.low), ("close", self.close)] {
            if let Some(i) = col.iter().position(|&p| !price_ok(p)) {
                return CoreError::InvalidInput(format!(
                    "prices must be finite and > 0; found {} at bar {i} of `{name}`",
                    col[i]
                ));
            }
        }
        CoreError::InvalidInput("prices must be finite and > 0".into())
    }
}

/// `0 < p < inf` (false for NaN too).
#[inline]
fn price_ok(p: f64) -> bool {
    p > 0.0 && p < f64::INFINITY
}

/// `p`'s bits with the top bit set exactly when `p` is not `0 < p < inf`:
/// the bits of the positive finite doubles are `1..=0x7FEF_FFFF_FFFF_FFFF`;
/// adding `2^52` carries +inf and the NaNs into the top bit and leaves the
/// good ones below it, subtracting one wraps +0 to the top, and every
/// negative (-0, -inf, negative NaNs) has the top bit in one of the two.
/// Or-ed over many prices, the top bit says whether one was bad: integer
/// adds and ors, which the compiler runs two prices at a time (SSE2).
#[inline]
fn price_flags(p: f64) -> u64 {
    let b = p.to_bits();
    b.wrapping_add(1 << 52) | b.wrapping_sub(1)
}

/// [`price_flags`] or-ed over a column.
#[inline]
fn column_flags(col: &[f64]) -> u64 {
    col.iter().fold(0, |acc, &p| acc | price_flags(p))
}

/// [`column_flags`] of the four price columns over `bars`.
#[inline]
fn range_flags(open: &[f64], high: &[f64], low: &[f64], close: &[f64], bars: std::ops::Range<usize>) -> u64 {
    column_flags(&open[bars.clone()])
        | column_flags(&high[bars.clone()])
        | column_flags(&low[bars.clone()])
        | column_flags(&close[bars])
}

/// Bars per strip: a flat or open stretch ends at the strip's end, so that
/// its prices, checked in a vectorised pass ([`range_flags`]), are still in
/// L1 (8 KiB for the four columns) when the stretch's loop reads them.
const STRIP: usize = 256;

/// Runs the signals (see the module docs for the rules).
///
/// # Errors
/// `InvalidInput` for arrays of different lengths or bad prices,
/// `InvalidParameter` for bad options.
pub fn from_signals(inp: &SignalInputs<'_>, opt: &SignalOptions) -> CoreResult<SignalBacktest> {
    let mut equity = vec![0.0; inp.open.len()];
    let run = from_signals_into(inp, opt, &mut equity)?;
    Ok(SignalBacktest { trades: run.trades, equity, bars_in_market: run.bars_in_market })
}

/// What [`from_signals_into`] returns besides the equity curve it wrote.
#[derive(Debug, Clone)]
pub struct SignalRun {
    pub trades: Vec<Trade>,
    /// Bars with an open position (after the bar's fills).
    pub bars_in_market: usize,
    /// Bars run (the equity curve's length).
    pub bars: usize,
    /// The curve's returns and drawdown, accumulated in the run's pass.
    pub curve: EquityCurve,
}

impl SignalRun {
    /// The statistics (see [`super::stats`]): equal to
    /// [`super::compute_stats`] over the equity curve, with no second pass.
    #[must_use]
    pub fn stats(&self, periods_per_year: f64) -> Stats {
        self.curve.stats(self.bars, &self.trades, self.bars_in_market, periods_per_year)
    }
}

/// [`from_signals`] writing the equity curve into `equity` (one value per
/// bar; the caller allocates it, e.g. as a numpy array), the statistics'
/// per-bar sums taken in the same pass.
///
/// # Errors
/// As [`from_signals`], and `InvalidInput` if `equity` has another length.
pub fn from_signals_into(inp: &SignalInputs<'_>, opt: &SignalOptions, equity_out: &mut [f64]) -> CoreResult<SignalRun> {
    opt.validate()?;
    let n = inp.validate()?;
    if equity_out.len() != n {
        return Err(CoreError::InvalidInput(format!("the equity buffer has {} slots for {n} bars", equity_out.len())));
    }
    // the loop without the stop block when no stop is set (the common case)
    if opt.sl.is_none() && opt.tp.is_none() && opt.trailing.is_none() {
        run::<false>(inp, opt, n, equity_out)
    } else {
        run::<true>(inp, opt, n, equity_out)
    }
}

/// The one pass; `STOPS` is false when no stop is set.
fn run<const STOPS: bool>(
    inp: &SignalInputs<'_>,
    opt: &SignalOptions,
    n: usize,
    equity_out: &mut [f64],
) -> CoreResult<SignalRun> {
    let fee = opt.fee;
    let mut cash = opt.init_cash;
    let mut pos: Option<Open> = None;
    let mut trades: Vec<Trade> = Vec::new();
    let mut bars_in_market = 0usize;
    let mut curve = EquityCurve::new(opt.init_cash);
    let no_short = [];
    let short_entries = inp.short_entries.unwrap_or(&no_short);
    let short_exits = inp.short_exits.unwrap_or(&no_short);
    let shorts = !short_entries.is_empty();
    // every column cut to `n` (validated equal), so the loop's indexing
    // needs no bounds checks
    let (open, high, low, close) = (&inp.open[..n], &inp.high[..n], &inp.low[..n], &inp.close[..n]);
    let (entries, exits) = (&inp.entries[..n], &inp.exits[..n]);
    let equity_out = &mut equity_out[..n];

    let close_at = |cash: &mut f64, p: Open, bar: usize, price: f64, exit: TradeExit, trades: &mut Vec<Trade>| {
        let exit_fee = p.qty.abs() * price * fee;
        // long: receive qty*price; short: pay back |qty|*price (qty < 0)
        *cash += p.qty * price - exit_fee;
        let gross = p.qty * (price - p.entry_price);
        let fees = p.entry_fee + exit_fee;
        let notional = p.qty.abs() * p.entry_price;
        trades.push(Trade {
            entry_bar: p.entry_bar,
            exit_bar: bar,
            entry_price: p.entry_price,
            exit_price: price,
            quantity: p.qty,
            pnl: gross - fees,
            return_pct: p.qty.signum() * (price / p.entry_price - 1.0) - fees / notional,
            fees,
            exit,
        });
    };

    // every bar's prices are checked once, branch-free: a stretch's by a
    // vectorised pass over it, the other bars' in the loop; a bad price
    // makes the run an error afterwards (nothing of it is returned)
    let mut flags = 0u64;
    let mut start = 0;
    while start < n {
        let end = (start + STRIP).min(n);
        let mut i = start;
        while i < end {
            if pos.is_none() && i > 0 {
                // flat until the bar after the next entry signal: the cash,
                // unchanged, and no fill to look for on the bars before it
                let signals = i - 1..end - 1;
                let next = if shorts {
                    let (long, short) = (&entries[signals.clone()], &short_entries[signals]);
                    long.iter().zip(short).position(|(&a, &b)| a | b)
                } else {
                    entries[signals].iter().position(|&a| a)
                };
                let k = next.map_or(end, |j| i + j);
                if k > i {
                    flags |= range_flags(open, high, low, close, i..k);
                    equity_out[i..k].fill(cash);
                    // the last bar is marked after the end-of-data close below
                    curve.mark_repeated(cash, k.min(n - 1).saturating_sub(i));
                    i = k;
                    continue;
                }
            }
            if let (false, Some(p), true) = (STOPS, pos, i > 0) {
                // without stops a position lives until the bar after its
                // side's next exit signal: the bars before it only mark it
                let side_exits = if p.qty > 0.0 { exits } else { short_exits };
                let next = match side_exits {
                    [] => None,
                    all => all[i - 1..end - 1].iter().position(|&a| a),
                };
                let k = next.map_or(end, |j| i + j);
                if k > i {
                    flags |= range_flags(open, high, low, close, i..k);
                    // the last bar is marked after the end-of-data close below
                    let marked = k.min(n - 1).max(i);
                    for (slot, &c) in equity_out[i..marked].iter_mut().zip(&close[i..marked]) {
                        let e = cash + p.qty * c;
                        *slot = e;
                        curve.mark(e);
                    }
                    for (slot, &c) in equity_out[marked..k].iter_mut().zip(&close[marked..k]) {
                        *slot = cash + p.qty * c;
                    }
                    bars_in_market += k - i;
                    i = k;
                    continue;
                }
            }
            let (o, h, l, c) = (open[i], high[i], low[i], close[i]);
            flags |= price_flags(o) | price_flags(h) | price_flags(l) | price_flags(c);
            // 1. fills at this bar's open from the previous bar's signals
            if i > 0 {
                let j = i - 1;
                let exit_long = exits[j];
                let exit_short = shorts && short_exits.get(j).copied().unwrap_or(false);
                if let Some(p) = pos {
                    if (p.qty > 0.0 && exit_long) || (p.qty < 0.0 && exit_short) {
                        close_at(&mut cash, p, i, o, TradeExit::Signal, &mut trades);
                        pos = None;
                    }
                }
                if pos.is_none() {
                    let side = if entries[j] {
                        1.0
                    } else if shorts && short_entries[j] {
                        -1.0
                    } else {
                        0.0
                    };
                    if side != 0.0 {
                        let equity = cash;
                        let qty = equity * opt.size / (o * (1.0 + fee));
                        let entry_fee = qty * o * fee;
                        cash -= side * qty * o + entry_fee;
                        pos = Some(Open { entry_bar: i, entry_price: o, qty: side * qty, entry_fee, extreme: o });
                    }
                }
            }
            // 2. stops inside this bar
            let stopped = if STOPS { pos.as_mut() } else { None };
            if let Some(p) = stopped {
                let long = p.qty > 0.0;
                let stop_loss =
                    opt.sl.map(|s| if long { p.entry_price * (1.0 - s) } else { p.entry_price * (1.0 + s) });
                let trail = opt.trailing.map(|t| if long { p.extreme * (1.0 - t) } else { p.extreme * (1.0 + t) });
                // the tighter of the stop-loss and the trailing stop
                let (stop, stop_kind) = match (stop_loss, trail) {
                    (Some(s), Some(t)) if (long && t > s) || (!long && t < s) => (Some(t), TradeExit::TrailingStop),
                    (Some(s), _) => (Some(s), TradeExit::StopLoss),
                    (None, Some(t)) => (Some(t), TradeExit::TrailingStop),
                    (None, None) => (None, TradeExit::StopLoss),
                };
                let target = opt.tp.map(|t| if long { p.entry_price * (1.0 + t) } else { p.entry_price * (1.0 - t) });
                let stop_hit = stop.filter(|&s| if long { l <= s } else { h >= s });
                let target_hit = target.filter(|&t| if long { h >= t } else { l <= t });
                let fill = if let Some(s) = stop_hit {
                    // gapped through: the open is already beyond the stop
                    let px = if long { o.min(s) } else { o.max(s) };
                    Some((px, stop_kind))
                } else {
                    target_hit.map(|t| (if long { o.max(t) } else { o.min(t) }, TradeExit::TakeProfit))
                };
                if let Some((px, why)) = fill {
                    close_at(&mut cash, *p, i, px, why, &mut trades);
                    pos = None;
                } else {
                    // in place: no copy of the position back into the option
                    p.extreme = if long { p.extreme.max(h) } else { p.extreme.min(l) };
                }
            }
            // 3. mark to market at the close
            let e = match pos {
                Some(p) => {
                    bars_in_market += 1;
                    cash + p.qty * c
                }
                None => cash,
            };
            equity_out[i] = e;
            // the last bar is marked after the end-of-data close below
            if i + 1 < n {
                curve.mark(e);
            }
            i += 1;
        }
        start = end;
    }
    if flags >> 63 != 0 {
        return Err(inp.bad_price());
    }
    if let Some(p) = pos {
        close_at(&mut cash, p, n - 1, close[n - 1], TradeExit::EndOfData, &mut trades);
        if let Some(last) = equity_out.last_mut() {
            *last = cash;
        }
    }
    if let Some(&last) = equity_out.last() {
        curve.mark(last);
    }
    Ok(SignalRun { trades, bars_in_market, bars: n, curve })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(o: &[f64], h: &[f64], l: &[f64], c: &[f64], en: &[bool], ex: &[bool], opt: SignalOptions) -> SignalBacktest {
        let inp = SignalInputs {
            open: o,
            high: h,
            low: l,
            close: c,
            entries: en,
            exits: ex,
            short_entries: None,
            short_exits: None,
        };
        from_signals(&inp, &opt).unwrap()
    }

    #[test]
    fn fills_at_the_next_open_with_fees_on_both_sides() {
        // entry signal on bar 0 -> buy at open[1] = 100; exit signal on bar 2 -> sell at open[3] = 110
        let o = [99.0, 100.0, 105.0, 110.0, 111.0];
        let c = [100.0, 104.0, 109.0, 111.0, 112.0];
        let en = [true, false, false, false, false];
        let ex = [false, false, true, false, false];
        let opt = SignalOptions { fee: 0.001, init_cash: 10_000.0, ..SignalOptions::default() };
        let r = run(&o, &o.map(|x| x + 5.0), &o.map(|x| x - 5.0), &c, &en, &ex, opt);
        assert_eq!(r.trades.len(), 1);
        let t = r.trades[0];
        assert_eq!((t.entry_bar, t.exit_bar), (1, 3));
        // qty = 10000 / (100 * 1.001) = 99.9000999...
        let qty = 10_000.0 / 100.1;
        assert!((t.quantity - qty).abs() < 1e-9);
        // fees: 0.1% of 9990.01 in, 0.1% of 10989.01 out
        let fees = qty * 100.0 * 0.001 + qty * 110.0 * 0.001;
        assert!((t.fees - fees).abs() < 1e-9);
        assert!((t.pnl - (qty * 10.0 - fees)).abs() < 1e-9);
        // backtesting.py: 110/100 - 1 - 0.001 * (1 + 1.1) = 0.0979
        assert!((t.return_pct - 0.0979).abs() < 1e-12);
        // equity after the exit = 10000 + pnl
        assert!((r.equity[3] - (10_000.0 + t.pnl)).abs() < 1e-9);
        assert_eq!(r.bars_in_market, 2);
    }

    #[test]
    fn stop_loss_fills_at_its_level_or_the_gapped_open() {
        let o = [100.0, 100.0, 99.0, 90.0];
        let h = [101.0, 101.0, 99.5, 91.0];
        let l = [99.0, 97.0, 94.0, 85.0];
        let c = [100.0, 98.0, 95.0, 88.0];
        let en = [true, false, false, false];
        let ex = [false; 4];
        let opt = SignalOptions { fee: 0.0, sl: Some(0.05), ..SignalOptions::default() };
        // entry at open[1] = 100, stop 95; bar 2's low 94 touches it -> exit at 95
        let t = run(&o, &h, &l, &c, &en, &ex, opt).trades[0];
        assert_eq!((t.exit_bar, t.exit, t.exit_price), (2, TradeExit::StopLoss, 95.0));
        // a stop at 8%: 92; bar 3 opens at 90, below it -> exit at the open
        let opt = SignalOptions { fee: 0.0, sl: Some(0.08), ..SignalOptions::default() };
        let t = run(&o, &h, &l, &c, &en, &ex, opt).trades[0];
        assert_eq!((t.exit_bar, t.exit_price), (3, 90.0));
    }

    #[test]
    fn when_stop_and_target_share_a_bar_the_stop_wins() {
        let o = [100.0, 100.0, 100.0];
        let h = [100.0, 100.0, 111.0];
        let l = [100.0, 100.0, 94.0];
        let c = [100.0, 100.0, 100.0];
        let opt = SignalOptions { fee: 0.0, sl: Some(0.05), tp: Some(0.1), ..SignalOptions::default() };
        let t = run(&o, &h, &l, &c, &[true, false, false], &[false; 3], opt).trades[0];
        assert_eq!((t.exit, t.exit_price), (TradeExit::StopLoss, 95.0));
    }

    #[test]
    fn trailing_stop_follows_the_peak_of_previous_bars() {
        // entry at 100 (bar 1). Peaks: bar1 high 104, bar2 high 110.
        // bar 2: trail from peak 104 -> 98.8, low 103 no hit; peak becomes 110
        // bar 3: trail 110 * 0.95 = 104.5, low 104 -> exit at 104.5
        let o = [100.0, 100.0, 104.0, 108.0];
        let h = [100.0, 104.0, 110.0, 109.0];
        let l = [100.0, 99.0, 103.0, 104.0];
        let c = [100.0, 103.0, 109.0, 105.0];
        let opt = SignalOptions { fee: 0.0, trailing: Some(0.05), ..SignalOptions::default() };
        let t = run(&o, &h, &l, &c, &[true, false, false, false], &[false; 4], opt).trades[0];
        assert_eq!((t.exit_bar, t.exit), (3, TradeExit::TrailingStop));
        assert!((t.exit_price - 104.5).abs() < 1e-12);
    }

    #[test]
    fn shorts_mirror_longs_and_open_positions_close_at_the_end() {
        let o = [100.0, 100.0, 90.0, 80.0];
        let c = [100.0, 95.0, 85.0, 80.0];
        let inp = SignalInputs {
            open: &o,
            high: &o,
            low: &c,
            close: &c,
            entries: &[false; 4],
            exits: &[false; 4],
            short_entries: Some(&[true, false, false, false]),
            short_exits: Some(&[false, false, true, false]),
        };
        let r = from_signals(&inp, &SignalOptions { fee: 0.0, ..SignalOptions::default() }).unwrap();
        let t = r.trades[0];
        assert!(t.quantity < 0.0);
        assert_eq!((t.entry_price, t.exit_price, t.exit_bar), (100.0, 80.0, 3));
        assert!((t.return_pct - 0.2).abs() < 1e-12);
        // with no exit signal the short is closed at the last close
        let inp = SignalInputs { short_exits: None, ..inp };
        let r = from_signals(&inp, &SignalOptions { fee: 0.0, ..SignalOptions::default() }).unwrap();
        assert_eq!(r.trades[0].exit, TradeExit::EndOfData);
        assert!((r.equity[3] - 12_000.0).abs() < 1e-9);
    }

    #[test]
    fn price_flags_top_bit_is_exactly_a_bad_price() {
        // every exponent and sign, with the mantissa's ends and a middle
        for sign_exp in 0u64..(1 << 12) {
            for mantissa in [0u64, 1, 2, 0x8_0000_0000_0000, 0xF_FFFF_FFFF_FFFE, 0xF_FFFF_FFFF_FFFF] {
                let p = f64::from_bits(sign_exp << 52 | mantissa);
                assert_eq!(price_flags(p) >> 63 == 1, !price_ok(p), "{p} ({:#x})", p.to_bits());
            }
        }
        // a bad price anywhere in a column (strips, vector bodies, remainders)
        let mut col = vec![1.0; 3 * STRIP + 5];
        assert_eq!(column_flags(&col) >> 63, 0);
        for k in [0, 1, STRIP - 1, STRIP, 2 * STRIP + 3, col.len() - 1] {
            col[k] = f64::NAN;
            assert_eq!(column_flags(&col) >> 63, 1, "{k}");
            col[k] = 1.0;
        }
    }

    #[test]
    fn a_bad_price_on_any_bar_of_any_column_is_refused() {
        // flat stretches, open stretches and fill bars, longs and shorts,
        // with and without stops, across strip boundaries
        let n = STRIP + 40;
        let o: Vec<f64> = (0..n).map(|i| 100.0 + (i % 7) as f64).collect();
        let (h, l) = (o.iter().map(|x| x + 5.0).collect::<Vec<_>>(), o.iter().map(|x| x - 5.0).collect::<Vec<_>>());
        let en: Vec<bool> = (0..n).map(|i| i % 50 == 3).collect();
        let ex: Vec<bool> = (0..n).map(|i| i % 50 == 20).collect();
        let (sen, sex) = (ex.clone(), en.clone());
        for (stops, shorts) in [(false, false), (true, false), (false, true)] {
            let opt = SignalOptions { sl: stops.then_some(0.5), ..SignalOptions::default() };
            let mut cols = [o.clone(), h.clone(), l.clone(), o.clone()];
            for (k, name) in ["open", "high", "low", "close"].into_iter().enumerate() {
                for bar in 0..n {
                    let keep = cols[k][bar];
                    cols[k][bar] = f64::NAN;
                    let inp = SignalInputs {
                        open: &cols[0],
                        high: &cols[1],
                        low: &cols[2],
                        close: &cols[3],
                        entries: &en,
                        exits: &ex,
                        short_entries: shorts.then_some(&sen[..]),
                        short_exits: shorts.then_some(&sex[..]),
                    };
                    let err = from_signals(&inp, &opt).unwrap_err().to_string();
                    assert!(err.contains(&format!("at bar {bar} of `{name}`")), "{err}");
                    cols[k][bar] = keep;
                }
            }
        }
    }

    #[test]
    fn bad_inputs_are_refused() {
        let o = [1.0, 1.0];
        let inp = SignalInputs {
            open: &o,
            high: &o,
            low: &o,
            close: &[1.0],
            entries: &[false; 2],
            exits: &[false; 2],
            short_entries: None,
            short_exits: None,
        };
        assert!(from_signals(&inp, &SignalOptions::default()).is_err());
        let inp = SignalInputs { close: &[1.0, f64::NAN], ..inp };
        assert!(from_signals(&inp, &SignalOptions::default()).unwrap_err().to_string().contains("bar 1"));
        // every kind of bad price, and the extremes of the good ones
        let nan_payloads =
            [0x7FF0_0000_0000_0001u64, 0x7FFF_FFFF_FFFF_FFFF, 0xFFF0_0000_0000_0001, u64::MAX].map(f64::from_bits);
        for bad in [0.0, -0.0, -1.0, -5e-324, -f64::MAX, f64::INFINITY, f64::NEG_INFINITY, f64::NAN, -f64::NAN]
            .into_iter()
            .chain(nan_payloads)
        {
            let c = [1.0, bad];
            let inp = SignalInputs { close: &c, ..inp };
            assert!(from_signals(&inp, &SignalOptions::default()).is_err(), "{bad}");
            assert!(!price_ok(bad) && price_flags(bad) >> 63 == 1, "{bad}");
        }
        for good in [f64::MIN_POSITIVE, 5e-324, f64::MAX, 1.0] {
            assert!(price_ok(good) && price_flags(good) >> 63 == 0, "{good}");
        }
        let inp = SignalInputs { close: &o, ..inp };
        assert!(from_signals(&inp, &SignalOptions { fee: 0.5, ..SignalOptions::default() }).is_err());
    }
}
