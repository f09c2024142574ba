//! hmmlearn's initialisation (`init_params`), deterministic from a seed.
//!
//! What hmmlearn 0.3.3 does, and what is done here:
//! * `s`: `startprob ~ Dirichlet(1/K, ..., 1/K)`; `t`: each `transmat` row
//!   drawn from the same Dirichlet. Same distributions; the draws come from
//!   a xoshiro256** generator seeded with `seed`, not numpy's MT19937, so a
//!   given `random_state` gives other numbers than hmmlearn's.
//! * `m`: the cluster centres of k-means (scikit-learn's `KMeans(n_init=10)`:
//!   k-means++ seeding with `2 + floor(ln K)` local trials, Lloyd iterations
//!   up to 300, stopping when the labels repeat or the centres move less
//!   than `1e-4` times the mean feature variance, an empty cluster moved to
//!   the point farthest from its centre, the best of ten runs by inertia).
//!   Same algorithm, other random draws; on data with a clear clustering
//!   both find the same centres. scikit-learn centres X before clustering;
//!   this does not (a difference in the last bits only).
//! * `c`: every state gets `cov(X) + min_covar I` (the sample covariance,
//!   n - 1 in the denominator), its diagonal for "diag". Identical.
use super::model::{CovarianceType, Params};
use crate::error::{CoreError, CoreResult};

/// scikit-learn's `KMeans` defaults that hmmlearn relies on.
const KMEANS_N_INIT: usize = 10;
const KMEANS_MAX_ITER: usize = 300;
const KMEANS_TOL: f64 = 1e-4;

/// A small, fast, seedable generator (xoshiro256**, seeded by splitmix64).
#[derive(Debug, Clone)]
pub struct Rng([u64; 4]);

impl Rng {
    /// A generator from a 64-bit seed.
    pub fn new(seed: u64) -> Self {
        let mut z = seed;
        let mut next = || {
            z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut x = z;
            x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            x ^ (x >> 31)
        };
        Self([next(), next(), next(), next()])
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.0;
        let out = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        out
    }

    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform integer in [0, n).
    pub fn below(&mut self, n: usize) -> usize {
        ((self.uniform() * n as f64) as usize).min(n - 1)
    }

    /// Standard normal (Box-Muller).
    pub fn normal(&mut self) -> f64 {
        let u = 1.0 - self.uniform(); // (0, 1]
        let v = self.uniform();
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }

    /// `ln` of a Gamma(alpha, 1) draw (Marsaglia-Tsang; for alpha < 1 the
    /// boost `G(alpha + 1) U^(1/alpha)`, kept in logs so it cannot underflow).
    pub fn log_gamma_draw(&mut self, alpha: f64) -> f64 {
        if alpha < 1.0 {
            let u = 1.0 - self.uniform();
            return self.log_gamma_draw(alpha + 1.0) + u.ln() / alpha;
        }
        let d = alpha - 1.0 / 3.0;
        let c = 1.0 / (9.0 * d).sqrt();
        loop {
            let x = self.normal();
            let v = (1.0 + c * x).powi(3);
            if v <= 0.0 {
                continue;
            }
            let u = 1.0 - self.uniform();
            if u.ln() < 0.5 * x * x + d * (1.0 - v + v.ln()) {
                return (d * v).ln();
            }
        }
    }

    /// A draw from the symmetric Dirichlet(alpha) over `k` categories.
    pub fn dirichlet(&mut self, alpha: f64, k: usize) -> Vec<f64> {
        let logs: Vec<f64> = (0..k).map(|_| self.log_gamma_draw(alpha)).collect();
        let m = logs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let mut out: Vec<f64> = logs.iter().map(|l| (l - m).exp()).collect();
        let s: f64 = out.iter().sum();
        for v in &mut out {
            *v /= s;
        }
        out
    }
}

