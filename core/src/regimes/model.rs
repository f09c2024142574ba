//! The parameters of a Gaussian hidden Markov model, its priors, and the
//! checks hmmlearn makes before it uses them.
//!
//! Layouts are row-major and flat: `transmat` is K x K, `means` K x D,
//! `covars` K x D (diagonal) or K x D x D (full). K states, D features.
use std::ops::Range;

use crate::error::{CoreError, CoreResult};

/// How each state's covariance is parameterised (hmmlearn's names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CovarianceType {
    /// One variance per feature: `covars` is K x D.
    Diag,
    /// An unrestricted symmetric positive-definite matrix: K x D x D.
    Full,
}

impl CovarianceType {
    /// Parses hmmlearn's name.
    ///
    /// # Errors
    /// [`CoreError::InvalidParameter`] for any other name ("spherical" and
    /// "tied" are hmmlearn's but not supported here).
    pub fn parse(name: &str) -> CoreResult<Self> {
        match name {
            "diag" => Ok(Self::Diag),
            "full" => Ok(Self::Full),
            other => Err(CoreError::param("covariance_type", format!("must be one of 'diag', 'full', got '{other}'"))),
        }
    }

    /// hmmlearn's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Diag => "diag",
            Self::Full => "full",
        }
    }

    /// Number of covariance values per state for `d` features.
    pub fn len_per_state(self, d: usize) -> usize {
        match self {
            Self::Diag => d,
            Self::Full => d * d,
        }
    }
}

/// Which parameters a step touches: hmmlearn's `params` / `init_params`
/// letters `s` (startprob), `t` (transmat), `m` (means), `c` (covars).
/// Other letters are ignored, as hmmlearn does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[allow(clippy::struct_excessive_bools)]
pub struct Params {
    pub startprob: bool,
    pub transmat: bool,
    pub means: bool,
    pub covars: bool,
}

impl Params {
    /// Reads the letters of an hmmlearn `params` string.
    pub fn parse(letters: &str) -> Self {
        Self {
            startprob: letters.contains('s'),
            transmat: letters.contains('t'),
            means: letters.contains('m'),
            covars: letters.contains('c'),
        }
    }

    /// All four.
    pub fn all() -> Self {
        Self::parse("stmc")
    }
}

/// A Gaussian HMM's parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct GaussianHmm {
    pub n_components: usize,
    pub n_features: usize,
    pub covariance_type: CovarianceType,
    pub startprob: Vec<f64>,
    pub transmat: Vec<f64>,
    pub means: Vec<f64>,
    pub covars: Vec<f64>,
}

/// numpy's `allclose(s, 1)`: |s - 1| <= atol + rtol * 1.
fn sums_to_one(s: f64) -> bool {
    (s - 1.0).abs() <= 1e-8 + 1e-5
}

impl GaussianHmm {
    /// Builds a model from flat parameter vectors, with hmmlearn's `_check`:
    /// shapes, and `startprob` and each row of `transmat` summing to 1.
    /// Covariances are checked where they are used (a full matrix that is
    /// not positive definite fails in the emission density, as in hmmlearn).
    ///
    /// # Errors
    /// [`CoreError::InvalidParameter`] naming the parameter.
    pub fn new_checked(
        covariance_type: CovarianceType,
        n_features: usize,
        startprob: Vec<f64>,
        transmat: Vec<f64>,
        means: Vec<f64>,
        covars: Vec<f64>,
    ) -> CoreResult<Self> {
        let k = startprob.len();
        if k < 1 {
            return Err(CoreError::param("n_components", "must be >= 1, got 0"));
        }
        if n_features < 1 {
            return Err(CoreError::param("means_", "must have at least one feature"));
        }
        if transmat.len() != k * k {
            return Err(CoreError::param("transmat_", format!("must have shape ({k}, {k})")));
        }
        if means.len() != k * n_features {
            return Err(CoreError::param("means_", format!("must have shape ({k}, {n_features})")));
        }
        let per = covariance_type.len_per_state(n_features);
        if covars.len() != k * per {
            let shape = match covariance_type {
                CovarianceType::Diag => format!("({k}, {n_features})"),
                CovarianceType::Full => format!("({k}, {n_features}, {n_features})"),
            };
            return Err(CoreError::param(
                "covars_",
                format!("'{}' covars must have shape {shape}", covariance_type.as_str()),
            ));
        }
        let s: f64 = startprob.iter().sum();
        if !sums_to_one(s) {
            return Err(CoreError::param("startprob_", format!("must sum to 1 (got {s:.4})")));
        }
        for (i, row) in transmat.chunks_exact(k).enumerate() {
            let s: f64 = row.iter().sum();
            if !sums_to_one(s) {
                return Err(CoreError::param("transmat_", format!("rows must sum to 1 (row {i} sums to {s:.4})")));
            }
        }
        Ok(Self { n_components: k, n_features, covariance_type, startprob, transmat, means, covars })
    }

    /// Covariance values per state.
    pub fn covars_per_state(&self) -> usize {
        self.covariance_type.len_per_state(self.n_features)
    }
}

/// hmmlearn's priors, broadcast to the parameters' shapes. With the defaults
/// (`startprob_prior = transmat_prior = 1`, `means_weight = 0`,
/// `covars_prior = 0.01`, `covars_weight = 1`) the M-step is maximum
/// likelihood except for the 0.01 added to every covariance entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Priors {
    /// Dirichlet parameters of `startprob`, K.
    pub startprob: Vec<f64>,
    /// Dirichlet parameters of each `transmat` row, K x K.
    pub transmat: Vec<f64>,
    /// Mean of the normal prior on `means`, K x D.
    pub means: Vec<f64>,
    /// Its precision (a scalar, as hmmlearn's formulas require).
    pub means_weight: f64,
    /// Scale of the inverse-gamma (diag) or inverse-Wishart (full) prior,
    /// in the shape of `covars`.
    pub covars: Vec<f64>,
    /// Its degrees of freedom (a scalar: hmmlearn takes `max(w - 1, 0)`).
    pub covars_weight: f64,
}

