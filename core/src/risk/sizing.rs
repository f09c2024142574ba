//! Position sizing from the risk per trade, exactly.
//!
//! `qty = (equity × risk_pct / 100) / |entry − stop|`, computed as one
//! exact rational and rounded DOWN to stepSize, then capped (never raised)
//! by `LOT_SIZE` maxQty, the NOTIONAL filter's maxNotional, the caller's max
//! position notional and the available cash (`qty × entry <= cash`; a BUY's
//! commission is charged in the base asset, so it needs no extra cash). A
//! size that is zero, below minQty or below minNotional is refused, as is a
//! stop on the wrong side of the entry; every refusal names the rule and the
//! numbers.
use std::fmt;

use crate::fills::decimal::{pow10, Dec};
use crate::fills::SymbolFilters;
use crate::signals::Side;

/// The rule a sizing request failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SizingRule {
    /// The stop is not on the losing side of the entry.
    StopSide,
    /// Equity, risk percent, cash or max notional is not positive.
    Input,
    /// Below minQty (or zero) after rounding to stepSize.
    LotSize,
    /// Below minNotional.
    Notional,
}

impl SizingRule {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::StopSide => "STOP_SIDE",
            Self::Input => "INPUT",
            Self::LotSize => "LOT_SIZE",
            Self::Notional => "NOTIONAL",
        }
    }
}

/// A refused sizing: the rule and the numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SizingRefusal {
    pub rule: SizingRule,
    pub detail: String,
}

impl fmt::Display for SizingRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.rule.as_str(), self.detail)
    }
}

/// What bound the size below the risk-based quantity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SizeCap {
    /// `LOT_SIZE` maxQty.
    MaxQty,
    /// The NOTIONAL filter's maxNotional.
    MaxNotionalFilter,
    /// The caller's max position notional.
    MaxPositionNotional,
    /// The available cash.
    Cash,
}

impl SizeCap {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MaxQty => "MAX_QTY",
            Self::MaxNotionalFilter => "MAX_NOTIONAL_FILTER",
            Self::MaxPositionNotional => "MAX_POSITION_NOTIONAL",
            Self::Cash => "CASH",
        }
    }
}

/// A sizing request. Money as exact decimals of the quote asset, prices in
/// ticks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SizingRequest {
    /// BUY opens a long (stop below), SELL a short (stop above).
    pub side: Side,
    pub equity: Dec,
    /// Percent of equity lost if the stop is hit (`1` = 1%).
    pub risk_pct: Dec,
    pub entry: i64,
    pub stop: i64,
    pub cash: Option<Dec>,
    pub max_notional: Option<Dec>,
}

/// An accepted size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sizing {
    /// The quantity to trade, in steps.
    pub qty: i64,
    /// The risk-based quantity before the caps (rounded down to the step).
    pub risk_qty: i64,
    /// The cap that bound, if any.
    pub capped_by: Option<SizeCap>,
    /// `qty × entry`, notional atoms.
    pub notional: i128,
    /// `qty × |entry − stop|`: the loss at the stop, notional atoms.
    pub risk_amount: i128,
}

fn refuse(rule: SizingRule, detail: String) -> SizingRefusal {
    SizingRefusal { rule, detail }
}

/// `floor(amount / (ticks × tick × step))` in steps, i.e. how many steps
/// of base `amount` (quote) buys at `ticks` per unit.
fn steps_for(f: &SymbolFilters, amount: Dec, ticks_per_unit: i64) -> Option<i128> {
    let a = amount.normalized();
    // amount = a.units / 10^a.scale; per-step cost = ticks·tick_atoms·step_atoms / 10^(ps+qs)
    let num = a.units.checked_mul(pow10(f.notional_scale()))?;
    let den = pow10(a.scale)
        .checked_mul(i128::from(ticks_per_unit))?
        .checked_mul(i128::from(f.tick_atoms))?
        .checked_mul(i128::from(f.step_atoms))?;
    (den > 0).then(|| num.div_euclid(den))
}

