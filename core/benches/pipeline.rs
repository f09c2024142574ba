//! The streaming pipeline from Rust: one kline through ring buffer, every
//! indicator, the pattern detectors, the scorer and the signal evaluator,
//! in ns per kline, on ~1,000,000 real Binance 1m candles (BTCUSDT's month
//! from `../shared/data`, tiled 24 times with shifted open times).
use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use avd_core::candles::{Candle, Interval};
use avd_core::config::{EngineConfig, Strategy};
use avd_core::engine::{KlineColumns, MarketEngine};
use avd_core::history::{read_candle_file, CandleColumns};
use avd_core::indicators::{
    Adx, Atr, BBands, CloseVolume, Donchian, Ema, HighLow, Hlc, Indicator, Macd, Obv, Rsi, ZScore,
};
use avd_core::patterns::{self, FeatureSet, Features};
use avd_core::scoring::ContextScorer;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

const TILES: usize = 24;

fn million_bars() -> CandleColumns {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/BTCUSDT-1m.csv.gz");
    let one = read_candle_file(&path).expect("the shared real data (../shared/data) is needed");
    let span = one.open_time[one.len() - 1] - one.open_time[0] + 60_000;
    let mut all = CandleColumns::default();
    for k in 0..TILES {
        let shift = span * i64::try_from(k).unwrap_or(0);
        all.open_time.extend(one.open_time.iter().map(|t| t + shift));
        all.open.extend(&one.open);
        all.high.extend(&one.high);
        all.low.extend(&one.low);
        all.close.extend(&one.close);
        all.volume.extend(&one.volume);
    }
    all
}

fn pipeline(c: &mut Criterion) {
    let bars = million_bars();
    let n = bars.open_time.len();
    let mut group = c.benchmark_group("pipeline");
    group.throughput(Throughput::Elements(n as u64));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));

    let per_kline = |cfg: &EngineConfig| {
        let mut engine = MarketEngine::new(cfg.clone()).unwrap();
        let id = engine.track("BTCUSDT", Interval::M1).unwrap();
        let mut signals = 0usize;
        for i in 0..n {
            let candle = Candle::ohlcv(
                bars.open_time[i],
                bars.open[i],
                bars.high[i],
                bars.low[i],
                bars.close[i],
                bars.volume[i],
            );
            let step = engine.on_kline(id, &candle, true, true).unwrap();
            signals += usize::from(step.signal.is_some());
        }
        signals
    };
    let default = EngineConfig::default();
    group.bench_function("on_kline", |b| b.iter(|| black_box(per_kline(&default))));
    // the other strategies (issue 13): the RSI/MACD rules, alone and mixed with the context
    let rsi_macd = EngineConfig { strategy: Strategy::RsiMacd, ..EngineConfig::default() };
    group.bench_function("on_kline_rsi_macd", |b| b.iter(|| black_box(per_kline(&rsi_macd))));
    let mix = EngineConfig { strategy: Strategy::Mix { context: 0.6, rsi_macd: 0.4 }, ..EngineConfig::default() };
    group.bench_function("on_kline_mix", |b| b.iter(|| black_box(per_kline(&mix))));

    // the feature set alone (every indicator, no buffer, patterns or scoring)
    group.bench_function("features_only", |b| {
        b.iter(|| {
            let mut fs = FeatureSet::new(&EngineConfig::default().indicators).unwrap();
            let mut ready = 0usize;
            for i in 0..n {
                let candle = Candle::ohlcv(
                    bars.open_time[i],
                    bars.open[i],
                    bars.high[i],
                    bars.low[i],
                    bars.close[i],
                    bars.volume[i],
                );
                ready += usize::from(fs.update(&candle).is_some());
            }
            black_box(ready)
        });
    });

    group.bench_function("on_klines", |b| {
        b.iter(|| {
            let mut engine = MarketEngine::new(EngineConfig::default()).unwrap();
            let id = engine.track("BTCUSDT", Interval::M1).unwrap();
            let cols =
                KlineColumns::ohlcv(&bars.open_time, &bars.open, &bars.high, &bars.low, &bars.close, &bars.volume);
            black_box(engine.on_klines(id, &cols, true).unwrap().events.signals.len())
        });
    });
    group.finish();
}

