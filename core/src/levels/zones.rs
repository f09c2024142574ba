//! Support and resistance zones clustered from swing points.
//!
//! Swing points (see [`super::swings`]) are clustered in the order they are
//! confirmed, one at a time, so the batch form and the streaming
//! [`super::tracker::LevelTracker`] build the same zones:
//!
//! 1. The point's tolerance `tol` is `tolerance% * price` in
//!    [`ZoneTolerance::Percent`] mode, or `tolerance * ATR` in
//!    [`ZoneTolerance::Atr`] mode, with Wilder's ATR (TA-Lib `ATR`,
//!    `atr_period`) at the bar that confirms the swing (`index + right`).
//!    Swings confirmed before the ATR is ready are skipped in ATR mode.
//! 2. The point joins the zone whose center is nearest to its price when
//!    that distance is `<= tol` (ties: the lower zone); a zone's
//!    center is the mean of its touches, its `low`/`high` the extreme touch
//!    prices, and each touch counts once. Otherwise the point opens a new
//!    zone with one touch.
//! 3. A zone that moved is merged with any other zone whose center is now
//!    within `tol` of its own (touches and bounds are combined).
//! 4. Past `max_zones`, the zone touched least recently (smallest
//!    `last_index`) is dropped, so the work per point is bounded.
//!
//! Reported zones (touches `>= min_touches`) are sorted by center; a zone is
//! a support when its center is below the last close, else a resistance.
use std::str::FromStr;

use super::input::{check_bars, check_tolerance};
use super::swings::{check_arms, swings, SwingKind, SwingPoint};
use crate::error::{check_period, CoreError, CoreResult};
use crate::indicators::atr;

/// How wide a cluster is around a swing price.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ZoneTolerance {
    /// A percentage of the swing's price (`0.5` is 0.5 %).
    Percent(f64),
    /// A multiple of the ATR at the bar confirming the swing.
    Atr(f64),
}

impl ZoneTolerance {
    /// Parses `mode` (`"atr"` or `"percent"`) with its `value`.
    ///
    /// # Errors
    /// [`CoreError::InvalidParameter`] for an unknown mode or a negative or
    /// non-finite value.
    pub fn parse(mode: &str, value: f64) -> CoreResult<Self> {
        let value = check_tolerance("tolerance", value)?;
        match mode {
            "atr" => Ok(Self::Atr(value)),
            "percent" => Ok(Self::Percent(value)),
            _ => Err(CoreError::param("mode", format!("unknown tolerance mode {mode:?}: use \"atr\" or \"percent\""))),
        }
    }

    /// The absolute tolerance at `price` given the `atr` then (`None` when
    /// the ATR is needed and not ready).
    #[must_use]
    pub fn at(self, price: f64, atr: f64) -> Option<f64> {
        match self {
            Self::Percent(p) => Some(p / 100.0 * price),
            Self::Atr(m) => atr.is_finite().then_some(m * atr),
        }
    }
}

impl FromStr for ZoneTolerance {
    type Err = CoreError;

    /// `"atr:0.5"` or `"percent:0.3"`.
    fn from_str(s: &str) -> CoreResult<Self> {
        let (mode, v) = s.split_once(':').unwrap_or((s, ""));
        let v: f64 = v.parse().map_err(|_| CoreError::param("tolerance", format!("expected mode:value, got {s:?}")))?;
        Self::parse(mode, v)
    }
}

/// The parameters of the zones (and of the streaming tracker).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ZoneConfig {
    /// Bars before a swing (>= 1).
    pub left: usize,
    /// Bars after a swing, i.e. its confirmation delay (>= 1).
    pub right: usize,
    /// The clustering tolerance.
    pub tolerance: ZoneTolerance,
    /// The ATR's period for [`ZoneTolerance::Atr`] (>= 1).
    pub atr_period: usize,
    /// How many zones are kept at most (>= 1).
    pub max_zones: usize,
    /// The fewest touches a reported zone has (>= 1).
    pub min_touches: u32,
}

impl Default for ZoneConfig {
    fn default() -> Self {
        Self { left: 2, right: 2, tolerance: ZoneTolerance::Atr(0.5), atr_period: 14, max_zones: 50, min_touches: 1 }
    }
}

impl ZoneConfig {
    /// Checks every parameter's range.
    ///
    /// # Errors
    /// [`CoreError::InvalidParameter`] naming the first one out of range.
    pub fn validate(&self) -> CoreResult<()> {
        check_arms(self.left, self.right)?;
        match self.tolerance {
            ZoneTolerance::Percent(v) | ZoneTolerance::Atr(v) => check_tolerance("tolerance", v)?,
        };
        check_period("atr_period", self.atr_period, 1)?;
        check_period("max_zones", self.max_zones, 1)?;
        check_period("min_touches", self.min_touches as usize, 1)?;
        Ok(())
    }
}