/// Sizes a position.
///
/// # Errors
/// A [`SizingRefusal`] naming the rule and the numbers.
pub fn size_position(f: &SymbolFilters, req: &SizingRequest) -> Result<Sizing, SizingRefusal> {
    let too_large = || refuse(SizingRule::Input, "the numbers are too large to size exactly".to_owned());
    let dist = match req.side {
        Side::Buy => req.entry - req.stop,
        Side::Sell => req.stop - req.entry,
    };
    if req.entry <= 0 || dist <= 0 {
        let want = if req.side == Side::Buy { "below" } else { "above" };
        return Err(refuse(
            SizingRule::StopSide,
            format!(
                "a {} entry at {} needs its stop {want} it, got {}",
                req.side.as_str(),
                f.price(req.entry),
                f.price(req.stop)
            ),
        ));
    }
    for (name, v) in [
        ("equity", Some(req.equity)),
        ("risk_pct", Some(req.risk_pct)),
        ("cash", req.cash),
        ("max_notional", req.max_notional),
    ] {
        if let Some(v) = v {
            if !v.is_positive() {
                return Err(refuse(SizingRule::Input, format!("{name} must be > 0, got {v}")));
            }
        }
    }
    if req.risk_pct > Dec::new(100, 0) {
        return Err(refuse(SizingRule::Input, format!("risk_pct must be <= 100, got {}", req.risk_pct)));
    }
    // risk = equity × pct / 100, as one decimal (exact).
    let (e, r) = (req.equity.normalized(), req.risk_pct.normalized());
    let risk = Dec::new(e.units.checked_mul(r.units).ok_or_else(too_large)?, e.scale + r.scale + 2);
    let risk_qty = steps_for(f, risk, dist).ok_or_else(too_large)?;
    let mut qty = risk_qty;
    let mut capped_by = None;
    let mut cap = |limit: Option<i128>, why: SizeCap| {
        if let Some(l) = limit {
            if l < qty {
                qty = l;
                capped_by = Some(why);
            }
        }
    };
    cap(Some(i128::from(f.max_qty)), SizeCap::MaxQty);
    if f.max_notional != i128::MAX {
        let per_step = f.notional_atoms(req.entry, 1);
        cap(Some(f.max_notional / per_step), SizeCap::MaxNotionalFilter);
    }
    cap(req.max_notional.and_then(|m| steps_for(f, m, req.entry)), SizeCap::MaxPositionNotional);
    cap(req.cash.and_then(|c| steps_for(f, c, req.entry)), SizeCap::Cash);
    let qty = i64::try_from(qty).map_err(|_| too_large())?;
    let risk_qty = i64::try_from(risk_qty).unwrap_or(i64::MAX);
    let why = || {
        let by = capped_by.map_or(String::new(), |c| format!(", capped by {}", c.as_str()));
        format!(
            "risk {} ({}% of equity {}) over a stop distance of {} gives {}{by}",
            Dec::new(risk.units, risk.scale).normalized(),
            req.risk_pct,
            req.equity,
            f.price(dist),
            f.qty(qty)
        )
    };
    if qty <= 0 || qty < f.min_qty {
        return Err(refuse(SizingRule::LotSize, format!("{}, below minQty {}", why(), f.qty(f.min_qty))));
    }
    let notional = f.notional_atoms(req.entry, qty);
    if notional < f.min_notional {
        return Err(refuse(
            SizingRule::Notional,
            format!(
                "{}: notional {} at {} is below minNotional {}",
                why(),
                f.notional(notional).normalized(),
                f.price(req.entry),
                f.notional(f.min_notional).normalized()
            ),
        ));
    }
    Ok(Sizing { qty, risk_qty, capped_by, notional, risk_amount: f.notional_atoms(dist, qty) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fills::filters::tests::btcusdt;

    fn d(s: &str) -> Dec {
        Dec::parse(s).unwrap()
    }

    fn req(equity: &str, entry: i64, stop: i64) -> SizingRequest {
        SizingRequest {
            side: Side::Buy,
            equity: d(equity),
            risk_pct: d("1"),
            entry,
            stop,
            cash: None,
            max_notional: None,
        }
    }

    #[test]
    fn one_percent_of_ten_thousand_over_a_thousand_dollar_stop() {
        // 10_000 × 1% = 100 USDT; |64000 − 63000| = 1000 → 0.1 BTC
        // = 10_000 steps of 0.00001; notional 6400 USDT; loss at stop 100.
        let f = btcusdt();
        let s = size_position(&f, &req("10000", 6_400_000, 6_300_000)).unwrap();
        assert_eq!((s.qty, s.risk_qty, s.capped_by), (10_000, 10_000, None));
        assert_eq!(f.qty(s.qty).to_string(), "0.10000");
        assert_eq!(f.notional(s.notional).normalized().to_string(), "6400");
        assert_eq!(f.notional(s.risk_amount).normalized().to_string(), "100");
    }

    #[test]
    fn rounds_down_to_the_step() {
        // 10_000 × 1% / 700 = 0.142857142… → 0.14285 BTC.
        let s = size_position(&btcusdt(), &req("10000", 6_400_000, 6_330_000)).unwrap();
        assert_eq!(s.qty, 14_285);
        // A short: stop above. 100 / 1500 = 0.0666… → 0.06666.
        let short = SizingRequest { side: Side::Sell, stop: 6_550_000, ..req("10000", 6_400_000, 0) };
        assert_eq!(size_position(&btcusdt(), &short).unwrap().qty, 6_666);
    }

    #[test]
    fn caps_by_cash_and_max_notional() {
        let f = btcusdt();
        // Cash 5000 / 64000 = 0.078125 → 0.07812 BTC.
        let r = SizingRequest { cash: Some(d("5000")), ..req("10000", 6_400_000, 6_300_000) };
        let s = size_position(&f, &r).unwrap();
        assert_eq!((s.qty, s.risk_qty, s.capped_by), (7_812, 10_000, Some(SizeCap::Cash)));
        // Max position 3200 USDT → 0.05 BTC (binds before the cash).
        let r = SizingRequest { max_notional: Some(d("3200")), ..r };
        let s = size_position(&f, &r).unwrap();
        assert_eq!((s.qty, s.capped_by), (5_000, Some(SizeCap::MaxPositionNotional)));
    }

    #[test]
    fn refusals_name_the_rule_and_the_numbers() {
        let f = btcusdt();
        // A long's stop above the entry.
        let e = size_position(&f, &req("10000", 6_400_000, 6_500_000)).unwrap_err();
        assert_eq!(e.to_string(), "STOP_SIDE: a BUY entry at 64000.00 needs its stop below it, got 65000.00");
        // 5 × 1% / 1000 = 0.00005 BTC × 64000 = 3.2 USDT < 5.
        let e = size_position(&f, &req("5", 6_400_000, 6_300_000)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "NOTIONAL: risk 0.05 (1% of equity 5) over a stop distance of 1000.00 gives 0.00005: \
             notional 3.2 at 64000.00 is below minNotional 5"
        );
        // 0.5 × 1% / 1000 = 0.000005 → 0 steps.
        let e = size_position(&f, &req("0.5", 6_400_000, 6_300_000)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "LOT_SIZE: risk 0.005 (1% of equity 0.5) over a stop distance of 1000.00 gives 0.00000, below minQty 0.00001"
        );
        let e = size_position(&f, &req("0", 6_400_000, 6_300_000)).unwrap_err();
        assert_eq!(e.rule, SizingRule::Input);
        let e = size_position(&f, &SizingRequest { risk_pct: d("101"), ..req("10000", 6_400_000, 6_300_000) });
        assert_eq!(e.unwrap_err().to_string(), "INPUT: risk_pct must be <= 100, got 101");
    }
}
