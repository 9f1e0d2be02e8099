//! The scheduler: drives a plan. It provisions what the plan's cells need, builds each
//! distinct build once, then runs the cells at once; within a cell, for every job, it
//! launches a fresh server in the cell's runtime,
//! waits until it is ready, runs the suite against it and stops it, reporting each step as a
//! [`RunEvent`]. A job whose build or launch fails is an error of that job; the rest go on.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::build::{Artifacts, build_all};
use crate::errors::{Error, Result};
use crate::events::{Events, RunEvent};
use crate::matrix::{Matrix, Scope, SuiteKind};
use crate::plan::{Job, Plan};
use crate::provision::{self, Ctx, Needs, container};
use crate::report::{self, Finish, Results};
use crate::runtime::{self, Launch, Server};
use crate::snapshot::{self, Observation, normalize};
use crate::suite::{self, CaseResult, SuiteEnv};

/// How to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Results, logs and scratch space.
    pub out_dir: PathBuf,
    /// The provisioning cache.
    pub cache_dir: PathBuf,
    /// Where progress goes.
    pub events: Events,
    /// How long a server gets to stop before it is killed.
    pub stop_grace: Duration,
    /// Make new and changed snapshots the baselines.
    pub accept: bool,
    /// Run the primary cell's jobs a second time and report what differs between the runs.
    pub noise_check: bool,
}

/// What a job did.
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
    /// How long it took, launch and stop included.
    #[serde(with = "crate::report::ms", rename = "duration_ms")]
    pub duration: Duration,
}

impl JobResult {
    /// Whether every case passed.
    pub fn passed(&self) -> bool {
        self.error.is_none() && self.cases.iter().all(|c| c.passed)
    }
}

/// A step whose behaviour differed between two runs of the same build on the same cell.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Noise {
    /// The suite.
    pub suite: String,
    /// The case.
    pub case: String,
    /// The step.
    pub step: String,
    /// The JSON fields that differed (empty when the body is not JSON).
    pub fields: Vec<String>,
    /// A normalization rule that would remove the difference.
    pub suggestion: String,
    /// The difference between the two runs.
    pub diff: String,
}

/// Runs `plan`, and finishes with the comparison, the snapshots and the verdict.
pub async fn run(matrix: &Matrix, plan: &Plan, options: &RunOptions) -> Result<Results> {
    let start = Instant::now();
    let started = std::time::SystemTime::now();
    let events = &options.events;
    let cells: Vec<&crate::matrix::Cell> = plan
        .active_cells()
        .map(|c| matrix.cell(&c.name).expect("planned cells exist"))
        .collect();
    let ctx = Ctx {
        cache: options.cache_dir.clone(),
        events: events.clone(),
    };
    let needs = Needs::of(matrix, cells.iter().map(|c| c.name.as_str()));
    let provisioned = provision::provision(&needs, &ctx).await?;
    for engine in provisioned.engines.values() {
        container::remove_leftovers(&engine.program).await?;
    }
    let logs = options.out_dir.join("logs");
    let _ = std::fs::remove_file(logs.join("build.log"));
    let _ = std::fs::remove_file(logs.join("build.log"));
    let artifacts = build_all(matrix, &cells, &provisioned, &logs, events).await?;
    // One build log serves every cell (all triples build in one cargo invocation); each
    // cell's log folder gets it, so that a cell's folder tells its whole story.
    for cell in &cells {
        let dir = logs.join(&cell.name);
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        let _ = std::fs::copy(logs.join("build.log"), dir.join("build.log"));
    }
    // One build log serves every cell (all triples build in one cargo invocation); each
    // cell's log folder gets it, so that a cell's folder tells its whole story.
    for cell in &cells {
        let dir = logs.join(&cell.name);
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        let _ = std::fs::copy(logs.join("build.log"), dir.join("build.log"));
    }
    let scratch = options.out_dir.join("tmp");
    std::fs::create_dir_all(&scratch).map_err(|e| Error::io(&scratch, e))?;

    let ctx = JobCtx {
        matrix,
        artifacts: &artifacts,
        provisioned: &provisioned,
        scratch: &scratch,
        logs: &logs,
        options,
    };
    // Cells run at once (each one's jobs in order), so the matrix takes about as long as its
    // slowest cell, not the sum of them.
    let per_cell =
        futures_util::future::join_all(cells.iter().map(|cell| ctx.run_cell(plan, cell))).await;
    let mut jobs = Vec::new();
    for cell_jobs in per_cell {
        jobs.extend(cell_jobs?);
    }
    let observations = observations_of(matrix, &jobs);
    let mut noise = Vec::new();
    if options.noise_check
        && let Some(primary) = cells.iter().find(|c| c.name == matrix.primary)
    {
        let again = ctx.run_cell(plan, primary).await?;
        noise = noise_between(&observations, &observations_of(matrix, &again));
    }
    let provenance = report::provenance::collect(&matrix.root, &provisioned, started).await;
    report::finish(Finish {
        matrix,
        plan: plan.clone(),
        planned: plan.planned.clone(),
        jobs,
        observations,
        noise,
        provenance,
        accept: options.accept,
        duration: start.elapsed(),
    })
}

