//! The run: orchestration of every layer. It loads the plan's suites (so a broken case file
//! costs no build), provisions what the plan's cells need, builds each distinct build once,
//! runs the cells at once ([`job`]), and ends where a merge of shards ends too
//! ([`conclude`]): judged, and the snapshots written. Progress goes out as [`RunEvent`]s.
//!
//! [`RunEvent`]: crate::events::RunEvent

mod cache;
mod conclude;
mod data_dir;
pub mod explore;
mod job;
mod schedule;
mod validate;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::build::{self, build_all};
use crate::errors::{Error, Result};
use crate::events::{Events, Phase, PlannedJob, RunEvent};
use crate::matrix::Matrix;
use crate::outcome::Outcome;
use crate::plan::Plan;
use crate::provision::{self, Ctx, Needs, container};
use crate::runtime::Runtime;
use crate::verdict::{Results, noise};

pub use conclude::{Ending, conclude, merge};
pub use schedule::default_parallel;
pub use validate::{Validated, check_cases, validate};

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
    /// How many jobs run at once (1: one after another, in plan order).
    pub parallel: usize,
    /// Set when the user interrupts the run (Ctrl-C): running jobs are stopped, no new job
    /// starts, and what finished is judged and written, marked interrupted.
    pub interrupt: Interrupt,
    /// With `--explore`: after the plan's jobs, generated probes on every selected cell.
    pub explore: Option<explore::ExploreSpec>,
    /// Reuse the result of a job whose inputs are those of a job that passed in an earlier
    /// run, instead of running it (`--no-cache`: false). Passed results are kept either way.
    pub cache: bool,
}

/// A run's interruption: set once by whoever drives the run, awaited by every cell.
#[derive(Debug, Clone)]
pub struct Interrupt(tokio::sync::watch::Receiver<bool>);

/// Sets an [`Interrupt`].
#[derive(Debug)]
pub struct Interrupter(tokio::sync::watch::Sender<bool>);

impl Interrupt {
    /// An interrupt and the handle that sets it.
    pub fn new() -> (Interrupter, Interrupt) {
        let (tx, rx) = tokio::sync::watch::channel(false);
        (Interrupter(tx), Interrupt(rx))
    }

    /// One that is never set.
    pub fn never() -> Interrupt {
        Interrupt::new().1
    }

    /// Whether it is set.
    pub fn is_set(&self) -> bool {
        *self.0.borrow()
    }

