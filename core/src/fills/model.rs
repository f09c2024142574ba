//! `FillModel`: the configuration and entry points of the fill simulation.
use super::bps::Bps;
use super::fees::FeeSchedule;
use super::filters::{FilterViolation, SymbolFilters};
use super::intrabar::{Bar, IntrabarPath, PricePoint};
use super::order::{Fill, Order, OrderStatus, SimOrder};
use super::slippage::Slippage;
use crate::error::{CoreError, CoreResult};

/// When a resting limit order counts as filled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum LimitFill {
    /// The price must trade strictly beyond the limit (the queue ahead of
    /// the order is assumed filled first). The default.
    #[default]
    TradeThrough,
    /// Touching the limit is enough.
    Touch,
}

impl LimitFill {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TradeThrough => "through",
            Self::Touch => "touch",
        }
    }

    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        [Self::TradeThrough, Self::Touch].into_iter().find(|x| x.as_str() == s)
    }
}

/// Everything the fill simulation is configured by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct FillConfig {
    pub fees: FeeSchedule,
    pub slippage: Slippage,
    /// Send-to-exchange delay in ms.
    pub latency_ms: i64,
    pub intrabar: IntrabarPath,
    pub limit_fill: LimitFill,
    /// Cap on a resting limit's fill per bar, as a share of the bar's volume
    /// (in bps: 1000 = 10%). None: no cap.
    pub max_volume_share: Option<Bps>,
}

/// An order's outcome over a whole path.
#[derive(Debug, Clone, PartialEq)]
pub struct Execution {
    pub fills: Vec<Fill>,
    pub status: OrderStatus,
    /// Steps left unfilled when the path ended.
    pub remaining: i64,
    pub triggered: bool,
}

/// The one fill model of AVD.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct FillModel {
    config: FillConfig,
}

impl FillModel {
    /// # Errors
    /// [`CoreError::InvalidParameter`] for a negative latency or a volume
    /// share outside (0, 100%].
    pub fn new_checked(config: FillConfig) -> CoreResult<Self> {
        if config.latency_ms < 0 {
            return Err(CoreError::param("latency_ms", format!("must be >= 0, got {}", config.latency_ms)));
        }
        for (name, rate) in [("maker_bps", config.fees.maker), ("taker_bps", config.fees.taker)] {
            if !rate.at_most(10_000) {
                return Err(CoreError::param(name, format!("must be <= 10000 bps (100%), got {}", rate.to_dec())));
            }
        }
        if config.fees.commission_precision > 18 {
            return Err(CoreError::param("commission_precision", "must be <= 18"));
        }
        match config.slippage {
            Slippage::Fixed(b) | Slippage::VolumeShare { cap: b, .. } if !b.at_most(10_000) => {
                return Err(CoreError::param("slippage", "a slippage (or its cap) must be <= 10000 bps"));
            }
            _ => {}
        }
        if let Some(s) = config.max_volume_share {
            let (n, d) = s.fraction();
            if n == 0 || n > d {
                return Err(CoreError::param("max_volume_share", "must be in (0, 10000] bps"));
            }
        }
        Ok(Self { config })
    }

    #[must_use]
    pub fn config(&self) -> &FillConfig {
        &self.config
    }

    /// Submits an order: checks the filters and starts its simulation.
    ///
    /// # Errors
    /// The filter the order violates.
    pub fn submit(&self, filters: &SymbolFilters, order: Order) -> Result<SimOrder, FilterViolation> {
        order.check(filters)?;
        Ok(SimOrder::new(*filters, order, self.config.latency_ms))
    }

    /// One price point for a working order.
    pub fn on_point(&self, order: &mut SimOrder, p: PricePoint) -> Option<Fill> {
        order.on_point(&self.config, p)
    }

    /// One bar for a working order.
    pub fn on_bar(&self, order: &mut SimOrder, bar: &Bar) -> Option<Fill> {
        order.on_bar(&self.config, bar)
    }

