//! The streaming form: swings and zones updated per closed candle.
use super::fibonacci::{fibonacci, FibLevel, Trend};
use super::input::{check_bar, check_bars};
use super::swings::{is_swing_high, is_swing_low, SwingKind, SwingPoint};
use super::zones::{Zone, ZoneConfig, ZoneSet};
use crate::error::CoreResult;
use crate::indicators::{Atr, Hlc, Indicator};

/// The swings a closed candle confirmed (the swing bar is `right` bars back).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LevelUpdate {
    pub swing_high: Option<SwingPoint>,
    pub swing_low: Option<SwingPoint>,
}

/// Support/resistance levels kept up to date one closed candle at a time.
///
/// Holds the last `left + right + 1` highs and lows, a streaming ATR and at
/// most `max_zones` zones: each [`LevelTracker::update`] is
/// O(`left + right`) plus O(`max_zones`) when a swing is confirmed, and
/// memory is bounded. After the same candles its swings and zones equal the
/// batch [`super::swings::swings`] and [`super::zones::support_resistance`].
#[derive(Debug, Clone)]
pub struct LevelTracker {
    cfg: ZoneConfig,
    highs: Vec<f64>,
    lows: Vec<f64>,
    atr: Atr,
    bars: usize,
    last_close: f64,
    zones: ZoneSet,
    last_high: Option<SwingPoint>,
    last_low: Option<SwingPoint>,
}

impl LevelTracker {
    /// A tracker with the given parameters.
    ///
    /// # Errors
    /// [`crate::error::CoreError::InvalidParameter`] for a parameter out of
    /// range (see [`ZoneConfig::validate`]).
    pub fn new(cfg: ZoneConfig) -> CoreResult<Self> {
        cfg.validate()?;
        let span = cfg.left + cfg.right + 1;
        Ok(Self {
            cfg,
            highs: Vec::with_capacity(span),
            lows: Vec::with_capacity(span),
            atr: Atr::new(cfg.atr_period)?,
            bars: 0,
            last_close: f64::NAN,
            zones: ZoneSet::new(cfg.max_zones),
            last_high: None,
            last_low: None,
        })
    }

    /// Feeds one closed candle; returns the swings it confirmed.
    ///
    /// # Errors
    /// [`crate::error::CoreError::InvalidInput`] for a non-finite price or
    /// `high < low`; the tracker is then unchanged.
    pub fn update(&mut self, high: f64, low: f64, close: f64) -> CoreResult<LevelUpdate> {
        check_bar(high, low, close)?;
        Ok(self.update_checked(high, low, close))
    }

    /// Feeds many closed candles, oldest first; returns how many swings they
    /// confirmed.
    ///
    /// # Errors
    /// [`crate::error::CoreError::InvalidInput`] if the lengths differ, a
    /// price is not finite or a high is below its low; every candle is
    /// checked first, so the tracker is then unchanged.
    pub fn update_many(&mut self, high: &[f64], low: &[f64], close: &[f64]) -> CoreResult<usize> {
        check_bars(high, low, Some(close))?;
        let mut n = 0;
        for i in 0..high.len() {
            let u = self.update_checked(high[i], low[i], close[i]);
            n += usize::from(u.swing_high.is_some()) + usize::from(u.swing_low.is_some());
        }
        Ok(n)
    }

    fn update_checked(&mut self, high: f64, low: f64, close: f64) -> LevelUpdate {
        let atr = self.atr.update(Hlc { high, low, close });
        let span = self.cfg.left + self.cfg.right + 1;
        // a window of `span` bars, oldest first: shifting 2 x span floats
        // costs less than a ring's index arithmetic for spans this small
        if self.highs.len() == span {
            self.highs.copy_within(1.., 0);
            self.lows.copy_within(1.., 0);
            self.highs[span - 1] = high;
            self.lows[span - 1] = low;
        } else {
            self.highs.push(high);
            self.lows.push(low);
        }
        self.bars += 1;
        self.last_close = close;
        let mut out = LevelUpdate::default();
        if self.highs.len() < span {
            return out;
        }
        let index = self.bars - 1 - self.cfg.right;
        let left = self.cfg.left;
        if is_swing_high(&self.highs, left) {
            out.swing_high =
                Some(self.confirm(SwingPoint { index, price: self.highs[left], kind: SwingKind::High }, atr));
        }
        if is_swing_low(&self.lows, left) {
            out.swing_low = Some(self.confirm(SwingPoint { index, price: self.lows[left], kind: SwingKind::Low }, atr));
        }
        out
    }

