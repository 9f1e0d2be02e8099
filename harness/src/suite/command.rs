//! `command` suites: any test command, run with the cell in its environment (the variables
//! of `harness_cell::vars`: `HARNESS_BASE_URL`, `HARNESS_CELL`, `HARNESS_TARGET`,
//! `HARNESS_SNAPSHOT_DIR`). Its
//! output goes to the cell's log folder; the JUnit XML it writes (when the suite names one) or
//! else its exit code says what passed. Each file it
//! writes into the snapshot folder is a snapshot of the case named after the file.

use std::path::Path;
use std::time::Instant;

use futures_util::future::BoxFuture;
use harness_cell::vars;

use super::{CaseResult, LoadedSuite, Observed, SuiteEnv};
use crate::errors::{Error, Result};
use crate::matrix::{CommandSpec, Matrix, Normalize, Suite};
use crate::normalize;
use crate::process::{Cmd, log_tail, logged};

/// A `command` suite.
pub struct CommandSuite {
    name: String,
    spec: CommandSpec,
    rules: Normalize,
    timeout: std::time::Duration,
    max_body: u64,
}

impl CommandSuite {
    /// The command suite `suite` of `matrix`; its working directory must exist.
    pub fn new(matrix: &Matrix, suite: &Suite, spec: &CommandSpec) -> Result<CommandSuite> {
        if let Some(span) = &spec.dir_span
            && !spec.dir.is_dir()
        {
            return Err(super::in_matrix(
                matrix,
                span.clone(),
                format!(
                    "working directory {} does not exist: expected the folder the command runs in",
                    spec.dir.display()
                ),
            ));
        }
        for (input, span) in spec.inputs.iter().flatten() {
            if std::fs::symlink_metadata(input).is_err() {
                return Err(super::in_matrix(
                    matrix,
                    span.clone(),
                    format!(
                        "input {} does not exist: expected a file or folder the command's results depend on",
                        input.display()
                    ),
                ));
            }
        }
        Ok(CommandSuite {
            name: suite.name.clone(),
            spec: spec.clone(),
            rules: matrix.normalize.clone(),
            timeout: matrix.limits.command_timeout,
            max_body: matrix.limits.max_body,
        })
    }

    fn cmd(&self, env: &SuiteEnv) -> Cmd {
        let mut cmd = Cmd::new(&self.spec.command[0])
            .args(&self.spec.command[1..])
            .current_dir(&self.spec.dir)
            .env(vars::BASE_URL, &env.base_url)
            .env(vars::CELL, &env.cell)
            .env(vars::TARGET, &env.target)
            .env(vars::SNAPSHOT_DIR, &env.snapshot_dir)
            .env(vars::JUNIT, &env.junit);
        for (k, v) in &self.spec.env {
            cmd = cmd.env(k, v);
        }
        cmd
    }
}

impl LoadedSuite for CommandSuite {
    fn definition(&self) -> Vec<u8> {
        format!(
            "{:?}",
            (&self.spec.command, &self.spec.env, &self.spec.junit)
        )
        .into_bytes()
    }

    fn source(&self, _case: &str) -> String {
        format!("suite {}", self.name)
    }

    fn inputs(&self) -> Option<Vec<std::path::PathBuf>> {
        let inputs = self.spec.inputs.as_ref()?;
        Some(inputs.iter().map(|(path, _)| path.clone()).collect())
    }

    fn run<'a>(&'a self, env: &'a SuiteEnv) -> BoxFuture<'a, Result<Vec<CaseResult>>> {
        Box::pin(run(self, env))
    }
}

/// Runs a command suite: its cases come from its JUnit file, or it is one case named after
/// the suite; then the snapshots it wrote.
async fn run(suite: &CommandSuite, env: &SuiteEnv) -> Result<Vec<CaseResult>> {
    let cmd = suite.cmd(env);
    let start = Instant::now();
    env.doing.set(format!("running the command `{cmd}`"));
    // Past its timeout the command is dropped, which stops its whole process group.
    let ran = tokio::time::timeout(
        suite.timeout,
        logged(&cmd, &env.log, |l| Some(l.to_owned())),
    )
    .await;
    let (ok, failure) = match ran {
        Ok(logged) => {
            let logged = logged?;
            let status = logged.status;
            // What it started and left running (a daemon, a background child that kept its
            // output open) was stopped; the job reports it as leaked.
            env.leaked
                .extend(logged.leaked.iter().map(ToString::to_string));
            let failure = (!status.success()).then(|| {
                format!(
                    "`{cmd}` failed ({status}); its output is {}:\n{}",
                    env.log.display(),
                    log_tail(&env.log, 40)
                )
            });
            (status.success(), failure)
        }
        Err(_) => (
            false,
            Some(format!(
                "`{cmd}` did not finish within its command_timeout of {} and was stopped; its output is {}:\n{}",
                humantime::format_duration(suite.timeout),
                env.log.display(),
                log_tail(&env.log, 40)
            )),
        ),
    };
    // With a JUnit file, its cases are the results; a non-zero exit with no failing case in it
    // still fails (the command broke before or after its tests).
    let mut results = match suite.spec.junit {
        true if !env.junit.is_file() => vec![CaseResult {
            name: suite.name.clone(),
            passed: false,
            failure: Some(format!(
                "the command wrote no JUnit XML to ${} ({}){}",
                vars::JUNIT,
                env.junit.display(),
                failure.map(|f| format!("\n{f}")).unwrap_or_default()
            )),
            duration: start.elapsed(),
            ..CaseResult::default()
        }],
        true => {
            let mut cases = super::junit::read(&env.junit)?;
            if let Some(failure) = failure.filter(|_| cases.iter().all(|c| c.passed)) {
                cases.push(CaseResult {
                    name: suite.name.clone(),
                    passed: false,
                    failure: Some(failure),
                    duration: start.elapsed(),
                    ..CaseResult::default()
                });
            }
            cases
        }
        false => vec![CaseResult {
            name: suite.name.clone(),
            passed: ok,
            failure,
            duration: start.elapsed(),
            ..CaseResult::default()
        }],
    };
    results.extend(written_snapshots(
        &env.snapshot_dir,
        &cmd.to_string(),
        suite.max_body,
        &suite.rules,
        &env.injected,
    )?);
    // A command runs whole; with `--case`, what it reports of other cases is left out.
    results.retain(|c| crate::plan::case_selected(&env.cases, &env.suite, &c.name));
    Ok(results)
}

/// The snapshots a command wrote, one case per file (named after the file's stem): each
/// read as bytes (those that are not UTF-8 written `\xNN`), a file over `max` bytes kept as
/// its size, SHA-256 and first bytes, like a body.
fn written_snapshots(
    dir: &Path,
    command: &str,
    max: u64,
    rules: &Normalize,
    injected: &crate::normalize::Injected,
) -> Result<Vec<CaseResult>> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    let mut out = Vec::new();
    for file in files {
        let (bytes, size, sha) = super::evidence::head_of(&file, max);
        let mut text = normalize::text(rules, injected, &normalize::decode(&bytes)).text;
        if let Some(sha) = sha {
            text.push_str(&format!(
                "\n[the file has {size} bytes, sha256 {sha}; the first {max} are shown]\n"
            ));
        }
        let case = file
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        out.push(CaseResult {
            name: case,
            passed: true,
            observed: vec![Observed {
                step: "out".into(),
                expression: command.to_owned(),
                text,
            }],
            duration: std::time::Duration::ZERO,
            ..CaseResult::default()
        });
    }
    Ok(out)
}
