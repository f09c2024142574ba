"""vectorbt's ``Portfolio.from_signals`` on the SMA(10)/SMA(30) crossover (run in its own venv).

The signals of bar ``i`` are shifted to bar ``i + 1`` and executed at its
open (``price=open``): the next-open fills of AVD's ``from_signals``.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import pandas as pd
import vectorbt as vbt

ap = argparse.ArgumentParser()
ap.add_argument("--data", required=True)
ap.add_argument("--repeat", type=int, default=3)
a = ap.parse_args()
d = np.load(a.data)
idx = pd.to_datetime(d["open_time"], unit="ms")
close = pd.Series(d["close"], index=idx)
open_ = pd.Series(d["open"], index=idx)
ent = np.zeros_like(d["entries"])
ex = np.zeros_like(d["exits"])
ent[1:], ex[1:] = d["entries"][:-1], d["exits"][:-1]
ent_s, ex_s = pd.Series(ent, index=idx), pd.Series(ex, index=idx)


def run() -> vbt.Portfolio:
    return vbt.Portfolio.from_signals(
        close, ent_s, ex_s, price=open_, fees=0.001, init_cash=10_000.0, freq="1min"
    )


run()  # numba compiles on the first call
best = float("inf")
for _ in range(a.repeat):
    t0 = time.perf_counter()
    pf = run()
    best = min(best, time.perf_counter() - t0)
print(json.dumps({"seconds": best, "trades": int(pf.trades.count())}))
