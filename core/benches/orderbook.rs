//! The order book on the real depth stream: Binance's BTCUSDT
//! `@depth@100ms` recording of `../shared/data/ticks` (6,495 events, 46
//! levels each on average) applied after its REST snapshot, replayed with
//! shifted update ids. Throughput is depth events; a busy symbol's day of
//! `@depth@100ms` is 864,000 events.
//!
//! * `parse_and_apply`: from Binance's decimal strings, borrowed from the
//!   message text (what the Python `apply_diff` does after reading the
//!   list);
//! * `apply_parsed`: levels already parsed (the book alone: ladder, sync
//!   check, OFI term);
//! * `apply_message`: the raw websocket message bytes (combined-stream
//!   JSON) scanned, parsed and applied; every iteration re-applies the
//!   snapshot first (the ids are in the bytes), under 1 % of it;
//! * `apply_messages`: the same bytes in one replay call (parsed on two
//!   threads, applied in order on this one); `apply_messages_serial`: the
//!   same call on one thread;
//! * `parse_message_only`, `parse_levels_only`: the parsing alone, for the
//!   split;
//! * `analytics`: best bid/ask, imbalance(10), microprice, depth(10 bps)
//!   and the top 20 of each side, once per event.
use std::hint::black_box;
use std::io::BufRead;

use avd_core::orderbook::{parse_depth_message, parse_levels, parse_levels_into, Level, OrderBook};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

const RECORDING: &str = "../../shared/data/ticks/BTCUSDT-spot-ws-2024-08-08.txt.gz";

type Pairs = Vec<(String, String)>;
/// `(U, u, bids, asks)` with the levels as text.
type TextEvent<'a> = (u64, u64, Vec<(&'a str, &'a str)>, Vec<(&'a str, &'a str)>);

#[derive(serde::Deserialize)]
struct BorrowedData<'a> {
    #[serde(rename = "U")]
    first: u64,
    #[serde(rename = "u")]
    last: u64,
    #[serde(borrow)]
    b: Vec<(&'a str, &'a str)>,
    #[serde(borrow)]
    a: Vec<(&'a str, &'a str)>,
}

#[derive(serde::Deserialize)]
struct Borrowed<'a> {
    #[serde(borrow)]
    data: BorrowedData<'a>,
}

struct Event {
    first: u64,
    last: u64,
    bids: Pairs,
    asks: Pairs,
    /// The websocket message as received (the combined-stream JSON).
    raw: String,
}

fn pairs(v: &serde_json::Value) -> Pairs {
    v.as_array()
        .map(|a| {
            a.iter().filter_map(|l| Some((l.get(0)?.as_str()?.to_owned(), l.get(1)?.as_str()?.to_owned()))).collect()
        })
        .unwrap_or_default()
}

fn load() -> (u64, Pairs, Pairs, Vec<Event>) {
    let file = std::fs::File::open(RECORDING).expect("the recording (../shared/data beside the repo)");
    let reader = std::io::BufReader::new(flate2::read::GzDecoder::new(file));
    let mut snapshot = None;
    let mut events = Vec::new();
    for line in reader.lines() {
        let line = line.expect("line");
        let Some((_, json)) = line.split_once(' ') else { continue };
        let msg: serde_json::Value = serde_json::from_str(json).expect("json");
        if let Some(id) = msg.get("lastUpdateId").and_then(serde_json::Value::as_u64) {
            snapshot = Some((id, pairs(&msg["bids"]), pairs(&msg["asks"])));
        } else if msg["stream"].as_str().is_some_and(|s| s.ends_with("@depth@100ms")) {
            let d = &msg["data"];
            events.push(Event {
                first: d["U"].as_u64().expect("U"),
                last: d["u"].as_u64().expect("u"),
                bids: pairs(&d["b"]),
                asks: pairs(&d["a"]),
                raw: json.to_owned(),
            });
        }
    }
    let (id, bids, asks) = snapshot.expect("snapshot line");
    (id, bids, asks, events)
}

fn refs(p: &Pairs) -> Vec<(&str, &str)> {
    p.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect()
}

