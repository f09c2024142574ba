//! Binance kline intervals and the open-time arithmetic they imply.
use std::fmt;
use std::str::FromStr;

use crate::error::CoreError;

const SECOND: i64 = 1_000;
const MINUTE: i64 = 60 * SECOND;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

/// A Binance kline interval (`1s 1m 3m 5m 15m 30m 1h 2h 4h 6h 8h 12h 1d 3d 1w 1M`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Interval {
    S1,
    M1,
    M3,
    M5,
    M15,
    M30,
    H1,
    H2,
    H4,
    H6,
    H8,
    H12,
    D1,
    D3,
    W1,
    /// One calendar month (variable length).
    Mo1,
}

impl Interval {
    /// Every interval, shortest first.
    pub const ALL: [Interval; 16] = [
        Self::S1,
        Self::M1,
        Self::M3,
        Self::M5,
        Self::M15,
        Self::M30,
        Self::H1,
        Self::H2,
        Self::H4,
        Self::H6,
        Self::H8,
        Self::H12,
        Self::D1,
        Self::D3,
        Self::W1,
        Self::Mo1,
    ];

    /// Binance's name for it (`"1m"`).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::S1 => "1s",
            Self::M1 => "1m",
            Self::M3 => "3m",
            Self::M5 => "5m",
            Self::M15 => "15m",
            Self::M30 => "30m",
            Self::H1 => "1h",
            Self::H2 => "2h",
            Self::H4 => "4h",
            Self::H6 => "6h",
            Self::H8 => "8h",
            Self::H12 => "12h",
            Self::D1 => "1d",
            Self::D3 => "3d",
            Self::W1 => "1w",
            Self::Mo1 => "1M",
        }
    }

    /// Index in [`Interval::ALL`].
    #[must_use]
    pub fn index(self) -> usize {
        self as usize
    }

    /// Nominal length in ms (31 days for `1M`).
    #[must_use]
    #[inline]
    pub fn millis(self) -> i64 {
        match self {
            Self::S1 => SECOND,
            Self::M1 => MINUTE,
            Self::M3 => 3 * MINUTE,
            Self::M5 => 5 * MINUTE,
            Self::M15 => 15 * MINUTE,
            Self::M30 => 30 * MINUTE,
            Self::H1 => HOUR,
            Self::H2 => 2 * HOUR,
            Self::H4 => 4 * HOUR,
            Self::H6 => 6 * HOUR,
            Self::H8 => 8 * HOUR,
            Self::H12 => 12 * HOUR,
            Self::D1 => DAY,
            Self::D3 => 3 * DAY,
            Self::W1 => 7 * DAY,
            Self::Mo1 => 31 * DAY,
        }
    }

    /// Open time of the candle after the one opening at `open_time`.
    #[must_use]
    #[inline]
    pub fn next_open(self, open_time: i64) -> i64 {
        if self == Self::Mo1 {
            next_month(open_time)
        } else {
            open_time + self.millis()
        }
    }

    /// Binance's close time of a candle: next open minus 1 ms.
    #[must_use]
    #[inline]
    pub fn close_time(self, open_time: i64) -> i64 {
        self.next_open(open_time) - 1
    }

    /// Whether `open_time` falls on this interval's grid (UTC; weeks start
    /// on Monday, months on the 1st).
    #[must_use]
    pub fn is_aligned(self, open_time: i64) -> bool {
        match self {
            // 1970-01-01 was a Thursday; Binance weeks open on Monday.
            Self::W1 => (open_time - 4 * DAY).rem_euclid(7 * DAY) == 0,
            Self::D3 => open_time.rem_euclid(DAY) == 0,
            Self::Mo1 => {
                let (_, _, d) = civil_from_days(open_time.div_euclid(DAY));
                d == 1 && open_time.rem_euclid(DAY) == 0
            }
            _ => open_time.rem_euclid(self.millis()) == 0,
        }
    }

    /// Number of whole candles that fit strictly between two open times on
    /// the grid (the candles missing in a gap from `last` to `next`).
    #[must_use]
    pub fn missing_between(self, last: i64, next: i64) -> u64 {
        let mut count = 0u64;
        let mut t = self.next_open(last);
        if self != Self::Mo1 {
            let step = self.millis();
            let span = next - t;
            return if span <= 0 { 0 } else { u64::try_from((span + step - 1) / step).unwrap_or(0) };
        }
        while t < next {
            count += 1;
            t = self.next_open(t);
        }
        count
    }
}

/// The open time of the month after the one opening at `open_time` (same
/// time of day), out of line: the fixed intervals' `next_open` is one add.
#[inline(never)]
fn next_month(open_time: i64) -> i64 {
    let (y, m, _) = civil_from_days(open_time.div_euclid(DAY));
    let (y, m) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    days_from_civil(y, m, 1) * DAY + open_time.rem_euclid(DAY)
}

impl fmt::Display for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Interval {
    type Err = CoreError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.iter().copied().find(|i| i.as_str() == s).ok_or_else(|| {
            CoreError::param(
                "interval",
                format!("unknown interval {s:?}; expected one of 1s 1m 3m 5m 15m 30m 1h 2h 4h 6h 8h 12h 1d 3d 1w 1M"),
            )
        })
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Inverse of [`days_from_civil`].
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_binance_interval_and_rejects_others() {
        for i in Interval::ALL {
            assert_eq!(i.as_str().parse::<Interval>().unwrap(), i);
        }
        assert!("2m".parse::<Interval>().is_err());
        assert!("1H".parse::<Interval>().is_err());
    }

    #[test]
    fn month_steps_follow_the_calendar() {
        // 2024-01-01T00:00Z = 1704067200000; February 2024 has 29 days.
        let jan = 1_704_067_200_000;
        let feb = Interval::Mo1.next_open(jan);
        assert_eq!(feb, jan + 31 * DAY);
        assert_eq!(Interval::Mo1.next_open(feb), feb + 29 * DAY);
        assert!(Interval::Mo1.is_aligned(feb));
        assert!(!Interval::Mo1.is_aligned(feb + DAY));
    }

    #[test]
    fn weeks_open_on_monday() {
        // 2024-01-01 was a Monday.
        assert!(Interval::W1.is_aligned(1_704_067_200_000));
        assert!(!Interval::W1.is_aligned(1_704_067_200_000 + DAY));
    }

    #[test]
    fn missing_counts_whole_candles_in_a_gap() {
        let m = Interval::M1;
        assert_eq!(m.missing_between(0, MINUTE), 0);
        assert_eq!(m.missing_between(0, 4 * MINUTE), 3);
        // the 2018 unaligned 1h candle: 09:28:14.789 after 01:00 -> 8 hourly slots missing (02..09)
        let h = Interval::H1;
        assert_eq!(h.missing_between(HOUR, 9 * HOUR + 28 * MINUTE), 8);
    }
}
