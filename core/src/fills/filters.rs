//! Binance's symbol filters in integer units, and the rounding and checks
//! an order goes through before it reaches the exchange (or the simulator).
//!
//! Units:
//! - a **price** is an `i64` count of ticks (`price = ticks × tickSize`);
//! - a **quantity** is an `i64` count of steps (`qty = steps × stepSize`);
//! - a **notional** is an `i128` count of notional atoms,
//!   `10^-(price_scale + qty_scale)` of the quote asset, so
//!   `notional = ticks × tick_atoms × steps × step_atoms` is exact.
//!
//! `price_scale` / `qty_scale` are the decimals of tickSize / stepSize
//! (`"0.01000000"` → scale 2, one atom per tick). Binance states its filters
//! relative to minPrice / minQty (`(qty - minQty) % stepSize == 0`); the
//! constructor requires minQty and minPrice to be multiples of the step and
//! tick (true of every Binance spot symbol), which makes that rule the same
//! as `qty % stepSize == 0`.
use std::fmt;

use super::decimal::{div_ceil, div_floor, pow10, Dec};
use crate::error::{CoreError, CoreResult};
use crate::signals::Side;

/// Most decimals a tickSize or stepSize may have (Binance uses 8).
pub const MAX_FILTER_SCALE: u32 = 18;

/// How a decimal that is not a whole number of ticks/steps is brought onto
/// the grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rounding {
    /// Refuse values that are off the grid.
    Exact,
    /// Toward minus infinity.
    Down,
    /// Toward plus infinity.
    Up,
    /// To the nearest grid point, halves up.
    Nearest,
}

/// The filter an order violates, named as Binance names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FilterKind {
    PriceFilter,
    LotSize,
    Notional,
}

impl FilterKind {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PriceFilter => "PRICE_FILTER",
            Self::LotSize => "LOT_SIZE",
            Self::Notional => "NOTIONAL",
        }
    }
}

/// Why an order (or a size) fails a filter: the filter and the numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterViolation {
    pub filter: FilterKind,
    pub detail: String,
}

impl fmt::Display for FilterViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.filter.as_str(), self.detail)
    }
}

/// The decimal form of a symbol's filters, as Binance's exchangeInfo gives
/// them. `None` (or zero, as Binance writes it) for a bound means no bound.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FilterSpec {
    pub tick_size: Dec,
    pub step_size: Dec,
    pub min_qty: Dec,
    pub max_qty: Option<Dec>,
    pub min_notional: Dec,
    pub max_notional: Option<Dec>,
    pub min_price: Dec,
    pub max_price: Option<Dec>,
}

/// One symbol's `PRICE_FILTER`, `LOT_SIZE` and NOTIONAL filters in integer units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SymbolFilters {
    /// Decimals of tickSize.
    pub price_scale: u32,
    /// Decimals of stepSize.
    pub qty_scale: u32,
    /// tickSize in units of `10^-price_scale` (1 for every power-of-ten tick).
    pub tick_atoms: i64,
    /// stepSize in units of `10^-qty_scale`.
    pub step_atoms: i64,
    /// minPrice / maxPrice in ticks (`max_price == i64::MAX`: no bound).
    pub min_price: i64,
    pub max_price: i64,
    /// minQty / maxQty in steps (`max_qty == i64::MAX`: no bound).
    pub min_qty: i64,
    pub max_qty: i64,
    /// minNotional / maxNotional in notional atoms (`i128::MAX`: no bound).
    pub min_notional: i128,
    pub max_notional: i128,
}

