//! What a run observed, in memory, before anything is judged or written: every job with its
//! cases, and every snapshotted step as an [`Observation`] of one case on one cell.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::matrix::Scope;
use crate::plan::Job;
use crate::provision::Provenance;
use crate::snapfile;
use crate::suite::CaseResult;
use crate::units::ms;

/// What a job (one suite on one cell) did.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobResult {
    /// The suite.
    pub suite: String,
    /// The cell.
    pub cell: String,
    /// The suite's scope.
    pub scope: Scope,
    /// An agnostic suite run off the primary cell by `--audit`.
    pub audit: bool,
    /// Its cases; empty when the job could not run.
    pub cases: Vec<CaseResult>,
    /// Why the job could not run (build, launch or suite error).
    pub error: Option<String>,
    /// Processes its server left running outside its process group, stopped apart.
    #[serde(default)]
    pub leaked: Vec<String>,
    /// How long it took, launch and stop included.
    #[serde(with = "ms", rename = "duration_ms")]
    pub duration: Duration,
    /// Where that time went.
    #[serde(default)]
    pub phases: Phases,
    /// Not run: the result of the same job with the same inputs in an earlier run, reused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cached: Option<Cached>,
}

/// Where a reused result comes from: the job's key matched that of a job that passed in an
/// earlier run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cached {
    /// When the run it came from started (RFC 3339, UTC).
    pub run: String,
    /// That run's commit, when it had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// The job's key: SHA-256 of everything that can change its result.
    pub key: String,
    /// How long the job took in that run: the time this run saved.
    #[serde(with = "ms", rename = "saved_ms")]
    pub saved: Duration,
}

/// Where a job's time went: the rest of its duration is the harness's own overhead (waiting
/// for room, a fresh data dir, the runtime's preparation).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Phases {
    /// From launch until the readiness probe answered.
    #[serde(with = "ms", rename = "ready_ms")]
    pub ready: Duration,
    /// The suite's cases.
    #[serde(with = "ms", rename = "suite_ms")]
    pub suite: Duration,
    /// Stopping the server.
    #[serde(with = "ms", rename = "stop_ms")]
    pub stop: Duration,
    /// When the job began, counted from when the first job could (after the builds).
    #[serde(with = "ms", rename = "start_ms", default)]
    pub start: Duration,
    /// Which of the run's places (`-j`) it ran in, from 0.
    #[serde(default)]
    pub slot: usize,
}

impl JobResult {
    /// The result of `job`.
    pub fn new(
        job: &Job,
        cases: Vec<CaseResult>,
        error: Option<String>,
        leaked: Vec<String>,
        duration: Duration,
    ) -> Self {
        JobResult {
            suite: job.suite.clone(),
            cell: job.cell.clone(),
            scope: job.scope,
            audit: job.audit,
            cases,
            error,
            leaked,
            duration,
            phases: Phases::default(),
            cached: None,
        }
    }

    /// The job's identity.
    pub fn id(&self) -> crate::plan::JobId {
        crate::plan::JobId::new(&self.suite, &self.cell)
    }

    /// Whether every case passed.
    pub fn passed(&self) -> bool {
        self.error.is_none() && self.cases.iter().all(|c| c.passed)
    }

    /// Every snapshotted step of its cases, as observations; `source` names where a case's
    /// behaviour is defined (its case file, or its command).
    pub fn observations(&self, source: &dyn Fn(&str) -> String) -> Vec<Observation> {
        let mut out = Vec::new();
        for case in &self.cases {
            let source = source(&case.name);
            for o in &case.observed {
                out.push(Observation {
                    suite: self.suite.clone(),
                    case: case.name.clone(),
                    step: o.step.clone(),
                    cell: self.cell.clone(),
                    scope: self.scope,
                    audit: self.audit,
                    source: source.clone(),
                    expression: o.expression.clone(),
                    text: o.text.clone(),
                });
            }
        }
        out
    }
}

/// One snapshotted step of one case on one cell, normalized.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Observation {
    /// The suite.
    pub suite: String,
    /// The case.
    pub case: String,
    /// The step.
    pub step: String,
    /// The cell.
    pub cell: String,
    /// The suite's scope.
    pub scope: Scope,
    /// Planned off the primary cell by `--audit`.
    pub audit: bool,
    /// The case file (or command) it comes from.
    pub source: String,
    /// The request (or output name).
    pub expression: String,
    /// The normalized snapshot text.
    pub text: String,
}

impl Observation {
    /// Its snapshot name.
    pub fn name(&self) -> String {
        snapfile::name(&self.suite, &self.case, &self.step, &self.cell)
    }
}

/// Everything a run (or the shards of a merge) observed.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Every job with its cases.
    pub jobs: Vec<JobResult>,
    /// Every snapshotted step.
    pub observations: Vec<Observation>,
    /// Where and with what it happened.
    pub provenance: Provenance,
    /// How long it took.
    pub duration: Duration,
    /// How much of that went before the jobs began: validation, provisioning, the builds.
    pub prepare: Duration,
}
