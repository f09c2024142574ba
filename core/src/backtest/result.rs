//! What a strategy backtest produces: the trades, the equity curve and the
//! statistics.
use super::stats::{compute_stats, Stats};
use super::{Trade, TradeExit};
use crate::stops::CloseReason;

/// Why a backtest trade closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExitReason {
    StopLoss,
    TrailingStop,
    BreakEvenStop,
    TakeProfit,
    TimeStop,
    /// A signal of the other side.
    Signal,
    /// Still open at the end of the data: closed at the last close.
    EndOfData,
}

impl ExitReason {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::StopLoss => "stop_loss",
            Self::TrailingStop => "trailing_stop",
            Self::BreakEvenStop => "break_even_stop",
            Self::TakeProfit => "take_profit",
            Self::TimeStop => "time_stop",
            Self::Signal => "signal",
            Self::EndOfData => "end_of_data",
        }
    }

    pub(crate) fn from_close(r: CloseReason) -> Self {
        match r {
            CloseReason::StopLoss | CloseReason::Manual => Self::StopLoss,
            CloseReason::TrailingStop => Self::TrailingStop,
            CloseReason::BreakEvenStop => Self::BreakEvenStop,
            CloseReason::TakeProfit => Self::TakeProfit,
            CloseReason::TimeStop => Self::TimeStop,
        }
    }

    fn to_trade_exit(self) -> TradeExit {
        match self {
            Self::StopLoss | Self::BreakEvenStop | Self::TimeStop => TradeExit::StopLoss,
            Self::TrailingStop => TradeExit::TrailingStop,
            Self::TakeProfit => TradeExit::TakeProfit,
            Self::Signal => TradeExit::Signal,
            Self::EndOfData => TradeExit::EndOfData,
        }
    }
}

/// One closed position (partial exits included).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BacktestTrade {
    /// Index of the symbol in the input series.
    pub symbol: usize,
    /// +1 long, -1 short.
    pub side: i8,
    /// Close time of the candle whose signal opened it (ms).
    pub signal_time: i64,
    /// Entry and final exit fill times (ms).
    pub entry_time: i64,
    pub exit_time: i64,
    /// Step of the aligned timeline (see [`BacktestResult::times`]).
    pub entry_bar: usize,
    pub exit_bar: usize,
    pub entry_price: f64,
    /// Quantity-weighted mean of every exit fill.
    pub exit_price: f64,
    /// Base quantity bought (sold, for a short).
    pub qty: f64,
    /// Net of every fee, quote asset.
    pub pnl: f64,
    /// `pnl` over the entry notional (a fraction).
    pub return_pct: f64,
    /// Every fee of the trade, in the quote asset.
    pub fees: f64,
    /// The initial stop.
    pub stop: f64,
    /// Partial exits before the final one.
    pub partials: u8,
    pub reason: ExitReason,
}

/// Counts of what happened besides trades.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RunCounters {
    /// Candles processed over all symbols.
    pub candles: u64,
    /// Signals the engine fired.
    pub signals: u64,
    /// Signals not taken: sizing refused (filters, risk), cash, max positions.
    pub skipped: u64,
    /// Stop moves (break-even, trailing).
    pub stop_moves: u64,
    /// Candles whose exits were resolved on the lower-timeframe series.
    pub lower_tf_bars: u64,
}

/// A strategy backtest's output.
#[derive(Debug, Clone, PartialEq)]
pub struct BacktestResult {
    pub trades: Vec<BacktestTrade>,
    /// Close time (ms) of each step of the aligned timeline.
    pub times: Vec<i64>,
    /// Equity (cash + open positions at the close) at each step.
    pub equity: Vec<f64>,
    /// Steps with at least one open position.
    pub bars_in_market: usize,
    pub init_cash: f64,
    pub periods_per_year: f64,
    pub counters: RunCounters,
}

impl BacktestResult {
    /// The statistics (see [`super::stats`]).
    #[must_use]
    pub fn stats(&self) -> Stats {
        let trades: Vec<Trade> = self
            .trades
            .iter()
            .map(|t| Trade {
                entry_bar: t.entry_bar,
                exit_bar: t.exit_bar,
                entry_price: t.entry_price,
                exit_price: t.exit_price,
                quantity: f64::from(t.side) * t.qty,
                pnl: t.pnl,
                return_pct: t.return_pct,
                fees: t.fees,
                exit: t.reason.to_trade_exit(),
            })
            .collect();
        compute_stats(&self.equity, &trades, self.init_cash, self.bars_in_market, self.periods_per_year)
    }

    /// Drawdown (a fraction, >= 0) at each step.
    #[must_use]
    pub fn drawdown(&self) -> Vec<f64> {
        let mut peak = self.init_cash;
        self.equity
            .iter()
            .map(|&e| {
                peak = peak.max(e);
                1.0 - e / peak
            })
            .collect()
    }
}