/// Every snapshotted step of `jobs`, as observations.
fn observations_of(matrix: &Matrix, jobs: &[JobResult]) -> Vec<Observation> {
    let mut out = Vec::new();
    for job in jobs {
        let suite = matrix.suite(&job.suite).expect("planned suites exist");
        for case in &job.cases {
            let source = match (&suite.kind, &suite.path) {
                (SuiteKind::Http, Some(path)) => {
                    let rel = path.strip_prefix(&matrix.root).unwrap_or(path);
                    format!("{}/{}.toml", rel.display(), case.name)
                }
                _ => format!("suite {}", suite.name),
            };
            for o in &case.observed {
                out.push(Observation {
                    suite: job.suite.clone(),
                    case: case.name.clone(),
                    step: o.step.clone(),
                    cell: job.cell.clone(),
                    scope: job.scope,
                    audit: job.audit,
                    source: source.clone(),
                    expression: o.expression.clone(),
                    text: o.text.clone(),
                    json: o.json.clone(),
                });
            }
        }
    }
    out
}

/// What differs between two runs of the same jobs, with a rule that would remove it.
fn noise_between(first: &[Observation], second: &[Observation]) -> Vec<Noise> {
    let mut out = Vec::new();
    for a in first {
        let Some(b) = second.iter().find(|b| {
            b.suite == a.suite && b.case == a.case && b.step == a.step && b.cell == a.cell
        }) else {
            continue;
        };
        if snapshot::store::same(&a.text, &b.text) {
            continue;
        }
        let fields = match (&a.json, &b.json) {
            (Some(x), Some(y)) => normalize::differing_paths(x, y),
            _ => Vec::new(),
        };
        let suggestion = if fields.is_empty() {
            "a [[normalize.filter]] regex matching the changing text (see the diff)".to_owned()
        } else {
            format!(
                "[normalize] redact = [{}]",
                fields
                    .iter()
                    .map(|f| format!("\"{f}\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        out.push(Noise {
            suite: a.suite.clone(),
            case: a.case.clone(),
            step: a.step.clone(),
            fields,
            suggestion,
            diff: snapshot::compare::unified(&a.text, &b.text, "first run", "second run"),
        });
    }
    out
}

/// What every job of a run shares.
struct JobCtx<'a> {
    matrix: &'a Matrix,
    artifacts: &'a Artifacts,
    provisioned: &'a crate::provision::Provisioned,
    scratch: &'a Path,
    logs: &'a Path,
    options: &'a RunOptions,
}

impl JobCtx<'_> {
    /// Runs the plan's jobs of `cell`, one after the other, in its runtime.
    async fn run_cell(&self, plan: &Plan, cell: &crate::matrix::Cell) -> Result<Vec<JobResult>> {
        let target = self
            .matrix
            .target(&cell.target)
            .expect("cells name known targets");
        let runtime = runtime::for_target(&target.runtime, self.provisioned)?;
        let _reserved = match runtime.exclusive() {
            Some(path) => Some(provision::lock(&path).await?),
            None => None,
        };
        let mut results = Vec::new();
        for job in plan.jobs.iter().filter(|j| j.cell == cell.name) {
            results.push(self.run_job(job, runtime.as_ref()).await);
        }
        Ok(results)
    }
}

