//! The statistics every backtest reports, from an equity curve (marked at
//! each bar's close) and the closed trades.
//!
//! Definitions (fractions, not percent; risk-free rate 0):
//! * bar returns `r_t = equity_t / equity_{t-1} - 1`, with `equity_{-1}` the
//!   initial cash;
//! * `total_return = equity_end / init_cash - 1`;
//! * `cagr = (equity_end / init_cash) ^ (periods_per_year / bars) - 1`;
//! * `sharpe = mean(r) / std(r, ddof = 1) * sqrt(periods_per_year)`;
//! * `sortino = mean(r) / sqrt(mean(min(r, 0)^2)) * sqrt(periods_per_year)`;
//! * `max_drawdown = max_t (1 - equity_t / max(init_cash, equity_0..t))`;
//! * `calmar = cagr / max_drawdown`;
//! * `win_rate` = share of trades with `pnl > 0`; `profit_factor` = gross
//!   profit / gross loss; `expectancy` = mean `pnl` per trade (cash);
//!   `expectancy_pct` = mean `return_pct`;
//! * `exposure` = share of bars with an open position;
//! * `avg_trade_bars` = mean `exit_bar - entry_bar`.
//!
//! Undefined values (no trades, zero variance, no drawdown) are NaN, except
//! `profit_factor`, which is +inf with profits and no loss.
use super::Trade;

/// Backtest statistics (see the module docs for the definitions).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Stats {
    pub total_return: f64,
    pub cagr: f64,
    pub sharpe: f64,
    pub sortino: f64,
    pub max_drawdown: f64,
    pub calmar: f64,
    pub win_rate: f64,
    pub profit_factor: f64,
    pub expectancy: f64,
    pub expectancy_pct: f64,
    pub exposure: f64,
    pub trades: usize,
    pub avg_trade_bars: f64,
    pub final_equity: f64,
}

impl Stats {
    /// Names and values, in display order.
    #[must_use]
    pub fn fields(&self) -> [(&'static str, f64); 14] {
        [
            ("total_return", self.total_return),
            ("cagr", self.cagr),
            ("sharpe", self.sharpe),
            ("sortino", self.sortino),
            ("max_drawdown", self.max_drawdown),
            ("calmar", self.calmar),
            ("win_rate", self.win_rate),
            ("profit_factor", self.profit_factor),
            ("expectancy", self.expectancy),
            ("expectancy_pct", self.expectancy_pct),
            ("exposure", self.exposure),
            ("trades", self.trades as f64),
            ("avg_trade_bars", self.avg_trade_bars),
            ("final_equity", self.final_equity),
        ]
    }
}

fn mean(xs: impl Iterator<Item = f64>) -> f64 {
    let (sum, n) = xs.fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
    if n == 0 {
        f64::NAN
    } else {
        sum / n as f64
    }
}

/// The per-bar part of the statistics (the bar returns' sums and the
/// maximum drawdown), accumulated one mark at a time so that a backtest can
/// fold it into its own pass over the bars (`from_signals` does).
///
/// The operations are those of a plain pass over the curve, in the same
/// order, so the results are bit for bit the same; only work whose result
/// is known is skipped:
/// * a mark equal to the previous one (a flat position) has the return
///   `e / e - 1 = 0` exactly for a normal `e`, and adding `+0.0` to the sums
///   changes nothing: no division;
/// * the drawdown `1 - e / peak` decreases as `e` grows (a correctly
///   rounded division by a positive peak is monotone), so between two new
///   peaks its largest value is that of the lowest mark: one division per
///   new peak instead of one per bar.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EquityCurve {
    init_cash: f64,
    prev: f64,
    peak: f64,
    /// Lowest mark since `peak` was reached.
    trough: f64,
    /// Largest drawdown of the peaks before `peak`.
    max_dd: f64,
    sum: f64,
    sum_sq: f64,
    down_sq: f64,
}

impl EquityCurve {
    /// A curve starting at `init_cash` (> 0), before the first bar.
    #[must_use]
    pub fn new(init_cash: f64) -> Self {
        Self {
            init_cash,
            prev: init_cash,
            peak: init_cash,
            trough: init_cash,
            max_dd: 0.0,
            sum: 0.0,
            sum_sq: 0.0,
            down_sq: 0.0,
        }
    }

    /// Adds the equity marked at the next bar's close.
    #[inline]
    pub fn mark(&mut self, e: f64) {
        if e != self.prev || !e.is_normal() {
            self.moved(e);
        }
    }

    /// Adds `times` marks of the same equity `e` (a flat stretch): one
    /// mark, the others unchanged ones (each marked when `e` is not normal).
    #[inline]
    pub fn mark_repeated(&mut self, e: f64, times: usize) {
        if times == 0 {
            return;
        }
        self.mark(e);
        if !e.is_normal() {
            for _ in 1..times {
                self.mark(e);
            }
        }
    }

