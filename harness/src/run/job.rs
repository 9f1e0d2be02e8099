//! One job: a fresh server for one suite on one cell. It launches the server in the cell's
//! runtime with a fresh data dir, waits until it is ready, runs the suite against it and
//! stops it. A job whose build or launch fails is an error of that job; the rest go on.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{RunOptions, data_dir};
use crate::build::Artifacts;
use crate::errors::{Error, Result};
use crate::events::RunEvent;
use crate::matrix::DataDir;
use crate::matrix::Matrix;
use crate::normalize::Injected;
use crate::outcome::{JobResult, Observation, Phases};
use crate::plan::Job;
use crate::runtime::{self, Launch, Reservation, Runtime, Server};
use crate::suite::{CaseResult, Doing, LoadedSuite, ServerGone, SuiteEnv, evidence};

/// What every job of a run shares.
#[derive(Clone, Copy)]
pub(super) struct Jobs<'a> {
    pub matrix: &'a Matrix,
    pub suites: &'a BTreeMap<String, Arc<dyn LoadedSuite>>,
    pub artifacts: &'a Artifacts,
    pub runtimes: &'a BTreeMap<String, Arc<dyn Runtime>>,
    pub scratch: &'a Path,
    pub logs: &'a Path,
    pub options: &'a RunOptions,
    /// The `--case` patterns.
    pub plan_cases: &'a [String],
    /// No job starts after it (`--explore-time`): those left are not run.
    pub deadline: Option<std::time::Instant>,
}

