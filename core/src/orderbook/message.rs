//! A raw websocket depth message parsed in place: the bytes Binance sends
//! on `<symbol>@depth@100ms`, without building a JSON tree.
//!
//! Accepted: the combined-stream envelope
//! `{"stream": "btcusdt@depth@100ms", "data": {...}}` or the bare event
//! `{"e": "depthUpdate", "E": .., "s": .., "U": .., "u": .., "b": [[price,
//! qty], ...], "a": [...]}`, keys in any order, unknown keys skipped. The
//! prices and quantities are borrowed from the message and parsed straight
//! into exact levels ([`super::ticks`]) appended to the caller's buffers:
//! no allocation once the buffers have grown.
//!
//! Three passes at most, each giving up at the first surprise: Binance's
//! exact layout, keys in its order (`Scan::message_binance`: the envelope
//! matched literally, update ids read 8 digits at a time, each side's
//! levels at offsets predicted from the previous level's shape, see
//! `levels_batched`); then a hand scanner for the same compact layout with
//! keys in any order; then `serde_json` for everything else and for the
//! error messages. Whatever a scanner takes, it reads exactly as serde does
//! (tests compare the three on odd layouts, cuts and random texts).
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::book::parse_level;
use super::side::Level;
use super::ticks::{
    digits_bad, digits_value, eight_digits, fixed8_value, fixed8_words, parse_units_bytes, quoted_fixed8, ONE, ZEROS,
};
use crate::error::{CoreError, CoreResult};
use crate::simd::{Build, Dispatched};

/// Parses a depth message into `bids` and `asks` (appended) and returns its
/// `(U, u)`.
///
/// # Errors
/// [`CoreError::InvalidInput`] when the bytes are not JSON, not a
/// `depthUpdate` event, lack `U` or `u`, or carry a bad level (the message
/// names it).
pub fn parse_depth_message(message: &[u8], bids: &mut Vec<Level>, asks: &mut Vec<Level>) -> CoreResult<(u64, u64)> {
    parse_depth_message_with::<Dispatched>(message, bids, asks)
}

/// [`parse_depth_message`] with the levels' batches run in the build `B`
/// (tests run both).
fn parse_depth_message_with<B: Build>(
    message: &[u8],
    bids: &mut Vec<Level>,
    asks: &mut Vec<Level>,
) -> CoreResult<(u64, u64)> {
    let (nb, na) = (bids.len(), asks.len());
    if let Some(ids) = Scan::<B>::new(message).message_binance(bids, asks) {
        return Ok(ids);
    }
    bids.truncate(nb);
    asks.truncate(na);
    if let Some(ids) = Scan::<B>::new(message).message(bids, asks) {
        return Ok(ids);
    }
    bids.truncate(nb);
    asks.truncate(na);
    parse_with_serde(message, bids, asks)
}

/// [`parse_depth_message`] through `serde_json` alone: any valid layout,
/// and every error message.
fn parse_with_serde(message: &[u8], bids: &mut Vec<Level>, asks: &mut Vec<Level>) -> CoreResult<(u64, u64)> {
    let mut de = serde_json::Deserializer::from_slice(message);
    let mut ids = Ids::default();
    let seed = Event { bids, asks, ids: &mut ids };
    seed.deserialize(&mut de)
        .and_then(|()| de.end())
        .map_err(|e| CoreError::InvalidInput(format!("depth message: {e}")))?;
    match (ids.first, ids.last) {
        (Some(f), Some(l)) => Ok((f, l)),
        _ => Err(CoreError::InvalidInput(
            "depth message: no \"U\" and \"u\" update ids (not a depthUpdate event)".into(),
        )),
    }
}

#[derive(Default)]
struct Ids {
    first: Option<u64>,
    last: Option<u64>,
}

/// The event object (or the envelope around it).
struct Event<'b> {
    bids: &'b mut Vec<Level>,
    asks: &'b mut Vec<Level>,
    ids: &'b mut Ids,
}

impl<'de> DeserializeSeed<'de> for Event<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Event<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a depthUpdate event object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<&'de str>()? {
            match key {
                "data" => map.next_value_seed(Event { bids: self.bids, asks: self.asks, ids: self.ids })?,
                "U" => self.ids.first = Some(map.next_value()?),
                "u" => self.ids.last = Some(map.next_value()?),
                "b" => map.next_value_seed(Levels { side: "b", out: self.bids })?,
                "a" => map.next_value_seed(Levels { side: "a", out: self.asks })?,
                "e" => {
                    let e: &'de str = map.next_value()?;
                    if e != "depthUpdate" {
                        return Err(de::Error::custom(format!("event type {e:?}, not \"depthUpdate\"")));
                    }
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// One side's `[[price, qty], ...]`, parsed into `out`.
struct Levels<'b> {
    side: &'static str,
    out: &'b mut Vec<Level>,
}

impl<'de> DeserializeSeed<'de> for Levels<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Levels<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of [price, quantity] string pairs")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        if let Some(n) = seq.size_hint() {
            self.out.reserve(n);
        }
        let mut i = 0usize;
        while let Some((p, q)) = seq.next_element::<(&'de str, &'de str)>()? {
            let level = parse_level(p, q).map_err(|e| de::Error::custom(format!("{}[{i}]: {e}", self.side)))?;
            self.out.push(level);
            i += 1;
        }
        Ok(())
    }
}

/// The hand scanner of Binance's compact layout; None means "not that
/// layout, or something wrong": the serde path decides. `B` is the build
/// the levels' batches run in.
struct Scan<'a, B: Build = Dispatched> {
    s: &'a [u8],
    i: usize,
    build: PhantomData<B>,
}

