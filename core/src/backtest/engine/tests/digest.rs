//! A refactor's safety net: the engine's results on a synthetic run of
//! three symbols (external and engine signals, a lower timeframe, gaps,
//! partial targets, trailing, break-even, chandelier and time stops, shorts,
//! base-commission dust, slippage, latencies within and beyond a candle, a
//! position cap, cash limits, coarse filters) hashed bit for bit.
use std::sync::atomic::{AtomicU64, Ordering};

use super::{cols, owned, Owned};
use crate::backtest::config::{BacktestConfig, FillsConfig, FilterConfig, IntrabarRule, TakeProfitConfig};
use crate::backtest::engine::{run_backtest, LowerSeries, Series, Window};
use crate::backtest::result::{BacktestResult, ExitReason};
use crate::candles::Interval;

/// A deterministic generator (Knuth's MMIX LCG), uniform in [0, 1).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }

    /// +1 with probability `buy`, -1 with `sell`, else 0.
    fn signal(&mut self, buy: f64, sell: f64) -> i8 {
        let u = self.next();
        if u < buy {
            1
        } else if u < buy + sell {
            -1
        } else {
            0
        }
    }
}

/// `n` candles of a random walk from `p0` on a grid of `tick`.
fn walk(rng: &mut Lcg, n: usize, p0: f64, vol: f64, tick: f64) -> Vec<(f64, f64, f64, f64)> {
    let on_grid = |x: f64| (x / tick).round() * tick;
    let mut p = p0;
    (0..n)
        .map(|_| {
            let o = p;
            p *= 1.0 + (rng.next() - 0.5) * vol;
            let h = o.max(p) * (1.0 + rng.next() * vol * 0.4);
            let l = o.min(p) * (1.0 - rng.next() * vol * 0.4);
            (on_grid(o), on_grid(h), on_grid(l), on_grid(p))
        })
        .collect()
}

/// Drops rows `range` (a gap in the data).
fn drop_rows(d: &mut Owned, range: std::ops::Range<usize>) {
    d.t.drain(range.clone());
    d.o.drain(range.clone());
    d.h.drain(range.clone());
    d.l.drain(range.clone());
    d.c.drain(range.clone());
    d.v.drain(range);
}

/// Three 5-minute symbols for the digest: A (tick 0.01, step 0.001)
/// with external signals and a 1-minute series (missing over a stretch);
/// B (tick 0.05, not a power of ten; step 0.1) starting later, with a
/// gap and clustered external signals; C (tick 0.001, whole units: large
/// dust) on the engine's own signals.
struct Digest {
    a: Owned,
    a_lower: Owned,
    b: Owned,
    c: Owned,
    sig_a: Vec<i8>,
    sig_b: Vec<i8>,
}

const T5: i64 = 1_699_999_800_000; // a whole 5 minutes

fn digest_data() -> Digest {
    let mut rng = Lcg(7);
    let n = 1_500;
    let minutes = walk(&mut rng, n * 5, 100.0, 0.006, 0.01);
    let mut a_lower = owned(&minutes, T5, 60_000);
    let a_rows: Vec<_> = minutes
        .chunks(5)
        .map(|m| {
            let h = m.iter().map(|r| r.1).fold(f64::MIN, f64::max);
            let l = m.iter().map(|r| r.2).fold(f64::MAX, f64::min);
            (m[0].0, h, l, m[4].3)
        })
        .collect();
    let a = owned(&a_rows, T5, 300_000);
    drop_rows(&mut a_lower, 2_000..2_600);
    let mut b = owned(&walk(&mut rng, n - 40, 20.0, 0.012, 0.05), T5 + 40 * 300_000, 300_000);
    drop_rows(&mut b, 700..760);
    let c = owned(&walk(&mut rng, n, 3.0, 0.01, 0.001), T5, 300_000);
    let sig_a = (0..a.t.len()).map(|_| rng.signal(0.05, 0.03)).collect();
    let mut sig_b = Vec::with_capacity(b.t.len());
    while sig_b.len() < b.t.len() {
        let s = rng.signal(0.02, 0.02);
        let run = if s == 0 { 1 } else { 1 + (rng.next() * 4.0) as usize };
        sig_b.extend(std::iter::repeat_n(s, run));
    }
    sig_b.truncate(b.t.len());
    Digest { a, a_lower, b, c, sig_a, sig_b }
}

fn digest_series(d: &Digest) -> [Series<'_>; 3] {
    let l = &d.a_lower;
    [
        Series {
            symbol: "AUSDT",
            interval: Interval::M5,
            cols: cols(&d.a),
            lower: Some(LowerSeries {
                interval: Interval::M1,
                open_time: &l.t,
                open: &l.o,
                high: &l.h,
                low: &l.l,
                close: &l.c,
            }),
            signals: Some(&d.sig_a),
        },
        Series { symbol: "BUSDT", interval: Interval::M5, cols: cols(&d.b), lower: None, signals: Some(&d.sig_b) },
        Series { symbol: "CUSDT", interval: Interval::M5, cols: cols(&d.c), lower: None, signals: None },
    ]
}