impl<'a> Jobs<'a> {
    /// The same builds, runtimes and folders for other suites (a pass of generated ones,
    /// every case of them), none of whose jobs starts after `deadline`.
    pub fn with_suites<'b>(
        &self,
        matrix: &'b Matrix,
        suites: &'b BTreeMap<String, Arc<dyn LoadedSuite>>,
        deadline: Option<std::time::Instant>,
    ) -> Jobs<'b>
    where
        'a: 'b,
    {
        Jobs {
            matrix,
            suites,
            plan_cases: &[],
            deadline,
            ..*self
        }
    }

    /// Every snapshotted step of `jobs`, as observations.
    pub fn observations(&self, jobs: &[JobResult]) -> Vec<Observation> {
        jobs.iter()
            .flat_map(|job| {
                let suite = &self.suites[&job.suite];
                job.observations(&|case| match case {
                    evidence::LOG_CASE => format!("the server's log in suite {}", job.suite),
                    evidence::DATA_DIR => format!("the data dir after suite {}", job.suite),
                    case => suite.source(case),
                })
            })
            .collect()
    }

    /// The runtime of `job`'s cell (none when it was not provisioned).
    pub fn runtime(&self, job: &Job) -> Option<&Arc<dyn Runtime>> {
        let cell = self.matrix.cell(&job.cell).expect("planned cells exist");
        self.runtimes.get(&cell.target)
    }

    /// Runs one job in its cell's runtime, in what `reservation` holds there; a launch or
    /// suite error is the job's error, not the run's.
    pub async fn run_job(&self, job: &Job, reservation: Reservation) -> JobResult {
        let events = &self.options.events;
        let start = Instant::now();
        events.emit(RunEvent::JobStarted {
            suite: job.suite.clone(),
            cell: job.cell.clone(),
        });
        let cell = self.matrix.cell(&job.cell).expect("planned cells exist");
        let Some(runtime) = self.runtime(job) else {
            let error = format!("no runtime was provisioned for target `{}`", cell.target);
            return JobResult::new(job, Vec::new(), Some(error), Vec::new(), start.elapsed());
        };
        let doing = Doing::default();
        let limit = self.matrix.limits.job_timeout;
        // Past its deadline the job is dropped: its server stops like on any other path.
        let outcome = match tokio::time::timeout(
            limit,
            self.launch_and_run(job, &**runtime, &reservation, &doing),
        )
        .await
        {
            Ok(outcome) => outcome,
            Err(_) => Err(Error::Timeout {
                what: format!("job {}", job.id()),
                limit: "job_timeout",
                after: humantime::format_duration(limit).to_string(),
                doing: doing.get(),
            }),
        };
        let (cases, error, leaked, phases) = match outcome {
            Ok((cases, leaked, phases)) => (cases, None, leaked, phases),
            Err(e) => {
                events.emit(RunEvent::JobError {
                    suite: job.suite.clone(),
                    cell: job.cell.clone(),
                    error: e.to_string(),
                });
                (
                    Vec::new(),
                    Some(e.to_string()),
                    Vec::new(),
                    Phases::default(),
                )
            }
        };
        let mut result = JobResult::new(job, cases, error, leaked, start.elapsed());
        result.phases = phases;
        if result.error.is_none() {
            events.emit(RunEvent::JobFinished {
                suite: job.suite.clone(),
                cell: job.cell.clone(),
                passed: result
                    .cases
                    .iter()
                    .filter(|c| c.passed && !c.skipped)
                    .count(),
                cases: result.cases.len(),
                skipped: result.cases.iter().filter(|c| c.skipped).count(),
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
        runtime: &dyn Runtime,
        reservation: &Reservation,
        doing: &Doing,
    ) -> Result<(Vec<CaseResult>, Vec<String>, Phases)> {
        let (matrix, options) = (self.matrix, self.options);
        let cell = matrix.cell(&job.cell).expect("planned cells exist");
        let suite = &self.suites[&job.suite];
        let artifact = match self.artifacts.get(&cell.name) {
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
        doing.set("preparing the runtime");
        runtime.prepare(reservation).await?;
        let work = tempfile::Builder::new()
            .prefix(&format!("{}-{}-", cell.name, job.suite))
            .tempdir_in(self.scratch)
            .map_err(|e| Error::io(self.scratch, e))?;
        let data_dir = work.path().join("data");
        let snapshot_dir = work.path().join("snapshots");
        for dir in [&data_dir, &snapshot_dir] {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        }
        if let Some((seed, _)) = &matrix.server.seed {
            let (seed, to, mtime) = (seed.clone(), data_dir.clone(), matrix.server.seed_mtime);
            off_the_async_threads(move |_| data_dir::seed(&seed, &to, mtime)).await?;
        }
        let cell_logs = self.logs.join(&cell.name);
        let logs = runtime::ServerLogs::of(&cell_logs, &job.suite);
        logs.remove();
        let launch = Launch {
            cell,
            artifact: &artifact,
            port: crate::process::free_port()?,
            data_dir: &data_dir,
            logs: &logs,
            args: &matrix.server.args,
            env: runtime::server_env(matrix, cell),
            name: format!(
                "port-harness-{}-{}-{}",
                std::process::id(),
                cell.name,
                job.suite
            ),
        };
        doing.set("starting the server");
        let mut phases = Phases::default();
        let launched = Instant::now();
        let mut server: Server = runtime.start(&launch, reservation).await?;
        options.events.emit(RunEvent::ServerStarting {
            cell: cell.name.clone(),
            suite: job.suite.clone(),
            command: server.command().to_owned(),
            place: runtime.place(reservation),
        });
        doing.set("waiting for the server to be ready");
        let after = server.wait_ready(&matrix.server.ready).await?;
        phases.ready = launched.elapsed();
        options.events.emit(RunEvent::ServerReady {
            cell: cell.name.clone(),
            base_url: server.base_url.clone(),
            after,
        });
        let injected = Injected::new(
            &data_dir.to_string_lossy(),
            &runtime.data_dir_spelling(&data_dir),
            launch.port,
        );
        let (exited, gone) = ServerGone::new();
        let env = SuiteEnv {
            suite: job.suite.clone(),
            cases: self.plan_cases.to_vec(),
            base_url: server.base_url.clone(),
            cell: cell.name.clone(),
            target: cell.target.clone(),
            snapshot_dir,
            junit: work.path().join("junit.xml"),
            log: cell_logs.join(format!("{}.command.log", job.suite)),
            server_logs: logs.clone(),
            log_latency: runtime.log_latency(),
            data_dir: data_dir.clone(),
            data_dir_sync: server.data_dir_sync(),
            injected: injected.clone(),
            doing: doing.clone(),
            gone,
            leaked: crate::suite::Leaked::default(),
        };
        let suite_started = Instant::now();
        // The server's exit is watched while the suite runs, so that its requests stop
        // waiting at once; the suite then ends its remaining cases quickly and says why.
        let running = suite.run(&env);
        tokio::pin!(running);
        let mut results = tokio::select! {
            results = &mut running => results?,
            _ = server.exit() => {
                let _ = exited.send(true);
                running.await?
            }
        };
        phases.suite = suite_started.elapsed();
        write_exchanges(&cell_logs, &job.suite, &mut results);
        // A case that got no response at all may have lost its server.
        let lost = results.iter().any(|c| {
            c.failure
                .as_deref()
                .is_some_and(|f| f.contains(crate::suite::http::check::NO_RESPONSE))
        });
        let wait = if lost {
            Duration::from_secs(2)
        } else {
            Duration::ZERO
        };
        if let Some(status) = server.exited_within(wait).await {
            crashed(
                &mut results,
                &server.exit_text(status),
                &server.log_tail(30),
            );
        }
        let evidence = matrix
            .suite(&job.suite)
            .expect("planned suites exist")
            .evidence;
        let rules = &matrix.normalize;
        if evidence.data_dir == DataDir::Suite {
            let (dir, rules, injected) = (data_dir.clone(), rules.clone(), injected.clone());
            let sync = server.data_dir_sync();
            let tree = off_the_async_threads(move |stop| {
                evidence::observe_tree(&dir, sync.as_ref(), "tree", &rules, &injected, stop)
            })
            .await;
            results.push(evidence::case(evidence::DATA_DIR, tree));
        }
        doing.set("stopping the server");
        let stopping = Instant::now();
        let stopped = server.stop(options.stop_grace).await;
        phases.stop = stopping.elapsed();
        // The log is whole once the server has stopped.
        if evidence.log {
            let (log, rules, injected) = (logs.clone(), rules.clone(), injected.clone());
            let max = matrix.limits.max_body;
            let log =
                off_the_async_threads(move |_| evidence::observe_log(&log, max, &rules, &injected))
                    .await;
            results.push(evidence::case(evidence::LOG_CASE, log));
        }
        let mut leaked: Vec<String> = env.leaked.take();
        leaked.extend(stopped.leaked.iter().map(ToString::to_string));
        options.events.emit(RunEvent::ServerStopped {
            cell: cell.name.clone(),
            forced: stopped.forced,
            logs: logs.both().map(|p| p.display().to_string()),
            leaked: leaked.clone(),
        });
        Ok((results, leaked, phases))
    }
}

/// Runs blocking file work (a data dir's tree, a log) on the blocking pool, never on the
/// async threads; dropping the job (its timeout, Ctrl-C) asks the work to stop, which it
/// does at its next read.
async fn off_the_async_threads<T: Send + 'static>(
    work: impl FnOnce(&dyn Fn() -> bool) -> T + Send + 'static,
) -> T {
    use std::sync::atomic::{AtomicBool, Ordering};
    struct StopOnDrop(Arc<AtomicBool>);
    impl Drop for StopOnDrop {
        fn drop(&mut self) {
            self.0.store(true, Ordering::Relaxed);
        }
    }
    let stop = Arc::new(AtomicBool::new(false));
    let _asks_on_drop = StopOnDrop(stop.clone());
    tokio::task::spawn_blocking(move || work(&|| stop.load(Ordering::Relaxed)))
        .await
        .expect("evidence is read without panicking")
}

/// Moves each case's requests and raw responses out of the results (they are for reading,
/// not for the verdict) into the cell's log folder, a file per case under
/// `exchanges/<suite>/`, and notes the file in the case (best effort: the run stands without
/// them).
fn write_exchanges(cell_logs: &Path, suite: &str, results: &mut [CaseResult]) {
    let folder = format!("{}/{suite}", crate::suite::EXCHANGES);
    let dir = cell_logs.join(&folder);
    let _ = std::fs::remove_dir_all(&dir);
    if results.iter().all(|c| c.exchanges.is_empty()) || std::fs::create_dir_all(&dir).is_err() {
        return;
    }
    for case in results.iter_mut() {
        let exchanges = std::mem::take(&mut case.exchanges);
        if exchanges.is_empty() || crate::snapfile::unsafe_name(&case.name).is_some() {
            continue;
        }
        let mut text = String::new();
        for x in &exchanges {
            text.push_str(&format!(
                "### step {}\n--- request\n{}--- response\n{}\n",
                x.step, x.request, x.response
            ));
        }
        let file = format!("{}.http", case.name);
        if std::fs::write(dir.join(&file), text).is_ok() {
            case.exchange_log = Some(format!("{folder}/{file}"));
        }
    }
}

/// A server that exited while its suite ran crashed: the first case that failed says so,
/// with the server's exit status and the end of its log, instead of a bare connection error.
fn crashed(results: &mut [CaseResult], status: &str, log: &str) {
    if let Some(case) = results.iter_mut().find(|c| !c.passed) {
        let failure = case.failure.take().unwrap_or_default();
        case.failure = Some(format!(
            "the server exited ({status}) during case `{}`; the end of its log:\n{log}\n--- the case\n{failure}",
            case.name
        ));
    }
}