/// The shape of a level in Binance's format: the integer digits of its
/// price (`kp`) and of its quantity (`kq`), 1 to 7 each. A level
/// `["P.PPPPPPPP","Q.QQQQQQQQ"]` of that shape is `25 + kp + kq` bytes; in
/// a side's array consecutive levels nearly always share it (99.4 % of the
/// recording's levels have their predecessor's shape).
#[derive(Clone, Copy, PartialEq, Eq)]
struct Shape {
    kp: usize,
    kq: usize,
}

impl Shape {
    /// Bytes of a level, brackets included.
    #[inline(always)]
    #[allow(clippy::inline_always)] // compiled inside the dispatched build
    const fn len(self) -> usize {
        25 + self.kp + self.kq
    }

    /// The shape of the level at `s[j]` (`["`), from the dots of its two
    /// decimals ([`fixed8_words`]); the digits are not checked here.
    #[inline]
    fn at(s: &[u8], j: usize) -> Option<Self> {
        if s.get(j..j + 2)? != b"[\"" {
            return None;
        }
        let (_, _, n) = fixed8_words(s, j + 2)?;
        let k = j + 2 + n;
        if s.get(k..k + 2)? != b",\"" {
            return None;
        }
        let (_, _, m) = fixed8_words(s, k + 2)?;
        Some(Self { kp: n - 10, kq: m - 10 })
    }
}

/// Bytes of a level of any shape, its closing `]` and the byte after it
/// included (at most `25 + 7 + 7 + 1`).
const SPAN: usize = 40;

/// Loads 8 bytes at `lv[i..]` (`i <= SPAN - 8`, proved by the caller's
/// masks: no bounds check).
#[inline(always)]
#[allow(clippy::inline_always)] // compiled inside the dispatched build
fn word(lv: &[u8; SPAN], i: usize) -> u64 {
    u64::from_le_bytes(lv[i..i + 8].try_into().unwrap_or([0; 8]))
}

/// The four digit words of the level at the start of `lv` if it has the
/// shape `sh` (its integer words padded in front with `'0'`), the byte
/// after its `]` and a non-zero `bad` unless every byte outside the digit
/// words is the one Binance's layout has there. The digits are not checked
/// here. `lv` holds the level's bytes and the one after it.
#[inline(always)]
#[allow(clippy::inline_always)] // compiled inside the dispatched build
fn level_words(lv: &[u8; SPAN], sh: Shape) -> ([u64; 4], u8, u64) {
    // 1 to 7 each: the masks let the compiler prove every index in range
    let (kp, kq) = (sh.kp & 7, sh.kq & 7);
    let q = 14 + kp;
    let e = q + 9 + kq;
    let (pi, pf, qi, qf) = (word(lv, 2), word(lv, 3 + kp), word(lv, q), word(lv, q + 1 + kq));
    let bad = u64::from(u16::from_le_bytes([lv[0], lv[1]]) ^ u16::from_le_bytes(*b"[\""))
        | u64::from(lv[2 + kp] ^ b'.')
        | u64::from(u32::from_le_bytes([lv[q - 3], lv[q - 2], lv[q - 1], lv[q + kq]]) ^ u32::from_le_bytes(*b"\",\"."))
        | u64::from(u16::from_le_bytes([lv[e], lv[e + 1]]) ^ u16::from_le_bytes(*b"\"]"));
    let pad = |w: u64, k: usize| (w << (64 - 8 * k)) | (ZEROS >> (8 * k));
    ([pad(pi, kp), pf, pad(qi, kq), qf], lv[e + 2], bad)
}

/// The `SPAN` bytes at `s[j..]`, padded with spaces past the end of `s`.
#[inline(always)]
#[allow(clippy::inline_always)] // compiled inside the dispatched build
fn span_at(s: &[u8], j: usize) -> [u8; SPAN] {
    let mut lv = [b' '; SPAN];
    let rest = s.get(j..).unwrap_or_default();
    let n = rest.len().min(SPAN);
    lv[..n].copy_from_slice(&rest[..n]);
    lv
}

/// The number of ASCII digits at `s[i..]` (0 when none), read 8 bytes at a
/// time; None when the run reaches the last 7 bytes of `s` (the caller's
/// general path decides).
#[inline]
fn digit_run(s: &[u8], i: usize) -> Option<usize> {
    const HI: u64 = 0xF0F0_F0F0_F0F0_F0F0;
    const LOW7: u64 = 0x7F7F_7F7F_7F7F_7F7F;
    let mut n = 0;
    loop {
        let w = u64::from_le_bytes(s.get(i + n..i + n + 8)?.try_into().ok()?);
        // a byte of `y` is zero iff that byte of `w` is a digit: its high
        // nibble is 3, and still 3 after adding 6; a carry out of a byte
        // (only from a byte >= 0xFA, not a digit) can only spoil the bytes
        // above the first non-digit
        let y = ((w & HI) ^ ZEROS) | (((w.wrapping_add(0x0606_0606_0606_0606) & HI) ^ ZEROS) >> 4);
        let nonzero = (y | ((y & LOW7) + LOW7)) & !LOW7;
        if nonzero != 0 {
            return Some(n + (nonzero.trailing_zeros() / 8) as usize);
        }
        n += 8;
    }
}

