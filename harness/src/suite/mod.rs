//! Suites: run one suite against one cell's server and say what happened, case by case.
//!
//! A suite is loaded (its files read and checked) once, before anything is built, and then
//! run against each cell's server through the [`LoadedSuite`] trait. The kinds are listed in
//! one place, [`load`]: a new kind is a module implementing the trait and one line there.

pub mod command;
pub mod evidence;
pub mod explore;
pub mod http;
pub mod junit;

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};

use crate::diagnostic::Diagnostic;
use crate::errors::{Error, Result};
use crate::matrix::{Matrix, Suite, SuiteSpec};
use crate::units::ms;

/// What one case did.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CaseResult {
    /// The case name.
    pub name: String,
    /// Whether it passed (a skipped case did not fail).
    pub passed: bool,
    /// Its own test command skipped it (a command suite's JUnit says so).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub skipped: bool,
    /// Why it failed: the request, the response and the expectation side by side.
    pub failure: Option<String>,
    /// The observed, normalized behaviour of each snapshotted step.
    pub observed: Vec<Observed>,
    /// Every request and its raw response, as sent and received (kept in the job's logs,
    /// not in the results).
    #[serde(skip)]
    pub exchanges: Vec<Exchange>,
    /// Where they were kept: a file in the cell's log folder
    /// (`exchanges/<suite>/<case>.http`), when the case made requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exchange_log: Option<String>,
    /// The byte ranges of the server's standard output and standard error written while
    /// the case ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_spans: Option<[[u64; 2]; 2]>,
    /// How long it took.
    #[serde(with = "ms", rename = "duration_ms")]
    pub duration: Duration,
}

/// The folder of a cell's logs that holds every case's requests and raw responses:
/// `exchanges/<suite>/<case>.http`.
pub const EXCHANGES: &str = "exchanges";

/// One request of a case and the raw response to it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Exchange {
    /// The step.
    pub step: String,
    /// The request: its line, headers and body.
    pub request: String,
    /// The response as received: status, headers and body (lossily decoded), or why there
    /// was none.
    pub response: String,
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
}

/// Where a suite runs: one cell's server, and the folders the harness gives the job.
#[derive(Debug, Clone)]
pub struct SuiteEnv {
    /// The suite.
    pub suite: String,
    /// The `--case` patterns: only the cases they select run (all when empty).
    pub cases: Vec<String>,
    /// The server's base URL.
    pub base_url: String,
    /// The cell.
    pub cell: String,
    /// The cell's target.
    pub target: String,
    /// Where a command suite writes snapshots.
    pub snapshot_dir: PathBuf,
    /// Where a command suite writes its JUnit XML.
    pub junit: PathBuf,
    /// Where a command suite's output goes.
    pub log: PathBuf,
    /// The server's logs, which it writes while the suite runs.
    pub server_logs: crate::runtime::ServerLogs,
    /// How long a line the server writes may take to reach its log (its runtime's
    /// [`crate::runtime::Runtime::log_latency`]).
    pub log_latency: std::time::Duration,
    /// The server's data dir, as the host sees it.
    pub data_dir: PathBuf,
    /// What brings the data dir back to the host before it is read, when the server's
    /// runtime keeps it elsewhere (a pod in a cluster).
    pub data_dir_sync: Option<crate::runtime::DataDirSync>,
    /// What the harness put into this server's world, named in every snapshot.
    pub injected: crate::normalize::Injected,
    /// What the suite is doing now (the case it runs), for the message when its job runs
    /// out of time.
    pub doing: Doing,
    /// Whether the server has exited: its requests stop waiting the moment it has.
    pub gone: ServerGone,
    /// What the suite's commands started and left running, stopped apart.
    pub leaked: Leaked,
}

/// Processes a suite's commands left running, which the harness stopped: shared between
/// the job, which reports them, and its suite.
#[derive(Debug, Clone, Default)]
pub struct Leaked(Arc<std::sync::Mutex<Vec<String>>>);

