//! `--explore` within a run: after the plan's jobs, on the same prepared cells (their builds
//! and runtimes), every selected cell gets a fresh server and the same generated probes
//! ([`crate::suite::explore`]); then the writes, each a server and data dir of its own, sent
//! the way the server takes uploads (the forms of its OpenAPI document, or of the pages the
//! reads brought back); what a cell answered otherwise than the primary is judged into
//! findings
//! ([`crate::verdict::explore`]), which go into results.json, the reports and
//! `explore.json` ([`crate::persist::EXPLORED`]). Only the servers the harness started are
//! contacted.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

use crate::errors::{Error, Result};
use crate::matrix::{Evidence, HttpSpec, Matrix, Scope, Suite, SuiteSpec};
use crate::outcome::JobResult;
use crate::plan::{Job, Plan};
use crate::suite::explore::{self, Budget, Form, Probe};
use crate::suite::http::HttpSuite;
use crate::suite::{Loaded, LoadedSuite};
use crate::verdict::explore::{Answer, Explored, findings, mark_known};

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

/// What the server's documents say of it: paths to probe, and forms it takes uploads by.
#[derive(Debug, Clone, Default)]
pub(super) struct Documented {
    /// Paths its OpenAPI document and the HAR recording request.
    pub paths: Vec<String>,
    /// The multipart forms its OpenAPI document describes.
    pub forms: Vec<Form>,
}

/// One pass of the exploration made ready: its suites (in a matrix of their own) and jobs.
pub(super) struct Pass {
    /// The matrix with the generated suites in place of the written ones.
    pub matrix: Matrix,
    /// The generated suites, loaded.
    pub suites: Loaded,
    /// Their jobs: one per suite and selected cell.
    pub jobs: Vec<Job>,
    /// No job of the pass starts after it, nor any probe (`--explore-time`).
    pub deadline: Option<std::time::Instant>,
}

/// The exploration of a run: its reads made ready, and what its writes need.
pub(super) struct Setup {
    /// The reads: one job per selected cell.
    pub reads: Pass,
    read_probes: Vec<Probe>,
    /// The writes, as `PUT`s until the forms are known.
    writes: Vec<Probe>,
    forms: Vec<Form>,
    bases: usize,
    covers: BTreeMap<String, String>,
    links: BTreeSet<String>,
    budget: Budget,
    deadline: Option<std::time::Instant>,
    /// The cells explored.
    cells: Vec<String>,
}

/// The paths the server's OpenAPI document (`server.openapi`) and `har` name, and the upload
/// forms the document describes, read before anything starts: a file that cannot be read,
/// or is none, is an error that says where.
pub(super) fn documented(matrix: &Matrix, spec: &ExploreSpec) -> Result<Documented> {
    let mut documented = Documented::default();
    if let Some((path, span)) = &matrix.server.openapi {
        let text = std::fs::read_to_string(path).map_err(|e| {
            crate::suite::in_matrix(
                matrix,
                span.clone(),
                format!("cannot read the OpenAPI document {}: {e}", path.display()),
            )
        })?;
        let in_matrix = |why| {
            crate::suite::in_matrix(matrix, span.clone(), format!("{}: {why}", path.display()))
        };
        documented
            .paths
            .extend(explore::openapi_paths(&text).map_err(in_matrix)?);
        documented.forms = explore::openapi_forms(&text).map_err(in_matrix)?;
    }
    if let Some(har) = &spec.har {
        let text = std::fs::read_to_string(har).map_err(|e| Error::io(har, e))?;
        documented.paths.extend(
            explore::har_paths(&text)
                .map_err(|why| Error::Selection(format!("{}: {why}", har.display())))?,
        );
    }
    Ok(documented)
}

/// The probes of `matrix` (its seed, `suites`' requests and `documented` paths) for the
/// cells of `plan`: the reads as a pass, the writes kept for [`writes`]. The time budget
/// starts now.
pub(super) fn setup(
    matrix: &Matrix,
    plan: &Plan,
    suites: &Loaded,
    documented: Documented,
    budget: Budget,
) -> Setup {
    let deadline = budget.time.map(|t| std::time::Instant::now() + t);
    let seed = matrix.server.seed.as_ref().map(|(p, _)| p.as_path());
    let mut covers = BTreeMap::new();
    let mut requested = documented.paths;
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
    // The budget counts the writes with the reads, writes taking at most half of it; how
    // each is sent is known once the reads have brought back the server's pages.
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
    let pass = pass(
        matrix,
        plan,
        vec![(SUITE.to_owned(), reads.clone(), false)],
        deadline,
    );
    Setup {
        reads: pass,
        read_probes: reads,
        writes,
        forms: documented.forms,
        bases: bases.len(),
        covers,
        links: explore::seed_links(seed),
        budget,
        deadline,
        cells: plan.cells.iter().map(|c| c.name.clone()).collect(),
    }
}

