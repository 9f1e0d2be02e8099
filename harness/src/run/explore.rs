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

/// Explores the cells of `plan` with probes derived from `matrix` (and the HAR recording
/// `har`, when given) within `budget`.
pub async fn explore(
    matrix: &Matrix,
    plan: &Plan,
    options: &RunOptions,
    budget: Budget,
    har: Option<&std::path::Path>,
) -> Result<Explored> {
    // The server's documented and recorded paths, read before anything starts.
    let mut documented = Vec::new();
    if let Some((path, span)) = &matrix.server.openapi {
        let text = std::fs::read_to_string(path).map_err(|e| {
            crate::suite::in_matrix(
                matrix,
                span.clone(),
                format!("cannot read the OpenAPI document {}: {e}", path.display()),
            )
        })?;
        documented.extend(explore::openapi_paths(&text).map_err(|why| {
            crate::suite::in_matrix(matrix, span.clone(), format!("{}: {why}", path.display()))
        })?);
    }
    if let Some(har) = har {
        let text = std::fs::read_to_string(har).map_err(|e| Error::io(har, e))?;
        documented.extend(
            explore::har_paths(&text)
                .map_err(|why| Error::Selection(format!("{}: {why}", har.display())))?,
        );
    }
    let options = &RunOptions {
        out_dir: std::path::absolute(&options.out_dir)
            .map_err(|e| Error::io(&options.out_dir, e))?,
        ..options.clone()
    };
    let _claim = crate::persist::claim(&options.out_dir)?;
    // The writes, each a suite of its own so that it runs in a fresh data dir.
    let writes = if budget.writes {
        explore::write_probes(&explore::seed_files(
            matrix.server.seed.as_ref().map(|(p, _)| p.as_path()),
        ))
    } else {
        Vec::new()
    };
    let write_suite = |probe: &explore::Probe| format!("{SUITE}-{}", probe.name);
    // One job per selected cell (and per write), whatever suites the plan had there.
    let mut plan = plan.clone();
    plan.jobs = plan
        .cells
        .iter()
        .flat_map(|c| {
            std::iter::once(SUITE.to_owned())
                .chain(writes.iter().map(write_suite))
                .map(|suite| Job {
                    suite,
                    cell: c.name.clone(),
                    scope: Scope::PerTarget,
                    audit: false,
                })
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
    requested.extend(documented);
    let bases = explore::bases(
        matrix.server.seed.as_ref().map(|(p, _)| p.as_path()),
        requested,
    );
    let probes = explore::probes(&bases, budget);
    // The probes as a suite of their own, run on every cell, and only it.
    let generated_suite = |name: String| Suite {
        name,
        scope: Scope::PerTarget,
        targets: None,
        spec: SuiteSpec::Http(HttpSpec {
            path: PathBuf::from(SUITE),
            span: 0..0,
        }),
        evidence: Evidence::default(),
    };
    let mut derived = matrix.clone();
    derived.suites = vec![generated_suite(SUITE.to_owned())];
    let generated: Arc<dyn LoadedSuite> = Arc::new(HttpSuite::generated(
        PathBuf::from(format!("({SUITE})")),
        explore::cases(&probes),
        matrix,
        budget.time,
        false,
    ));
    let mut suites: Loaded = BTreeMap::from([(SUITE.to_owned(), generated)]);
    for probe in &writes {
        let name = write_suite(probe);
        derived.suites.push(generated_suite(name.clone()));
        let one: Arc<dyn LoadedSuite> = Arc::new(HttpSuite::generated(
            PathBuf::from(format!("({SUITE})")),
            explore::cases(std::slice::from_ref(probe)),
            matrix,
            None,
            true,
        ));
        suites.insert(name, one);
    }
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
        // A probe's answer is its response, and for a write the data dir's tree after it.
        answers.entry(job.cell.clone()).or_default().extend(
            job.cases
                .iter()
                .filter(|c| !c.observed.is_empty())
                .map(|c| {
                    let text: Vec<&str> = c.observed.iter().map(|o| o.text.as_str()).collect();
                    (c.name.clone(), text.join("\n"))
                }),
        );
    }
    let probes: Vec<explore::Probe> = probes.into_iter().chain(writes).collect();
    let mut classes = findings(&probes, &answers, &matrix.primary, &covers);
    mark_known(&mut classes, &matrix.divergences, &super::conclude::today());
    let answered = answers.iter().map(|(c, a)| (c.clone(), a.len())).collect();
    let probes_per_cell = probes.len();
    let explored = Explored {
        answered,
        seed: budget.seed,
        budget: budget.requests,
        probes: probes_per_cell,
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
