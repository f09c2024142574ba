//! Parameter search: grid and random sweeps over any configuration key,
//! addressed by its JSON path (`engine.signals.entry_threshold`,
//! `stops.trail_pct`), run in parallel on a rayon pool, ranked by a metric;
//! and walk-forward analysis over rolling train/test windows.
//!
//! Every combination is an independent, deterministic backtest, so the
//! results do not depend on the number of threads (tested). The random
//! sweep draws from a seeded `SplitMix64`: the same seed gives the same
//! combinations.
//!
//! ```json
//! {"metric": "sharpe",
//!  "grid": {"stops.trail_pct": [0.5, 1, 2], "engine.signals.entry_threshold": [65, 70, 75]},
//!  "walk_forward": {"train_bars": 20000, "test_bars": 5000}}
//! {"metric": "calmar", "random": {"n": 50, "seed": 7,
//!  "params": {"stops.stop_atr": {"min": 1, "max": 4}, "stops.time_stop_bars": {"min": 10, "max": 200, "int": true},
//!             "intrabar": ["worst", "direction"]}}}
//! ```
use std::collections::BTreeMap;
use std::ops::Range;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::config::BacktestConfig;
use super::engine::{run_validated, validate_series, Series, Window};
use super::stats::Stats;
use crate::error::{CoreError, CoreResult};

/// A random parameter: a range (`min`, `max`, `int`) or a list of choices.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum RandomParam {
    Range {
        min: f64,
        max: f64,
        #[serde(default)]
        int: bool,
    },
    Choices(Vec<Value>),
}

/// A random sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RandomSpec {
    pub n: usize,
    #[serde(default)]
    pub seed: u64,
    pub params: BTreeMap<String, RandomParam>,
}

/// Rolling windows, in candles of the strategy interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WalkForwardSpec {
    pub train_bars: u64,
    pub test_bars: u64,
}

/// What to search and how to rank it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepSpec {
    /// A statistic (see [`Stats::fields`]); higher is better, except
    /// `max_drawdown` (lower is better). Default `sharpe`.
    #[serde(default = "default_metric")]
    pub metric: String,
    /// Every combination of these values.
    #[serde(default)]
    pub grid: BTreeMap<String, Vec<Value>>,
    /// Or `n` random draws.
    #[serde(default)]
    pub random: Option<RandomSpec>,
    /// Walk-forward windows (for [`walk_forward`]).
    #[serde(default)]
    pub walk_forward: Option<WalkForwardSpec>,
    /// Threads (0: every core, the default).
    #[serde(default)]
    pub threads: usize,
}

fn default_metric() -> String {
    "sharpe".into()
}

/// One combination's outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepRow {
    /// The values, in the order of [`SweepResult::params`].
    pub values: Vec<Value>,
    pub stats: Stats,
    /// The ranking metric's value.
    pub score: f64,
}

/// A sweep's results, best first.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepResult {
    pub metric: String,
    pub params: Vec<String>,
    pub rows: Vec<SweepRow>,
}

/// One walk-forward window: `[train_start, train_end)` then
/// `[train_end, test_end)`, open times in ms.
#[derive(Debug, Clone, PartialEq)]
pub struct WalkForwardWindow {
    pub train_start: i64,
    pub train_end: i64,
    pub test_end: i64,
    /// The best combination on the train window and its scores.
    pub best: Vec<Value>,
    pub train_score: f64,
    pub test: Stats,
    pub test_score: f64,
}

/// A walk-forward analysis.
#[derive(Debug, Clone, PartialEq)]
pub struct WalkForwardResult {
    pub metric: String,
    pub params: Vec<String>,
    pub windows: Vec<WalkForwardWindow>,
}

impl SweepSpec {
    /// Parses and checks a sweep document.
    ///
    /// # Errors
    /// `Config` naming the problem.
    pub fn from_json(text: &str) -> CoreResult<Self> {
        let s: Self = serde_json::from_str(text).map_err(|e| CoreError::Config(format!("sweep: {e}")))?;
        metric_of(&Stats::default(), &s.metric)?;
        match (&s.random, s.grid.is_empty()) {
            (Some(_), false) => return Err(CoreError::Config("sweep: give `grid` or `random`, not both".into())),
            (None, true) => return Err(CoreError::Config("sweep: give `grid` or `random` parameters".into())),
            _ => {}
        }
        if let Some(r) = &s.random {
            if r.n == 0 || r.params.is_empty() {
                return Err(CoreError::Config("sweep: `random` needs n >= 1 and at least one parameter".into()));
            }
        }
        if s.grid.values().any(Vec::is_empty) {
            return Err(CoreError::Config("sweep: every grid parameter needs at least one value".into()));
        }
        if let Some(w) = s.walk_forward {
            if w.train_bars == 0 || w.test_bars == 0 {
                return Err(CoreError::Config("sweep: walk_forward needs train_bars and test_bars >= 1".into()));
            }
        }
        Ok(s)
    }

