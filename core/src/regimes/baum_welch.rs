//! Baum-Welch: the E-step's sufficient statistics and hmmlearn's M-step
//! with its priors, iterated until the log-likelihood gains less than `tol`.
//!
//! The M-step is hmmlearn 0.3.3's `GaussianHMM._do_mstep`, in its order:
//! startprob and transmat (Dirichlet priors, negative counts clipped to 0,
//! zero entries kept zero), then means (normal prior), then covariances from
//! the new means (inverse-gamma prior for diag, with the denominator floored
//! at 1e-5; inverse-Wishart for full, no floor). `min_covar` plays no part
//! here: hmmlearn uses it only when initialising.
use std::ops::Range;

use super::emission::Emission;
use super::forward_backward::{e_step_sequence, Lattices};
use super::model::{CovarianceType, GaussianHmm, Params, Priors};
use crate::error::CoreResult;

/// The expected counts of one E-step over all sequences.
#[derive(Debug, Clone, PartialEq)]
pub struct Stats {
    /// Posterior of the first state of each sequence, summed: K.
    pub start: Vec<f64>,
    /// Expected transitions: K x K.
    pub trans: Vec<f64>,
    /// Posterior mass per state: K.
    pub post: Vec<f64>,
    /// Posterior-weighted sum of x: K x D.
    pub obs: Vec<f64>,
    /// Posterior-weighted x^2 (diag, K x D) or x x^T (full, K x D x D).
    pub obs2: Vec<f64>,
}

/// The convergence record of a fit (hmmlearn's `ConvergenceMonitor`).
#[derive(Debug, Clone, PartialEq)]
pub struct FitReport {
    /// The log-likelihood at the start of each iteration (before its M-step).
    pub history: Vec<f64>,
    /// Stopped because the gain fell below `tol` or `n_iter` was reached.
    pub converged: bool,
}

/// Scratch buffers for the E-step, sized once per fit.
struct Workspace {
    log_b: Vec<f64>,
    lat: Lattices,
}

