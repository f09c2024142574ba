//! Pivot points of one period from its high, low and close.
//!
//! The standard (published) formulas, with `H`, `L`, `C` the period's high,
//! low and close and `R = H - L` its range:
//!
//! | method | P | R1 / S1 | R2 / S2 | R3 / S3 | R4 / S4 |
//! |---|---|---|---|---|---|
//! | classic (floor) | `(H+L+C)/3` | `2P-L` / `2P-H` | `P+R` / `P-R` | `H+2(P-L)` / `L-2(H-P)` | - |
//! | fibonacci | `(H+L+C)/3` | `P±0.382R` | `P±0.618R` | `P±1.000R` | - |
//! | camarilla | `(H+L+C)/3` | `C±1.1R/12` | `C±1.1R/6` | `C±1.1R/4` | `C±1.1R/2` |
//! | woodie | `(H+L+2C)/4` | `2P-L` / `2P-H` | `P+R` / `P-R` | `H+2(P-L)` / `L-2(H-P)` | - |
//!
//! Row `i` of the batch form is computed from row `i`'s candle alone: to get
//! today's pivots the caller passes yesterday's candle (no shift here).
use std::str::FromStr;

use super::input::check_bars;
use crate::error::{CoreError, CoreResult};

/// Which pivot formula.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PivotMethod {
    /// Floor-trader pivots.
    Classic,
    /// Classic `P`, levels at Fibonacci fractions of the range.
    Fibonacci,
    /// Levels around the close at `1.1/12`, `/6`, `/4`, `/2` of the range.
    Camarilla,
    /// Classic formulas on a close-weighted pivot `(H+L+2C)/4`.
    Woodie,
}

const NAMES_3: &[&str] = &["P", "R1", "R2", "R3", "S1", "S2", "S3"];
const NAMES_4: &[&str] = &["P", "R1", "R2", "R3", "R4", "S1", "S2", "S3", "S4"];
/// Where each name of `NAMES_3` / `NAMES_4` sits in [`PivotLevels::all`].
const SLOTS_3: &[usize] = &[0, 1, 2, 3, 5, 6, 7];
const SLOTS_4: &[usize] = &[0, 1, 2, 3, 4, 5, 6, 7, 8];

impl PivotMethod {
    /// Every method, in documentation order.
    pub const ALL: [Self; 4] = [Self::Classic, Self::Fibonacci, Self::Camarilla, Self::Woodie];

    /// The method's name as the Python API spells it.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Classic => "classic",
            Self::Fibonacci => "fibonacci",
            Self::Camarilla => "camarilla",
            Self::Woodie => "woodie",
        }
    }

    /// The level names this method produces, in column order.
    #[must_use]
    pub fn level_names(self) -> &'static [&'static str] {
        if self == Self::Camarilla {
            NAMES_4
        } else {
            NAMES_3
        }
    }

    fn slots(self) -> &'static [usize] {
        if self == Self::Camarilla {
            SLOTS_4
        } else {
            SLOTS_3
        }
    }
}

impl FromStr for PivotMethod {
    type Err = CoreError;

    fn from_str(s: &str) -> CoreResult<Self> {
        Self::ALL.into_iter().find(|m| m.name() == s).ok_or_else(|| {
            CoreError::param(
                "method",
                format!("unknown pivot method {s:?}: use classic, fibonacci, camarilla or woodie"),
            )
        })
    }
}

/// The levels of one period. `r4` and `s4` are NaN except for camarilla.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PivotLevels {
    pub p: f64,
    pub r1: f64,
    pub r2: f64,
    pub r3: f64,
    pub r4: f64,
    pub s1: f64,
    pub s2: f64,
    pub s3: f64,
    pub s4: f64,
}

impl PivotLevels {
    /// The level called `name` (`"P"`, `"R1"`, ... `"S4"`).
    #[must_use]
    pub fn get(&self, name: &str) -> Option<f64> {
        Some(match name {
            "P" => self.p,
            "R1" => self.r1,
            "R2" => self.r2,
            "R3" => self.r3,
            "R4" => self.r4,
            "S1" => self.s1,
            "S2" => self.s2,
            "S3" => self.s3,
            "S4" => self.s4,
            _ => return None,
        })
    }

    /// All nine levels: `P`, `R1`..`R4`, `S1`..`S4`.
    #[must_use]
    pub fn all(&self) -> [f64; 9] {
        [self.p, self.r1, self.r2, self.r3, self.r4, self.s1, self.s2, self.s3, self.s4]
    }

