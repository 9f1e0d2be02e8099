//! The view model every report shares: what a reader sees of results (the grid of suites by
//! cells, divergences in words, what ran where), computed once from [`Results`] so that the
//! terminal, Markdown and HTML say the same things.

use std::time::Duration;

use crate::matrix::Scope;
use crate::verdict::{
    Acceptance, Against, BaselineChange, BaselineState, Divergence, Results, Status, Verdict,
};

/// One square of the grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Square {
    /// Not planned there.
    None,
    /// Every case passed.
    Passed,
    /// Every case passed, on the only cell that runs this agnostic suite.
    Once,
    /// Some case differs from the primary cell, as accepted.
    Accepted,
    /// Some case differs from the primary cell, unaccepted.
    Diverged,
    /// Some case failed.
    Failed,
    /// The job could not run.
    Error,
}

impl Square {
    /// The word shown for it.
    pub fn label(self) -> &'static str {
        match self {
            Square::None => "—",
            Square::Passed => "passed",
            Square::Once => "passed (once, agnostic)",
            Square::Accepted => "accepted divergence",
            Square::Diverged => "DIVERGED",
            Square::Failed => "FAILED",
            Square::Error => "ERROR",
        }
    }
}

/// One row of the grid: a suite, its scope, and a square per cell (in plan order).
#[derive(Debug, Clone)]
pub struct Row {
    /// The suite.
    pub suite: String,
    /// Its scope.
    pub scope: Scope,
    /// A square per cell.
    pub squares: Vec<Square>,
}

/// The grid of suites by cells.
pub fn grid(results: &Results) -> Vec<Row> {
    results
        .plan
        .suites
        .iter()
        .map(|suite| {
            let squares = results
                .plan
                .cells
                .iter()
                .map(|cell| {
                    let runs: Vec<_> = results
                        .runs
                        .iter()
                        .filter(|r| r.suite == suite.name && r.cell == cell.name)
                        .collect();
                    let has = |s: Status| runs.iter().any(|r| r.status == s);
                    if runs.is_empty() {
                        Square::None
                    } else if has(Status::Error) {
                        Square::Error
                    } else if has(Status::Failed) {
                        Square::Failed
                    } else if has(Status::Diverged) {
                        Square::Diverged
                    } else if has(Status::Accepted) {
                        Square::Accepted
                    } else if suite.scope == Scope::Agnostic && cell.primary {
                        Square::Once
                    } else {
                        Square::Passed
                    }
                })
                .collect();
            Row {
                suite: suite.name.clone(),
                scope: suite.scope,
                squares,
            }
        })
        .collect()
}

/// A column of the grid: one cell, or cells of one platform (the same triple and runtime)
/// that gave the same answer to every step and the same outcome to every suite, collapsed.
#[derive(Debug, Clone)]
pub struct Column {
    /// Its cells, as indices into the plan's cells, in plan order.
    pub cells: Vec<usize>,
    /// Its heading: the cells' names, the primary marked.
    pub name: String,
    /// The name of its first cell (what its links and data attributes name).
    pub first: String,
}

/// The grid's columns and its rows with a square per column.
pub fn grid_columns(results: &Results) -> (Vec<Column>, Vec<Row>) {
    let rows = grid(results);
    let cells = &results.plan.cells;
    let answers = |cell: &str| {
        let mut of: Vec<(&str, &str, &str, &str)> = results
            .observations
            .iter()
            .filter(|o| o.cell == cell)
            .map(|o| {
                (
                    o.suite.as_str(),
                    o.case.as_str(),
                    o.step.as_str(),
                    o.text.as_str(),
                )
            })
            .collect();
        of.sort_unstable();
        of
    };
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for (i, cell) in cells.iter().enumerate() {
        let alike = |g: &&mut Vec<usize>| {
            let first = &cells[g[0]];
            !first.primary
                && !cell.primary
                && first.triple == cell.triple
                && first.runtime == cell.runtime
                && rows.iter().all(|r| r.squares[g[0]] == r.squares[i])
                && rows.iter().any(|r| r.squares[i] != Square::None)
                && answers(&first.name) == answers(&cell.name)
        };
        match groups.iter_mut().find(alike) {
            Some(g) => g.push(i),
            None => groups.push(vec![i]),
        }
    }
    let columns: Vec<Column> = groups
        .into_iter()
        .map(|g| Column {
            name: g
                .iter()
                .map(|&i| {
                    let c = &cells[i];
                    if c.primary {
                        format!("{} (primary)", c.name)
                    } else {
                        c.name.clone()
                    }
                })
                .collect::<Vec<_>>()
                .join(", "),
            first: cells[g[0]].name.clone(),
            cells: g,
        })
        .collect();
    let rows = rows
        .into_iter()
        .map(|r| Row {
            squares: columns.iter().map(|c| r.squares[c.cells[0]]).collect(),
            ..r
        })
        .collect();
    (columns, rows)
}

/// The verdict in words.
pub fn verdict_word(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Go => "GO",
        Verdict::NoGo => "NO-GO",
        Verdict::Pending => "PENDING",
    }
}