/// One E-step: the statistics `params` needs, and the log-likelihood of the
/// sample under `model` (hmmlearn collects `post` and `obs` only for `m`,
/// the second moments only for `c`).
fn e_step(
    model: &GaussianHmm,
    x: &[f64],
    seqs: &[Range<usize>],
    params: Params,
    ws: &mut Workspace,
) -> CoreResult<(Stats, f64)> {
    let (k, d) = (model.n_components, model.n_features);
    let per = model.covars_per_state();
    let mut st = Stats {
        start: vec![0.0; k],
        trans: vec![0.0; k * k],
        post: vec![0.0; k],
        obs: vec![0.0; k * d],
        obs2: vec![0.0; k * per],
    };
    Emission::new(model)?.log_density(x, &mut ws.log_b);
    let mut total = 0.0;
    for r in seqs {
        let len = r.len() * k;
        let lb = &ws.log_b[r.start * k..r.end * k];
        let xi = if params.transmat { Some(&mut st.trans[..]) } else { None };
        total += e_step_sequence(&model.startprob, &model.transmat, lb, &mut ws.lat, xi);
        let gamma = &ws.lat.gamma[..len];
        if params.startprob {
            for (acc, g) in st.start.iter_mut().zip(&gamma[..k]) {
                *acc += g;
            }
        }
        let xs = &x[r.start * d..r.end * d];
        if params.means {
            for (g, row) in gamma.chunks_exact(k).zip(xs.chunks_exact(d)) {
                for ((&gs, post), obs) in g.iter().zip(&mut st.post).zip(st.obs.chunks_exact_mut(d)) {
                    *post += gs;
                    for (o, &v) in obs.iter_mut().zip(row) {
                        *o += gs * v;
                    }
                }
            }
        }
        if params.covars {
            for (g, row) in gamma.chunks_exact(k).zip(xs.chunks_exact(d)) {
                for (&gs, o) in g.iter().zip(st.obs2.chunks_exact_mut(per)) {
                    match model.covariance_type {
                        CovarianceType::Diag => {
                            for (o, &v) in o.iter_mut().zip(row) {
                                *o += gs * v * v;
                            }
                        }
                        CovarianceType::Full => {
                            for (o_row, &va) in o.chunks_exact_mut(d).zip(row) {
                                let ga = gs * va;
                                for (o, &vb) in o_row.iter_mut().zip(row) {
                                    *o += ga * vb;
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    Ok((st, total))
}

/// Divides `v` by its sum (hmmlearn's `normalize`, no axis).
fn normalize(v: &mut [f64]) {
    let s: f64 = v.iter().sum();
    for x in v.iter_mut() {
        *x /= s;
    }
}

/// hmmlearn's M-step, in place.
pub fn m_step(model: &mut GaussianHmm, st: &Stats, priors: &Priors, params: Params) {
    let (k, d) = (model.n_components, model.n_features);
    if params.startprob {
        for i in 0..k {
            let v = (priors.startprob[i] - 1.0 + st.start[i]).max(0.0);
            model.startprob[i] = if model.startprob[i] == 0.0 { 0.0 } else { v };
        }
        normalize(&mut model.startprob);
    }
    if params.transmat {
        for (i, row) in model.transmat.chunks_exact_mut(k).enumerate() {
            for (j, a) in row.iter_mut().enumerate() {
                let v = (priors.transmat[i * k + j] - 1.0 + st.trans[i * k + j]).max(0.0);
                *a = if *a == 0.0 { 0.0 } else { v };
            }
            // a row summing to 0 stays 0 (normalize(axis=1) divides by 1)
            let s: f64 = row.iter().sum();
            let s = if s == 0.0 { 1.0 } else { s };
            for v in row.iter_mut() {
                *v /= s;
            }
        }
    }
    let w = priors.means_weight;
    if params.means {
        for s in 0..k {
            for a in 0..d {
                let i = s * d + a;
                model.means[i] = (w * priors.means[i] + st.obs[i]) / (w + st.post[s]);
            }
        }
    }
    if params.covars {
        let mu = &model.means;
        match model.covariance_type {
            CovarianceType::Diag => {
                for s in 0..k {
                    let c_d = (priors.covars_weight - 1.0).max(0.0) + st.post[s];
                    for a in 0..d {
                        let i = s * d + a;
                        let md = mu[i] - priors.means[i];
                        let c_n = w * md * md + st.obs2[i] - 2.0 * mu[i] * st.obs[i] + mu[i] * mu[i] * st.post[s];
                        model.covars[i] = (priors.covars[i] + c_n) / c_d.max(1e-5);
                    }
                }
            }
            CovarianceType::Full => {
                let cv_weight = (priors.covars_weight - d as f64).max(0.0);
                for s in 0..k {
                    let m = &mu[s * d..(s + 1) * d];
                    let pm = &priors.means[s * d..(s + 1) * d];
                    let o = &st.obs[s * d..(s + 1) * d];
                    let denom = cv_weight + st.post[s];
                    for a in 0..d {
                        for b in 0..d {
                            let i = s * d * d + a * d + b;
                            let c_n = w * (m[a] - pm[a]) * (m[b] - pm[b]) + st.obs2[i] - o[a] * m[b] - o[b] * m[a]
                                + m[a] * m[b] * st.post[s];
                            model.covars[i] = (priors.covars[i] + c_n) / denom;
                        }
                    }
                }
            }
        }
    }
}

/// Fit options: hmmlearn's `params`, `n_iter` and `tol`.
#[derive(Debug, Clone, Copy)]
pub struct FitOptions {
    pub params: Params,
    pub n_iter: usize,
    pub tol: f64,
}

/// Runs EM from `model`'s current parameters: at most `n_iter` iterations of
/// E-step, M-step, record; stops when the log-likelihood gained less than
/// `tol` over the previous iteration (hmmlearn's loop and monitor).
///
/// # Errors
/// [`crate::error::CoreError::InvalidParameter`] if the priors do not fit the
/// model or a full covariance stops being positive definite.
pub fn fit(
    model: &mut GaussianHmm,
    priors: &Priors,
    x: &[f64],
    seqs: &[Range<usize>],
    opts: FitOptions,
) -> CoreResult<FitReport> {
    priors.check(model)?;
    let k = model.n_components;
    let n = x.len() / model.n_features;
    let longest = seqs.iter().map(Range::len).max().unwrap_or(0);
    let mut ws = Workspace { log_b: vec![0.0; n * k], lat: Lattices::new(longest, k) };
    let mut history: Vec<f64> = Vec::with_capacity(opts.n_iter);
    let mut converged = false;
    for it in 0..opts.n_iter {
        let (st, log_prob) = e_step(model, x, seqs, opts.params, &mut ws)?;
        m_step(model, &st, priors, opts.params);
        history.push(log_prob);
        let gain_small = history.len() >= 2 && history[history.len() - 1] - history[history.len() - 2] < opts.tol;
        if it + 1 == opts.n_iter || gain_small {
            converged = true;
            break;
        }
    }
    Ok(FitReport { history, converged })
}

#[cfg(test)]
mod tests {
    use super::super::forward_backward::score;
    use super::*;

    fn one(n: usize) -> Vec<Range<usize>> {
        std::iter::once(0..n).collect()
    }

    fn sample() -> Vec<f64> {
        // two well separated regimes, deterministic
        (0..200)
            .map(|i| if (i / 25) % 2 == 0 { 0.1 * f64::from(i % 7) } else { 5.0 + 0.1 * f64::from(i % 5) })
            .collect()
    }

    fn start() -> GaussianHmm {
        GaussianHmm::new_checked(
            CovarianceType::Diag,
            1,
            vec![0.5, 0.5],
            vec![0.5, 0.5, 0.5, 0.5],
            vec![1.0, 4.0],
            vec![4.0, 4.0],
        )
        .unwrap()
    }

    #[test]
    fn em_never_decreases_the_likelihood_and_finds_the_regimes() {
        let x = sample();
        let mut m = start();
        let priors = Priors::defaults(&m);
        let opts = FitOptions { params: Params::all(), n_iter: 30, tol: 0.0 };
        let rep = fit(&mut m, &priors, &x, &one(200), opts).unwrap();
        for w in rep.history.windows(2) {
            assert!(w[1] >= w[0] - 1e-9, "{:?}", rep.history);
        }
        assert!((m.means[0] - 0.3).abs() < 0.05 && (m.means[1] - 5.2).abs() < 0.05, "{:?}", m.means);
        // about one switch every 25 rows
        assert!((m.transmat[1] - 1.0 / 25.0).abs() < 0.01, "{:?}", m.transmat);
        let ll = score(&m, &x, &one(200), None).unwrap();
        assert!(ll >= *rep.history.last().unwrap() - 1e-9);
    }

    #[test]
    fn means_m_step_follows_the_normal_prior() {
        // with every posterior on one state, mean = (w mu0 + sum x) / (w + n)
        let mut m =
            GaussianHmm::new_checked(CovarianceType::Diag, 1, vec![1.0], vec![1.0], vec![0.0], vec![1.0]).unwrap();
        let st = Stats { start: vec![1.0], trans: vec![3.0], post: vec![4.0], obs: vec![10.0], obs2: vec![30.0] };
        let mut p = Priors::defaults(&m);
        p.means = vec![1.0];
        p.means_weight = 2.0;
        m_step(&mut m, &st, &p, Params::all());
        assert!((m.means[0] - 12.0 / 6.0).abs() < 1e-15);
        // (0.01 + 2 (2 - 1)^2 + 30 - 2 * 2 * 10 + 4 * 4) / max(0 + 4, 1e-5)
        assert!((m.covars[0] - (0.01 + 2.0 + 30.0 - 40.0 + 16.0) / 4.0).abs() < 1e-15);
    }

    #[test]
    fn stops_when_the_gain_is_below_tol() {
        let x = sample();
        let mut m = start();
        let priors = Priors::defaults(&m);
        let rep =
            fit(&mut m, &priors, &x, &one(200), FitOptions { params: Params::all(), n_iter: 500, tol: 1e-2 }).unwrap();
        assert!(rep.converged && rep.history.len() < 500);
        let n = rep.history.len();
        assert!(rep.history[n - 1] - rep.history[n - 2] < 1e-2);
    }
}