impl Leaked {
    /// Adds what was found.
    pub fn extend(&self, found: impl IntoIterator<Item = String>) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(found);
    }

    /// Everything found so far.
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// Whether a job's server has exited, shared between the job, which watches the server, and
/// its suite. When the job itself is dropped (its timeout, Ctrl-C), the suite's work is
/// abandoned: its requests end and its evidence stops being read.
#[derive(Debug, Clone)]
pub struct ServerGone(tokio::sync::watch::Receiver<bool>);

impl ServerGone {
    /// A flag, and the sender that raises it (dropping the sender abandons the work).
    pub fn new() -> (tokio::sync::watch::Sender<bool>, ServerGone) {
        let (tx, rx) = tokio::sync::watch::channel(false);
        (tx, ServerGone(rx))
    }

    /// Whether it has exited, or the job no longer wants anything of it.
    pub fn now(&self) -> bool {
        *self.0.borrow() || self.abandoned()
    }

    /// Whether the job no longer wants anything of its suite.
    pub fn abandoned(&self) -> bool {
        self.0.has_changed().is_err()
    }

    /// Resolves once it has exited, or the job no longer wants anything of it.
    pub async fn wait(&mut self) {
        let _ = self.0.wait_for(|gone| *gone).await;
    }
}

/// What a job is doing, shared between the job and its suite.
#[derive(Debug, Clone, Default)]
pub struct Doing(Arc<std::sync::Mutex<String>>);

impl Doing {
    /// Says what the job does now.
    pub fn set(&self, what: impl Into<String>) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = what.into();
    }

    /// What the job does now.
    pub fn get(&self) -> String {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// A suite whose files were read and checked, ready to run against any cell's server.
pub trait LoadedSuite: Send + Sync {
    /// Where the behaviour of `case` is defined, as its snapshots name it (a case file
    /// relative to the matrix, or the suite's command).
    fn source(&self, case: &str) -> String;
    /// What defines it, as bytes whose hash changes when the suite does (its case files'
    /// contents, or its command line and environment).
    fn definition(&self) -> Vec<u8>;
    /// The files and folders its results depend on besides its definition and the server,
    /// for the result cache: none for a suite whose definition is all of it; `None` when
    /// they are not known (a command whose sources the matrix does not name), so that its
    /// jobs always run.
    fn inputs(&self) -> Option<Vec<std::path::PathBuf>> {
        Some(Vec::new())
    }
    /// The names of its cases, when they are known before it runs (a command's cases are
    /// known only from what it reports).
    fn cases(&self) -> Option<Vec<String>> {
        None
    }
    /// The requests its cases send, as (case, method, path), when they are known before it
    /// runs (an `http` suite's).
    fn requests(&self) -> Vec<(String, String, String)> {
        Vec::new()
    }
    /// Runs every case against the server of `env`.
    fn run<'a>(&'a self, env: &'a SuiteEnv) -> BoxFuture<'a, Result<Vec<CaseResult>>>;
}

/// Loads `suite` of `matrix`: the one place that lists the suite kinds.
pub fn load(matrix: &Matrix, suite: &Suite) -> Result<Arc<dyn LoadedSuite>> {
    Ok(match &suite.spec {
        SuiteSpec::Http(spec) => Arc::new(http::HttpSuite::load(matrix, suite, spec)?),
        SuiteSpec::Command(spec) => Arc::new(command::CommandSuite::new(matrix, suite, spec)?),
    })
}

/// The loaded suites, by name.
pub type Loaded = BTreeMap<String, Arc<dyn LoadedSuite>>;

/// Loads every suite of `matrix`: those that load, and the problems of all the others.
pub fn load_all(matrix: &Matrix) -> Result<(Loaded, Vec<Diagnostic>)> {
    let mut loaded = BTreeMap::new();
    let mut diagnostics = Vec::new();
    for suite in &matrix.suites {
        match load(matrix, suite) {
            Ok(s) => {
                loaded.insert(suite.name.clone(), s);
            }
            Err(Error::Config(d)) => diagnostics.extend(d),
            Err(e) => return Err(e),
        }
    }
    Ok((loaded, diagnostics))
}

/// A problem at `span` of the matrix file.
pub fn in_matrix(matrix: &Matrix, span: Range<usize>, message: String) -> Error {
    Error::Config(vec![Diagnostic::new(
        &matrix.file,
        &matrix.text,
        span,
        message,
    )])
}