    /// Runs an order over a path of price points.
    ///
    /// # Errors
    /// The filter the order violates.
    pub fn execute_points(
        &self,
        filters: &SymbolFilters,
        order: Order,
        path: &[PricePoint],
    ) -> Result<Execution, FilterViolation> {
        let mut sim = self.submit(filters, order)?;
        let mut fills = Vec::new();
        for p in path {
            fills.extend(sim.on_point(&self.config, *p));
            if sim.remaining() == 0 {
                break;
            }
        }
        Ok(Self::finish(&sim, fills))
    }

    /// Runs an order over bars.
    ///
    /// # Errors
    /// The filter the order violates.
    pub fn execute_bars(
        &self,
        filters: &SymbolFilters,
        order: Order,
        bars: &[Bar],
    ) -> Result<Execution, FilterViolation> {
        let mut sim = self.submit(filters, order)?;
        let mut fills = Vec::new();
        for b in bars {
            fills.extend(sim.on_bar(&self.config, b));
            if sim.remaining() == 0 {
                break;
            }
        }
        Ok(Self::finish(&sim, fills))
    }

    fn finish(sim: &SimOrder, fills: Vec<Fill>) -> Execution {
        Execution { fills, status: sim.status(), remaining: sim.remaining(), triggered: sim.triggered() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fills::fees::{FeeAsset, Liquidity};
    use crate::fills::filters::tests::btcusdt;
    use crate::fills::filters::FilterKind;
    use crate::fills::order::OrderKind;
    use crate::signals::Side;

    fn pt(ts: i64, price: i64) -> PricePoint {
        PricePoint { ts, price, volume: 0 }
    }

    fn bar(open_time: i64, o: i64, h: i64, l: i64, c: i64, volume: i64) -> Bar {
        Bar { open_time, close_time: open_time + 59_999, open: o, high: h, low: l, close: c, volume }
    }

    fn model(cfg: FillConfig) -> FillModel {
        FillModel::new_checked(cfg).unwrap()
    }

    fn order(side: Side, kind: OrderKind, qty: i64, sent_at: i64) -> Order {
        Order { side, kind, qty, sent_at }
    }

    #[test]
    fn market_fills_at_first_price_after_latency() {
        // Sent at 1_000 with 250 ms latency: arrives at 1_250. Points at
        // 1_100 (64000.00) and 1_249 (64001.00) are too early; 1_250
        // (64002.00) is the first at or after it.
        let m = model(FillConfig { latency_ms: 250, ..FillConfig::default() });
        let path = [pt(1_100, 6_400_000), pt(1_249, 6_400_100), pt(1_250, 6_400_200), pt(1_300, 6_400_300)];
        let ex = m.execute_points(&btcusdt(), order(Side::Buy, OrderKind::Market, 1000, 1_000), &path).unwrap();
        assert_eq!(ex.status, OrderStatus::Filled);
        let f = ex.fills[0];
        assert_eq!((f.ts, f.price, f.qty, f.liquidity), (1_250, 6_400_200, 1000, Liquidity::Taker));
        // 0.01 BTC × 0.1% = 0.00001 BTC, in the base asset.
        assert_eq!((f.commission.amount, f.commission.asset), (1000, FeeAsset::Base));
    }

    #[test]
    fn market_on_bars_uses_the_path_point_after_latency_plus_slippage() {
        // Bullish bar 0..59_999: O 64000 @0, L 63900 @19_999, H 64200
        // @39_999, C 64100 @59_999. Sent at 10_000 with 5_000 ms latency →
        // arrives 15_000 → first point is the low at 19_999: 63900.00.
        // Fixed 2 bps on a BUY: 63900 × 1.0002 = 63912.78.
        let cfg = FillConfig { latency_ms: 5_000, slippage: Slippage::Fixed(Bps::whole(2)), ..FillConfig::default() };
        let b = bar(0, 6_400_000, 6_420_000, 6_390_000, 6_410_000, 10_000_000);
        let ex = model(cfg).execute_bars(&btcusdt(), order(Side::Buy, OrderKind::Market, 1000, 10_000), &[b]).unwrap();
        assert_eq!((ex.fills[0].ts, ex.fills[0].price), (19_999, 6_391_278));
    }

    #[test]
    fn limit_fills_only_when_traded_through_at_the_limit_as_maker() {
        // BUY limit 63950.00 resting (price 64000 on arrival).
        let m = model(FillConfig::default());
        let o = order(Side::Buy, OrderKind::Limit { price: 6_395_000 }, 1000, 0);
        // Touching 63950.00 is not enough; 63949.99 trades through.
        let touch = [pt(0, 6_400_000), pt(1, 6_395_000), pt(2, 6_396_000)];
        let ex = m.execute_points(&btcusdt(), o, &touch).unwrap();
        assert_eq!((ex.status, ex.fills.len()), (OrderStatus::Open, 0));
        let through = [pt(0, 6_400_000), pt(1, 6_395_000), pt(2, 6_394_999)];
        let ex = m.execute_points(&btcusdt(), o, &through).unwrap();
        let f = ex.fills[0];
        // Filled at the limit, not at 63949.99; maker fee 0.1% of 0.01 BTC.
        assert_eq!((f.ts, f.price, f.liquidity, f.commission.amount), (2, 6_395_000, Liquidity::Maker, 1000));
        // With the touch rule, the touch fills.
        let m = model(FillConfig { limit_fill: LimitFill::Touch, ..FillConfig::default() });
        assert_eq!(m.execute_points(&btcusdt(), o, &touch).unwrap().fills[0].ts, 1);
    }

    #[test]
    fn marketable_limit_takes_at_the_price_never_beyond_its_limit() {
        // BUY limit 64010 arriving at 64000: taker at 64000 + 5 bps slippage
        // = 64032.00, clamped to the limit 64010.00.
        let cfg = FillConfig { slippage: Slippage::Fixed(Bps::whole(5)), ..FillConfig::default() };
        let o = order(Side::Buy, OrderKind::Limit { price: 6_401_000 }, 1000, 0);
        let ex = model(cfg).execute_points(&btcusdt(), o, &[pt(0, 6_400_000)]).unwrap();
        assert_eq!((ex.fills[0].price, ex.fills[0].liquidity), (6_401_000, Liquidity::Taker));
    }

    #[test]
    fn limit_on_bars_with_volume_share_fills_partially() {
        // SELL 3 BTC limit 64100 with a 10% volume cap. Bar 1: bearish,
        // O 64000 H 64150 L 63900 C 63950, volume 10 BTC: the path goes
        // 64000 → 64150 (through 64100) → fill 10% × 10 = 1 BTC at 64100.
        // Bar 2 never goes above 64050: nothing. Bar 3 (high 64200,
        // volume 50 BTC) fills the 2 BTC left (cap 5).
        let cfg = FillConfig { max_volume_share: Some(Bps::whole(1000)), ..FillConfig::default() };
        let o = order(Side::Sell, OrderKind::Limit { price: 6_410_000 }, 300_000, 0);
        let bars = [
            bar(0, 6_400_000, 6_415_000, 6_390_000, 6_395_000, 1_000_000),
            bar(60_000, 6_395_000, 6_405_000, 6_390_000, 6_400_000, 1_000_000),
            bar(120_000, 6_400_000, 6_420_000, 6_399_000, 6_410_000, 5_000_000),
        ];
        let ex = model(cfg).execute_bars(&btcusdt(), o, &bars).unwrap();
        let got: Vec<_> = ex.fills.iter().map(|f| (f.ts, f.price, f.qty)).collect();
        // Bearish bar: high at 0 + 59_999/3 = 19_999; bar 3 bullish: high
        // third at 120_000 + 39_999.
        assert_eq!(got, vec![(19_999, 6_410_000, 100_000), (159_999, 6_410_000, 200_000)]);
        assert_eq!(ex.status, OrderStatus::Filled);
        // SELL 1 BTC × 64100 = 64100 USDT × 0.1% = 64.1 USDT.
        assert_eq!(ex.fills[0].commission.to_dec().to_string(), "64.10000000");
    }

    #[test]
    fn stop_limit_triggers_then_becomes_a_limit() {
        // SELL stop 63500 limit 63400. Bullish bar O 64000 L 63450 H 64100
        // C 64050: the path falls continuously through the stop → triggered
        // at 63500 exactly, the limit (63400) is marketable there → taker at
        // 63500.
        let o = order(Side::Sell, OrderKind::StopLimit { stop: 6_350_000, limit: 6_340_000 }, 1000, 0);
        let m = model(FillConfig::default());
        let b = bar(0, 6_400_000, 6_410_000, 6_345_000, 6_405_000, 1_000_000);
        let ex = m.execute_bars(&btcusdt(), o, &[b]).unwrap();
        assert_eq!((ex.fills[0].price, ex.fills[0].liquidity, ex.triggered), (6_350_000, Liquidity::Taker, true));
        // A gap: the next bar opens at 63300, below the limit. Triggered at
        // the open, not marketable (63300 < 63400): rests, fills as maker
        // at 63400 once the price trades above it (high 63450).
        let gap = bar(0, 6_330_000, 6_345_000, 6_320_000, 6_340_000, 1_000_000);
        let ex = m.execute_bars(&btcusdt(), o, &[gap]).unwrap();
        assert_eq!((ex.fills[0].price, ex.fills[0].liquidity), (6_340_000, Liquidity::Maker));
        // Not triggered when the price stays above the stop.
        let calm = bar(0, 6_400_000, 6_410_000, 6_360_000, 6_405_000, 1_000_000);
        let ex = m.execute_bars(&btcusdt(), o, &[calm]).unwrap();
        assert_eq!((ex.status, ex.triggered), (OrderStatus::Open, false));
    }

    #[test]
    fn stop_market_gaps_fill_at_the_observed_price() {
        // BUY stop 64500 on points: 64400, then a jump to 64600 → fills at
        // 64600 (not 64500).
        let o = order(Side::Buy, OrderKind::StopMarket { stop: 6_450_000 }, 1000, 0);
        let ex =
            model(FillConfig::default()).execute_points(&btcusdt(), o, &[pt(0, 6_440_000), pt(1, 6_460_000)]).unwrap();
        assert_eq!(ex.fills[0].price, 6_460_000);
    }

    #[test]
    fn orders_violating_filters_are_refused() {
        let m = model(FillConfig::default());
        // 0.00007 BTC at 64000 = 4.48 USDT < minNotional 5.
        let o = order(Side::Buy, OrderKind::Limit { price: 6_400_000 }, 7, 0);
        let e = m.execute_points(&btcusdt(), o, &[]).unwrap_err();
        assert_eq!(e.filter, FilterKind::Notional);
        let o = order(Side::Buy, OrderKind::Market, 0, 0);
        assert_eq!(m.execute_points(&btcusdt(), o, &[]).unwrap_err().filter, FilterKind::LotSize);
        assert!(FillModel::new_checked(FillConfig { latency_ms: -1, ..FillConfig::default() }).is_err());
        let greedy = FeeSchedule { taker: Bps::whole(10_001), ..FeeSchedule::default() };
        assert!(FillModel::new_checked(FillConfig { fees: greedy, ..FillConfig::default() }).is_err());
        let wild = Slippage::Fixed(Bps { numer: 100_001, denom: 10 });
        assert!(FillModel::new_checked(FillConfig { slippage: wild, ..FillConfig::default() }).is_err());
    }
}
