//! Reads candle files into columns.
//!
//! Two layouts, plain or gzip-compressed (detected from the magic bytes):
//! * AVD's (the `../shared/data` format): a header
//!   `open_time,open,high,low,close,volume,close_time,quote_volume,trades,taker_buy_base,taker_buy_quote`;
//!   the columns after `volume` may be absent or empty (NaN: "not in the source");
//! * Binance's raw kline CSV (`data.binance.vision`): no header, 12 columns.
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use flate2::read::MultiGzDecoder;

use crate::error::{CoreError, CoreResult};

const HEADER: [&str; 11] = [
    "open_time",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "close_time",
    "quote_volume",
    "trades",
    "taker_buy_base",
    "taker_buy_quote",
];

/// Candle columns, oldest first. Missing optional values are NaN.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CandleColumns {
    pub open_time: Vec<i64>,
    pub open: Vec<f64>,
    pub high: Vec<f64>,
    pub low: Vec<f64>,
    pub close: Vec<f64>,
    pub volume: Vec<f64>,
    pub close_time: Vec<i64>,
    pub quote_volume: Vec<f64>,
    pub trades: Vec<f64>,
    pub taker_buy_base: Vec<f64>,
    pub taker_buy_quote: Vec<f64>,
}

impl CandleColumns {
    #[must_use]
    pub fn len(&self) -> usize {
        self.open_time.len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.open_time.is_empty()
    }
}

/// Reads a candle file (plain or gzip CSV).
///
/// # Errors
/// `Io` if it cannot be opened, `Data` naming the line for malformed content.
pub fn read_candle_file(path: &Path) -> CoreResult<CandleColumns> {
    let mut file = File::open(path).map_err(|e| CoreError::Io(format!("{}: {e}", path.display())))?;
    let mut magic = [0u8; 2];
    let n = file.read(&mut magic)?;
    let file = File::open(path)?;
    let reader: Box<dyn Read> =
        if n == 2 && magic == [0x1f, 0x8b] { Box::new(MultiGzDecoder::new(file)) } else { Box::new(file) };
    parse_candle_csv(BufReader::with_capacity(1 << 16, reader)).map_err(|e| match e {
        CoreError::Data(m) => CoreError::Data(format!("{}: {m}", path.display())),
        other => other,
    })
}

/// Parses candle CSV text (see the module docs for the layouts).
///
/// # Errors
/// `Data` naming the line and column of the first malformed value.
pub fn parse_candle_csv<R: BufRead>(reader: R) -> CoreResult<CandleColumns> {
    let mut cols = CandleColumns::default();
    let mut width: Option<usize> = None;
    for (idx, line) in reader.lines().enumerate() {
        let lineno = idx + 1;
        let line = line.map_err(|e| CoreError::Data(format!("line {lineno}: {e}")))?;
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        if width.is_none() {
            let first = line.split(',').next().unwrap_or("");
            if first.trim().parse::<i64>().is_err() {
                let names: Vec<&str> = line.split(',').map(str::trim).collect();
                check_header(&names)?;
                width = Some(names.len());
                continue;
            }
            width = Some(12);
        }
        parse_row(line, lineno, &mut cols)?;
    }
    Ok(cols)
}

fn check_header(names: &[&str]) -> CoreResult<()> {
    if names.len() < 6 || names.len() > HEADER.len() || names != &HEADER[..names.len()] {
        return Err(CoreError::Data(format!(
            "line 1: unexpected header {:?}; expected the columns {} (those after `volume` optional)",
            names.join(","),
            HEADER.join(",")
        )));
    }
    Ok(())
}

