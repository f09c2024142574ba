//! Slippage: how far a taker fill moves against the order.
//!
//! - `Fixed(b)`: `fill = price × (1 ± b / 10_000)`.
//! - `VolumeShare { impact, cap }`: the move grows with the share of the
//!   bar's volume the order takes:
//!   `slip_bps = min(cap, impact × qty / volume)`, then
//!   `fill = price × (1 ± slip_bps / 10_000)`. `impact` is the move, in
//!   bps, of an order as large as the whole bar. With no volume known
//!   (a bare price point, or a zero-volume bar) the cap applies.
//!
//! `+` for a BUY, `-` for a SELL; the result is rounded to the tick AGAINST
//! the trader (BUY up, SELL down), so the simulation never flatters a fill.
use super::bps::Bps;
use super::decimal::{div_ceil, div_floor};
use crate::signals::Side;

/// The slippage model of taker fills.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Slippage {
    #[default]
    None,
    Fixed(Bps),
    VolumeShare {
        impact: Bps,
        cap: Bps,
    },
}

impl Slippage {
    /// The slipped price, in ticks, of a taker fill of `qty` steps at
    /// `ticks`, in a bar of `volume` steps (0: unknown).
    #[must_use]
    pub fn apply(&self, side: Side, ticks: i64, qty: i64, volume: i64) -> i64 {
        // slip as a fraction num/den of the price.
        let (num, den) = match *self {
            Self::None => return ticks,
            Self::Fixed(b) => b.fraction(),
            Self::VolumeShare { impact, cap } => {
                let (cn, cd) = cap.fraction();
                if volume <= 0 {
                    (cn, cd)
                } else {
                    let (inum, iden) = impact.fraction();
                    let (vn, vd) = (inum * i128::from(qty), iden * i128::from(volume));
                    // min(v, cap) compared by cross-multiplication
                    // (saturating: an absurd share is simply capped).
                    if vn.saturating_mul(cd) <= cn.saturating_mul(vd) {
                        (vn, vd)
                    } else {
                        (cn, cd)
                    }
                }
            }
        };
        // Reduce the fraction first so `p × (den ± num)` stays in range.
        let g = gcd(num, den).max(1);
        let (num, den) = (num / g, den / g);
        let p = i128::from(ticks);
        let moved = match side {
            Side::Buy => div_ceil(p.saturating_mul(den + num), den),
            Side::Sell => div_floor(p.saturating_mul(den - num), den).max(0),
        };
        i64::try_from(moved).unwrap_or(i64::MAX)
    }
}

fn gcd(mut a: i128, mut b: i128) -> i128 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a.abs()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_bps_on_known_numbers() {
        // 5 bps on 64000.00 (6_400_000 ticks): 64000 × 1.0005 = 64032.00,
        // 64000 × 0.9995 = 63968.00.
        let s = Slippage::Fixed(Bps::whole(5));
        assert_eq!(s.apply(Side::Buy, 6_400_000, 1, 0), 6_403_200);
        assert_eq!(s.apply(Side::Sell, 6_400_000, 1, 0), 6_396_800);
        // 3 bps on 100.01 = 100.040003 → BUY up to 100.05, SELL
        // 99.979997 → down to 99.97.
        let s = Slippage::Fixed(Bps::whole(3));
        assert_eq!(s.apply(Side::Buy, 10_001, 1, 0), 10_005);
        assert_eq!(s.apply(Side::Sell, 10_001, 1, 0), 9_997);
    }

    #[test]
    fn volume_share_on_known_numbers() {
        // impact 1000 bps for a whole bar, cap 50 bps.
        let s = Slippage::VolumeShare { impact: Bps::whole(1000), cap: Bps::whole(50) };
        // 0.5 of 100 BTC = 0.5% of the bar → 1000 × 0.005 = 5 bps:
        // 64000 × 1.0005 = 64032.00.
        assert_eq!(s.apply(Side::Buy, 6_400_000, 50_000, 10_000_000), 6_403_200);
        // 10 of 100 BTC = 10% → 100 bps, capped at 50: 64000 × 0.995 = 63680.
        assert_eq!(s.apply(Side::Sell, 6_400_000, 1_000_000, 10_000_000), 6_368_000);
        // Unknown volume: the cap, 64000 × 1.005 = 64320.
        assert_eq!(s.apply(Side::Buy, 6_400_000, 1, 0), 6_432_000);
    }
}
