//! Batch indicators' cost in Rust on the million real bars (BTCUSDT's month
//! of 1m candles tiled 24 times), min of `reps` runs, into output columns
//! made and touched before the clock starts. The side-by-side ratios with
//! TA-Lib are `make bench`'s; this is for iterating on a kernel.
//!
//! ```sh
//! cargo run --release --example indicator_cost -- sma,wma,stddev,atr,bbands 200
//! ```
use std::path::PathBuf;
use std::time::Instant;

use avd_core::history::read_candle_file;
use avd_core::indicators as ind;

fn main() {
    let names = std::env::args().nth(1).unwrap_or_else(|| "sma,wma,stddev,atr".into());
    let reps: usize = std::env::args().nth(2).map_or(200, |s| s.parse().expect("reps is a number"));
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/BTCUSDT-1m.csv.gz");
    let one = read_candle_file(&path).expect("the shared real data (../shared/data) is needed");
    let tile = |v: &[f64]| v.repeat(24);
    let (high, low, close) = (tile(&one.high), tile(&one.low), tile(&one.close));
    let n = close.len();
    let mut out = vec![1.0; n];
    let (mut out2, mut out3) = (vec![1.0; n], vec![1.0; n]);
    for name in names.split(',') {
        let mut best = f64::INFINITY;
        let mut check = 0.0;
        for _ in 0..reps {
            let t = Instant::now();
            match name {
                "sma" => ind::sma_into(&close, 30, &mut out),
                "wma" => ind::wma_into(&close, 30, &mut out),
                "stddev" => ind::stddev_into(&close, 20, 1.0, &mut out),
                "atr" => ind::atr_into(&high, &low, &close, 14, &mut out),
                "bbands" => ind::bbands_into(&close, 20, 2.0, 2.0, [&mut out, &mut out2, &mut out3]),
                other => panic!("unknown indicator {other}"),
            }
            .expect("valid input");
            best = best.min(t.elapsed().as_secs_f64());
            check = out[n - 1];
        }
        #[allow(clippy::cast_precision_loss)]
        let per_bar = best * 1e9 / n as f64;
        println!("{name:8} {:7.3} ms  {per_bar:5.3} ns/bar  (last {check})", best * 1e3);
    }
}
