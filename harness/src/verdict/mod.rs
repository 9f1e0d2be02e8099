//! The verdict: what a run (or a merge of shards) means. Pure: [`judge`] takes what a run
//! observed, the committed baselines and today's date, compares the observations across cells
//! and against the baselines ([`compare`]), gives each case its status and decides GO or
//! NO-GO. Because shards carry their normalized observations, a merge ([`merge`]) feeds the
//! same judgement as a run, so sharding changes where work happens, never the verdict.

pub mod compare;
pub mod merge;
pub mod noise;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::matrix::{Matrix, Scope};
use crate::outcome::{JobResult, Observation, Outcome};
use crate::plan::Plan;
use crate::provision::Provenance;
use crate::units::ms;

pub use compare::{Acceptance, BaselineChange, BaselineState, Comparison, Divergence, Stale};
pub use noise::Noise;

/// The schema `results.json` declares; bumped on incompatible changes.
pub const SCHEMA: &str = "port-harness/results/v1";

/// The outcome of one case on one cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Passed, and behaved as the primary cell.
    Passed,
    /// An expectation failed.
    Failed,
    /// The job could not run (build, launch, suite error).
    Error,
    /// Behaved differently from the primary cell, unaccepted (or expired).
    Diverged,
    /// Behaved differently from the primary cell, as accepted.
    Accepted,
}

/// One case on one cell.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunRecord {
    /// The suite.
    pub suite: String,
    /// The case (`(job)` for a job that could not run).
    pub case: String,
    /// The cell.
    pub cell: String,
    /// The suite's scope.
    pub scope: Scope,
    /// Its outcome.
    pub status: Status,
    /// How long it took.
    #[serde(with = "ms", rename = "duration_ms")]
    pub duration: Duration,
    /// Its snapshots' names.
    pub snapshots: Vec<String>,
    /// Why it failed, errored or diverged.
    pub detail: Option<String>,
}

/// GO or NO-GO.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Everything passed; every divergence is accepted.
    Go,
    /// Something did not.
    NoGo,
}

/// Everything a run found: the content of `results.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Results {
    /// [`SCHEMA`].
    pub schema: String,
    /// The plan this run (or shard) ran.
    pub plan: Plan,
    /// Every job of the whole plan, all shards together.
    pub planned: Vec<String>,
    /// Every job with its cases.
    pub jobs: Vec<JobResult>,
    /// Every case on every cell, with its outcome.
    pub runs: Vec<RunRecord>,
    /// Every snapshotted step, normalized.
    pub observations: Vec<Observation>,
    /// Divergences, stale divergences, baseline changes and audit findings.
    pub comparison: Comparison,
    /// With `--noise-check`: what differed between two runs of the primary cell.
    pub noise: Vec<Noise>,
    /// Where and with what the run happened.
    pub provenance: Provenance,
    /// Whether new and changed snapshots were accepted.
    pub accepted: bool,
    /// Snapshot files written.
    pub written: Vec<PathBuf>,
    /// The verdict.
    pub verdict: Verdict,
    /// Why the verdict is NO-GO (empty for GO).
    pub reasons: Vec<String>,
    /// How long it took.
    #[serde(with = "ms", rename = "duration_ms")]
    pub duration: Duration,
}

impl Results {
    /// Whether the verdict is GO.
    pub fn passed(&self) -> bool {
        self.verdict == Verdict::Go
    }
}

/// What [`judge`] works from.
#[derive(Debug)]
pub struct Judge<'a> {
    /// The matrix.
    pub matrix: &'a Matrix,
    /// The plan run (for a merge: the whole plan).
    pub plan: Plan,
    /// The ids of every job of the whole plan.
    pub planned: Vec<String>,
    /// What the run observed.
    pub outcome: Outcome,
    /// Noise findings.
    pub noise: Vec<Noise>,
    /// The committed baselines' contents, by snapshot name.
    pub baselines: &'a BTreeMap<String, String>,
    /// Today, `YYYY-MM-DD`, for divergence expiry.
    pub today: &'a str,
    /// Accept new and changed snapshots.
    pub accept: bool,
}