/// `value / unit` rounded as asked, where both are exact decimals and the
/// unit is `unit_atoms × 10^-unit_scale`.
fn on_grid(value: Dec, unit_atoms: i64, unit_scale: u32, rounding: Rounding, what: &str) -> CoreResult<i128> {
    // value / unit = value.units × 10^unit_scale / (10^value.scale × unit_atoms)
    let out_of_range = || CoreError::InvalidInput(format!("{what} {value} is out of range"));
    let (num, den) = if value.scale >= unit_scale {
        (value.units, pow10(value.scale - unit_scale).checked_mul(i128::from(unit_atoms)).ok_or_else(out_of_range)?)
    } else {
        (value.units.checked_mul(pow10(unit_scale - value.scale)).ok_or_else(out_of_range)?, i128::from(unit_atoms))
    };
    Ok(match rounding {
        Rounding::Exact => {
            if num % den != 0 {
                return Err(CoreError::InvalidInput(format!(
                    "{what} {value} is not a multiple of {}",
                    Dec::new(i128::from(unit_atoms), unit_scale).normalized()
                )));
            }
            num / den
        }
        Rounding::Down => div_floor(num, den),
        Rounding::Up => div_ceil(num, den),
        Rounding::Nearest => div_floor(num.checked_mul(2).ok_or_else(out_of_range)? + den, 2 * den),
    })
}

fn to_i64(v: i128, what: &str) -> CoreResult<i64> {
    i64::try_from(v).map_err(|_| CoreError::InvalidInput(format!("{what} is out of range")))
}

impl SymbolFilters {
    /// Validates and converts the decimal filters.
    ///
    /// # Errors
    /// [`CoreError::InvalidParameter`] when tickSize or stepSize is not
    /// positive, a bound is negative or inverted, or minQty / minPrice is not
    /// a multiple of stepSize / tickSize.
    pub fn new_checked(spec: &FilterSpec) -> CoreResult<Self> {
        let tick = spec.tick_size.normalized();
        let step = spec.step_size.normalized();
        if !tick.is_positive() {
            return Err(CoreError::param("tick_size", format!("must be > 0, got {tick}")));
        }
        if !step.is_positive() {
            return Err(CoreError::param("step_size", format!("must be > 0, got {step}")));
        }
        if tick.scale > MAX_FILTER_SCALE || step.scale > MAX_FILTER_SCALE {
            return Err(CoreError::param(
                "tick_size",
                format!("tickSize and stepSize may have at most {MAX_FILTER_SCALE} decimals"),
            ));
        }
        let tick_atoms = i64::try_from(tick.units).map_err(|_| CoreError::param("tick_size", "too large"))?;
        let step_atoms = i64::try_from(step.units).map_err(|_| CoreError::param("step_size", "too large"))?;
        let mut f = Self {
            price_scale: tick.scale,
            qty_scale: step.scale,
            tick_atoms,
            step_atoms,
            min_price: 0,
            max_price: i64::MAX,
            min_qty: 0,
            max_qty: i64::MAX,
            min_notional: 0,
            max_notional: i128::MAX,
        };
        for (name, d) in [("min_qty", spec.min_qty), ("min_notional", spec.min_notional), ("min_price", spec.min_price)]
        {
            if d.is_negative() {
                return Err(CoreError::param(name, format!("must be >= 0, got {d}")));
            }
        }
        let exact = |name: &str, v: CoreResult<i128>| v.map_err(|e| CoreError::param(name, e.to_string()));
        f.min_qty = to_i64(exact("min_qty", f.steps_i128(spec.min_qty, Rounding::Exact))?, "min_qty")?;
        f.min_price = to_i64(exact("min_price", f.ticks_i128(spec.min_price, Rounding::Exact))?, "min_price")?;
        // A minimum notional finer than the notional atom is rounded up.
        f.min_notional = on_grid(spec.min_notional, 1, f.notional_scale(), Rounding::Up, "min_notional")?;
        // Binance writes "no bound" as 0.
        if let Some(d) = spec.max_qty.filter(|d| d.units != 0) {
            f.max_qty = to_i64(f.steps_i128(d, Rounding::Down)?, "max_qty")?;
        }
        if let Some(d) = spec.max_price.filter(|d| d.units != 0) {
            f.max_price = to_i64(f.ticks_i128(d, Rounding::Down)?, "max_price")?;
        }
        if let Some(d) = spec.max_notional.filter(|d| d.units != 0) {
            f.max_notional = on_grid(d, 1, f.notional_scale(), Rounding::Down, "max_notional")?;
        }
        if f.max_qty < f.min_qty {
            return Err(CoreError::param("max_qty", "is below min_qty"));
        }
        if f.max_price < f.min_price {
            return Err(CoreError::param("max_price", "is below min_price"));
        }
        if f.max_notional < f.min_notional {
            return Err(CoreError::param("max_notional", "is below min_notional"));
        }
        Ok(f)
    }