/// One support/resistance zone.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Zone {
    /// The mean price of the touches.
    pub center: f64,
    /// The lowest touch price.
    pub low: f64,
    /// The highest touch price.
    pub high: f64,
    /// How many swings touched the zone.
    pub touches: u32,
    /// Of which swing highs.
    pub high_touches: u32,
    /// Of which swing lows.
    pub low_touches: u32,
    /// The bar of the first touch.
    pub first_index: usize,
    /// The bar of the last touch.
    pub last_index: usize,
    sum: f64,
}

impl Zone {
    fn new(p: SwingPoint) -> Self {
        let (h, l) = match p.kind {
            SwingKind::High => (1, 0),
            SwingKind::Low => (0, 1),
        };
        Self {
            center: p.price,
            low: p.price,
            high: p.price,
            touches: 1,
            high_touches: h,
            low_touches: l,
            first_index: p.index,
            last_index: p.index,
            sum: p.price,
        }
    }

    fn merge(&mut self, o: &Zone) {
        self.sum += o.sum;
        self.touches += o.touches;
        self.high_touches += o.high_touches;
        self.low_touches += o.low_touches;
        self.low = self.low.min(o.low);
        self.high = self.high.max(o.high);
        self.first_index = self.first_index.min(o.first_index);
        self.last_index = self.last_index.max(o.last_index);
        self.center = self.sum / f64::from(self.touches);
    }

    /// Whether the zone is a support for a price at `close` (its center is
    /// below), else it is a resistance.
    #[must_use]
    pub fn is_support(&self, close: f64) -> bool {
        self.center < close
    }
}

/// The zones being built, at most `max_zones` of them.
///
/// The centers are also kept in their own array, in step with the zones, so
/// the nearest-zone scans read 8 bytes per zone.
#[derive(Debug, Clone)]
pub struct ZoneSet {
    zones: Vec<Zone>,
    centers: Vec<f64>,
    max_zones: usize,
}

/// The position of the center nearest to `price` (ties: the lower center),
/// skipping position `skip`.
fn nearest(centers: &[f64], price: f64, skip: Option<usize>) -> Option<(usize, f64)> {
    let mut best: Option<(usize, f64)> = None;
    for (k, &c) in centers.iter().enumerate() {
        if Some(k) == skip {
            continue;
        }
        let d = (c - price).abs();
        match best {
            Some((b, bd)) if d > bd || (d == bd && c >= centers[b]) => {}
            _ => best = Some((k, d)),
        }
    }
    best
}

impl ZoneSet {
    /// An empty set keeping at most `max_zones` (at least 1).
    #[must_use]
    pub fn new(max_zones: usize) -> Self {
        let cap = max_zones.max(1) + 1;
        Self { zones: Vec::with_capacity(cap), centers: Vec::with_capacity(cap), max_zones: max_zones.max(1) }
    }

    fn remove(&mut self, k: usize) -> Zone {
        self.centers.swap_remove(k);
        self.zones.swap_remove(k)
    }

    /// Adds one confirmed swing with its absolute tolerance (see the module
    /// docs). O(`max_zones`) per call, plus O(`max_zones`) per merge.
    pub fn add(&mut self, p: SwingPoint, tol: f64) {
        match nearest(&self.centers, p.price, None) {
            Some((mut k, d)) if d <= tol => {
                self.zones[k].merge(&Zone::new(p));
                self.centers[k] = self.zones[k].center;
                while let Some((j, d)) = nearest(&self.centers, self.centers[k], Some(k)) {
                    if d > tol {
                        break;
                    }
                    let last = self.zones.len() - 1;
                    let other = self.remove(j);
                    if k == last {
                        k = j; // swap_remove moved the zone from the end into j
                    }
                    self.zones[k].merge(&other);
                    self.centers[k] = self.zones[k].center;
                }
            }
            _ => {
                self.zones.push(Zone::new(p));
                self.centers.push(p.price);
                if self.zones.len() > self.max_zones {
                    // the least recently touched (ties: the lower zone); never
                    // the new one, whose touch is the latest
                    let mut stale = 0;
                    let older = self.zones.len() - 1;
                    for (k, z) in self.zones[..older].iter().enumerate() {
                        let s = &self.zones[stale];
                        if z.last_index < s.last_index || (z.last_index == s.last_index && z.center < s.center) {
                            stale = k;
                        }
                    }
                    self.remove(stale);
                }
            }
        }
    }