fn sq_dist(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// k-means++ seeding (scikit-learn's greedy variant).
fn kmeans_plus_plus(x: &[f64], d: usize, k: usize, rng: &mut Rng) -> Vec<f64> {
    let n = x.len() / d;
    let trials = 2 + (k as f64).ln() as usize;
    let mut centers = Vec::with_capacity(k * d);
    let first = rng.below(n);
    centers.extend_from_slice(&x[first * d..(first + 1) * d]);
    let mut closest: Vec<f64> = x.chunks_exact(d).map(|p| sq_dist(p, &centers[..d])).collect();
    let mut pot: f64 = closest.iter().sum();
    let mut candidate = vec![0.0; n];
    let mut best_d = vec![0.0; n];
    for _ in 1..k {
        let (mut best_pot, mut best_id) = (f64::INFINITY, 0);
        for _ in 0..trials {
            // np.searchsorted(cumsum, r): the first index whose cumsum >= r
            let r = rng.uniform() * pot;
            let mut acc = 0.0;
            let mut id = n - 1;
            for (i, &c) in closest.iter().enumerate() {
                acc += c;
                if acc >= r {
                    id = i;
                    break;
                }
            }
            let c = &x[id * d..(id + 1) * d];
            let mut p = 0.0;
            for (i, row) in x.chunks_exact(d).enumerate() {
                candidate[i] = closest[i].min(sq_dist(row, c));
                p += candidate[i];
            }
            if p < best_pot {
                best_pot = p;
                best_id = id;
                best_d.copy_from_slice(&candidate);
            }
        }
        centers.extend_from_slice(&x[best_id * d..(best_id + 1) * d]);
        closest.copy_from_slice(&best_d);
        pot = best_pot;
    }
    centers
}

/// Nearest centre of each row (the first on ties); returns the inertia.
fn assign(x: &[f64], d: usize, centers: &[f64], labels: &mut [usize], dist: &mut [f64]) -> f64 {
    let mut inertia = 0.0;
    for (i, row) in x.chunks_exact(d).enumerate() {
        let (mut best, mut bd) = (0, f64::INFINITY);
        for (c, center) in centers.chunks_exact(d).enumerate() {
            let dd = sq_dist(row, center);
            if dd < bd {
                (best, bd) = (c, dd);
            }
        }
        labels[i] = best;
        dist[i] = bd;
        inertia += bd;
    }
    inertia
}

/// One k-means run from k-means++ seeds; returns (inertia, centres).
fn lloyd(x: &[f64], d: usize, k: usize, tol: f64, rng: &mut Rng) -> (f64, Vec<f64>) {
    let n = x.len() / d;
    let mut centers = kmeans_plus_plus(x, d, k, rng);
    let mut labels = vec![usize::MAX; n];
    let mut old = vec![usize::MAX; n];
    let mut dist = vec![0.0; n];
    for _ in 0..KMEANS_MAX_ITER {
        assign(x, d, &centers, &mut labels, &mut dist);
        let mut sums = vec![0.0; k * d];
        let mut counts = vec![0usize; k];
        for (i, row) in x.chunks_exact(d).enumerate() {
            counts[labels[i]] += 1;
            for a in 0..d {
                sums[labels[i] * d + a] += row[a];
            }
        }
        // empty clusters take the points farthest from their centres
        let mut far: Vec<usize> = (0..n).collect();
        far.sort_by(|&a, &b| dist[b].total_cmp(&dist[a]));
        let mut next_far = far.into_iter();
        for c in 0..k {
            if counts[c] > 0 {
                continue;
            }
            let Some(p) = next_far.by_ref().find(|&p| counts[labels[p]] > 1) else { break };
            let from = labels[p];
            counts[from] -= 1;
            for a in 0..d {
                sums[from * d + a] -= x[p * d + a];
                sums[c * d + a] = x[p * d + a];
            }
            counts[c] = 1;
            labels[p] = c;
        }
        let mut shift = 0.0;
        for c in 0..k {
            for a in 0..d {
                let v = sums[c * d + a] / counts[c].max(1) as f64;
                shift += (v - centers[c * d + a]).powi(2);
                centers[c * d + a] = v;
            }
        }
        if labels == old {
            break;
        }
        if shift <= tol {
            break;
        }
        old.copy_from_slice(&labels);
    }
    let inertia = assign(x, d, &centers, &mut labels, &mut dist);
    (inertia, centers)
}

/// The centres of k-means on `x` (n x d), the best of ten k-means++ starts.
///
/// # Errors
/// [`CoreError::InvalidInput`] if there are fewer rows than clusters.
pub fn kmeans(x: &[f64], d: usize, k: usize, rng: &mut Rng) -> CoreResult<Vec<f64>> {
    let n = x.len() / d;
    if n < k {
        return Err(CoreError::InvalidInput(format!(
            "n_samples={n} should be >= n_components={k} to initialise the means"
        )));
    }
    let mean_var = {
        let mut total = 0.0;
        for a in 0..d {
            let mu = x.chunks_exact(d).map(|r| r[a]).sum::<f64>() / n as f64;
            total += x.chunks_exact(d).map(|r| (r[a] - mu).powi(2)).sum::<f64>() / n as f64;
        }
        total / d as f64
    };
    let tol = KMEANS_TOL * mean_var;
    let mut best: Option<(f64, Vec<f64>)> = None;
    for _ in 0..KMEANS_N_INIT {
        let (inertia, centers) = lloyd(x, d, k, tol, rng);
        if best.as_ref().is_none_or(|(b, _)| inertia < *b) {
            best = Some((inertia, centers));
        }
    }
    Ok(best.map(|(_, c)| c).unwrap_or_default())
}

/// The sample covariance of `x` (n x d), `n - 1` in the denominator (`np.cov(X.T)`).
///
/// # Errors
/// [`CoreError::InvalidInput`] with fewer than two rows.
pub fn covariance(x: &[f64], d: usize) -> CoreResult<Vec<f64>> {
    let n = x.len() / d;
    if n < 2 {
        return Err(CoreError::InvalidInput("at least 2 samples are needed to initialise covars".into()));
    }
    let mean: Vec<f64> = (0..d).map(|a| x.chunks_exact(d).map(|r| r[a]).sum::<f64>() / n as f64).collect();
    let mut cov = vec![0.0; d * d];
    for row in x.chunks_exact(d) {
        for a in 0..d {
            for b in 0..d {
                cov[a * d + b] += (row[a] - mean[a]) * (row[b] - mean[b]);
            }
        }
    }
    for v in &mut cov {
        *v /= (n - 1) as f64;
    }
    Ok(cov)
}

/// The initial parameters `which` asks for (None for the others).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Initial {
    pub startprob: Option<Vec<f64>>,
    pub transmat: Option<Vec<f64>>,
    pub means: Option<Vec<f64>>,
    pub covars: Option<Vec<f64>>,
}

