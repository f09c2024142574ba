//! The strategy backtest's configuration: every parameter with its
//! documented default, loadable from JSON (unknown keys refused), validated
//! before a run. The `engine` section is the live [`EngineConfig`].
//!
//! ```json
//! {
//!   "engine": {"signals": {"entry_threshold": 70}},
//!   "init_cash": 10000, "risk_pct": 1.0, "max_positions": 0,
//!   "stops": {"stop_atr": 2.0, "trail_pct": 1.5, "take_profits": [{"r": 2, "fraction": 0.5}]},
//!   "fills": {"taker_bps": 10, "maker_bps": 10, "slippage_bps": 2, "latency_ms": 250},
//!   "intrabar": "worst",
//!   "filters": {"BTCUSDT": {"tick_size": 0.01, "step_size": 0.00001, "min_notional": 5}}
//! }
//! ```
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::config::EngineConfig;
use crate::error::{CoreError, CoreResult};
use crate::fills::{Bps, Dec, FeeSchedule, FillConfig, FilterSpec, IntrabarPath, Slippage, SymbolFilters};
use crate::stops::{StopPlan, TakeProfit, PPM};

/// Everything a strategy backtest is configured by.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BacktestConfig {
    /// The live engine's configuration (scores and signals).
    pub engine: EngineConfig,
    /// Starting cash in the quote asset (default 10 000).
    pub init_cash: f64,
    /// Percent of equity lost when a stop is hit: the size is
    /// `equity × risk_pct / 100 / stop distance` (default 1).
    pub risk_pct: f64,
    /// Largest position notional as a percent of equity (default 100: no
    /// leverage; the total of open notionals is also capped by equity).
    pub max_position_pct: f64,
    /// Open positions at once over all symbols (0: no limit, the default).
    pub max_positions: usize,
    /// SELL signals open shorts (default false: spot is long-only).
    pub allow_short: bool,
    /// A signal of the other side closes an open position at market
    /// (default true).
    pub exit_on_opposite: bool,
    /// The stop plan every position gets.
    pub stops: StopsConfig,
    /// Fees, slippage, latency.
    pub fills: FillsConfig,
    /// What is assumed when a stop and a target both lie inside one candle
    /// and no lower-timeframe series resolves it (default `worst`).
    pub intrabar: IntrabarRule,
    /// Symbol filters by symbol; symbols not listed use `default_filters`.
    pub filters: BTreeMap<String, FilterConfig>,
    /// Filters of symbols not listed in `filters`.
    pub default_filters: FilterConfig,
    /// Bars per year for the annualised statistics (0: from the interval,
    /// the default: 365 days of 24 h).
    pub periods_per_year: f64,
}

/// The stop plan, in user units (multiples and percents).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StopsConfig {
    /// Initial stop at this many ATRs from the entry (default 2; 0: use
    /// `stop_pct`).
    pub stop_atr: f64,
    /// Initial stop at this percent from the entry, when `stop_atr` is 0
    /// (default 2).
    pub stop_pct: f64,
    /// Trailing stop this percent below the peak (0: off, the default).
    pub trail_pct: f64,
    /// The percent trail starts once the peak is this many R in profit
    /// (default 0: at once).
    pub trail_after_r: f64,
    /// Chandelier stop `peak − k × ATR` (0: off, the default).
    pub chandelier_atr: f64,
    /// Move the stop to the entry once the gain reaches this many R (0: off,
    /// the default).
    pub breakeven_after_r: f64,
    /// Partial exits at R multiples (default none).
    pub take_profits: Vec<TakeProfitConfig>,
    /// Close at the close of the N-th candle after entry (0: off, default).
    pub time_stop_bars: u32,
}

/// Sell `fraction` of the initial quantity at `r` × R.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TakeProfitConfig {
    pub r: f64,
    pub fraction: f64,
}

