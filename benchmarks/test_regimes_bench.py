"""avd.regimes against hmmlearn 0.3.3: the same data, the same start, the
same EM iterations.

Data: BTCUSDT 1h, 10,000 rows of (log return, 24-hour realised volatility)
in percent. Fit: both models start from hmmlearn's initialisation with
``init_params=""`` and run exactly ``N_ITER`` iterations (``tol=-inf``).
Filter: ``filter_proba`` (the causal forward probabilities) against
hmmlearn's ``score``, the forward pass that computes the same lattice
(hmmlearn has no filter of its own; its ``predict_proba`` on every prefix
would be quadratic). The per-candle cost of ``RegimeFilter.update`` is
reported without a peer. n counts rows.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from hmmlearn import hmm

from avd.history import read_candles
from avd.regimes import GaussianHMM
from benchmarks.conftest import RESULTS, SHARED_DATA

ROWS = 10_000
WINDOW = 24
N_ITER = 10
CASES = [(2, "diag"), (3, "diag"), (3, "full")]


@pytest.fixture(autouse=True)
def _quiet_hmm_logs() -> Iterator[None]:
    # hmmlearn's default covars_prior makes both libraries log "not converging"
    logging.disable(logging.WARNING)
    yield
    logging.disable(logging.NOTSET)


@pytest.fixture(scope="module")
def features() -> np.ndarray:
    c = read_candles(SHARED_DATA / "BTCUSDT-1h.csv.gz")
    r = np.diff(np.log(c.close[: ROWS + WINDOW])) * 100.0
    windows = np.lib.stride_tricks.sliding_window_view(r, WINDOW)
    return np.column_stack([r[WINDOW - 1 :], windows.std(axis=1)])


def _start(x: np.ndarray, k: int, cov: str) -> tuple[hmm.GaussianHMM, GaussianHMM]:
    init = hmm.GaussianHMM(k, covariance_type=cov, random_state=0)
    init._init(x)
    kw: dict[str, Any] = {"covariance_type": cov, "n_iter": N_ITER, "tol": -np.inf}
    ref = hmm.GaussianHMM(k, init_params="", **kw)
    ours = GaussianHMM(k, init_params="", **kw)
    for m in (ref, ours):
        m.startprob_, m.transmat_, m.means_ = init.startprob_, init.transmat_, init.means_
        m.covars_ = init._covars_
    return ref, ours


@pytest.mark.parametrize(("k", "cov"), CASES)
def test_fit_vs_hmmlearn(features: np.ndarray, k: int, cov: str, side_by_side: Any) -> None:
    ref, ours = _start(features, k, cov)
    start = (ours.startprob_, ours.transmat_, ours.means_, ours._covars_)

    def run_ours() -> None:
        ours.startprob_, ours.transmat_, ours.means_, ours._covars_ = start
        ours.fit(features)

    def run_ref() -> None:
        ref.startprob_, ref.transmat_, ref.means_, ref._covars_ = start
        ref.fit(features)

    side_by_side(f"hmm fit K={k} {cov}", run_ours, run_ref, "hmmlearn", ROWS, repeat=3)
    run_ours()
    run_ref()
    assert ours.monitor_.iter == ref.monitor_.iter == N_ITER
    np.testing.assert_allclose(ours.means_, ref.means_, rtol=0, atol=1e-6)


@pytest.mark.parametrize(("k", "cov"), CASES)
def test_filter_vs_hmmlearn_forward(
    features: np.ndarray, k: int, cov: str, side_by_side: Any
) -> None:
    ref, ours = _start(features, k, cov)
    side_by_side(
        f"hmm filter K={k} {cov}",
        lambda: ours.filter_proba(features),
        lambda: ref.score(features),
        "hmmlearn score",
        ROWS,
    )


@pytest.mark.parametrize(("k", "cov"), CASES)
def test_regime_filter_per_candle(features: np.ndarray, k: int, cov: str) -> None:
    _, ours = _start(features, k, cov)
    f = ours.regime_filter()
    rows = list(features)
    t0 = time.perf_counter()
    for x in rows:
        f.update(x)
    ns = (time.perf_counter() - t0) / len(rows) * 1e9
    assert f.n_seen == len(rows)
    RESULTS[f"RegimeFilter.update K={k} {cov}"] = {"ns per candle (from Python)": ns}
