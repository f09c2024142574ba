//! Context scoring: turns the features and the dominant pattern into a
//! 0..100 score with the components that explain it.
pub mod components;
pub mod context_score;
pub mod scorer;

pub use components::Components;
pub use context_score::ContextScore;
pub use scorer::ContextScorer;
