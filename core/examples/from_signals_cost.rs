//! `from_signals` (its statistics fused in its pass) and, for comparison,
//! the statistics by a second pass over the curve, on the SMA(10)/SMA(30) crossover of
//! BTCUSDT's month of 1m candles tiled 24 times (the benchmark of
//! `benchmarks/test_backtest.py`), in ns per bar, best of `reps`:
//!
//! ```sh
//! cargo run --release --example from_signals_cost -- 30
//! ```
use std::path::PathBuf;
use std::time::Instant;

use avd_core::backtest::{compute_stats, from_signals_into, SignalInputs, SignalOptions};
use avd_core::history::read_candle_file;
use avd_core::indicators::sma;

/// Nanoseconds since `t0` (wall time: the best of many short runs is one
/// that no other job preempted; the kernel's on-CPU counter only moves at
/// the scheduler's tick, too coarse for a 10 ms run).
fn ns(t0: Instant) -> f64 {
    t0.elapsed().as_secs_f64() * 1e9
}

fn crossover(a: &[f64], b: &[f64]) -> Vec<bool> {
    let mut out = vec![false; a.len()];
    for i in 1..a.len() {
        out[i] = a[i] > b[i] && a[i - 1] <= b[i - 1];
    }
    out
}

fn main() {
    let reps: usize = std::env::args().nth(1).map_or(30, |s| s.parse().expect("reps is a number"));
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/BTCUSDT-1m.csv.gz");
    let one = read_candle_file(&path).expect("the shared real data (../shared/data) is needed");
    let tile = |x: &[f64]| x.repeat(24);
    let (open, high, low, close) = (tile(&one.open), tile(&one.high), tile(&one.low), tile(&one.close));
    let n = close.len();
    let (fast, slow) = (sma(&close, 10).expect("period"), sma(&close, 30).expect("period"));
    let (entries, exits) = (crossover(&fast, &slow), crossover(&slow, &fast));
    let inp = SignalInputs {
        open: &open,
        high: &high,
        low: &low,
        close: &close,
        entries: &entries,
        exits: &exits,
        short_entries: None,
        short_exits: None,
    };
    let opt = SignalOptions { fee: 0.001, init_cash: 10_000.0, size: 1.0, sl: None, tp: None, trailing: None };
    let mut equity = vec![0.0; n];
    let (mut fused, mut second_pass) = (f64::INFINITY, f64::INFINITY);
    let mut trades = 0;
    for _ in 0..reps {
        let t0 = Instant::now();
        let run = from_signals_into(&inp, &opt, &mut equity).expect("valid inputs");
        let s = std::hint::black_box(run.stats(525_600.0));
        let t = ns(t0);
        // the same statistics by a second pass over the curve (what the
        // strategy backtest does); they must be equal bit for bit
        let again = compute_stats(&equity, &run.trades, opt.init_cash, run.bars_in_market, 525_600.0);
        let u = ns(t0);
        assert_eq!(
            format!("{s:?}"),
            format!("{:?}", std::hint::black_box(again)),
            "fused and two-pass statistics differ"
        );
        trades = s.trades;
        fused = fused.min(t / n as f64);
        second_pass = second_pass.min((u - t) / n as f64);
    }
    println!(
        "{n} bars, {trades} trades; ns per bar, best of {reps}: run with its statistics {fused:.2}, \
         the statistics by a second pass {second_pass:.2}"
    );
}
