//! The seed's Strategy rules on RSI and MACD, as events with a short memory.
//!
//! On each closed candle, with `rsi`, `hist = macd - signal` and the
//! previous bars' values (the engine's streaming RSI and MACD, TA-Lib's):
//!
//! * **rsi**: long when RSI leaves oversold, `rsi[t-1] <= oversold < rsi[t]`;
//!   short when it leaves overbought, `rsi[t-1] >= overbought > rsi[t]`;
//! * **`macd_cross`**: long when the MACD line crosses above its signal line,
//!   `hist[t-1] <= 0 < hist[t]`; short when it crosses below,
//!   `hist[t-1] >= 0 > hist[t]`;
//! * **`hist_turn`**: long when the histogram turns up (its slope changes
//!   sign), `hist[t-1] - hist[t-2] <= 0 < hist[t] - hist[t-1]`; short when it
//!   turns down, `hist[t-1] - hist[t-2] >= 0 > hist[t] - hist[t-1]`.
//!
//! A rule's latest event counts for `window` closed bars (the bar it fired
//! on included) and is replaced by the rule's next event. A side's score is
//! `100 * (sum of the weights of the rules whose counting event is on that
//! side) / (sum of all weights)`.
use std::fmt::Write as _;

use crate::config::RsiMacdConfig;
use crate::indicators::MacdOutput;
use crate::patterns::Direction;

/// The three rules, in the order of their weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    Rsi = 0,
    MacdCross = 1,
    HistTurn = 2,
}

impl Rule {
    pub const ALL: [Rule; 3] = [Self::Rsi, Self::MacdCross, Self::HistTurn];

    /// Its name in the configuration.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rsi => "rsi",
            Self::MacdCross => "macd_cross",
            Self::HistTurn => "hist_turn",
        }
    }
}

/// One rule firing: its side, when, and the numbers that made it fire.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RuleEvent {
    pub rule: Rule,
    pub direction: Direction,
    /// The stream's closed-bar count when it fired.
    pub bar: u64,
    /// `rsi`: RSI before, RSI after, the level crossed.
    /// `macd_cross`: histogram before, after, the MACD line, the signal line.
    /// `hist_turn`: the histogram two bars ago, one bar ago, now.
    pub values: [f64; 4],
}

impl RuleEvent {
    /// "RSI left oversold: 28.41 -> 31.07 up through 30 (this bar)".
    pub(crate) fn describe(&self, now: u64, out: &mut String) {
        let [a, b, c, d] = self.values;
        let long = self.direction == Direction::Long;
        let _ = match self.rule {
            Rule::Rsi if long => write!(out, "RSI left oversold: {a:.2} -> {b:.2} up through {c}"),
            Rule::Rsi => write!(out, "RSI left overbought: {a:.2} -> {b:.2} down through {c}"),
            Rule::MacdCross => write!(
                out,
                "MACD crossed {} its signal line: MACD {} vs signal {} (histogram {} -> {})",
                if long { "above" } else { "below" },
                Sig(c, false),
                Sig(d, false),
                Sig(a, true),
                Sig(b, true)
            ),
            Rule::HistTurn => write!(
                out,
                "MACD histogram turned {}: {}, {}, {}",
                if long { "up" } else { "down" },
                Sig(a, true),
                Sig(b, true),
                Sig(c, true)
            ),
        };
        let _ = match now - self.bar {
            0 => write!(out, " (this bar)"),
            1 => write!(out, " (1 bar ago)"),
            n => write!(out, " ({n} bars ago)"),
        };
    }
}

/// A number with 6 significant digits (MACD values scale with the price),
/// signed when `.1` is true.
struct Sig(f64, bool);

impl std::fmt::Display for Sig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Sig(x, signed) = *self;
        let magnitude = if x == 0.0 || !x.is_finite() { 0 } else { x.abs().log10().floor() as i32 };
        let decimals = (5 - magnitude).clamp(0, 15) as usize;
        if signed {
            write!(f, "{x:+.decimals$}")
        } else {
            write!(f, "{x:.decimals$}")
        }
    }
}

/// The rules' state of one stream.
#[derive(Debug, Clone)]
pub struct RsiMacdRules {
    oversold: f64,
    overbought: f64,
    window: u64,
    weights: [f64; 3],
    total_weight: f64,
    bar: u64,
    rsi_prev: f64,
    hist_prev: f64,
    hist_prev2: f64,
    last: [Option<RuleEvent>; 3],
}