    fn confirm(&mut self, p: SwingPoint, atr: f64) -> SwingPoint {
        if let Some(tol) = self.cfg.tolerance.at(p.price, atr) {
            self.zones.add(p, tol);
        }
        match p.kind {
            SwingKind::High => self.last_high = Some(p),
            SwingKind::Low => self.last_low = Some(p),
        }
        p
    }

    /// The zones with at least `min_touches`, sorted by center.
    #[must_use]
    pub fn zones(&self) -> Vec<Zone> {
        self.zones.report(self.cfg.min_touches)
    }

    /// The highest zone below the last close.
    #[must_use]
    pub fn nearest_support(&self) -> Option<Zone> {
        self.zones().into_iter().rev().find(|z| z.is_support(self.last_close))
    }

    /// The lowest zone at or above the last close.
    #[must_use]
    pub fn nearest_resistance(&self) -> Option<Zone> {
        self.zones().into_iter().find(|z| !z.is_support(self.last_close))
    }

    /// The last confirmed swing high.
    #[must_use]
    pub fn last_swing_high(&self) -> Option<SwingPoint> {
        self.last_high
    }

    /// The last confirmed swing low.
    #[must_use]
    pub fn last_swing_low(&self) -> Option<SwingPoint> {
        self.last_low
    }

    /// The Fibonacci grid of the last swing: from the last swing low up to
    /// the last swing high when the high came later ([`Trend::Up`]), down
    /// otherwise (an outside bar that is both counts as down). `None` until
    /// both exist, or when the last high is below the last low.
    #[must_use]
    pub fn fibonacci(&self) -> Option<(Trend, Vec<FibLevel>)> {
        let (h, l) = (self.last_high?, self.last_low?);
        let trend = if h.index > l.index { Trend::Up } else { Trend::Down };
        fibonacci(h.price, l.price, trend).ok().map(|g| (trend, g))
    }

    /// Candles seen.
    #[must_use]
    pub fn bars(&self) -> usize {
        self.bars
    }

    /// The close of the last candle (NaN before the first).
    #[must_use]
    pub fn last_close(&self) -> f64 {
        self.last_close
    }

    /// The parameters.
    #[must_use]
    pub fn config(&self) -> &ZoneConfig {
        &self.cfg
    }

    /// The ATR after the last candle (NaN while warming up).
    #[must_use]
    pub fn atr(&self) -> f64 {
        self.atr.value()
    }

