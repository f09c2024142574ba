//! Helpers shared by the indicators' unit tests.

/// Bitwise equal, any NaN matching any NaN.
pub(crate) fn same(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()))
}

/// A random walk of `n` prices on a grid of `tick` (steps of -1, 0 or +1
/// tick, no drift, so ties everywhere; never below one tick, so no zero),
/// from 100 and a fixed seed (a linear congruential generator).
pub(crate) fn walk(n: usize, seed: u64, tick: f64) -> Vec<f64> {
    let mut state = seed;
    let mut ticks = (100.0 / tick).round();
    (0..n)
        .map(|_| {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            let step = [-1.0, 0.0, 1.0, 0.0][usize::try_from(state >> 62).unwrap_or(1)];
            ticks = f64::max(ticks + step, 1.0);
            ticks * tick
        })
        .collect()
}
