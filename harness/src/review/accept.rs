//! Accepting a divergence: the last run must show the case diverging, unaccepted (or with an
//! expired acceptance), on every cell named; then `matrix.toml` gets the `[[divergence]]`
//! entry, written atomically, its comments and layout kept.

use std::path::{Path, PathBuf};

use super::CaseRef;
use crate::errors::{Error, Result};
use crate::matrix::edit::{NewDivergence, accept_divergence};
use crate::matrix::{ExploreClass, case_matches, is_glob};
use crate::verdict::{Acceptance, Results};

/// What was accepted, and where.
#[derive(Debug, Clone)]
pub struct Accepted {
    /// The entry.
    pub divergence: NewDivergence,
    /// The matrix file written.
    pub file: PathBuf,
}

/// What `accept` accepts: one case, every case a glob names (`files/*`), or a class of the
/// last exploration's findings.
#[derive(Debug, Clone)]
pub enum Target {
    /// A case, or a glob of cases of one suite.
    Case(CaseRef),
    /// A class of explore findings.
    ExploreClass(ExploreClass),
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Case(case) => write!(f, "{case}"),
            Target::ExploreClass(class) => write!(f, "explore class {}", class.as_str()),
        }
    }
}

/// Accepts what `target` names on `cells` (every cell where it diverged unaccepted, when
/// none are named) with `reason`, until `expires`, into the matrix file `file`, as one
/// ledger entry, by what `results` (the last run's) show. Refuses what did not diverge, and
/// an entry the matrix has already.
pub fn accept(
    file: &Path,
    results: &Results,
    target: &Target,
    cells: &[String],
    reason: &str,
    expires: Option<&str>,
) -> Result<Accepted> {
    if reason.trim().is_empty() {
        return Err(Error::Selection(
            "an accepted divergence needs a reason (--reason \"...\"): the report shows it to everyone who signs off".into(),
        ));
    }
    let open = match target {
        Target::Case(case) => open_cases(results, case)?,
        Target::ExploreClass(class) => open_findings(results, *class)?,
    };
    let mut cells: Vec<String> = if cells.is_empty() {
        open.clone()
    } else {
        cells.to_vec()
    };
    cells.dedup();
    if cells.is_empty() {
        return Err(Error::Selection(format!(
            "{target} did not diverge unaccepted in the last run: there is nothing to accept"
        )));
    }
    if let Some(cell) = cells.iter().find(|c| !open.contains(c)) {
        return Err(Error::Selection(format!(
            "{target} did not diverge unaccepted on {cell} in the last run{}: only what differed can be accepted",
            if open.is_empty() {
                String::new()
            } else {
                format!(" (it did on {})", open.join(", "))
            }
        )));
    }
    let divergence = match target {
        Target::Case(case) => NewDivergence {
            suite: case.suite.clone(),
            case: case.case.clone(),
            explore: None,
            cells,
            reason: reason.trim().to_owned(),
            expires: expires.map(str::to_owned),
        },
        Target::ExploreClass(class) => NewDivergence {
            suite: String::new(),
            case: String::new(),
            explore: Some(class.as_str().to_owned()),
            cells,
            reason: reason.trim().to_owned(),
            expires: expires.map(str::to_owned),
        },
    };
    let text = std::fs::read_to_string(file).map_err(|source| Error::ReadConfig {
        path: file.to_owned(),
        source,
    })?;
    // The matrix as it is now, not as the last run read it: an acceptance written since
    // (an `accept` run twice) is not written again.
    let now = crate::matrix::parse(file, &text, crate::runtime::kinds())?;
    if let Some(first) = now
        .divergences
        .iter()
        .find(|d| divergence.names(d) && divergence.cells.iter().all(|c| d.cells.contains(c)))
    {
        let at =
            crate::diagnostic::Diagnostic::new(file, &text, first.case_span.clone(), String::new());
        return Err(Error::Selection(format!(
            "{target} on {} is accepted already, at {}:{}:{} (reason: {}): run the matrix again to see it accepted",
            divergence.cells.join(", "),
            file.display(),
            at.line,
            at.column,
            first.reason
        )));
    }
    let edited = accept_divergence(file, &text, &divergence, crate::runtime::kinds())?;
    crate::persist::replace_user_file(file, &edited)?;
    Ok(Accepted {
        divergence,
        file: file.to_owned(),
    })
}

/// The cells where a case `case` names (a glob names many) diverged unaccepted in the last
/// run; an error when no such case ran.
fn open_cases(results: &Results, case: &CaseRef) -> Result<Vec<String>> {
    let names = |suite: &str, name: &str| suite == case.suite && case_matches(&case.case, name);
    let ran = results.runs.iter().any(|r| names(&r.suite, &r.case));
    if !ran {
        return Err(Error::Selection(format!(
            "{case} {} in the last run: run it (`{} matrix --suite {}`) before accepting how it differs",
            if is_glob(&case.case) {
                "names no case that ran"
            } else {
                "did not run"
            },
            crate::invocation::command(),
            case.suite
        )));
    }
    let mut cells: Vec<String> = Vec::new();
    for d in &results.comparison.divergences {
        if names(&d.suite, &d.case)
            && !matches!(d.acceptance, Acceptance::Accepted { .. })
            && !cells.contains(&d.cell)
        {
            cells.push(d.cell.clone());
        }
    }
    Ok(cells)
}

/// The cells of the last exploration's findings of `class` that the ledger does not accept;
/// an error when the last run did not explore.
fn open_findings(results: &Results, class: ExploreClass) -> Result<Vec<String>> {
    let Some(explored) = &results.explored else {
        return Err(Error::Selection(format!(
            "the last run did not explore: run `{} matrix --explore` before accepting a class of its findings",
            crate::invocation::command()
        )));
    };
    let mut cells: Vec<String> = Vec::new();
    for finding in explored
        .classes
        .iter()
        .filter(|c| c.class == class)
        .flat_map(|c| &c.findings)
        .filter(|f| f.known.is_none())
    {
        for cell in &finding.cells {
            if !cells.contains(cell) {
                cells.push(cell.clone());
            }
        }
    }
    Ok(cells)
}
