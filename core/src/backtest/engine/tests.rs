//! The engine on hand-worked examples; [`digest`] pins a large run bit for
//! bit.
mod digest;

use super::*;
use crate::backtest::config::{FilterConfig, IntrabarRule, TakeProfitConfig};
use crate::backtest::result::ExitReason;
use crate::candles::Interval;
use crate::engine::KlineColumns;

pub(crate) struct Owned {
    pub t: Vec<i64>,
    pub o: Vec<f64>,
    pub h: Vec<f64>,
    pub l: Vec<f64>,
    pub c: Vec<f64>,
    pub v: Vec<f64>,
}

pub(crate) fn owned(rows: &[(f64, f64, f64, f64)], t0: i64, step: i64) -> Owned {
    Owned {
        t: (0..rows.len() as i64).map(|i| t0 + i * step).collect(),
        o: rows.iter().map(|r| r.0).collect(),
        h: rows.iter().map(|r| r.1).collect(),
        l: rows.iter().map(|r| r.2).collect(),
        c: rows.iter().map(|r| r.3).collect(),
        v: vec![1_000.0; rows.len()],
    }
}

pub(crate) fn cols(d: &Owned) -> KlineColumns<'_> {
    KlineColumns::ohlcv(&d.t, &d.o, &d.h, &d.l, &d.c, &d.v)
}

/// tick 0.01, step 0.001, minNotional 5; stop 10 % below the signal
/// close; 1 % risk of 10 000; fees 0.1 %; no slippage, no latency.
fn cfg() -> BacktestConfig {
    let mut c = BacktestConfig::default();
    c.stops.stop_atr = 0.0;
    c.stops.stop_pct = 10.0;
    c.default_filters = FilterConfig { tick_size: 0.01, step_size: 0.001, min_qty: 0.0, min_notional: 5.0 };
    c
}

const T0: i64 = 1_700_000_040_000; // a whole minute

/// Flat at 100, a BUY at the close of bar 2; bar 3 opens at 101; bar 5
/// goes down to 90 (through the stop) and up to 112.
fn rows() -> Vec<(f64, f64, f64, f64)> {
    vec![
        (100.0, 100.5, 99.5, 100.0),
        (100.0, 100.5, 99.5, 100.0),
        (100.0, 100.5, 99.5, 100.0),
        (101.0, 103.0, 100.0, 102.0),
        (102.0, 102.5, 100.5, 101.0),
        (101.0, 112.0, 90.0, 105.0),
        (105.0, 106.0, 104.0, 105.0),
    ]
}