    /// Decimals of a notional (`price_scale + qty_scale`).
    #[must_use]
    pub fn notional_scale(&self) -> u32 {
        self.price_scale + self.qty_scale
    }

    fn ticks_i128(&self, price: Dec, rounding: Rounding) -> CoreResult<i128> {
        on_grid(price, self.tick_atoms, self.price_scale, rounding, "price")
    }

    fn steps_i128(&self, qty: Dec, rounding: Rounding) -> CoreResult<i128> {
        on_grid(qty, self.step_atoms, self.qty_scale, rounding, "quantity")
    }

    /// A decimal price in ticks.
    ///
    /// # Errors
    /// [`CoreError::InvalidInput`] if off the tick grid with
    /// [`Rounding::Exact`], or out of range.
    pub fn price_to_ticks(&self, price: Dec, rounding: Rounding) -> CoreResult<i64> {
        to_i64(self.ticks_i128(price, rounding)?, "price")
    }

    /// A decimal quantity in steps.
    ///
    /// # Errors
    /// As [`Self::price_to_ticks`].
    pub fn qty_to_steps(&self, qty: Dec, rounding: Rounding) -> CoreResult<i64> {
        to_i64(self.steps_i128(qty, rounding)?, "quantity")
    }

    /// A quantity rounded DOWN to stepSize (what Binance accepts).
    ///
    /// # Errors
    /// Out of range.
    pub fn round_qty_down(&self, qty: Dec) -> CoreResult<i64> {
        self.qty_to_steps(qty, Rounding::Down)
    }

    /// A limit price on the tick grid in the passive (conservative)
    /// direction: a BUY rounds down and a SELL rounds up, so the order never
    /// pays more (or receives less) than the price asked for.
    ///
    /// # Errors
    /// Out of range.
    pub fn round_limit_price(&self, side: Side, price: Dec) -> CoreResult<i64> {
        let r = match side {
            Side::Buy => Rounding::Down,
            Side::Sell => Rounding::Up,
        };
        self.price_to_ticks(price, r)
    }

    /// Ticks back to a decimal price (scale = tickSize's decimals).
    #[must_use]
    pub fn price(&self, ticks: i64) -> Dec {
        Dec::new(i128::from(ticks) * i128::from(self.tick_atoms), self.price_scale)
    }

    /// Steps back to a decimal quantity (scale = stepSize's decimals).
    #[must_use]
    pub fn qty(&self, steps: i64) -> Dec {
        Dec::new(i128::from(steps) * i128::from(self.step_atoms), self.qty_scale)
    }

    /// `price × qty` in notional atoms (saturating: beyond ~1e37 atoms the
    /// inputs are not prices and quantities of this world).
    #[must_use]
    pub fn notional_atoms(&self, ticks: i64, steps: i64) -> i128 {
        (i128::from(ticks) * i128::from(steps))
            .saturating_mul(i128::from(self.tick_atoms))
            .saturating_mul(i128::from(self.step_atoms))
    }

    /// Notional atoms as a decimal of the quote asset.
    #[must_use]
    pub fn notional(&self, atoms: i128) -> Dec {
        Dec::new(atoms, self.notional_scale())
    }

