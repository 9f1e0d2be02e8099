//! Everything a finished run knows about one case, gathered for a reviewer: on each cell the
//! requests and raw responses (from the job's `exchanges` logs), the normalized snapshots, the
//! server's log lines written while the case ran, and the outcome; the divergences with
//! their diffs and acceptance; and which normalization rules touched the raw responses.

use std::path::Path;

use super::CaseRef;
use crate::errors::{Error, Result};
use crate::matrix::Matrix;
use crate::verdict::{Results, Status};

/// One case of a run, as `cargo xtask show` prints it.
#[derive(Debug, Clone)]
pub struct Shown {
    /// The case.
    pub case: CaseRef,
    /// Its case file (or command).
    pub source: Option<String>,
    /// The primary cell.
    pub primary: String,
    /// Each cell that ran it, in plan order.
    pub cells: Vec<ShownCell>,
    /// Where it differs from the primary cell.
    pub divergences: Vec<ShownDivergence>,
    /// The matrix's normalization rules, and whether each touched these responses.
    pub rules: Vec<ShownRule>,
}

/// The case on one cell.
#[derive(Debug, Clone)]
pub struct ShownCell {
    /// The cell.
    pub cell: String,
    /// How it ran (`emulated: wine-8.0`).
    pub execution: Option<String>,
    /// Its outcome.
    pub status: Status,
    /// Why it failed, or the reason of its accepted divergence.
    pub detail: Option<String>,
    /// Its requests and raw responses, when the job's logs have them.
    pub exchanges: Option<String>,
    /// Each snapshotted step: its name, its request line and its normalized text.
    pub normalized: Vec<(String, String, String)>,
    /// The server's log lines written while the case ran.
    pub log: Option<String>,
    /// Where its result came from when the job was not run but reused (its logs are that
    /// run's).
    pub cached: Option<crate::outcome::Cached>,
}

/// A step of the case that differs on a cell.
#[derive(Debug, Clone)]
pub struct ShownDivergence {
    /// The step.
    pub step: String,
    /// The cell.
    pub cell: String,
    /// Accepted (with reason and expiry), expired, or not accepted.
    pub acceptance: String,
    /// The diff against the primary cell (or its committed baseline).
    pub diff: String,
}

/// A normalization rule.
#[derive(Debug, Clone)]
pub struct ShownRule {
    /// The rule as `matrix.toml` spells it.
    pub rule: String,
    /// Whether it touched the raw responses of this case on some cell.
    pub applied: bool,
}

