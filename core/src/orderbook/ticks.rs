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
#[inline]
pub fn parse_units(text: &str, field: Field) -> CoreResult<u64> {
    if let Some(v) = parse_fixed8(text.as_bytes()) {
        return Ok(v);
    }
    parse_units_general(text, field)
}

/// [`parse_units`] on bytes without an error message: Binance's fixed
/// format or a plain decimal, None for anything else (the caller falls back
/// to [`parse_units`] for the error).
#[inline]
pub fn parse_units_bytes(s: &[u8]) -> Option<u64> {
    parse_fixed8(s).or_else(|| parse_plain(s))
}

/// [`parse_units`] past the fixed-format fast path.
#[cold]
fn parse_units_general(text: &str, field: Field) -> CoreResult<u64> {
    if let Some(v) = parse_plain(text.as_bytes()) {
        return Ok(v);
    }
    parse_slow(text, field)
}

/// Binance's own format, the fastest path: 1 to 11 integer digits, a dot
/// and exactly 8 decimals (`"61837.63000000"`). The decimals are read as
/// one 8-byte word (SWAR: validated and combined with three
/// multiplications); no allocation, no float. None for anything else.
#[inline]
fn parse_fixed8(s: &[u8]) -> Option<u64> {
    let n = s.len();
    if !(10..=20).contains(&n) || s[n - 9] != b'.' {
        return None;
    }
    let (int_part, frac) = (&s[..n - 9], &s[n - 8..]);
    let frac = eight_digits(frac.try_into().ok()?)?;
    let mut int: u64 = 0;
    for &c in int_part {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        int = int * 10 + u64::from(d);
    }
    // 11 digits times 10^8 stays below 2^64
    Some(int * ONE + frac)
}

/// Eight ASCII digits, most significant first, as their value.
#[inline]
pub(crate) fn eight_digits(b: [u8; 8]) -> Option<u64> {
    const HI: u64 = 0xF0F0_F0F0_F0F0_F0F0;
    const ZEROS: u64 = 0x3030_3030_3030_3030;
    let v = u64::from_le_bytes(b);
    // every byte is 0x30..=0x39: high nibble 3, and still 3 after adding 6
    if v & HI != ZEROS || v.wrapping_add(0x0606_0606_0606_0606) & HI != ZEROS {
        return None;
    }
    let mut x = v - ZEROS;
    x = (x * 10 + (x >> 8)) & 0x00FF_00FF_00FF_00FF;
    x = (x * 100 + (x >> 16)) & 0x0000_FFFF_0000_FFFF;
    Some((x * 10_000 + (x >> 32)) & 0xFFFF_FFFF)
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
    fn the_fixed_format_path_agrees_with_the_general_one() {
        for s in [
            "61837.63000000",
            "0.00105000",
            "0.00000001",
            "99999999999.99999999",
            "200000.00000000",
            "1.23456789",
            "00001.10000000",
        ] {
            assert_eq!(parse_fixed8(s.as_bytes()), parse_plain(s.as_bytes()), "{s}");
            assert!(parse_fixed8(s.as_bytes()).is_some(), "{s}");
        }
        // not the fixed format: the general path decides
        for s in [
            "1.2345678",
            "123456789012.00000000",
            "1.2345678a",
            "1.23456789 ",
            ".12345678x",
            "1:23456789",
            "1/23456789",
        ] {
            assert_eq!(parse_fixed8(s.as_bytes()), None, "{s}");
        }
        assert_eq!(parse_units("123456789012.00000000", Field::Price).unwrap(), 12_345_678_901_200_000_000);
        assert!(parse_units("1.2345678a", Field::Price).is_err());
        assert!(parse_units("-1.00000000", Field::Price).is_err());
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
