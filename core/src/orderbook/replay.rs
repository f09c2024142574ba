//! Replays: many raw depth messages applied in one call, parsed on two
//! threads while the calling thread applies the parsed events in order.
//!
//! Parsing a message costs about twice applying it, so one parser thread
//! feeding the applier leaves the applier idle for a third of the time. Here
//! the messages are cut into chunks of [`BATCH`]; a helper thread parses
//! chunks one after the other, and the calling thread applies them in order
//! and, whenever the next chunk is not parsed yet, parses the next unclaimed
//! one itself instead of waiting. Both take chunks from one counter, at most
//! [`POOL`] ahead of the oldest not yet applied, each into its slot of a
//! ring whose buffers are reused: nothing is allocated per event once they
//! have grown, and the threads meet once per chunk, not per event.
//!
//! The result is exactly that of [`OrderBook::apply_message`] called on each
//! message in turn: a message's parse error comes before its update ids are
//! checked, the first error stops the replay with its index, the events
//! before it stay applied and none after it (chunks parsed ahead of it are
//! dropped).
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

use super::book::OrderBook;
use super::message::parse_depth_message;
use super::side::Level;
use crate::error::CoreError;

/// Fewer messages than this are applied on the calling thread alone (a
/// thread costs tens of microseconds to start; the pipeline pays off above
/// a few hundred events).
pub const PIPELINE_MIN: usize = 256;

/// Messages parsed per chunk at most.
pub const BATCH: usize = 16;

/// Chunks in flight: parsed (or being parsed) ahead of the next to apply.
const POOL: usize = 16;

/// The first failing message of a replay: its index and its error.
pub type ReplayError = (usize, CoreError);

/// The parsed events of consecutive messages: per event its `(U, u)` and
/// the end of its levels in `bids` / `asks`; then, if a message failed to
/// parse, its error (the batch's last word).
#[derive(Default)]
struct Batch {
    ids: Vec<(u64, u64)>,
    ends: Vec<(usize, usize)>,
    bids: Vec<Level>,
    asks: Vec<Level>,
    error: Option<CoreError>,
}

impl Batch {
    fn clear(&mut self) {
        self.ids.clear();
        self.ends.clear();
        self.bids.clear();
        self.asks.clear();
        self.error = None;
    }

    /// Parses `messages` until the first error (kept in `self.error`).
    fn fill(&mut self, messages: &[&[u8]]) {
        self.clear();
        for m in messages {
            match parse_depth_message(m, &mut self.bids, &mut self.asks) {
                Ok(ids) => {
                    self.ids.push(ids);
                    self.ends.push((self.bids.len(), self.asks.len()));
                }
                Err(e) => {
                    self.error = Some(e);
                    return;
                }
            }
        }
    }
}

/// What the two threads share: the chunks, who parses which, and the ring
/// of parsed chunks.
struct Ring<'m> {
    messages: &'m [&'m [u8]],
    chunks: usize,
    /// the next chunk nobody has claimed to parse
    claimed: AtomicUsize,
    /// chunks applied (the applier's progress: frees their slots)
    applied: AtomicUsize,
    /// the applier stopped (an error): the helper stops too
    stop: AtomicBool,
    /// chunk `k` goes to slot `k % POOL`, whose tag is `k + 1` once parsed
    slots: [Mutex<Batch>; POOL],
    tags: [AtomicUsize; POOL],
}

impl<'m> Ring<'m> {
    fn new(messages: &'m [&'m [u8]]) -> Self {
        Ring {
            messages,
            chunks: messages.len().div_ceil(BATCH),
            claimed: AtomicUsize::new(0),
            applied: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
            slots: std::array::from_fn(|_| Mutex::new(Batch::default())),
            tags: std::array::from_fn(|_| AtomicUsize::new(0)),
        }
    }

    /// Claims the next chunk to parse if there is one and its slot is free
    /// (its chunk `POOL` before has been applied): never a chunk whose slot
    /// would have to be waited for, so neither thread can block the other.
    fn claim(&self) -> Option<usize> {
        let mut k = self.claimed.load(Ordering::Relaxed);
        loop {
            if k >= self.chunks || k >= self.applied.load(Ordering::Acquire) + POOL {
                return None;
            }
            match self.claimed.compare_exchange_weak(k, k + 1, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => return Some(k),
                Err(now) => k = now,
            }
        }
    }

    /// Parses chunk `k` into its slot and marks it parsed.
    fn parse(&self, k: usize) {
        let start = k * BATCH;
        let end = self.messages.len().min(start + BATCH);
        let slot = k % POOL;
        self.slots[slot].lock().unwrap_or_else(PoisonError::into_inner).fill(&self.messages[start..end]);
        self.tags[slot].store(k + 1, Ordering::Release);
    }

    fn parsed(&self, k: usize) -> bool {
        self.tags[k % POOL].load(Ordering::Acquire) == k + 1
    }

    /// Parses the next chunk it can claim; with none to claim, waits a
    /// moment (a short spin, then the core given up: the other thread is
    /// about to free a slot or finish a chunk). `idle` counts the waits in
    /// a row.
    fn parse_or_wait(&self, idle: &mut u32) {
        if let Some(k) = self.claim() {
            self.parse(k);
            *idle = 0;
        } else {
            *idle += 1;
            if *idle < 64 {
                std::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
        }
    }

    /// The helper thread: parses the chunks it can claim until all are
    /// claimed or the applier stopped.
    fn help(&self) {
        let mut idle = 0u32;
        while !self.stop.load(Ordering::Relaxed) && self.claimed.load(Ordering::Relaxed) < self.chunks {
            self.parse_or_wait(&mut idle);
        }
    }
}

