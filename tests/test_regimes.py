"""avd.regimes.GaussianHMM against hmmlearn 0.3.3 on real candles.

Both models start from the same parameters (hmmlearn's own initialisation,
copied into both with ``init_params=""``), then run the same EM iterations;
hmmlearn decides what is right. Features: BTCUSDT 1h log returns and their
24-hour rolling standard deviation, in percent (2,000 rows).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pytest
from hmmlearn import hmm
from sklearn.cluster import KMeans

from avd import regimes
from avd.history import Candles
from avd.regimes import GaussianHMM, NotFittedError

N_ROWS = 2000
WINDOW = 24
PARAM_TOL = 1e-6
PROB_TOL = 1e-8


@pytest.fixture(autouse=True)
def _quiet_hmm_logs(caplog: pytest.LogCaptureFixture) -> None:
    # with hmmlearn's default covars_prior both libraries log "not converging"
    caplog.set_level(logging.ERROR)


@pytest.fixture(scope="module")
def features(btc_1h: Candles) -> np.ndarray:
    close = btc_1h.close[: N_ROWS + WINDOW]
    r = np.diff(np.log(close)) * 100.0
    vol = np.array([r[i - WINDOW + 1 : i + 1].std() for i in range(WINDOW - 1, len(r))])
    x = np.column_stack([r[WINDOW - 1 :], vol])
    assert x.shape == (N_ROWS, 2) and np.isfinite(x).all()
    return x


# (k, covariance_type, seed) -> hmmlearn's initial parameters on `features`
_INITS: dict[tuple[int, str, int], tuple[np.ndarray, ...]] = {}


def pair(
    x: np.ndarray, k: int, cov: str, seed: int = 0, **kw: Any
) -> tuple[hmm.GaussianHMM, GaussianHMM]:
    """hmmlearn's model and ours, both set to hmmlearn's initialisation."""
    key = (k, cov, seed)
    if key not in _INITS:  # hmmlearn's k-means is slow: once per case
        init = hmm.GaussianHMM(k, covariance_type=cov, random_state=seed)
        init._init(x)
        _INITS[key] = (init.startprob_, init.transmat_, init.means_, init._covars_)
    startprob, transmat, means, covars = _INITS[key]
    ref = hmm.GaussianHMM(k, covariance_type=cov, init_params="", **kw)
    ours = GaussianHMM(k, covariance_type=cov, init_params="", **kw)
    for m in (ref, ours):
        m.startprob_ = startprob.copy()
        m.transmat_ = transmat.copy()
        m.means_ = means.copy()
        m.covars_ = covars.copy()
    ref._check()
    return ref, ours


def assert_same_params(ref: hmm.GaussianHMM, ours: GaussianHMM, tol: float = PARAM_TOL) -> None:
    np.testing.assert_allclose(ours.startprob_, ref.startprob_, rtol=0, atol=tol)
    np.testing.assert_allclose(ours.transmat_, ref.transmat_, rtol=0, atol=tol)
    np.testing.assert_allclose(ours.means_, ref.means_, rtol=0, atol=tol)
    assert ours.covars_.shape == ref.covars_.shape
    np.testing.assert_allclose(ours.covars_, ref.covars_, rtol=0, atol=tol)


def copy_params(src: hmm.GaussianHMM, dst: GaussianHMM) -> None:
    dst.startprob_, dst.transmat_, dst.means_ = src.startprob_, src.transmat_, src.means_
    dst.covars_ = src._covars_


CASES = [(k, cov) for cov in ("diag", "full") for k in (2, 3)]


@pytest.mark.parametrize(("k", "cov"), CASES)
def test_fit_gives_hmmlearns_parameters_after_the_same_iterations(
    features: np.ndarray, k: int, cov: str
) -> None:
    ref, ours = pair(features, k, cov, n_iter=10, tol=-np.inf)
    ref.fit(features)
    ours.fit(features)
    assert ours.monitor_.iter == ref.monitor_.iter == 10
    assert_same_params(ref, ours)
    np.testing.assert_allclose(ours.monitor_.history, ref.monitor_.history, rtol=1e-12, atol=0)


@pytest.mark.parametrize(("k", "cov"), CASES)
def test_convergence_stops_at_hmmlearns_iteration(features: np.ndarray, k: int, cov: str) -> None:
    ref, ours = pair(features, k, cov, seed=3, n_iter=200, tol=1e-3)
    ref.fit(features)
    ours.fit(features)
    assert ours.monitor_.iter == ref.monitor_.iter
    assert ours.monitor_.converged == ref.monitor_.converged
    assert len(ours.monitor_.history) == len(ref.monitor_.history)
    assert_same_params(ref, ours)


@pytest.mark.parametrize(("k", "cov"), CASES)
def test_predict_proba_score_decode_equal_hmmlearns(features: np.ndarray, k: int, cov: str) -> None:
    ref, _ = pair(features, k, cov, n_iter=15)
    ref.fit(features)
    ours = GaussianHMM(k, covariance_type=cov)
    copy_params(ref, ours)
    np.testing.assert_array_equal(ours.predict(features), ref.predict(features))
    np.testing.assert_allclose(
        ours.predict_proba(features), ref.predict_proba(features), rtol=0, atol=PROB_TOL
    )
    assert ours.score(features) == pytest.approx(ref.score(features), rel=0, abs=PROB_TOL)
    for algorithm in ("viterbi", "map"):
        lp, path = ours.decode(features, algorithm=algorithm)
        ref_lp, ref_path = ref.decode(features, algorithm=algorithm)
        np.testing.assert_array_equal(path, ref_path)
        assert lp == pytest.approx(ref_lp, rel=0, abs=PROB_TOL)
    ll, post = ours.score_samples(features)
    ref_ll, ref_post = ref.score_samples(features)
    assert ll == pytest.approx(ref_ll, rel=0, abs=PROB_TOL)
    np.testing.assert_allclose(post, ref_post, rtol=0, atol=PROB_TOL)


@pytest.mark.parametrize("cov", ["diag", "full"])
def test_multiple_sequences_via_lengths(features: np.ndarray, cov: str) -> None:
    lengths = [700, 800, 1, 499]
    ref, ours = pair(features, 3, cov, n_iter=8, tol=-np.inf)
    ref.fit(features, lengths)
    ours.fit(features, lengths)
    assert_same_params(ref, ours)
    np.testing.assert_array_equal(ours.predict(features, lengths), ref.predict(features, lengths))
    np.testing.assert_allclose(
        ours.predict_proba(features, lengths),
        ref.predict_proba(features, lengths),
        rtol=0,
        atol=PROB_TOL,
    )
    assert ours.score(features, lengths) == pytest.approx(
        ref.score(features, lengths), rel=0, abs=PROB_TOL
    )
    # the sequences are independent: splitting changes the score
    assert abs(ours.score(features, lengths) - ours.score(features)) > 1e-6


@pytest.mark.parametrize(("k", "cov"), CASES)
def test_filter_proba_row_is_hmmlearns_last_posterior_on_the_prefix(
    features: np.ndarray, k: int, cov: str
) -> None:
    ref, _ = pair(features, k, cov, n_iter=10)
    ref.fit(features)
    ours = GaussianHMM(k, covariance_type=cov)
    copy_params(ref, ours)
    filtered = ours.filter_proba(features)
    assert filtered.shape == (N_ROWS, k)
    for end in (1, 2, 3, 57, 640, 1333, N_ROWS):
        want = ref.predict_proba(features[:end])[-1]
        np.testing.assert_allclose(filtered[end - 1], want, rtol=0, atol=PROB_TOL)
    # causal: the future does not change the past
    changed = features.copy()
    changed[1000:] *= -3.0
    np.testing.assert_array_equal(ours.filter_proba(changed)[:1000], filtered[:1000])
    # and it is not the smoothed posterior
    assert np.abs(filtered - ref.predict_proba(features)).max() > 1e-3


def test_filter_proba_restarts_at_each_sequence(features: np.ndarray) -> None:
    ref, _ = pair(features, 2, "diag", n_iter=5)
    ref.fit(features)
    ours = GaussianHMM(2)
    copy_params(ref, ours)
    filtered = ours.filter_proba(features, [1200, 800])
    for end in (1201, 1500, N_ROWS):
        want = ref.predict_proba(features[1200:end])[-1]
        np.testing.assert_allclose(filtered[end - 1], want, rtol=0, atol=PROB_TOL)


@pytest.mark.parametrize("cov", ["diag", "full"])
def test_regime_filter_advanced_per_row_matches_the_batch(features: np.ndarray, cov: str) -> None:
    ref, _ = pair(features, 3, cov, n_iter=5)
    ref.fit(features)
    ours = GaussianHMM(3, covariance_type=cov)
    copy_params(ref, ours)
    batch = ours.filter_proba(features[:300])
    f = ours.regime_filter()
    assert f.most_likely is None and f.n_seen == 0
    for t, x in enumerate(features[:300]):
        p = f.update(x)
        np.testing.assert_allclose(p, batch[t], rtol=0, atol=1e-14)
    assert f.n_seen == 300
    assert f.most_likely == int(np.argmax(batch[-1]))
    # its running log-likelihood is hmmlearn's score of the prefix
    assert f.log_likelihood == pytest.approx(ref.score(features[:300]), rel=0, abs=PROB_TOL)
    with pytest.raises(ValueError, match="NaN"):
        f.update(np.array([np.nan, 1.0]))
    with pytest.raises(ValueError, match="features"):
        f.update(np.array([1.0]))
    assert f.n_seen == 300
    f.reset()
    np.testing.assert_allclose(f.update(features[0]), batch[0], rtol=0, atol=1e-14)


@pytest.mark.parametrize("cov", ["diag", "full"])
def test_priors_reproduce_hmmlearns_m_step(features: np.ndarray, cov: str) -> None:
    k = 3
    priors: dict[str, Any] = {
        "startprob_prior": np.array([2.0, 1.5, 3.0]),
        "transmat_prior": np.array([[5.0, 1.0, 1.0], [1.0, 5.0, 1.0], [2.0, 1.0, 4.0]]),
        "means_prior": np.array([[0.0, 0.5], [0.1, 1.0], [-0.1, 2.0]]),
        "means_weight": 3.0,
        "covars_prior": 0.2,
        "covars_weight": 4.0,
    }
    ref, ours = pair(features, k, cov, seed=5, n_iter=10, tol=-np.inf, **priors)
    ref.fit(features)
    ours.fit(features)
    assert_same_params(ref, ours)


@pytest.mark.parametrize("params", ["st", "mc", "tm", "smc"])
def test_only_the_listed_params_are_updated_as_hmmlearn(features: np.ndarray, params: str) -> None:
    ref, ours = pair(features, 2, "full", n_iter=6, tol=-np.inf, params=params)
    before = ours.means_.copy()
    ref.fit(features)
    ours.fit(features)
    assert_same_params(ref, ours)
    if "m" not in params:
        np.testing.assert_array_equal(ours.means_, before)


def test_one_state_matches_hmmlearn(features: np.ndarray) -> None:
    ref, ours = pair(features, 1, "full", n_iter=3, tol=-np.inf)
    ref.fit(features)
    ours.fit(features)
    assert_same_params(ref, ours)
    assert ours.score(features) == pytest.approx(ref.score(features), rel=0, abs=PROB_TOL)
    np.testing.assert_array_equal(ours.predict_proba(features), np.ones((N_ROWS, 1)))


@pytest.mark.parametrize("cov", ["diag", "full"])
def test_initial_covars_are_hmmlearns(features: np.ndarray, cov: str) -> None:
    ref = hmm.GaussianHMM(3, covariance_type=cov, min_covar=0.05, random_state=0, n_iter=0)
    ref.fit(features)
    ours = GaussianHMM(3, covariance_type=cov, min_covar=0.05, random_state=0, n_iter=0)
    ours.fit(features)
    np.testing.assert_allclose(ours.covars_, ref.covars_, rtol=1e-12, atol=0)
    assert ours.monitor_.iter == 0 and len(ours.monitor_.history) == 0
    assert ours.startprob_.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(ours.transmat_.sum(axis=1), 1.0)


def test_initial_means_are_kmeans_centres() -> None:
    # three separated clusters: k-means has one answer, scikit-learn's
    rng = np.random.default_rng(11)
    centres = np.array([[0.0, 0.0], [6.0, 1.0], [1.0, 7.0]])
    x = np.concatenate([c + rng.normal(0, 0.5, (150, 2)) for c in centres])
    ours = GaussianHMM(3, init_params="m", n_iter=0, random_state=4)
    ours.startprob_ = np.full(3, 1 / 3)
    ours.transmat_ = np.full((3, 3), 1 / 3)
    ours.covars_ = np.ones((3, 2))
    ours.fit(x)
    km = KMeans(3, n_init=10, random_state=4).fit(x)

    def rows(a: np.ndarray) -> np.ndarray:
        return a[np.lexsort(a.T)]

    np.testing.assert_allclose(rows(ours.means_), rows(km.cluster_centers_), rtol=0, atol=1e-9)


@pytest.mark.parametrize("k", [2, 3, 4])
def test_initial_means_on_real_features_are_as_good_as_sklearns(
    features: np.ndarray, k: int
) -> None:
    def inertia(c: np.ndarray) -> float:
        return float(((features[:, None, :] - c[None]) ** 2).sum(-1).min(1).sum())

    for seed in range(2):
        ours = GaussianHMM(k, init_params="m", n_iter=0, random_state=seed)
        ours.startprob_ = np.full(k, 1 / k)
        ours.transmat_ = np.full((k, k), 1 / k)
        ours.covars_ = np.ones((k, 2))
        ours.fit(features)
        km = KMeans(k, n_init=10, random_state=seed).fit(features)
        # real data has several near-equal local optima; both land on one
        assert inertia(ours.means_) <= km.inertia_ * 1.001


def test_fit_from_scratch_is_seeded_and_hmmlearn_agrees_on_its_score(
    features: np.ndarray,
) -> None:
    a = GaussianHMM(3, covariance_type="full", random_state=7, n_iter=50).fit(features)
    b = GaussianHMM(3, covariance_type="full", random_state=7, n_iter=50).fit(features)
    np.testing.assert_array_equal(a.means_, b.means_)
    start = GaussianHMM(3, covariance_type="full", random_state=7, n_iter=0).fit(features)
    ref = hmm.GaussianHMM(3, covariance_type="full")
    ref.startprob_, ref.transmat_, ref.means_, ref.covars_ = (
        a.startprob_,
        a.transmat_,
        a.means_,
        a.covars_,
    )
    assert a.score(features) == pytest.approx(ref.score(features), rel=0, abs=PROB_TOL)
    assert a.score(features) > start.score(features) + 100.0
    # the calm and the volatile regimes differ in volatility
    vols = np.sort(a.means_[:, 1])
    assert vols[-1] > 1.5 * vols[0]


def test_covars_shapes_follow_hmmlearn(features: np.ndarray) -> None:
    for cov, native in (("diag", (2, 2)), ("full", (2, 2, 2))):
        ref, ours = pair(features, 2, cov)
        assert ours._covars_.shape == ref._covars_.shape == native
        assert ours.covars_.shape == ref.covars_.shape == (2, 2, 2)
        np.testing.assert_array_equal(ours.covars_, ref.covars_)
    ours = GaussianHMM(2, covariance_type="diag")
    with pytest.raises(ValueError, match="shape"):
        ours.covars_ = np.ones((2, 2, 2))
    with pytest.raises(ValueError, match="positive"):
        ours.covars_ = np.array([[1.0, 0.0], [1.0, 1.0]])
    full = GaussianHMM(2, covariance_type="full")
    with pytest.raises(ValueError, match="positive-definite"):
        full.covars_ = np.array([[[1.0, 2.0], [2.0, 1.0]], [[1.0, 0.0], [0.0, 1.0]]])


def test_attributes_are_absent_until_fit(features: np.ndarray) -> None:
    m = GaussianHMM(2)
    for name in ("startprob_", "transmat_", "means_", "covars_"):
        assert not hasattr(m, name)
    with pytest.raises(NotFittedError):
        m.predict(features)
    m.fit(features)
    assert m.startprob_.shape == (2,) and m.transmat_.shape == (2, 2)
    assert m.means_.shape == (2, 2) and m.n_features == 2
    assert m.monitor_.iter >= 1


# -- bad input ---------------------------------------------------------------


@pytest.fixture
def fitted(features: np.ndarray) -> GaussianHMM:
    return GaussianHMM(2, random_state=0, n_iter=3).fit(features)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_components": 0}, "n_components"),
        ({"n_components": -2}, "n_components"),
        ({"n_components": 2.5}, "n_components"),
        ({"n_components": 2, "covariance_type": "tied"}, "covariance_type"),
        ({"n_components": 2, "covariance_type": "bogus"}, "covariance_type"),
        ({"n_components": 2, "algorithm": "best"}, "decoder"),
    ],
)
def test_bad_constructor_arguments_raise_value_error(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        GaussianHMM(**kwargs)


def test_bad_samples_raise_value_error(features: np.ndarray, fitted: GaussianHMM) -> None:
    bad = features.copy()
    bad[17, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        GaussianHMM(2, random_state=0).fit(bad)
    for call in (fitted.predict, fitted.predict_proba, fitted.score, fitted.filter_proba):
        with pytest.raises(ValueError, match="NaN"):
            call(bad)
        with pytest.raises(ValueError, match="2D"):
            call(features[:, 0])
        with pytest.raises(ValueError, match="features"):
            call(features[:, :1])
    inf = features.copy()
    inf[3, 0] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        fitted.score(inf)
    with pytest.raises(ValueError, match="dimensions"):
        fitted.fit(np.column_stack([features, features[:, :1]]))
    with pytest.raises(ValueError, match="1 sample"):
        fitted.predict(np.empty((0, 2)))


def test_bad_lengths_raise_value_error(features: np.ndarray, fitted: GaussianHMM) -> None:
    with pytest.raises(ValueError, match="sum"):
        fitted.predict(features, [1000, 999])
    with pytest.raises(ValueError, match=">= 1"):
        fitted.score(features, [0, 2000])
    with pytest.raises(ValueError, match="integers"):
        fitted.score(features, [1000.0, 1000.0])


def test_bad_parameters_raise_value_error(features: np.ndarray, fitted: GaussianHMM) -> None:
    m = GaussianHMM(2, init_params="")
    m.startprob_ = np.array([0.6, 0.6])
    m.transmat_ = np.array([[0.9, 0.1], [0.1, 0.9]])
    m.means_ = np.zeros((2, 2))
    m.covars_ = np.ones((2, 2))
    with pytest.raises(ValueError, match="startprob_"):
        m.fit(features)
    m.startprob_ = np.array([0.5, 0.5])
    m.transmat_ = np.array([[0.9, 0.1]])
    with pytest.raises(ValueError, match="transmat_"):
        m.score(features)
    m.transmat_ = np.array([[0.9, 0.1], [0.1, 0.9]])
    m.means_ = np.zeros((3, 2))
    with pytest.raises(ValueError, match="means_"):
        m.score(features)
    with pytest.raises(ValueError, match="scalar"):
        GaussianHMM(2, covars_weight=[1.0, 2.0], random_state=0).fit(features)
    fitted.covariance_type = "spherical"
    with pytest.raises(ValueError, match="covariance_type"):
        fitted.predict(features)


def test_too_few_samples_for_the_initialisation(features: np.ndarray) -> None:
    with pytest.raises(ValueError, match="n_components"):
        GaussianHMM(5, random_state=0).fit(features[:3])


def test_regime_filter_is_exported() -> None:
    assert regimes.RegimeFilter is type(GaussianHMM(2).fit(np.eye(4, 2) + 0.1).regime_filter())