    /// The parameter names and every combination of values to run.
    #[must_use]
    pub fn combinations(&self) -> (Vec<String>, Vec<Vec<Value>>) {
        if let Some(r) = &self.random {
            let names: Vec<String> = r.params.keys().cloned().collect();
            let mut rng = SplitMix64(r.seed);
            let combos = (0..r.n)
                .map(|_| {
                    r.params
                        .values()
                        .map(|p| match p {
                            RandomParam::Range { min, max, int } => {
                                let u = rng.unit();
                                if *int {
                                    let (lo, hi) = (min.ceil() as i64, max.floor() as i64);
                                    let span = (hi - lo + 1).max(1) as f64;
                                    Value::from(lo + ((u * span) as i64).min(hi - lo))
                                } else {
                                    Value::from(min + u * (max - min))
                                }
                            }
                            RandomParam::Choices(c) => {
                                let k = ((rng.unit() * c.len() as f64) as usize).min(c.len().saturating_sub(1));
                                c.get(k).cloned().unwrap_or(Value::Null)
                            }
                        })
                        .collect()
                })
                .collect();
            return (names, combos);
        }
        let names: Vec<String> = self.grid.keys().cloned().collect();
        let mut combos: Vec<Vec<Value>> = vec![Vec::new()];
        for vals in self.grid.values() {
            combos = combos
                .into_iter()
                .flat_map(|c| {
                    vals.iter().map(move |v| {
                        let mut c = c.clone();
                        c.push(v.clone());
                        c
                    })
                })
                .collect();
        }
        (names, combos)
    }
}

/// `SplitMix64` (Steele, Lea, Flood 2014): small, seedable, good enough to
/// draw sweep parameters.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Sets `path` (dot-separated keys) in a JSON document.
///
/// # Errors
/// `Config` when a parent key does not exist or is not an object.
pub fn set_path(doc: &mut Value, path: &str, v: Value) -> CoreResult<()> {
    let mut cur = doc;
    let keys: Vec<&str> = path.split('.').collect();
    for (i, key) in keys.iter().enumerate() {
        let obj = cur.as_object_mut().ok_or_else(|| {
            CoreError::Config(format!("parameter `{path}`: `{}` is not a section", keys[..i].join(".")))
        })?;
        if i + 1 == keys.len() {
            obj.insert((*key).to_owned(), v);
            return Ok(());
        }
        cur = obj
            .get_mut(*key)
            .ok_or_else(|| CoreError::Config(format!("parameter `{path}`: no key `{}`", keys[..=i].join("."))))?;
    }
    Err(CoreError::Config(format!("parameter `{path}` is empty")))
}

/// The base configuration with one combination applied.
///
/// # Errors
/// `Config` for an unknown key or a value that does not validate.
pub fn apply(base: &BacktestConfig, names: &[String], values: &[Value]) -> CoreResult<BacktestConfig> {
    let mut doc = serde_json::to_value(base).map_err(|e| CoreError::Config(e.to_string()))?;
    for (n, v) in names.iter().zip(values) {
        set_path(&mut doc, n, v.clone())?;
    }
    BacktestConfig::from_value(doc)
        .map_err(|e| CoreError::Config(format!("{} with {}: {e}", names.join(","), Value::from(values.to_vec()))))
}

fn metric_of(s: &Stats, metric: &str) -> CoreResult<f64> {
    s.fields().iter().find(|(n, _)| *n == metric).map(|&(_, v)| v).ok_or_else(|| {
        let names: Vec<&str> = s.fields().iter().map(|(n, _)| *n).collect();
        CoreError::Config(format!("unknown metric `{metric}`; expected one of {}", names.join(", ")))
    })
}

/// Higher is better, NaN last; `max_drawdown` is negated.
fn score(s: &Stats, metric: &str) -> f64 {
    let v = metric_of(s, metric).unwrap_or(f64::NAN);
    let v = if metric == "max_drawdown" { -v } else { v };
    if v.is_nan() {
        f64::NEG_INFINITY
    } else {
        v
    }
}