/// What the run in `out` (its `results`) knows of `case`, on `cells` (every cell when empty).
pub fn show(
    matrix: &Matrix,
    results: &Results,
    out: &Path,
    case: &CaseRef,
    cells: &[String],
) -> Result<Shown> {
    let runs: Vec<_> = results
        .runs
        .iter()
        .filter(|r| r.suite == case.suite && r.case == case.case)
        .filter(|r| cells.is_empty() || cells.contains(&r.cell))
        .collect();
    if runs.is_empty() {
        let known: Vec<&str> = results
            .runs
            .iter()
            .filter(|r| r.suite == case.suite)
            .map(|r| r.case.as_str())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        return Err(Error::Selection(if known.is_empty() {
            format!("the run in {} has no suite `{}`", out.display(), case.suite)
        } else {
            format!(
                "the run in {} has no case {case}{}: expected one of {}",
                out.display(),
                if cells.is_empty() {
                    String::new()
                } else {
                    format!(" on {}", cells.join(", "))
                },
                known.join(", ")
            )
        }));
    }
    let observations: Vec<_> = results
        .observations
        .iter()
        .filter(|o| o.suite == case.suite && o.case == case.case)
        .collect();
    let mut shown_cells = Vec::new();
    for run in &runs {
        let logs = results
            .logs
            .get(&run.cell)
            .map(|dir| out.join(dir))
            .unwrap_or_else(|| out.join("logs").join(&run.cell));
        let exchanges = std::fs::read_to_string(
            logs.join(crate::suite::EXCHANGES)
                .join(&case.suite)
                .join(format!("{}.http", case.case)),
        )
        .ok();
        let span = results
            .jobs
            .iter()
            .find(|j| j.suite == case.suite && j.cell == run.cell)
            .and_then(|j| j.cases.iter().find(|c| c.name == case.case))
            .and_then(|c| c.log_spans);
        let files = crate::runtime::ServerLogs::of(&logs, &case.suite);
        let log = span.map(|spans| {
            let mut text = String::new();
            for ((name, path), [from, to]) in [("stdout", &files.stdout), ("stderr", &files.stderr)]
                .into_iter()
                .zip(spans)
            {
                let Ok(bytes) = std::fs::read(path) else {
                    continue;
                };
                let from = usize::try_from(from).unwrap_or(usize::MAX).min(bytes.len());
                let to = usize::try_from(to)
                    .unwrap_or(usize::MAX)
                    .min(bytes.len())
                    .max(from);
                if from < to {
                    text.push_str(&format!(
                        "[{name}]\n{}",
                        crate::normalize::decode(&bytes[from..to])
                    ));
                }
            }
            text
        });
        shown_cells.push(ShownCell {
            cell: run.cell.clone(),
            execution: results.provenance.cells.get(&run.cell).map(|e| e.line()),
            status: run.status,
            detail: run.detail.clone(),
            exchanges,
            normalized: observations
                .iter()
                .filter(|o| o.cell == run.cell)
                .map(|o| (o.step.clone(), o.expression.clone(), o.text.clone()))
                .collect(),
            log,
            cached: results
                .jobs
                .iter()
                .find(|j| j.suite == run.suite && j.cell == run.cell)
                .and_then(|j| j.cached.clone()),
        });
    }
    let divergences = results
        .comparison
        .all_divergences()
        .filter(|d| d.suite == case.suite && d.case == case.case)
        .filter(|d| cells.is_empty() || cells.contains(&d.cell))
        .map(|d| {
            let expires = matrix
                .divergences
                .iter()
                .find(|m| m.suite == d.suite && m.case == d.case && m.cells.contains(&d.cell))
                .and_then(|m| m.expires.clone());
            let mut acceptance = d.acceptance.words();
            if let Some(expires) = expires
                && matches!(d.acceptance, crate::verdict::Acceptance::Accepted { .. })
            {
                acceptance.push_str(&format!(" (until {expires})"));
            }
            ShownDivergence {
                step: d.step.clone(),
                cell: d.cell.clone(),
                acceptance,
                diff: d.diff.clone(),
            }
        })
        .collect();
    let raw: String = shown_cells
        .iter()
        .filter_map(|c| c.exchanges.as_deref())
        .collect::<Vec<_>>()
        .join("\n");
    Ok(Shown {
        case: case.clone(),
        source: observations.first().map(|o| o.source.clone()),
        primary: results.plan.primary.clone(),
        cells: shown_cells,
        divergences,
        rules: rules(matrix, &raw),
    })
}

/// The matrix's normalization rules, each marked by whether it touches `raw`.
fn rules(matrix: &Matrix, raw: &str) -> Vec<ShownRule> {
    let n = &matrix.normalize;
    let mut out = vec![ShownRule {
        rule: "the harness's own: the data dir and the port it chose, named as placeholders"
            .to_owned(),
        applied: true,
    }];
    if n.path_separators {
        out.push(ShownRule {
            rule: "path_separators = true".to_owned(),
            applied: raw.contains('\\'),
        });
    }
    if n.line_endings {
        out.push(ShownRule {
            rule: "line_endings = true".to_owned(),
            applied: raw.contains("\r\n"),
        });
    }
    if n.log_escapes {
        out.push(ShownRule {
            rule: "log_escapes = true (the server's log without colour and other terminal escapes)"
                .to_owned(),
            applied: raw.contains('\x1b'),
        });
    }
    for path in &n.redact {
        let key = path.rsplit('.').next().unwrap_or(path);
        out.push(ShownRule {
            rule: format!("redact \"{path}\""),
            applied: !key.is_empty() && raw.contains(&format!("\"{key}\"")),
        });
    }
    for (regex, replace) in &n.filters {
        out.push(ShownRule {
            rule: format!("filter '{}' -> \"{replace}\"", regex.as_str()),
            applied: regex.is_match(raw),
        });
    }
    out
}
