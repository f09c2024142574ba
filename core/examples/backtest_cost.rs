//! The strategy backtest's cost per candle, without criterion's adaptive
//! iteration counts: `reps` runs of `run_backtest` (the default
//! configuration, or the JSON given) over BTCUSDT's month of 1m candles
//! tiled 24 times (1,036,776 candles), then its statistics.
//!
//! ```sh
//! cargo build --profile bench --example backtest_cost
//! target/release/examples/backtest_cost '{}' 5
//! valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=cg.out \
//!     target/release/examples/backtest_cost '{}' 1
//! ```
use std::path::PathBuf;
use std::time::Instant;

use avd_core::backtest::{run_backtest, BacktestConfig, Series, Window};
use avd_core::candles::Interval;
use avd_core::engine::KlineColumns;
use avd_core::history::{read_candle_file, CandleColumns};

fn million_bars() -> CandleColumns {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/BTCUSDT-1m.csv.gz");
    let one = read_candle_file(&path).expect("the shared real data (../shared/data) is needed");
    let span = one.open_time[one.len() - 1] - one.open_time[0] + 60_000;
    let mut all = CandleColumns::default();
    for k in 0..24 {
        all.open_time.extend(one.open_time.iter().map(|t| t + span * k));
        all.open.extend(&one.open);
        all.high.extend(&one.high);
        all.low.extend(&one.low);
        all.close.extend(&one.close);
        all.volume.extend(&one.volume);
    }
    all
}

fn main() {
    let json = std::env::args().nth(1).unwrap_or_else(|| "{}".into());
    let reps: usize = std::env::args().nth(2).map_or(5, |s| s.parse().expect("reps is a number"));
    let cfg = BacktestConfig::from_json(&json).expect("a valid backtest configuration");
    let bars = million_bars();
    let n = bars.open_time.len();
    let data = [Series {
        symbol: "BTCUSDT",
        interval: Interval::M1,
        cols: KlineColumns::ohlcv(&bars.open_time, &bars.open, &bars.high, &bars.low, &bars.close, &bars.volume),
        lower: None,
        signals: None,
    }];
    let (mut wall, mut cpu, mut stats_cpu) = (Vec::new(), Vec::new(), Vec::new());
    let mut trades = 0;
    let mut last_equity = 0.0;
    for _ in 0..reps {
        let t = Instant::now();
        let c0 = thread_cpu_ns();
        let r = run_backtest(&cfg, &data, Window::default(), None).expect("a valid run");
        let c1 = thread_cpu_ns();
        wall.push(t.elapsed().as_secs_f64() * 1e9 / n as f64);
        cpu.push((c1 - c0) / n as f64);
        let s = r.stats();
        stats_cpu.push((thread_cpu_ns() - c1) / n as f64);
        trades = s.trades;
        last_equity = r.equity.last().copied().unwrap_or(f64::NAN);
    }
    for v in [&mut wall, &mut cpu, &mut stats_cpu] {
        v.sort_by(f64::total_cmp);
    }
    println!(
        "{json}: {n} candles, {trades} trades, final equity {last_equity}; ns per candle: min {:.1}, median {:.1} \
         of {reps} runs; on-CPU min {:.1}, median {:.1}; stats on-CPU min {:.1}",
        wall[0],
        wall[wall.len() / 2],
        cpu[0],
        cpu[cpu.len() / 2],
        stats_cpu[0]
    );
}

/// This thread's time on a CPU so far, in ns (Linux's schedstat; NaN
/// elsewhere).
fn thread_cpu_ns() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<f64>().ok())
        .unwrap_or(f64::NAN)
}