/// Whether `t` is a number in JSON's grammar:
/// `-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?`.
fn json_number(t: &[u8]) -> bool {
    let digits = |t: &[u8]| t.iter().take_while(|c| c.is_ascii_digit()).count();
    let t = t.strip_prefix(b"-").unwrap_or(t);
    let n = digits(t);
    if n == 0 || (n > 1 && t[0] == b'0') {
        return false;
    }
    let mut t = &t[n..];
    if let Some(f) = t.strip_prefix(b".") {
        let n = digits(f);
        if n == 0 {
            return false;
        }
        t = &f[n..];
    }
    if let Some(e) = t.strip_prefix(b"e").or_else(|| t.strip_prefix(b"E")) {
        let e = e.strip_prefix(b"+").or_else(|| e.strip_prefix(b"-")).unwrap_or(e);
        let n = digits(e);
        if n == 0 {
            return false;
        }
        t = &e[n..];
    }
    t.is_empty()
}

/// The first `k` bytes (1 to 8) of a little-endian word as 8 digits: moved
/// to its top, `'0'` below them.
#[inline]
fn padded(w: u64, k: usize) -> u64 {
    if k >= 8 {
        w
    } else {
        (w << (64 - 8 * k)) | (ZEROS >> (8 * k))
    }
}

/// Levels per batch of [`levels_batched`]: 2 parsed the recording in
/// 0.455 µs an event against 0.466 with 1, 0.52 with 3, 0.50 with 4 and
/// 0.68 with 8 (5,750 instructions an event with 2, 6,280 with 4).
const BATCH: usize = 2;

/// The levels array at `s[i]` (`[`) in Binance's exact layout: every level
/// `["price","qty"]`, both decimals in the fixed format (1 to 7 integer
/// digits, a dot, 8 decimals), no whitespace, a non-zero price. The shape
/// of a level (its two integer digit counts, [`Shape`]) is learnt from the
/// dots of the first level and then assumed for the next ones, so that
/// their positions do not wait for the previous level's dots: batches of
/// [`BATCH`] levels of that shape are read at fixed offsets, every byte
/// checked (the structural bytes compared, the digit words validated) and
/// converted in one pass (independent lanes, vectorised in the dispatched
/// build); a level of another shape is learnt again. Returns the position
/// after the array; None (the levels pushed so far to be dropped) for
/// anything else, which the byte scanner then reads.
#[inline(always)]
#[allow(clippy::inline_always)] // compiled inside the dispatched build
fn levels_batched(s: &[u8], i: usize, out: &mut Vec<Level>) -> Option<usize> {
    match s.get(i..i + 2)? {
        b"[]" => return Some(i + 2),
        b"[[" => {}
        _ => return None,
    }
    let mut j = i + 1;
    loop {
        let (sh, learnt_at) = (Shape::at(s, j)?, j);
        let stride = sh.len() + 1;
        // batches of levels of this shape, each followed by `,` (the last
        // one of the batch may end the array)
        while j + (BATCH - 1) * stride + SPAN <= s.len() {
            let mut words = [[0u64; 4]; BATCH];
            let (mut bad, mut end) = (0u64, 0u8);
            for (m, w) in words.iter_mut().enumerate() {
                let at = j + m * stride;
                let lv: &[u8; SPAN] = s[at..at + SPAN].try_into().ok()?;
                let (lw, next, b) = level_words(lv, sh);
                *w = lw;
                bad |= b;
                end = next;
                if m + 1 < BATCH {
                    bad |= u64::from(next ^ b',');
                }
            }
            if bad != 0 || (end != b',' && end != b']') {
                break;
            }
            let values = convert_batch(&words)?;
            out.extend(values.iter().copied());
            j += BATCH * stride;
            if end == b']' {
                return Some(j);
            }
        }
        // one level at a time
        loop {
            if j + sh.len() >= s.len() {
                return None;
            }
            let (w, next, bad) = match s.get(j..j + SPAN) {
                Some(lv) => level_words(lv.try_into().ok()?, sh),
                None => level_words(&span_at(s, j), sh), // the message's last bytes
            };
            if bad != 0 {
                if j == learnt_at {
                    return None; // not even the shape just learnt
                }
                break; // another shape: learn it
            }
            let [level] = convert_batch(&[w])?;
            out.push(level);
            j += stride;
            match next {
                b',' => {}
                b']' => return Some(j),
                _ => return None,
            }
            if j + (BATCH - 1) * stride + SPAN <= s.len() {
                break; // room for a batch again
            }
        }
    }
}

/// Validates the digit words of `N` levels and converts them; None when a
/// word is not all digits or a price is zero.
#[inline(always)]
#[allow(clippy::inline_always)] // compiled inside the dispatched build
fn convert_batch<const N: usize>(words: &[[u64; 4]; N]) -> Option<[Level; N]> {
    // a zero price is told from its digit words (all `'0'`), not from the
    // converted value: the branch does not wait for the multiplications
    let mut bad = 0;
    let mut zero = false;
    let mut out = [(0u64, 0u64); N];
    for (o, w) in out.iter_mut().zip(words) {
        bad |= digits_bad(w[0]) | digits_bad(w[1]) | digits_bad(w[2]) | digits_bad(w[3]);
        zero |= (w[0] ^ ZEROS) | (w[1] ^ ZEROS) == 0;
        *o = (fixed8_value(w[0], w[1]), fixed8_value(w[2], w[3]));
    }
    if bad != 0 || zero {
        return None;
    }
    Some(out)
}

impl<'a, B: Build> Scan<'a, B> {
    fn new(s: &'a [u8]) -> Self {
        Scan { s, i: 0, build: PhantomData }
    }

    #[inline]
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    #[inline]
    fn eat(&mut self, c: u8) -> Option<()> {
        (self.peek()? == c).then(|| self.i += 1)
    }

