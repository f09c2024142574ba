//! Maker/taker commissions, computed exactly.
//!
//! `commission = amount × rate`, with `rate = bps / 10_000` exact, where the
//! amount is what the trader receives, as Binance spot charges it by default:
//! a BUY pays in the base asset (`amount = qty`), a SELL in the quote asset
//! (`amount = price × qty`). The result is rounded UP to the commission
//! asset's precision (8 decimals by default, Binance's asset precision):
//! Binance does not publish its rounding, so the simulation rounds against
//! the trader and never under-charges. With the BNB discount the rate is
//! multiplied by 3/4 (0.1% → 0.075%); the commission stays in the received
//! asset because the simulator holds no BNB price.
use super::bps::Bps;
use super::decimal::{div_ceil, pow10, Dec};
use super::filters::SymbolFilters;
use crate::signals::Side;

/// Whether a fill added liquidity (resting limit order) or took it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Liquidity {
    Maker,
    Taker,
}

impl Liquidity {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Maker => "MAKER",
            Self::Taker => "TAKER",
        }
    }
}

/// The asset a commission is paid in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FeeAsset {
    Base,
    Quote,
}

impl FeeAsset {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Base => "BASE",
            Self::Quote => "QUOTE",
        }
    }
}

/// A commission: `amount × 10^-precision` of `asset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Commission {
    pub amount: i128,
    pub precision: u32,
    pub asset: FeeAsset,
}

impl Commission {
    #[must_use]
    pub fn to_dec(self) -> Dec {
        Dec::new(self.amount, self.precision)
    }
}

/// The fee schedule of an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FeeSchedule {
    pub maker: Bps,
    pub taker: Bps,
    /// Pay with BNB: 25% off both rates.
    pub bnb_discount: bool,
    /// Decimals of the commission asset (Binance: 8).
    pub commission_precision: u32,
}

impl Default for FeeSchedule {
    /// Binance spot's regular (VIP 0) schedule: 0.1% maker, 0.1% taker.
    fn default() -> Self {
        Self { maker: Bps::whole(10), taker: Bps::whole(10), bnb_discount: false, commission_precision: 8 }
    }
}

impl FeeSchedule {
    /// The rate applied to a fill, discount included.
    #[must_use]
    pub fn rate(&self, liquidity: Liquidity) -> Bps {
        let r = match liquidity {
            Liquidity::Maker => self.maker,
            Liquidity::Taker => self.taker,
        };
        if self.bnb_discount {
            r.times(3, 4)
        } else {
            r
        }
    }

    /// The commission on a fill of `steps` at `ticks`.
    #[must_use]
    pub fn commission(
        &self,
        filters: &SymbolFilters,
        side: Side,
        ticks: i64,
        steps: i64,
        liq: Liquidity,
    ) -> Commission {
        let (amount, scale, asset) = match side {
            Side::Buy => (i128::from(steps) * i128::from(filters.step_atoms), filters.qty_scale, FeeAsset::Base),
            Side::Sell => (filters.notional_atoms(ticks, steps), filters.notional_scale(), FeeAsset::Quote),
        };
        let (num, den) = self.rate(liq).fraction();
        let p = self.commission_precision;
        // fee = amount × 10^-scale × num/den, in units of 10^-p, rounded up.
        // Saturating: only absurd amounts (~1e28 and up) could overflow.
        let fee = div_ceil(amount.saturating_mul(num).saturating_mul(pow10(p)), den.saturating_mul(pow10(scale)));
        Commission { amount: fee, precision: p, asset }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fills::filters::tests::btcusdt;

    #[test]
    fn buy_taker_fee_in_base_asset() {
        // BUY 0.01 BTC at 64000, 0.1% taker: 0.01 × 0.001 = 0.00001 BTC.
        let c = FeeSchedule::default().commission(&btcusdt(), Side::Buy, 6_400_000, 1000, Liquidity::Taker);
        assert_eq!(c.asset, FeeAsset::Base);
        assert_eq!(c.to_dec().to_string(), "0.00001000");
    }

    #[test]
    fn sell_fee_in_quote_asset_with_bnb_discount() {
        // SELL 0.01 BTC at 64000 = 640 USDT; 0.1% → 0.64 USDT;
        // with BNB 0.075% → 0.48 USDT.
        let f = btcusdt();
        let plain = FeeSchedule::default().commission(&f, Side::Sell, 6_400_000, 1000, Liquidity::Maker);
        assert_eq!((plain.asset, plain.to_dec().to_string()), (FeeAsset::Quote, "0.64000000".to_owned()));
        let bnb = FeeSchedule { bnb_discount: true, ..FeeSchedule::default() };
        assert_eq!(
            bnb.commission(&f, Side::Sell, 6_400_000, 1000, Liquidity::Maker).to_dec().to_string(),
            "0.48000000"
        );
    }

    #[test]
    fn fee_rounds_up_to_the_commission_precision() {
        // BUY 0.00001 BTC (1 step) at 0.1%: 0.00000001 BTC exactly (1e-8).
        // At 0.075% (BNB): 0.0000000075 → rounded up to 0.00000001.
        let f = btcusdt();
        let s = FeeSchedule { bnb_discount: true, ..FeeSchedule::default() };
        assert_eq!(s.commission(&f, Side::Buy, 6_400_000, 1, Liquidity::Taker).amount, 1);
        // SELL 0.00003 BTC at 64000.01 = 1.9200003 USDT; × 0.001 = 0.0019200003
        // → 0.00192001 (8 decimals, up).
        let c = FeeSchedule::default().commission(&f, Side::Sell, 6_400_001, 3, Liquidity::Taker);
        assert_eq!(c.to_dec().to_string(), "0.00192001");
    }
}
