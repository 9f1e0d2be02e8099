//! The reviewer's tools, on a finished run's results: what one case did on every cell
//! ([`show`]), accepting a divergence it found into `matrix.toml` ([`accept`]), and the
//! pending snapshots with their diffs, accepted or rejected one by one ([`pending`]).

pub mod accept;
pub mod pending;
pub mod save;
pub mod show;

use crate::errors::{Error, Result};

pub use accept::{Accepted, Target, accept};
pub use save::{Saved, save};
pub use show::{Shown, show};

/// A case as the reviewer names it: `suite/case`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseRef {
    /// The suite.
    pub suite: String,
    /// The case.
    pub case: String,
}

impl std::str::FromStr for CaseRef {
    type Err = Error;

    fn from_str(s: &str) -> Result<CaseRef> {
        match s.split_once('/') {
            Some((suite, case)) if !suite.is_empty() && !case.is_empty() => Ok(CaseRef {
                suite: suite.to_owned(),
                case: case.to_owned(),
            }),
            _ => Err(Error::Selection(format!(
                "`{s}` names no case: expected SUITE/CASE, such as `packages/download-other-case`"
            ))),
        }
    }
}

impl std::fmt::Display for CaseRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.suite, self.case)
    }
}