fn pool(threads: usize) -> CoreResult<rayon::ThreadPool> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| CoreError::Config(format!("thread pool: {e}")))
}

/// Runs `combos` in parallel; rows in the order of `combos`, not ranked.
fn run_rows(
    base: &BacktestConfig,
    names: &[String],
    combos: &[Vec<Value>],
    data: &[Series<'_>],
    window: Window,
    metric: &str,
    pool: &rayon::ThreadPool,
) -> CoreResult<Vec<SweepRow>> {
    // Configurations first, so a bad value fails before any run.
    let cfgs: Vec<BacktestConfig> = combos.iter().map(|c| apply(base, names, c)).collect::<CoreResult<_>>()?;
    let stats: Vec<Stats> = pool.install(|| {
        cfgs.par_iter().map(|cfg| run_validated(cfg, data, window, None).map(|r| r.stats())).collect::<CoreResult<_>>()
    })?;
    Ok(combos
        .iter()
        .zip(stats)
        .map(|(c, s)| SweepRow { values: c.clone(), score: score(&s, metric), stats: s })
        .collect())
}

/// Ranks rows best first by score (IEEE total order); ties keep the order
/// given, so rows in combination order rank as the local sweep does.
pub fn rank(rows: &mut [SweepRow]) {
    rows.sort_by(|a, b| b.score.total_cmp(&a.score));
}

/// An integer that orders scores as [`f64::total_cmp`] does (and survives
/// JSON, where an infinite score becomes `null`): merging sweep chunks run
/// on several machines sorts by it.
#[must_use]
pub fn rank_key(score: f64) -> i64 {
    let bits = i64::from_ne_bytes(score.to_bits().to_ne_bytes());
    // Negative floats order backwards by their bits: flip all but the sign.
    if bits < 0 {
        bits ^ i64::MAX
    } else {
        bits
    }
}

fn run_all(
    base: &BacktestConfig,
    names: &[String],
    combos: &[Vec<Value>],
    data: &[Series<'_>],
    window: Window,
    metric: &str,
    pool: &rayon::ThreadPool,
) -> CoreResult<Vec<SweepRow>> {
    let mut rows = run_rows(base, names, combos, data, window, metric, pool)?;
    rank(&mut rows);
    Ok(rows)
}

/// Runs every combination of the sweep in parallel; rows best first.
///
/// # Errors
/// `Config` for a bad specification or value, `InvalidInput` for bad series.
pub fn run_sweep(
    base: &BacktestConfig,
    spec: &SweepSpec,
    data: &[Series<'_>],
    window: Window,
) -> CoreResult<SweepResult> {
    base.validate()?;
    validate_series(data)?;
    let (names, combos) = spec.combinations();
    let rows = run_all(base, &names, &combos, data, window, &spec.metric, &pool(spec.threads)?)?;
    Ok(SweepResult { metric: spec.metric.clone(), params: names, rows })
}

/// The parameter names and the number of combinations of a sweep, every
/// combination checked against `base` (nothing is run): what a distributed
/// sweep splits into chunks.
///
/// # Errors
/// `Config` for a bad specification or value.
pub fn plan(base: &BacktestConfig, spec: &SweepSpec) -> CoreResult<(Vec<String>, usize)> {
    base.validate()?;
    let (names, combos) = spec.combinations();
    for c in &combos {
        apply(base, &names, c)?;
    }
    Ok((names, combos.len()))
}

/// One chunk of a sweep: the combinations at positions `range` (in the
/// order of [`SweepSpec::combinations`]), run in parallel; rows in
/// combination order, not ranked ([`rank`] merges chunks).
///
/// # Errors
/// As [`run_sweep`], and `Config` for a range outside the combinations.
pub fn run_sweep_range(
    base: &BacktestConfig,
    spec: &SweepSpec,
    data: &[Series<'_>],
    window: Window,
    range: Range<usize>,
) -> CoreResult<SweepResult> {
    base.validate()?;
    validate_series(data)?;
    let (names, combos) = spec.combinations();
    let part = combos.get(range.clone()).ok_or_else(|| {
        CoreError::Config(format!(
            "sweep: chunk {}..{} outside the {} combinations",
            range.start,
            range.end,
            combos.len()
        ))
    })?;
    let rows = run_rows(base, &names, part, data, window, &spec.metric, &pool(spec.threads)?)?;
    Ok(SweepResult { metric: spec.metric.clone(), params: names, rows })
}

/// The rows of `s` with open time in `[from, to)`.
fn slice<'a>(s: &Series<'a>, from: i64, to: i64) -> Series<'a> {
    let t = s.cols.open_time;
    let (a, b) = (t.partition_point(|&x| x < from), t.partition_point(|&x| x < to));
    let sl = |c: &'a [f64]| &c[a..b];
    let mut out = *s;
    out.cols.open_time = &t[a..b];
    out.cols.open = sl(s.cols.open);
    out.cols.high = sl(s.cols.high);
    out.cols.low = sl(s.cols.low);
    out.cols.close = sl(s.cols.close);
    out.cols.volume = sl(s.cols.volume);
    out.cols.quote_volume = s.cols.quote_volume.map(sl);
    out.cols.trades = s.cols.trades.map(sl);
    out.cols.taker_buy_base = s.cols.taker_buy_base.map(sl);
    out.cols.closed = s.cols.closed.map(|c| &c[a..b]);
    out
}

/// The walk-forward windows over `[t0, t1)`: train windows of `train` ms,
/// test windows of `test` ms that follow each other without overlap and
/// cover `[t0 + train, t1)` (the last one may be shorter).
#[must_use]
pub fn windows(t0: i64, t1: i64, train: i64, test: i64) -> Vec<(i64, i64, i64)> {
    let mut out = Vec::new();
    let mut k = 0i64;
    loop {
        let train_start = t0 + k * test;
        let train_end = train_start + train;
        if train_end >= t1 {
            break;
        }
        out.push((train_start, train_end, (train_end + test).min(t1)));
        k += 1;
    }
    out
}

/// Walk-forward analysis: on each rolling window, the sweep's best
/// combination on the train part is run on the test part (the engine warmed
/// up on the train part, trading only in the test part).
///
/// # Errors
/// As [`run_sweep`], and `Config` without a `walk_forward` section or when
/// the data is shorter than one train window.
pub fn walk_forward(base: &BacktestConfig, spec: &SweepSpec, data: &[Series<'_>]) -> CoreResult<WalkForwardResult> {
    walk_forward_range(base, spec, data, None).map(|(r, _)| r)
}

/// Walk-forward analysis of the windows at positions `range` only (all when
/// `None`): each window is independent, so a distributed run sends them
/// apart. Returns the result and the number of windows the data gives.
///
/// # Errors
/// As [`walk_forward`], and `Config` for a range outside the windows.
pub fn walk_forward_range(
    base: &BacktestConfig,
    spec: &SweepSpec,
    data: &[Series<'_>],
    range: Option<Range<usize>>,
) -> CoreResult<(WalkForwardResult, usize)> {
    base.validate()?;
    validate_series(data)?;
    let wf = spec.walk_forward.ok_or_else(|| CoreError::Config("sweep: no `walk_forward` section".into()))?;
    let iv = data[0].interval.millis();
    let t0 = data.iter().filter_map(|s| s.cols.open_time.first()).min().copied().unwrap_or(0);
    let t1 = data.iter().filter_map(|s| s.cols.open_time.last()).max().copied().unwrap_or(0) + iv;
    let (train, test) = (wf.train_bars as i64 * iv, wf.test_bars as i64 * iv);
    let wins = windows(t0, t1, train, test);
    if wins.is_empty() {
        return Err(CoreError::Config(format!(
            "sweep: the data ({} bars) is shorter than one train window ({} bars)",
            (t1 - t0) / iv,
            wf.train_bars
        )));
    }
    let count = wins.len();
    let chosen = match range {
        None => &wins[..],
        Some(r) => wins.get(r.clone()).ok_or_else(|| {
            CoreError::Config(format!("walk-forward: windows {}..{} outside the {count} windows", r.start, r.end))
        })?,
    };
    let (names, combos) = spec.combinations();
    let pool = pool(spec.threads)?;
    let mut out = Vec::with_capacity(chosen.len());
    for &(a, b, c) in chosen {
        let train_data: Vec<Series<'_>> = data.iter().map(|s| slice(s, a, b)).collect();
        let test_data: Vec<Series<'_>> = data.iter().map(|s| slice(s, a, c)).collect();
        let rows = run_all(base, &names, &combos, &train_data, Window::default(), &spec.metric, &pool)?;
        let best = &rows[0];
        let cfg = apply(base, &names, &best.values)?;
        let r = run_validated(&cfg, &test_data, Window { start: Some(b), end: Some(c) }, None)?;
        let st = r.stats();
        out.push(WalkForwardWindow {
            train_start: a,
            train_end: b,
            test_end: c,
            best: best.values.clone(),
            train_score: best.score,
            test_score: score(&st, &spec.metric),
            test: st,
        });
    }
    Ok((WalkForwardResult { metric: spec.metric.clone(), params: names, windows: out }, count))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_is_the_cartesian_product_in_key_order() {
        let s = SweepSpec::from_json(r#"{"grid": {"b": [1, 2], "a": ["x", "y", "z"]}}"#).unwrap();
        let (names, combos) = s.combinations();
        assert_eq!(names, vec!["a", "b"]);
        assert_eq!(combos.len(), 6);
        assert_eq!(combos[1], vec![Value::from("x"), Value::from(2)]);
    }

    #[test]
    fn random_draws_are_seeded_and_in_range() {
        let text = r#"{"random": {"n": 200, "seed": 3, "params": {"a": {"min": 1, "max": 4}, "b": {"min": 10, "max": 12, "int": true}, "c": ["p", "q"]}}}"#;
        let s = SweepSpec::from_json(text).unwrap();
        let (_, c1) = s.combinations();
        assert_eq!(c1, s.combinations().1);
        for c in &c1 {
            let a = c[0].as_f64().unwrap();
            assert!((1.0..4.0).contains(&a));
            assert!((10..=12).contains(&c[1].as_i64().unwrap()));
        }
        for v in 10..=12 {
            assert!(c1.iter().any(|c| c[1].as_i64() == Some(v)), "{v} never drawn");
        }
    }

    #[test]
    fn rank_key_orders_as_total_cmp() {
        let xs = [f64::NEG_INFINITY, -1e300, -1.0, -0.0, 0.0, 1e-300, 2.5, f64::INFINITY];
        for a in xs {
            for b in xs {
                assert_eq!(rank_key(a).cmp(&rank_key(b)), a.total_cmp(&b), "{a} vs {b}");
            }
        }
    }

    #[test]
    fn ranking_is_stable_best_first() {
        let row = |v: i64, score: f64| SweepRow { values: vec![Value::from(v)], stats: Stats::default(), score };
        let mut rows = vec![row(0, 1.0), row(1, f64::NEG_INFINITY), row(2, 3.0), row(3, 1.0), row(4, f64::INFINITY)];
        rank(&mut rows);
        let order: Vec<i64> = rows.iter().map(|r| r.values[0].as_i64().unwrap()).collect();
        assert_eq!(order, vec![4, 2, 0, 3, 1]);
    }

    #[test]
    fn plan_counts_and_checks_every_combination() {
        let base = BacktestConfig::default();
        let s = SweepSpec::from_json(r#"{"grid": {"stops.trail_pct": [0, 1, 2], "stops.stop_atr": [1, 2]}}"#).unwrap();
        assert_eq!(plan(&base, &s).unwrap(), (vec!["stops.stop_atr".into(), "stops.trail_pct".into()], 6));
        let bad = SweepSpec::from_json(r#"{"grid": {"stops.nope": [1]}}"#).unwrap();
        assert!(plan(&base, &bad).is_err());
    }

    #[test]
    fn windows_do_not_overlap_and_cover_the_span() {
        let w = windows(0, 1_000, 300, 200);
        assert_eq!(w, vec![(0, 300, 500), (200, 500, 700), (400, 700, 900), (600, 900, 1_000)]);
        for p in w.windows(2) {
            assert_eq!(p[0].2, p[1].1);
        }
        assert!(windows(0, 100, 300, 200).is_empty());
    }

    #[test]
    fn bad_specs_and_paths_are_refused() {
        assert!(SweepSpec::from_json(r#"{"grid": {}}"#).is_err());
        assert!(SweepSpec::from_json(r#"{"metric": "luck", "grid": {"a": [1]}}"#).is_err());
        let base = BacktestConfig::default();
        let e = apply(&base, &["stops.nope".into()], &[Value::from(1)]).unwrap_err();
        assert!(e.to_string().contains("nope"), "{e}");
        let e = apply(&base, &["nothere.x".into()], &[Value::from(1)]).unwrap_err();
        assert!(e.to_string().contains("no key `nothere`"), "{e}");
        let c = apply(&base, &["engine.signals.entry_threshold".into()], &[Value::from(61)]).unwrap();
        assert_eq!(c.engine.signals.entry_threshold, 61.0);
    }
}