    /// Every zone kept, in no particular order.
    #[must_use]
    pub fn zones(&self) -> &[Zone] {
        &self.zones
    }

    /// The zones with at least `min_touches`, sorted by center.
    #[must_use]
    pub fn report(&self, min_touches: u32) -> Vec<Zone> {
        let mut out: Vec<Zone> = self.zones.iter().filter(|z| z.touches >= min_touches).copied().collect();
        out.sort_by(|a, b| a.center.total_cmp(&b.center));
        out
    }

    /// Forgets every zone.
    pub fn clear(&mut self) {
        self.zones.clear();
        self.centers.clear();
    }
}

/// The support/resistance zones of a series (see the module docs), sorted
/// by center.
///
/// # Errors
/// [`CoreError::InvalidParameter`] for a parameter out of range;
/// [`CoreError::InvalidInput`] if the lengths differ, a price is not finite
/// or a high is below its low.
pub fn support_resistance(high: &[f64], low: &[f64], close: &[f64], cfg: &ZoneConfig) -> CoreResult<Vec<Zone>> {
    cfg.validate()?;
    check_bars(high, low, Some(close))?;
    let sw = swings(high, low, cfg.left, cfg.right)?;
    let atr = match cfg.tolerance {
        ZoneTolerance::Atr(_) => atr(high, low, close, cfg.atr_period)?,
        ZoneTolerance::Percent(_) => Vec::new(),
    };
    let mut set = ZoneSet::new(cfg.max_zones);
    for p in sw.points(high, low) {
        let confirmed = p.index + cfg.right;
        if let Some(tol) = cfg.tolerance.at(p.price, atr.get(confirmed).copied().unwrap_or(f64::NAN)) {
            set.add(p, tol);
        }
    }
    Ok(set.report(cfg.min_touches))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pt(index: usize, price: f64, kind: SwingKind) -> SwingPoint {
        SwingPoint { index, price, kind }
    }

    fn pct(p: SwingPoint) -> f64 {
        ZoneTolerance::Percent(1.0).at(p.price, f64::NAN).unwrap()
    }

    #[test]
    fn points_cluster_within_one_percent() {
        use SwingKind::{High, Low};
        let mut set = ZoneSet::new(10);
        for p in [
            pt(2, 100.0, High),
            pt(4, 90.0, Low),
            pt(6, 100.5, High),  // 0.5 from 100 <= 1.005: joins
            pt(8, 90.6, Low),    // 0.6 from 90 <= 0.906: joins
            pt(10, 101.2, High), // 0.95 from 100.25 <= 1.012: joins
            pt(12, 95.0, Low),   // new
        ] {
            set.add(p, pct(p));
        }
        let z = set.report(1);
        assert_eq!(z.len(), 3);
        assert!((z[0].center - 90.3).abs() < 1e-12 && z[0].touches == 2 && z[0].low_touches == 2);
        assert_eq!((z[0].low, z[0].high, z[0].first_index, z[0].last_index), (90.0, 90.6, 4, 8));
        assert_eq!((z[1].center, z[1].touches), (95.0, 1));
        assert!((z[2].center - 301.7 / 3.0).abs() < 1e-12);
        assert_eq!((z[2].touches, z[2].high_touches, z[2].low, z[2].high), (3, 3, 100.0, 101.2));
        assert!(z[0].is_support(96.0) && z[1].is_support(96.0) && !z[2].is_support(96.0));
        assert_eq!(set.report(2).iter().map(|z| z.touches).collect::<Vec<_>>(), vec![2, 3]);
    }

    #[test]
    fn a_zone_that_moves_next_to_another_merges() {
        use SwingKind::{High, Low};
        let mut set = ZoneSet::new(10);
        // 101.02 is 1.02 from 100 > 1.0102: a second zone
        for p in [pt(1, 100.0, High), pt(3, 101.02, Low)] {
            set.add(p, pct(p));
        }
        assert_eq!(set.zones().len(), 2);
        // 100.6 is nearest 101.02 (0.42); that zone's center 100.81 is then
        // 0.81 <= 1.006 from 100: the two merge
        let p = pt(5, 100.6, High);
        set.add(p, pct(p));
        let z = set.report(1);
        assert_eq!(z.len(), 1);
        assert_eq!((z[0].touches, z[0].high_touches, z[0].low_touches), (3, 2, 1));
        assert!((z[0].center - 301.62 / 3.0).abs() < 1e-12);
        assert_eq!((z[0].low, z[0].high, z[0].first_index, z[0].last_index), (100.0, 101.02, 1, 5));
    }

    #[test]
    fn a_point_halfway_between_two_zones_joins_the_lower() {
        use SwingKind::High;
        let mut set = ZoneSet::new(10);
        for price in [102.0, 100.0, 101.0] {
            let p = pt(1, price, High);
            set.add(p, pct(p));
        }
        let got: Vec<(f64, u32)> = set.report(1).iter().map(|z| (z.center, z.touches)).collect();
        assert_eq!(got, vec![(100.5, 2), (102.0, 1)]);
    }

    #[test]
    fn the_new_zone_survives_a_tie_in_staleness() {
        use SwingKind::{High, Low};
        let mut set = ZoneSet::new(2);
        // an outside bar at 3: its high and its low come at the same index
        for p in [pt(1, 50.0, High), pt(3, 200.0, High), pt(3, 100.0, Low)] {
            set.add(p, pct(p));
        }
        let got: Vec<f64> = set.report(1).iter().map(|z| z.center).collect();
        assert_eq!(got, vec![100.0, 200.0]);
    }

    #[test]
    fn the_least_recently_touched_zone_is_dropped() {
        use SwingKind::High;
        let mut set = ZoneSet::new(2);
        for (i, price) in [(1, 100.0), (2, 200.0), (3, 100.5), (4, 300.0)] {
            let p = pt(i, price, High);
            set.add(p, pct(p));
        }
        let centers: Vec<f64> = set.report(1).iter().map(|z| z.center).collect();
        assert_eq!(centers, vec![100.25, 300.0]);
    }

    #[test]
    fn atr_tolerance_uses_the_atr_at_confirmation() {
        // Every bar spans 4 with its close in the middle and highs move by at
        // most 2: each true range is 4, so ATR(3) = 4 from bar 3 on and
        // ATR(5) = 4 from bar 5 on; 0.25 * ATR = 1.
        let high = [10.0, 12.0, 14.0, 12.0, 10.0, 8.0, 10.0, 12.0, 13.5, 12.0, 10.0, 8.5, 10.0, 11.0];
        let low: Vec<f64> = high.iter().map(|h| h - 4.0).collect();
        let close: Vec<f64> = high.iter().map(|h| h - 2.0).collect();
        let sw = swings(&high, &low, 1, 1).unwrap();
        assert_eq!((sw.highs.clone(), sw.lows.clone()), (vec![2, 8], vec![5, 11]));
        let cfg = ZoneConfig {
            left: 1,
            right: 1,
            tolerance: ZoneTolerance::Atr(0.25),
            atr_period: 3,
            max_zones: 10,
            min_touches: 1,
        };
        // 14 and 13.5 (0.5 <= 1) make one zone, 4 and 4.5 another
        let z = support_resistance(&high, &low, &close, &cfg).unwrap();
        let got: Vec<_> = z.iter().map(|z| (z.center, z.touches)).collect();
        assert_eq!(got, vec![(4.25, 2), (13.75, 2)]);
        // ATR(5) is not ready when the high at 2 is confirmed (bar 3): skipped
        let z = support_resistance(&high, &low, &close, &ZoneConfig { atr_period: 5, ..cfg }).unwrap();
        let got: Vec<_> = z.iter().map(|z| (z.center, z.touches)).collect();
        assert_eq!(got, vec![(4.25, 2), (13.5, 1)]);
        // 1 % of the price is narrower than 0.5 here: four single touches
        let z = support_resistance(&high, &low, &close, &ZoneConfig { tolerance: ZoneTolerance::Percent(1.0), ..cfg })
            .unwrap();
        let got: Vec<_> = z.iter().map(|z| z.center).collect();
        assert_eq!(got, vec![4.0, 4.5, 13.5, 14.0]);
        assert!(support_resistance(&high, &low, &close, &ZoneConfig { min_touches: 2, ..cfg }).unwrap().len() == 2);
    }

    #[test]
    fn bad_parameters_are_refused() {
        let ok = ZoneConfig::default();
        assert!(ZoneConfig { left: 0, ..ok }.validate().is_err());
        assert!(ZoneConfig { max_zones: 0, ..ok }.validate().is_err());
        assert!(ZoneConfig { min_touches: 0, ..ok }.validate().is_err());
        assert!(ZoneConfig { tolerance: ZoneTolerance::Percent(-1.0), ..ok }.validate().is_err());
        assert!(ZoneTolerance::parse("pips", 1.0).unwrap_err().to_string().contains("unknown tolerance mode"));
        assert_eq!("percent:0.3".parse::<ZoneTolerance>(), Ok(ZoneTolerance::Percent(0.3)));
        assert!(support_resistance(&[1.0], &[2.0], &[1.5], &ok).is_err());
    }
}
