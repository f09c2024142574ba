"""Live regimes: the market service's per-stream HMM, its causal filter, and the route."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import httpx
import numpy as np
import pytest
from hmmlearn.hmm import GaussianHMM as Reference

from avd.history import Candles
from avd.services.market.regimes import RegimeBook, RegimeSettings, features
from tests.platform import start_platform
from tests.polling import wait_until


def test_the_filter_after_a_fit_is_hmmlearns_posterior_of_the_last_candle(
    btc_1m: Candles,
) -> None:
    """The live probabilities equal hmmlearn's on the same model and candles (its smoothed
    posterior of the last row is the causal filter: nothing comes after it)."""
    settings = RegimeSettings(window=400, refit_every=1000, starts=2, n_iter=30)
    closes = np.asarray(btc_1m.close[:600], dtype=np.float64)
    book = RegimeBook(settings)

    async def run() -> None:
        book.load(("BTCUSDT", "1m"), closes[:500])
        await asyncio.gather(*book._tasks)
        for c in closes[500:]:  # after the fit: the filter advances candle by candle
            book.on_close(("BTCUSDT", "1m"), float(c))

    asyncio.run(run())
    st = book.streams[("BTCUSDT", "1m")]
    view = book.view(("BTCUSDT", "1m"))
    assert view is not None and st.model is not None
    names = [s["label"] for s in view["states"]]
    assert names == ["calm", "normal", "volatile"]
    vols = [s["volatility_bps"] for s in view["states"]]
    assert vols == sorted(vols)  # named by volatility, calm first

    ref = Reference(3, "diag", init_params="", params="")
    ref.startprob_ = st.model.startprob_
    ref.transmat_ = st.model.transmat_
    ref.means_ = st.model.means_
    ref.covars_ = st.model._covars_
    # the filter ran over the fit's window (the newest 421 closes of the 500), then each
    # later close: the feature rows of closes[79:600]
    kept = settings.window + settings.vol_window + 1
    x = features(closes[500 - kept :], settings.vol_window)
    last = ref.predict_proba(x)[-1]
    got = np.array([view["probabilities"][n] for n in names])
    np.testing.assert_allclose(got, last[st.order], atol=1e-8)
    assert view["most_likely"] == names[int(np.argmax(got))]


def test_the_route_and_the_contexts_name_the_regime(tmp_path: Path) -> None:
    running = start_platform(tmp_path / "run")
    try:
        url = running.url

        def fitted() -> dict[str, object] | None:
            r = httpx.get(f"{url}/symbols/BTCUSDT/regime", params={"interval": "1m"})
            return r.json() if r.status_code == 200 else None

        body = wait_until(fitted, "a regime fit of BTCUSDT 1m", timeout=60)
        labels = [s["label"] for s in body["states"]]  # type: ignore[index]
        assert labels == ["calm", "normal", "volatile"]
        probs = body["probabilities"]  # type: ignore[index]
        assert sum(probs.values()) == pytest.approx(1.0, abs=1e-9)
        assert body["most_likely"] == max(probs, key=probs.get)  # type: ignore[index]
        trans = np.asarray(body["transmat"])  # type: ignore[index]
        np.testing.assert_allclose(trans.sum(axis=1), 1.0, atol=1e-9)
        rows = httpx.get(f"{url}/symbols/contexts").json()["contexts"]
        btc = next(r for r in rows if r["symbol"] == "BTCUSDT")
        assert btc["regime"] in labels
        assert httpx.get(f"{url}/symbols/NOPEUSDT/regime").status_code == 404
        assert httpx.get(f"{url}/symbols/BTCUSDT/regime?interval=2x").status_code == 400
    finally:
        running.stop(signal.SIGTERM)