/// The verdict with its scope, as every report's headline shows it: `GO (the full plan)`,
/// `GO (shard 1 of 3: not a sign-off)`.
pub fn headline(results: &Results) -> String {
    format!(
        "{} ({})",
        verdict_word(results.verdict),
        results.scope.line()
    )
}

/// What a divergence was compared with, in words.
pub fn against_text(d: &Divergence) -> String {
    match d.against {
        Against::Run => format!("compared with {} in this run", d.primary),
        Against::Baseline => format!("compared with the committed baselines of {}", d.primary),
    }
}

/// The new and the changed snapshots that are not baselines after this run and await
/// review: only those whose pending file was written (one that could not be is a file error).
pub fn pending_baselines(results: &Results) -> (Vec<&BaselineChange>, Vec<&BaselineChange>) {
    let written = |name: &str| {
        let file = format!("{name}.snap.new");
        results
            .written
            .iter()
            .any(|p| p.file_name().is_some_and(|f| f.to_string_lossy() == file))
    };
    let pending = |b: &&BaselineChange| {
        (!results.accepted || results.held_back.contains(&b.name)) && written(&b.name)
    };
    let of = |state: BaselineState| {
        results
            .comparison
            .baseline
            .iter()
            .filter(|b| b.state == state)
            .filter(pending)
            .collect::<Vec<_>>()
    };
    (of(BaselineState::New), of(BaselineState::Changed))
}

pub use crate::verdict::plural as count;

/// How new snapshots are reviewed: the harness's own review (or cargo-insta's, in a Rust
/// layout), or another run with `--accept`.
pub fn review() -> String {
    format!(
        "{} review (or run again with --accept)",
        crate::invocation::command()
    )
}

/// What GO means, for a report that has no reasons to list.
pub const GO_TEXT: &str = "Every case passed on every cell, and every difference between cells is an accepted divergence.";

/// A divergence's acceptance in words.
pub fn acceptance_text(acceptance: &Acceptance) -> String {
    acceptance.words()
}

/// The sentence on the runs that agnostic suites and filters saved.
pub fn saved_text(results: &Results) -> String {
    let t = &results.plan.totals;
    format!(
        "{} suite runs instead of {} (every suite on every cell): {} saved by agnostic suites and filters.",
        t.runs,
        t.naive,
        t.naive.saturating_sub(t.runs)
    )
}

/// The sentence on the jobs whose results were reused from earlier runs, when there are
/// any.
pub fn cached_text(results: &Results) -> Option<String> {
    let cached: Vec<&crate::outcome::Cached> = results
        .jobs
        .iter()
        .filter_map(|j| j.cached.as_ref())
        .collect();
    if cached.is_empty() {
        return None;
    }
    let runs: std::collections::BTreeSet<&str> = cached.iter().map(|c| c.run.as_str()).collect();
    let saved: Duration = cached.iter().map(|c| c.saved).sum();
    Some(format!(
        "{} of {} jobs not run: each one's inputs (artifact, runtime, suite, seed, settings, harness) are byte for byte those of a job that passed in {}, whose result is reused ({} of jobs saved; --no-cache runs them).",
        cached.len(),
        results.jobs.len(),
        match runs.len() {
            1 => format!("the run of {}", runs.first().expect("one")),
            n => format!("{n} earlier runs"),
        },
        secs(saved)
    ))
}

/// One job, as the "what ran where" table shows it.
#[derive(Debug, Clone)]
pub struct JobRow {
    /// The cell.
    pub cell: String,
    /// The suite.
    pub suite: String,
    /// Its cases.
    pub cases: usize,
    /// Those that passed (accepted divergences included).
    pub passed: usize,
    /// How long it took.
    pub duration: Duration,
    /// Where its result came from, when it was reused.
    pub cached: Option<crate::outcome::Cached>,
}

impl JobRow {
    /// Its time, or where its result came from.
    pub fn time(&self) -> String {
        match &self.cached {
            Some(c) => format!(
                "cached from the run of {}{}",
                c.run,
                c.commit
                    .as_ref()
                    .map(|commit| format!(" at {}", &commit[..commit.len().min(12)]))
                    .unwrap_or_default()
            ),
            None => secs(self.duration),
        }
    }
}

/// What ran where.
pub fn jobs(results: &Results) -> Vec<JobRow> {
    results
        .jobs
        .iter()
        .map(|job| {
            let runs: Vec<_> = results
                .runs
                .iter()
                .filter(|x| x.suite == job.suite && x.cell == job.cell)
                .collect();
            JobRow {
                cell: job.cell.clone(),
                suite: job.suite.clone(),
                cases: runs.len(),
                passed: runs
                    .iter()
                    .filter(|x| matches!(x.status, Status::Passed | Status::Accepted))
                    .count(),
                duration: job.duration,
                cached: job.cached.clone(),
            }
        })
        .collect()
}