/// Percent stops, a trail after 0.5 R, break-even at 1 R, two partial
/// targets, shorts, slippage, a latency inside the candle, two
/// positions at most, 40 % of equity each.
fn digest_cfg() -> BacktestConfig {
    let mut c = BacktestConfig::default();
    c.engine.signals.entry_threshold = 55.0;
    c.engine.signals.rearm_threshold = 45.0;
    c.risk_pct = 2.0;
    c.max_position_pct = 40.0;
    c.max_positions = 2;
    c.allow_short = true;
    c.stops.stop_atr = 0.0;
    c.stops.stop_pct = 1.5;
    c.stops.trail_pct = 1.0;
    c.stops.trail_after_r = 0.5;
    c.stops.breakeven_after_r = 1.0;
    c.stops.take_profits = vec![TakeProfitConfig { r: 1.0, fraction: 0.3 }, TakeProfitConfig { r: 2.0, fraction: 0.3 }];
    c.fills.slippage_bps = 3.0;
    c.fills.latency_ms = 20_000;
    let f = |tick_size, step_size, min_notional| FilterConfig { tick_size, step_size, min_qty: 0.0, min_notional };
    c.filters.insert("AUSDT".into(), f(0.01, 0.001, 5.0));
    c.filters.insert("BUSDT".into(), f(0.05, 0.1, 10.0));
    c.filters.insert("CUSDT".into(), f(0.001, 1.0, 5.0));
    c
}

/// FNV-1a over every field of every trade, every step's time and
/// equity (as bits) and the counters.
fn digest(r: &BacktestResult) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut put = |w: u64| {
        for b in w.to_le_bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    };
    put(r.trades.len() as u64);
    for t in &r.trades {
        for w in [t.symbol as u64, t.side as u64, t.signal_time as u64, t.entry_time as u64, t.exit_time as u64] {
            put(w);
        }
        for w in [t.entry_bar as u64, t.exit_bar as u64, u64::from(t.partials), t.reason as u64] {
            put(w);
        }
        for x in [t.entry_price, t.exit_price, t.qty, t.pnl, t.return_pct, t.fees, t.stop] {
            put(x.to_bits());
        }
    }
    put(r.times.len() as u64);
    for (&t, &e) in r.times.iter().zip(&r.equity) {
        put(t as u64);
        put(e.to_bits());
    }
    let k = r.counters;
    for w in [k.candles, k.signals, k.skipped, k.stop_moves, k.lower_tf_bars, r.bars_in_market as u64] {
        put(w);
    }
    put(r.periods_per_year.to_bits());
    h
}

#[test]
fn a_refactor_keeps_every_result_bit_for_bit() {
    // Digests of the engine's results on `digest_data`, recorded from the
    // engine before it was split into modules: any change in a trade, a
    // fee, an equity point or a counter changes them.
    let d = digest_data();
    let s = digest_series(&d);
    let base = digest_cfg();
    let mut atr = base.clone();
    atr.risk_pct = 25.0;
    atr.max_position_pct = 100.0;
    atr.max_positions = 0;
    atr.allow_short = false;
    atr.stops.stop_atr = 1.5;
    atr.stops.chandelier_atr = 3.0;
    atr.stops.time_stop_bars = 12;
    atr.stops.take_profits = vec![TakeProfitConfig { r: 1.5, fraction: 0.5 }];
    atr.fills = FillsConfig { maker_bps: 2.0, taker_bps: 7.5, bnb_discount: true, slippage_bps: 0.0, latency_ms: 0 };
    atr.intrabar = IntrabarRule::Direction;
    // Orders wait more than a candle: stops meet pending exits.
    let mut slow = base.clone();
    slow.fills.latency_ms = 400_000;
    slow.intrabar = IntrabarRule::NearestFirst;
    let mut hold = base.clone();
    hold.exit_on_opposite = false;
    // C's step too coarse to hold anything after the commission; B's
    // minimum above what two partial exits leave (no exit order).
    let mut coarse = base.clone();
    coarse
        .filters
        .insert("CUSDT".into(), FilterConfig { tick_size: 0.001, step_size: 1_000.0, min_qty: 0.0, min_notional: 5.0 });
    coarse
        .filters
        .insert("BUSDT".into(), FilterConfig { tick_size: 0.05, step_size: 0.1, min_qty: 150.0, min_notional: 10.0 });
    coarse.stops.take_profits = vec![TakeProfitConfig { r: 0.5, fraction: 0.5 }];
    let window = Window { start: Some(T5 + 100 * 300_000), end: Some(T5 + 1_200 * 300_000) };
    let runs = [
        (&base, Window::default()),
        (&atr, Window::default()),
        (&slow, window),
        (&hold, window),
        (&coarse, Window::default()),
    ];
    let progress = AtomicU64::new(0);
    let results: Vec<BacktestResult> =
        runs.iter().map(|(c, w)| run_backtest(c, &s, *w, Some(&progress)).unwrap()).collect();
    assert_eq!(progress.load(Ordering::Relaxed), results[4].counters.candles);
    // The data reaches what the digest is meant to guard.
    let all = || results.iter().flat_map(|r| &r.trades);
    assert!(all().any(|t| t.side < 0) && all().any(|t| t.partials == 2), "shorts and partial exits");
    for reason in [ExitReason::TrailingStop, ExitReason::TimeStop, ExitReason::Signal, ExitReason::EndOfData] {
        assert!(all().any(|t| t.reason == reason), "{reason:?}");
    }
    assert!(results.iter().all(|r| r.counters.lower_tf_bars > 0 && r.counters.skipped > 0));
    let got: Vec<(usize, u64)> = results.iter().map(|r| (r.trades.len(), digest(r))).collect();
    let want = [
        (113, 25_563_890_625_996_800),
        (62, 8_902_536_044_843_333_153),
        (82, 7_904_326_663_562_439_210),
        (83, 4_873_432_139_588_716_032),
        (111, 9_072_628_743_843_655_649),
    ];
    assert_eq!(got, want);
}
