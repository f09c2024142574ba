"""Market regimes: a Gaussian hidden Markov model with hmmlearn's interface.

:class:`GaussianHMM` follows hmmlearn 0.3.3's ``hmm.GaussianHMM``: the same
constructor arguments and defaults, the settable attributes ``startprob_``,
``transmat_``, ``means_`` and ``covars_`` with the same shapes (``covars_``
reads as full matrices, ``(n_components, n_features, n_features)``, and is
set in the covariance type's own shape, as in hmmlearn), ``monitor_``, the
same priors and M-step, ``fit``/``predict``/``predict_proba``/``score``/
``decode``/``score_samples``. Started from the same parameters
(``init_params=""`` with the attributes set) it gives hmmlearn's results to
rounding. The work runs in Rust with the GIL released.

It adds :meth:`GaussianHMM.filter_proba`, the causal forward probabilities
(row t uses rows 0..t only), and :meth:`GaussianHMM.regime_filter`, the same
filter advanced one observation at a time: what live trading and backtests
must use, since ``predict`` and ``predict_proba`` look ahead.

Differences from hmmlearn:

* ``covariance_type`` is ``"diag"`` or ``"full"`` (no "spherical", "tied").
* ``random_state`` seeds AVD's own generator: the initial ``startprob_``,
  ``transmat_`` (Dirichlet draws) and ``means_`` (k-means, scikit-learn's
  algorithm and defaults) are drawn as hmmlearn draws them, but not the same
  numbers. ``covars_`` starts from the sample covariance plus ``min_covar``,
  exactly as hmmlearn.
* ``means_weight`` and ``covars_weight`` are scalars (hmmlearn's formulas
  only work for scalars in general).
* ``implementation`` accepts ``"log"`` and ``"scaling"``; both run the same
  log-space code (hmmlearn's two agree to rounding).
* No ``sample``, ``aic``, ``bic``, ``get_stationary_distribution``.

Bad input raises :class:`ValueError` (``avd.exceptions.InvalidInputError``
or ``InvalidParameterError`` from the core): wrong shapes, NaN or infinity
in X, ``lengths`` that do not add up, ``n_components < 1``, an unknown
``covariance_type``.
"""

from __future__ import annotations

import logging
import sys
from collections import deque
from typing import Any

import numpy as np

from avd import _core
from avd.types import FloatArray, IntArray

__all__ = ["ConvergenceMonitor", "GaussianHMM", "NotFittedError", "RegimeFilter"]

RegimeFilter = _core.RegimeFilter

_log = logging.getLogger(__name__)
COVARIANCE_TYPES = ("diag", "full")
DECODER_ALGORITHMS = ("viterbi", "map")
IMPLEMENTATIONS = ("log", "scaling")
_SEED_BOUND = 2**63 - 1


class NotFittedError(ValueError, AttributeError):
    """The model has no parameters yet: call ``fit`` or set them."""


class ConvergenceMonitor:
    """EM's convergence record, as hmmlearn's ``ConvergenceMonitor``.

    Attributes
    ----------
    history : deque of float
        The log-likelihood at each iteration (before that iteration's M-step).
    iter : int
        Number of iterations performed.
    """

    _template = "{iter:>10d} {log_prob:>16.8f} {delta:>+16.8f}"

    def __init__(self, tol: float, n_iter: int, verbose: bool) -> None:
        self.tol = tol
        self.n_iter = n_iter
        self.verbose = verbose
        self.history: deque[float] = deque()
        self.iter = 0

    def __repr__(self) -> str:
        return (
            f"ConvergenceMonitor(history={list(self.history)}, iter={self.iter}, "
            f"n_iter={self.n_iter}, tol={self.tol}, verbose={self.verbose})"
        )

    def _reset(self) -> None:
        self.iter = 0
        self.history.clear()

    def report(self, log_prob: float) -> None:
        """Record one iteration's log-likelihood (printed when ``verbose``)."""
        if self.verbose:
            delta = log_prob - self.history[-1] if self.history else np.nan
            print(
                self._template.format(iter=self.iter + 1, log_prob=log_prob, delta=delta),
                file=sys.stderr,
            )
        precision = np.finfo(float).eps ** 0.5
        if self.history and (log_prob - self.history[-1]) < -precision:
            _log.warning(
                "Model is not converging.  Current: %s is not greater than %s. Delta is %s",
                log_prob,
                self.history[-1],
                log_prob - self.history[-1],
            )
        self.history.append(log_prob)
        self.iter += 1

    @property
    def converged(self) -> bool:
        """Whether EM stopped: ``n_iter`` reached or the last gain below ``tol``."""
        return self.iter == self.n_iter or (
            len(self.history) >= 2 and self.history[-1] - self.history[-2] < self.tol
        )


