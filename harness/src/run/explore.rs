//! `--explore`: a run of generated probes instead of the matrix's suites. It provisions,
//! builds and launches like any run (a fresh server, port and data dir per cell, only the
//! servers the harness started are contacted), sends every cell the same probes
//! ([`crate::suite::explore`]), and judges where a cell answered otherwise than the primary
//! ([`crate::verdict::explore`]). What it found is written to `explore.json`
//! ([`crate::persist::EXPLORED`]).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use super::{RunOptions, job, prepare, schedule};
use crate::errors::{Error, Result};
use crate::events::{Phase, PlannedJob, RunEvent};
use crate::matrix::{Evidence, HttpSpec, Matrix, Scope, Suite, SuiteSpec};
use crate::plan::{Job, Plan};
use crate::suite::explore::{self, Budget};
use crate::suite::http::HttpSuite;
use crate::suite::{Loaded, LoadedSuite};
use crate::verdict::explore::{Explored, findings, mark_known};

/// The name of the generated suite, in logs, events and snapshots' sources.
pub const SUITE: &str = "explore";

/// Explores the cells of `plan` with probes derived from `matrix` within `budget`.
pub async fn explore(
    matrix: &Matrix,
    plan: &Plan,
    options: &RunOptions,
    budget: Budget,
) -> Result<Explored> {
    let options = &RunOptions {
        out_dir: std::path::absolute(&options.out_dir)
            .map_err(|e| Error::io(&options.out_dir, e))?,
        ..options.clone()
    };
    let _claim = crate::persist::claim(&options.out_dir)?;
    // One job per selected cell, whatever suites the plan had there.
    let mut plan = plan.clone();
    plan.jobs = plan
        .cells
        .iter()
        .map(|c| Job {
            suite: SUITE.to_owned(),
            cell: c.name.clone(),
            scope: Scope::PerTarget,
            audit: false,
        })
        .collect();
    let plan = &plan;
    let prepared = tokio::select! {
        prepared = prepare(matrix, plan, options) => prepared?,
        () = options.interrupt.wait() => return Err(Error::Interrupted),
    };
    // What the harness knows of the server's paths: the seed and the suites' requests.
    let mut covers = BTreeMap::new();
    let mut requested = Vec::new();
    for (suite, loaded) in &prepared.validated.suites {
        for (case, method, path) in loaded.requests() {
            if method == "GET" {
                covers
                    .entry(path.clone())
                    .or_insert_with(|| format!("{suite}/{case}"));
            }
            requested.push(path);
        }
    }
    let bases = explore::bases(
        matrix.server.seed.as_ref().map(|(p, _)| p.as_path()),
        requested,
    );
    let probes = explore::probes(&bases, budget);
    // The probes as a suite of their own, run on every cell, and only it.
    let mut derived = matrix.clone();
    derived.suites = vec![Suite {
        name: SUITE.to_owned(),
        scope: Scope::PerTarget,
        targets: None,
        spec: SuiteSpec::Http(HttpSpec {
            path: PathBuf::from(SUITE),
            span: 0..0,
        }),
        evidence: Evidence::default(),
    }];
    let generated: Arc<dyn LoadedSuite> = Arc::new(HttpSuite::generated(
        PathBuf::from(format!("({SUITE})")),
        explore::cases(&probes),
        matrix,
        budget.time,
    ));
    let suites: Loaded = BTreeMap::from([(SUITE.to_owned(), generated)]);
    let planned = &plan.jobs;
    let jobs = job::Jobs {
        matrix: &derived,
        suites: &suites,
        artifacts: &prepared.artifacts,
        runtimes: &prepared.runtimes,
        scratch: &prepared.scratch,
        logs: &prepared.logs,
        options,
        plan_cases: &[],
    };
    let parallel = options.parallel.max(1);
    options.events.emit(RunEvent::Phase { phase: Phase::Jobs });
    options.events.emit(RunEvent::JobsPlanned {
        jobs: planned
            .iter()
            .map(|j| PlannedJob {
                cell: j.cell.clone(),
                suite: j.suite.clone(),
                expected: None,
            })
            .collect(),
        parallel,
    });
    let warming = prepared.warming;
    let warmed = async {
        futures_util::future::join_all(warming).await;
    };
    let results = schedule::run(&jobs, planned.iter().collect(), planned, parallel, warmed).await;
    futures_util::future::join_all(prepared.runtimes.values().map(|r| r.shutdown())).await;
    let results = results?;
    if options.interrupt.is_set() {
        return Err(Error::Interrupted);
    }
    options.events.emit(RunEvent::Phase {
        phase: Phase::Compare,
    });
    let mut answers: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut errors = BTreeMap::new();
    for job in &results {
        if let Some(error) = &job.error {
            errors.insert(job.cell.clone(), error.clone());
            continue;
        }
        answers.insert(
            job.cell.clone(),
            job.cases
                .iter()
                .filter_map(|c| Some((c.name.clone(), c.observed.first()?.text.clone())))
                .collect(),
        );
    }
    let mut classes = findings(&probes, &answers, &matrix.primary, &covers);
    mark_known(&mut classes, &matrix.divergences, &super::conclude::today());
    let answered = answers.iter().map(|(c, a)| (c.clone(), a.len())).collect();
    let explored = Explored {
        answered,
        seed: budget.seed,
        budget: budget.requests,
        probes: probes.len(),
        bases: bases.len(),
        primary: matrix.primary.clone(),
        cells: answers.keys().cloned().collect(),
        classes,
        errors,
    };
    let json = serde_json::to_string_pretty(&explored).expect("findings serialize");
    crate::persist::write_atomic(&options.out_dir.join(crate::persist::EXPLORED), &json)?;
    Ok(explored)
}
