//! Bindings for the Gaussian HMM: a frozen parameter set whose methods run
//! the batch algorithms with the GIL released, the seeded initialisation,
//! and the streaming `RegimeFilter` (per-candle calls keep the GIL: O(K^2)).
use numpy::{
    PyArray1, PyArrayDyn, PyArrayMethods, PyReadonlyArray1, PyReadonlyArray2, PyReadonlyArrayDyn, PyUntypedArrayMethods,
};
use pyo3::prelude::*;

use crate::error::CoreError;
use crate::regimes::{
    self as rg, check_sample, sequences, CovarianceType, FitOptions, GaussianHmm, Params, Priors, RegimeFilter,
};

type Array1 = Py<PyArray1<f64>>;
type ArrayN = Py<PyArrayDyn<f64>>;

fn owned_dyn(a: &PyReadonlyArrayDyn<'_, f64>) -> Vec<f64> {
    a.as_array().iter().copied().collect()
}

fn shaped(py: Python<'_>, v: Vec<f64>, shape: &[usize]) -> PyResult<ArrayN> {
    Ok(PyArray1::from_vec(py, v).reshape(shape.to_vec())?.unbind())
}

/// The sample as a row-major slice, checked against the model's width.
fn sample<'a>(x: &'a PyReadonlyArray2<'_, f64>, d: usize) -> PyResult<&'a [f64]> {
    let cols = x.shape()[1];
    if cols != d {
        return Err(CoreError::InvalidInput(format!("X has {cols} features, but the model has {d}")).into());
    }
    let xs = x.as_slice().map_err(|_| CoreError::InvalidInput("X must be a C-contiguous float64 array".into()))?;
    check_sample(xs, d)?;
    Ok(xs)
}

fn shape_err(name: &str, want: String, got: &[usize]) -> PyErr {
    CoreError::param(name, format!("must have shape {want}, got {got:?}")).into()
}

/// The parameters of a Gaussian HMM (validated as hmmlearn's ``_check``).
#[pyclass(name = "GaussianHmmParams", module = "avd._core", frozen)]
pub struct PyGaussianHmmParams {
    inner: GaussianHmm,
}

impl PyGaussianHmmParams {
    fn covars_shape(&self) -> Vec<usize> {
        let m = &self.inner;
        match m.covariance_type {
            CovarianceType::Diag => vec![m.n_components, m.n_features],
            CovarianceType::Full => vec![m.n_components, m.n_features, m.n_features],
        }
    }
}

#[pymethods]
impl PyGaussianHmmParams {
    #[new]
    fn py_new(
        covariance_type: &str,
        startprob: PyReadonlyArrayDyn<'_, f64>,
        transmat: PyReadonlyArrayDyn<'_, f64>,
        means: PyReadonlyArrayDyn<'_, f64>,
        covars: PyReadonlyArrayDyn<'_, f64>,
    ) -> PyResult<Self> {
        let kind = CovarianceType::parse(covariance_type)?;
        let k = startprob.len();
        if startprob.ndim() != 1 {
            return Err(shape_err("startprob_", format!("({k},)"), startprob.shape()));
        }
        if transmat.shape() != [k, k] {
            return Err(shape_err("transmat_", format!("({k}, {k})"), transmat.shape()));
        }
        if means.ndim() != 2 || means.shape()[0] != k {
            return Err(shape_err("means_", format!("({k}, n_features)"), means.shape()));
        }
        let d = means.shape()[1];
        let want: &[usize] = match kind {
            CovarianceType::Diag => &[k, d],
            CovarianceType::Full => &[k, d, d],
        };
        if covars.shape() != want {
            return Err(shape_err("covars_", format!("{want:?}"), covars.shape()));
        }
        let inner = GaussianHmm::new_checked(
            kind,
            d,
            owned_dyn(&startprob),
            owned_dyn(&transmat),
            owned_dyn(&means),
            owned_dyn(&covars),
        )?;
        Ok(Self { inner })
    }