    /// The method's levels as `(name, price)` pairs, in column order.
    pub fn named(&self, method: PivotMethod) -> impl Iterator<Item = (&'static str, f64)> + '_ {
        method.level_names().iter().map(|&n| (n, self.get(n).unwrap_or(f64::NAN)))
    }
}

/// The pivot levels of one period (no input checks: see [`pivots`]).
#[must_use]
pub fn pivot_levels(method: PivotMethod, high: f64, low: f64, close: f64) -> PivotLevels {
    let range = high - low;
    let floor = |p: f64| PivotLevels {
        p,
        r1: 2.0 * p - low,
        r2: p + range,
        r3: high + 2.0 * (p - low),
        r4: f64::NAN,
        s1: 2.0 * p - high,
        s2: p - range,
        s3: low - 2.0 * (high - p),
        s4: f64::NAN,
    };
    let typical = (high + low + close) / 3.0;
    match method {
        PivotMethod::Classic => floor(typical),
        PivotMethod::Woodie => floor((high + low + 2.0 * close) / 4.0),
        PivotMethod::Fibonacci => PivotLevels {
            p: typical,
            r1: typical + 0.382 * range,
            r2: typical + 0.618 * range,
            r3: typical + range,
            r4: f64::NAN,
            s1: typical - 0.382 * range,
            s2: typical - 0.618 * range,
            s3: typical - range,
            s4: f64::NAN,
        },
        PivotMethod::Camarilla => {
            let k = 1.1 * range;
            PivotLevels {
                p: typical,
                r1: close + k / 12.0,
                r2: close + k / 6.0,
                r3: close + k / 4.0,
                r4: close + k / 2.0,
                s1: close - k / 12.0,
                s2: close - k / 6.0,
                s3: close - k / 4.0,
                s4: close - k / 2.0,
            }
        }
    }
}

/// Batch pivots: one column per name of [`PivotMethod::level_names`], row
/// `i` from candle `i`.
///
/// # Errors
/// [`CoreError::InvalidInput`] if the lengths differ, a price is not finite
/// or a high is below its low.
pub fn pivots(method: PivotMethod, high: &[f64], low: &[f64], close: &[f64]) -> CoreResult<Vec<Vec<f64>>> {
    let mut cols: Vec<Vec<f64>> = method.level_names().iter().map(|_| vec![0.0; high.len()]).collect();
    let mut out: Vec<&mut [f64]> = cols.iter_mut().map(Vec::as_mut_slice).collect();
    pivots_into(method, high, low, close, &mut out)?;
    Ok(cols)
}

/// [`pivots`] into caller-provided columns, one per level name, each as
/// long as the input.
///
/// # Errors
/// As [`pivots`]; also [`CoreError::InvalidInput`] if `out` has the wrong
/// shape.
pub fn pivots_into(
    method: PivotMethod,
    high: &[f64],
    low: &[f64],
    close: &[f64],
    out: &mut [&mut [f64]],
) -> CoreResult<()> {
    let n = check_bars(high, low, Some(close))?;
    let slots = method.slots();
    if out.len() != slots.len() || out.iter().any(|c| c.len() != n) {
        return Err(CoreError::InvalidInput(format!(
            "{} pivots need {} output columns of {n} rows",
            method.name(),
            slots.len()
        )));
    }
    for i in 0..n {
        let all = pivot_levels(method, high[i], low[i], close[i]).all();
        for (col, &k) in out.iter_mut().zip(slots) {
            col[i] = all[k];
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close_to(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    fn check(method: PivotMethod, expected: &[(&str, f64)]) {
        // H 120, L 90, C 111: range 30, typical price 107.
        let lv = pivot_levels(method, 120.0, 90.0, 111.0);
        let got: Vec<_> = lv.named(method).collect();
        assert_eq!(got.len(), expected.len(), "{method:?}");
        for ((gn, gv), (en, ev)) in got.iter().zip(expected) {
            assert_eq!(gn, en);
            assert!(close_to(*gv, *ev), "{method:?} {en}: {gv} != {ev}");
        }
    }

    #[test]
    fn classic_pivots_match_hand_worked_values() {
        let e = [("P", 107.0), ("R1", 124.0), ("R2", 137.0), ("R3", 154.0), ("S1", 94.0), ("S2", 77.0), ("S3", 64.0)];
        check(PivotMethod::Classic, &e);
    }

    #[test]
    fn fibonacci_pivots_match_hand_worked_values() {
        let e =
            [("P", 107.0), ("R1", 118.46), ("R2", 125.54), ("R3", 137.0), ("S1", 95.54), ("S2", 88.46), ("S3", 77.0)];
        check(PivotMethod::Fibonacci, &e);
    }

    #[test]
    fn camarilla_pivots_match_hand_worked_values() {
        let e = [
            ("P", 107.0),
            ("R1", 113.75),
            ("R2", 116.5),
            ("R3", 119.25),
            ("R4", 127.5),
            ("S1", 108.25),
            ("S2", 105.5),
            ("S3", 102.75),
            ("S4", 94.5),
        ];
        check(PivotMethod::Camarilla, &e);
    }

    #[test]
    fn woodie_pivots_match_hand_worked_values() {
        let e = [("P", 108.0), ("R1", 126.0), ("R2", 138.0), ("R3", 156.0), ("S1", 96.0), ("S2", 78.0), ("S3", 66.0)];
        check(PivotMethod::Woodie, &e);
    }

    #[test]
    fn batch_rows_use_their_own_candle() {
        let cols = pivots(PivotMethod::Classic, &[120.0, 12.0], &[90.0, 9.0], &[111.0, 12.0]).unwrap();
        assert_eq!(cols.len(), 7);
        assert!(close_to(cols[0][0], 107.0) && close_to(cols[0][1], 11.0));
    }

    #[test]
    fn unknown_method_and_bad_candles_are_refused() {
        let err = "floor".parse::<PivotMethod>().unwrap_err().to_string();
        assert!(err.contains("unknown pivot method \"floor\""), "{err}");
        assert_eq!("woodie".parse::<PivotMethod>(), Ok(PivotMethod::Woodie));
        assert!(pivots(PivotMethod::Classic, &[1.0], &[2.0], &[1.5]).is_err());
        assert!(pivots(PivotMethod::Classic, &[1.0], &[0.5], &[]).is_err());
        let mut short = [0.0; 1];
        let err = pivots_into(PivotMethod::Camarilla, &[1.0], &[0.5], &[0.7], &mut [&mut short]).unwrap_err();
        assert!(err.to_string().contains("camarilla pivots need 9 output columns of 1 rows"), "{err}");
    }
}
