//! Log-space forward and backward passes, smoothed posteriors, the score.
//!
//! The lattices hold logarithms, as hmmlearn's `implementation="log"`, but
//! each step shifts by the previous row's maximum and sums in linear space:
//! `fwd[t, j] = m + ln(sum_i exp(fwd[t-1, i] - m) A[i, j]) + ln b[t, j]`.
//! That is the same log-sum-exp, with 2K transcendental calls per row
//! instead of K^2, and no underflow (the largest term is exp(0) = 1).
use super::emission::Emission;
use super::model::GaussianHmm;
use crate::error::CoreResult;

/// `ln(sum exp(v))`, hmmlearn's convention: an infinite maximum is returned as is.
pub fn logsumexp(v: &[f64]) -> f64 {
    let m = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if m.is_infinite() {
        return m;
    }
    m + v.iter().map(|&x| (x - m).exp()).sum::<f64>().ln()
}

/// `exp(v - max v)` into `out`; returns the maximum.
fn shifted_exp(v: &[f64], out: &mut [f64]) -> f64 {
    let m = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    for (o, &x) in out.iter_mut().zip(v) {
        *o = if m == f64::NEG_INFINITY { 0.0 } else { (x - m).exp() };
    }
    m
}

/// The forward lattice of one sequence (T x K) from its log-densities;
/// returns the sequence's log-likelihood.
pub fn forward(startprob: &[f64], transmat: &[f64], log_b: &[f64], fwd: &mut [f64]) -> f64 {
    let k = startprob.len();
    let mut a = vec![0.0; k];
    for i in 0..k {
        fwd[i] = startprob[i].ln() + log_b[i];
    }
    let t_len = log_b.len() / k;
    for t in 1..t_len {
        let (prev, cur) = fwd[(t - 1) * k..(t + 1) * k].split_at_mut(k);
        let m = shifted_exp(prev, &mut a);
        let lb = &log_b[t * k..(t + 1) * k];
        for j in 0..k {
            if m == f64::NEG_INFINITY {
                cur[j] = f64::NEG_INFINITY;
                continue;
            }
            let mut s = 0.0;
            for i in 0..k {
                s += a[i] * transmat[i * k + j];
            }
            cur[j] = m + s.ln() + lb[j];
        }
    }
    logsumexp(&fwd[(t_len - 1) * k..t_len * k])
}

/// The backward lattice of one sequence (T x K).
pub fn backward(transmat: &[f64], log_b: &[f64], bwd: &mut [f64], k: usize) {
    let t_len = log_b.len() / k;
    let (mut v, mut w) = (vec![0.0; k], vec![0.0; k]);
    bwd[(t_len - 1) * k..].fill(0.0);
    for t in (0..t_len.saturating_sub(1)).rev() {
        for j in 0..k {
            v[j] = log_b[(t + 1) * k + j] + bwd[(t + 1) * k + j];
        }
        let m = shifted_exp(&v, &mut w);
        for i in 0..k {
            bwd[t * k + i] = if m == f64::NEG_INFINITY {
                f64::NEG_INFINITY
            } else {
                let s: f64 = (0..k).map(|j| transmat[i * k + j] * w[j]).sum();
                m + s.ln()
            };
        }
    }
}

/// Smoothed posteriors `P(z_t = k | x)`: each row of `fwd + bwd` normalised
/// (scipy's `logsumexp`: a non-finite maximum shifts by 0).
pub fn posteriors(fwd: &[f64], bwd: &[f64], out: &mut [f64], k: usize) {
    if k == 1 {
        out.fill(1.0);
        return;
    }
    for ((f, b), o) in fwd.chunks_exact(k).zip(bwd.chunks_exact(k)).zip(out.chunks_exact_mut(k)) {
        let mut m = f64::NEG_INFINITY;
        for i in 0..k {
            o[i] = f[i] + b[i];
            m = m.max(o[i]);
        }
        let shift = if m.is_finite() { m } else { 0.0 };
        let lse = o.iter().map(|&g| (g - shift).exp()).sum::<f64>().ln() + shift;
        for g in o.iter_mut() {
            *g = (*g - lse).exp();
        }
    }
}

/// Sum over t of the expected transitions `xi[t, i, j]`, added to `acc`
/// (K x K), for one sequence with log-likelihood `log_prob`.
pub fn add_xi_sum(transmat: &[f64], fwd: &[f64], bwd: &[f64], log_b: &[f64], log_prob: f64, acc: &mut [f64], k: usize) {
    let t_len = log_b.len() / k;
    let (mut fa, mut v, mut w) = (vec![0.0; k], vec![0.0; k], vec![0.0; k]);
    for t in 0..t_len.saturating_sub(1) {
        let mf = shifted_exp(&fwd[t * k..(t + 1) * k], &mut fa);
        for j in 0..k {
            v[j] = log_b[(t + 1) * k + j] + bwd[(t + 1) * k + j];
        }
        let mv = shifted_exp(&v, &mut w);
        if mf == f64::NEG_INFINITY || mv == f64::NEG_INFINITY {
            continue;
        }
        let scale = (mf + mv - log_prob).exp();
        if scale.is_finite() {
            for i in 0..k {
                let fi = fa[i] * scale;
                for j in 0..k {
                    acc[i * k + j] += fi * transmat[i * k + j] * w[j];
                }
            }
        } else {
            // the largest terms cannot meet (a transition near 0 between
            // them): sum term by term, as hmmlearn does
            for i in 0..k {
                for j in 0..k {
                    let l = fwd[t * k + i] + transmat[i * k + j].ln() + v[j] - log_prob;
                    acc[i * k + j] += l.exp();
                }
            }
        }
    }
}

