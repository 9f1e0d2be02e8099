//! What a run observed, in memory, before anything is judged or written: every job with its
//! cases, and every snapshotted step as an [`Observation`] of one case on one cell.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

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
        }
    }

    /// `suite@cell`, the job's identity.
    pub fn id(&self) -> String {
        format!("{}@{}", self.suite, self.cell)
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
                    json: o.json.clone(),
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
    /// The normalized JSON body, for noise analysis.
    #[serde(skip)]
    pub json: Option<Value>,
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
}
