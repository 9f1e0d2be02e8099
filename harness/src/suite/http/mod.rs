//! `http` suites: a folder of case files ([`case`]), one case per file, run in file-name order
//! against one fresh server per suite; each step's request is sent by [`client`] and checked
//! by [`check`].

pub mod case;
pub mod check;
pub mod client;

use std::path::PathBuf;

use futures_util::future::BoxFuture;

use super::{CaseResult, LoadedSuite, SuiteEnv};
use crate::errors::Result;
use crate::matrix::{DataDir, HttpSpec, Limits, Matrix, Normalize, Suite};

/// An `http` suite with its cases read and checked.
pub struct HttpSuite {
    /// The suite folder, relative to the matrix root when it lies inside it.
    folder: PathBuf,
    /// The case files' names and contents.
    definition: Vec<u8>,
    cases: Vec<(String, case::CaseFile)>,
    rules: Normalize,
    limits: Limits,
    /// Whether the data dir's tree is a step of every case.
    tree_after_case: bool,
    /// When its cases stop: those that would start later do not run (`--explore-time`).
    deadline: Option<std::time::Instant>,
    /// Whether the lines the server logged while a case ran are a step of it.
    log_after_case: bool,
}

impl HttpSuite {
    /// Reads and checks the case files of `spec`.
    pub fn load(matrix: &Matrix, suite: &Suite, spec: &HttpSpec) -> Result<HttpSuite> {
        if !spec.path.is_dir() {
            return Err(super::in_matrix(
                matrix,
                spec.span.clone(),
                format!(
                    "suite folder {} does not exist: expected a folder of case files",
                    spec.path.display()
                ),
            ));
        }
        Ok(HttpSuite {
            folder: spec
                .path
                .strip_prefix(&matrix.root)
                .unwrap_or(&spec.path)
                .to_owned(),
            definition: case::definition(&spec.path)?,
            cases: case::load(&spec.path)?,
            rules: matrix.normalize.clone(),
            limits: matrix.limits.clone(),
            tree_after_case: suite.evidence.data_dir == DataDir::Case,
            deadline: None,
            log_after_case: false,
        })
    }
}

impl HttpSuite {
    /// A suite of generated cases (`--explore`'s probes): `folder` names where they came
    /// from in their snapshots; the cases that would start after `deadline` do not run; the
    /// lines the server logged while a case ran are a step of it (`+log`), and with
    /// `tree_after_case` so is the data dir's tree.
    pub fn generated(
        folder: PathBuf,
        cases: Vec<(String, case::CaseFile)>,
        matrix: &Matrix,
        deadline: Option<std::time::Instant>,
        tree_after_case: bool,
    ) -> Self {
        let definition = cases
            .iter()
            .map(|(name, case)| format!("{name}: {:?}\n", case.steps))
            .collect::<String>()
            .into_bytes();
        HttpSuite {
            folder,
            definition,
            cases,
            rules: matrix.normalize.clone(),
            limits: matrix.limits.clone(),
            tree_after_case,
            deadline,
            log_after_case: true,
        }
    }
}

impl LoadedSuite for HttpSuite {
    fn source(&self, case: &str) -> String {
        format!("{}/{case}.toml", self.folder.display())
    }

    fn requests(&self) -> Vec<(String, String, String)> {
        self.cases
            .iter()
            .flat_map(|(name, case)| {
                case.steps
                    .iter()
                    .map(move |s| (name.clone(), s.method.clone(), s.path.clone()))
            })
            .collect()
    }

    fn definition(&self) -> Vec<u8> {
        self.definition.clone()
    }

    fn cases(&self) -> Option<Vec<String>> {
        Some(self.cases.iter().map(|(name, _)| name.clone()).collect())
    }

    fn run<'a>(&'a self, env: &'a SuiteEnv) -> BoxFuture<'a, Result<Vec<CaseResult>>> {
        Box::pin(async move {
            // Requests block; they run on the blocking pool, one case after the other, each
            // given up the moment the server exits.
            let client = client::Client {
                base_url: env.base_url.clone(),
                gone: env.gone.clone(),
                max_body: self.limits.max_body,
                handle: tokio::runtime::Handle::current(),
            };
            let cases: Vec<_> = self
                .cases
                .iter()
                .filter(|(name, _)| crate::plan::case_selected(&env.cases, &env.suite, name))
                .cloned()
                .collect();
            let rules = self.rules.clone();
            let limits = self.limits.clone();
            let doing = env.doing.clone();
            let injected = env.injected.clone();
            let tree_dir = self.tree_after_case.then(|| env.data_dir.clone());
            let data_dir_sync = env.data_dir_sync.clone();
            let deadline = self.deadline;
            let server_logs = env.server_logs.clone();
            let log_after_case = self.log_after_case.then(|| server_logs.clone());
            let log_latency = env.log_latency;
            let log_sizes = move || server_logs.sizes();
            Ok(tokio::task::spawn_blocking(move || {
                // A case's log lines are those written from its first request until the
                // next case starts: a server may log after it answered.
                let mut results: Vec<CaseResult> = cases
                    .iter()
                    .take_while(|_| {
                        deadline.is_none_or(|d| std::time::Instant::now() < d)
                            && !client.gone.abandoned()
                    })
                    .map(|(name, case)| {
                        doing.set(format!("running case `{name}`"));
                        let [out, err] = log_sizes();
                        let mut result =
                            check::run_case(&client, name, case, &rules, &injected, &limits);
                        // A case's log lines are evidence of its own: where what the server
                        // logs reaches its log later (relayed by a container engine), the
                        // next case waits until the log has been quiet that long.
                        if log_after_case.is_some() && !log_latency.is_zero() {
                            settle(&log_sizes, log_latency);
                        }
                        result.log_spans = Some([[out, out], [err, err]]);
                        if let Some(dir) = &tree_dir {
                            result.observed.push(super::evidence::observe_tree(
                                dir,
                                data_dir_sync.as_ref(),
                                super::evidence::DATA_DIR,
                                &rules,
                                &injected,
                                &|| client.gone.abandoned(),
                            ));
                        }
                        result
                    })
                    .collect();
                let mut end = log_sizes();
                for result in results.iter_mut().rev() {
                    if let Some(spans) = &mut result.log_spans {
                        for (span, end) in spans.iter_mut().zip(end.iter_mut()) {
                            span[1] = (*end).max(span[0]);
                            *end = span[0];
                        }
                        if let Some(logs) = &log_after_case
                            && let Some(lines) = super::evidence::observe_log_span(
                                logs,
                                *spans,
                                limits.max_body,
                                &rules,
                                &injected,
                            )
                        {
                            result.observed.push(lines);
                        }
                    }
                }
                results
            })
            .await
            .expect("cases do not panic"))
        })
    }
}

/// Returns once `sizes` has not changed for `quiet`, or after [`MOST_SETTLE`].
fn settle(sizes: &dyn Fn() -> [u64; 2], quiet: std::time::Duration) {
    let start = std::time::Instant::now();
    let mut last = sizes();
    while start.elapsed() < MOST_SETTLE {
        std::thread::sleep(quiet);
        let now = sizes();
        if now == last {
            return;
        }
        last = now;
    }
}

/// The longest a case waits for the server's log to be quiet.
const MOST_SETTLE: std::time::Duration = std::time::Duration::from_millis(500);
