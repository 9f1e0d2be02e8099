//! `--explore` within a run: after the plan's jobs, on the same prepared cells (their builds
//! and runtimes), every selected cell gets a fresh server and the same generated probes
//! ([`crate::suite::explore`]), each write a server and data dir of its own; what a cell
//! answered otherwise than the primary is judged into findings
//! ([`crate::verdict::explore`]), which go into results.json, the reports and
//! `explore.json` ([`crate::persist::EXPLORED`]). Only the servers the harness started are
//! contacted.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use crate::errors::{Error, Result};
use crate::matrix::{Evidence, HttpSpec, Matrix, Scope, Suite, SuiteSpec};
use crate::outcome::JobResult;
use crate::plan::{Job, Plan};
use crate::suite::explore::{self, Budget, Probe};
use crate::suite::http::HttpSuite;
use crate::suite::{Loaded, LoadedSuite};
use crate::verdict::explore::{Explored, findings, mark_known};

/// The name of the generated suite, in logs, events and snapshots' sources; each write is
/// the suite `explore-<probe>`.
pub const SUITE: &str = "explore";

/// What `--explore` is asked for.
#[derive(Debug, Clone)]
pub struct ExploreSpec {
    /// How many probes, picked how, for how long.
    pub budget: Budget,
    /// A HAR recording whose `GET` paths are bases too.
    pub har: Option<PathBuf>,
}

/// The exploration of a run, made ready: its suites (in a matrix of their own) and jobs.
pub(super) struct Setup {
    /// The matrix with the generated suites in place of the written ones.
    pub matrix: Matrix,
    /// The generated suites, loaded.
    pub suites: Loaded,
    /// One job per selected cell, and one per write and cell.
    pub jobs: Vec<Job>,
    probes: Vec<Probe>,
    bases: usize,
    covers: BTreeMap<String, String>,
    budget: Budget,
}

/// The paths the server's OpenAPI document (`server.openapi`) and `har` name, read before
/// anything starts: a file that cannot be read, or is none, is an error that says where.
pub(super) fn documented(matrix: &Matrix, spec: &ExploreSpec) -> Result<Vec<String>> {
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
    if let Some(har) = &spec.har {
        let text = std::fs::read_to_string(har).map_err(|e| Error::io(har, e))?;
        documented.extend(
            explore::har_paths(&text)
                .map_err(|why| Error::Selection(format!("{}: {why}", har.display())))?,
        );
    }
    Ok(documented)
}

/// The probes of `matrix` (its seed, `suites`' requests and `documented` paths) for the
/// cells of `plan`, as generated suites and jobs.
pub(super) fn setup(
    matrix: &Matrix,
    plan: &Plan,
    suites: &Loaded,
    documented: Vec<String>,
    budget: Budget,
) -> Setup {
    let seed = matrix.server.seed.as_ref().map(|(p, _)| p.as_path());
    let mut covers = BTreeMap::new();
    let mut requested = documented;
    for (suite, loaded) in suites {
        for (case, method, path) in loaded.requests() {
            if method == "GET" {
                covers
                    .entry(path.clone())
                    .or_insert_with(|| format!("{suite}/{case}"));
            }
            requested.push(path);
        }
    }
    let bases = explore::bases(seed, requested);
    // The writes, each a suite of its own so that it runs in a fresh data dir; the budget
    // counts them with the reads, writes taking at most half of it.
    let writes = if budget.writes {
        explore::write_probes(
            &explore::seed_files(seed),
            Budget {
                requests: explore::write_share(budget),
                ..budget
            },
        )
    } else {
        Vec::new()
    };
    let reads = explore::probes(
        &bases,
        Budget {
            requests: budget.requests.saturating_sub(writes.len()),
            ..budget
        },
    );
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
    let folder = PathBuf::from(format!("({SUITE})"));
    let mut derived = matrix.clone();
    derived.suites = vec![generated_suite(SUITE.to_owned())];
    let mut loaded: Loaded = BTreeMap::from([(
        SUITE.to_owned(),
        Arc::new(HttpSuite::generated(
            folder.clone(),
            explore::cases(&reads),
            matrix,
            budget.time,
            false,
        )) as Arc<dyn LoadedSuite>,
    )]);
    for probe in &writes {
        let name = format!("{SUITE}-{}", probe.name);
        derived.suites.push(generated_suite(name.clone()));
        loaded.insert(
            name,
            Arc::new(HttpSuite::generated(
                folder.clone(),
                explore::cases(std::slice::from_ref(probe)),
                matrix,
                None,
                true,
            )),
        );
    }
    let jobs = plan
        .cells
        .iter()
        .flat_map(|c| {
            derived.suites.iter().map(|s| Job {
                suite: s.name.clone(),
                cell: c.name.clone(),
                scope: Scope::PerTarget,
                audit: false,
            })
        })
        .collect();
    Setup {
        matrix: derived,
        suites: loaded,
        jobs,
        probes: reads.into_iter().chain(writes).collect(),
        bases: bases.len(),
        covers,
        budget,
    }
}

/// The findings of the exploration's `results`, judged against `matrix`'s primary and
/// ledger on `today`.
pub(super) fn judge(
    setup: &Setup,
    results: &[JobResult],
    matrix: &Matrix,
    today: &str,
) -> Explored {
    let mut answers: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut errors = BTreeMap::new();
    for job in results {
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
    let mut classes = findings(&setup.probes, &answers, &matrix.primary, &setup.covers);
    mark_known(&mut classes, &matrix.divergences, today);
    Explored {
        answered: answers.iter().map(|(c, a)| (c.clone(), a.len())).collect(),
        seed: setup.budget.seed,
        budget: setup.budget.requests,
        probes: setup.probes.len(),
        bases: setup.bases,
        primary: matrix.primary.clone(),
        cells: answers.keys().cloned().collect(),
        classes,
        errors,
    }
}