/// Fees, slippage and latency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FillsConfig {
    /// Maker fee in basis points (default 10 = 0.1 %, Binance VIP 0).
    pub maker_bps: f64,
    /// Taker fee in basis points (default 10).
    pub taker_bps: f64,
    /// 25 % off both fees (paying with BNB) (default false).
    pub bnb_discount: bool,
    /// Taker fills move this many bps against the order (default 0).
    pub slippage_bps: f64,
    /// Send-to-exchange delay of an order, ms: it fills at the first price
    /// at or after the signal's candle close plus this (default 0: the
    /// next candle's open).
    pub latency_ms: i64,
}

/// The intrabar assumption for exits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum IntrabarRule {
    /// The adverse extreme first: a long's candle goes to its low before its
    /// high, a short's to its high first. Stops win ties with targets.
    #[default]
    Worst,
    /// The favourable extreme first (an optimistic bound).
    Best,
    /// Bullish candle low first, bearish high first (the fill model's default).
    Direction,
    HighFirst,
    LowFirst,
    NearestFirst,
}

impl IntrabarRule {
    /// The paths for (longs, shorts).
    #[must_use]
    pub fn paths(self) -> (IntrabarPath, IntrabarPath) {
        match self {
            Self::Worst => (IntrabarPath::LowFirst, IntrabarPath::HighFirst),
            Self::Best => (IntrabarPath::HighFirst, IntrabarPath::LowFirst),
            Self::Direction => (IntrabarPath::Direction, IntrabarPath::Direction),
            Self::HighFirst => (IntrabarPath::HighFirst, IntrabarPath::HighFirst),
            Self::LowFirst => (IntrabarPath::LowFirst, IntrabarPath::LowFirst),
            Self::NearestFirst => (IntrabarPath::NearestFirst, IntrabarPath::NearestFirst),
        }
    }
}

/// A symbol's Binance filters (decimal numbers as in exchangeInfo).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FilterConfig {
    /// Default 0.00000001 (fine enough for every price in the data).
    pub tick_size: f64,
    /// Default 0.00000001.
    pub step_size: f64,
    /// Default 0 (one step).
    pub min_qty: f64,
    /// Default 5 (Binance's USDT pairs).
    pub min_notional: f64,
}

impl Default for BacktestConfig {
    fn default() -> Self {
        Self {
            engine: EngineConfig::default(),
            init_cash: 10_000.0,
            risk_pct: 1.0,
            max_position_pct: 100.0,
            max_positions: 0,
            allow_short: false,
            exit_on_opposite: true,
            stops: StopsConfig::default(),
            fills: FillsConfig::default(),
            intrabar: IntrabarRule::Worst,
            filters: BTreeMap::new(),
            default_filters: FilterConfig::default(),
            periods_per_year: 0.0,
        }
    }
}

impl Default for StopsConfig {
    fn default() -> Self {
        Self {
            stop_atr: 2.0,
            stop_pct: 2.0,
            trail_pct: 0.0,
            trail_after_r: 0.0,
            chandelier_atr: 0.0,
            breakeven_after_r: 0.0,
            take_profits: Vec::new(),
            time_stop_bars: 0,
        }
    }
}

impl Default for FillsConfig {
    fn default() -> Self {
        Self { maker_bps: 10.0, taker_bps: 10.0, bnb_discount: false, slippage_bps: 0.0, latency_ms: 0 }
    }
}

impl Default for FilterConfig {
    fn default() -> Self {
        Self { tick_size: 1e-8, step_size: 1e-8, min_qty: 0.0, min_notional: 5.0 }
    }
}

/// An f64 from the configuration as an exact decimal (its shortest text).
pub(crate) fn dec(name: &str, v: f64) -> CoreResult<Dec> {
    if !v.is_finite() {
        return Err(CoreError::param(name, format!("must be finite, got {v}")));
    }
    Dec::parse(&format!("{v}")).map_err(|_| CoreError::param(name, format!("{v} is not a decimal number")))
}

/// A ratio (f64) in thousandths, rounded to nearest.
fn milli(name: &str, v: f64) -> CoreResult<u32> {
    if !(v.is_finite() && (0.0..=1e6).contains(&v)) {
        return Err(CoreError::param(name, format!("must be within [0, 1e6], got {v}")));
    }
    Ok((v * 1000.0).round() as u32)
}