impl RsiMacdRules {
    #[must_use]
    pub fn new(cfg: &RsiMacdConfig) -> Self {
        let w = &cfg.weights;
        let weights = [w.rsi, w.macd_cross, w.hist_turn];
        Self {
            oversold: cfg.oversold,
            overbought: cfg.overbought,
            window: u64::from(cfg.window),
            weights,
            total_weight: weights.iter().sum(),
            bar: 0,
            rsi_prev: f64::NAN,
            hist_prev: f64::NAN,
            hist_prev2: f64::NAN,
            last: [None; 3],
        }
    }

    /// Closed bars seen.
    #[must_use]
    pub fn bars(&self) -> u64 {
        self.bar
    }

    /// Forgets every bar seen.
    pub fn reset(&mut self) {
        self.bar = 0;
        self.rsi_prev = f64::NAN;
        self.hist_prev = f64::NAN;
        self.hist_prev2 = f64::NAN;
        self.last = [None; 3];
    }

    fn fire(&mut self, rule: Rule, direction: Direction, values: [f64; 4]) {
        self.last[rule as usize] = Some(RuleEvent { rule, direction, bar: self.bar, values });
    }

    /// One closed candle's RSI and MACD (NaN while they warm up: no event).
    pub fn update(&mut self, rsi: f64, macd: &MacdOutput) {
        self.bar += 1;
        let (r0, r1) = (self.rsi_prev, rsi);
        if r0 <= self.oversold && self.oversold < r1 {
            self.fire(Rule::Rsi, Direction::Long, [r0, r1, self.oversold, f64::NAN]);
        } else if r0 >= self.overbought && self.overbought > r1 {
            self.fire(Rule::Rsi, Direction::Short, [r0, r1, self.overbought, f64::NAN]);
        }
        let (h2, h1, h) = (self.hist_prev2, self.hist_prev, macd.hist);
        if h1 <= 0.0 && 0.0 < h {
            self.fire(Rule::MacdCross, Direction::Long, [h1, h, macd.macd, macd.signal]);
        } else if h1 >= 0.0 && 0.0 > h {
            self.fire(Rule::MacdCross, Direction::Short, [h1, h, macd.macd, macd.signal]);
        }
        let (s1, s) = (h1 - h2, h - h1);
        if s1 <= 0.0 && 0.0 < s {
            self.fire(Rule::HistTurn, Direction::Long, [h2, h1, h, f64::NAN]);
        } else if s1 >= 0.0 && 0.0 > s {
            self.fire(Rule::HistTurn, Direction::Short, [h2, h1, h, f64::NAN]);
        }
        self.rsi_prev = rsi;
        self.hist_prev2 = h1;
        self.hist_prev = h;
    }

    /// The events that count now (fired within the window), in rule order.
    pub fn active(&self) -> impl Iterator<Item = &RuleEvent> {
        self.last.iter().flatten().filter(|e| self.bar - e.bar < self.window)
    }

    /// The events counting now on `direction`'s side (rules of weight 0
    /// left out).
    #[must_use]
    pub fn active_on(&self, direction: Direction) -> [Option<RuleEvent>; 3] {
        let mut out = [None; 3];
        for e in self.active().filter(|e| e.direction == direction && self.weights[e.rule as usize] > 0.0) {
            out[e.rule as usize] = Some(*e);
        }
        out
    }

