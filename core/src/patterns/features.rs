//! The feature set: every indicator one symbol-interval needs, updated once
//! per closed candle, and the snapshot ([`Features`]) the detectors read.
use crate::candles::Candle;
use crate::config::IndicatorConfig;
use crate::error::CoreResult;
use crate::indicators::rolling_extreme::WindowRange;
use crate::indicators::{
    Adx, Atr, BBands, CloseVolume, DeltaShare, Donchian, Ema, HighLow, Hlc, Indicator, Macd, MacdOutput, Obv, Rsi,
    VolumeTakerBuy, ZScore,
};

/// What the pattern detectors and the scorer see after one closed candle.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Features {
    pub open_time: i64,
    pub close: f64,
    pub volume: f64,
    pub ema_fast: f64,
    pub ema_slow: f64,
    /// The slow EMA one bar earlier (its slope gives the trend direction).
    pub ema_slow_prev: f64,
    pub rsi: f64,
    pub atr: f64,
    pub bb_upper: f64,
    pub bb_middle: f64,
    pub bb_lower: f64,
    /// Bollinger width relative to the middle band.
    pub bb_width: f64,
    /// Where the width sits in its range over the squeeze lookback:
    /// 0 = the narrowest, 1 = the widest.
    pub width_rank: f64,
    /// Highest high of the previous N bars (the current bar excluded).
    pub channel_high: f64,
    /// Lowest low of the previous N bars (the current bar excluded).
    pub channel_low: f64,
    pub obv: f64,
    pub obv_ema: f64,
    pub volume_z: f64,
    pub adx: f64,
    pub plus_di: f64,
    pub minus_di: f64,
    pub macd_hist: f64,
    /// Taker-buy share of the volume (NaN if the data lacks it).
    pub taker_share: f64,
    /// The kline delta's share of the volume over `indicators.flow_window`
    /// candles, `Σ (2 × taker_buy − volume) / Σ volume` in [−1, 1] (NaN if the
    /// data lacks the taker-buy volume).
    pub delta_share: f64,
}

impl Features {
    /// A snapshot with every value unknown (NaN).
    #[must_use]
    pub fn missing() -> Self {
        Self { open_time: 0, ..Self::neutral(f64::NAN) }.with_all(f64::NAN)
    }

    fn with_all(self, v: f64) -> Self {
        Self {
            open_time: self.open_time,
            close: v,
            volume: v,
            ema_fast: v,
            ema_slow: v,
            ema_slow_prev: v,
            rsi: v,
            atr: v,
            bb_upper: v,
            bb_middle: v,
            bb_lower: v,
            bb_width: v,
            width_rank: v,
            channel_high: v,
            channel_low: v,
            obv: v,
            obv_ema: v,
            volume_z: v,
            adx: v,
            plus_di: v,
            minus_di: v,
            macd_hist: v,
            taker_share: v,
            delta_share: v,
        }
    }

    /// A flat, directionless snapshot at `price` (for tests and examples).
    #[must_use]
    pub fn neutral(price: f64) -> Self {
        Self {
            open_time: 0,
            close: price,
            volume: 1.0,
            ema_fast: price,
            ema_slow: price,
            ema_slow_prev: price,
            rsi: 50.0,
            atr: 1.0,
            bb_upper: price,
            bb_middle: price,
            bb_lower: price,
            bb_width: 0.0,
            width_rank: 0.5,
            channel_high: price,
            channel_low: price,
            obv: 0.0,
            obv_ema: 0.0,
            volume_z: 0.0,
            adx: 22.0,
            plus_di: 20.0,
            minus_di: 20.0,
            macd_hist: 0.0,
            taker_share: f64::NAN,
            delta_share: f64::NAN,
        }
    }
}

/// The channel of the previous bars: TA-Lib's `MAX(high)`/`MIN(low)` for
/// any input, or, for candles the engine checked (finite prices above zero,
/// [`Candle::is_sane`]), the window's extremes by van Herk / Gil-Werman
/// blocks, no data-dependent branch. On such candles the two give the same
/// bits: TA-Lib's rescans reduce to the window's extreme when no value is
/// NaN, and equal positive values have equal bits.
#[derive(Debug, Clone)]
enum Channel {
    Talib(Box<Donchian>),
    Checked(WindowRange),
}