impl OrderBook {
    /// Applies `messages` in order, each exactly as
    /// [`OrderBook::apply_message`]; returns how many were applied (stale
    /// ones are not counted). From [`PIPELINE_MIN`] messages on, they are
    /// parsed on two threads while this one applies them.
    ///
    /// # Errors
    /// The first message's error, as [`OrderBook::apply_message`] gives it,
    /// with the message's index; the messages before it stay applied, none
    /// after it.
    pub fn apply_messages(&mut self, messages: &[&[u8]]) -> Result<usize, ReplayError> {
        if messages.len() < PIPELINE_MIN {
            self.apply_messages_serial(messages)
        } else {
            self.apply_messages_pipelined(messages)
        }
    }

    /// [`Self::apply_messages`] on the calling thread alone.
    ///
    /// # Errors
    /// As [`Self::apply_messages`].
    pub fn apply_messages_serial(&mut self, messages: &[&[u8]]) -> Result<usize, ReplayError> {
        let mut applied = 0;
        for (i, m) in messages.iter().enumerate() {
            applied += usize::from(self.apply_message(m).map_err(|e| (i, e))?);
        }
        Ok(applied)
    }

    /// [`Self::apply_messages`] with a helper thread, whatever the number
    /// of messages (tests run it on short lists too).
    ///
    /// # Errors
    /// As [`Self::apply_messages`].
    pub fn apply_messages_pipelined(&mut self, messages: &[&[u8]]) -> Result<usize, ReplayError> {
        let ring = Ring::new(messages);
        std::thread::scope(|s| {
            s.spawn(|| ring.help());
            let result = self.apply_ring(&ring);
            // An early error: the helper sees it at its next chunk and stops
            // before the scope waits for it.
            ring.stop.store(true, Ordering::Relaxed);
            result
        })
    }