    /// Waits until it is set (forever, when it never is).
    pub async fn wait(&self) {
        let mut rx = self.0.clone();
        if rx.wait_for(|set| *set).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

impl Interrupter {
    /// Interrupts the run.
    pub fn interrupt(&self) {
        let _ = self.0.send(true);
    }
}

/// Runs `plan` and finishes with the judgement: results, snapshots and reports are written
/// into `options.out_dir`, which the run claims for itself.
pub async fn run(matrix: &Matrix, plan: &Plan, options: &RunOptions) -> Result<Results> {
    // Servers run in folders of their own: every path handed to them is absolute.
    let absolute;
    let options = if options.out_dir.is_relative() {
        absolute = RunOptions {
            out_dir: std::path::absolute(&options.out_dir)
                .map_err(|e| Error::io(&options.out_dir, e))?,
            ..options.clone()
        };
        &absolute
    } else {
        options
    };
    validate::check_out(matrix, &options.out_dir)?;
    // What a job's processes leave behind becomes the harness's, mark or no mark.
    crate::process::adopt_orphans();
    let _claim = crate::persist::claim(&options.out_dir)?;
    let documented = match &options.explore {
        Some(spec) => explore::documented(matrix, spec)?,
        None => explore::Documented::default(),
    };
    // Before any job has run there is nothing to report: an interrupt ends the run at once,
    // every child stopped as the futures are dropped.
    let prepared = tokio::select! {
        prepared = prepare(matrix, plan, options) => prepared?,
        () = options.interrupt.wait() => return Err(Error::Interrupted),
    };
    finish(matrix, plan, options, prepared, documented).await
}

/// What every job needs, made ready before the first one.
struct Prepared {
    start: Instant,
    validated: Validated,
    runtimes: BTreeMap<String, Arc<dyn Runtime>>,
    artifacts: build::Artifacts,
    scratch: PathBuf,
    logs: PathBuf,
    provenance: provision::Provenance,
}

/// Validates, provisions and builds: what the builds need first, then cargo builds while
/// the runtimes are made ready.
async fn prepare(matrix: &Matrix, plan: &Plan, options: &RunOptions) -> Result<Prepared> {
    let start = Instant::now();
    let started = std::time::SystemTime::now();
    let validated = validate(matrix)?;
    let cells = prepared_cells(matrix, plan, options);
    let ctx = Ctx {
        cache: options.cache_dir.clone(),
        events: options.events.clone(),
    };
    options.events.emit(RunEvent::Phase {
        phase: Phase::Provision,
    });
    let mut needs = Needs::of(matrix, cells.iter().map(|c| c.name.as_str()));
    // A Wine prefix per Wine job that can run at once, up to one per core: more would only
    // wait for the processor.
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    needs.wine_slots = options.parallel.clamp(1, cores.max(2));
    let cargo_env = provision::for_builds(&needs, &ctx).await?;
    let logs = options.out_dir.join("logs");
    let build_log = logs.join(build::LOG);
    let _ = std::fs::remove_file(&build_log);
    let scratch = options.out_dir.join("tmp");
    // The run holds the folder: what a killed run left in it goes.
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).map_err(|e| Error::io(&scratch, e))?;
    // A runtime that cannot be made ready ends the run at once (cargo is stopped); a build
    // that ends first waits for the runtimes, so that no package install is cut short.
    let (artifacts, ((_, runtimes), provenance)) = {
        let building = async {
            options.events.emit(RunEvent::Phase {
                phase: Phase::Build,
            });
            build_all(matrix, &cells, &cargo_env, &logs, &options.events).await
        };
        // Where and with what the jobs run is known before the first starts: the result
        // cache's keys name it.
        let inputs = provision::Inputs {
            harness: env!("CARGO_PKG_VERSION").to_owned(),
            matrix_sha256: matrix.sha256(),
            suites_sha256: validated.suites_sha256.clone(),
        };
        // The machine's facts are asked at once; the engines', once they are ready.
        let wine = needs.wine();
        let readying = async {
            let (ready, facts) = tokio::join!(
                ready_runtimes(matrix, &cells, &needs, &ctx, &scratch),
                provision::provenance::host_facts(&matrix.root, wine)
            );
            let ready = ready?;
            // Each cell's runtime describes what runs its servers.
            let describe = |facts: &provision::provenance::Facts| {
                cells
                    .iter()
                    .filter_map(|cell| {
                        let target = matrix.target(&cell.target)?;
                        let runtime = ready.1.get(&target.name)?;
                        Some((cell.name.clone(), runtime.describe(&target.runtime, facts)))
                    })
                    .collect()
            };
            let provenance =
                provision::provenance::collect(facts, describe, &ready.0, started, inputs).await;
            Ok::<_, Error>((ready, provenance))
        };
        tokio::pin!(building, readying);
        tokio::select! {
            ready = &mut readying => {
                let ready = ready?;
                (building.await?, ready)
            }
            built = &mut building => {
                let ready = readying.await;
                (built?, ready?)
            }
        }
    };
    // One build log serves every cell (all triples build in one cargo invocation); each
    // cell's log folder gets it, so that a cell's folder tells its whole story.
    for cell in &cells {
        let dir = logs.join(&cell.name);
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        let _ = std::fs::copy(&build_log, dir.join(build::LOG));
    }
    Ok(Prepared {
        start,
        validated,
        runtimes,
        artifacts,
        scratch,
        logs,
        provenance,
    })
}

/// The runtimes, ready: the leftovers of killed runs removed, and what the runtimes need
/// provisioned.
async fn ready_runtimes(
    matrix: &Matrix,
    cells: &[&crate::matrix::Cell],
    needs: &Needs,
    ctx: &Ctx,
    scratch: &std::path::Path,
) -> Result<(provision::Provisioned, BTreeMap<String, Arc<dyn Runtime>>)> {
    // What runs killed with SIGKILL left running goes before anything of this run starts (a
    // wineserver of theirs would pass for this run's own): their containers through the
    // engine, which ends the processes in them (they carry the run's mark too), then the
    // rest of their processes, found by their mark.
    let mut removed: Vec<String> = Vec::new();
    let mut cleared = std::collections::BTreeSet::new();
    if crate::process::dead_runs_left() {
        for program in needs.engine_programs().await {
            // An engine that cannot list its containers runs none: the sweep does the rest.
            if let Ok(names) = leftover_containers(program).await {
                removed.extend(names);
                cleared.insert(program);
            }
        }
        removed.extend(
            crate::process::sweep_dead_runs()
                .iter()
                .map(|p| format!("process {p}")),
        );
    }
    // Then what they left in the machine's temporary folder (a build's own).
    removed.extend(
        crate::process::remove_dead_runs_temp()
            .iter()
            .map(|p| format!("temporary folder {}", p.display())),
    );
    let mut provisioned = provision::Provisioned {
        wine: provision::for_wine(needs, ctx).await?,
        ..Default::default()
    };
    let targets: std::collections::BTreeSet<&str> =
        cells.iter().map(|c| c.target.as_str()).collect();
    let mut runtimes = crate::runtime::runtimes(
        matrix,
        targets.iter().copied(),
        crate::runtime::Stage::WithoutEngine,
        &provisioned,
        scratch,
    )?;
    provisioned.engines = provision::for_containers(needs, ctx).await?;
    // The containers of killed runs that stopped (nothing of theirs to sweep), from the
    // engines not cleared above.
    for engine in provisioned.engines.values() {
        if cleared.insert(engine.program.as_str()) {
            removed.extend(leftover_containers(&engine.program).await?);
        }
    }
    provisioned.clusters = provision::for_clusters(needs).await?;
    // A cluster's pods of killed runs on this machine: a pod outlives its run wherever it
    // runs.
    for kubectl in provisioned.clusters.values() {
        removed.extend(provision::kube::remove_leftovers(kubectl).await?);
    }
    if !removed.is_empty() {
        ctx.events.emit(RunEvent::LeftoversRemoved { removed });
    }
    runtimes.extend(crate::runtime::runtimes(
        matrix,
        targets.iter().copied(),
        crate::runtime::Stage::Containers,
        &provisioned,
        scratch,
    )?);
    Ok((provisioned, runtimes))
}

/// Removes the containers of killed runs `program` has, and says what it removed.
async fn leftover_containers(program: &str) -> Result<Vec<String>> {
    Ok(container::remove_leftovers(program)
        .await?
        .into_iter()
        .map(|name| format!("{program} container {name}"))
        .collect())
}

/// The cells a run prepares: those with jobs, and with `--explore` every selected cell.
fn prepared_cells<'a>(
    matrix: &'a Matrix,
    plan: &Plan,
    options: &RunOptions,
) -> Vec<&'a crate::matrix::Cell> {
    let names: Vec<&str> = if options.explore.is_some() {
        plan.cells.iter().map(|c| c.name.as_str()).collect()
    } else {
        plan.active_cells().map(|c| c.name.as_str()).collect()
    };
    names
        .into_iter()
        .map(|n| matrix.cell(n).expect("planned cells exist"))
        .collect()
}

