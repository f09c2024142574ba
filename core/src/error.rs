//! The one error type of the core. The Python layer maps it to exceptions in
//! exactly one place (`python/error.rs`).

/// Everything that can go wrong inside the core.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum CoreError {
    /// A parameter (period, threshold, capacity...) is out of its valid range.
    #[error("invalid parameter `{name}`: {reason}")]
    InvalidParameter { name: String, reason: String },
    /// Input data is unusable (length mismatch, non-finite price, ...).
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// A configuration document could not be parsed or failed validation.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A data file could not be read or parsed.
    #[error("data error: {0}")]
    Data(String),
    /// A local order book missed updates of the depth stream (or has no
    /// snapshot yet): it must be resynced from a new snapshot.
    #[error("order book out of sync: {0}")]
    BookGap(String),
    /// An operating-system level I/O failure.
    #[error("i/o error: {0}")]
    Io(String),
}

impl CoreError {
    /// Shorthand for [`CoreError::InvalidParameter`].
    pub fn param(name: &str, reason: impl Into<String>) -> Self {
        Self::InvalidParameter { name: name.to_owned(), reason: reason.into() }
    }
}

impl From<std::io::Error> for CoreError {
    fn from(e: std::io::Error) -> Self {
        Self::Io(e.to_string())
    }
}

/// Result alias used across the crate.
pub type CoreResult<T> = Result<T, CoreError>;

/// Validates a window length: at least `min`.
///
/// # Errors
/// [`CoreError::InvalidParameter`] when `value < min`.
pub fn check_period(name: &str, value: usize, min: usize) -> CoreResult<usize> {
    if value < min {
        return Err(CoreError::param(name, format!("must be >= {min}, got {value}")));
    }
    Ok(value)
}