def _as_sample(X: Any) -> FloatArray:
    """X as a C-contiguous 2-D float64 array (scikit-learn's ``check_array`` rules)."""
    try:
        arr = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"X must be a 2-D array of numbers: {exc}") from exc
    if arr.ndim != 2:
        raise ValueError(
            f"Expected 2D array, got {arr.ndim}D array instead: reshape your data "
            "with X.reshape(-1, 1) for a single feature"
        )
    if arr.shape[0] < 1 or arr.shape[1] < 1:
        raise ValueError(f"X has shape {arr.shape}; at least 1 sample and 1 feature are required")
    return np.ascontiguousarray(arr)


def _as_lengths(lengths: Any) -> list[int] | None:
    if lengths is None:
        return None
    arr = np.asarray(lengths)
    if arr.ndim != 1 or not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"lengths must be a 1-D sequence of integers, got {lengths!r}")
    return [int(v) for v in arr]


def _scalar(name: str, value: Any) -> float:
    arr = np.asarray(value, dtype=np.float64)
    if arr.size != 1:
        raise ValueError(f"{name} must be a scalar, got shape {arr.shape}")
    return float(arr.reshape(()))


def _validate_covars(covars: FloatArray, covariance_type: str, n_components: int) -> None:
    """Check covariances as hmmlearn's ``_validate_covars`` does."""
    if covariance_type == "diag":
        if covars.ndim != 2 or covars.shape[0] != n_components:
            raise ValueError("'diag' covars must have shape (n_components, n_dim)")
        if np.any(covars <= 0):
            raise ValueError("'diag' covars must be positive")
    elif covariance_type == "full":
        if covars.ndim != 3 or covars.shape[1] != covars.shape[2]:
            raise ValueError("'full' covars must have shape (n_components, n_dim, n_dim)")
        if covars.shape[0] != n_components:
            raise ValueError("'full' covars must have shape (n_components, n_dim, n_dim)")
        for n, cv in enumerate(covars):
            if not np.allclose(cv, cv.T) or np.any(np.linalg.eigvalsh(cv) <= 0):
                raise ValueError(
                    f"component {n} of 'full' covars must be symmetric, positive-definite"
                )
    else:
        raise ValueError(f"covariance_type must be one of {COVARIANCE_TYPES}")