    #[getter]
    fn covariance_type(&self) -> &'static str {
        self.inner.covariance_type.as_str()
    }

    #[getter]
    fn n_components(&self) -> usize {
        self.inner.n_components
    }

    #[getter]
    fn n_features(&self) -> usize {
        self.inner.n_features
    }

    #[getter]
    fn startprob(&self, py: Python<'_>) -> Array1 {
        PyArray1::from_vec(py, self.inner.startprob.clone()).unbind()
    }

    #[getter]
    fn transmat(&self, py: Python<'_>) -> PyResult<ArrayN> {
        let k = self.inner.n_components;
        shaped(py, self.inner.transmat.clone(), &[k, k])
    }

    #[getter]
    fn means(&self, py: Python<'_>) -> PyResult<ArrayN> {
        shaped(py, self.inner.means.clone(), &[self.inner.n_components, self.inner.n_features])
    }

    #[getter]
    fn covars(&self, py: Python<'_>) -> PyResult<ArrayN> {
        shaped(py, self.inner.covars.clone(), &self.covars_shape())
    }

    /// Log-likelihood of ``X`` (sequences split by ``lengths``).
    #[pyo3(signature = (x, lengths = None))]
    fn score(&self, py: Python<'_>, x: PyReadonlyArray2<'_, f64>, lengths: Option<Vec<i64>>) -> PyResult<f64> {
        let xs = sample(&x, self.inner.n_features)?;
        let seqs = sequences(x.shape()[0], lengths.as_deref())?;
        Ok(py.detach(|| rg::score(&self.inner, xs, &seqs, None))?)
    }

    /// Log-likelihood and smoothed posteriors (``n_samples`` x ``n_components``).
    #[pyo3(signature = (x, lengths = None))]
    fn score_samples(
        &self,
        py: Python<'_>,
        x: PyReadonlyArray2<'_, f64>,
        lengths: Option<Vec<i64>>,
    ) -> PyResult<(f64, ArrayN)> {
        let xs = sample(&x, self.inner.n_features)?;
        let n = x.shape()[0];
        let seqs = sequences(n, lengths.as_deref())?;
        let k = self.inner.n_components;
        let mut post = vec![0.0; n * k];
        let ll = py.detach(|| rg::score(&self.inner, xs, &seqs, Some(&mut post)))?;
        Ok((ll, shaped(py, post, &[n, k])?))
    }

    /// Viterbi: log-probability of the best path, and the path.
    #[pyo3(signature = (x, lengths = None))]
    fn decode(
        &self,
        py: Python<'_>,
        x: PyReadonlyArray2<'_, f64>,
        lengths: Option<Vec<i64>>,
    ) -> PyResult<(f64, Py<PyArray1<i64>>)> {
        let xs = sample(&x, self.inner.n_features)?;
        let seqs = sequences(x.shape()[0], lengths.as_deref())?;
        let (lp, path) = py.detach(|| rg::decode(&self.inner, xs, &seqs))?;
        let path: Vec<i64> = path.into_iter().map(|s| s as i64).collect();
        Ok((lp, PyArray1::from_vec(py, path).unbind()))
    }

    /// Causal forward probabilities: row t uses rows 0..t of its sequence only.
    #[pyo3(signature = (x, lengths = None))]
    fn filter_proba(
        &self,
        py: Python<'_>,
        x: PyReadonlyArray2<'_, f64>,
        lengths: Option<Vec<i64>>,
    ) -> PyResult<ArrayN> {
        let xs = sample(&x, self.inner.n_features)?;
        let n = x.shape()[0];
        let seqs = sequences(n, lengths.as_deref())?;
        let k = self.inner.n_components;
        let mut out = vec![0.0; n * k];
        py.detach(|| rg::filter_proba(&self.inner, xs, &seqs, &mut out))?;
        shaped(py, out, &[n, k])
    }

    /// EM from these parameters; returns the fitted parameters, the
    /// log-likelihood history and whether it converged.
    #[pyo3(signature = (
        x, lengths = None, *, params, n_iter, tol, startprob_prior, transmat_prior,
        means_prior, means_weight, covars_prior, covars_weight
    ))]
    #[allow(clippy::too_many_arguments)]
    fn fit(
        &self,
        py: Python<'_>,
        x: PyReadonlyArray2<'_, f64>,
        lengths: Option<Vec<i64>>,
        params: &str,
        n_iter: i64,
        tol: f64,
        startprob_prior: PyReadonlyArrayDyn<'_, f64>,
        transmat_prior: PyReadonlyArrayDyn<'_, f64>,
        means_prior: PyReadonlyArrayDyn<'_, f64>,
        means_weight: f64,
        covars_prior: PyReadonlyArrayDyn<'_, f64>,
        covars_weight: f64,
    ) -> PyResult<(Self, Vec<f64>, bool)> {
        let n_iter =
            usize::try_from(n_iter).map_err(|_| CoreError::param("n_iter", format!("must be >= 0, got {n_iter}")))?;
        let xs = sample(&x, self.inner.n_features)?;
        let seqs = sequences(x.shape()[0], lengths.as_deref())?;
        let priors = Priors {
            startprob: owned_dyn(&startprob_prior),
            transmat: owned_dyn(&transmat_prior),
            means: owned_dyn(&means_prior),
            means_weight,
            covars: owned_dyn(&covars_prior),
            covars_weight,
        };
        let opts = FitOptions { params: Params::parse(params), n_iter, tol };
        let mut model = self.inner.clone();
        let report = py.detach(|| rg::fit(&mut model, &priors, xs, &seqs, opts))?;
        Ok((Self { inner: model }, report.history, report.converged))
    }
}