fn ppm(name: &str, pct: f64) -> CoreResult<u32> {
    if !(pct.is_finite() && (0.0..100.0).contains(&pct)) {
        return Err(CoreError::param(name, format!("must be within [0, 100), got {pct}")));
    }
    Ok((pct * 10_000.0).round() as u32)
}

impl BacktestConfig {
    /// Parses a JSON document (missing keys take the defaults, unknown keys
    /// are refused) and validates it.
    ///
    /// # Errors
    /// `Config` naming what is wrong.
    pub fn from_json(text: &str) -> CoreResult<Self> {
        let cfg: Self = serde_json::from_str(text).map_err(|e| CoreError::Config(e.to_string()))?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// From a JSON value (used by the sweeps).
    ///
    /// # Errors
    /// As [`Self::from_json`].
    pub fn from_value(v: serde_json::Value) -> CoreResult<Self> {
        let cfg: Self = serde_json::from_value(v).map_err(|e| CoreError::Config(e.to_string()))?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// The JSON document of this configuration (every key).
    #[must_use]
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Checks every value.
    ///
    /// # Errors
    /// `Config` naming the bad key.
    pub fn validate(&self) -> CoreResult<()> {
        let wrap = |e: CoreError| CoreError::Config(e.to_string());
        self.engine.validate().map_err(wrap)?;
        let pos = |name: &str, v: f64, hi: f64| {
            if v.is_finite() && v > 0.0 && v <= hi {
                Ok(())
            } else {
                Err(CoreError::Config(format!("`{name}` must be in (0, {hi}], got {v}")))
            }
        };
        pos("init_cash", self.init_cash, 1e15)?;
        pos("risk_pct", self.risk_pct, 100.0)?;
        pos("max_position_pct", self.max_position_pct, 100.0)?;
        if !(self.periods_per_year.is_finite() && self.periods_per_year >= 0.0) {
            return Err(CoreError::Config(format!("`periods_per_year` must be >= 0, got {}", self.periods_per_year)));
        }
        if self.stops.stop_atr == 0.0 {
            pos("stops.stop_pct", self.stops.stop_pct, 99.0)?;
        } else {
            pos("stops.stop_atr", self.stops.stop_atr, 1e6)?;
        }
        self.plan(1).map_err(wrap)?;
        self.fill_config().map_err(wrap)?;
        self.default_filters.to_filters().map_err(wrap)?;
        for (sym, f) in &self.filters {
            f.to_filters().map_err(|e| CoreError::Config(format!("filters.{sym}: {e}")))?;
        }
        Ok(())
    }

    /// The stop plan, with the bar time stop counted in candles of a series
    /// `ratio` times finer than the strategy's (1: the strategy's own).
    ///
    /// # Errors
    /// `InvalidParameter` for out-of-range values.
    pub fn plan(&self, ratio: u32) -> CoreResult<StopPlan> {
        let s = &self.stops;
        let mut take_profits = Vec::with_capacity(s.take_profits.len());
        for tp in &s.take_profits {
            if !(tp.fraction.is_finite() && tp.fraction > 0.0 && tp.fraction <= 1.0) {
                return Err(CoreError::param(
                    "stops.take_profits",
                    format!("fraction must be in (0, 1], got {}", tp.fraction),
                ));
            }
            take_profits.push(TakeProfit {
                r_milli: milli("stops.take_profits.r", tp.r)?,
                fraction_ppm: (tp.fraction * PPM as f64).round() as u32,
            });
        }
        let plan = StopPlan {
            trail_ppm: ppm("stops.trail_pct", s.trail_pct)?,
            trail_after_r_milli: milli("stops.trail_after_r", s.trail_after_r)?,
            chandelier_k_milli: milli("stops.chandelier_atr", s.chandelier_atr)?,
            breakeven_after_r_milli: milli("stops.breakeven_after_r", s.breakeven_after_r)?,
            breakeven_offset_ticks: 0,
            take_profits,
            time_stop_ms: 0,
            time_stop_bars: s.time_stop_bars.saturating_mul(ratio),
        };
        plan.validate()?;
        Ok(plan)
    }

    /// The fill model's configuration. The fill path of entry orders is the
    /// bar's direction rule; exits follow [`Self::intrabar`].
    ///
    /// # Errors
    /// `InvalidParameter` for negative fees, slippage or latency.
    pub fn fill_config(&self) -> CoreResult<FillConfig> {
        let f = &self.fills;
        if f.latency_ms < 0 {
            return Err(CoreError::param("fills.latency_ms", format!("must be >= 0, got {}", f.latency_ms)));
        }
        let bps = |name: &str, v: f64| {
            if !(0.0..=10_000.0).contains(&v) {
                return Err(CoreError::param(name, format!("must be within [0, 10000] bps, got {v}")));
            }
            Bps::from_dec(name, dec(name, v)?)
        };
        let slip = bps("fills.slippage_bps", f.slippage_bps)?;
        Ok(FillConfig {
            fees: FeeSchedule {
                maker: bps("fills.maker_bps", f.maker_bps)?,
                taker: bps("fills.taker_bps", f.taker_bps)?,
                bnb_discount: f.bnb_discount,
                commission_precision: 8,
            },
            slippage: if slip.numer == 0 { Slippage::None } else { Slippage::Fixed(slip) },
            latency_ms: f.latency_ms,
            intrabar: IntrabarPath::Direction,
            ..FillConfig::default()
        })
    }

    /// The filters of a symbol.
    ///
    /// # Errors
    /// `InvalidParameter` for filters that do not validate.
    pub fn filters_for(&self, symbol: &str) -> CoreResult<SymbolFilters> {
        self.filters.get(symbol).unwrap_or(&self.default_filters).to_filters()
    }
}

impl FilterConfig {
    /// The integer-unit filters.
    ///
    /// # Errors
    /// `InvalidParameter` when a size is not positive or a minimum is off
    /// the grid.
    pub fn to_filters(&self) -> CoreResult<SymbolFilters> {
        let step = dec("step_size", self.step_size)?;
        let min_qty = if self.min_qty == 0.0 { step } else { dec("min_qty", self.min_qty)? };
        let tick = dec("tick_size", self.tick_size)?;
        SymbolFilters::new_checked(&FilterSpec {
            tick_size: tick,
            step_size: step,
            min_qty,
            max_qty: None,
            min_notional: dec("min_notional", self.min_notional)?,
            max_notional: None,
            min_price: tick,
            max_price: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_round_trip_and_unknown_keys_are_refused() {
        let cfg = BacktestConfig::default();
        cfg.validate().unwrap();
        assert_eq!(BacktestConfig::from_json(&cfg.to_json()).unwrap(), cfg);
        let e = BacktestConfig::from_json(r#"{"stops": {"trail": 1}}"#).unwrap_err();
        assert!(e.to_string().contains("unknown field `trail`"), "{e}");
        let e = BacktestConfig::from_json(r#"{"risk_pct": 0}"#).unwrap_err();
        assert!(e.to_string().contains("risk_pct"), "{e}");
        let e = BacktestConfig::from_json(r#"{"fills": {"latency_ms": -1}}"#).unwrap_err();
        assert!(e.to_string().contains("latency_ms"), "{e}");
        let cfg = BacktestConfig::from_json(r#"{"intrabar": "best", "engine": {"signals": {"entry_threshold": 60}}}"#)
            .unwrap();
        assert_eq!(cfg.intrabar, IntrabarRule::Best);
        assert_eq!(cfg.engine.signals.entry_threshold, 60.0);
    }

    #[test]
    fn plan_converts_user_units_exactly() {
        let cfg = BacktestConfig::from_json(
            r#"{"stops": {"trail_pct": 1.5, "breakeven_after_r": 1, "time_stop_bars": 3,
                "take_profits": [{"r": 2, "fraction": 0.5}]}}"#,
        )
        .unwrap();
        let p = cfg.plan(60).unwrap();
        assert_eq!((p.trail_ppm, p.breakeven_after_r_milli, p.time_stop_bars), (15_000, 1_000, 180));
        assert_eq!(p.take_profits, vec![TakeProfit { r_milli: 2_000, fraction_ppm: 500_000 }]);
    }
}