/// The writes of `setup` as a pass: uploads through the first form the OpenAPI document
/// describes, or else the first that a page the primary answered (`read`) holds, or else
/// `PUT`s; each a suite of its own, so that it runs in a fresh data dir.
pub(super) fn writes(setup: &mut Setup, matrix: &Matrix, plan: &Plan, read: &[JobResult]) -> Pass {
    let pages = read
        .iter()
        .filter(|job| job.cell == matrix.primary)
        .flat_map(|job| &job.cases)
        .filter_map(|case| {
            let probe = setup.read_probes.iter().find(|p| p.name == case.name)?;
            let response = case.observed.first()?;
            Some(explore::html_forms(&probe.path, &response.text))
        })
        .flatten();
    let form = setup
        .forms
        .first()
        .cloned()
        .or_else(|| pages.into_iter().next());
    let writes = std::mem::take(&mut setup.writes);
    setup.writes = match &form {
        Some(form) => explore::as_uploads(writes, form),
        None => writes,
    };
    let suites = setup
        .writes
        .iter()
        .map(|probe| (format!("{SUITE}-{}", probe.name), vec![probe.clone()], true))
        .collect();
    pass(matrix, plan, suites, setup.deadline)
}

/// A pass of generated `suites` (name, probes, whether the data dir's tree is taken after
/// each) on every cell of `plan`.
fn pass(
    matrix: &Matrix,
    plan: &Plan,
    suites: Vec<(String, Vec<Probe>, bool)>,
    deadline: Option<std::time::Instant>,
) -> Pass {
    let folder = PathBuf::from(format!("({SUITE})"));
    let mut derived = matrix.clone();
    derived.suites = Vec::new();
    let mut loaded: Loaded = BTreeMap::new();
    for (name, probes, writes) in suites {
        derived.suites.push(Suite {
            name: name.clone(),
            scope: Scope::PerTarget,
            targets: None,
            spec: SuiteSpec::Http(HttpSpec {
                path: PathBuf::from(SUITE),
                span: 0..0,
            }),
            evidence: Evidence::default(),
        });
        loaded.insert(
            name,
            Arc::new(HttpSuite::generated(
                folder.clone(),
                explore::cases(&probes),
                matrix,
                deadline,
                writes,
            )) as Arc<dyn LoadedSuite>,
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
    Pass {
        matrix: derived,
        suites: loaded,
        jobs,
        deadline,
    }
}

/// The findings of the exploration's `results` (reads and writes), judged against
/// `matrix`'s primary and ledger on `today`.
pub(super) fn judge(
    setup: &Setup,
    results: &[JobResult],
    matrix: &Matrix,
    today: &str,
) -> Explored {
    let mut answers: BTreeMap<String, BTreeMap<String, Answer>> = BTreeMap::new();
    let mut errors = BTreeMap::new();
    for job in results {
        if let Some(error) = &job.error {
            errors.insert(job.cell.clone(), error.clone());
            continue;
        }
        // A probe's answer is its response, the lines the server logged meanwhile, and for
        // a write the data dir's tree after it.
        answers.entry(job.cell.clone()).or_default().extend(
            job.cases
                .iter()
                .filter(|c| !c.observed.is_empty())
                .map(|c| {
                    let step = |name: &str| {
                        c.observed
                            .iter()
                            .find(|o| o.step == name)
                            .map(|o| o.text.clone())
                    };
                    let answer = Answer {
                        response: c.observed[0].text.clone(),
                        tree: step(crate::suite::evidence::DATA_DIR),
                        log: step(crate::suite::evidence::LOG_CASE).unwrap_or_default(),
                    };
                    (c.name.clone(), answer)
                }),
        );
    }
    let probes: Vec<Probe> = setup
        .read_probes
        .iter()
        .chain(&setup.writes)
        .cloned()
        .collect();
    let mut classes = findings(
        &probes,
        &answers,
        &matrix.primary,
        &setup.covers,
        &setup.links,
    );
    mark_known(&mut classes, &matrix.divergences, today);
    Explored {
        // Every cell, with how many probes it answered: none when the time ran out before
        // its first.
        answered: setup
            .cells
            .iter()
            .map(|c| (c.clone(), answers.get(c).map_or(0, BTreeMap::len)))
            .collect(),
        seed: setup.budget.seed,
        budget: setup.budget.requests,
        probes: probes.len(),
        bases: setup.bases,
        primary: matrix.primary.clone(),
        cells: answers.keys().cloned().collect(),
        classes,
        errors,
    }
}