fn bench(c: &mut Criterion) {
    let (id, sb, sa, events) = load();
    let (sb, sa) = (refs(&sb), refs(&sa));
    // the decimal strings borrowed from the message text (where a Rust
    // client has them), not one allocation each
    let text: Vec<TextEvent<'_>> = events
        .iter()
        .map(|e| {
            let m: Borrowed<'_> = serde_json::from_str(&e.raw).expect("depth message");
            assert_eq!(
                (m.data.first, m.data.last, m.data.b.len(), m.data.a.len()),
                (e.first, e.last, e.bids.len(), e.asks.len())
            );
            (m.data.first, m.data.last, m.data.b, m.data.a)
        })
        .collect();
    let parsed: Vec<(u64, u64, Vec<Level>, Vec<Level>)> = text
        .iter()
        .map(|(f, l, b, a)| (*f, *l, parse_levels(b).expect("levels"), parse_levels(a).expect("levels")))
        .collect();
    let span = events.last().map_or(0, |e| e.last) - events[0].first + 1;
    let fresh = || {
        let mut book = OrderBook::new("BTCUSDT");
        book.apply_snapshot_text(id, &sb, &sa).expect("snapshot");
        book
    };

    let mut g = c.benchmark_group("orderbook");
    g.throughput(Throughput::Elements(events.len() as u64));
    g.sample_size(20);
    {
        let mut book = fresh();
        let mut round = 0u64;
        g.bench_function("parse_and_apply", |b| {
            b.iter(|| {
                let off = round * span;
                round += 1;
                for (f, l, bids, asks) in &text {
                    let _ = black_box(book.apply_diff_text(f + off, l + off, bids, asks));
                }
            });
        });
    }
    {
        let mut book = fresh();
        let mut round = 0u64;
        g.bench_function("apply_parsed", |b| {
            b.iter(|| {
                let off = round * span;
                round += 1;
                for (f, l, bids, asks) in &parsed {
                    let _ = black_box(book.apply_diff(f + off, l + off, bids, asks));
                }
            });
        });
    }
    {
        let mut book = fresh();
        g.bench_function("apply_message", |b| {
            b.iter(|| {
                book.apply_snapshot_text(id, &sb, &sa).expect("snapshot");
                for e in &events {
                    let _ = black_box(book.apply_message(e.raw.as_bytes()));
                }
            });
        });
    }
    {
        // a replay: every message in one call, parsed on two threads while
        // this one applies them in order (and the same call on one thread)
        let raw: Vec<&[u8]> = events.iter().map(|e| e.raw.as_bytes()).collect();
        let mut book = fresh();
        g.bench_function("apply_messages", |b| {
            b.iter(|| {
                book.apply_snapshot_text(id, &sb, &sa).expect("snapshot");
                black_box(book.apply_messages_pipelined(&raw).expect("replay"))
            });
        });
        g.bench_function("apply_messages_serial", |b| {
            b.iter(|| {
                book.apply_snapshot_text(id, &sb, &sa).expect("snapshot");
                black_box(book.apply_messages_serial(&raw).expect("replay"))
            });
        });
    }
    {
        let (mut bb, mut ab) = (Vec::new(), Vec::new());
        g.bench_function("parse_message_only", |b| {
            b.iter(|| {
                for e in &events {
                    bb.clear();
                    ab.clear();
                    let _ = black_box(parse_depth_message(e.raw.as_bytes(), &mut bb, &mut ab));
                }
            });
        });
        g.bench_function("parse_levels_only", |b| {
            b.iter(|| {
                for (_, _, bids, asks) in &text {
                    bb.clear();
                    ab.clear();
                    let _ = black_box(parse_levels_into(bids, &mut bb).and_then(|()| parse_levels_into(asks, &mut ab)));
                }
            });
        });
    }
    {
        let mut book = fresh();
        for (f, l, bids, asks) in &parsed {
            let _ = book.apply_diff(*f, *l, bids, asks);
        }
        g.bench_function("analytics", |b| {
            b.iter(|| {
                for _ in 0..events.len() {
                    black_box((book.bids().best(), book.asks().best()));
                    black_box(book.imbalance(10).ok());
                    black_box(book.microprice());
                    black_box(book.depth(10.0).ok());
                    black_box((book.bids().top(20), book.asks().top(20)));
                }
            });
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
