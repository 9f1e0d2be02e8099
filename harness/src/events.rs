//! What a run reports while it goes: one closed enum, sent to whoever drives the run (the CLI
//! prints it; tests collect it). The library never prints.

use std::time::Duration;

use serde::Serialize;
use tokio::sync::mpsc::UnboundedSender;

/// The state of one prerequisite after provisioning looked at it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Provision {
    /// It was there already (or cached from an earlier run).
    Present,
    /// It was installed, created or built now.
    Provisioned,
}

/// The phases of a run, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    /// Looking at (and installing) prerequisites.
    Provision,
    /// Building the server for each triple.
    Build,
    /// Running the jobs.
    Jobs,
    /// Running the primary cell's jobs again, for the noise check.
    NoiseCheck,
    /// Sending every cell `--explore`'s generated probes.
    Explore,
    /// Comparing snapshots and writing the results and reports.
    Compare,
}

impl Phase {
    /// Its name, as the terminal shows it.
    pub fn name(self) -> &'static str {
        match self {
            Phase::Provision => "provision",
            Phase::Build => "build",
            Phase::Jobs => "jobs",
            Phase::NoiseCheck => "noise check",
            Phase::Explore => "explore",
            Phase::Compare => "compare",
        }
    }
}

/// A job of the run, as the run starts them.
#[derive(Debug, Clone, Serialize)]
pub struct PlannedJob {
    /// The cell.
    pub cell: String,
    /// The suite.
    pub suite: String,
    /// How long it took in the last run that ran it, if any.
    #[serde(rename = "expected_ms", skip_serializing_if = "Option::is_none")]
    pub expected: Option<u64>,
}

/// A job whose result comes from an earlier run.
#[derive(Debug, Clone, Serialize)]
pub struct CachedJob {
    /// Its cell.
    pub cell: String,
    /// Its suite.
    pub suite: String,
    /// When the run its result comes from started.
    pub run: String,
}

/// One thing that happened during a run; as JSON, `{"event": "server-ready", ...}`.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum RunEvent {
    /// A phase of the run begins.
    Phase {
        /// Which.
        phase: Phase,
    },
    /// The jobs are about to run: which, and how many at once.
    JobsPlanned {
        /// Every job, in the order they start.
        jobs: Vec<PlannedJob>,
        /// How many run at once.
        parallel: usize,
    },
    /// Jobs not run: each one's inputs are those of a job that passed in an earlier run,
    /// whose result is reused.
    JobsCached {
        /// Each job, with the run its result comes from.
        jobs: Vec<CachedJob>,
    },
    /// A job started (it may still wait for its server).
    JobStarted {
        /// The suite.
        suite: String,
        /// The cell.
        cell: String,
    },
    /// Cargo finished one unit of a build (a crate compiled or found fresh).
    BuildProgress {
        /// The unit (a crate's name).
        unit: String,
    },
    /// Provisioning is about to do something slow.
    Provisioning {
        /// What.
        what: String,
    },
    /// A prerequisite is ready.
    Prerequisite {
        /// What.
        what: String,
        /// Whether it had to be provisioned now.
        state: Provision,
        /// Details (a version, a path, a configuration).
        detail: String,
    },
    /// A build started.
    BuildStarted {
        /// The build's command line.
        command: String,
    },
    /// A build finished for one triple.
    BuildFinished {
        /// The triple (and profile, when not the default).
        build: String,
        /// The artifact, or why there is none.
        result: Result<String, String>,
        /// How long the whole build took.
        #[serde(with = "crate::units::ms", rename = "duration_ms")]
        duration: Duration,
    },
    /// A cell's server is starting.
    ServerStarting {
        /// The cell.
        cell: String,
        /// The suite it is launched for.
        suite: String,
        /// The launch command.
        command: String,
        /// What the server has to itself in its runtime (a Wine prefix), if anything.
        #[serde(skip_serializing_if = "Option::is_none")]
        place: Option<String>,
    },
    /// A cell's server is ready.
    ServerReady {
        /// The cell.
        cell: String,
        /// Where it answers.
        base_url: String,
        /// How long it took.
        #[serde(with = "crate::units::ms", rename = "after_ms")]
        after: Duration,
    },
    /// A cell's server was stopped.
    ServerStopped {
        /// The cell.
        cell: String,
        /// Whether it had to be killed.
        forced: bool,
        /// Its server logs: standard output, then standard error.
        logs: [String; 2],
        /// Processes it left running outside its process group, stopped apart (pid and
        /// command line).
        leaked: Vec<String>,
    },
    /// A cell waits for something another cell or run holds.
    Waiting {
        /// The cell.
        cell: String,
        /// What it waits for.
        what: String,
    },
    /// What earlier runs left behind (their process was killed) was found and removed.
    LeftoversRemoved {
        /// Each container or process, by name or pid and command line.
        removed: Vec<String>,
    },
    /// A job (a suite on a cell) finished.
    JobFinished {
        /// The suite.
        suite: String,
        /// The cell.
        cell: String,
        /// How many cases passed.
        passed: usize,
        /// How many cases ran (passed, failed or skipped).
        cases: usize,
        /// How many cases were skipped.
        skipped: usize,
        /// The failures, each as a readable text.
        failures: Vec<String>,
        /// How long it took.
        #[serde(with = "crate::units::ms", rename = "duration_ms")]
        duration: Duration,
    },
    /// A job could not run (its build or launch failed).
    JobError {
        /// The suite.
        suite: String,
        /// The cell.
        cell: String,
        /// Why.
        error: String,
    },
}

/// Where events go. Cloning shares the destination; a closed destination drops events.
#[derive(Clone, Debug)]
pub struct Events(Option<UnboundedSender<RunEvent>>);

impl Events {
    /// Events sent to `tx`.
    pub fn new(tx: UnboundedSender<RunEvent>) -> Self {
        Events(Some(tx))
    }

    /// Events dropped.
    pub fn none() -> Self {
        Events(None)
    }

    /// Reports an event.
    pub fn emit(&self, event: RunEvent) {
        if let Some(tx) = &self.0 {
            let _ = tx.send(event);
        }
    }
}