impl Channel {
    /// `(highest high, lowest low)` of the window ending at this bar, NaN
    /// until `period` bars were seen.
    #[inline(always)]
    #[allow(clippy::inline_always)] // inlined into the engine's dispatched batch loops
    fn update(&mut self, high: f64, low: f64) -> (f64, f64) {
        match self {
            Self::Talib(d) => {
                let ch = d.update(HighLow { high, low });
                (ch.upper, ch.lower)
            }
            Self::Checked(blocks) => {
                debug_assert!(high > 0.0 && low > 0.0, "the checked channel takes checked candles");
                blocks.update_pair(high, low)
            }
        }
    }
}

/// The indicators of one symbol-interval.
#[derive(Debug, Clone)]
pub struct FeatureSet {
    ema_fast: Ema,
    ema_slow: Ema,
    rsi: Rsi,
    atr: Atr,
    bbands: BBands,
    channel: Channel,
    obv: Obv,
    obv_ema: Ema,
    volume_z: ZScore,
    adx: Adx,
    macd: Macd,
    /// The band width's range over the squeeze lookback (finite widths only).
    width_range: WindowRange,
    delta_share: DeltaShare,
    /// The channel before the current bar was added.
    prev_channel: (f64, f64),
    ema_slow_prev: f64,
    /// The latest values, ready or not.
    current: Features,
    ready: bool,
    bars: u64,
}

impl FeatureSet {
    /// Builds the indicators.
    ///
    /// # Errors
    /// `InvalidParameter` if a period is out of range.
    pub fn new(cfg: &IndicatorConfig) -> CoreResult<Self> {
        Self::build(cfg, Channel::Talib(Box::new(Donchian::new(cfg.channel)?)))
    }

    /// [`FeatureSet::new`] for candles that are always checked first
    /// ([`Candle::is_sane`]: finite prices above zero), as the engine's
    /// are: the same values, the channel without TA-Lib's NaN handling.
    ///
    /// # Errors
    /// `InvalidParameter` if a period is out of range.
    pub(crate) fn for_checked_candles(cfg: &IndicatorConfig) -> CoreResult<Self> {
        Self::build(cfg, Channel::Checked(WindowRange::new(cfg.channel)?))
    }

    fn build(cfg: &IndicatorConfig, channel: Channel) -> CoreResult<Self> {
        Ok(Self {
            ema_fast: Ema::new(cfg.ema_fast)?,
            ema_slow: Ema::new(cfg.ema_slow)?,
            rsi: Rsi::new(cfg.rsi)?,
            atr: Atr::new(cfg.atr)?,
            bbands: BBands::new(cfg.bb_period, cfg.bb_nbdev, cfg.bb_nbdev)?,
            channel,
            obv: Obv::new(),
            obv_ema: Ema::new(cfg.obv_ema)?,
            volume_z: ZScore::new(cfg.volume_z)?,
            adx: Adx::new(cfg.adx)?,
            macd: Macd::new(cfg.macd_fast, cfg.macd_slow, cfg.macd_signal)?,
            width_range: WindowRange::new(cfg.squeeze_lookback)?,
            delta_share: DeltaShare::new(cfg.flow_window)?,
            prev_channel: (f64::NAN, f64::NAN),
            ema_slow_prev: f64::NAN,
            current: Features::missing(),
            ready: false,
            bars: 0,
        })
    }

    /// Closed candles seen.
    #[must_use]
    pub fn bars(&self) -> u64 {
        self.bars
    }

    /// The last complete snapshot (None while warming up).
    #[must_use]
    pub fn last(&self) -> Option<&Features> {
        self.ready.then_some(&self.current)
    }

    /// Feeds one closed candle; returns the snapshot once every indicator
    /// is past its warm-up.
    pub fn update(&mut self, c: &Candle) -> Option<Features> {
        self.advance(c).then_some(self.current)
    }

    /// The MACD line, signal line and histogram after the last candle
    /// (NaN while warming up).
    #[must_use]
    pub fn macd(&self) -> MacdOutput {
        self.macd.value()
    }

    /// The latest values, ready or not.
    #[must_use]
    pub fn current(&self) -> &Features {
        &self.current
    }

