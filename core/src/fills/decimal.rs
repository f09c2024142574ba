//! `Dec`: an exact decimal (`units × 10^-scale`) for the exchange boundary.
//!
//! Binance sends every price, quantity and filter as a decimal string
//! (`"0.01000000"`); Python hands us `decimal.Decimal`. Both are parsed here
//! into an integer mantissa and a scale, and never pass through f64.
use std::cmp::Ordering;
use std::fmt;

use crate::error::{CoreError, CoreResult};

/// Largest scale accepted (10^30 still fits an i128 with room for products).
pub const MAX_SCALE: u32 = 30;

/// An exact decimal number: `units / 10^scale`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Dec {
    pub units: i128,
    pub scale: u32,
}

/// `10^n` as i128, saturating at `i128::MAX` past 10^38 (callers use
/// checked or saturating products, so an absurd scale cannot panic).
#[must_use]
pub const fn pow10(n: u32) -> i128 {
    match 10i128.checked_pow(n) {
        Some(v) => v,
        None => i128::MAX,
    }
}

/// Floor division for i128 with a positive divisor.
#[must_use]
pub const fn div_floor(a: i128, b: i128) -> i128 {
    a.div_euclid(b)
}

/// Ceiling division for i128 with a positive divisor.
#[must_use]
pub const fn div_ceil(a: i128, b: i128) -> i128 {
    -(-a).div_euclid(b)
}

impl Dec {
    pub const ZERO: Dec = Dec { units: 0, scale: 0 };

    #[must_use]
    pub const fn new(units: i128, scale: u32) -> Self {
        Self { units, scale }
    }

    /// Parses `"123"`, `"-0.0100"`, `"1E-8"`, `"1.5e+3"` (what `str(Decimal)`
    /// and Binance produce). Trailing zeros are dropped from the scale.
    ///
    /// # Errors
    /// [`CoreError::InvalidInput`] for anything that is not a finite decimal
    /// or that needs more than [`MAX_SCALE`] decimals.
    pub fn parse(text: &str) -> CoreResult<Self> {
        let bad = || CoreError::InvalidInput(format!("not a decimal number: {text:?}"));
        let s = text.trim();
        let (neg, s) = match s.as_bytes().first() {
            Some(b'-') => (true, &s[1..]),
            Some(b'+') => (false, &s[1..]),
            _ => (false, s),
        };
        let (mantissa, exp) = match s.find(['e', 'E']) {
            Some(i) => (&s[..i], s[i + 1..].parse::<i32>().map_err(|_| bad())?),
            None => (s, 0),
        };
        let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        if int_part.is_empty() && frac_part.is_empty() {
            return Err(bad());
        }
        let mut units: i128 = 0;
        for c in int_part.bytes().chain(frac_part.bytes()) {
            if !c.is_ascii_digit() {
                return Err(bad());
            }
            units = units.checked_mul(10).and_then(|u| u.checked_add(i128::from(c - b'0'))).ok_or_else(bad)?;
        }
        let mut scale = i64::try_from(frac_part.len()).map_err(|_| bad())? - i64::from(exp);
        while scale < 0 {
            units = units.checked_mul(10).ok_or_else(bad)?;
            scale += 1;
        }
        let mut d = Dec { units: if neg { -units } else { units }, scale: u32::try_from(scale).map_err(|_| bad())? };
        d = d.normalized();
        if d.scale > MAX_SCALE {
            return Err(CoreError::InvalidInput(format!("{text:?} has more than {MAX_SCALE} decimals")));
        }
        Ok(d)
    }

    /// The same number with trailing zeros removed from the scale.
    #[must_use]
    pub fn normalized(mut self) -> Self {
        if self.units == 0 {
            return Self::ZERO;
        }
        while self.scale > 0 && self.units % 10 == 0 {
            self.units /= 10;
            self.scale -= 1;
        }
        self
    }

    /// The mantissa at a larger-or-equal scale, exactly; None if `scale` is
    /// smaller than needed (the value has more decimals) or it overflows.
    #[must_use]
    pub fn units_at(self, scale: u32) -> Option<i128> {
        let n = self.normalized();
        if scale < n.scale {
            return None;
        }
        n.units.checked_mul(pow10(scale - n.scale))
    }

    #[must_use]
    pub fn is_positive(self) -> bool {
        self.units > 0
    }

    #[must_use]
    pub fn is_negative(self) -> bool {
        self.units < 0
    }
}

impl PartialOrd for Dec {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Dec {
    fn cmp(&self, other: &Self) -> Ordering {
        let s = self.scale.max(other.scale);
        // Values compared at a common scale; saturate on (absurd) overflow.
        let a = self.units.saturating_mul(pow10(s - self.scale));
        let b = other.units.saturating_mul(pow10(s - other.scale));
        a.cmp(&b)
    }
}

impl fmt::Display for Dec {
    /// Plain notation, no exponent: `0.00001`, `-12.5`, `64000`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.units < 0 { "-" } else { "" };
        let digits = self.units.unsigned_abs().to_string();
        let scale = self.scale as usize;
        if scale == 0 {
            return write!(f, "{sign}{digits}");
        }
        let padded =
            if digits.len() <= scale { format!("{}{digits}", "0".repeat(scale + 1 - digits.len())) } else { digits };
        let (int, frac) = padded.split_at(padded.len() - scale);
        write!(f, "{sign}{int}.{frac}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_binance_and_python_spellings() {
        assert_eq!(Dec::parse("0.01000000").unwrap(), Dec::new(1, 2));
        assert_eq!(Dec::parse("64000").unwrap(), Dec::new(64000, 0));
        assert_eq!(Dec::parse("1E-8").unwrap(), Dec::new(1, 8));
        assert_eq!(Dec::parse("1.5e+3").unwrap(), Dec::new(1500, 0));
        assert_eq!(Dec::parse("-0.50").unwrap(), Dec::new(-5, 1));
        assert_eq!(Dec::parse(".5").unwrap(), Dec::new(5, 1));
        assert_eq!(Dec::parse("1E+1").unwrap(), Dec::new(10, 0));
        for bad in ["", "abc", "1.2.3", "NaN", "Infinity", "1e", "--1", "."] {
            assert!(Dec::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn display_is_plain_notation() {
        assert_eq!(Dec::new(1, 5).to_string(), "0.00001");
        assert_eq!(Dec::new(-125, 1).to_string(), "-12.5");
        assert_eq!(Dec::new(64000, 0).to_string(), "64000");
        assert_eq!(Dec::new(640_000_000, 4).to_string(), "64000.0000");
    }

    #[test]
    fn ordering_and_rescaling_are_exact() {
        assert!(Dec::parse("0.1").unwrap() < Dec::parse("0.10000001").unwrap());
        assert_eq!(Dec::parse("0.1").unwrap().cmp(&Dec::new(1000, 4)), Ordering::Equal);
        assert_eq!(Dec::new(5, 1).units_at(3), Some(500));
        assert_eq!(Dec::new(5, 3).units_at(2), None);
        assert_eq!(div_floor(-7, 2), -4);
        assert_eq!(div_ceil(7, 2), 4);
        assert_eq!(div_ceil(-7, 2), -3);
    }
}