/// Buffers of the fused E-step pass over one sequence, T x K each (`mf`,
/// `mv`: T), sized for the longest sequence.
#[derive(Debug, Clone, Default)]
pub struct Lattices {
    pub fwd: Vec<f64>,
    pub bwd: Vec<f64>,
    /// `exp(fwd[t] - mf[t])`, and `mf[t] = max fwd[t]`.
    pub fa: Vec<f64>,
    pub mf: Vec<f64>,
    /// `exp(log_b[t] + bwd[t] - mv[t])`, and `mv[t]` its shift.
    pub w: Vec<f64>,
    pub mv: Vec<f64>,
    pub gamma: Vec<f64>,
}

impl Lattices {
    /// Buffers for sequences of up to `t_max` rows and `k` states.
    pub fn new(t_max: usize, k: usize) -> Self {
        let tk = vec![0.0; t_max * k];
        Self {
            fwd: tk.clone(),
            bwd: tk.clone(),
            fa: tk.clone(),
            mf: vec![0.0; t_max],
            w: tk.clone(),
            mv: vec![0.0; t_max],
            gamma: tk,
        }
    }
}

/// The E-step of one sequence in one fused pass: forward, backward, the
/// expected transitions (added to `xi_acc`, K x K) and the posteriors (in
/// `lat.gamma`). The shifted exponentials of each pass are kept and reused,
/// and a posterior row is the row sum of that step's expected transitions,
/// so a row costs about 4K exponentials and logarithms instead of 8K.
/// Returns the sequence's log-likelihood.
pub fn e_step_sequence(
    startprob: &[f64],
    transmat: &[f64],
    log_b: &[f64],
    lat: &mut Lattices,
    xi_acc: Option<&mut [f64]>,
) -> f64 {
    let k = startprob.len();
    let t_len = log_b.len() / k;
    let tk = t_len * k;
    let log_prob = forward(startprob, transmat, log_b, &mut lat.fwd[..tk]);
    for t in 0..t_len {
        lat.mf[t] = shifted_exp(&lat.fwd[t * k..(t + 1) * k], &mut lat.fa[t * k..(t + 1) * k]);
    }
    backward(transmat, log_b, &mut lat.bwd[..tk], k);
    let mut v = vec![0.0; k];
    for t in 1..t_len {
        for j in 0..k {
            v[j] = log_b[t * k + j] + lat.bwd[t * k + j];
        }
        lat.mv[t] = shifted_exp(&v, &mut lat.w[t * k..(t + 1) * k]);
    }
    let mut xi = vec![0.0; k * k];
    let mut acc = xi_acc;
    for t in 0..t_len.saturating_sub(1) {
        let (mf, mv) = (lat.mf[t], lat.mv[t + 1]);
        let g = &mut lat.gamma[t * k..(t + 1) * k];
        if mf == f64::NEG_INFINITY || mv == f64::NEG_INFINITY {
            g.fill(f64::NAN);
            continue;
        }
        let scale = (mf + mv - log_prob).exp();
        let fa = &lat.fa[t * k..(t + 1) * k];
        let w = &lat.w[(t + 1) * k..(t + 2) * k];
        for i in 0..k {
            for j in 0..k {
                xi[i * k + j] = if scale.is_finite() {
                    fa[i] * scale * transmat[i * k + j] * w[j]
                } else {
                    (lat.fwd[t * k + i] + transmat[i * k + j].ln() + log_b[(t + 1) * k + j] + lat.bwd[(t + 1) * k + j]
                        - log_prob)
                        .exp()
                };
            }
        }
        // normalised, as hmmlearn normalises each posterior row
        let mut total = 0.0;
        for i in 0..k {
            g[i] = xi[i * k..(i + 1) * k].iter().sum();
            total += g[i];
        }
        for gi in g.iter_mut() {
            *gi /= total;
        }
        if let Some(acc) = acc.as_deref_mut() {
            for (a, x) in acc.iter_mut().zip(&xi) {
                *a += x;
            }
        }
    }
    // the last row: bwd = 0, so gamma = normalised exp(fwd)
    let last = t_len - 1;
    let total: f64 = lat.fa[last * k..t_len * k].iter().sum();
    for i in 0..k {
        lat.gamma[last * k + i] = lat.fa[last * k + i] / total;
    }
    log_prob
}