    /// The bytes of a string without escapes, after its opening quote.
    /// Eight bytes at a time up to the first `"`, `\\`, control byte or
    /// non-ASCII byte (SWAR searches), then byte by byte; None on all but
    /// the quote (serde decides on escapes, and refuses control bytes and
    /// invalid UTF-8).
    #[inline]
    fn string_body(&mut self) -> Option<&'a [u8]> {
        const LOW: u64 = 0x0101_0101_0101_0101;
        const HIGH: u64 = 0x8080_8080_8080_8080;
        let start = self.i;
        while let Some(chunk) = self.s.get(self.i..self.i + 8) {
            let w = u64::from_le_bytes(chunk.try_into().ok()?);
            let (q, b) = (w ^ 0x2222_2222_2222_2222, w ^ 0x5C5C_5C5C_5C5C_5C5C);
            let control = w.wrapping_sub(0x2020_2020_2020_2020) & !w;
            let z = (q.wrapping_sub(LOW) & !q | b.wrapping_sub(LOW) & !b | control | w) & HIGH;
            if z != 0 {
                // the lowest flagged byte is exact (false positives sit
                // only above a true one): the loop below stops on it
                self.i += (z.trailing_zeros() / 8) as usize;
                break;
            }
            self.i += 8;
        }
        loop {
            match self.peek()? {
                b'"' => break,
                b'\\' | 0..0x20 | 0x80.. => return None,
                _ => self.i += 1,
            }
        }
        let body = &self.s[start..self.i];
        self.i += 1;
        Some(body)
    }

    /// An unsigned integer as JSON writes it (no leading zero: serde
    /// refuses `01`); None past `u64`.
    fn uint(&mut self) -> Option<u64> {
        let start = self.i;
        let mut v: u64 = 0;
        while let Some(c) = self.peek().filter(u8::is_ascii_digit) {
            v = v.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
            self.i += 1;
        }
        let n = self.i - start;
        (n == 1 || (n > 1 && self.s[start] != b'0')).then_some(v)
    }

    /// A string, a number or a literal (not an object or an array).
    fn skip_scalar(&mut self) -> Option<()> {
        if self.peek()? == b'"' {
            self.i += 1;
            self.string_body()?;
            return Some(());
        }
        let start = self.i;
        while let Some(c) = self.peek() {
            if matches!(c, b',' | b'}' | b']') {
                break;
            }
            if !(c.is_ascii_alphanumeric() || matches!(c, b'-' | b'+' | b'.')) {
                return None;
            }
            self.i += 1;
        }
        let text = &self.s[start..self.i];
        (matches!(text, b"true" | b"false" | b"null") || json_number(text)).then_some(())
    }

    /// A quoted decimal; Binance's format (1 to 7 digits, a dot, 8
    /// decimals) read in place by [`quoted_fixed8`], up to 11 digits in one
    /// pass, anything else through [`parse_units_bytes`].
    #[inline]
    fn decimal(&mut self) -> Option<u64> {
        self.eat(b'"')?;
        if let Some((v, n)) = quoted_fixed8(self.s, self.i) {
            self.i += n;
            return Some(v);
        }
        self.decimal_general()
    }

    #[cold]
    #[inline(never)]
    fn decimal_general(&mut self) -> Option<u64> {
        let (s, start) = (self.s, self.i);
        let mut i = start;
        let mut int: u64 = 0;
        while i < s.len() && i - start < 11 && s[i].is_ascii_digit() {
            int = int * 10 + u64::from(s[i] - b'0');
            i += 1;
        }
        if i > start && s.get(i) == Some(&b'.') && s.get(i + 9) == Some(&b'"') {
            if let Some(frac) = s[i + 1..i + 9].try_into().ok().and_then(eight_digits) {
                self.i = i + 10;
                return Some(int * ONE + frac);
            }
        }
        parse_units_bytes(self.string_body()?)
    }

    /// One level `["price","qty"]` exactly as Binance writes it (both in
    /// its fixed format, no whitespace): a few loads and compares around
    /// two [`fixed8_words`], the four digit words validated at once; None for anything else.
    #[inline]
    fn level_fixed(&mut self) -> Option<Level> {
        let (s, i) = (self.s, self.i);
        if s.get(i..i + 2)? != b"[\"" {
            return None;
        }
        let (pi, pf, n) = fixed8_words(s, i + 2)?;
        let j = i + 2 + n;
        if s.get(j..j + 2)? != b",\"" {
            return None;
        }
        let (qi, qf, n) = fixed8_words(s, j + 2)?;
        let k = j + 2 + n;
        if *s.get(k)? != b']' || digits_bad(pi) | digits_bad(pf) | digits_bad(qi) | digits_bad(qf) != 0 {
            return None;
        }
        let p = fixed8_value(pi, pf);
        if p == 0 {
            return None;
        }
        self.i = k + 1;
        Some((p, fixed8_value(qi, qf)))
    }

    /// One level in any other layout the scanner takes (other decimal
    /// forms, a zero price refused).
    #[cold]
    #[inline(never)]
    fn level_general(&mut self) -> Option<Level> {
        self.eat(b'[')?;
        let p = self.decimal().filter(|&p| p > 0)?;
        self.eat(b',')?;
        let q = self.decimal()?;
        self.eat(b']')?;
        Some((p, q))
    }

    /// A levels array: Binance's layout in batches ([`levels_batched`], in
    /// the build `B`), else byte by byte.
    fn levels(&mut self, out: &mut Vec<Level>) -> Option<()> {
        let (s, i, n) = (self.s, self.i, out.len());
        if let Some(end) = B::run(
            #[inline(always)]
            || levels_batched(s, i, out),
        ) {
            self.i = end;
            return Some(());
        }
        out.truncate(n);
        self.levels_bytes(out)
    }

    /// A levels array read byte by byte (any layout the scanner takes).
    fn levels_bytes(&mut self, out: &mut Vec<Level>) -> Option<()> {
        self.eat(b'[')?;
        if self.eat(b']').is_some() {
            return Some(());
        }
        loop {
            let level = match self.level_fixed() {
                Some(l) => l,
                None => self.level_general()?,
            };
            out.push(level);
            match self.peek()? {
                b',' => self.i += 1,
                b']' => {
                    self.i += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    fn object(&mut self, ids: &mut Ids, bids: &mut Vec<Level>, asks: &mut Vec<Level>, nested: bool) -> Option<()> {
        self.eat(b'{')?;
        if self.eat(b'}').is_some() {
            return Some(());
        }
        loop {
            self.eat(b'"')?;
            let key = self.string_body()?;
            self.eat(b':')?;
            match key {
                b"data" if !nested => self.object(ids, bids, asks, true)?,
                b"U" => ids.first = Some(self.uint()?),
                b"u" => ids.last = Some(self.uint()?),
                b"b" => self.levels(bids)?,
                b"a" => self.levels(asks)?,
                b"e" => {
                    self.eat(b'"')?;
                    if self.string_body()? != b"depthUpdate" {
                        return None;
                    }
                }
                _ => self.skip_scalar()?,
            }
            match self.peek()? {
                b',' => self.i += 1,
                b'}' => {
                    self.i += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// `lit` at the cursor, taken.
    #[inline]
    fn lit(&mut self, lit: &[u8]) -> Option<()> {
        (self.s.get(self.i..self.i + lit.len())? == lit).then(|| self.i += lit.len())
    }

    /// An unsigned integer of 1 to 16 digits without a leading zero, read
    /// with SWAR words ([`digit_run`], [`eight_digits`]); None for anything
    /// else (the general [`Self::uint`] decides).
    #[inline]
    fn uint_fast(&mut self) -> Option<u64> {
        let (s, i) = (self.s, self.i);
        let n = digit_run(s, i)?;
        if n == 0 || n > 16 || (n > 1 && s[i] == b'0') {
            return None;
        }
        let w = |at: usize| -> Option<u64> { Some(u64::from_le_bytes(s.get(at..at + 8)?.try_into().ok()?)) };
        let v = if n <= 8 {
            digits_value(padded(w(i)?, n))
        } else {
            digits_value(padded(w(i)?, n - 8)) * ONE + digits_value(w(i + n - 8)?)
        };
        self.i = i + n;
        Some(v)
    }

    /// The message in Binance's exact layout, keys in its order:
    /// `{"stream":"..","data":{"e":"depthUpdate","E":..,"s":"..","U":..,
    /// "u":..,"b":[..],"a":[..]}}` or the bare `data` object. None for
    /// anything else ([`Self::message`] then reads it, keys in any order).
    fn message_binance(mut self, bids: &mut Vec<Level>, asks: &mut Vec<Level>) -> Option<(u64, u64)> {
        let nested = if self.lit(br#"{"stream":""#).is_some() {
            self.string_body()?;
            self.lit(br#","data":"#)?;
            true
        } else {
            false
        };
        self.lit(br#"{"e":"depthUpdate","E":"#)?;
        let n = digit_run(self.s, self.i)?;
        if n == 0 || (n > 1 && self.s[self.i] == b'0') {
            return None; // not a plain integer: the general scanner decides
        }
        self.i += n;
        self.lit(br#","s":""#)?;
        self.string_body()?;
        self.lit(br#","U":"#)?;
        let first = self.uint_fast()?;
        self.lit(br#","u":"#)?;
        let last = self.uint_fast()?;
        self.lit(br#","b":"#)?;
        self.levels(bids)?;
        self.lit(br#","a":"#)?;
        self.levels(asks)?;
        self.lit(if nested { b"}}" } else { b"}" })?;
        (self.i == self.s.len()).then_some((first, last))
    }

    fn message(mut self, bids: &mut Vec<Level>, asks: &mut Vec<Level>) -> Option<(u64, u64)> {
        let mut ids = Ids::default();
        self.object(&mut ids, bids, asks, false)?;
        if self.i != self.s.len() {
            return None;
        }
        Some((ids.first?, ids.last?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simd::Plain;

    type Parsed = CoreResult<(u64, u64, Vec<Level>, Vec<Level>)>;

    type ParseFn = fn(&[u8], &mut Vec<Level>, &mut Vec<Level>) -> CoreResult<(u64, u64)>;

    fn run(m: &[u8], f: ParseFn) -> Parsed {
        let (mut b, mut a) = (Vec::new(), Vec::new());
        f(m, &mut b, &mut a).map(|(f, l)| (f, l, b, a))
    }

    fn both_paths(m: &[u8]) -> (Parsed, Parsed) {
        (run(m, parse_depth_message), run(m, parse_with_serde))
    }

    /// The message parsed (scanner first) equals the serde path alone: the
    /// same levels, or the same error message; and the plain build gives
    /// what the dispatched one gives.
    fn assert_like_serde(m: &[u8]) -> Parsed {
        let (got, want) = both_paths(m);
        let plain = run(m, parse_depth_message_with::<Plain>);
        assert_eq!(format!("{plain:?}"), format!("{got:?}"), "{}", String::from_utf8_lossy(m));
        match (&got, &want) {
            (Ok(g), Ok(w)) => assert_eq!(g, w, "{}", String::from_utf8_lossy(m)),
            (Err(g), Err(w)) => assert_eq!(g.to_string(), w.to_string(), "{}", String::from_utf8_lossy(m)),
            _ => panic!("{}: {got:?} against serde's {want:?}", String::from_utf8_lossy(m)),
        }
        got
    }

    fn msg_with(bid: (&str, &str), ask: (&str, &str)) -> String {
        format!(
            r#"{{"stream":"btcusdt@depth@100ms","data":{{"e":"depthUpdate","E":1723161254095,"s":"BTCUSDT","U":7,"u":9,"b":[["61837.63000000","0.00105000"],["{}","{}"]],"a":[["{}","{}"]]}}}}"#,
            bid.0, bid.1, ask.0, ask.1
        )
    }

    /// Decimal texts around Binance's fixed format.
    const ODD: [&str; 24] = [
        "61837.63000000",
        "0.00105000",
        "1.12345678",
        "1234567.12345678",
        "12345678.12345678",     // 8 integer digits: past the in-place reader
        "123456789012.00000000", // 12: past the one-pass reader
        "1.123456789",           // 9 decimals, non-zero: refused
        "1.12345670000",         // 11 decimals, zeros: taken
        "1.1234567",
        "1E-8",
        "1.00000000e2",
        "-1.00000000",
        "1.2345678a",
        "1a.12345678",
        "00000001.00000000",
        ".12345678",
        "1.",
        "0.00000000",
        "",
        ".",
        "1.0000000\\u0030",
        "\u{661}.00000000",
        "1 .00000000",
        "99999999999.99999999",
    ];

    #[test]
    fn odd_decimals_give_what_the_serde_path_gives() {
        for (i, &x) in ODD.iter().enumerate() {
            let y = ODD[(i * 7 + 3) % ODD.len()];
            for (bid, ask) in [((x, "1.00000000"), ("2.00000000", y)), (("3.00000000", x), (y, "4.00000000"))] {
                let _ = assert_like_serde(msg_with(bid, ask).as_bytes());
            }
        }
        // a sample of both kinds, by hand
        let r = assert_like_serde(msg_with(("12345678.12345678", "1E-8"), ("1.12345670000", "0.00105000")).as_bytes());
        let (_, _, b, a) = r.unwrap();
        assert_eq!(b[1], (1_234_567_812_345_678, 1));
        assert_eq!(a[0], (112_345_670, 105_000));
        let e = assert_like_serde(msg_with(("1.123456789", "1"), ("2", "1")).as_bytes()).unwrap_err().to_string();
        assert!(e.contains("b[1]: invalid input: price \"1.123456789\" has more than 8 decimals"), "{e}");
        let e = assert_like_serde(msg_with(("1", "1"), ("0.00000000", "1")).as_bytes()).unwrap_err().to_string();
        assert!(e.contains("a[0]: invalid input: price \"0.00000000\" must be > 0"), "{e}");
    }

    #[test]
    fn levels_laid_out_oddly_or_cut_anywhere() {
        let base = msg_with(("61837.62000000", "1.50000000"), ("61837.64000000", "0.00000000"));
        for odd in [
            base.replace(r#"["61837.62000000","1.50000000"]"#, r#"[ "61837.62000000" , "1.50000000" ]"#),
            base.replace("],[", "],\n["),
            base.replace(r#""1.50000000"]"#, r#""1.50000000","7"]"#),
            base.replace(r#"["61837.62000000","#, r#"["61837.62000000"]"#),
            base.replace(r#""a":[["#, r#""a":[[["#),
            base.replace(r#""s":"BTCUSDT""#, r#""s":"BTC\"USDT""#),
            base.replace(r#""s":"BTCUSDT""#, r#""s":"BTCUSDT-a-much-longer-name""#),
            base.replace(r#""b":"#, r#""b" :"#),
        ] {
            let _ = assert_like_serde(odd.as_bytes());
        }
        // cut after every byte: the loads near the end of the message stay
        // inside it and the scanner gives way to serde's error
        for n in 0..base.len() {
            assert!(assert_like_serde(&base.as_bytes()[..n]).is_err());
        }
        assert_eq!(assert_like_serde(base.as_bytes()).unwrap().2.len(), 2);
        // the bare event ending right after a level
        let bare = br#"{"U":1,"u":2,"a":[],"b":[["1.00000000","2.00000000"]]}"#;
        assert_eq!(assert_like_serde(bare).unwrap(), (1, 2, vec![(ONE, 2 * ONE)], vec![]));
    }

    /// The levels read in batches equal the levels read byte by byte, in
    /// both builds, for arrays of 0 to 40 levels (full and partial
    /// batches), and the batched path takes them all.
    #[test]
    fn levels_in_batches_equal_the_byte_scanner() {
        let texts = ["61837.63000000", "0.00105000", "1.12345678", "1234567.12345678", "7.00000000"];
        for n in 0..40 {
            let levels: Vec<String> =
                (0..n).map(|j| format!(r#"["{}","{}"]"#, texts[(j * 3 + 1) % 5], texts[(j * 2) % 5])).collect();
            for pad in 0..3 {
                let m = format!(r#"{{"s":"{}","U":1,"u":2,"b":[{}],"a":[]}}"#, "x".repeat(pad * 29), levels.join(","));
                let at = m.find(r#""b":"#).unwrap() + 4;
                let (mut fast, mut plain, mut bytes) = (Vec::new(), Vec::new(), Vec::new());
                let end = Dispatched::run(|| levels_batched(m.as_bytes(), at, &mut fast));
                let end_plain = Plain::run(|| levels_batched(m.as_bytes(), at, &mut plain));
                let mut scan = Scan::<Plain>::new(m.as_bytes());
                scan.i = at;
                assert_eq!(scan.levels_bytes(&mut bytes), Some(()));
                assert_eq!((end, end_plain), (Some(scan.i), Some(scan.i)), "{m}");
                assert_eq!((&fast, &plain), (&bytes, &bytes), "{m}");
                assert_eq!(assert_like_serde(m.as_bytes()).unwrap().2, bytes);
            }
        }
        // what it gives way on: the byte scanner (and serde) decide
        let base = r#"["1.00000000","2.00000000"],["3.00000000","4.00000000"]"#;
        for odd in [
            base.replace(r#"",""#, r#"", ""#),
            base.replace("],[", "], ["),
            base.replace("3.00000000", "0.00000000"),
            base.replace("1.00000000", "0.00000000"),
            base.replace("3.00000000", "0000000.00000000"),
            base.replace("3.00000000", "3.0000000"),
            base.replace("3.00000000", "12345678.00000000"),
            base.replace("3.00000000", "3.000000000"),
            base.replace("3.00000000", "3,00000000"),
            base.replace("4.00000000", r#"4.0000000\""#),
            base.replace("4.00000000", r#"4.00000000","5"#),
            base.replace(r#""2.00000000""#, "2"),
        ] {
            let m = format!(r#"{{"U":1,"u":2,"b":[{odd}],"a":[]}}"#);
            let at = m.find('[').unwrap();
            assert_eq!(levels_batched(m.as_bytes(), at, &mut Vec::new()), None, "{m}");
            let _ = assert_like_serde(m.as_bytes());
        }
    }

    /// Binance's envelope read in its key order gives what the general
    /// scanner (keys in any order) and serde give, and gives way on
    /// anything else: update ids of every length, leading zeros, other
    /// scalars, escapes, other keys and orders, the bare event.
    #[test]
    fn the_envelope_in_binance_order_agrees_with_the_general_scanner() {
        let base = msg_with(("61837.62000000", "1.50000000"), ("61837.64000000", "0.00000000"));
        assert!(base.contains(r#""U":7,"u":9,"#));
        let mut variants = vec![base.clone()];
        for (u0, u1) in [
            ("1", "1"),
            ("0", "5"),
            ("12345678", "123456789"),
            ("1234567890123456", "1234567890123457"),
            ("12345678901234567", "12345678901234568"),
            ("18446744073709551615", "18446744073709551615"),
            ("18446744073709551616", "1"),
            ("01", "2"),
            ("00", "2"),
            ("-1", "2"),
            ("1.0", "2"),
            ("\"1\"", "2"),
        ] {
            variants.push(base.replace(r#""U":7,"u":9,"#, &format!(r#""U":{u0},"u":{u1},"#)));
        }
        for (from, to) in [
            (r#""E":1723161254095"#, r#""E":1"#),
            (r#""E":1723161254095"#, r#""E":-1"#),
            (r#""E":1723161254095"#, r#""E":1.5e3"#),
            (r#""E":1723161254095"#, r#""E":"x""#),
            (r#""E":1723161254095"#, r#""E":01"#),
            (r#""E":1723161254095"#, r#""E":1.2.3"#),
            (r#""E":1723161254095"#, r#""E":1."#),
            (r#""E":1723161254095"#, r#""E":1e"#),
            (r#""E":1723161254095"#, r#""E":-0.5E-3"#),
            (r#""E":1723161254095"#, r#""E":tru"#),
            (r#""E":1723161254095"#, r#""E":null"#),
            (r#""s":"BTCUSDT""#, "\"s\":\"BTC\nUSDT\""),
            (r#""s":"BTCUSDT""#, "\"s\":\"BTC\u{e9}USDT\""),
            (r#""E":1723161254095"#, r#""E":123456789012345678901234567890"#),
            (r#""s":"BTCUSDT""#, r#""s":"BTC\"USDT""#),
            (r#""s":"BTCUSDT""#, r#""s":"""#),
            (r#""stream":"btcusdt@depth@100ms""#, r#""stream":"btc\u0075sdt""#),
            (r#""U":7,"u":9"#, r#""u":9,"U":7"#),
            (r#""e":"depthUpdate","#, ""),
            (r#""e":"depthUpdate""#, r#""e":"depthUpdates""#),
            ("]]}}", r#"]],"x":1}}"#),
            ("]]}}", "]]}"),
            ("]]}}", "]]}}}"),
            ("]]}}", "]]} }"),
        ] {
            assert!(base.contains(from), "{from}");
            variants.push(base.replacen(from, to, 1));
        }
        let data = &base[base.find(r#"{"e""#).unwrap()..base.len() - 1];
        variants.push(data.to_owned());
        variants.push(format!("{data} "));
        for m in &variants {
            let m = m.as_bytes();
            let _ = assert_like_serde(m);
            let (mut b1, mut a1, mut b2, mut a2) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            if let Some(ids) = Scan::<Dispatched>::new(m).message_binance(&mut b1, &mut a1) {
                let general = Scan::<Dispatched>::new(m).message(&mut b2, &mut a2);
                assert_eq!((Some(ids), &b1, &a1), (general, &b2, &a2), "{}", String::from_utf8_lossy(m));
            }
        }
        // Binance's own layouts take the fast envelope
        for m in [&base, &variants[4], &variants[variants.len() - 2]] {
            let took = Scan::<Dispatched>::new(m.as_bytes()).message_binance(&mut Vec::new(), &mut Vec::new());
            assert!(took.is_some(), "{m}");
        }
    }

    proptest::proptest! {
        /// The SWAR digit run is the count of leading ASCII digits (None
        /// only when the run reaches the last 7 bytes), and the SWAR update
        /// id is the byte scanner's value wherever it takes one.
        #[test]
        fn digit_runs_and_update_ids_are_counted_exactly(text in "[0-9]{0,22}[^0-9]?[0-9/:,}]{0,12}") {
            let b = text.as_bytes();
            let want = b.iter().take_while(|c| c.is_ascii_digit()).count();
            match digit_run(b, 0) {
                Some(n) => proptest::prop_assert_eq!(n, want),
                None => proptest::prop_assert!(want + 8 > b.len()),
            }
            let mut fast = Scan::<Plain>::new(b);
            if let Some(v) = fast.uint_fast() {
                let mut slow = Scan::<Plain>::new(b);
                proptest::prop_assert_eq!(Some(v), slow.uint());
                proptest::prop_assert_eq!(fast.i, slow.i);
                proptest::prop_assert!(want == 1 || b[0] != b'0');
            }
        }
    }

    proptest::proptest! {
        /// Random decimal-like texts and cuts: always what serde gives.
        #[test]
        fn any_level_text_gives_what_the_serde_path_gives(
            texts in proptest::collection::vec("[0-9]{0,9}[.]?[0-9]{0,10}|[0-9.eE+ a-]{0,16}", 4),
            cut in 0usize..400,
        ) {
            let m = msg_with((&texts[0], &texts[1]), (&texts[2], &texts[3]));
            let _ = assert_like_serde(m.as_bytes());
            let _ = assert_like_serde(&m.as_bytes()[..cut.min(m.len())]);
        }
    }

    fn parse(m: &str) -> CoreResult<(u64, u64, Vec<Level>, Vec<Level>)> {
        let (mut b, mut a) = (Vec::new(), Vec::new());
        let (f, l) = parse_depth_message(m.as_bytes(), &mut b, &mut a)?;
        // the serde path alone agrees with the hand scanner
        let (mut b2, mut a2, mut ids) = (Vec::new(), Vec::new(), Ids::default());
        let mut de = serde_json::Deserializer::from_slice(m.as_bytes());
        Event { bids: &mut b2, asks: &mut a2, ids: &mut ids }.deserialize(&mut de).unwrap();
        assert_eq!((ids.first, ids.last, &b2, &a2), (Some(f), Some(l), &b, &a), "{m}");
        Ok((f, l, b, a))
    }

    #[test]
    fn the_hand_scanner_takes_binance_layout_and_gives_up_on_the_rest() {
        let (mut b, mut a) = (Vec::new(), Vec::new());
        let compact = br#"{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1,"s":"BTCUSDT","U":3,"u":4,"b":[["1.00000000","2.00000000"]],"a":[]}}"#;
        assert_eq!(Scan::<Dispatched>::new(compact).message(&mut b, &mut a), Some((3, 4)));
        assert_eq!(b, vec![(100_000_000, 200_000_000)]);
        for other in [
            &br#"{"U":1,"u":2,"b":[],"a":[] }"#[..],
            br#"{"U":1,"u":2,"b":[["1.0","2"]],"a":[],"x":{"y":1}}"#,
            br#"{"U":1,"u":2,"b":[["1\u0030","2"]],"a":[]}"#,
            br#"{"e":"aggTrade","U":1,"u":2}"#,
        ] {
            assert_eq!(Scan::<Dispatched>::new(other).message(&mut Vec::new(), &mut Vec::new()), None);
        }
        // the serde path takes the ones that are valid
        let mut v = Vec::new();
        assert_eq!(
            parse_depth_message(br#"{"U":1,"u":2,"b":[["1.0","2"]],"a":[],"x":{"y":1}}"#, &mut v, &mut Vec::new())
                .unwrap(),
            (1, 2)
        );
        let e = parse_depth_message(br#"{"U":1,"u":2,"b":[["1\u0030","2"]],"a":[]}"#, &mut Vec::new(), &mut Vec::new());
        assert!(e.unwrap_err().to_string().contains("depth message"));
    }

    #[test]
    fn combined_and_bare_events() {
        let data = r#"{"e":"depthUpdate","E":1723075200123,"s":"BTCUSDT","U":157,"u":160,"b":[["61837.63000000","0.00105000"],["61837.62000000","0.00000000"]],"a":[["61837.64000000","1.5"]]}"#;
        let want = (
            157,
            160,
            vec![(6_183_763_000_000, 105_000), (6_183_762_000_000, 0)],
            vec![(6_183_764_000_000, 150_000_000)],
        );
        assert_eq!(parse(data).unwrap(), want);
        let combined = format!(r#"{{"stream":"btcusdt@depth@100ms","data":{data}}}"#);
        assert_eq!(parse(&combined).unwrap(), want);
        // keys in another order, whitespace
        let other = r#" { "a" : [] , "u" : 2, "b":[["1.00000000","2.00000000"]], "U": 1 } "#;
        assert_eq!(parse(other).unwrap(), (1, 2, vec![(100_000_000, 200_000_000)], vec![]));
    }

    #[test]
    fn bad_messages_are_refused() {
        for (m, needle) in [
            ("not json", "depth message"),
            (r#"{"e":"aggTrade","U":1,"u":2}"#, "aggTrade"),
            (r#"{"b":[],"a":[]}"#, "update ids"),
            (r#"{"U":1,"u":2,"b":[["abc","1"]],"a":[]}"#, "b[0]"),
            (r#"{"U":1,"u":2,"b":[],"a":[["1","2"],["1"]]}"#, "depth message"),
            (r#"{"U":-1,"u":2,"b":[],"a":[]}"#, "depth message"),
            (r#"{"U":1,"u":2,"b":[],"a":[]} trailing"#, "depth message"),
        ] {
            let e = parse(m).unwrap_err().to_string();
            assert!(e.contains(needle), "{m}: {e}");
        }
    }
}