/// Compares, and gives the results their statuses and verdict. Writes nothing: the snapshot
/// files it calls for are `persist`'s, which fills in [`Results::written`].
pub fn judge(j: Judge<'_>) -> Results {
    let Outcome {
        jobs,
        observations,
        provenance,
        duration,
    } = j.outcome;
    let comparison = compare::compare(
        j.matrix,
        &observations,
        &|name| j.baselines.get(name).cloned(),
        j.today,
    );
    let runs = runs(&jobs, &observations, &comparison);
    let reasons = reasons(&runs, &comparison, j.accept);
    Results {
        schema: SCHEMA.to_owned(),
        plan: j.plan,
        planned: j.planned,
        jobs,
        runs,
        observations,
        comparison,
        noise: j.noise,
        provenance,
        accepted: j.accept,
        written: Vec::new(),
        verdict: if reasons.is_empty() {
            Verdict::Go
        } else {
            Verdict::NoGo
        },
        reasons,
        duration,
    }
}

fn runs(jobs: &[JobResult], observations: &[Observation], c: &Comparison) -> Vec<RunRecord> {
    let mut out = Vec::new();
    for job in jobs {
        if let Some(error) = &job.error {
            out.push(RunRecord {
                suite: job.suite.clone(),
                case: "(job)".into(),
                cell: job.cell.clone(),
                scope: job.scope,
                status: Status::Error,
                duration: job.duration,
                snapshots: Vec::new(),
                detail: Some(error.clone()),
            });
            continue;
        }
        for case in &job.cases {
            let mine =
                |d: &&Divergence| d.suite == job.suite && d.case == case.name && d.cell == job.cell;
            let divergences: Vec<&Divergence> = c.all_divergences().filter(mine).collect();
            let (status, detail) = if !case.passed {
                (Status::Failed, case.failure.clone())
            } else if let Some(d) = divergences
                .iter()
                .find(|d| !matches!(d.acceptance, Acceptance::Accepted { .. }))
            {
                (Status::Diverged, Some(d.diff.clone()))
            } else if let Some(d) = divergences.first() {
                let reason = match &d.acceptance {
                    Acceptance::Accepted { reason } => reason.clone(),
                    _ => String::new(),
                };
                (Status::Accepted, Some(reason))
            } else {
                (Status::Passed, None)
            };
            out.push(RunRecord {
                suite: job.suite.clone(),
                case: case.name.clone(),
                cell: job.cell.clone(),
                scope: job.scope,
                status,
                duration: case.duration,
                snapshots: observations
                    .iter()
                    .filter(|o| o.suite == job.suite && o.case == case.name && o.cell == job.cell)
                    .map(Observation::name)
                    .collect(),
                detail,
            });
        }
    }
    out
}

fn reasons(runs: &[RunRecord], c: &Comparison, accept: bool) -> Vec<String> {
    let count = |s: Status| runs.iter().filter(|r| r.status == s).count();
    let mut reasons = Vec::new();
    let failed = count(Status::Failed);
    if failed > 0 {
        reasons.push(format!("{failed} cases failed"));
    }
    let errors = count(Status::Error);
    if errors > 0 {
        reasons.push(format!("{errors} jobs could not run"));
    }
    let unaccepted = c
        .divergences
        .iter()
        .filter(|d| d.acceptance == Acceptance::Unaccepted)
        .count();
    if unaccepted > 0 {
        reasons.push(format!("{unaccepted} unaccepted divergences"));
    }
    let expired = c
        .divergences
        .iter()
        .filter(|d| matches!(d.acceptance, Acceptance::Expired { .. }))
        .count();
    if expired > 0 {
        reasons.push(format!("{expired} accepted divergences have expired"));
    }
    let not_agnostic: BTreeSet<&str> = c.not_agnostic.iter().map(|d| d.suite.as_str()).collect();
    if !not_agnostic.is_empty() {
        reasons.push(format!(
            "agnostic suites behave differently between cells: {}",
            not_agnostic.into_iter().collect::<Vec<_>>().join(", ")
        ));
    }
    if !accept && !c.baseline.is_empty() {
        reasons.push(format!(
            "{} snapshots differ from their baselines",
            c.baseline.len()
        ));
    }
    reasons
}

/// The jobs of earlier results that failed, could not run, or diverged unaccepted: what
/// `--rerun-failed` runs again.
pub fn failed_jobs(results: &Results) -> BTreeSet<String> {
    results
        .runs
        .iter()
        .filter(|r| matches!(r.status, Status::Failed | Status::Error | Status::Diverged))
        .map(|r| format!("{}@{}", r.suite, r.cell))
        .collect()
}
