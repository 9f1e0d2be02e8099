//! The planner: cells x suites -> jobs. Pure: no I/O, no clock, no randomness, so that the
//! same matrix and selection always give the same plan, on every CI machine of a shard.
//!
//! Agnostic suites are planned once, on the primary cell; per-target suites on every selected
//! cell their target filter allows. `--audit` plans the agnostic suites on every cell too.
//! Sharding cuts the ordered job list (by cell, then suite) into contiguous parts, so each
//! shard touches as few cells (and so builds and launches) as possible.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::errors::{Error, Result};
use crate::matrix::{Matrix, Scope, SuiteKind, quoted_list};

/// What the command line selected.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Cell names or target names; empty is every cell.
    pub cells: Vec<String>,
    /// Suite names; empty is every suite.
    pub suites: Vec<String>,
    /// This machine's part of the plan.
    pub shard: Option<Shard>,
    /// Run agnostic suites on every cell too.
    pub audit: bool,
    /// Only these jobs (`suite@cell`), for re-running what failed; `None` is every job.
    pub only: Option<std::collections::BTreeSet<String>>,
    /// Only the cases these patterns match (`CASE` or `SUITE/CASE`, `*` and `?` globs);
    /// empty is every case.
    pub cases: Vec<String>,
}

/// Whether `text` matches the glob `pattern` (`*`: any run of characters, `?`: one).
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    // The classic two-pointer match with backtracking to the last `*`.
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Whether the `--case` patterns `patterns` select the case `case` of `suite` (all cases
/// when there are none).
pub fn case_selected(patterns: &[String], suite: &str, case: &str) -> bool {
    // The evidence of a job that runs (its server's log, its data dir) goes with it.
    patterns.is_empty()
        || case.starts_with('+')
        || patterns.iter().any(|p| match p.split_once('/') {
            Some((s, c)) => glob_match(s, suite) && glob_match(c, case),
            None => glob_match(p, case),
        })
}

/// Whether the `--case` patterns may select a case of `suite`.
fn suite_selected(patterns: &[String], suite: &str) -> bool {
    patterns.is_empty()
        || patterns
            .iter()
            .any(|p| p.split_once('/').is_none_or(|(s, _)| glob_match(s, suite)))
}

/// `I/N`: the I-th of N parts, 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// 1-based index.
    pub index: usize,
    /// Number of parts.
    pub count: usize,
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("invalid shard `{s}`: expected I/N with 1 <= I <= N, such as 2/3");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let index: usize = i.trim().parse().map_err(|_| bad())?;
        let count: usize = n.trim().parse().map_err(|_| bad())?;
        if index == 0 || count == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// The plan: which suite runs on which cell.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Plan {
    /// The primary cell.
    pub primary: String,
    /// The selected cells, in matrix order.
    pub cells: Vec<PlanCell>,
    /// The selected suites, in matrix order.
    pub suites: Vec<PlanSuite>,
    /// The jobs of this shard (all jobs without a shard), ordered by cell, then suite.
    pub jobs: Vec<Job>,
    /// The ids (`suite@cell`) of every job a merge of shards must cover: the selected suites
    /// on every cell, before `--cell` and `--shard` cut the plan down.
    pub planned: Vec<String>,
    /// Counts over the whole plan.
    pub totals: Totals,
    /// The shard this plan is cut to.
    pub shard: Option<Shard>,
    /// What the command line narrowed the plan to, for the verdict's scope.
    pub narrowed: Narrowed,
    /// Whether the agnostic suites also run on every cell (`--audit`).
    #[serde(default)]
    pub audit: bool,
    /// Things the user should know about the selection.
    pub notes: Vec<String>,
}

/// What a selection left out of the full plan. A plan that leaves nothing out is the full
/// plan, the only one whose verdict (alone, or as a complete merge of its shards) signs a
/// release off.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Narrowed {
    /// The cells selected, when not every cell is.
    pub cells: Vec<String>,
    /// The suites selected, when not every suite is.
    pub suites: Vec<String>,
    /// Only the jobs that failed in an earlier run.
    pub rerun: bool,
    /// The `--case` patterns, when some cases only are selected.
    #[serde(default)]
    pub cases: Vec<String>,
}

impl Narrowed {
    /// Whether nothing but the shard (which a merge puts back) was left out.
    pub fn is_whole(&self) -> bool {
        self.cells.is_empty() && self.suites.is_empty() && !self.rerun && self.cases.is_empty()
    }

    /// Whether the plan runs `case` of `suite` (when it runs the suite).
    pub fn has_case(&self, suite: &str, case: &str) -> bool {
        case_selected(&self.cases, suite, case)
    }
}

