//! Helpers shared by the indicators' unit tests.

/// Bitwise equal, any NaN matching any NaN.
pub(crate) fn same(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()))
}