/// What every pass of a run shares (the plan's jobs, the noise check's second run of the
/// primary cell, the exploration's reads and writes): how many jobs run at once, and the
/// durations earlier runs recorded, which order them.
struct Passes {
    known: schedule::Durations,
    parallel: usize,
}

impl Passes {
    /// Runs `planned` on the builds and runtimes of `jobs` (with its suites: the plan's or
    /// generated ones), in the schedule's order, and returns their results in plan order.
    /// `warmed` resolves when the runtimes are warm.
    async fn run(
        &self,
        jobs: &job::Jobs<'_>,
        planned: &[crate::plan::Job],
        warmed: impl std::future::Future<Output = ()>,
    ) -> Result<Vec<crate::outcome::JobResult>> {
        let ordered = schedule::order(planned, &self.known, self.parallel, |job| {
            let runtime = jobs.runtime(job);
            schedule::Pool {
                id: runtime.map_or(0, |r| Arc::as_ptr(r).cast::<()>() as usize),
                capacity: runtime.and_then(|r| r.capacity()),
            }
        });
        jobs.options.events.emit(RunEvent::JobsPlanned {
            jobs: ordered
                .iter()
                .map(|j| PlannedJob {
                    cell: j.cell.clone(),
                    suite: j.suite.clone(),
                    expected: self.known.get(&j.id().to_string()).copied(),
                })
                .collect(),
            parallel: self.parallel,
        });
        schedule::run(jobs, ordered, planned, self.parallel, warmed).await
    }
}