fn run(c: &BacktestConfig, lower: Option<&Owned>) -> BacktestResult {
    let d = owned(&rows(), T0, 60_000);
    let mut sig = vec![0i8; d.t.len()];
    sig[2] = 1;
    let s = Series {
        symbol: "TESTUSDT",
        interval: Interval::M1,
        cols: cols(&d),
        lower: lower.map(|l| LowerSeries {
            interval: Interval::S1,
            open_time: &l.t,
            open: &l.o,
            high: &l.h,
            low: &l.l,
            close: &l.c,
        }),
        signals: Some(&sig),
    };
    run_backtest(c, &[s], Window::default(), None).unwrap()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[test]
fn fees_on_a_stopped_long_match_the_hand_computation() {
    // Sized at the signal: risk 100 over 100.00 - 90.00 → 10.000 units.
    // Filled at bar 3's open 101.00; the 0.1 % commission is 0.010 of
    // the units bought, so 9.990 are held and the entry fee is
    // 0.010 × 101 = 1.01. Stop 101 - 10 = 91.00, hit inside bar 5 → exit
    // of 9.990 at 91.00: fee 0.1 % × 909.09 = 0.90909; gross
    // −10 × 9.99 = −99.9 → pnl −101.81909.
    let r = run(&cfg(), None);
    assert_eq!(r.trades.len(), 1);
    let t = r.trades[0];
    assert_eq!((t.entry_price, t.exit_price, t.qty, t.stop), (101.0, 91.0, 9.99, 91.0));
    assert_eq!((t.entry_time, t.exit_time), (T0 + 3 * 60_000, T0 + 5 * 60_000 + 19_999));
    assert_eq!((t.entry_bar, t.exit_bar, t.reason), (3, 5, ExitReason::StopLoss));
    assert!(close(t.fees, 1.91909) && close(t.pnl, -101.81909), "{t:?}");
    assert!(close(*r.equity.last().unwrap(), 10_000.0 - 101.81909));
    // Marked to market at bar 4's close (101): fee paid, nothing else.
    assert!(close(r.equity[4], 10_000.0 - 1.01));
    assert_eq!(r.times[0], T0 + 59_999);
}

#[test]
fn slippage_moves_both_fills_against_the_trader() {
    // 5 bps: BUY at 101 × 1.0005 = 101.0505 → 101.06 (up to the tick);
    // stop 91.06; SELL of the 9.99 held at 91.06 × 0.9995 = 91.01447 →
    // 91.01 (down). Fees 0.01 × 101.06 = 1.0106 and 0.1 % × 909.1899 =
    // 0.9091899; gross (91.01 − 101.06) × 9.99 = −100.3995 → pnl
    // −102.3192899.
    let mut c = cfg();
    c.fills.slippage_bps = 5.0;
    let t = run(&c, None).trades[0];
    assert_eq!((t.entry_price, t.exit_price, t.stop), (101.06, 91.01, 91.06));
    assert!(close(t.pnl, -102.319_289_9), "{t:?}");
}

#[test]
fn latency_fills_at_the_first_path_price_after_it() {
    // Signal at bar 2's close (T0 + 179_999). 30 s latency → arrives at
    // bar 3 + 29_999; bar 3 (bullish: 101 → 100 → 103 → 102, points at
    // +0, +19_999, +39_999, +59_999) first prices it at 103 (+39_999).
    let mut c = cfg();
    c.fills.latency_ms = 30_000;
    let t = run(&c, None).trades[0];
    assert_eq!((t.entry_price, t.entry_time), (103.0, T0 + 3 * 60_000 + 39_999));
    // One minute → bar 3's close, 102.
    c.fills.latency_ms = 60_000;
    let t = run(&c, None).trades[0];
    assert_eq!((t.entry_price, t.entry_time), (102.0, T0 + 3 * 60_000 + 59_999));
    // None (or 1 ms) → bar 3's open.
    c.fills.latency_ms = 1;
    assert_eq!(run(&c, None).trades[0].entry_price, 101.0);
}

#[test]
fn stop_and_target_in_one_candle_resolve_worst_case_unless_told() {
    // Target 1R = 101 + 10 = 111; bar 5 spans 90..112: both inside.
    let mut c = cfg();
    c.stops.take_profits = vec![TakeProfitConfig { r: 1.0, fraction: 1.0 }];
    let t = run(&c, None).trades[0];
    assert_eq!((t.reason, t.exit_price), (ExitReason::StopLoss, 91.0));
    c.intrabar = IntrabarRule::Best;
    let t = run(&c, None).trades[0];
    // The target: a maker fill of the 9.99 held at 111, fee 0.1 % ×
    // 1108.89 = 1.10889 → pnl 99.9 − 1.01 − 1.10889 = 97.78111.
    assert_eq!((t.reason, t.exit_price), (ExitReason::TakeProfit, 111.0));
    assert!(close(t.pnl, 97.781_11), "{t:?}");
}

#[test]
fn a_lower_timeframe_series_decides_which_came_first() {
    // Inside bar 5, the 1 s candles go up to 112 first, then down to 90:
    // the target fills even under the worst-case rule (at 112 on the
    // sub-candle's path 101 → 101 → 112, timed at +666 ms).
    let mut c = cfg();
    c.stops.take_profits = vec![TakeProfitConfig { r: 1.0, fraction: 1.0 }];
    let t5 = T0 + 5 * 60_000;
    let sub = owned(&[(101.0, 112.0, 101.0, 111.0), (111.0, 111.0, 90.0, 105.0)], t5, 1_000);
    let r = run(&c, Some(&sub));
    let t = r.trades[0];
    assert_eq!((t.reason, t.exit_price, t.exit_time), (ExitReason::TakeProfit, 111.0, t5 + 666));
    assert_eq!(r.counters.lower_tf_bars, 1); // only bar 5 has finer candles
                                             // The opposite order in the finer series → the stop.
    let sub = owned(&[(101.0, 101.0, 90.0, 95.0), (95.0, 112.0, 95.0, 105.0)], t5, 1_000);
    assert_eq!(run(&c, Some(&sub)).trades[0].reason, ExitReason::StopLoss);
}

#[test]
fn filters_refuse_small_orders_and_round_the_size_down() {
    // 0.1 % of 10 000 = 10 over a 10.00 stop → 1.000 unit = 100 USDT:
    // fine; 0.004 % → 0.04 unit = 4 USDT < minNotional 5: refused.
    let mut c = cfg();
    c.risk_pct = 0.004;
    let r = run(&c, None);
    assert!(r.trades.is_empty());
    assert_eq!(r.counters.skipped, 1);
    // 1 % over a 30 % stop: 100 / 30.00 = 3.333… → 3.333 (step 0.001)
    // bought; less the 0.003333 commission, 3.329 held (down to the step).
    c.risk_pct = 1.0;
    c.stops.stop_pct = 30.0;
    assert_eq!(run(&c, None).trades[0].qty, 3.329);
}

#[test]
fn dust_below_the_step_stays_on_the_account_and_is_not_a_fee() {
    // 1 % over a 30 % stop: 3.333 bought at bar 3's open 101.00. The
    // 0.1 % commission is 0.003333 (fee 0.003333 × 101 = 0.336633);
    // 3.329667 are left, 3.329 held (down to the step 0.001) and 0.000667
    // stays as dust, paid 0.000667 × 101 = 0.067367: cash 9 999.596.
    let mut c = cfg();
    c.stops.stop_pct = 30.0;
    let r = run(&c, None);
    let t = r.trades[0];
    assert_eq!((t.qty, t.reason, t.exit_price), (3.329, ExitReason::EndOfData, 105.0));
    // At bar 3's close (102): 9 999.596 + 1 × 3.329 + 0.000667 × 102.
    assert!(close(r.equity[3], 10_002.993_034), "{}", r.equity[3]);
    // Closed at the last close 105 as taker: fee 0.1 % × 349.545 =
    // 0.349545; gross 4 × 3.329 = 13.316. The trade's fees are the two
    // commissions only (0.686178), its P&L 12.629822.
    assert!(close(t.fees, 0.686_178) && close(t.pnl, 12.629_822), "{t:?}");
    // The account keeps the dust at 105: 9 999.596 + 13.316 − 0.349545 +
    // 0.000667 × 105 = 10 012.63249.
    assert!(close(*r.equity.last().unwrap(), 10_012.632_49), "{}", r.equity.last().unwrap());
}

#[test]
fn symbols_are_merged_by_time_and_the_equity_is_sampled_once_per_step() {
    // A trades at T0..T0+3m, B at T0+1m..T0+4m (one minute later): five
    // steps. A BUY on A at step 0 fills at A's open of step 1 (101);
    // B never trades. Equity: 10 000, then marked at A's closes.
    let a =
        owned(&[(100.0, 100.0, 100.0, 100.0), (101.0, 103.0, 101.0, 102.0), (102.0, 104.0, 102.0, 104.0)], T0, 60_000);
    let b = owned(&[(50.0, 50.0, 50.0, 50.0); 4], T0 + 60_000, 60_000);
    let sig_a = [1i8, 0, 0];
    let series = [
        Series { symbol: "AUSDT", interval: Interval::M1, cols: cols(&a), lower: None, signals: Some(&sig_a) },
        Series { symbol: "BUSDT", interval: Interval::M1, cols: cols(&b), lower: None, signals: None },
    ];
    let r = run_backtest(&cfg(), &series, Window::default(), None).unwrap();
    assert_eq!(r.times, (0..5).map(|k| T0 + k * 60_000 + 59_999).collect::<Vec<_>>());
    // 10 units bought (1 % of 10 000 over a 10.00 stop), 9.99 held, entry
    // fee 0.01 × 101 = 1.01.
    let e0 = 10_000.0 - 1.01;
    let want = [10_000.0, e0 + 9.99, e0 + 29.97, e0 + 29.97];
    for (k, (&got, &w)) in r.equity.iter().zip(&want).enumerate() {
        assert!(close(got, w), "step {k}: {got} vs {w}");
    }
    // Closed at A's last close (104) at the end: fee 0.1 % × 1038.96 = 1.03896.
    let t = r.trades[0];
    assert_eq!((t.symbol, t.reason, t.exit_price, t.exit_bar), (0, ExitReason::EndOfData, 104.0, 4));
    assert!(close(*r.equity.last().unwrap(), e0 + 29.97 - 1.038_96));
    // Candles before `start` only warm up: nothing is traded or sampled.
    let r =
        run_backtest(&cfg(), &series, Window { start: Some(T0 + 60_000), end: Some(T0 + 3 * 60_000) }, None).unwrap();
    assert_eq!(r.times.len(), 2);
    assert!(r.trades.is_empty());
}

#[test]
fn a_sweep_gives_the_same_rows_on_one_thread_and_on_two() {
    use crate::backtest::sweep::{run_sweep, SweepSpec};
    // A deterministic random walk long enough for the engine's signals.
    let mut x: u64 = 42;
    let mut p = 100.0f64;
    let rows: Vec<_> = (0..6_000)
        .map(|_| {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            let r = ((x >> 33) as f64 / f64::from(1u32 << 31) - 0.5) * 0.01;
            let o = p;
            p *= 1.0 + r;
            (o, o.max(p) * 1.002, o.min(p) * 0.998, p)
        })
        .collect();
    let d = owned(&rows, T0, 60_000);
    let s = [Series { symbol: "RWUSDT", interval: Interval::M1, cols: cols(&d), lower: None, signals: None }];
    let mut base = BacktestConfig::default();
    base.engine.signals.entry_threshold = 55.0;
    base.engine.signals.rearm_threshold = 45.0;
    let text =
        |t: usize| format!(r#"{{"threads": {t}, "grid": {{"stops.stop_atr": [1, 2, 3], "stops.trail_pct": [0, 1]}}}}"#);
    let one = run_sweep(&base, &SweepSpec::from_json(&text(1)).unwrap(), &s, Window::default()).unwrap();
    let two = run_sweep(&base, &SweepSpec::from_json(&text(2)).unwrap(), &s, Window::default()).unwrap();
    assert_eq!(one.rows.len(), 6);
    assert!(one.rows.iter().any(|r| r.stats.trades > 0), "the walk gives signals");
    for (a, b) in one.rows.iter().zip(&two.rows) {
        assert_eq!(a.values, b.values);
        assert_eq!(a.stats.final_equity.to_bits(), b.stats.final_equity.to_bits());
    }
}

#[test]
fn open_positions_close_at_the_end_and_shorts_need_allow_short() {
    let mut c = cfg();
    c.stops.stop_pct = 50.0;
    let r = run(&c, None);
    let t = r.trades[0];
    assert_eq!((t.reason, t.exit_price), (ExitReason::EndOfData, 105.0));
    assert!(close(*r.equity.last().unwrap(), 10_000.0 + t.pnl));
    assert_eq!(r.bars_in_market, 4);
}

#[test]
fn walk_forward_window_by_window_equals_the_whole_run() {
    use crate::backtest::sweep::{walk_forward, walk_forward_range, SweepSpec};
    let mut x: u64 = 7;
    let mut p = 100.0f64;
    let rows: Vec<_> = (0..4_000)
        .map(|_| {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            let r = ((x >> 33) as f64 / f64::from(1u32 << 31) - 0.5) * 0.01;
            let o = p;
            p *= 1.0 + r;
            (o, o.max(p) * 1.002, o.min(p) * 0.998, p)
        })
        .collect();
    let d = owned(&rows, T0, 60_000);
    let s = [Series { symbol: "RWUSDT", interval: Interval::M1, cols: cols(&d), lower: None, signals: None }];
    let mut base = BacktestConfig::default();
    base.engine.signals.entry_threshold = 55.0;
    base.engine.signals.rearm_threshold = 45.0;
    let spec = SweepSpec::from_json(
        r#"{"threads": 1, "grid": {"stops.stop_atr": [1, 3]}, "walk_forward": {"train_bars": 1500, "test_bars": 800}}"#,
    )
    .unwrap();
    let whole = walk_forward(&base, &spec, &s).unwrap();
    let (_, count) = walk_forward_range(&base, &spec, &s, Some(0..0)).unwrap();
    assert_eq!(count, whole.windows.len());
    assert!(count >= 3);
    let parts: Vec<_> =
        (0..count).flat_map(|k| walk_forward_range(&base, &spec, &s, Some(k..k + 1)).unwrap().0.windows).collect();
    // Debug text: the statistics hold NaNs, which `==` never equates
    assert_eq!(format!("{parts:?}"), format!("{:?}", whole.windows));
    assert!(walk_forward_range(&base, &spec, &s, Some(count..count + 1)).is_err());
}
