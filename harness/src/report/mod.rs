//! Results and reports: what a run (or a merge of shards) found, as `results.json` (a
//! versioned schema), JUnit XML for CI, and the release sign-off report in Markdown and HTML.
//!
//! [`finish`] is where a run ends, and where a merge of shards ends too: it compares the
//! observations (across cells and against the baselines), writes pending or accepted
//! snapshots, derives each case's status and the verdict. Because shards' `results.json`
//! carry their normalized observations, a merge recomputes the cross-cell diff over all of
//! them exactly as a single-machine run would.

pub mod html;
pub mod junit;
pub mod markdown;
pub mod merge;
pub mod provenance;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::errors::{Error, Result};
use crate::matrix::{Matrix, Scope};
use crate::plan::Plan;
use crate::run::{JobResult, Noise};
use crate::snapshot::{self, Acceptance, Comparison, Observation};

pub use provenance::Provenance;

/// The schema `results.json` declares; bumped on incompatible changes.
pub const SCHEMA: &str = "port-harness/results/v1";

/// Durations as whole milliseconds in JSON.
pub mod ms {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    /// Serializes a duration as milliseconds.
    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_millis() as u64)
    }

    /// Deserializes milliseconds.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_millis(u64::deserialize(d)?))
    }
}

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

    /// Reads a `results.json`.
    pub fn read(path: &Path) -> Result<Results> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let value: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| Error::io(path, std::io::Error::other(format!("not JSON: {e}"))))?;
        if value["schema"] != SCHEMA {
            return Err(Error::io(
                path,
                std::io::Error::other(format!("schema {} is not {SCHEMA}", value["schema"])),
            ));
        }
        serde_json::from_value(value)
            .map_err(|e| Error::io(path, std::io::Error::other(e.to_string())))
    }
}

/// What [`finish`] works from.
#[derive(Debug)]
pub struct Finish<'a> {
    /// The matrix.
    pub matrix: &'a Matrix,
    /// The plan run (for a merge: the whole plan).
    pub plan: Plan,
    /// The ids of every job of the whole plan.
    pub planned: Vec<String>,
    /// The jobs that ran.
    pub jobs: Vec<JobResult>,
    /// Their observations.
    pub observations: Vec<Observation>,
    /// Noise findings.
    pub noise: Vec<Noise>,
    /// Provenance.
    pub provenance: Provenance,
    /// Accept new and changed snapshots.
    pub accept: bool,
    /// How long it took.
    pub duration: Duration,
}

/// Compares, writes snapshots, and gives the results their statuses and verdict.
pub fn finish(f: Finish<'_>) -> Result<Results> {
    let dir = &f.matrix.snapshot_dir;
    let comparison = snapshot::compare(
        f.matrix,
        &f.observations,
        &|name| {
            snapshot::store::read(dir, name)
                .ok()
                .flatten()
                .map(|s| s.content)
        },
        &snapshot::today(),
    );
    let written = snapshot::write(dir, &f.observations, &comparison, f.accept)?;
    let runs = runs(&f.jobs, &f.observations, &comparison);
    let reasons = reasons(&runs, &comparison, f.accept);
    Ok(Results {
        schema: SCHEMA.to_owned(),
        plan: f.plan,
        planned: f.planned,
        jobs: f.jobs,
        runs,
        observations: f.observations,
        comparison,
        noise: f.noise,
        provenance: f.provenance,
        accepted: f.accept,
        written,
        verdict: if reasons.is_empty() {
            Verdict::Go
        } else {
            Verdict::NoGo
        },
        reasons,
        duration: f.duration,
    })
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
            let mine = |d: &&snapshot::compare::Divergence| {
                d.suite == job.suite && d.case == case.name && d.cell == job.cell
            };
            let divergences: Vec<&snapshot::compare::Divergence> =
                c.all_divergences().filter(mine).collect();
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

/// Writes `results.json`, `junit.xml`, `junit/<cell>.xml`, `report.md` and `report.html`
/// into `out`, each atomically. Returns the files written.
pub fn write_all(results: &Results, out: &Path) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    let mut files = Vec::new();
    let mut put = |name: &str, text: String| -> Result<()> {
        let path = out.join(name);
        snapshot::store::write_atomic(&path, &text)?;
        files.push(path);
        Ok(())
    };
    put(
        "results.json",
        serde_json::to_string_pretty(results).expect("results serialize") + "\n",
    )?;
    put("junit.xml", junit::render(results, None))?;
    for cell in &results.plan.cells {
        if results.runs.iter().any(|r| r.cell == cell.name) {
            put(
                &format!("junit/{}.xml", cell.name),
                junit::render(results, Some(&cell.name)),
            )?;
        }
    }
    put("report.md", markdown::render(results))?;
    put("report.html", html::render(results))?;
    Ok(files)
}
