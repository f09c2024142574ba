//! Confluence: prices where several kinds of level meet.
//!
//! The levels (support/resistance zone centers, pivot levels, Fibonacci
//! levels, each with a strength) are sorted by price and swept upwards: a
//! cluster starts at its lowest level (the anchor) and takes every next
//! level within `tol` of the anchor (`tolerance% * anchor` or an absolute
//! distance), so no cluster spans more than `tol`. A cluster is a
//! confluence zone when it holds at least `min_kinds` distinct kinds.
//!
//! **Score** = (number of distinct kinds) x (sum of the members'
//! strengths), where a zone's strength is its touch count and a pivot or
//! Fibonacci level's is 1 (as the Python face passes them). Diversity
//! multiplies: a 3-touch zone with a pivot and a Fibonacci level scores
//! 3 x 5 = 15, two pivots with one Fibonacci level 2 x 3 = 6.
//!
//! Zones come out by score, highest first (ties: lower price first); a
//! zone's `price` is the mean of its members' prices.
use std::str::FromStr;

use super::input::check_tolerance;
use crate::error::{CoreError, CoreResult};

/// The kind of a level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LevelKind {
    /// A support/resistance zone.
    Zone,
    /// A pivot point level.
    Pivot,
    /// A Fibonacci retracement or extension.
    Fibonacci,
}

impl LevelKind {
    /// The kind's name as the Python API spells it.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Zone => "zone",
            Self::Pivot => "pivot",
            Self::Fibonacci => "fibonacci",
        }
    }
}

impl FromStr for LevelKind {
    type Err = CoreError;

    fn from_str(s: &str) -> CoreResult<Self> {
        match s {
            "zone" => Ok(Self::Zone),
            "pivot" => Ok(Self::Pivot),
            "fibonacci" => Ok(Self::Fibonacci),
            _ => Err(CoreError::param("kind", format!("unknown level kind {s:?}: use zone, pivot or fibonacci"))),
        }
    }
}

/// One input level.
#[derive(Debug, Clone, PartialEq)]
pub struct Level {
    pub kind: LevelKind,
    /// What it is, for the reader (`"pivot S1"`, `"fib 0.618"`, ...).
    pub label: String,
    pub price: f64,
    /// Its weight in the score (> 0).
    pub strength: f64,
}

/// How close levels must be to meet.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PriceTolerance {
    /// A percentage of the cluster's lowest price (`0.5` is 0.5 %).
    Percent(f64),
    /// A distance in price units.
    Absolute(f64),
}

impl PriceTolerance {
    /// Parses `mode` (`"percent"` or `"absolute"`) with its `value`.
    ///
    /// # Errors
    /// [`CoreError::InvalidParameter`] for an unknown mode or a negative or
    /// non-finite value.
    pub fn parse(mode: &str, value: f64) -> CoreResult<Self> {
        let value = check_tolerance("tolerance", value)?;
        match mode {
            "percent" => Ok(Self::Percent(value)),
            "absolute" => Ok(Self::Absolute(value)),
            _ => Err(CoreError::param(
                "mode",
                format!("unknown tolerance mode {mode:?}: use \"percent\" or \"absolute\""),
            )),
        }
    }

    fn at(self, anchor: f64) -> f64 {
        match self {
            Self::Percent(p) => p / 100.0 * anchor.abs(),
            Self::Absolute(d) => d,
        }
    }
}

/// One confluence zone.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfluenceZone {
    /// The mean price of the members.
    pub price: f64,
    /// The lowest member price.
    pub low: f64,
    /// The highest member price.
    pub high: f64,
    /// Distinct kinds x sum of strengths.
    pub score: f64,
    /// The distinct kinds present, in [`LevelKind`] order.
    pub kinds: Vec<LevelKind>,
    /// The members, ascending in price.
    pub members: Vec<Level>,
}

fn zone_of(members: Vec<Level>) -> ConfluenceZone {
    let mut kinds: Vec<LevelKind> = members.iter().map(|l| l.kind).collect();
    kinds.sort_unstable();
    kinds.dedup();
    let strength: f64 = members.iter().map(|l| l.strength).sum();
    let price = members.iter().map(|l| l.price).sum::<f64>() / members.len() as f64;
    ConfluenceZone {
        price,
        low: members.first().map_or(f64::NAN, |l| l.price),
        high: members.last().map_or(f64::NAN, |l| l.price),
        score: kinds.len() as f64 * strength,
        kinds,
        members,
    }
}