/// A selected cell.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlanCell {
    /// Its name.
    pub name: String,
    /// Its target's name.
    pub target: String,
    /// Its build triple.
    pub triple: String,
    /// Its runtime's kind.
    pub runtime: String,
    /// Whether it is the primary cell.
    pub primary: bool,
    /// Its axis values.
    pub values: BTreeMap<String, String>,
}

/// A selected suite.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlanSuite {
    /// Its name.
    pub name: String,
    /// Its kind.
    pub kind: SuiteKind,
    /// Its scope.
    pub scope: Scope,
}

/// One suite on one cell.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    /// The suite.
    pub suite: String,
    /// The cell.
    pub cell: String,
    /// The suite's scope.
    pub scope: Scope,
    /// An agnostic suite planned off the primary cell by `--audit`.
    pub audit: bool,
}

impl Job {
    /// The job's stable identity.
    pub fn id(&self) -> JobId {
        JobId::new(&self.suite, &self.cell)
    }
}

/// A job's identity: its suite on its cell, written `suite@cell` (names have no `@`), in
/// results.json, durations and `--rerun-failed`. Written and read here only.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct JobId {
    /// The suite.
    pub suite: String,
    /// The cell.
    pub cell: String,
}

impl JobId {
    /// The job of `suite` on `cell`.
    pub fn new(suite: &str, cell: &str) -> JobId {
        JobId {
            suite: suite.to_owned(),
            cell: cell.to_owned(),
        }
    }

    /// The id `text` writes (`suite@cell`), if it is one.
    pub fn parse(text: &str) -> Option<JobId> {
        let (suite, cell) = text.split_once('@')?;
        (!suite.is_empty() && !cell.is_empty()).then(|| JobId::new(suite, cell))
    }
}

impl std::fmt::Display for JobId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}@{}", self.suite, self.cell)
    }
}

/// Counts over the whole plan (before sharding).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Totals {
    /// Selected cells.
    pub cells: usize,
    /// Selected suites.
    pub suites: usize,
    /// Planned suite runs.
    pub runs: usize,
    /// Suite runs if every suite that runs at all ran on every selected cell.
    pub naive: usize,
    /// `naive - runs`.
    pub saved: usize,
    /// `saved / naive` in percent, one decimal.
    pub saved_percent: f64,
    /// Suite runs in this shard.
    pub shard_runs: usize,
}

