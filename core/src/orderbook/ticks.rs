//! Exact fixed-point prices and quantities: integer units of 10⁻⁸.
//!
//! Binance sends every price and quantity of the depth stream and of the
//! REST snapshot as a decimal string with at most 8 decimals
//! (`"61837.63000000"`, `"0.00105000"`). They are parsed here into an
//! integer count of 10⁻⁸ units, so the book is keyed by exact integers (no
//! float keys, no rounding). The exchange's `tickSize` and `stepSize` are
//! multiples of this unit, so every real price is an exact number of units.
//!
//! Converting back, [`to_f64`] returns the double nearest to the decimal
//! string (what `float("61837.63")` returns).
use crate::error::{CoreError, CoreResult};
use crate::fills::decimal::Dec;

/// Decimals of one unit: prices and quantities are integers of 10⁻⁸.
pub const SCALE: u32 = 8;
/// `10^SCALE`.
pub const ONE: u64 = 100_000_000;
/// Largest integer a double holds exactly (2⁵³).
const EXACT_F64: u64 = 1 << 53;

/// What is being parsed, for the error message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Price,
    Quantity,
}

impl Field {
    const fn name(self) -> &'static str {
        match self {
            Self::Price => "price",
            Self::Quantity => "quantity",
        }
    }
}

/// Parses a non-negative decimal string into units of 10⁻⁸, exactly.
///
/// Plain decimals (`"61837.63000000"`, `"0.001"`, `"5"`) take a fast path;
/// exponent forms (`"1E-8"`, what `str(Decimal)` can produce) are accepted
/// too. Digits beyond the 8th decimal must be zeros.
///
/// # Errors
/// [`CoreError::InvalidInput`] naming the field and the text when it is not
/// a decimal number, is negative, has a non-zero digit past the 8th decimal
/// or exceeds the range of the units (about 1.8 × 10¹¹).
pub fn parse_units(text: &str, field: Field) -> CoreResult<u64> {
    if let Some(v) = parse_plain(text.as_bytes()) {
        return Ok(v);
    }
    parse_slow(text, field)
}

/// The fast path: `digits[.digits]`, at most 8 significant decimals.
fn parse_plain(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 40 {
        return None;
    }
    let mut int: u64 = 0;
    let mut i = 0;
    while i < s.len() && s[i].is_ascii_digit() {
        int = int.checked_mul(10)?.checked_add(u64::from(s[i] - b'0'))?;
        i += 1;
    }
    let int_digits = i;
    let mut frac: u64 = 0;
    let mut frac_digits: u32 = 0;
    if i < s.len() {
        if s[i] != b'.' {
            return None;
        }
        i += 1;
        while i < s.len() {
            let c = s[i];
            if !c.is_ascii_digit() {
                return None;
            }
            if frac_digits < SCALE {
                frac = frac * 10 + u64::from(c - b'0');
                frac_digits += 1;
            } else if c != b'0' {
                return None;
            }
            i += 1;
        }
        if int_digits == 0 && frac_digits == 0 {
            return None;
        }
    } else if int_digits == 0 {
        return None;
    }
    frac *= 10u64.pow(SCALE - frac_digits);
    int.checked_mul(ONE)?.checked_add(frac)
}

fn parse_slow(text: &str, field: Field) -> CoreResult<u64> {
    let name = field.name();
    let d =
        Dec::parse(text).map_err(|_| CoreError::InvalidInput(format!("{name} {text:?} is not a decimal number")))?;
    if d.units < 0 {
        return Err(CoreError::InvalidInput(format!("{name} {text:?} is negative")));
    }
    let units = d.units_at(SCALE).ok_or_else(|| {
        CoreError::InvalidInput(format!("{name} {text:?} has more than {SCALE} decimals or is too large"))
    })?;
    u64::try_from(units).map_err(|_| CoreError::InvalidInput(format!("{name} {text:?} is too large")))
}

/// The double nearest to `units × 10⁻⁸` (correctly rounded).
///
/// Below 2⁵³ both `units` and 10⁸ are exact doubles and IEEE division rounds
/// the exact quotient once; above, the decimal text is parsed by the
/// standard library (also correctly rounded).
#[must_use]
pub fn to_f64(units: u64) -> f64 {
    if units <= EXACT_F64 {
        units as f64 / ONE as f64
    } else {
        format_units(units).parse().unwrap_or(f64::NAN)
    }
}

/// A signed count of units as a double (the same rounding as [`to_f64`]).
#[must_use]
pub fn signed_to_f64(units: i128) -> f64 {
    let mag = to_f64_u128(units.unsigned_abs());
    if units < 0 {
        -mag
    } else {
        mag
    }
}

/// An unsigned 128-bit count of units as a double.
#[must_use]
pub fn to_f64_u128(units: u128) -> f64 {
    match u64::try_from(units) {
        Ok(u) => to_f64(u),
        Err(_) => format!("{}.{:08}", units / u128::from(ONE), units % u128::from(ONE)).parse().unwrap_or(f64::NAN),
    }
}

/// `units × 10⁻⁸` as decimal text with 8 decimals (Binance's format).
#[must_use]
pub fn format_units(units: u64) -> String {
    format!("{}.{:08}", units / ONE, units % ONE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_decimals_parse_exactly() {
        assert_eq!(parse_units("61837.63000000", Field::Price).unwrap(), 6_183_763_000_000);
        assert_eq!(parse_units("0.00105000", Field::Quantity).unwrap(), 105_000);
        assert_eq!(parse_units("5", Field::Price).unwrap(), 500_000_000);
        assert_eq!(parse_units(".5", Field::Price).unwrap(), 50_000_000);
        assert_eq!(parse_units("5.", Field::Price).unwrap(), 500_000_000);
        assert_eq!(parse_units("0.00000000", Field::Quantity).unwrap(), 0);
        assert_eq!(parse_units("1.1234567800000", Field::Price).unwrap(), 112_345_678);
    }

    #[test]
    fn exponent_forms_take_the_slow_path() {
        assert_eq!(parse_units("1E-8", Field::Quantity).unwrap(), 1);
        assert_eq!(parse_units("1.5e+3", Field::Price).unwrap(), 150_000_000_000);
    }

    #[test]
    fn bad_text_is_refused_with_the_field_name() {
        for bad in ["", ".", "abc", "1.2.3", "1,5", "0.000000001", "-1", "nan", "1e400"] {
            let e = parse_units(bad, Field::Quantity).unwrap_err().to_string();
            assert!(e.contains("quantity"), "{bad}: {e}");
        }
        assert!(parse_units("-0.5", Field::Quantity).unwrap_err().to_string().contains("negative"));
        assert!(parse_units("999999999999999", Field::Price).is_err());
    }

    #[test]
    fn floats_out_are_the_nearest_double() {
        for s in ["61837.63", "0.1", "0.00105", "123456.78901234", "0.00000001", "184467440737.09551615"] {
            let u = parse_units(s, Field::Price).unwrap();
            assert_eq!(to_f64(u), s.parse::<f64>().unwrap(), "{s}");
        }
        assert_eq!(signed_to_f64(-10_000_000), -0.1);
        assert_eq!(format_units(6_183_763_000_000), "61837.63000000");
    }
}