/// The confluence zones of `levels` (see the module docs).
///
/// # Errors
/// [`CoreError::InvalidInput`] for a non-finite price or a strength that is
/// not a finite number > 0; [`CoreError::InvalidParameter`] if `min_kinds`
/// is not 1, 2 or 3.
pub fn confluence(levels: &[Level], tol: PriceTolerance, min_kinds: usize) -> CoreResult<Vec<ConfluenceZone>> {
    if !(1..=3).contains(&min_kinds) {
        return Err(CoreError::param("min_kinds", format!("must be 1, 2 or 3, got {min_kinds}")));
    }
    for l in levels {
        if !l.price.is_finite() {
            return Err(CoreError::InvalidInput(format!("level {:?} has a non-finite price: {}", l.label, l.price)));
        }
        if !(l.strength.is_finite() && l.strength > 0.0) {
            return Err(CoreError::InvalidInput(format!(
                "level {:?} needs a strength > 0, got {}",
                l.label, l.strength
            )));
        }
    }
    let mut sorted = levels.to_vec();
    sorted.sort_by(|a, b| a.price.total_cmp(&b.price)); // stable: equal prices keep the input order
    let mut out = Vec::new();
    let mut current: Vec<Level> = Vec::new();
    for l in sorted {
        if let Some(anchor) = current.first() {
            if l.price - anchor.price > tol.at(anchor.price) {
                out.push(zone_of(std::mem::take(&mut current)));
            }
        }
        current.push(l);
    }
    if !current.is_empty() {
        out.push(zone_of(current));
    }
    out.retain(|z| z.kinds.len() >= min_kinds);
    out.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.price.total_cmp(&b.price)));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lv(kind: LevelKind, label: &str, price: f64, strength: f64) -> Level {
        Level { kind, label: label.to_owned(), price, strength }
    }

    fn sample() -> Vec<Level> {
        use LevelKind::{Fibonacci, Pivot, Zone};
        vec![
            lv(Pivot, "pivot R1", 120.0, 1.0),
            lv(Zone, "zone", 100.0, 3.0),
            lv(Fibonacci, "fib 0.5", 105.3, 1.0),
            lv(Pivot, "pivot S1", 100.4, 1.0),
            lv(Zone, "zone", 110.0, 2.0),
            lv(Fibonacci, "fib 0.618", 100.7, 1.0),
            lv(Pivot, "pivot P", 105.0, 1.0),
        ]
    }

    #[test]
    fn clusters_are_scored_by_kinds_times_strength() {
        // 1 % of 100 = 1: 100, 100.4, 100.7 meet; 105 starts a new cluster
        // (1.05): 105, 105.3; 110 and 120 stand alone
        let z = confluence(&sample(), PriceTolerance::Percent(1.0), 2).unwrap();
        assert_eq!(z.len(), 2);
        assert_eq!(z[0].kinds, vec![LevelKind::Zone, LevelKind::Pivot, LevelKind::Fibonacci]);
        assert_eq!(z[0].score, 15.0); // 3 kinds x (3 + 1 + 1)
        assert_eq!((z[0].low, z[0].high), (100.0, 100.7));
        assert!((z[0].price - 301.1 / 3.0).abs() < 1e-12);
        let labels: Vec<&str> = z[0].members.iter().map(|l| l.label.as_str()).collect();
        assert_eq!(labels, vec!["zone", "pivot S1", "fib 0.618"]);
        assert_eq!(z[1].score, 4.0); // 2 kinds x (1 + 1)
        assert_eq!((z[1].low, z[1].high), (105.0, 105.3));
    }

    #[test]
    fn min_kinds_filters_and_one_kind_alone_is_no_confluence() {
        assert_eq!(confluence(&sample(), PriceTolerance::Percent(1.0), 3).unwrap().len(), 1);
        let all = confluence(&sample(), PriceTolerance::Percent(1.0), 1).unwrap();
        let scores: Vec<f64> = all.iter().map(|z| z.score).collect();
        assert_eq!(scores, vec![15.0, 4.0, 2.0, 1.0]);
        let same = [lv(LevelKind::Pivot, "P", 100.0, 1.0), lv(LevelKind::Pivot, "S1", 100.1, 1.0)];
        assert!(confluence(&same, PriceTolerance::Absolute(1.0), 2).unwrap().is_empty());
    }

    #[test]
    fn the_anchor_bounds_a_cluster() {
        use LevelKind::{Fibonacci, Pivot, Zone};
        // 0.6 apart each, tolerance 1: 100 takes 100.6 but not 101.2
        let levels = [lv(Zone, "a", 100.0, 1.0), lv(Pivot, "b", 100.6, 1.0), lv(Fibonacci, "c", 101.2, 1.0)];
        let z = confluence(&levels, PriceTolerance::Absolute(1.0), 1).unwrap();
        let spans: Vec<(f64, f64)> = z.iter().map(|z| (z.low, z.high)).collect();
        assert_eq!(spans, vec![(100.0, 100.6), (101.2, 101.2)]);
    }

    #[test]
    fn bad_levels_and_parameters_are_refused() {
        let bad = [lv(LevelKind::Zone, "z", f64::NAN, 1.0)];
        assert!(confluence(&bad, PriceTolerance::Percent(1.0), 2).is_err());
        let bad = [lv(LevelKind::Zone, "z", 1.0, 0.0)];
        assert!(confluence(&bad, PriceTolerance::Percent(1.0), 2).is_err());
        assert!(confluence(&[], PriceTolerance::Percent(1.0), 0).is_err());
        assert!(confluence(&[], PriceTolerance::Percent(1.0), 4).is_err());
        assert!(PriceTolerance::parse("atr", 1.0).is_err());
        assert!("ema".parse::<LevelKind>().is_err());
        assert!(confluence(&[], PriceTolerance::Absolute(1.0), 2).unwrap().is_empty());
    }
}