    /// Applies the ring's chunks in order, parsing one itself whenever the
    /// next is not ready.
    fn apply_ring(&mut self, ring: &Ring<'_>) -> Result<usize, ReplayError> {
        let (mut applied, mut index, mut idle) = (0, 0, 0u32);
        for k in 0..ring.chunks {
            while !ring.parsed(k) {
                ring.parse_or_wait(&mut idle);
            }
            let mut batch = ring.slots[k % POOL].lock().unwrap_or_else(PoisonError::into_inner);
            let (mut b0, mut a0) = (0, 0);
            for (&(first, last), &(b1, a1)) in batch.ids.iter().zip(&batch.ends) {
                let ok = self.apply_diff(first, last, &batch.bids[b0..b1], &batch.asks[a0..a1]);
                applied += usize::from(ok.map_err(|e| (index, e))?);
                (b0, a0, index) = (b1, a1, index + 1);
            }
            if let Some(e) = batch.error.take() {
                return Err((index, e));
            }
            drop(batch);
            ring.applied.store(k + 1, Ordering::Release);
        }
        Ok(applied)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(first: u64, last: u64, bid: &str, ask: &str) -> Vec<u8> {
        format!(
            r#"{{"e":"depthUpdate","E":1,"s":"BTCUSDT","U":{first},"u":{last},"b":[["{bid}","1.5"]],"a":[["{ask}","2"]]}}"#
        )
        .into_bytes()
    }

    /// A stream of `n` chained events after snapshot 100, prices moving.
    fn stream(n: u64) -> Vec<Vec<u8>> {
        (0..n)
            .map(|k| {
                let p = 1000 + k % 97;
                msg(101 + 2 * k, 102 + 2 * k, &format!("{p}.25"), &format!("{}.5", p + 200))
            })
            .collect()
    }

    fn fresh() -> OrderBook {
        let mut book = OrderBook::with_window("BTCUSDT", 64);
        book.apply_snapshot_text(100, &[("999.00", "1")], &[("1300.00", "1")]).unwrap();
        book
    }

    fn levels(book: &OrderBook) -> (Vec<Level>, Vec<Level>, u64, crate::orderbook::SyncState, u64) {
        (
            book.bids().iter_best().collect(),
            book.asks().iter_best().collect(),
            book.last_update_id(),
            book.state(),
            book.gaps(),
        )
    }

    /// The reference: `apply_message` one by one, stopping at the first error.
    fn one_by_one(messages: &[&[u8]]) -> (OrderBook, Result<usize, (usize, String)>) {
        let mut book = fresh();
        let mut applied = 0;
        for (i, m) in messages.iter().enumerate() {
            match book.apply_message(m) {
                Ok(a) => applied += usize::from(a),
                Err(e) => return (book, Err((i, e.to_string()))),
            }
        }
        (book, Ok(applied))
    }

    fn check(messages: &[&[u8]]) {
        let (want_book, want) = one_by_one(messages);
        for pipelined in [false, true] {
            let mut book = fresh();
            let got =
                if pipelined { book.apply_messages_pipelined(messages) } else { book.apply_messages_serial(messages) };
            assert_eq!(got.map_err(|(i, e)| (i, e.to_string())), want, "pipelined: {pipelined}");
            assert_eq!(levels(&book), levels(&want_book), "pipelined: {pipelined}");
            assert_eq!(book.ofi().events, want_book.ofi().events);
        }
        let mut book = fresh();
        let got = book.apply_messages(messages).map_err(|(i, e)| (i, e.to_string()));
        assert_eq!(got, want);
        assert_eq!(levels(&book), levels(&want_book));
    }

    #[test]
    fn replays_equal_one_by_one_at_every_length() {
        let all = stream(3 * BATCH as u64 * POOL as u64 + 7);
        let refs: Vec<&[u8]> = all.iter().map(Vec::as_slice).collect();
        for n in [0, 1, 2, BATCH - 1, BATCH, BATCH + 1, PIPELINE_MIN, refs.len()] {
            check(&refs[..n]);
        }
        let mut book = fresh();
        assert_eq!(book.apply_messages(&refs), Ok(refs.len()));
        assert_eq!(book.last_update_id(), 100 + 2 * refs.len() as u64);
        assert!(book.bids().len() > 1 && book.asks().len() > 1);
        assert_eq!(book.bids().best().map(|l| l.0), book.bids().iter_best().next().map(|l| l.0));
    }

    #[test]
    fn the_first_error_stops_the_replay_where_one_by_one_stops() {
        let all = stream(2 * BATCH as u64 * POOL as u64 + 3);
        let n = all.len();
        for at in [0, 1, BATCH - 1, BATCH, n / 2, n - 1] {
            // Malformed JSON.
            let mut bad = all.clone();
            bad[at] = b"{not json".to_vec();
            let refs: Vec<&[u8]> = bad.iter().map(Vec::as_slice).collect();
            check(&refs);
            let mut book = fresh();
            let (i, e) = book.apply_messages_pipelined(&refs).unwrap_err();
            assert_eq!(i, at);
            assert!(matches!(e, CoreError::InvalidInput(_)));
            // A gap: the message dropped.
            let mut gap = all.clone();
            gap.remove(at);
            let refs: Vec<&[u8]> = gap.iter().map(Vec::as_slice).collect();
            check(&refs);
            if at + 1 < n {
                let (i, e) = fresh().apply_messages_pipelined(&refs).unwrap_err();
                assert_eq!(i, at);
                assert!(matches!(e, CoreError::BookGap(_)));
            }
            // A stale message repeated (not an error) then a bad level.
            let mut odd = all.clone();
            odd.insert(at, all[0].clone());
            odd.insert(at + 1, msg(1, 1, "1.x", "2"));
            let refs: Vec<&[u8]> = odd.iter().map(Vec::as_slice).collect();
            check(&refs);
        }
    }

    #[test]
    fn which_thread_parses_which_chunk_never_changes_the_result() {
        // The split of the chunks between the threads varies from run to
        // run: many runs, an error late in the stream, always the same end.
        let mut all = stream(40 * BATCH as u64 + 5);
        let at = all.len() - BATCH / 2;
        all[at] = b"{not json".to_vec();
        let refs: Vec<&[u8]> = all.iter().map(Vec::as_slice).collect();
        let (want_book, want) = one_by_one(&refs);
        for _ in 0..200 {
            let mut book = fresh();
            let got = book.apply_messages_pipelined(&refs).map_err(|(i, e)| (i, e.to_string()));
            assert_eq!(got, want);
            assert_eq!(levels(&book), levels(&want_book));
        }
    }

    #[test]
    fn a_book_out_of_sync_refuses_every_message_from_the_first() {
        let all = stream(PIPELINE_MIN as u64 + 1);
        let refs: Vec<&[u8]> = all.iter().map(Vec::as_slice).collect();
        let mut book = OrderBook::new("BTCUSDT");
        let (i, e) = book.apply_messages(&refs).unwrap_err();
        assert_eq!(i, 0);
        assert!(matches!(e, CoreError::BookGap(_)));
        assert_eq!(book.last_update_id(), 0);
    }
}