/// hmmlearn's initialisation of the parameters named in ``init_params``
/// (None for the others), drawn from ``seed``.
#[pyfunction]
#[pyo3(name = "hmm_init")]
#[allow(clippy::type_complexity)]
pub fn py_hmm_init(
    py: Python<'_>,
    x: PyReadonlyArray2<'_, f64>,
    n_components: i64,
    covariance_type: &str,
    min_covar: f64,
    init_params: &str,
    seed: u64,
) -> PyResult<(Option<Array1>, Option<ArrayN>, Option<ArrayN>, Option<ArrayN>)> {
    let kind = CovarianceType::parse(covariance_type)?;
    let k = usize::try_from(n_components)
        .ok()
        .filter(|&k| k >= 1)
        .ok_or_else(|| CoreError::param("n_components", format!("must be >= 1, got {n_components}")))?;
    let d = x.shape()[1];
    let xs = sample(&x, d)?;
    let which = Params::parse(init_params);
    let init = py.detach(|| rg::initialise(xs, d, k, kind, min_covar, which, seed))?;
    let covars_shape: Vec<usize> = match kind {
        CovarianceType::Diag => vec![k, d],
        CovarianceType::Full => vec![k, d, d],
    };
    Ok((
        init.startprob.map(|v| PyArray1::from_vec(py, v).unbind()),
        init.transmat.map(|v| shaped(py, v, &[k, k])).transpose()?,
        init.means.map(|v| shaped(py, v, &[k, d])).transpose()?,
        init.covars.map(|v| shaped(py, v, &covars_shape)).transpose()?,
    ))
}

/// The causal forward filter, advanced one observation at a time.
#[pyclass(name = "RegimeFilter", module = "avd._core")]
pub struct PyRegimeFilter {
    inner: RegimeFilter,
}

#[pymethods]
impl PyRegimeFilter {
    #[new]
    fn py_new(params: &PyGaussianHmmParams) -> PyResult<Self> {
        Ok(Self { inner: RegimeFilter::new(&params.inner)? })
    }

    /// Folds in one observation (``n_features`` values); returns the probabilities.
    fn update(&mut self, py: Python<'_>, x: PyReadonlyArray1<'_, f64>) -> PyResult<Array1> {
        let xs: Vec<f64> = x.as_array().iter().copied().collect();
        let p = self.inner.update(&xs)?.to_vec();
        Ok(PyArray1::from_vec(py, p).unbind())
    }

    /// Forgets every observation.
    fn reset(&mut self) {
        self.inner.reset();
    }

    #[getter]
    fn probabilities(&self, py: Python<'_>) -> Array1 {
        PyArray1::from_vec(py, self.inner.probabilities().to_vec()).unbind()
    }

    #[getter]
    fn most_likely(&self) -> Option<usize> {
        self.inner.most_likely()
    }

    #[getter]
    fn log_likelihood(&self) -> f64 {
        self.inner.log_likelihood()
    }

    #[getter]
    fn n_seen(&self) -> u64 {
        self.inner.n_seen()
    }

    #[getter]
    fn n_components(&self) -> usize {
        self.inner.n_components()
    }

    #[getter]
    fn n_features(&self) -> usize {
        self.inner.n_features()
    }
}
