//! The library's error type.

/// Everything that can go wrong in a `paribus` computation.
///
/// Variants carry the offending values at full precision so that the edges (CLI, bindings) can
/// say exactly what to change.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An option is outside its documented range.
    #[error("invalid parameter `{name}`: {reason}")]
    InvalidParameter {
        /// The parameter's name as the user spells it.
        name: &'static str,
        /// What is wrong and what would be accepted.
        reason: String,
    },
    /// The data do not allow the requested analysis (e.g. an arm with one level).
    #[error("{0}")]
    InvalidData(String),
    /// The design matrix has no usable column, or all columns are collinear.
    #[error("singular design: {0}")]
    Singular(String),
    /// An iterative method did not converge.
    #[error("{method} did not converge in {iterations} iterations{hint}")]
    NonConvergence {
        /// Which method.
        method: &'static str,
        /// Iterations used.
        iterations: usize,
        /// An extra hint for the user (may be empty).
        hint: String,
    },
    /// Outcomes are perfectly predicted by the covariates: the MLE does not exist.
    #[error("perfect separation: {0}")]
    PerfectSeparation(String),
}

impl Error {
    /// True when the error is the caller's input (exit code 2 at the CLI), false when the
    /// analysis itself failed on valid input (exit code 1).
    pub fn is_input_error(&self) -> bool {
        matches!(self, Error::InvalidParameter { .. } | Error::InvalidData(_))
    }
}

/// Shorthand for results in this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
