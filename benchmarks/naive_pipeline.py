"""A naive pure-Python loop doing the engine's per-kline work: the
indicators, the pattern rules, the weighted score and the signal rule.

It is the yardstick a Python trading bot written the obvious way would be:
not used by AVD, only measured against it.
"""

from __future__ import annotations

import math
from collections import deque


class _Ema:
    def __init__(self, n: int) -> None:
        self.n, self.k, self.seed, self.v = n, 2.0 / (n + 1), [], math.nan

    def update(self, x: float) -> float:
        if len(self.seed) < self.n:
            self.seed.append(x)
            if len(self.seed) == self.n:
                self.v = sum(self.seed) / self.n
            return self.v
        self.v += (x - self.v) * self.k
        return self.v


class _Wilder:
    def __init__(self, n: int) -> None:
        self.n, self.seed, self.v = n, [], math.nan

    def update(self, x: float) -> float:
        if len(self.seed) < self.n:
            self.seed.append(x)
            if len(self.seed) == self.n:
                self.v = sum(self.seed) / self.n
            return self.v
        self.v = (self.v * (self.n - 1) + x) / self.n
        return self.v


def run(
    open_: list[float], high: list[float], low: list[float], close: list[float], volume: list[float]
) -> int:
    """Run the loop over the bars; return the number of signals."""
    ema_fast, ema_slow, obv_ema = _Ema(20), _Ema(50), _Ema(20)
    macd_fast, macd_slow, macd_sig = _Ema(12), _Ema(26), _Ema(9)
    gain, loss, atr = _Wilder(14), _Wilder(14), _Wilder(14)
    pdm, mdm, tr_s, adx = _Wilder(14), _Wilder(14), _Wilder(14), _Wilder(14)
    closes: deque[float] = deque(maxlen=20)
    vols: deque[float] = deque(maxlen=20)
    highs: deque[float] = deque(maxlen=20)
    lows: deque[float] = deque(maxlen=20)
    widths: deque[float] = deque(maxlen=120)
    obv = 0.0
    prev_close = prev_high = prev_low = math.nan
    prev_slow = math.nan
    armed, cooldown, signals = False, 0, 0
    for i in range(len(close)):
        h, lo, c, v = high[i], low[i], close[i], volume[i]
        fast = ema_fast.update(c)
        slow = ema_slow.update(c)
        hist = math.nan
        mf, ms = macd_fast.update(c), macd_slow.update(c)
        if not math.isnan(ms):
            sig = macd_sig.update(mf - ms)
            hist = (mf - ms) - sig
        if not math.isnan(prev_close):
            d = c - prev_close
            g, lss = gain.update(max(d, 0.0)), loss.update(max(-d, 0.0))
            rsi = 100.0 * g / (g + lss) if g + lss else 50.0
            tr = max(h - lo, abs(h - prev_close), abs(lo - prev_close))
            a = atr.update(tr)
            up, dn = h - prev_high, prev_low - lo
            p = pdm.update(up if up > dn and up > 0 else 0.0)
            m = mdm.update(dn if dn > up and dn > 0 else 0.0)
            t = tr_s.update(tr)
            pdi, mdi = 100 * p / t if t else 0.0, 100 * m / t if t else 0.0
            dx = 100 * abs(pdi - mdi) / (pdi + mdi) if pdi + mdi else 0.0
            # the ADX seed must only see real DX values (the DI need 14 bars first)
            ax = adx.update(dx) if not math.isnan(dx) else math.nan
            obv += v if d > 0 else -v if d < 0 else 0.0
        else:
            rsi = a = ax = pdi = mdi = math.nan
        oe = obv_ema.update(obv)
        ch_high = max(highs) if len(highs) == 20 else math.nan
        ch_low = min(lows) if len(lows) == 20 else math.nan
        closes.append(c)
        vols.append(v)
        highs.append(h)
        lows.append(lo)
        mean = sum(closes) / len(closes)
        sd = math.sqrt(max(sum((x - mean) ** 2 for x in closes) / len(closes), 0.0))
        width = 4 * sd / mean
        widths.append(width)
        lo_w, hi_w = min(widths), max(widths)
        rank = (width - lo_w) / (hi_w - lo_w) if hi_w > lo_w else 0.5
        vm = sum(vols) / len(vols)
        vs = math.sqrt(sum((x - vm) ** 2 for x in vols) / len(vols))
        z = (v - vm) / vs if vs else 0.0
        prev_close, prev_high, prev_low = c, h, lo
        ready = i >= 120 and not (math.isnan(ax) or math.isnan(hist) or math.isnan(ch_high))
        slope = slow - prev_slow
        prev_slow = slow
        if not ready:
            continue
        direction = 1 if fast > slow else -1
        if z >= 2 and c > ch_high:
            direction = 1
        elif z >= 2 and c < ch_low:
            direction = -1
        elif ax >= 25 and slope * (fast - slow) > 0:
            direction = 1 if slope > 0 else -1
        trend = min(ax / 50, 1.0) * (
            0.5 * ((fast - slow) * direction > 0) + 0.5 * ((pdi - mdi) * direction > 0)
        )
        mom = 0.5 * min(max((rsi - 50) * direction / 20, 0), 1) + 0.5 * min(
            max(hist * direction / (0.25 * a), 0), 1
        )
        beyond = (c - ch_high) if direction > 0 else (ch_low - c)
        score = 100 * (
            0.25 * trend
            + 0.2 * mom
            + 0.1 * (1 - rank)
            + 0.15 * min(max(z / 4, 0), 1)
            + 0.2 * min(max(beyond / a, 0), 1)
            + 0.1 * ((obv - oe) * direction > 0)
        )
        if score < 55:
            armed = True
        if cooldown:
            cooldown -= 1
        elif armed and score >= 70:
            signals += 1
            armed, cooldown = False, 15
    return signals