impl Priors {
    /// hmmlearn's defaults for a model of this shape.
    pub fn defaults(model: &GaussianHmm) -> Self {
        let k = model.n_components;
        Self {
            startprob: vec![1.0; k],
            transmat: vec![1.0; k * k],
            means: vec![0.0; k * model.n_features],
            means_weight: 0.0,
            covars: vec![1e-2; k * model.covars_per_state()],
            covars_weight: 1.0,
        }
    }

    /// Checks the lengths against the model.
    ///
    /// # Errors
    /// [`CoreError::InvalidParameter`] naming the prior.
    pub fn check(&self, model: &GaussianHmm) -> CoreResult<()> {
        let k = model.n_components;
        let expect = [
            ("startprob_prior", self.startprob.len(), k),
            ("transmat_prior", self.transmat.len(), k * k),
            ("means_prior", self.means.len(), k * model.n_features),
            ("covars_prior", self.covars.len(), k * model.covars_per_state()),
        ];
        for (name, got, want) in expect {
            if got != want {
                return Err(CoreError::param(name, format!("has {got} values, expected {want}")));
            }
        }
        for (name, v) in [("means_weight", self.means_weight), ("covars_weight", self.covars_weight)] {
            if !v.is_finite() {
                return Err(CoreError::param(name, format!("must be finite, got {v}")));
            }
        }
        Ok(())
    }
}

/// The row ranges of the sequences in a sample of `n` rows: one sequence
/// without `lengths`, else consecutive runs of the given lengths.
///
/// # Errors
/// [`CoreError::InvalidInput`] if a length is below 1 or they do not sum to `n`.
pub fn sequences(n: usize, lengths: Option<&[i64]>) -> CoreResult<Vec<Range<usize>>> {
    if n == 0 {
        return Err(CoreError::InvalidInput("X has 0 samples; at least 1 is required".into()));
    }
    let Some(lengths) = lengths else { return Ok(std::iter::once(0..n).collect()) };
    let mut out = Vec::with_capacity(lengths.len());
    let mut start = 0usize;
    for &len in lengths {
        let Ok(len) = usize::try_from(len) else {
            return Err(CoreError::InvalidInput(format!("lengths must be >= 1, got {len}")));
        };
        if len == 0 {
            return Err(CoreError::InvalidInput("lengths must be >= 1, got 0".into()));
        }
        out.push(start..start + len);
        start += len;
    }
    if start != n {
        return Err(CoreError::InvalidInput(format!("lengths sum to {start}, but X has {n} samples")));
    }
    Ok(out)
}

/// Checks a sample: `x` holds `n` rows of `d` finite values.
///
/// # Errors
/// [`CoreError::InvalidInput`] naming the first non-finite row.
pub fn check_sample(x: &[f64], d: usize) -> CoreResult<usize> {
    if d == 0 || x.len() % d != 0 {
        return Err(CoreError::InvalidInput(format!("X has {} values, not a multiple of {d} features", x.len())));
    }
    if let Some(i) = x.iter().position(|v| !v.is_finite()) {
        return Err(CoreError::InvalidInput(format!("X contains NaN or infinity (row {})", i / d)));
    }
    Ok(x.len() / d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn two_state() -> GaussianHmm {
        GaussianHmm::new_checked(
            CovarianceType::Diag,
            1,
            vec![0.5, 0.5],
            vec![0.9, 0.1, 0.2, 0.8],
            vec![0.0, 1.0],
            vec![1.0, 2.0],
        )
        .unwrap()
    }

    #[test]
    fn unknown_covariance_type_is_refused() {
        let err = CovarianceType::parse("tied").unwrap_err();
        assert!(err.to_string().contains("covariance_type"));
    }

    #[test]
    fn rows_not_summing_to_one_are_refused() {
        let err = GaussianHmm::new_checked(
            CovarianceType::Diag,
            1,
            vec![0.5, 0.5],
            vec![0.9, 0.2, 0.2, 0.8],
            vec![0.0, 1.0],
            vec![1.0, 2.0],
        )
        .unwrap_err();
        assert!(err.to_string().contains("transmat_"), "{err}");
    }

    #[test]
    fn wrong_covars_shape_is_refused() {
        let err =
            GaussianHmm::new_checked(CovarianceType::Full, 2, vec![1.0], vec![1.0], vec![0.0, 0.0], vec![1.0, 1.0])
                .unwrap_err();
        assert!(err.to_string().contains("(1, 2, 2)"), "{err}");
    }

    #[test]
    fn lengths_must_cover_the_sample() {
        assert_eq!(sequences(5, Some(&[2, 3])).unwrap(), [0..2, 2..5]);
        assert!(sequences(5, Some(&[2, 2])).is_err());
        assert!(sequences(5, Some(&[0, 5])).is_err());
        assert!(sequences(0, None).is_err());
    }

    #[test]
    fn nan_in_sample_is_refused() {
        assert!(check_sample(&[1.0, f64::NAN], 1).unwrap_err().to_string().contains("row 1"));
    }

    #[test]
    fn default_priors_have_the_model_shapes() {
        let m = two_state();
        let p = Priors::defaults(&m);
        p.check(&m).unwrap();
        assert_eq!(p.covars, vec![0.01, 0.01]);
    }
}
