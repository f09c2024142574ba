//! `Bps`: an exact rational number of basis points (1 bp = 0.01%).
use super::decimal::{pow10, Dec};
use crate::error::{CoreError, CoreResult};

/// `numer / denom` basis points; exact, so 7.5 bps is `75/10`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Bps {
    pub numer: u64,
    pub denom: u64,
}

impl Bps {
    pub const ZERO: Bps = Bps { numer: 0, denom: 1 };

    /// Whole basis points.
    #[must_use]
    pub const fn whole(bps: u64) -> Self {
        Self { numer: bps, denom: 1 }
    }

    /// From a decimal number of basis points (`"7.5"`).
    ///
    /// # Errors
    /// [`CoreError::InvalidParameter`] if negative or too precise.
    pub fn from_dec(name: &str, d: Dec) -> CoreResult<Self> {
        let d = d.normalized();
        if d.is_negative() {
            return Err(CoreError::param(name, format!("must be >= 0 bps, got {d}")));
        }
        let numer = u64::try_from(d.units).map_err(|_| CoreError::param(name, "too large"))?;
        let denom = u64::try_from(pow10(d.scale)).map_err(|_| CoreError::param(name, "too many decimals"))?;
        Ok(Self { numer, denom })
    }

    /// From a percent (`"1"` = 100 bps).
    ///
    /// # Errors
    /// As [`Self::from_dec`].
    pub fn from_percent(name: &str, d: Dec) -> CoreResult<Self> {
        let mut b = Self::from_dec(name, d)?;
        b.numer = b.numer.checked_mul(100).ok_or_else(|| CoreError::param(name, "too large"))?;
        Ok(b)
    }

    /// This rate times `num / den` (e.g. the BNB discount, ×3/4).
    #[must_use]
    pub const fn times(self, num: u64, den: u64) -> Self {
        Self { numer: self.numer.saturating_mul(num), denom: self.denom.saturating_mul(den) }
    }

    /// Whether the rate is at most `bps` basis points.
    #[must_use]
    pub fn at_most(self, bps: u64) -> bool {
        u128::from(self.numer) <= u128::from(bps) * u128::from(self.denom)
    }

    /// The rate as a fraction of one: `numer / (denom × 10_000)`, as i128
    /// numerator and denominator.
    #[must_use]
    pub fn fraction(self) -> (i128, i128) {
        (i128::from(self.numer), i128::from(self.denom.max(1)) * 10_000)
    }

    /// The value in bps as an exact decimal when the denominator is a power
    /// of ten, else rounded to 12 decimals.
    #[must_use]
    pub fn to_dec(self) -> Dec {
        let scale = 12;
        Dec::new(i128::from(self.numer) * pow10(scale) / i128::from(self.denom.max(1)), scale).normalized()
    }

    #[must_use]
    pub fn is_zero(self) -> bool {
        self.numer == 0
    }
}