    #[inline]
    fn moved(&mut self, e: f64) {
        let r = e / self.prev - 1.0;
        self.sum += r;
        self.sum_sq += r * r;
        // `+ 0.0` leaves the (non-negative) sum as it is: no branch on the sign
        self.down_sq += if r < 0.0 { r * r } else { 0.0 };
        self.prev = e;
        if e > self.peak {
            // the previous peak's segment ends; this bar's own drawdown is 0
            self.max_dd = self.max_dd.max(1.0 - self.trough / self.peak);
            self.peak = e;
            self.trough = e;
        } else {
            self.trough = self.trough.min(e);
        }
    }

    /// The statistics of `bars` marks and the closed `trades`.
    #[must_use]
    pub fn stats(&self, bars: usize, trades: &[Trade], bars_in_market: usize, periods_per_year: f64) -> Stats {
        let init_cash = self.init_cash;
        let n = bars;
        let end = self.prev;
        let max_dd = self.max_dd.max(1.0 - self.trough / self.peak);
        let (sum, sum_sq, down_sq) = (self.sum, self.sum_sq, self.down_sq);
        let nf = n as f64;
        let mean_r = if n > 0 { sum / nf } else { f64::NAN };
        let var = if n > 1 { (sum_sq - nf * mean_r * mean_r) / (nf - 1.0) } else { f64::NAN };
        let ann = periods_per_year.sqrt();
        let sharpe = if var > 0.0 { mean_r / var.sqrt() * ann } else { f64::NAN };
        let down = if n > 0 { (down_sq / nf).sqrt() } else { f64::NAN };
        let sortino = if down > 0.0 { mean_r / down * ann } else { f64::NAN };
        let cagr = if n > 0 && end > 0.0 { (end / init_cash).powf(periods_per_year / nf) - 1.0 } else { f64::NAN };
        let wins = trades.iter().filter(|t| t.pnl > 0.0).count();
        let gross_profit: f64 = trades.iter().filter(|t| t.pnl > 0.0).map(|t| t.pnl).sum();
        let gross_loss: f64 = -trades.iter().filter(|t| t.pnl < 0.0).map(|t| t.pnl).sum::<f64>();
        let profit_factor = if gross_loss > 0.0 {
            gross_profit / gross_loss
        } else if gross_profit > 0.0 {
            f64::INFINITY
        } else {
            f64::NAN
        };
        Stats {
            total_return: end / init_cash - 1.0,
            cagr,
            sharpe,
            sortino,
            max_drawdown: max_dd,
            calmar: if max_dd > 0.0 { cagr / max_dd } else { f64::NAN },
            win_rate: if trades.is_empty() { f64::NAN } else { wins as f64 / trades.len() as f64 },
            profit_factor,
            expectancy: mean(trades.iter().map(|t| t.pnl)),
            expectancy_pct: mean(trades.iter().map(|t| t.return_pct)),
            exposure: if n > 0 { bars_in_market as f64 / nf } else { f64::NAN },
            trades: trades.len(),
            avg_trade_bars: mean(trades.iter().map(|t| (t.exit_bar - t.entry_bar) as f64)),
            final_equity: end,
        }
    }
}

