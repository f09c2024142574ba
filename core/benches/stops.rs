//! The stop tracker on a tick: 10,000 open positions of one symbol updated
//! by one price, in ns per position (criterion's throughput is positions).
//!
//! Positions: longs with entries spread over 63,000–65,000 (ticks of 0.01),
//! stops 10,000 below, a 20% trail, break-even at 5R and take-profits at 3R
//! and 5R, so the tick path (a bounded walk around 64,000) keeps them all
//! open: the steady state of a live book, where most ticks move no stop.
//! `chandelier` gives a new ATR with every tick, so every position
//! recomputes its stop (the worst case).
use std::hint::black_box;

use avd_core::stops::{NewPosition, PositionSide, StopPlan, StopTracker, TakeProfit};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

const POSITIONS: u64 = 10_000;
const SYMBOL: &str = "BTCUSDT";

fn book(plan: &StopPlan) -> StopTracker {
    let mut t = StopTracker::default();
    for id in 0..POSITIONS {
        let entry = 6_300_000 + i64::try_from(id * 20).unwrap_or(0);
        let new = NewPosition {
            id,
            symbol: SYMBOL,
            side: PositionSide::Long,
            entry,
            stop: entry - 1_000_000,
            qty: 1_000 + i64::try_from(id).unwrap_or(0),
            opened_at: 0,
        };
        t.add(&new, plan).expect("valid position");
    }
    t
}

/// A deterministic bounded walk around 64,000.00 (LCG steps of ±0..50.00).
fn path(n: usize) -> Vec<i64> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut p: i64 = 6_400_000;
    (0..n)
        .map(|_| {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            let step = i64::try_from((x >> 33) % 10_001).unwrap_or(0) - 5_000;
            p = (p + step).clamp(6_200_000, 6_600_000);
            p
        })
        .collect()
}

fn stops(c: &mut Criterion) {
    let plan = StopPlan {
        trail_ppm: 200_000,
        breakeven_after_r_milli: 5_000,
        take_profits: vec![
            TakeProfit { r_milli: 3_000, fraction_ppm: 500_000 },
            TakeProfit { r_milli: 5_000, fraction_ppm: 250_000 },
        ],
        ..StopPlan::default()
    };
    let prices = path(4_096);
    let mut group = c.benchmark_group("stops");
    group.throughput(Throughput::Elements(POSITIONS));

    let mut t = book(&plan);
    let sid = t.symbol_id(SYMBOL).expect("symbol");
    let mut i = 0usize;
    group.bench_function("on_price_10k_positions", |b| {
        b.iter(|| {
            i = (i + 1) % prices.len();
            let ev = t.on_price_id(sid, black_box(prices[i]), 1, None);
            black_box(ev.len())
        });
    });
    assert_eq!(t.len(), 10_000, "the bench path must not close positions");

    let mut t = book(&plan);
    group.bench_function("on_price_by_name_10k_positions", |b| {
        b.iter(|| {
            i = (i + 1) % prices.len();
            black_box(t.on_price(SYMBOL, black_box(prices[i]), 1, None).len())
        });
    });

    let chandelier = StopPlan { trail_ppm: 0, chandelier_k_milli: 3_000, ..plan.clone() };
    let mut t = book(&chandelier);
    group.bench_function("on_price_with_atr_10k_chandelier", |b| {
        b.iter(|| {
            i = (i + 1) % prices.len();
            // ATR ≈ 2,000.00 (200,000 ticks): 3×ATR = 6,000 exceeds the path's
            // whole range (4,000), so no position closes.
            let atr = 200_000.0 + (i % 64) as f64;
            black_box(t.on_price_id(sid, black_box(prices[i]), 1, Some(atr)).len())
        });
    });
    assert_eq!(t.len(), 10_000, "the bench path must not close positions");
    group.finish();
}

criterion_group!(benches, stops);
criterion_main!(benches);
