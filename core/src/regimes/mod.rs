//! Market regimes by a Gaussian hidden Markov model, with hmmlearn 0.3.3's
//! semantics (the reference the tests compare against).
//!
//! * [`model`]: the parameters (`startprob`, `transmat`, `means`, `covars`,
//!   diag or full), the priors, the `params` letters, the sequence split.
//! * [`emission`]: Gaussian log-densities per state.
//! * [`forward_backward`]: log-space forward and backward passes, smoothed
//!   posteriors and the log-likelihood (`score`).
//! * [`viterbi`]: the most likely path (`predict`, `decode`).
//! * [`baum_welch`]: EM with hmmlearn's M-step and convergence rule (`fit`).
//! * [`init`]: hmmlearn's initialisation from a seed (Dirichlet draws,
//!   k-means means, sample-covariance covars).
//! * [`filter`]: the causal forward filter, batch and streaming.
//!
//! # Live use: [`RegimeFilter`]
//!
//! Smoothed posteriors and Viterbi paths look ahead: row t depends on rows
//! after t. Live trading and backtests must use the causal filter,
//! `P(z_t | x_0..x_t)`, which [`RegimeFilter`] advances one observation at a
//! time. The engine is meant to own one filter per (symbol, interval),
//! built from the last fitted model with [`RegimeFilter::new`], and to call
//! [`RegimeFilter::update`] with the feature vector of each closed candle
//! (log return, realised volatility, ...): O(K^2 + K D^2) work, no
//! allocation, no look at past rows. `probabilities()` and `most_likely()`
//! are then the candle's regime. A refit (on a rolling window, in a worker
//! thread) produces a new model; the engine swaps in a new filter and
//! replays the window's rows through it (or starts it fresh), then keeps
//! advancing it per candle. A rejected observation (NaN, wrong width)
//! leaves the filter's state untouched, so a bad candle cannot poison it.
//! `filter_proba` over a sample is exactly the filter run over its rows
//! (restarting at each sequence), so backtests and live trading agree.
pub mod baum_welch;
pub mod emission;
pub mod filter;
pub mod forward_backward;
pub mod init;
pub mod model;
pub mod viterbi;

pub use baum_welch::{fit, FitOptions, FitReport};
pub use filter::{filter_proba, RegimeFilter};
pub use forward_backward::score;
pub use init::{initialise, Initial};
pub use model::{check_sample, sequences, CovarianceType, GaussianHmm, Params, Priors};
pub use viterbi::decode;
