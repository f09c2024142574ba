//! The engine's per-kline cost for one engine configuration, without
//! criterion's adaptive iteration counts: `reps` runs of `MarketEngine::on_kline`
//! over BTCUSDT's month of 1m candles tiled 24 times (1,036,776 klines).
//!
//! ```sh
//! # the on-CPU figure discounts the time other jobs preempted this one
//! cargo run --release --example engine_cost -- '{"strategy": "rsi_macd"}' 7
//! cargo run --release --example engine_cost -- '{}' 7 batch   # through `on_klines_into` (columns made first)
//! # instructions, independent of the machine's load: the difference of 2 runs and 1 run
//! valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=/dev/null \
//!     target/release/examples/engine_cost '{}' 1
//! ```
use std::path::PathBuf;
use std::time::Instant;

use avd_core::candles::{Candle, Interval};
use avd_core::config::EngineConfig;
use avd_core::engine::{BatchOutput, KlineColumns, MarketEngine};
use avd_core::history::{read_candle_file, CandleColumns};
use avd_core::patterns::Features;

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
    let reps: usize = std::env::args().nth(2).map_or(7, |s| s.parse().expect("reps is a number"));
    // a third argument `batch`: the whole series through one `on_klines`;
    // `hash`: also a checksum of every kline's features and score (to check
    // that a change leaves the outputs bit for bit as they were)
    let batch = std::env::args().nth(3).is_some_and(|a| a == "batch");
    let hash = std::env::args().nth(3).is_some_and(|a| a == "hash");
    let mut checksum = Checksum::default();
    let cfg = EngineConfig::from_json(&json).expect("a valid engine configuration");
    let bars = million_bars();
    let n = bars.open_time.len();
    let mut times = Vec::with_capacity(reps);
    let mut cpu = Vec::with_capacity(reps);
    let mut signals = 0usize;
    for _ in 0..reps {
        // the output columns of the batch, made (and their pages touched)
        // before the clock starts: the engine is measured, not the allocator
        let mut out = BatchOutput::zeroed(if batch { n } else { 0 });
        {
            let cols = out.columns();
            cols.timestamp.fill(1);
            cols.score.fill(1.0);
            cols.direction.fill(1);
            cols.pattern.fill(1);
            for c in cols.components {
                c.fill(1.0);
            }
        }
        let t = Instant::now();
        let c0 = thread_cpu_ns();
        let mut engine = MarketEngine::new(cfg.clone()).expect("a valid engine configuration");
        let id = engine.track("BTCUSDT", Interval::M1).expect("a valid symbol");
        signals = 0;
        if batch {
            let cols =
                KlineColumns::ohlcv(&bars.open_time, &bars.open, &bars.high, &bars.low, &bars.close, &bars.volume);
            signals = engine.on_klines_into(id, &cols, true, &mut out.columns()).expect("sane candles").signals.len();
        }
        for i in (0..n).filter(|_| !batch) {
            let c = Candle::ohlcv(
                bars.open_time[i],
                bars.open[i],
                bars.high[i],
                bars.low[i],
                bars.close[i],
                bars.volume[i],
            );
            let step = engine.on_kline(id, &c, true, true).expect("sane candles");
            signals += usize::from(step.signal.is_some());
            if hash {
                checksum.features(engine.stream(id).expect("tracked").features().current());
                checksum.add(engine.context(id).map_or(f64::NAN, |c| c.score));
            }
        }
        times.push(t.elapsed().as_secs_f64() * 1e9 / n as f64);
        cpu.push((thread_cpu_ns() - c0) / n as f64);
    }
    times.sort_by(f64::total_cmp);
    cpu.sort_by(f64::total_cmp);
    println!(
        "{json}: {n} klines, {signals} signals; ns per kline: min {:.1}, median {:.1} of {reps} runs; \
         on-CPU ns per kline (time not preempted by other jobs): min {:.1}, median {:.1}",
        times[0],
        times[times.len() / 2],
        cpu[0],
        cpu[cpu.len() / 2]
    );
    if hash {
        println!("checksum of the features and scores: {:016x}", checksum.0);
    }
}

/// FNV-1a over the bits of every value.
struct Checksum(u64);

impl Default for Checksum {
    fn default() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }
}

impl Checksum {
    fn add(&mut self, v: f64) {
        // every NaN alike
        let bits = if v.is_nan() { f64::NAN.to_bits() } else { v.to_bits() };
        for b in bits.to_le_bytes() {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn features(&mut self, f: &Features) {
        let ints = [f.open_time as f64];
        let values = [
            f.close,
            f.volume,
            f.ema_fast,
            f.ema_slow,
            f.ema_slow_prev,
            f.rsi,
            f.atr,
            f.bb_upper,
            f.bb_middle,
            f.bb_lower,
            f.bb_width,
            f.width_rank,
            f.channel_high,
            f.channel_low,
            f.obv,
            f.obv_ema,
            f.volume_z,
            f.adx,
            f.plus_di,
            f.minus_di,
            f.macd_hist,
            f.taker_share,
            f.delta_share,
        ];
        for v in ints.into_iter().chain(values) {
            self.add(v);
        }
    }
}

/// This thread's time on a CPU so far, in ns (Linux's schedstat; NaN
/// elsewhere): on a shared machine, the time other jobs preempted it is not
/// counted.
fn thread_cpu_ns() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<f64>().ok())
        .unwrap_or(f64::NAN)
}