class GaussianHMM:
    """Hidden Markov model with Gaussian emissions (hmmlearn's ``GaussianHMM``).

    Parameters
    ----------
    n_components : int
        Number of states.
    covariance_type : {"diag", "full"}
        One variance per feature, or a full covariance matrix, per state.
    min_covar : float
        Added to the diagonal of the sample covariance the covariances start from.
    startprob_prior, transmat_prior : float or array
        Dirichlet parameters of ``startprob_`` and of each row of ``transmat_``.
    means_prior, means_weight : float or array, float
        Mean and precision of the normal prior on ``means_``.
    covars_prior, covars_weight : float or array, float
        Scale and degrees of freedom of the inverse-gamma (diag) or
        inverse-Wishart (full) prior on ``covars_``.
    algorithm : {"viterbi", "map"}
        Decoder used by ``decode`` and ``predict``.
    random_state : int, numpy RandomState or Generator, or None
        Seeds the initialisation.
    n_iter : int
        Maximum number of EM iterations.
    tol : float
        EM stops when the log-likelihood gains less than this.
    verbose : bool
        Print each iteration's log-likelihood to stderr.
    params, init_params : str
        Letters of the parameters EM updates / ``fit`` initialises:
        ``s`` startprob, ``t`` transmat, ``m`` means, ``c`` covars.
    implementation : {"log", "scaling"}
        Accepted for compatibility; both use the log-space algorithms.
    """

    startprob_: FloatArray
    transmat_: FloatArray
    means_: FloatArray
    _covars_: FloatArray
    n_features: int

    def __init__(
        self,
        n_components: int = 1,
        covariance_type: str = "diag",
        min_covar: float = 1e-3,
        startprob_prior: Any = 1.0,
        transmat_prior: Any = 1.0,
        means_prior: Any = 0,
        means_weight: Any = 0,
        covars_prior: Any = 1e-2,
        covars_weight: Any = 1,
        algorithm: str = "viterbi",
        random_state: Any = None,
        n_iter: int = 10,
        tol: float = 1e-2,
        verbose: bool = False,
        params: str = "stmc",
        init_params: str = "stmc",
        implementation: str = "log",
    ) -> None:
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.min_covar = min_covar
        self.startprob_prior = startprob_prior
        self.transmat_prior = transmat_prior
        self.means_prior = means_prior
        self.means_weight = means_weight
        self.covars_prior = covars_prior
        self.covars_weight = covars_weight
        self.algorithm = algorithm
        self.random_state = random_state
        self.n_iter = n_iter
        self.tol = tol
        self.verbose = verbose
        self.params = params
        self.init_params = init_params
        self.implementation = implementation
        self._check_hyperparameters()
        self.monitor_ = ConvergenceMonitor(tol, n_iter, verbose)

    def __repr__(self) -> str:
        return (
            f"GaussianHMM(n_components={self.n_components}, "
            f"covariance_type={self.covariance_type!r}, n_iter={self.n_iter}, tol={self.tol})"
        )

    # -- parameters ---------------------------------------------------------

    @property
    def covars_(self) -> FloatArray:
        """Covariance matrices, ``(n_components, n_features, n_features)``.

        Set in the covariance type's shape: ``(n_components, n_features)``
        for "diag", ``(n_components, n_features, n_features)`` for "full".
        """
        covars = self._covars_
        if self.covariance_type == "diag":
            return np.array([np.diag(c) for c in covars])
        return covars

    @covars_.setter
    def covars_(self, covars: Any) -> None:
        arr = np.array(covars, dtype=np.float64, copy=True)
        _validate_covars(arr, self.covariance_type, self.n_components)
        self._covars_ = arr

    def _check_hyperparameters(self) -> None:
        if isinstance(self.n_components, bool) or not isinstance(
            self.n_components, (int, np.integer)
        ):
            raise ValueError(f"n_components must be an integer, got {self.n_components!r}")
        if self.n_components < 1:
            raise ValueError(f"n_components must be >= 1, got {self.n_components}")
        if self.covariance_type not in COVARIANCE_TYPES:
            raise ValueError(
                f"covariance_type must be one of {COVARIANCE_TYPES}, got {self.covariance_type!r}"
            )
        if self.algorithm not in DECODER_ALGORITHMS:
            raise ValueError(f"Unknown decoder {self.algorithm!r}")
        if self.implementation not in IMPLEMENTATIONS:
            raise ValueError(
                f"implementation must be one of {IMPLEMENTATIONS}, got {self.implementation!r}"
            )
        if not self.n_iter >= 0:
            raise ValueError(f"n_iter must be >= 0, got {self.n_iter}")
        if not self.min_covar >= 0:
            raise ValueError(f"min_covar must be >= 0, got {self.min_covar}")

    def _needs_init(self, code: str, name: str) -> bool:
        if code in self.init_params:
            if hasattr(self, name):
                _log.warning(
                    "Even though the %r attribute is set, it will be overwritten during "
                    "initialization because 'init_params' contains %r",
                    name.lstrip("_"),
                    code,
                )
            return True
        return not hasattr(self, name)

    def _seed(self) -> int:
        rs = self.random_state
        if rs is None:
            return int(np.random.randint(0, _SEED_BOUND, dtype=np.int64))
        if isinstance(rs, np.random.RandomState):
            return int(rs.randint(0, _SEED_BOUND, dtype=np.int64))
        if isinstance(rs, np.random.Generator):
            return int(rs.integers(0, _SEED_BOUND))
        if isinstance(rs, (int, np.integer)) and not isinstance(rs, bool) and rs >= 0:
            return int(rs) & 0xFFFF_FFFF_FFFF_FFFF
        raise ValueError(
            f"random_state must be None, a non-negative int or a numpy RNG, got {rs!r}"
        )

    def _init(self, X: FloatArray) -> None:
        n_features = X.shape[1]
        if hasattr(self, "n_features") and self.n_features != n_features:
            raise ValueError(
                f"Unexpected number of dimensions, got {n_features} but expected {self.n_features}"
            )
        self.n_features = n_features
        need = "".join(
            code
            for code, name in (
                ("s", "startprob_"),
                ("t", "transmat_"),
                ("m", "means_"),
                ("c", "_covars_"),
            )
            if self._needs_init(code, name)
        )
        if not need:
            return
        sp, tm, mu, cv = _core.hmm_init(
            X, self.n_components, self.covariance_type, self.min_covar, need, self._seed()
        )
        if sp is not None:
            self.startprob_ = sp
        if tm is not None:
            self.transmat_ = tm
        if mu is not None:
            self.means_ = mu
        if cv is not None:
            self._covars_ = cv

    def _model(self) -> _core.GaussianHmmParams:
        """The parameters as the Rust core's (validated as hmmlearn's ``_check``)."""
        if not hasattr(self, "startprob_"):
            raise NotFittedError(
                "This GaussianHMM instance is not fitted yet: call 'fit' or set its parameters"
            )
        self._check_hyperparameters()
        for name in ("transmat_", "means_", "_covars_"):
            if not hasattr(self, name):
                raise NotFittedError(f"{name.lstrip('_')} is not set")

        def f64(a: Any) -> FloatArray:
            return np.asarray(a, dtype=np.float64)

        self.startprob_ = f64(self.startprob_)
        self.transmat_ = f64(self.transmat_)
        self.means_ = f64(self.means_)
        if self.means_.ndim != 2:
            raise ValueError(
                f"means_ must have shape (n_components, n_features), got {self.means_.shape}"
            )
        if len(self.startprob_) != self.n_components:
            raise ValueError("startprob_ must have length n_components")
        self.n_features = self.means_.shape[1]
        return _core.GaussianHmmParams(
            self.covariance_type, self.startprob_, self.transmat_, self.means_, f64(self._covars_)
        )

    def _set(self, fitted: _core.GaussianHmmParams) -> None:
        self.startprob_ = fitted.startprob
        self.transmat_ = fitted.transmat
        self.means_ = fitted.means
        self._covars_ = fitted.covars

    # -- fitting ------------------------------------------------------------

    def fit(self, X: Any, lengths: Any = None) -> GaussianHMM:
        """Estimate the parameters by EM (Baum-Welch).

        The parameters in ``init_params`` (and any not set) are initialised
        first; then at most ``n_iter`` iterations, stopping when the
        log-likelihood gains less than ``tol``.

        Parameters
        ----------
        X : array-like, shape (n_samples, n_features)
        lengths : array-like of int, optional
            Lengths of the sequences concatenated in ``X``; they sum to ``n_samples``.

        Returns
        -------
        GaussianHMM
            ``self``.
        """
        X = _as_sample(X)
        lens = _as_lengths(lengths)
        self._check_hyperparameters()
        self._init(X)
        model = self._model()
        k, d = model.n_components, model.n_features
        covars_shape = (k, d) if self.covariance_type == "diag" else (k, d, d)

        def prior(value: Any, shape: tuple[int, ...]) -> FloatArray:
            return np.broadcast_to(np.asarray(value, dtype=np.float64), shape)

        fitted, history, _ = model.fit(
            X,
            lens,
            params=self.params,
            n_iter=self.n_iter,
            tol=self.monitor_.tol,
            startprob_prior=prior(self.startprob_prior, (k,)),
            transmat_prior=prior(self.transmat_prior, (k, k)),
            means_prior=prior(self.means_prior, (k, d)),
            means_weight=_scalar("means_weight", self.means_weight),
            covars_prior=prior(self.covars_prior, covars_shape),
            covars_weight=_scalar("covars_weight", self.covars_weight),
        )
        self._set(fitted)
        self.monitor_._reset()
        for log_prob in history:
            self.monitor_.report(log_prob)
        if (self.transmat_.sum(axis=1) == 0).any():
            _log.warning(
                "Some rows of transmat_ have zero sum because no transition from the "
                "state was ever observed."
            )
        return self

    # -- inference ----------------------------------------------------------

    def score(self, X: Any, lengths: Any = None) -> float:
        """Log-likelihood of ``X`` under the model."""
        return self._model().score(_as_sample(X), _as_lengths(lengths))

    def score_samples(self, X: Any, lengths: Any = None) -> tuple[float, FloatArray]:
        """Log-likelihood of ``X`` and the smoothed posteriors, ``(n_samples, n_components)``."""
        return self._model().score_samples(_as_sample(X), _as_lengths(lengths))

    def predict_proba(self, X: Any, lengths: Any = None) -> FloatArray:
        """Smoothed posteriors ``P(z_t | all of X)``: row t looks ahead of t."""
        return self.score_samples(X, lengths)[1]

    def decode(
        self, X: Any, lengths: Any = None, algorithm: str | None = None
    ) -> tuple[float, IntArray]:
        """Most likely states: ``(log-probability, states)``.

        ``"viterbi"`` gives the best path and its log-probability; ``"map"``
        the most probable state of each row and, as hmmlearn, the sum of
        those rows' probabilities.
        """
        algorithm = algorithm or self.algorithm
        if algorithm not in DECODER_ALGORITHMS:
            raise ValueError(f"Unknown decoder {algorithm!r}")
        model, x, lens = self._model(), _as_sample(X), _as_lengths(lengths)
        if algorithm == "viterbi":
            return model.decode(x, lens)
        _, post = model.score_samples(x, lens)
        return float(post.max(axis=1).sum()), post.argmax(axis=1).astype(np.int64)

    def predict(self, X: Any, lengths: Any = None) -> IntArray:
        """Most likely state of each row (by ``algorithm``, Viterbi by default)."""
        return self.decode(X, lengths)[1]

    def filter_proba(self, X: Any, lengths: Any = None) -> FloatArray:
        """Causal state probabilities ``P(z_t | X[0..t])``, ``(n_samples, n_components)``.

        Row t uses rows 0..t of its sequence only, so it is what a live
        strategy could have known at t. Its last row equals the last row
        of ``predict_proba`` on the same rows.
        """
        return self._model().filter_proba(_as_sample(X), _as_lengths(lengths))

    def regime_filter(self) -> _core.RegimeFilter:
        """A streaming forward filter over the current parameters.

        ``f.update(x)`` folds in one observation (``n_features`` values) in
        O(n_components^2) and returns the filtered probabilities; a sequence
        of updates gives the rows of :meth:`filter_proba`.
        """
        return _core.RegimeFilter(self._model())