    /// Forgets every candle, keeping the parameters.
    pub fn reset(&mut self) {
        self.highs.clear();
        self.lows.clear();
        self.atr.reset();
        self.bars = 0;
        self.last_close = f64::NAN;
        self.zones.clear();
        self.last_high = None;
        self.last_low = None;
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::history::read_candle_file;
    use crate::levels::swings::swings;
    use crate::levels::zones::{support_resistance, ZoneTolerance};

    fn feed(t: &mut LevelTracker, h: &[f64], l: &[f64], c: &[f64]) -> (Vec<usize>, Vec<usize>) {
        let (mut highs, mut lows) = (Vec::new(), Vec::new());
        for i in 0..h.len() {
            let u = t.update(h[i], l[i], c[i]).unwrap();
            if let Some(p) = u.swing_high {
                assert_eq!(p.index + t.config().right, i, "confirmed `right` bars later");
                assert_eq!(p.price, h[p.index]);
                highs.push(p.index);
            }
            if let Some(p) = u.swing_low {
                assert_eq!(p.price, l[p.index]);
                lows.push(p.index);
            }
        }
        (highs, lows)
    }

    #[test]
    fn streaming_equals_batch_on_real_candles() {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/BTCUSDT-1h.csv.gz");
        let c = read_candle_file(&path).unwrap();
        let (h, l, cl) = (&c.high[..20_000], &c.low[..20_000], &c.close[..20_000]);
        let configs = [
            ZoneConfig::default(),
            ZoneConfig { left: 3, right: 1, tolerance: ZoneTolerance::Percent(0.4), ..ZoneConfig::default() },
            ZoneConfig { left: 1, right: 4, max_zones: 5, min_touches: 2, ..ZoneConfig::default() },
            ZoneConfig { tolerance: ZoneTolerance::Atr(1.5), atr_period: 30, max_zones: 12, ..ZoneConfig::default() },
        ];
        for cfg in configs {
            let mut t = LevelTracker::new(cfg).unwrap();
            let (highs, lows) = feed(&mut t, h, l, cl);
            let batch = swings(h, l, cfg.left, cfg.right).unwrap();
            assert!(batch.highs.len() > 100, "{cfg:?}");
            assert_eq!((highs, lows), (batch.highs, batch.lows), "{cfg:?}");
            let zones = support_resistance(h, l, cl, &cfg).unwrap();
            assert!(!zones.is_empty());
            assert_eq!(t.zones(), zones, "{cfg:?}");
            assert!(t.zones.zones().len() <= cfg.max_zones);
        }
    }

    #[test]
    fn nearest_levels_and_the_last_swing_grid() {
        // swing high 14 at 2, swing low 4 at 5, swing high 13.5 at 8, swing low 4.5 at 11
        let high = [10.0, 12.0, 14.0, 12.0, 10.0, 8.0, 10.0, 12.0, 13.5, 12.0, 10.0, 8.5, 10.0, 11.0];
        let low: Vec<f64> = high.iter().map(|h| h - 4.0).collect();
        let close: Vec<f64> = high.iter().map(|h| h - 2.0).collect();
        let cfg = ZoneConfig {
            left: 1,
            right: 1,
            tolerance: ZoneTolerance::Atr(0.25),
            atr_period: 3,
            max_zones: 10,
            min_touches: 1,
        };
        let mut t = LevelTracker::new(cfg).unwrap();
        assert!(t.fibonacci().is_none());
        feed(&mut t, &high, &low, &close);
        assert_eq!(t.last_close(), 9.0);
        assert_eq!(t.nearest_support().map(|z| z.center), Some(4.25));
        assert_eq!(t.nearest_resistance().map(|z| z.center), Some(13.75));
        // the last swing: high 13.5 at 8, then low 4.5 at 11: down, range 9
        let (trend, grid) = t.fibonacci().unwrap();
        assert_eq!(trend, Trend::Down);
        assert!((grid[2].price - 9.0).abs() < 1e-12); // 0.5: 4.5 + 4.5
        assert!((grid[5].price - (13.5 - 1.272 * 9.0)).abs() < 1e-12);
        t.reset();
        assert_eq!((t.bars(), t.zones().len()), (0, 0));
        assert!(t.last_swing_high().is_none() && t.atr().is_nan());
    }

    #[test]
    fn a_bad_candle_is_refused_and_changes_nothing() {
        let mut t = LevelTracker::new(ZoneConfig::default()).unwrap();
        t.update(2.0, 1.0, 1.5).unwrap();
        assert!(t.update(1.0, 2.0, 1.5).is_err());
        assert!(t.update(f64::NAN, 1.0, 1.5).is_err());
        assert_eq!(t.bars(), 1);
        assert!(LevelTracker::new(ZoneConfig { right: 0, ..ZoneConfig::default() }).is_err());
    }
}