/// Plans `selection` of `matrix`.
pub fn plan(matrix: &Matrix, selection: &Selection) -> Result<Plan> {
    let cells: Vec<&crate::matrix::Cell> = if selection.cells.is_empty() {
        matrix.cells.iter().collect()
    } else {
        for wanted in &selection.cells {
            if !matrix
                .cells
                .iter()
                .any(|c| &c.name == wanted || &c.target == wanted)
            {
                return Err(Error::Selection(format!(
                    "unknown cell `{wanted}`: expected a cell or target name, one of {}",
                    quoted_list(matrix.cells.iter().map(|c| c.name.as_str()))
                )));
            }
        }
        matrix
            .cells
            .iter()
            .filter(|c| {
                selection
                    .cells
                    .iter()
                    .any(|w| w == &c.name || w == &c.target)
            })
            .collect()
    };
    let known: HashSet<&str> = matrix.suites.iter().map(|s| s.name.as_str()).collect();
    let wanted_suites: HashSet<&str> = selection.suites.iter().map(String::as_str).collect();
    for wanted in &selection.suites {
        if !known.contains(wanted.as_str()) {
            return Err(Error::Selection(format!(
                "unknown suite `{wanted}`: expected one of {}",
                quoted_list(matrix.suites.iter().map(|s| s.name.as_str()))
            )));
        }
    }
    let suites: Vec<&crate::matrix::Suite> = matrix
        .suites
        .iter()
        .filter(|s| wanted_suites.is_empty() || wanted_suites.contains(s.name.as_str()))
        .filter(|s| suite_selected(&selection.cases, &s.name))
        .collect();
    if suites.is_empty() && !selection.cases.is_empty() {
        return Err(Error::Selection(format!(
            "no suite matches --case {}: expected SUITE/CASE or CASE, with a suite among {}",
            selection.cases.join(", "),
            quoted_list(matrix.suites.iter().map(|s| s.name.as_str()))
        )));
    }
    let primary_selected = cells.iter().any(|c| c.name == matrix.primary);

    let mut notes = Vec::new();
    let jobs = jobs_of(matrix, &cells, &suites, selection);
    let skipped: Vec<&str> = suites
        .iter()
        .filter(|s| s.scope == Scope::Agnostic)
        .map(|s| s.name.as_str())
        .collect();
    if !primary_selected && !selection.audit && !skipped.is_empty() {
        notes.push(format!(
            "agnostic suites {} run on the primary cell `{}`, which is not selected",
            quoted_list(skipped),
            matrix.primary
        ));
    }

    let runs = jobs.len();
    // Naive: every suite that runs at all in this selection, on every selected cell. A suite
    // left out because its cell is not selected was not saved, so it does not count.
    let running = jobs
        .iter()
        .map(|j| j.suite.as_str())
        .collect::<HashSet<_>>()
        .len();
    let naive = cells.len() * running;
    let saved = naive.saturating_sub(runs);
    // What a merge of shards must cover: the selected suites on every cell of the matrix,
    // so that CI jobs split by `--cell` (one runner per platform) merge like `--shard`s.
    let planned: Vec<String> = if selection.cells.is_empty() {
        jobs.iter().map(|j| j.id().to_string()).collect()
    } else {
        let all: Vec<&crate::matrix::Cell> = matrix.cells.iter().collect();
        jobs_of(matrix, &all, &suites, selection)
            .iter()
            .map(|j| j.id().to_string())
            .collect()
    };
    let jobs = match selection.shard {
        None => jobs,
        Some(shard) => shard_of(jobs, shard),
    };
    let narrowed = Narrowed {
        cells: if cells.len() == matrix.cells.len() {
            Vec::new()
        } else {
            cells.iter().map(|c| c.name.clone()).collect()
        },
        suites: if suites.len() == matrix.suites.len() {
            Vec::new()
        } else {
            suites.iter().map(|s| s.name.clone()).collect()
        },
        rerun: selection.only.is_some(),
        cases: selection.cases.clone(),
    };
    Ok(Plan {
        primary: matrix.primary.clone(),
        cells: cells
            .iter()
            .map(|c| {
                let target = matrix.target(&c.target).expect("cells name known targets");
                PlanCell {
                    name: c.name.clone(),
                    target: c.target.clone(),
                    triple: target.triple.clone(),
                    runtime: target.runtime.kind().to_owned(),
                    primary: c.name == matrix.primary,
                    values: c.values.iter().cloned().collect(),
                }
            })
            .collect(),
        suites: suites
            .iter()
            .map(|s| PlanSuite {
                name: s.name.clone(),
                kind: s.kind(),
                scope: s.scope,
            })
            .collect(),
        totals: Totals {
            cells: cells.len(),
            suites: suites.len(),
            runs,
            naive,
            saved,
            saved_percent: if naive == 0 {
                0.0
            } else {
                (saved as f64 * 1000.0 / naive as f64).round() / 10.0
            },
            shard_runs: jobs.len(),
        },
        jobs,
        planned,
        shard: selection.shard,
        narrowed,
        audit: selection.audit,
        notes,
    })
}

/// The jobs of `suites` on `cells`, ordered by cell, then suite.
fn jobs_of(
    matrix: &Matrix,
    cells: &[&crate::matrix::Cell],
    suites: &[&crate::matrix::Suite],
    selection: &Selection,
) -> Vec<Job> {
    let mut jobs = Vec::new();
    for cell in cells {
        let is_primary = cell.name == matrix.primary;
        for suite in suites {
            let planned = match suite.scope {
                Scope::Agnostic => is_primary || selection.audit,
                Scope::PerTarget => suite
                    .targets
                    .as_ref()
                    .is_none_or(|t| t.contains(&cell.target)),
            };
            let id = JobId::new(&suite.name, &cell.name).to_string();
            if planned
                && selection
                    .only
                    .as_ref()
                    .is_none_or(|only| only.contains(&id))
            {
                jobs.push(Job {
                    suite: suite.name.clone(),
                    cell: cell.name.clone(),
                    scope: suite.scope,
                    audit: suite.scope == Scope::Agnostic && !is_primary,
                });
            }
        }
    }
    jobs
}

/// The `shard.index`-th contiguous part of `jobs`; parts differ in size by one at most.
fn shard_of(jobs: Vec<Job>, shard: Shard) -> Vec<Job> {
    let len = jobs.len();
    let start = (shard.index - 1) * len / shard.count;
    let end = shard.index * len / shard.count;
    jobs.into_iter().skip(start).take(end - start).collect()
}

impl Plan {
    /// The cells that have at least one job in this plan (this shard).
    pub fn active_cells(&self) -> impl Iterator<Item = &PlanCell> {
        let active: HashSet<&str> = self.jobs.iter().map(|j| j.cell.as_str()).collect();
        self.cells
            .iter()
            .filter(move |c| active.contains(c.name.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_id_reads_back_what_it_writes() {
        let id = JobId::new("files", "windows-2025");
        assert_eq!(id.to_string(), "files@windows-2025");
        assert_eq!(JobId::parse(&id.to_string()), Some(id));
        for broken in ["files", "@cell", "suite@", ""] {
            assert_eq!(JobId::parse(broken), None, "{broken}");
        }
    }
}
