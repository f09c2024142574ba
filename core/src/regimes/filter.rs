//! The causal forward filter: `P(z_t = k | x_0..x_t)`, advanced one
//! observation at a time.
//!
//! Each step predicts with the transition matrix and corrects with the
//! emission density: `p_t(j) ∝ (sum_i p_{t-1}(i) A[i, j]) b_j(x_t)`, the
//! first step from `startprob`. The normalisation runs in log space, so an
//! observation far in a tail cannot underflow every state to 0. Cost per
//! step: O(K^2 + K D) (diag) or O(K^2 + K D^2) (full); no allocation.
use std::ops::Range;

use super::emission::Emission;
use super::model::GaussianHmm;
use crate::error::{CoreError, CoreResult};

/// A streaming forward filter over a fixed model.
#[derive(Debug, Clone)]
pub struct RegimeFilter {
    emission: Emission,
    startprob: Vec<f64>,
    transmat: Vec<f64>,
    probs: Vec<f64>,
    log_b: Vec<f64>,
    scratch: Vec<f64>,
    log_likelihood: f64,
    n_seen: u64,
}

impl RegimeFilter {
    /// A filter for `model`, before its first observation.
    ///
    /// # Errors
    /// The model's emission errors (a full covariance not positive definite).
    pub fn new(model: &GaussianHmm) -> CoreResult<Self> {
        let k = model.n_components;
        Ok(Self {
            emission: Emission::new(model)?,
            startprob: model.startprob.clone(),
            transmat: model.transmat.clone(),
            probs: vec![f64::NAN; k],
            log_b: vec![0.0; k],
            scratch: vec![0.0; model.n_features.max(k)],
            log_likelihood: 0.0,
            n_seen: 0,
        })
    }

    /// Number of states.
    pub fn n_components(&self) -> usize {
        self.startprob.len()
    }

    /// Number of features an observation has.
    pub fn n_features(&self) -> usize {
        self.emission.n_features()
    }

    /// Folds in the next observation; returns the filtered probabilities.
    ///
    /// # Errors
    /// [`CoreError::InvalidInput`] if `x` has the wrong length or a
    /// non-finite value, or has probability 0 under the model; the filter
    /// is then left as it was.
    pub fn update(&mut self, x: &[f64]) -> CoreResult<&[f64]> {
        let (k, d) = (self.n_components(), self.n_features());
        if x.len() != d {
            return Err(CoreError::InvalidInput(format!("observation has {} features, expected {d}", x.len())));
        }
        if x.iter().any(|v| !v.is_finite()) {
            return Err(CoreError::InvalidInput("observation contains NaN or infinity".into()));
        }
        self.emission.log_density_row(x, &mut self.log_b, &mut self.scratch);
        // log of predicted x density, in log_b
        for j in 0..k {
            let pred = if self.n_seen == 0 {
                self.startprob[j]
            } else {
                (0..k).map(|i| self.probs[i] * self.transmat[i * k + j]).sum()
            };
            self.log_b[j] += pred.ln();
        }
        let m = self.log_b.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        if !m.is_finite() {
            return Err(CoreError::InvalidInput("observation has probability 0 under the model".into()));
        }
        let s: f64 = self.log_b.iter().map(|&l| (l - m).exp()).sum();
        let lse = m + s.ln();
        for (p, &l) in self.probs.iter_mut().zip(&self.log_b) {
            *p = (l - lse).exp();
        }
        self.log_likelihood += lse;
        self.n_seen += 1;
        Ok(&self.probs)
    }

    /// The filtered probabilities after the last update (NaN before the first).
    pub fn probabilities(&self) -> &[f64] {
        &self.probs
    }

    /// The most probable state now (the first on ties), None before the first update.
    pub fn most_likely(&self) -> Option<usize> {
        if self.n_seen == 0 {
            return None;
        }
        let mut best = 0;
        for (i, &p) in self.probs.iter().enumerate() {
            if p > self.probs[best] {
                best = i;
            }
        }
        Some(best)
    }

    /// `log p(x_0..x_t)`: the log-likelihood of everything seen.
    pub fn log_likelihood(&self) -> f64 {
        self.log_likelihood
    }

    /// Observations folded in since creation or the last reset.
    pub fn n_seen(&self) -> u64 {
        self.n_seen
    }

    /// Forgets every observation.
    pub fn reset(&mut self) {
        self.probs.fill(f64::NAN);
        self.log_likelihood = 0.0;
        self.n_seen = 0;
    }
}

/// The filtered probabilities of every row of `x` (T x D) into `out` (T x K),
/// restarting from `startprob` at each sequence.
///
/// # Errors
/// As [`RegimeFilter::new`] and [`RegimeFilter::update`].
pub fn filter_proba(model: &GaussianHmm, x: &[f64], seqs: &[Range<usize>], out: &mut [f64]) -> CoreResult<()> {
    let (k, d) = (model.n_components, model.n_features);
    let mut f = RegimeFilter::new(model)?;
    for r in seqs {
        f.reset();
        for t in r.clone() {
            let p = f.update(&x[t * d..(t + 1) * d])?;
            out[t * k..(t + 1) * k].copy_from_slice(p);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::forward_backward::score;
    use super::super::model::{sequences, CovarianceType};
    use super::*;

    fn model() -> GaussianHmm {
        GaussianHmm::new_checked(
            CovarianceType::Diag,
            1,
            vec![0.7, 0.3],
            vec![0.95, 0.05, 0.1, 0.9],
            vec![0.0, 3.0],
            vec![1.0, 2.0],
        )
        .unwrap()
    }

    #[test]
    fn last_filtered_row_equals_the_smoothed_posterior_of_the_prefix() {
        let m = model();
        let x = [0.1, -0.5, 2.8, 3.5, 0.2, 4.0];
        let mut f = RegimeFilter::new(&m).unwrap();
        for t in 0..x.len() {
            let p = f.update(&x[t..=t]).unwrap().to_vec();
            let mut post = vec![0.0; 2 * (t + 1)];
            let ll = score(&m, &x[..=t], &sequences(t + 1, None).unwrap(), Some(&mut post)).unwrap();
            assert!((p[0] - post[2 * t]).abs() < 1e-12 && (p[1] - post[2 * t + 1]).abs() < 1e-12);
            assert!((f.log_likelihood() - ll).abs() < 1e-10);
        }
        assert_eq!(f.n_seen(), 6);
        assert_eq!(f.most_likely(), Some(1));
    }

    #[test]
    fn a_bad_observation_leaves_the_filter_unchanged() {
        let mut f = RegimeFilter::new(&model()).unwrap();
        f.update(&[0.0]).unwrap();
        let before = f.probabilities().to_vec();
        assert!(f.update(&[f64::NAN]).is_err());
        assert!(f.update(&[1.0, 2.0]).is_err());
        assert_eq!(f.probabilities(), &before[..]);
        assert_eq!(f.n_seen(), 1);
        f.reset();
        assert_eq!(f.most_likely(), None);
    }
}
