//! On-balance volume, TA-Lib `OBV`.
use super::compat::{first_valid, same_len, Column};
use super::{CloseVolume, Indicator};
use crate::error::CoreResult;

/// On-balance volume (TA-Lib `OBV`): starts at the first bar's volume, then
/// adds the volume of each bar that closes higher than the previous close
/// and subtracts it when lower. Lookback 0. Leading bars with a NaN field are
/// skipped like the TA-Lib Python wrapper does.
#[derive(Debug, Clone)]
pub struct Obv {
    count: usize,
    prev_close: f64,
    value: f64,
}

impl Obv {
    /// A new OBV (it has no parameter).
    #[must_use]
    pub fn new() -> Self {
        Self { count: 0, prev_close: 0.0, value: f64::NAN }
    }
}

impl Default for Obv {
    fn default() -> Self {
        Self::new()
    }
}

/// One OBV step in TA-Lib's order (`+volume` on a higher close, `-volume` on
/// a lower one); both candidates are computed so the choice is a select, not
/// a coin-toss branch.
#[inline]
fn step(obv: f64, close: f64, prev_close: f64, volume: f64) -> f64 {
    let (up, down) = (obv + volume, obv - volume);
    if close > prev_close {
        up
    } else if close < prev_close {
        down
    } else {
        obv
    }
}

impl Indicator for Obv {
    type Input = CloseVolume;
    type Output = f64;

    fn update(&mut self, bar: CloseVolume) -> f64 {
        if self.count == 0 {
            if bar.close.is_nan() || bar.volume.is_nan() {
                return f64::NAN;
            }
            self.value = bar.volume;
        } else {
            self.value = step(self.value, bar.close, self.prev_close, bar.volume);
        }
        self.count += 1;
        self.prev_close = bar.close;
        self.value
    }

    fn value(&self) -> f64 {
        self.value
    }

    fn is_ready(&self) -> bool {
        self.count > 0
    }

    fn reset(&mut self) {
        *self = Self::new();
    }

    fn lookback(&self) -> usize {
        0
    }
}

/// Batch OBV: one output per bar.
///
/// # Errors
/// [`crate::error::CoreError::InvalidInput`] if the lengths differ.
pub fn obv(close: &[f64], volume: &[f64]) -> CoreResult<Vec<f64>> {
    Ok(obv_column(close, volume)?.collect())
}

/// [`obv`] written into `out` (same length as the inputs).
///
/// # Errors
/// [`crate::error::CoreError::InvalidInput`] if a length differs.
pub fn obv_into(close: &[f64], volume: &[f64], out: &mut [f64]) -> CoreResult<()> {
    obv_column(close, volume)?.write(out)
}

fn obv_column<'a>(close: &'a [f64], volume: &'a [f64]) -> CoreResult<Column<impl Iterator<Item = f64> + 'a>> {
    let n = same_len(&[("close", close), ("volume", volume)])?;
    let begin = first_valid(n, &[close, volume]);
    let mut value = volume.get(begin).copied().unwrap_or(f64::NAN);
    let mut prev = close.get(begin).copied().unwrap_or(f64::NAN);
    let values = close[begin..].iter().zip(&volume[begin..]).map(move |(&c, &v)| {
        value = step(value, c, prev, v);
        prev = c;
        value
    });
    Ok(Column { n, warm: begin, values })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn obv_adds_on_up_closes_and_subtracts_on_down_closes() {
        let c = [10.0, 11.0, 11.0, 9.0, 12.0];
        let v = [100.0, 20.0, 30.0, 5.0, 1.0];
        assert_eq!(obv(&c, &v).unwrap(), vec![100.0, 120.0, 120.0, 115.0, 116.0]);
        let mut o = Obv::new();
        assert_eq!(o.lookback(), 0);
        let streamed: Vec<f64> =
            c.iter().zip(&v).map(|(&close, &volume)| o.update(CloseVolume { close, volume })).collect();
        assert_eq!(streamed, vec![100.0, 120.0, 120.0, 115.0, 116.0]);
        o.reset();
        assert!(!o.is_ready() && o.value().is_nan());
    }

    #[test]
    fn obv_rejects_mismatched_lengths() {
        assert!(obv(&[1.0, 2.0], &[1.0]).is_err());
        assert!(obv(&[], &[]).unwrap().is_empty());
    }
}
