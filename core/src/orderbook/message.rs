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
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::book::parse_level;
use super::side::Level;
use crate::error::{CoreError, CoreResult};

/// Parses a depth message into `bids` and `asks` (appended) and returns its
/// `(U, u)`.
///
/// # Errors
/// [`CoreError::InvalidInput`] when the bytes are not JSON, not a
/// `depthUpdate` event, lack `U` or `u`, or carry a bad level (the message
/// names it).
pub fn parse_depth_message(message: &[u8], bids: &mut Vec<Level>, asks: &mut Vec<Level>) -> CoreResult<(u64, u64)> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(m: &str) -> CoreResult<(u64, u64, Vec<Level>, Vec<Level>)> {
        let (mut b, mut a) = (Vec::new(), Vec::new());
        let (f, l) = parse_depth_message(m.as_bytes(), &mut b, &mut a)?;
        Ok((f, l, b, a))
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