impl JobCtx<'_> {
    /// Runs one job; a launch or suite error is the job's error, not the run's.
    async fn run_job(&self, job: &Job, runtime: &dyn runtime::Runtime) -> JobResult {
        let options = self.options;
        let start = Instant::now();
        let outcome = self.launch_and_run(job, runtime).await;
        let (cases, error) = match outcome {
            Ok(cases) => (cases, None),
            Err(e) => {
                options.events.emit(RunEvent::JobError {
                    suite: job.suite.clone(),
                    cell: job.cell.clone(),
                    error: e.to_string(),
                });
                (Vec::new(), Some(e.to_string()))
            }
        };
        let result = JobResult {
            suite: job.suite.clone(),
            cell: job.cell.clone(),
            scope: job.scope,
            audit: job.audit,
            cases,
            error,
            duration: start.elapsed(),
        };
        if result.error.is_none() {
            options.events.emit(RunEvent::JobFinished {
                suite: job.suite.clone(),
                cell: job.cell.clone(),
                passed: result.cases.iter().filter(|c| c.passed).count(),
                failures: result
                    .cases
                    .iter()
                    .filter_map(|c| c.failure.as_ref().map(|f| format!("{}: {f}", c.name)))
                    .collect(),
                duration: result.duration,
            });
        }
        result
    }

    /// Launches a fresh server for the job, waits until it is ready, runs the suite, stops it.
    async fn launch_and_run(
        &self,
        job: &Job,
        runtime: &dyn runtime::Runtime,
    ) -> Result<Vec<CaseResult>> {
        let (matrix, artifacts, scratch, logs, options) = (
            self.matrix,
            self.artifacts,
            self.scratch,
            self.logs,
            self.options,
        );
        let cell = matrix.cell(&job.cell).expect("planned cells exist");
        let suite = matrix.suite(&job.suite).expect("planned suites exist");
        let artifact = match artifacts.get(&cell.name) {
            Some(Ok(path)) => path.clone(),
            Some(Err(why)) => {
                return Err(Error::Command {
                    command: "build".into(),
                    problem: format!("of cell `{}` failed", cell.name),
                    stderr: why.clone(),
                });
            }
            None => unreachable!("every active cell has a build result"),
        };
        // Load the cases before launching, so that a broken case file costs no launch.
        let cases = match suite.kind {
            SuiteKind::Http => Some(suite::http::load(
                suite.path.as_deref().expect("validated"),
            )?),
            SuiteKind::Command => None,
        };
        let work = tempfile::Builder::new()
            .prefix(&format!("{}-{}-", cell.name, suite.name))
            .tempdir_in(scratch)
            .map_err(|e| Error::io(scratch, e))?;
        let data_dir = work.path().join("data");
        std::fs::create_dir_all(&data_dir).map_err(|e| Error::io(&data_dir, e))?;
        if let Some(seed) = &matrix.server.seed {
            copy_dir(seed, &data_dir)?;
        }
        let cell_logs = logs.join(&cell.name);
        let log = cell_logs.join(format!("{}.server.log", suite.name));
        let _ = std::fs::remove_file(&log);
        let launch = Launch {
            cell,
            artifact: &artifact,
            port: crate::process::free_port()?,
            data_dir: &data_dir,
            log: &log,
            args: &matrix.server.args,
            env: runtime::server_env(matrix, cell),
            name: format!(
                "port-harness-{}-{}-{}",
                std::process::id(),
                cell.name,
                suite.name
            ),
        };
        let mut server: Server = runtime.start(&launch)?;
        options.events.emit(RunEvent::ServerStarting {
            cell: cell.name.clone(),
            suite: suite.name.clone(),
            command: server.command().to_owned(),
        });
        let after = server.wait_ready(&matrix.server.ready).await?;
        options.events.emit(RunEvent::ServerReady {
            cell: cell.name.clone(),
            base_url: server.base_url.clone(),
            after,
        });
        let results = match cases {
            Some(cases) => {
                let base = server.base_url.clone();
                let rules = matrix.normalize.clone();
                tokio::task::spawn_blocking(move || {
                    cases
                        .iter()
                        .map(|(name, case)| suite::http::run_case(&base, name, case, &rules))
                        .collect::<Vec<_>>()
                })
                .await
                .expect("cases do not panic")
            }
            None => {
                let env = SuiteEnv {
                    base_url: server.base_url.clone(),
                    cell: cell.name.clone(),
                    target: cell.target.clone(),
                    snapshot_dir: work.path().join("snapshots"),
                    log: cell_logs.join(format!("{}.command.log", suite.name)),
                };
                suite::command::run(suite, &matrix.root, &env, &matrix.normalize).await?
            }
        };
        let forced = server.stop(options.stop_grace).await;
        options.events.emit(RunEvent::ServerStopped {
            cell: cell.name.clone(),
            forced,
            log: log.display().to_string(),
        });
        Ok(results)
    }
}

/// Copies the seed folder into a fresh data dir.
fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    let entries = std::fs::read_dir(from).map_err(|e| Error::io(from, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(from, e))?;
        let dest = to.join(entry.file_name());
        if entry
            .file_type()
            .map_err(|e| Error::io(entry.path(), e))?
            .is_dir()
        {
            std::fs::create_dir_all(&dest).map_err(|e| Error::io(&dest, e))?;
            copy_dir(&entry.path(), &dest)?;
        } else {
            std::fs::copy(entry.path(), &dest).map_err(|e| Error::io(&dest, e))?;
        }
    }
    Ok(())
}
