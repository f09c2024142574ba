"""Backtest reports: ``report.json``, ``trades.csv``, ``equity.png`` and ``report.html``.

Everything is written to a temporary folder next to the target and renamed
into place at the end, so a failed run never leaves a half-written report.
"""

from __future__ import annotations

import base64
import csv
import html
import json
import math
import os
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from avd.backtest.runner import STAT_LABELS, BacktestResult

ARTIFACTS = ("report.json", "trades.csv", "equity.png", "report.html")


def fmt_stat(name: str, v: float) -> str:
    """A statistic as displayed (percent, number or count)."""
    kind = STAT_LABELS.get(name, (name, "num"))[1]
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    if isinstance(v, float) and math.isinf(v):
        return "inf"
    if kind == "pct":
        return f"{v * 100:.2f} %"
    if kind == "int":
        return f"{int(v)}"
    return f"{v:,.3f}"


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")


def _json_safe(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None if math.isnan(v) else ("inf" if v > 0 else "-inf")
    if isinstance(v, dict):
        return {k: _json_safe(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_json_safe(x) for x in v]
    if isinstance(v, np.generic):
        return _json_safe(v.item())
    return v


def _chart(result: BacktestResult, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = result.times.astype("datetime64[ms]")
    fig, (ax1, ax2) = plt.subplots(
        2, 1, figsize=(11, 6), sharex=True, gridspec_kw={"height_ratios": [3, 1]}
    )
    ax1.plot(t, result.equity, color="#1f77b4", lw=1.0)
    ax1.set_ylabel("equity")
    ax1.set_title(title)
    ax1.grid(alpha=0.3)
    ax2.fill_between(t, -result.drawdown * 100, 0, color="#d62728", alpha=0.5, lw=0)
    ax2.set_ylabel("drawdown %")
    ax2.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _html(result: BacktestResult, png: bytes, title: str, meta: dict[str, Any]) -> str:
    rows = "".join(
        f"<tr><th>{html.escape(label)}</th><td>{fmt_stat(k, result.stats[k])}</td></tr>"
        for k, (label, _) in STAT_LABELS.items()
        if k in result.stats
    )
    recs = result.trade_records()
    cols = ["symbol", "side", "entry_time", "exit_time", "entry_price", "exit_price"]
    cols += ["qty", "pnl", "fees", "reason"]
    head = "".join(f"<th>{c}</th>" for c in cols)
    body = []
    for r in recs[:500]:
        cells = []
        for c in cols:
            v = r[c]
            if c.endswith("_time"):
                v = _iso(int(v))
            elif isinstance(v, float):
                v = f"{v:,.6g}"
            cells.append(f"<td>{html.escape(str(v))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    more = f"<p>{len(recs) - 500} more trades in trades.csv</p>" if len(recs) > 500 else ""
    meta_rows = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>" for k, v in meta.items()
    )
    img = base64.b64encode(png).decode()
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body{{font-family:system-ui,sans-serif;margin:2em;color:#222}}
table{{border-collapse:collapse;margin:1em 0}}
th,td{{border:1px solid #ddd;padding:4px 8px;text-align:right;font-size:13px}}
th{{background:#f5f5f5;text-align:left}}
img{{max-width:100%}}
</style></head><body>
<h1>{html.escape(title)}</h1>
<table>{meta_rows}</table>
<h2>Statistics</h2><table>{rows}</table>
<h2>Equity and drawdown</h2><img alt="equity and drawdown" src="data:image/png;base64,{img}">
<h2>Trades</h2><table><tr>{head}</tr>{"".join(body)}</table>{more}
<h2>Configuration</h2><pre>{html.escape(json.dumps(result.config, indent=2))}</pre>
</body></html>
"""


def write_report(result: BacktestResult, out: str | Path, title: str = "AVD backtest") -> Path:
    """Write the four artifacts into ``out`` (replaced as a whole); returns ``out``."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    tmp.chmod(0o755)  # mkdtemp makes it private; a report is meant to be shared
    try:
        meta = {
            "symbols": ", ".join(result.symbols),
            "from": _iso(int(result.times[0])) if len(result.times) else "n/a",
            "to": _iso(int(result.times[-1])) if len(result.times) else "n/a",
            "candles": result.counters.get("candles"),
            "signals": result.counters.get("signals"),
        }
        report = {
            "title": title,
            "meta": meta,
            "stats": result.stats,
            "counters": result.counters,
            "config": result.config,
            "trades": result.trade_records(),
        }
        (tmp / "report.json").write_text(json.dumps(_json_safe(report), indent=2))
        with (tmp / "trades.csv").open("w", newline="") as f:
            w = csv.writer(f)
            keys = list(result.trades)
            w.writerow(keys)
            for r in result.trade_records():
                w.writerow([r[k] for k in keys])
        _chart(result, tmp / "equity.png", title)
        png = (tmp / "equity.png").read_bytes()
        (tmp / "report.html").write_text(_html(result, png, title, meta))
        if out.exists():
            old = out.with_name(f".{out.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(out, old)
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out