/// hmmlearn's `_init` for the parameters in `which`, from `seed`.
///
/// # Errors
/// [`CoreError::InvalidParameter`] for `k < 1` or a negative `min_covar`;
/// [`CoreError::InvalidInput`] if `x` is too short for the means or covars.
pub fn initialise(
    x: &[f64],
    d: usize,
    k: usize,
    covariance_type: CovarianceType,
    min_covar: f64,
    which: Params,
    seed: u64,
) -> CoreResult<Initial> {
    if k < 1 {
        return Err(CoreError::param("n_components", format!("must be >= 1, got {k}")));
    }
    if !(min_covar >= 0.0 && min_covar.is_finite()) {
        return Err(CoreError::param("min_covar", format!("must be >= 0, got {min_covar}")));
    }
    let alpha = 1.0 / k as f64;
    // hmmlearn draws startprob then transmat from one generator, and gives
    // k-means a fresh one from the same seed
    let mut rng = Rng::new(seed);
    let mut out = Initial::default();
    if which.startprob {
        out.startprob = Some(rng.dirichlet(alpha, k));
    }
    if which.transmat {
        out.transmat = Some((0..k).flat_map(|_| rng.dirichlet(alpha, k)).collect());
    }
    if which.means {
        out.means = Some(kmeans(x, d, k, &mut Rng::new(seed))?);
    }
    if which.covars {
        let mut cv = covariance(x, d)?;
        for a in 0..d {
            cv[a * d + a] += min_covar;
        }
        let per_state = match covariance_type {
            CovarianceType::Diag => (0..d).map(|a| cv[a * d + a]).collect(),
            CovarianceType::Full => cv,
        };
        out.covars = Some(per_state.iter().copied().cycle().take(k * per_state.len()).collect());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dirichlet_draws_sum_to_one_and_have_the_right_mean() {
        let mut rng = Rng::new(7);
        let mut mean = [0.0; 3];
        for _ in 0..20_000 {
            let p = rng.dirichlet(1.0 / 3.0, 3);
            assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-12);
            for i in 0..3 {
                mean[i] += p[i] / 20_000.0;
            }
        }
        for m in mean {
            assert!((m - 1.0 / 3.0).abs() < 0.01, "{mean:?}");
        }
    }

    #[test]
    fn gamma_draws_have_mean_alpha() {
        let mut rng = Rng::new(1);
        for alpha in [0.5, 2.5] {
            let m: f64 = (0..50_000).map(|_| rng.log_gamma_draw(alpha).exp()).sum::<f64>() / 50_000.0;
            assert!((m - alpha).abs() < 0.03 * alpha, "alpha {alpha}: mean {m}");
        }
    }

    #[test]
    fn kmeans_finds_three_separated_clusters() {
        // hand-made clusters around (0, 0), (10, 0), (0, 10)
        let mut x = Vec::new();
        for c in [(0.0, 0.0), (10.0, 0.0), (0.0, 10.0)] {
            for i in 0..30 {
                let e = f64::from(i % 5) * 0.1 - 0.2;
                let f = f64::from(i / 5) * 0.1 - 0.25;
                x.extend_from_slice(&[c.0 + e, c.1 + f]);
            }
        }
        let mut centers: Vec<(f64, f64)> =
            kmeans(&x, 2, 3, &mut Rng::new(0)).unwrap().chunks_exact(2).map(|c| (c[0], c[1])).collect();
        centers.sort_by(|a, b| (a.0 + 2.0 * a.1).total_cmp(&(b.0 + 2.0 * b.1)));
        let want = [(0.0, 0.0), (10.0, 0.0), (0.0, 10.0)];
        for (c, w) in centers.iter().zip(want) {
            assert!((c.0 - w.0).abs() < 1e-12 && (c.1 - w.1).abs() < 1e-12, "{centers:?}");
        }
    }

    #[test]
    fn covars_start_from_the_sample_covariance_plus_min_covar() {
        let x = [1.0, 2.0, 3.0, 6.0, 5.0, 7.0];
        let init = initialise(&x, 2, 2, CovarianceType::Full, 0.5, Params::parse("c"), 0).unwrap();
        // var(1, 3, 5) = 4, var(2, 6, 7) = 7, cov = ((-2)(-3) + 0 + 2 * 2) / 2 = 5
        assert_eq!(init.covars.unwrap(), vec![4.5, 5.0, 5.0, 7.5, 4.5, 5.0, 5.0, 7.5]);
        assert!(init.means.is_none() && init.startprob.is_none());
        let diag = initialise(&x, 2, 2, CovarianceType::Diag, 0.5, Params::parse("c"), 0).unwrap();
        assert_eq!(diag.covars.unwrap(), vec![4.5, 7.5, 4.5, 7.5]);
    }

    #[test]
    fn the_same_seed_gives_the_same_start() {
        let x: Vec<f64> = (0..50).map(|i| f64::from(i % 9)).collect();
        let a = initialise(&x, 1, 3, CovarianceType::Diag, 1e-3, Params::all(), 42).unwrap();
        let b = initialise(&x, 1, 3, CovarianceType::Diag, 1e-3, Params::all(), 42).unwrap();
        assert_eq!(a, b);
    }
}