    /// The long and short scores, 0..100.
    #[must_use]
    pub fn scores(&self) -> (f64, f64) {
        let (mut long, mut short) = (0.0, 0.0);
        for e in self.active() {
            let w = self.weights[e.rule as usize];
            match e.direction {
                Direction::Long => long += w,
                Direction::Short => short += w,
                Direction::Neutral => {}
            }
        }
        (100.0 * long / self.total_weight, 100.0 * short / self.total_weight)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::RuleWeights;

    fn m(hist: f64) -> MacdOutput {
        MacdOutput { macd: hist, signal: 0.0, hist }
    }

    /// Feeds (rsi, hist) pairs; the rules that fired on each bar.
    fn fired(cfg: &RsiMacdConfig, bars: &[(f64, f64)]) -> Vec<Vec<(&'static str, Direction)>> {
        let mut r = RsiMacdRules::new(cfg);
        bars.iter()
            .map(|&(rsi, h)| {
                r.update(rsi, &m(h));
                r.active().filter(|e| e.bar == r.bars()).map(|e| (e.rule.as_str(), e.direction)).collect()
            })
            .collect()
    }

    #[test]
    fn each_rule_fires_on_its_crossing_bar_only() {
        let cfg = RsiMacdConfig::default();
        let (l, s) = (Direction::Long, Direction::Short);
        // RSI: 25 -> 30 stays oversold (at the level), -> 31 leaves it; 75 -> 69 leaves overbought.
        // Histogram: -3, -4 (falling), -2 (turns up), 1 (crosses up), 0.5 (turns down), -1 (crosses down)
        let out = fired(&cfg, &[(25.0, -3.0), (30.0, -4.0), (31.0, -2.0), (50.0, 1.0), (75.0, 0.5), (69.0, -1.0)]);
        assert_eq!(out[0], vec![]);
        assert_eq!(out[1], vec![]);
        assert_eq!(out[2], vec![("rsi", l), ("hist_turn", l)]);
        assert_eq!(out[3], vec![("macd_cross", l)]);
        assert_eq!(out[4], vec![("hist_turn", s)]);
        assert_eq!(out[5], vec![("rsi", s), ("macd_cross", s)]);
    }

    #[test]
    fn an_event_counts_for_the_window_then_expires() {
        let cfg = RsiMacdConfig {
            window: 3,
            weights: RuleWeights { rsi: 1.0, macd_cross: 1.0, hist_turn: 2.0 },
            ..RsiMacdConfig::default()
        };
        let mut r = RsiMacdRules::new(&cfg);
        let mut scores = vec![];
        // RSI leaves oversold on bar 2; the histogram stays flat at -1 (no events)
        for rsi in [20.0, 40.0, 45.0, 50.0, 55.0] {
            r.update(rsi, &m(-1.0));
            scores.push(r.scores());
        }
        assert_eq!(scores, vec![(0.0, 0.0), (25.0, 0.0), (25.0, 0.0), (25.0, 0.0), (0.0, 0.0)]);
    }

    #[test]
    fn a_rules_next_event_replaces_its_last() {
        let cfg = RsiMacdConfig { window: 10, ..RsiMacdConfig::default() };
        let mut r = RsiMacdRules::new(&cfg);
        for h in [-1.0, 1.0] {
            r.update(50.0, &m(h));
        }
        assert_eq!(r.active_on(Direction::Long)[Rule::MacdCross as usize].map(|e| e.bar), Some(2));
        r.update(50.0, &m(-1.0));
        assert!(r.active_on(Direction::Long)[Rule::MacdCross as usize].is_none());
        assert_eq!(r.active_on(Direction::Short)[Rule::MacdCross as usize].map(|e| e.bar), Some(3));
    }

    #[test]
    fn events_are_worded_with_their_numbers_and_age() {
        let mut out = String::new();
        let e =
            RuleEvent { rule: Rule::Rsi, direction: Direction::Long, bar: 7, values: [28.414, 31.066, 30.0, f64::NAN] };
        e.describe(7, &mut out);
        assert_eq!(out, "RSI left oversold: 28.41 -> 31.07 up through 30 (this bar)");
        out.clear();
        let e = RuleEvent {
            rule: Rule::MacdCross,
            direction: Direction::Short,
            bar: 5,
            values: [12.5, -3.25, 1234.5678, 1237.8178],
        };
        e.describe(7, &mut out);
        assert_eq!(
            out,
            "MACD crossed below its signal line: MACD 1234.57 vs signal 1237.82 (histogram +12.5000 -> -3.25000) (2 bars ago)"
        );
        out.clear();
        let e = RuleEvent {
            rule: Rule::HistTurn,
            direction: Direction::Long,
            bar: 6,
            values: [-0.002, -0.003, -0.0025, f64::NAN],
        };
        e.describe(7, &mut out);
        assert_eq!(out, "MACD histogram turned up: -0.00200000, -0.00300000, -0.00250000 (1 bar ago)");
    }

    #[test]
    fn warm_up_nans_fire_nothing() {
        let out = fired(&RsiMacdConfig::default(), &[(f64::NAN, f64::NAN), (f64::NAN, f64::NAN), (35.0, 1.0)]);
        assert!(out.iter().all(Vec::is_empty), "{out:?}");
    }
}