    /// Checks an order already on the grid: `PRICE_FILTER` (min/max price),
    /// `LOT_SIZE` (min/max qty) and NOTIONAL (min/max price × qty). `price` is
    /// the limit price, or the expected fill price of a market order.
    ///
    /// # Errors
    /// The first filter violated, with the numbers.
    pub fn check(&self, ticks: i64, steps: i64) -> Result<(), FilterViolation> {
        if ticks <= 0 || ticks < self.min_price || ticks > self.max_price {
            let (lo, hi) = (self.price(self.min_price), self.bound_price());
            return Err(FilterViolation {
                filter: FilterKind::PriceFilter,
                detail: format!("price {} is outside [minPrice {lo}, maxPrice {hi}]", self.price(ticks)),
            });
        }
        self.check_qty(steps)?;
        let n = self.notional_atoms(ticks, steps);
        if n < self.min_notional {
            return Err(FilterViolation {
                filter: FilterKind::Notional,
                detail: format!(
                    "notional {} (price {} x quantity {}) is below minNotional {}",
                    self.notional(n).normalized(),
                    self.price(ticks),
                    self.qty(steps),
                    self.notional(self.min_notional).normalized()
                ),
            });
        }
        if n > self.max_notional {
            return Err(FilterViolation {
                filter: FilterKind::Notional,
                detail: format!(
                    "notional {} (price {} x quantity {}) is above maxNotional {}",
                    self.notional(n).normalized(),
                    self.price(ticks),
                    self.qty(steps),
                    self.notional(self.max_notional).normalized()
                ),
            });
        }
        Ok(())
    }

    /// `LOT_SIZE` alone.
    ///
    /// # Errors
    /// The violation, with the numbers.
    pub fn check_qty(&self, steps: i64) -> Result<(), FilterViolation> {
        if steps <= 0 || steps < self.min_qty {
            return Err(FilterViolation {
                filter: FilterKind::LotSize,
                detail: format!("quantity {} is below minQty {}", self.qty(steps), self.qty(self.min_qty)),
            });
        }
        if steps > self.max_qty {
            return Err(FilterViolation {
                filter: FilterKind::LotSize,
                detail: format!("quantity {} is above maxQty {}", self.qty(steps), self.qty(self.max_qty)),
            });
        }
        Ok(())
    }

    /// Checks a decimal order as given: off-grid price or quantity fails
    /// `PRICE_FILTER` / `LOT_SIZE` (as Binance rejects it), then [`Self::check`].
    ///
    /// # Errors
    /// The first filter violated, with the numbers.
    pub fn check_decimal(&self, price: Dec, qty: Dec) -> Result<(i64, i64), FilterViolation> {
        let ticks = self.price_to_ticks(price, Rounding::Exact).map_err(|_| FilterViolation {
            filter: FilterKind::PriceFilter,
            detail: format!("price {price} is not a multiple of tickSize {}", self.price(1).normalized()),
        })?;
        let steps = self.qty_to_steps(qty, Rounding::Exact).map_err(|_| FilterViolation {
            filter: FilterKind::LotSize,
            detail: format!("quantity {qty} is not a multiple of stepSize {}", self.qty(1).normalized()),
        })?;
        self.check(ticks, steps)?;
        Ok((ticks, steps))
    }

