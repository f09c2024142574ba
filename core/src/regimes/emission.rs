//! Gaussian emission log-densities, `log N(x; mean_k, covar_k)`, per state.
//!
//! The per-state constants (inverse variances or Cholesky factors and the
//! normalising terms) are computed once per model, so a row costs O(K D)
//! (diagonal) or O(K D^2) (full). hmmlearn's rules are kept: diagonal
//! variances are floored at the smallest normal double, and a full matrix
//! whose Cholesky factorisation fails is retried with 1e-7 added to its
//! diagonal before it is refused.
use std::f64::consts::PI;

use super::model::{CovarianceType, GaussianHmm};
use crate::error::{CoreError, CoreResult};

/// hmmlearn's `min_covar` in `_log_multivariate_normal_density_full`.
const CHOLESKY_JITTER: f64 = 1e-7;

/// The emission densities of one model, ready to evaluate.
#[derive(Debug, Clone)]
pub struct Emission {
    k: usize,
    d: usize,
    kind: CovarianceType,
    means: Vec<f64>,
    /// Diag: 1 / variance, K x D. Full: the lower Cholesky factor, K x D x D.
    factors: Vec<f64>,
    /// -0.5 (D log 2 pi + log det covar), K.
    log_norm: Vec<f64>,
}

/// Lower Cholesky factor of the symmetric `d` x `d` matrix `a` (its lower
/// triangle is read), or None if it is not positive definite.
pub fn cholesky(a: &[f64], d: usize) -> Option<Vec<f64>> {
    let mut l = vec![0.0; d * d];
    for i in 0..d {
        for j in 0..=i {
            let mut s = a[i * d + j];
            for p in 0..j {
                s -= l[i * d + p] * l[j * d + p];
            }
            if i == j {
                // `!(s > 0)` also refuses NaN
                if s.is_nan() || s <= 0.0 {
                    return None;
                }
                l[i * d + i] = s.sqrt();
            } else {
                l[i * d + j] = s / l[j * d + j];
            }
        }
    }
    Some(l)
}

impl Emission {
    /// Precomputes the densities of `model`.
    ///
    /// # Errors
    /// [`CoreError::InvalidParameter`] if a full covariance matrix is not
    /// positive definite even with hmmlearn's jitter.
    pub fn new(model: &GaussianHmm) -> CoreResult<Self> {
        let (k, d) = (model.n_components, model.n_features);
        let base = d as f64 * (2.0 * PI).ln();
        let mut factors = Vec::with_capacity(model.covars.len());
        let mut log_norm = Vec::with_capacity(k);
        match model.covariance_type {
            CovarianceType::Diag => {
                for row in model.covars.chunks_exact(d) {
                    let mut log_det = 0.0;
                    for &c in row {
                        let c = c.max(f64::MIN_POSITIVE);
                        log_det += c.ln();
                        factors.push(1.0 / c);
                    }
                    log_norm.push(-0.5 * (base + log_det));
                }
            }
            CovarianceType::Full => {
                for (state, cv) in model.covars.chunks_exact(d * d).enumerate() {
                    let l = cholesky(cv, d)
                        .or_else(|| {
                            let mut jittered = cv.to_vec();
                            for i in 0..d {
                                jittered[i * d + i] += CHOLESKY_JITTER;
                            }
                            cholesky(&jittered, d)
                        })
                        .ok_or_else(|| {
                            CoreError::param(
                                "covars_",
                                format!("component {state} of 'full' covars must be symmetric, positive-definite"),
                            )
                        })?;
                    let log_det: f64 = 2.0 * (0..d).map(|i| l[i * d + i].ln()).sum::<f64>();
                    log_norm.push(-0.5 * (base + log_det));
                    factors.extend_from_slice(&l);
                }
            }
        }
        Ok(Self { k, d, kind: model.covariance_type, means: model.means.clone(), factors, log_norm })
    }