/// Log-likelihood of the sample `x` (T x D) under `model`, the sequences
/// scored independently and summed; with `out`, also the smoothed
/// posteriors (T x K).
///
/// # Errors
/// The model's emission errors (a full covariance not positive definite).
pub fn score(
    model: &GaussianHmm,
    x: &[f64],
    seqs: &[std::ops::Range<usize>],
    mut out: Option<&mut [f64]>,
) -> CoreResult<f64> {
    let (k, d) = (model.n_components, model.n_features);
    let emission = Emission::new(model)?;
    let n = x.len() / d;
    let mut log_b = vec![0.0; n * k];
    emission.log_density(x, &mut log_b);
    let longest = seqs.iter().map(std::ops::Range::len).max().unwrap_or(0);
    let mut fwd = vec![0.0; longest * k];
    let mut bwd = vec![0.0; if out.is_some() { longest * k } else { 0 }];
    let mut total = 0.0;
    for r in seqs {
        let lb = &log_b[r.start * k..r.end * k];
        let len = r.len() * k;
        total += forward(&model.startprob, &model.transmat, lb, &mut fwd[..len]);
        if let Some(post) = out.as_deref_mut() {
            backward(&model.transmat, lb, &mut bwd[..len], k);
            posteriors(&fwd[..len], &bwd[..len], &mut post[r.start * k..r.end * k], k);
        }
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Brute force over every state path of a 3-step, 2-state chain.
    #[test]
    fn forward_equals_the_sum_over_all_paths() {
        let start = [0.6, 0.4];
        let a = [0.7, 0.3, 0.2, 0.8];
        let b = [0.5f64, 0.1, 0.2, 0.6, 0.3, 0.3]; // b[t][k]
        let log_b: Vec<f64> = b.iter().map(|p| p.ln()).collect();
        let mut total = 0.0;
        for p in 0..8usize {
            let s = [p & 1, (p >> 1) & 1, (p >> 2) & 1];
            total += start[s[0]] * b[s[0]] * a[s[0] * 2 + s[1]] * b[2 + s[1]] * a[s[1] * 2 + s[2]] * b[4 + s[2]];
        }
        let mut fwd = vec![0.0; 6];
        let lp = forward(&start, &a, &log_b, &mut fwd);
        assert!((lp - total.ln()).abs() < 1e-12);
        // posterior of state 1 at t=1 by brute force
        let mut p1 = 0.0;
        for p in 0..8usize {
            let s = [p & 1, (p >> 1) & 1, (p >> 2) & 1];
            if s[1] == 1 {
                p1 += start[s[0]] * b[s[0]] * a[s[0] * 2 + s[1]] * b[2 + s[1]] * a[s[1] * 2 + s[2]] * b[4 + s[2]];
            }
        }
        let mut bwd = vec![0.0; 6];
        backward(&a, &log_b, &mut bwd, 2);
        let mut post = vec![0.0; 6];
        posteriors(&fwd, &bwd, &mut post, 2);
        assert!((post[3] - p1 / total).abs() < 1e-12);
        // expected transitions sum to T - 1
        let mut xi = vec![0.0; 4];
        add_xi_sum(&a, &fwd, &bwd, &log_b, lp, &mut xi, 2);
        assert!((xi.iter().sum::<f64>() - 2.0).abs() < 1e-12);
    }

    #[test]
    fn the_fused_e_step_equals_the_separate_passes() {
        let start = [0.2, 0.5, 0.3];
        let a = [0.8, 0.15, 0.05, 0.1, 0.7, 0.2, 0.3, 0.3, 0.4];
        let log_b: Vec<f64> =
            (0..30).map(|i| -0.5 * f64::from((i * 7) % 11) - 300.0 * f64::from(i % 13 == 0)).collect();
        let (mut fwd, mut bwd, mut post) = (vec![0.0; 30], vec![0.0; 30], vec![0.0; 30]);
        let lp = forward(&start, &a, &log_b, &mut fwd);
        backward(&a, &log_b, &mut bwd, 3);
        posteriors(&fwd, &bwd, &mut post, 3);
        let mut xi = vec![0.0; 9];
        add_xi_sum(&a, &fwd, &bwd, &log_b, lp, &mut xi, 3);
        let mut lat = Lattices::new(10, 3);
        let mut xi2 = vec![0.0; 9];
        let lp2 = e_step_sequence(&start, &a, &log_b, &mut lat, Some(&mut xi2));
        assert!((lp - lp2).abs() < 1e-12);
        for (p, q) in post.iter().zip(&lat.gamma) {
            assert!((p - q).abs() < 1e-13, "{post:?} {:?}", lat.gamma);
        }
        for (p, q) in xi.iter().zip(&xi2) {
            assert!((p - q).abs() < 1e-12);
        }
    }

    #[test]
    fn a_forbidden_transition_stays_impossible() {
        // state 1 is absorbing and never reachable from the start
        let log_b = [0.0f64; 6];
        let mut fwd = vec![0.0; 6];
        forward(&[1.0, 0.0], &[1.0, 0.0, 0.0, 1.0], &log_b, &mut fwd);
        assert_eq!(fwd[5], f64::NEG_INFINITY);
        assert!((fwd[4]).abs() < 1e-15);
    }
}