fn parse_row(line: &str, lineno: usize, cols: &mut CandleColumns) -> CoreResult<()> {
    let mut fields = line.split(',');
    let mut next = |name: &str| fields.next().map(str::trim).ok_or(name.to_owned());
    let missing = |name: String| CoreError::Data(format!("line {lineno}: missing column `{name}`"));
    let int = |name: &str, s: &str| {
        s.parse::<i64>()
            .or_else(|_| s.parse::<f64>().map(|f| f as i64))
            .map_err(|_| CoreError::Data(format!("line {lineno}: `{name}` is not an integer: {s:?}")))
    };
    let num = |name: &str, s: &str| {
        s.parse::<f64>().map_err(|_| CoreError::Data(format!("line {lineno}: `{name}` is not a number: {s:?}")))
    };
    let opt = |name: &str, s: Option<&str>| match s {
        None | Some("") => Ok(f64::NAN),
        Some(v) => num(name, v),
    };

    let open_time = int("open_time", next("open_time").map_err(missing)?)?;
    let open = num("open", next("open").map_err(missing)?)?;
    let high = num("high", next("high").map_err(missing)?)?;
    let low = num("low", next("low").map_err(missing)?)?;
    let close = num("close", next("close").map_err(missing)?)?;
    let volume = num("volume", next("volume").map_err(missing)?)?;
    let close_time = match next("close_time").ok() {
        None | Some("") => None,
        Some(s) => Some(int("close_time", s)?),
    };
    let quote_volume = opt("quote_volume", next("quote_volume").ok())?;
    let trades = opt("trades", next("trades").ok())?;
    let taker_buy_base = opt("taker_buy_base", next("taker_buy_base").ok())?;
    let taker_buy_quote = opt("taker_buy_quote", next("taker_buy_quote").ok())?;

    cols.open_time.push(open_time);
    cols.open.push(open);
    cols.high.push(high);
    cols.low.push(low);
    cols.close.push(close);
    cols.volume.push(volume);
    cols.close_time.push(close_time.unwrap_or(i64::MIN));
    cols.quote_volume.push(quote_volume);
    cols.trades.push(trades);
    cols.taker_buy_base.push(taker_buy_base);
    cols.taker_buy_quote.push(taker_buy_quote);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_avd_layout_with_empty_optional_fields() {
        let text =
            "open_time,open,high,low,close,volume,close_time,quote_volume,trades,taker_buy_base,taker_buy_quote\n\
                    1000,1.5,2,1,1.75,10,60999,,,,\n\
                    61000,1.75,2.5,1.5,2,20,120999,40,7,12,24\n";
        let c = parse_candle_csv(text.as_bytes()).unwrap();
        assert_eq!(c.open_time, vec![1000, 61000]);
        assert_eq!(c.close, vec![1.75, 2.0]);
        assert!(c.quote_volume[0].is_nan());
        assert_eq!(c.trades[1], 7.0);
        assert_eq!(c.close_time, vec![60999, 120_999]);
    }

    #[test]
    fn reads_binance_raw_klines_without_header() {
        let text = "1767225600000,64000.00000000,64120.50000000,63950.00000000,64088.10000000,12.34500000,1767225659999,790912.11000000,412,6.10000000,390822.70000000,0\n";
        let c = parse_candle_csv(text.as_bytes()).unwrap();
        assert_eq!(c.open_time, vec![1_767_225_600_000]);
        assert!((c.high[0] - 64120.5).abs() < 1e-9);
        assert_eq!(c.trades[0], 412.0);
    }

    #[test]
    fn malformed_values_name_their_line_and_column() {
        let text = "open_time,open,high,low,close,volume\n1,1,1,1,1,1\n2,1,x,1,1,1\n";
        let e = parse_candle_csv(text.as_bytes()).unwrap_err().to_string();
        assert!(e.contains("line 3") && e.contains("high"), "{e}");
        let e = parse_candle_csv("time,o,h\n".as_bytes()).unwrap_err().to_string();
        assert!(e.contains("unexpected header"), "{e}");
        let e = parse_candle_csv("1,2,3\n".as_bytes()).unwrap_err().to_string();
        assert!(e.contains("missing column `low`"), "{e}");
    }
}
