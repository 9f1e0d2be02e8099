//! Suites: run one suite against one cell's server and say what happened, case by case.
//! `http` suites are declarative case files ([`http`]); `command` suites are any test command
//! ([`command`]).

pub mod command;
pub mod http;
pub mod junit;

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// What one case did.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CaseResult {
    /// The case name.
    pub name: String,
    /// Whether it passed.
    pub passed: bool,
    /// Why it failed: the request, the response and the expectation side by side.
    pub failure: Option<String>,
    /// The observed, normalized behaviour of each snapshotted step.
    pub observed: Vec<Observed>,
    /// How long it took.
    #[serde(with = "crate::report::ms", rename = "duration_ms")]
    pub duration: Duration,
}

/// One snapshotted step, normalized.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Observed {
    /// The step's name.
    pub step: String,
    /// What was asked (the request line).
    pub expression: String,
    /// The normalized text.
    pub text: String,
    /// The normalized JSON body.
    #[serde(skip)]
    pub json: Option<serde_json::Value>,
}

/// Where a suite runs.
#[derive(Debug, Clone)]
pub struct SuiteEnv {
    /// The server's base URL.
    pub base_url: String,
    /// The cell.
    pub cell: String,
    /// The cell's target.
    pub target: String,
    /// Where a command suite writes snapshots.
    pub snapshot_dir: PathBuf,
    /// Where a command suite's output goes.
    pub log: PathBuf,
}