    /// Feeds one closed candle; whether every indicator is past its warm-up
    /// (the snapshot is then [`FeatureSet::current`]; no copy is made: each
    /// value is written into it as it is computed).
    #[inline(always)]
    #[allow(clippy::inline_always)] // inlined into the engine's dispatched batch loops
    pub fn advance(&mut self, c: &Candle) -> bool {
        self.bars += 1;
        let f = &mut self.current;
        let hlc = Hlc { high: c.high, low: c.low, close: c.close };
        f.open_time = c.open_time;
        f.close = c.close;
        f.volume = c.volume;
        f.ema_fast = self.ema_fast.update(c.close);
        let ema_slow_prev = self.ema_slow_prev;
        f.ema_slow_prev = ema_slow_prev;
        let ema_slow = self.ema_slow.update(c.close);
        f.ema_slow = ema_slow;
        self.ema_slow_prev = ema_slow;
        f.rsi = self.rsi.update(c.close);
        f.atr = self.atr.update(hlc);
        let bands = self.bbands.update(c.close);
        (f.bb_upper, f.bb_middle, f.bb_lower) = (bands.upper, bands.middle, bands.lower);
        // the channel before this bar
        let (channel_high, channel_low) = self.prev_channel;
        (f.channel_high, f.channel_low) = (channel_high, channel_low);
        self.prev_channel = self.channel.update(c.high, c.low);
        let obv = self.obv.update(CloseVolume { close: c.close, volume: c.volume });
        f.obv = obv;
        f.obv_ema = self.obv_ema.update(obv);
        f.volume_z = self.volume_z.update(c.volume);
        let dmi = self.adx.update(hlc);
        (f.adx, f.plus_di, f.minus_di) = (dmi.adx, dmi.plus_di, dmi.minus_di);
        f.macd_hist = self.macd.update(c.close).hist;

        let bb_width = (bands.upper - bands.lower) / bands.middle;
        let width_rank = if bb_width.is_finite() {
            let (upper, lower) = self.width_range.update(bb_width);
            let span = upper - lower;
            if span > 0.0 {
                (bb_width - lower) / span
            } else {
                0.5
            }
        } else {
            f64::NAN
        };
        f.bb_width = bb_width;
        f.width_rank = width_rank;
        f.taker_share = c.taker_buy_share();
        f.delta_share = self.delta_share.update(VolumeTakerBuy { volume: c.volume, taker_buy: c.taker_buy_base });
        let ready = self.ema_slow.is_ready()
            && ema_slow_prev.is_finite()
            && self.adx.is_ready()
            && self.macd.is_ready()
            && self.bbands.is_ready()
            && self.volume_z.is_ready()
            && self.rsi.is_ready()
            && self.atr.is_ready()
            && self.obv_ema.is_ready()
            && channel_high.is_finite()
            && width_rank.is_finite();
        self.ready = ready;
        ready
    }