/// Computes the statistics.
#[must_use]
pub fn compute_stats(
    equity: &[f64],
    trades: &[Trade],
    init_cash: f64,
    bars_in_market: usize,
    periods_per_year: f64,
) -> Stats {
    let mut curve = EquityCurve::new(init_cash);
    for &e in equity {
        curve.mark(e);
    }
    curve.stats(equity.len(), trades, bars_in_market, periods_per_year)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backtest::TradeExit;

    fn trade(pnl: f64, bars: usize) -> Trade {
        Trade {
            entry_bar: 0,
            exit_bar: bars,
            entry_price: 1.0,
            exit_price: 1.0,
            quantity: 1.0,
            pnl,
            return_pct: pnl / 100.0,
            fees: 0.0,
            exit: TradeExit::Signal,
        }
    }

    #[test]
    fn drawdown_return_and_trade_stats_on_a_hand_worked_curve() {
        // 100 -> 110 -> 99 -> 121: peak 110, trough 99 -> drawdown 10%
        let eq = [110.0, 99.0, 121.0];
        let trades = [trade(20.0, 2), trade(-10.0, 4), trade(11.0, 3)];
        let s = compute_stats(&eq, &trades, 100.0, 2, 3.0);
        assert!((s.total_return - 0.21).abs() < 1e-12);
        assert!((s.max_drawdown - 0.1).abs() < 1e-12);
        // three bars a "year": CAGR = total return
        assert!((s.cagr - 0.21).abs() < 1e-12);
        assert!((s.calmar - 2.1).abs() < 1e-12);
        assert!((s.win_rate - 2.0 / 3.0).abs() < 1e-12);
        assert!((s.profit_factor - 3.1).abs() < 1e-12);
        assert!((s.expectancy - 7.0).abs() < 1e-12);
        assert!((s.exposure - 2.0 / 3.0).abs() < 1e-12);
        assert!((s.avg_trade_bars - 3.0).abs() < 1e-12);
        // returns: 0.1, -0.1, 0.2222...; mean 0.0740740..., sample std
        let r = [0.1, -0.1, 121.0 / 99.0 - 1.0];
        let m = r.iter().sum::<f64>() / 3.0;
        let sd = (r.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / 2.0).sqrt();
        assert!((s.sharpe - m / sd * 3f64.sqrt()).abs() < 1e-12);
        let dd = (0.01f64 / 3.0).sqrt();
        assert!((s.sortino - m / dd * 3f64.sqrt()).abs() < 1e-12);
    }

    /// The plain pass the accumulator must equal bit for bit: every bar's
    /// return and drawdown divided out.
    fn plain(equity: &[f64], init_cash: f64) -> [f64; 5] {
        let (mut prev, mut peak, mut max_dd) = (init_cash, init_cash, 0.0f64);
        let (mut sum, mut sum_sq, mut down_sq) = (0.0, 0.0, 0.0);
        for &e in equity {
            let r = e / prev - 1.0;
            sum += r;
            sum_sq += r * r;
            if r < 0.0 {
                down_sq += r * r;
            }
            prev = e;
            peak = peak.max(e);
            max_dd = max_dd.max(1.0 - e / peak);
        }
        [sum, sum_sq, down_sq, max_dd, equity.last().copied().unwrap_or(init_cash)]
    }

    fn accumulated(equity: &[f64], init_cash: f64) -> [f64; 5] {
        let mut c = EquityCurve::new(init_cash);
        for &e in equity {
            c.mark(e);
        }
        let s = c.stats(equity.len(), &[], 0, 1.0);
        [c.sum, c.sum_sq, c.down_sq, s.max_drawdown, s.final_equity]
    }

    #[test]
    fn accumulated_curve_equals_the_plain_pass_bit_for_bit() {
        // flat stretches, new peaks, troughs between them, a zero and a
        // negative equity, subnormals, NaN and infinities
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut curve = Vec::new();
        let mut e = 100.0;
        for i in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let u = (x >> 11) as f64 / (1u64 << 53) as f64;
            if i % 50 < 20 {
                // flat: the same mark repeated
            } else {
                e *= 1.0 + (u - 0.5) * 0.02;
            }
            curve.push(e);
        }
        let specials = [0.0, 0.0, -5.0, -5.0, 5e-324, 5e-324, f64::NAN, 7.0, f64::INFINITY, f64::INFINITY, 3.0];
        for (k, &v) in specials.iter().enumerate() {
            curve.insert(1_000 + k, v);
        }
        for cut in [0, 1, 2, 500, 1_005, 1_012, curve.len()] {
            let (a, b) = (accumulated(&curve[..cut], 100.0), plain(&curve[..cut], 100.0));
            assert_eq!(a.map(f64::to_bits), b.map(f64::to_bits), "{cut} bars: {a:?} vs {b:?}");
        }
        let tail = &curve[1_011..];
        let (a, b) = (accumulated(tail, 50.0), plain(tail, 50.0));
        assert_eq!(a.map(f64::to_bits), b.map(f64::to_bits));
    }

    #[test]
    fn repeated_marks_equal_one_mark_each() {
        for e in [105.0, 95.0, 0.0, f64::NAN, 5e-324] {
            for times in [0, 1, 2, 7] {
                let mut one_each = EquityCurve::new(100.0);
                let mut repeated = one_each;
                for m in [101.0, 99.0] {
                    one_each.mark(m);
                    repeated.mark(m);
                }
                for _ in 0..times {
                    one_each.mark(e);
                }
                repeated.mark_repeated(e, times);
                let bits = |c: &EquityCurve| {
                    [c.prev, c.peak, c.trough, c.max_dd, c.sum, c.sum_sq, c.down_sq].map(f64::to_bits)
                };
                assert_eq!(bits(&one_each), bits(&repeated), "{e} x {times}");
            }
        }
    }

    #[test]
    fn undefined_statistics_are_nan() {
        let s = compute_stats(&[100.0, 100.0], &[], 100.0, 0, 365.0);
        assert!(s.sharpe.is_nan() && s.calmar.is_nan() && s.win_rate.is_nan() && s.profit_factor.is_nan());
        assert_eq!(s.trades, 0);
        let s = compute_stats(&[101.0], &[trade(1.0, 1)], 100.0, 1, 365.0);
        assert!(s.profit_factor.is_infinite());
    }
}