/// One cell, as the reports' cell list shows it.
#[derive(Debug, Clone)]
pub struct CellRow {
    /// Its name.
    pub name: String,
    /// Its target.
    pub target: String,
    /// Its triple.
    pub triple: String,
    /// Whether it is the primary cell.
    pub primary: bool,
    /// `native`, `emulated` or `container` (empty when the cell did not run).
    pub kind: &'static str,
    /// What ran it: the Wine version, the engine and image, or the host.
    pub by: String,
    /// The Windows version it stands for, and what Wine reported for it: `Windows Server
    /// 2022 (Wine reports win10)`.
    pub windows: Option<String>,
}

/// Every planned cell with how it ran.
pub fn cells(results: &Results) -> Vec<CellRow> {
    results
        .plan
        .cells
        .iter()
        .map(|c| {
            let execution = results.provenance.cells.get(&c.name);
            CellRow {
                name: c.name.clone(),
                target: c.target.clone(),
                triple: c.triple.clone(),
                primary: c.primary,
                kind: execution.map_or("", |e| e.kind.as_str()),
                by: execution.map(|e| e.by.clone()).unwrap_or_default(),
                windows: execution.and_then(|e| {
                    let title = e.windows.clone()?;
                    Some(match &e.reported {
                        Some(reported) => format!("{title} (Wine reports {reported})"),
                        None => title,
                    })
                }),
            }
        })
        .collect()
}

/// The provenance as (key, value) lines, in report order.
pub fn provenance(results: &Results) -> Vec<(&'static str, String)> {
    let p = &results.provenance;
    let mut lines = Vec::new();
    for (k, v) in [
        ("commit", &p.commit),
        ("rustc", &p.rustc),
        ("cargo", &p.cargo),
        ("wine", &p.wine),
    ] {
        if let Some(v) = v {
            lines.push((k, v.clone()));
        }
    }
    lines.extend(p.engines.iter().map(|e| ("engine", e.clone())));
    lines.extend(p.images.iter().map(|i| ("image", i.clone())));
    lines.push(("host", p.host.clone()));
    lines.push(("started", p.started.clone()));
    if !results.limits.is_empty() {
        let limits: Vec<String> = results
            .limits
            .iter()
            .map(|(k, v)| format!("{k} = {v}"))
            .collect();
        lines.push(("limits", limits.join(", ")));
    }
    lines
}

/// A duration in seconds with one decimal.
pub fn secs(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}

/// What a reader needs of one case on one cell beyond its verdict: what was asked, step by
/// step, and the link (relative to the report) to its raw requests and responses.
#[derive(Debug, Clone, Default)]
pub struct CaseEvidence {
    /// Each step and its request line (or command), in order; evidence steps left out.
    pub requests: Vec<(String, String)>,
    /// The file of its requests and raw responses, when it made requests.
    pub exchanges: Option<String>,
}

/// The evidence of `suite`/`case` on `cell` (empty when it did not run there).
pub fn case_evidence(results: &Results, suite: &str, case: &str, cell: &str) -> CaseEvidence {
    let Some(found) = results
        .jobs
        .iter()
        .filter(|j| j.suite == suite && j.cell == cell)
        .flat_map(|j| &j.cases)
        .find(|c| c.name == case)
    else {
        return CaseEvidence::default();
    };
    CaseEvidence {
        requests: found
            .observed
            .iter()
            .filter(|o| !o.step.starts_with('+') && !o.expression.is_empty())
            .map(|o| (o.step.clone(), o.expression.clone()))
            .collect(),
        // Through the cell's log folder as the results link it (a shard's, in a merge).
        exchanges: found
            .exchange_log
            .as_ref()
            .zip(results.logs.get(cell))
            .map(|(file, logs)| format!("{logs}/{file}")),
    }
}

/// One class of `--explore`'s findings, as the reports' table shows it.
#[derive(Debug, Clone)]
pub struct ExploredRow {
    /// The class.
    pub class: &'static str,
    /// The mutations that exposed it, most findings first (`base`: an unmutated request).
    pub mutations: String,
    /// Its smallest request.
    pub request: String,
    /// The cells that answered it otherwise than the primary.
    pub cells: String,
    /// How many probes show the class.
    pub findings: usize,
    /// How many of them the ledger accepts.
    pub known: usize,
}

/// The mutations of `findings`, most findings first: `short-names 3, case-sensitivity 1`.
pub fn mutations(findings: &[crate::verdict::explore::Finding]) -> String {
    let mut counts: std::collections::BTreeMap<&str, usize> = Default::default();
    for f in findings {
        *counts.entry(f.mutation.as_str()).or_default() += 1;
    }
    let mut counts: Vec<(&str, usize)> = counts.into_iter().collect();
    counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    counts
        .iter()
        .map(|(m, n)| format!("{m} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The classes of `explored`, in report order.
pub fn explored(explored: &crate::verdict::explore::Explored) -> Vec<ExploredRow> {
    explored
        .classes
        .iter()
        .map(|c| ExploredRow {
            class: c.class.as_str(),
            mutations: mutations(&c.findings),
            request: c.findings[0].request.clone(),
            cells: c.findings[0].cells.join(", "),
            findings: c.findings.len(),
            known: c.findings.iter().filter(|f| f.known.is_some()).count(),
        })
        .collect()
}