    /// Named indicator values after the last candle (NaN while warming up).
    #[must_use]
    pub fn values(&self) -> Vec<(&'static str, f64)> {
        let f = self.current;
        vec![
            ("close", f.close),
            ("ema_fast", f.ema_fast),
            ("ema_slow", f.ema_slow),
            ("rsi", f.rsi),
            ("atr", f.atr),
            ("bb_upper", f.bb_upper),
            ("bb_middle", f.bb_middle),
            ("bb_lower", f.bb_lower),
            ("bb_width", f.bb_width),
            ("width_rank", f.width_rank),
            ("channel_high", f.channel_high),
            ("channel_low", f.channel_low),
            ("obv", f.obv),
            ("obv_ema", f.obv_ema),
            ("volume_z", f.volume_z),
            ("adx", f.adx),
            ("plus_di", f.plus_di),
            ("minus_di", f.minus_di),
            ("macd_hist", f.macd_hist),
            ("taker_share", f.taker_share),
            ("delta_share", f.delta_share),
        ]
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::history::read_candle_file;
    use crate::indicators::{adx, atr, bbands, donchian, ema, macd, minus_di, obv, plus_di, rsi};

    /// Bitwise equal, any NaN matching any NaN.
    fn same(a: f64, b: f64) -> bool {
        a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
    }

    /// A feature's name, its reference column, and how to read it.
    type Column = (&'static str, Vec<f64>, fn(&Features) -> f64);

    /// `x` one bar later (NaN first).
    fn lagged(x: &[f64]) -> Vec<f64> {
        std::iter::once(f64::NAN).chain(x[..x.len() - 1].iter().copied()).collect()
    }

    /// The exact z-score of `x[i]` in its window (two passes, the mean of the
    /// squared deviations from the window's mean).
    fn exact_z(x: &[f64], i: usize, n: usize) -> f64 {
        let w = &x[i + 1 - n..=i];
        let mean = w.iter().sum::<f64>() / n as f64;
        let var = w.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n as f64;
        if var == 0.0 {
            0.0
        } else {
            (x[i] - mean) / var.sqrt()
        }
    }

    /// Every feature of a month of real BTCUSDT 1-minute candles, bar by bar,
    /// against the batch indicators over the whole columns (their own code:
    /// van Herk blocks or TA-Lib's rescans for the channels, strip-wise passes
    /// for the smoothings), bit for bit; the volume z-score and the delta
    /// share against exact two-pass sums per window.
    #[test]
    fn features_equal_the_batch_indicators_on_real_candles() {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/BTCUSDT-1m.csv.gz");
        let d = read_candle_file(&path).expect("the shared real data (../shared/data) is needed");
        let n = d.len();
        // the file has no taker-buy volume: a made-up share from the bar's move
        let taker: Vec<f64> = (0..n).map(|i| d.volume[i] * if d.close[i] >= d.open[i] { 0.7 } else { 0.35 }).collect();
        let cfg = IndicatorConfig::default();
        let mut fs = FeatureSet::new(&cfg).unwrap();
        let mut got: Vec<Features> = Vec::with_capacity(n);
        let mut ready = Vec::with_capacity(n);
        for (i, &taker_buy) in taker.iter().enumerate() {
            let mut c = Candle::ohlcv(d.open_time[i], d.open[i], d.high[i], d.low[i], d.close[i], d.volume[i]);
            c.taker_buy_base = taker_buy;
            ready.push(fs.advance(&c));
            got.push(*fs.current());
        }
        let (h, l, c, v) = (&d.high, &d.low, &d.close, &d.volume);
        let bands = bbands(c, cfg.bb_period, cfg.bb_nbdev, cfg.bb_nbdev).unwrap();
        let width: Vec<f64> = (0..n).map(|i| (bands.0[i] - bands.2[i]) / bands.1[i]).collect();
        let (width_max, width_min) = donchian(&width, &width, cfg.squeeze_lookback).unwrap();
        let rank: Vec<f64> = (0..n)
            .map(|i| {
                let span = width_max[i] - width_min[i];
                // the squeeze rank reads 0.5 through the range's warm-up
                if width[i].is_nan() {
                    f64::NAN
                } else if span > 0.0 {
                    (width[i] - width_min[i]) / span
                } else {
                    0.5
                }
            })
            .collect();
        let (channel_high, channel_low) = donchian(h, l, cfg.channel).unwrap();
        let obv_line = obv(c, v).unwrap();
        let slow = ema(c, cfg.ema_slow).unwrap();
        let columns: Vec<Column> = vec![
            ("ema_fast", ema(c, cfg.ema_fast).unwrap(), |f| f.ema_fast),
            ("ema_slow_prev", lagged(&slow), |f| f.ema_slow_prev),
            ("ema_slow", slow, |f| f.ema_slow),
            ("rsi", rsi(c, cfg.rsi).unwrap(), |f| f.rsi),
            ("atr", atr(h, l, c, cfg.atr).unwrap(), |f| f.atr),
            ("bb_upper", bands.0.clone(), |f| f.bb_upper),
            ("bb_middle", bands.1.clone(), |f| f.bb_middle),
            ("bb_lower", bands.2.clone(), |f| f.bb_lower),
            ("bb_width", width, |f| f.bb_width),
            ("width_rank", rank, |f| f.width_rank),
            ("channel_high", lagged(&channel_high), |f| f.channel_high),
            ("channel_low", lagged(&channel_low), |f| f.channel_low),
            ("obv_ema", ema(&obv_line, cfg.obv_ema).unwrap(), |f| f.obv_ema),
            ("obv", obv_line, |f| f.obv),
            ("adx", adx(h, l, c, cfg.adx).unwrap(), |f| f.adx),
            ("plus_di", plus_di(h, l, c, cfg.adx).unwrap(), |f| f.plus_di),
            ("minus_di", minus_di(h, l, c, cfg.adx).unwrap(), |f| f.minus_di),
            ("macd_hist", macd(c, cfg.macd_fast, cfg.macd_slow, cfg.macd_signal).unwrap().2, |f| f.macd_hist),
            ("close", c.clone(), |f| f.close),
            ("volume", v.clone(), |f| f.volume),
        ];
        for (name, want, field) in &columns {
            for i in 0..n {
                assert!(same(field(&got[i]), want[i]), "{name} at bar {i}: {} vs {}", field(&got[i]), want[i]);
            }
        }
        let (z, flow) = (cfg.volume_z, cfg.flow_window);
        for (i, f) in got.iter().enumerate() {
            assert_eq!(f.open_time, d.open_time[i]);
            assert!(same(f.taker_share, taker[i] / v[i]), "taker_share at bar {i}");
            if i + 1 >= z {
                let want = exact_z(v, i, z);
                assert!((f.volume_z - want).abs() <= 1e-9 * want.abs().max(1.0), "volume_z at {i}: {}", f.volume_z);
            } else {
                assert!(f.volume_z.is_nan());
            }
            if i + 1 >= flow {
                let (dsum, vsum) =
                    (i + 1 - flow..=i).fold((0.0, 0.0), |(a, b), j| (a + 2.0 * taker[j] - v[j], b + v[j]));
                assert!((f.delta_share - dsum / vsum).abs() <= 1e-12, "delta_share at {i}: {}", f.delta_share);
            } else {
                assert!(f.delta_share.is_nan());
            }
        }
        // ready from the first bar where every feature is a number, on
        let numbers = |f: &Features| columns.iter().all(|(_, _, field)| field(f).is_finite()) && f.volume_z.is_finite();
        let first = got.iter().position(numbers);
        let first = first.expect("a month of bars warms every indicator up");
        assert!(ready[..first].iter().all(|r| !r) && ready[first..].iter().all(|&r| r), "ready from bar {first}");
        assert_eq!(fs.bars(), n as u64);
    }
}

#[cfg(test)]
mod checked_channel_tests {
    use std::path::PathBuf;

    use proptest::prelude::*;

    use super::*;
    use crate::history::read_candle_file;

    /// Every feature of both sets after each candle, as bits (NaN included).
    fn same_features(candles: &[Candle]) -> Result<(), String> {
        let cfg = IndicatorConfig { channel: 5, ..IndicatorConfig::default() };
        let (mut talib, mut checked) = (FeatureSet::new(&cfg).unwrap(), FeatureSet::for_checked_candles(&cfg).unwrap());
        for (i, c) in candles.iter().enumerate() {
            let (a, b) = (talib.advance(c), checked.advance(c));
            let bits = |f: &FeatureSet| f.values().iter().map(|(_, v)| v.to_bits()).collect::<Vec<_>>();
            if a != b || bits(&talib) != bits(&checked) {
                return Err(format!("bar {i}: {:?} vs {:?}", talib.values(), checked.values()));
            }
        }
        Ok(())
    }

    /// The engine's channel (blocks) equals TA-Lib's (the deques) on the
    /// real BTCUSDT 1m candles, every feature bit for bit.
    #[test]
    fn the_checked_channel_gives_talibs_features_on_real_candles() {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/BTCUSDT-1m.csv.gz");
        let d = read_candle_file(&path).expect("the shared real data (../shared/data) is needed");
        let candles: Vec<Candle> = (0..d.len())
            .map(|i| Candle::ohlcv(d.open_time[i], d.open[i], d.high[i], d.low[i], d.close[i], d.volume[i]))
            .collect();
        same_features(&candles).unwrap();
    }

    proptest! {
        /// Sane candles on a coarse grid (many ties of highs and lows):
        /// the same features bit for bit.
        #[test]
        fn the_checked_channel_gives_talibs_features_with_ties(
            bars in prop::collection::vec((1u8..6, 0u8..3, 0u8..3), 1..200),
        ) {
            let candles: Vec<Candle> = bars
                .iter()
                .enumerate()
                .map(|(i, &(mid, up, down))| {
                    let (m, u, w) = (f64::from(mid), f64::from(up), f64::from(down));
                    Candle::ohlcv(i as i64 * 60_000, m, m + u, m - w * 0.25, m, 1.0 + u)
                })
                .collect();
            prop_assert!(candles.iter().all(Candle::is_sane));
            same_features(&candles).map_err(TestCaseError::fail)?;
        }
    }
}
