//! Accepting a divergence: the last run must show the case diverging, unaccepted (or with an
//! expired acceptance), on every cell named; then `matrix.toml` gets the `[[divergence]]`
//! entry, written atomically, its comments and layout kept.

use std::path::{Path, PathBuf};

use super::CaseRef;
use crate::errors::{Error, Result};
use crate::matrix::edit::{NewDivergence, accept_divergence};
use crate::verdict::{Acceptance, Results};

/// What was accepted, and where.
#[derive(Debug, Clone)]
pub struct Accepted {
    /// The entry.
    pub divergence: NewDivergence,
    /// The matrix file written.
    pub file: PathBuf,
}

/// Accepts `case`'s divergence on `cells` (every cell where it diverged unaccepted, when
/// none are named) with `reason`, until `expires`, into the matrix file `file`, by what
/// `results` (the last run's) show. Refuses what did not diverge.
pub fn accept(
    file: &Path,
    results: &Results,
    case: &CaseRef,
    cells: &[String],
    reason: &str,
    expires: Option<&str>,
) -> Result<Accepted> {
    if reason.trim().is_empty() {
        return Err(Error::Selection(
            "an accepted divergence needs a reason (--reason \"...\"): the report shows it to everyone who signs off".into(),
        ));
    }
    let open: Vec<&str> = results
        .comparison
        .divergences
        .iter()
        .filter(|d| d.suite == case.suite && d.case == case.case)
        .filter(|d| !matches!(d.acceptance, Acceptance::Accepted { .. }))
        .map(|d| d.cell.as_str())
        .collect();
    let ran = results
        .runs
        .iter()
        .any(|r| r.suite == case.suite && r.case == case.case);
    if !ran {
        return Err(Error::Selection(format!(
            "{case} did not run in the last run: run it (`{} matrix --suite {}`) before accepting how it differs",
            crate::invocation::command(),
            case.suite
        )));
    }
    let cells: Vec<String> = if cells.is_empty() {
        let mut all: Vec<String> = open.iter().map(|c| (*c).to_owned()).collect();
        all.dedup();
        all
    } else {
        cells.to_vec()
    };
    if cells.is_empty() {
        return Err(Error::Selection(format!(
            "{case} did not diverge unaccepted in the last run: there is nothing to accept"
        )));
    }
    if let Some(cell) = cells.iter().find(|c| !open.contains(&c.as_str())) {
        return Err(Error::Selection(format!(
            "{case} did not diverge unaccepted on {cell} in the last run{}: only what differed can be accepted",
            if open.is_empty() {
                String::new()
            } else {
                format!(" (it did on {})", open.join(", "))
            }
        )));
    }
    let divergence = NewDivergence {
        suite: case.suite.clone(),
        case: case.case.clone(),
        cells,
        reason: reason.trim().to_owned(),
        expires: expires.map(str::to_owned),
    };
    let text = std::fs::read_to_string(file).map_err(|source| Error::ReadConfig {
        path: file.to_owned(),
        source,
    })?;
    // The matrix as it is now, not as the last run read it: an acceptance written since
    // (an `accept` run twice) is not written again.
    let now = crate::matrix::parse(file, &text)?;
    if let Some(first) = now.divergences.iter().find(|d| {
        d.suite == divergence.suite
            && d.case == divergence.case
            && divergence.cells.iter().all(|c| d.cells.contains(c))
    }) {
        let at =
            crate::diagnostic::Diagnostic::new(file, &text, first.case_span.clone(), String::new());
        return Err(Error::Selection(format!(
            "{case} on {} is accepted already, at {}:{}:{} (reason: {}): run the matrix again to see it accepted",
            divergence.cells.join(", "),
            file.display(),
            at.line,
            at.column,
            first.reason
        )));
    }
    let edited = accept_divergence(file, &text, &divergence)?;
    crate::persist::replace_user_file(file, &edited)?;
    Ok(Accepted {
        divergence,
        file: file.to_owned(),
    })
}
