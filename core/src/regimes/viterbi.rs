//! The most likely state path (Viterbi), with hmmlearn's tie rules: the
//! last state is the first maximum of the last row, and while tracing back
//! the last of equal predecessors wins.
use std::ops::Range;

use super::emission::Emission;
use super::model::GaussianHmm;
use crate::error::CoreResult;

/// The Viterbi path of one sequence from its log-densities (T x K) into
/// `path`; returns the path's log-probability.
pub fn viterbi(startprob: &[f64], transmat: &[f64], log_b: &[f64], path: &mut [usize]) -> f64 {
    let k = startprob.len();
    let t_len = log_b.len() / k;
    let log_a: Vec<f64> = transmat.iter().map(|p| p.ln()).collect();
    let mut lattice = vec![0.0; t_len * k];
    for i in 0..k {
        lattice[i] = startprob[i].ln() + log_b[i];
    }
    for t in 1..t_len {
        for i in 0..k {
            let mut best = f64::NEG_INFINITY;
            for j in 0..k {
                best = best.max(lattice[(t - 1) * k + j] + log_a[j * k + i]);
            }
            lattice[t * k + i] = best + log_b[t * k + i];
        }
    }
    let last = &lattice[(t_len - 1) * k..];
    let mut prev = 0;
    for i in 1..k {
        if last[i] > last[prev] {
            prev = i;
        }
    }
    path[t_len - 1] = prev;
    for t in (0..t_len - 1).rev() {
        // std::max over (value, index) pairs: ties go to the larger index
        let (mut best_v, mut best_i) = (f64::NEG_INFINITY, 0);
        for i in 0..k {
            let v = lattice[t * k + i] + log_a[i * k + prev];
            if v > best_v || (v == best_v && i > best_i) {
                (best_v, best_i) = (v, i);
            }
        }
        path[t] = best_i;
        prev = best_i;
    }
    last[path[t_len - 1]]
}

/// The Viterbi path of every sequence of `x` (T x D); returns the summed
/// log-probability and the path.
///
/// # Errors
/// The model's emission errors.
pub fn decode(model: &GaussianHmm, x: &[f64], seqs: &[Range<usize>]) -> CoreResult<(f64, Vec<usize>)> {
    let k = model.n_components;
    let emission = Emission::new(model)?;
    let n = x.len() / model.n_features;
    let mut log_b = vec![0.0; n * k];
    emission.log_density(x, &mut log_b);
    let mut path = vec![0; n];
    let mut total = 0.0;
    for r in seqs {
        total += viterbi(&model.startprob, &model.transmat, &log_b[r.start * k..r.end * k], &mut path[r.clone()]);
    }
    Ok((total, path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn viterbi_equals_the_best_of_all_paths() {
        let start = [0.6, 0.4];
        let a = [0.7, 0.3, 0.2, 0.8];
        let b = [0.5f64, 0.1, 0.2, 0.6, 0.3, 0.3, 0.9, 0.05];
        let log_b: Vec<f64> = b.iter().map(|p| p.ln()).collect();
        let (mut best, mut best_path) = (0.0, [0usize; 4]);
        for p in 0..16usize {
            let s = [p & 1, (p >> 1) & 1, (p >> 2) & 1, (p >> 3) & 1];
            let mut prob = start[s[0]] * b[s[0]];
            for t in 1..4 {
                prob *= a[s[t - 1] * 2 + s[t]] * b[t * 2 + s[t]];
            }
            if prob > best {
                (best, best_path) = (prob, s);
            }
        }
        let mut path = [0usize; 4];
        let lp = viterbi(&start, &a, &log_b, &mut path);
        assert_eq!(path, best_path);
        assert!((lp - best.ln()).abs() < 1e-12);
    }
}
