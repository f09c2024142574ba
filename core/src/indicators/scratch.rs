//! TEMPORARY scratch indicators so the engine compiles before the real ones land.
#![allow(missing_docs, clippy::all, clippy::pedantic)]
use super::{CloseVolume, HighLow, Hlc, Indicator};
use crate::error::CoreResult;
use std::collections::VecDeque;

#[derive(Debug, Clone)]
pub struct Ema {
    n: usize,
    k: f64,
    seed: Vec<f64>,
    v: f64,
}
impl Ema {
    pub fn new(n: usize) -> CoreResult<Self> {
        Ok(Self { n, k: 2.0 / (n as f64 + 1.0), seed: vec![], v: f64::NAN })
    }
}
impl Indicator for Ema {
    type Input = f64;
    type Output = f64;
    fn update(&mut self, x: f64) -> f64 {
        if self.seed.len() < self.n {
            self.seed.push(x);
            if self.seed.len() == self.n {
                self.v = self.seed.iter().sum::<f64>() / self.n as f64;
            }
            return self.v;
        }
        self.v = (x - self.v) * self.k + self.v;
        self.v
    }
    fn value(&self) -> f64 {
        self.v
    }
    fn is_ready(&self) -> bool {
        self.seed.len() == self.n
    }
    fn reset(&mut self) {
        self.seed.clear();
        self.v = f64::NAN;
    }
    fn lookback(&self) -> usize {
        self.n - 1
    }
}
#[derive(Debug, Clone)]
struct Wilder {
    n: usize,
    seed: Vec<f64>,
    v: f64,
}
impl Wilder {
    fn new(n: usize) -> Self {
        Self { n, seed: vec![], v: f64::NAN }
    }
    fn update(&mut self, x: f64) -> f64 {
        if self.seed.len() < self.n {
            self.seed.push(x);
            if self.seed.len() == self.n {
                self.v = self.seed.iter().sum::<f64>() / self.n as f64;
            }
            return self.v;
        }
        self.v = (self.v * (self.n as f64 - 1.0) + x) / self.n as f64;
        self.v
    }
}
#[derive(Debug, Clone)]
pub struct Rsi {
    g: Wilder,
    l: Wilder,
    prev: f64,
    v: f64,
}
impl Rsi {
    pub fn new(n: usize) -> CoreResult<Self> {
        Ok(Self { g: Wilder::new(n), l: Wilder::new(n), prev: f64::NAN, v: f64::NAN })
    }
}
impl Indicator for Rsi {
    type Input = f64;
    type Output = f64;
    fn update(&mut self, x: f64) -> f64 {
        if !self.prev.is_nan() {
            let d = x - self.prev;
            let g = self.g.update(d.max(0.0));
            let l = self.l.update((-d).max(0.0));
            self.v = if g + l > 0.0 { 100.0 * g / (g + l) } else { 0.0 };
            if g.is_nan() {
                self.v = f64::NAN
            }
        }
        self.prev = x;
        self.v
    }
    fn value(&self) -> f64 {
        self.v
    }
    fn is_ready(&self) -> bool {
        !self.v.is_nan()
    }
    fn reset(&mut self) {}
    fn lookback(&self) -> usize {
        self.g.n
    }
}
#[derive(Debug, Clone)]
pub struct Atr {
    w: Wilder,
    prev: f64,
    v: f64,
}
impl Atr {
    pub fn new(n: usize) -> CoreResult<Self> {
        Ok(Self { w: Wilder::new(n), prev: f64::NAN, v: f64::NAN })
    }
}
impl Indicator for Atr {
    type Input = Hlc;
    type Output = f64;
    fn update(&mut self, b: Hlc) -> f64 {
        if !self.prev.is_nan() {
            let tr = (b.high - b.low).max((b.high - self.prev).abs()).max((b.low - self.prev).abs());
            self.v = self.w.update(tr);
        }
        self.prev = b.close;
        self.v
    }
    fn value(&self) -> f64 {
        self.v
    }
    fn is_ready(&self) -> bool {
        !self.v.is_nan()
    }
    fn reset(&mut self) {}
    fn lookback(&self) -> usize {
        self.w.n
    }
}
#[derive(Debug, Clone, Copy)]
pub struct Bands {
    pub upper: f64,
    pub middle: f64,
    pub lower: f64,
}
#[derive(Debug, Clone)]
pub struct BBands {
    n: usize,
    k: f64,
    q: VecDeque<f64>,
    v: Bands,
}
impl BBands {
    pub fn new(n: usize, k: f64, _k2: f64) -> CoreResult<Self> {
        Ok(Self { n, k, q: VecDeque::new(), v: Bands { upper: f64::NAN, middle: f64::NAN, lower: f64::NAN } })
    }
}
impl Indicator for BBands {
    type Input = f64;
    type Output = Bands;
    fn update(&mut self, x: f64) -> Bands {
        self.q.push_back(x);
        if self.q.len() > self.n {
            self.q.pop_front();
        }
        if self.q.len() == self.n {
            let m = self.q.iter().sum::<f64>() / self.n as f64;
            let var = self.q.iter().map(|y| (y - m) * (y - m)).sum::<f64>() / self.n as f64;
            let sd = var.sqrt();
            self.v = Bands { upper: m + self.k * sd, middle: m, lower: m - self.k * sd };
        }
        self.v
    }
    fn value(&self) -> Bands {
        self.v
    }
    fn is_ready(&self) -> bool {
        self.q.len() == self.n
    }
    fn reset(&mut self) {}
    fn lookback(&self) -> usize {
        self.n - 1
    }
}
#[derive(Debug, Clone, Copy)]
pub struct Channel {
    pub upper: f64,
    pub lower: f64,
}
#[derive(Debug, Clone)]
pub struct Donchian {
    n: usize,
    q: VecDeque<(f64, f64)>,
    v: Channel,
}
impl Donchian {
    pub fn new(n: usize) -> CoreResult<Self> {
        Ok(Self { n, q: VecDeque::new(), v: Channel { upper: f64::NAN, lower: f64::NAN } })
    }
}
impl Indicator for Donchian {
    type Input = HighLow;
    type Output = Channel;
    fn update(&mut self, b: HighLow) -> Channel {
        self.q.push_back((b.high, b.low));
        if self.q.len() > self.n {
            self.q.pop_front();
        }
        if self.q.len() == self.n {
            self.v = Channel {
                upper: self.q.iter().map(|x| x.0).fold(f64::MIN, f64::max),
                lower: self.q.iter().map(|x| x.1).fold(f64::MAX, f64::min),
            };
        }
        self.v
    }
    fn value(&self) -> Channel {
        self.v
    }
    fn is_ready(&self) -> bool {
        self.q.len() == self.n
    }
    fn reset(&mut self) {}
    fn lookback(&self) -> usize {
        self.n - 1
    }
}
#[derive(Debug, Clone)]
pub struct Obv {
    prev: f64,
    v: f64,
}
impl Obv {
    pub fn new() -> Self {
        Self { prev: f64::NAN, v: f64::NAN }
    }
}
impl Indicator for Obv {
    type Input = CloseVolume;
    type Output = f64;
    fn update(&mut self, b: CloseVolume) -> f64 {
        if self.prev.is_nan() {
            self.v = b.volume
        } else if b.close > self.prev {
            self.v += b.volume
        } else if b.close < self.prev {
            self.v -= b.volume
        }
        self.prev = b.close;
        self.v
    }
    fn value(&self) -> f64 {
        self.v
    }
    fn is_ready(&self) -> bool {
        !self.v.is_nan()
    }
    fn reset(&mut self) {}
    fn lookback(&self) -> usize {
        0
    }
}
#[derive(Debug, Clone)]
pub struct ZScore {
    n: usize,
    q: VecDeque<f64>,
    v: f64,
}
impl ZScore {
    pub fn new(n: usize) -> CoreResult<Self> {
        Ok(Self { n, q: VecDeque::new(), v: f64::NAN })
    }
}
impl Indicator for ZScore {
    type Input = f64;
    type Output = f64;
    fn update(&mut self, x: f64) -> f64 {
        self.q.push_back(x);
        if self.q.len() > self.n {
            self.q.pop_front();
        }
        if self.q.len() == self.n {
            let m = self.q.iter().sum::<f64>() / self.n as f64;
            let sd = (self.q.iter().map(|y| (y - m) * (y - m)).sum::<f64>() / self.n as f64).sqrt();
            self.v = if sd > 0.0 { (x - m) / sd } else { 0.0 };
        }
        self.v
    }
    fn value(&self) -> f64 {
        self.v
    }
    fn is_ready(&self) -> bool {
        self.q.len() == self.n
    }
    fn reset(&mut self) {}
    fn lookback(&self) -> usize {
        self.n - 1
    }
}
#[derive(Debug, Clone, Copy)]
pub struct Dmi {
    pub adx: f64,
    pub plus_di: f64,
    pub minus_di: f64,
}
#[derive(Debug, Clone)]
pub struct Adx {
    p: Wilder,
    m: Wilder,
    t: Wilder,
    a: Wilder,
    prev: Option<Hlc>,
    v: Dmi,
}
impl Adx {
    pub fn new(n: usize) -> CoreResult<Self> {
        Ok(Self {
            p: Wilder::new(n),
            m: Wilder::new(n),
            t: Wilder::new(n),
            a: Wilder::new(n),
            prev: None,
            v: Dmi { adx: f64::NAN, plus_di: f64::NAN, minus_di: f64::NAN },
        })
    }
}
impl Indicator for Adx {
    type Input = Hlc;
    type Output = Dmi;
    fn update(&mut self, b: Hlc) -> Dmi {
        if let Some(pv) = self.prev {
            let up = b.high - pv.high;
            let dn = pv.low - b.low;
            let tr = (b.high - b.low).max((b.high - pv.close).abs()).max((b.low - pv.close).abs());
            let p = self.p.update(if up > dn && up > 0.0 { up } else { 0.0 });
            let m = self.m.update(if dn > up && dn > 0.0 { dn } else { 0.0 });
            let t = self.t.update(tr);
            if !t.is_nan() {
                let pdi = 100.0 * p / t;
                let mdi = 100.0 * m / t;
                let dx = if pdi + mdi > 0.0 { 100.0 * (pdi - mdi).abs() / (pdi + mdi) } else { 0.0 };
                self.v = Dmi { adx: self.a.update(dx), plus_di: pdi, minus_di: mdi };
            }
        }
        self.prev = Some(b);
        self.v
    }
    fn value(&self) -> Dmi {
        self.v
    }
    fn is_ready(&self) -> bool {
        !self.v.adx.is_nan()
    }
    fn reset(&mut self) {}
    fn lookback(&self) -> usize {
        27
    }
}
#[derive(Debug, Clone, Copy)]
pub struct MacdOut {
    pub macd: f64,
    pub signal: f64,
    pub hist: f64,
}
#[derive(Debug, Clone)]
pub struct Macd {
    f: Ema,
    s: Ema,
    g: Ema,
    v: MacdOut,
}
impl Macd {
    pub fn new(a: usize, b: usize, c: usize) -> CoreResult<Self> {
        Ok(Self {
            f: Ema::new(a)?,
            s: Ema::new(b)?,
            g: Ema::new(c)?,
            v: MacdOut { macd: f64::NAN, signal: f64::NAN, hist: f64::NAN },
        })
    }
}
impl Indicator for Macd {
    type Input = f64;
    type Output = MacdOut;
    fn update(&mut self, x: f64) -> MacdOut {
        let f = self.f.update(x);
        let s = self.s.update(x);
        if !s.is_nan() {
            let m = f - s;
            let g = self.g.update(m);
            self.v = MacdOut { macd: m, signal: g, hist: m - g };
        }
        self.v
    }
    fn value(&self) -> MacdOut {
        self.v
    }
    fn is_ready(&self) -> bool {
        !self.v.hist.is_nan()
    }
    fn reset(&mut self) {}
    fn lookback(&self) -> usize {
        33
    }
}