    /// Number of states.
    pub fn n_components(&self) -> usize {
        self.k
    }

    /// Number of features.
    pub fn n_features(&self) -> usize {
        self.d
    }

    /// Writes `log N(x; state k)` for every state into `out` (length K).
    pub fn log_density_row(&self, x: &[f64], out: &mut [f64], scratch: &mut [f64]) {
        let d = self.d;
        match self.kind {
            CovarianceType::Diag => {
                for (k, o) in out.iter_mut().enumerate() {
                    let mu = &self.means[k * d..(k + 1) * d];
                    let inv = &self.factors[k * d..(k + 1) * d];
                    let mut q = 0.0;
                    for i in 0..d {
                        let z = x[i] - mu[i];
                        q += z * z * inv[i];
                    }
                    *o = self.log_norm[k] - 0.5 * q;
                }
            }
            CovarianceType::Full => {
                // z = L^-1 (x - mu) by forward substitution; q = |z|^2
                for (k, o) in out.iter_mut().enumerate() {
                    let mu = &self.means[k * d..(k + 1) * d];
                    let l = &self.factors[k * d * d..(k + 1) * d * d];
                    let mut q = 0.0;
                    for i in 0..d {
                        let mut s = x[i] - mu[i];
                        for j in 0..i {
                            s -= l[i * d + j] * scratch[j];
                        }
                        let z = s / l[i * d + i];
                        scratch[i] = z;
                        q += z * z;
                    }
                    *o = self.log_norm[k] - 0.5 * q;
                }
            }
        }
    }

    /// The T x K matrix of log-densities of the T x D sample `x`.
    pub fn log_density(&self, x: &[f64], out: &mut [f64]) {
        let mut scratch = vec![0.0; self.d];
        for (row, o) in x.chunks_exact(self.d).zip(out.chunks_exact_mut(self.k)) {
            self.log_density_row(row, o, &mut scratch);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(kind: CovarianceType, covars: Vec<f64>) -> GaussianHmm {
        GaussianHmm::new_checked(kind, 2, vec![1.0], vec![1.0], vec![0.5, -1.0], covars).unwrap()
    }

    #[test]
    fn diag_density_matches_the_closed_form() {
        let e = Emission::new(&model(CovarianceType::Diag, vec![2.0, 0.5])).unwrap();
        let mut out = [0.0];
        e.log_density(&[1.5, 0.0], &mut out);
        // two independent normals: log N(1.5; 0.5, 2) + log N(0; -1, 0.5)
        let ln = |x: f64, m: f64, v: f64| -0.5 * ((2.0 * PI * v).ln() + (x - m).powi(2) / v);
        assert!((out[0] - (ln(1.5, 0.5, 2.0) + ln(0.0, -1.0, 0.5))).abs() < 1e-12);
    }

    #[test]
    fn full_density_matches_the_closed_form_in_two_dimensions() {
        // [[2, 0.6], [0.6, 1]]: det 1.64, inverse [[1, -0.6], [-0.6, 2]] / 1.64
        let e = Emission::new(&model(CovarianceType::Full, vec![2.0, 0.6, 0.6, 1.0])).unwrap();
        let mut out = [0.0];
        e.log_density(&[1.5, 0.0], &mut out);
        let (a, b) = (1.0, 1.0); // x - mu
        let q = (a * a * 1.0 - 2.0 * a * b * 0.6 + b * b * 2.0) / 1.64;
        let want = -0.5 * (2.0 * (2.0 * PI).ln() + 1.64_f64.ln() + q);
        assert!((out[0] - want).abs() < 1e-12, "{} vs {want}", out[0]);
    }

    #[test]
    fn non_positive_definite_full_covariance_is_refused() {
        let err = Emission::new(&model(CovarianceType::Full, vec![1.0, 2.0, 2.0, 1.0])).unwrap_err();
        assert!(err.to_string().contains("positive-definite"), "{err}");
    }
}