criterion_group!(benches, pipeline, stages);
criterion_main!(benches);

/// Each stage of the pipeline alone, streaming over the same bars (ns per
/// bar): `cargo bench --bench pipeline -- stages/`.
fn stages(c: &mut Criterion) {
    let bars = million_bars();
    let n = bars.open_time.len();
    let mut group = c.benchmark_group("stages");
    group.throughput(Throughput::Elements(n as u64));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(3));
    let cfg = EngineConfig::default();
    let ind = &cfg.indicators;
    let hlc = |i: usize| Hlc { high: bars.high[i], low: bars.low[i], close: bars.close[i] };
    macro_rules! stream {
        ($name:expr, $make:expr, $input:expr) => {
            group.bench_function($name, |b| {
                b.iter(|| {
                    let mut x = $make;
                    let mut acc = 0.0;
                    for i in 0..n {
                        let v = x.update($input(i));
                        acc += f64::from(u8::from(v == v));
                    }
                    black_box(acc)
                });
            });
        };
    }
    stream!("ema", Ema::new(ind.ema_fast).unwrap(), |i| bars.close[i]);
    stream!("rsi", Rsi::new(ind.rsi).unwrap(), |i| bars.close[i]);
    stream!("atr", Atr::new(ind.atr).unwrap(), hlc);
    stream!("bbands", BBands::new(ind.bb_period, ind.bb_nbdev, ind.bb_nbdev).unwrap(), |i| bars.close[i]);
    stream!("zscore", ZScore::new(ind.volume_z).unwrap(), |i| bars.volume[i]);
    stream!("obv", Obv::new(), |i| CloseVolume { close: bars.close[i], volume: bars.volume[i] });
    group.bench_function("donchian", |b| {
        b.iter(|| {
            let mut x = Donchian::new(ind.channel).unwrap();
            let mut acc = 0.0;
            for i in 0..n {
                acc += x.update(HighLow { high: bars.high[i], low: bars.low[i] }).upper;
            }
            black_box(acc)
        });
    });
    group.bench_function("adx", |b| {
        b.iter(|| {
            let mut x = Adx::new(ind.adx).unwrap();
            let mut acc = 0.0;
            for i in 0..n {
                acc += x.update(hlc(i)).plus_di;
            }
            black_box(acc)
        });
    });
    group.bench_function("macd", |b| {
        b.iter(|| {
            let mut x = Macd::new(ind.macd_fast, ind.macd_slow, ind.macd_signal).unwrap();
            let mut acc = 0.0;
            for i in 0..n {
                acc += x.update(bars.close[i]).hist;
            }
            black_box(acc)
        });
    });
    // the features once, then the detectors and the scorer alone over them
    let mut fs = FeatureSet::new(ind).unwrap();
    let feats: Vec<Features> = (0..n)
        .filter_map(|i| {
            fs.update(&Candle::ohlcv(
                bars.open_time[i],
                bars.open[i],
                bars.high[i],
                bars.low[i],
                bars.close[i],
                bars.volume[i],
            ))
        })
        .collect();
    group.throughput(Throughput::Elements(feats.len() as u64));
    group.bench_function("patterns", |b| {
        b.iter(|| feats.iter().map(|f| patterns::detect(f, &cfg.patterns).strength).sum::<f64>());
    });
    let scorer = ContextScorer::new(&cfg.scoring, &cfg.patterns);
    group.bench_function("patterns_and_scorer", |b| {
        b.iter(|| {
            feats
                .iter()
                .map(|f| {
                    let r = patterns::detect(f, &cfg.patterns);
                    scorer.evaluate(f, &r).1
                })
                .sum::<f64>()
        });
    });
    group.finish();
}
