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

/// Eight `'0'` bytes as a little-endian word.
pub(crate) const ZEROS: u64 = 0x3030_3030_3030_3030;

/// Binance's fixed format read in place, for the message scanner: `s[i..]`
/// starts right after an opening quote with 1 to 7 integer digits, a dot,
/// exactly 8 decimals and the closing quote (`61837.63000000"`). Returns
/// the units and the bytes taken (closing quote included); None for
/// anything else, which the caller parses the general way.
#[inline]
pub(crate) fn quoted_fixed8(s: &[u8], i: usize) -> Option<(u64, usize)> {
    let (int, frac, n) = fixed8_words(s, i)?;
    if digits_bad(int) | digits_bad(frac) != 0 {
        return None;
    }
    Some((fixed8_value(int, frac), n))
}

/// The layout half of [`quoted_fixed8`], the digits not yet checked: the
/// integer digits as an 8-digit word (padded with `'0'` in front), the 8
/// decimals as a word, and the bytes taken. The caller validates the words
/// with [`digits_bad`] (several at once: one branch) and combines them
/// with [`fixed8_value`].
///
/// Three loads and no loop: the dot is found in the first 8-byte word (a
/// SWAR zero-byte search on `word ^ "........"`) and the integer digits are
/// shifted to the top of that word with `'0'` bytes below them. A dot found
/// past the closing quote leaves a non-digit (the quote) in the integer
/// word, which validation refuses.
#[inline]
pub(crate) fn fixed8_words(s: &[u8], i: usize) -> Option<(u64, u64, usize)> {
    const DOTS: u64 = 0x2E2E_2E2E_2E2E_2E2E;
    const LOW: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let w = u64::from_le_bytes(s.get(i..i + 8)?.try_into().ok()?);
    let x = w ^ DOTS;
    // the lowest byte flagged is exactly the first '.' (false positives
    // only sit above a true one)
    let z = x.wrapping_sub(LOW) & !x & HIGH;
    let k = z.trailing_zeros() / 8; // integer digits; 8 when no dot
    if k == 0 || k >= 8 {
        return None;
    }
    let int = (w << (64 - 8 * k)) | (ZEROS >> (8 * k));
    let k = k as usize;
    let frac = u64::from_le_bytes(s.get(i + k + 1..i + k + 9)?.try_into().ok()?);
    if *s.get(i + k + 9)? != b'"' {
        return None;
    }
    Some((int, frac, k + 10))
}

/// Non-zero unless all 8 bytes of the word are ASCII digits: the high
/// nibble of every byte is 3, and still 3 after adding 6 (no byte above
/// `'9'`).
#[inline]
pub(crate) fn digits_bad(v: u64) -> u64 {
    const HI: u64 = 0xF0F0_F0F0_F0F0_F0F0;
    ((v & HI) ^ ZEROS) | ((v.wrapping_add(0x0606_0606_0606_0606) & HI) ^ ZEROS)
}

/// The units of a decimal from its two validated words (at most 7 integer
/// digits: far below 2^64 units). Wrapping arithmetic: words not yet
/// validated give a value to be thrown away, not a panic (the message
/// scanner converts a batch, then checks it).
#[inline]
pub(crate) fn fixed8_value(int: u64, frac: u64) -> u64 {
    digits_value(int).wrapping_mul(ONE).wrapping_add(digits_value(frac))
}

/// Eight ASCII digits, most significant first, as their value.
#[inline]
pub(crate) fn eight_digits(b: [u8; 8]) -> Option<u64> {
    let v = u64::from_le_bytes(b);
    (digits_bad(v) == 0).then(|| digits_value(v))
}

/// The value of a word of 8 validated ASCII digits (SWAR: three
/// multiplications; wrapping, as [`fixed8_value`]).
#[inline]
pub(crate) fn digits_value(v: u64) -> u64 {
    let mut x = v.wrapping_sub(ZEROS);
    x = x.wrapping_mul(10).wrapping_add(x >> 8) & 0x00FF_00FF_00FF_00FF;
    x = x.wrapping_mul(100).wrapping_add(x >> 16) & 0x0000_FFFF_0000_FFFF;
    x.wrapping_mul(10_000).wrapping_add(x >> 32) & 0xFFFF_FFFF
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
    fn the_in_place_reader_takes_exactly_the_fixed_format() {
        // (text after the opening quote, units) for the format it takes
        for (s, want) in [
            ("61837.63000000\"", 6_183_763_000_000),
            ("0.00105000\",", 105_000),
            ("1234567.99999999\"]", 123_456_799_999_999),
            ("0000001.00000000\"", ONE),
        ] {
            assert_eq!(quoted_fixed8(s.as_bytes(), 0), Some((want, s.find('"').unwrap() + 1)), "{s}");
        }
        for s in [
            "12345678.00000000\"", // 8 integer digits
            ".12345678\"",
            "1.1234567\"",
            "1.123456789\"",
            "1.1234567a\"",
            "a.12345678\"",
            "1.12345678",            // no closing quote
            "1.1234567\"8\"",        // a quote among the decimals
            "1E-8\",\"1.00000000\"", // a dot past the closing quote
            "1.00000000e2\"",
            "-1.00000000\"",
            "1.0000",
        ] {
            assert_eq!(quoted_fixed8(s.as_bytes(), 0), None, "{s}");
        }
    }

    proptest::proptest! {
        /// Whatever the bytes, a value read in place is the general parse of
        /// the text up to the closing quote.
        #[test]
        fn the_in_place_reader_agrees_with_parse_units(s in "[0-9.\"eE+ a-]{0,24}") {
            if let Some((v, n)) = quoted_fixed8(s.as_bytes(), 0) {
                proptest::prop_assert_eq!(s.as_bytes()[n - 1], b'"');
                proptest::prop_assert_eq!(parse_units(&s[..n - 1], Field::Price).ok(), Some(v));
            }
        }

        /// Every text of the fixed format is read in place.
        #[test]
        fn the_fixed_format_is_always_read_in_place(int in 0u64..10_000_000, frac in 0u64..ONE, pad in 0usize..7) {
            let digits = int.to_string();
            let s = format!("{}{digits}.{frac:08}\"]", "0".repeat(pad.min(7 - digits.len())));
            proptest::prop_assert_eq!(quoted_fixed8(s.as_bytes(), 0), Some((int * ONE + frac, s.len() - 1)));
        }
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