    fn bound_price(&self) -> String {
        if self.max_price == i64::MAX {
            "none".to_owned()
        } else {
            self.price(self.max_price).to_string()
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn d(s: &str) -> Dec {
        Dec::parse(s).unwrap()
    }

    /// BTCUSDT as exchangeInfo gives it.
    pub(crate) fn btcusdt() -> SymbolFilters {
        SymbolFilters::new_checked(&FilterSpec {
            tick_size: d("0.01000000"),
            step_size: d("0.00001000"),
            min_qty: d("0.00001000"),
            max_qty: Some(d("9000.00000000")),
            min_notional: d("5.00000000"),
            max_notional: Some(d("9000000.00000000")),
            min_price: d("0.01000000"),
            max_price: Some(d("1000000.00000000")),
        })
        .unwrap()
    }

    #[test]
    fn btcusdt_filters_in_integer_units() {
        let f = btcusdt();
        assert_eq!((f.price_scale, f.qty_scale, f.tick_atoms, f.step_atoms), (2, 5, 1, 1));
        assert_eq!((f.min_qty, f.max_qty), (1, 900_000_000));
        // 5 USDT at 7 decimals.
        assert_eq!(f.min_notional, 50_000_000);
        assert_eq!(f.price_to_ticks(d("64000"), Rounding::Exact).unwrap(), 6_400_000);
        assert_eq!(f.price(6_400_000).to_string(), "64000.00");
        assert_eq!(f.qty(1000).to_string(), "0.01000");
    }

    #[test]
    fn rounding_quantity_down_and_limit_prices_passively() {
        let f = btcusdt();
        // 0.123456789 BTC → 0.12345 (12345 steps), never up.
        assert_eq!(f.round_qty_down(d("0.123456789")).unwrap(), 12_345);
        // 64000.005: a BUY limit rounds down to 64000.00, a SELL up to 64000.01.
        assert_eq!(f.round_limit_price(Side::Buy, d("64000.005")).unwrap(), 6_400_000);
        assert_eq!(f.round_limit_price(Side::Sell, d("64000.005")).unwrap(), 6_400_001);
        assert_eq!(f.price_to_ticks(d("64000.005"), Rounding::Nearest).unwrap(), 6_400_001);
        assert_eq!(f.price_to_ticks(d("64000.004"), Rounding::Nearest).unwrap(), 6_400_000);
        assert!(f.price_to_ticks(d("64000.005"), Rounding::Exact).is_err());
    }

    #[test]
    fn non_power_of_ten_tick() {
        let f =
            SymbolFilters::new_checked(&FilterSpec { tick_size: d("0.05"), step_size: d("1"), ..Default::default() })
                .unwrap();
        // 10.07 / 0.05 = 201.4 → down 201 (10.05), up 202 (10.10).
        assert_eq!(f.price_to_ticks(d("10.07"), Rounding::Down).unwrap(), 201);
        assert_eq!(f.price_to_ticks(d("10.07"), Rounding::Up).unwrap(), 202);
        assert_eq!(f.price(202).to_string(), "10.10");
    }

    #[test]
    fn refusals_name_the_filter_and_the_numbers() {
        let f = btcusdt();
        let e = f.check_decimal(d("64000"), d("0.000001")).unwrap_err();
        assert_eq!(e.filter, FilterKind::LotSize);
        assert_eq!(e.to_string(), "LOT_SIZE: quantity 0.000001 is not a multiple of stepSize 0.00001");
        let e = f.check_decimal(d("64000.001"), d("0.001")).unwrap_err();
        assert_eq!(e.to_string(), "PRICE_FILTER: price 64000.001 is not a multiple of tickSize 0.01");
        // 0.00007 × 64000 = 4.48 USDT < 5.
        let e = f.check_decimal(d("64000"), d("0.00007")).unwrap_err();
        assert_eq!(e.to_string(), "NOTIONAL: notional 4.48 (price 64000.00 x quantity 0.00007) is below minNotional 5");
        let e = f.check_decimal(d("64000"), d("9000.00001")).unwrap_err();
        assert_eq!(e.to_string(), "LOT_SIZE: quantity 9000.00001 is above maxQty 9000.00000");
        let e = f.check_decimal(d("2000000"), d("0.001")).unwrap_err();
        assert_eq!(e.filter, FilterKind::PriceFilter);
        // 0.00008 × 64000 = 5.12 ≥ 5: passes.
        assert_eq!(f.check_decimal(d("64000"), d("0.00008")).unwrap(), (6_400_000, 8));
    }

    #[test]
    fn out_of_range_values_are_errors_not_panics() {
        let f = btcusdt();
        assert!(f.price_to_ticks(d("1e30"), Rounding::Nearest).is_err());
        assert!(f.qty_to_steps(d("-1e30"), Rounding::Down).is_err());
        assert!(f.price_to_ticks(d("1e-30"), Rounding::Up).is_ok());
    }

    #[test]
    fn invalid_filters_are_refused() {
        let bad = FilterSpec { tick_size: d("0"), step_size: d("1"), ..Default::default() };
        assert!(SymbolFilters::new_checked(&bad).is_err());
        let bad =
            FilterSpec { tick_size: d("0.01"), step_size: d("0.001"), min_qty: d("0.0015"), ..Default::default() };
        assert!(SymbolFilters::new_checked(&bad).is_err());
        let bad = FilterSpec { tick_size: d("1e-19"), step_size: d("1"), ..Default::default() };
        assert!(SymbolFilters::new_checked(&bad).is_err());
    }
}