/// Runs the jobs (and the exploration) and judges them.
async fn finish(
    matrix: &Matrix,
    plan: &Plan,
    options: &RunOptions,
    prepared: Prepared,
    documented: explore::Documented,
) -> Result<Results> {
    let Prepared {
        start,
        validated,
        runtimes,
        artifacts,
        scratch,
        logs,
        provenance,
    } = prepared;
    let cells = prepared_cells(matrix, plan, options);
    let jobs = job::Jobs {
        matrix,
        suites: &validated.suites,
        artifacts: &artifacts,
        runtimes: &runtimes,
        scratch: &scratch,
        logs: &logs,
        options,
        plan_cases: &plan.narrowed.cases,
        deadline: None,
    };
    // The jobs whose inputs match a job that passed before are not run: its result is theirs.
    let store = cache::Store::new(&options.cache_dir);
    let keys = cache::keys(&jobs, &plan.jobs, &provenance);
    let mut reused = match options.cache {
        true => store.reuse(&keys, &plan.jobs, &logs),
        false => BTreeMap::new(),
    };
    if !reused.is_empty() {
        options.events.emit(RunEvent::JobsCached {
            jobs: reused
                .values()
                .map(|r| crate::events::CachedJob {
                    cell: r.cell.clone(),
                    suite: r.suite.clone(),
                    run: r.cached.as_ref().map(|c| c.run.clone()).unwrap_or_default(),
                })
                .collect(),
        });
    }
    let to_run: Vec<crate::plan::Job> = plan
        .jobs
        .iter()
        .filter(|j| !reused.contains_key(&j.id()))
        .cloned()
        .collect();
    // Every job is a task of the schedule, across cells and within them, longest first.
    let durations = schedule::durations_file(&options.cache_dir, &matrix.file);
    let passes = Passes {
        known: schedule::read_durations(&durations),
        parallel: options.parallel.max(1),
    };
    let prepare = start.elapsed();
    options.events.emit(RunEvent::Phase { phase: Phase::Jobs });
    // The runtimes with jobs to run start what they keep for the run (Wine's wineservers
    // and services) now, so that no job waits for it; one whose jobs all come from the
    // cache starts nothing (a run with every job cached spent half its processor time
    // booting Wine for nobody). A later pass's job warms its slot itself when it gets it.
    let mut warm: Vec<&Arc<dyn Runtime>> = Vec::new();
    for runtime in to_run.iter().filter_map(|job| jobs.runtime(job)) {
        if !warm.iter().any(|w| Arc::ptr_eq(w, runtime)) {
            warm.push(runtime);
        }
    }
    let warming: Vec<_> = warm
        .into_iter()
        .map(|runtime| {
            let runtime = runtime.clone();
            tokio::spawn(async move { runtime.warm_up().await })
        })
        .collect();
    // Awaited by the schedule, and again before the runtimes are shut down: a warm-up still
    // going then would start Wine's services after the shutdown stopped them.
    let warmed = futures_util::FutureExt::shared(futures_util::FutureExt::map(
        futures_util::future::join_all(warming),
        |_| (),
    ));
    let ran = passes.run(&jobs, &to_run, warmed.clone()).await?;
    let interrupted = options.interrupt.is_set();
    schedule::record_durations(&durations, passes.known.clone(), &ran);
    if !interrupted {
        store.keep(&keys, &ran, &provenance, &logs);
    }
    // Back in plan order, the reused among those that ran.
    let mut ran: BTreeMap<_, _> = ran.into_iter().map(|r| (r.id(), r)).collect();
    let results: Vec<crate::outcome::JobResult> = plan
        .jobs
        .iter()
        .filter_map(|j| reused.remove(&j.id()).or_else(|| ran.remove(&j.id())))
        .collect();
    let observations = jobs.observations(&results);
    let mut noise = Vec::new();
    let mut noise_cell = None;
    if options.noise_check && !interrupted && cells.iter().any(|c| c.name == matrix.primary) {
        let primary: Vec<_> = plan
            .jobs
            .iter()
            .filter(|j| j.cell == matrix.primary)
            .cloned()
            .collect();
        options.events.emit(RunEvent::Phase {
            phase: Phase::NoiseCheck,
        });
        let again = passes.run(&jobs, &primary, std::future::ready(())).await?;
        noise = noise::between(&observations, &jobs.observations(&again));
        noise_cell = Some(matrix.primary.clone());
    }
    // The exploration, on the same builds and runtimes.
    let mut explored = None;
    if let Some(spec) = &options.explore
        && !interrupted
    {
        let mut setup = explore::setup(matrix, plan, &validated.suites, documented, spec.budget);
        options.events.emit(RunEvent::Phase {
            phase: Phase::Explore,
        });
        let reads = &setup.reads;
        let mut found = passes
            .run(
                &jobs.with_suites(&reads.matrix, &reads.suites, reads.deadline),
                &reads.jobs,
                std::future::ready(()),
            )
            .await?;
        if spec.budget.writes && !options.interrupt.is_set() {
            let writes = explore::writes(&mut setup, matrix, plan, &found);
            found.extend(
                passes
                    .run(
                        &jobs.with_suites(&writes.matrix, &writes.suites, writes.deadline),
                        &writes.jobs,
                        std::future::ready(()),
                    )
                    .await?,
            );
        }
        if !options.interrupt.is_set() {
            let judged = explore::judge(&setup, &found, matrix, &conclude::today());
            let json = serde_json::to_string_pretty(&judged).expect("findings serialize");
            crate::persist::write_atomic(&options.out_dir.join(crate::persist::EXPLORED), &json)?;
            explored = Some(judged);
        }
    }
    let interrupted = options.interrupt.is_set();
    // The schedule stopped what each runtime kept once its last job was done (the noise
    // check's jobs warmed them again).
    warmed.await;
    futures_util::future::join_all(runtimes.values().map(|r| r.shutdown())).await;
    drop(runtimes);
    options.events.emit(RunEvent::Phase {
        phase: Phase::Compare,
    });
    conclude::conclude(
        matrix,
        Ending {
            plan: plan.clone(),
            planned: plan.planned.clone(),
            outcome: Outcome {
                jobs: results,
                observations,
                provenance,
                duration: start.elapsed(),
                prepare,
            },
            noise,
            noise_cell,
            merged: None,
            logs: Default::default(),
            interrupted,
            explored,
        },
        options.accept,
        &options.out_dir,
    )
}
