//! `command` suites: any test command, run with the cell in its environment
//! (`HARNESS_BASE_URL`, `HARNESS_CELL`, `HARNESS_TARGET`, `HARNESS_SNAPSHOT_DIR`). Its
//! output goes to the cell's log folder; the JUnit XML it writes (when the suite names one) or
//! else its exit code says what passed. Each file it
//! writes into the snapshot folder is a snapshot of the case named after the file.

use std::path::Path;
use std::time::Instant;

use super::{CaseResult, Observed, SuiteEnv};
use crate::build::log_tail;
use crate::errors::{Error, Result};
use crate::matrix::{Normalize, Suite};
use crate::process::{Cmd, logged};
use crate::snapshot::normalize;

/// Runs a command suite; it is one case, named after the suite.
pub async fn run(
    suite: &Suite,
    root: &Path,
    env: &SuiteEnv,
    rules: &Normalize,
) -> Result<Vec<CaseResult>> {
    std::fs::create_dir_all(&env.snapshot_dir).map_err(|e| Error::io(&env.snapshot_dir, e))?;
    let dir = suite.path.clone().unwrap_or_else(|| root.to_owned());
    let mut cmd = Cmd::new(&suite.command[0])
        .args(&suite.command[1..])
        .current_dir(&dir)
        .env("HARNESS_BASE_URL", &env.base_url)
        .env("HARNESS_CELL", &env.cell)
        .env("HARNESS_TARGET", &env.target)
        .env("HARNESS_SNAPSHOT_DIR", &env.snapshot_dir);
    for (k, v) in &suite.env {
        cmd = cmd.env(k, v);
    }
    if let Some(junit) = &suite.junit {
        // A report left by an earlier run must not pass for this one's.
        let _ = std::fs::remove_file(dir.join(junit));
    }
    let start = Instant::now();
    let status = logged(&cmd, &env.log, |_| true).await?;
    let failure = (!status.success()).then(|| {
        format!(
            "`{cmd}` failed ({status}); its output is {}:\n{}",
            env.log.display(),
            log_tail(&env.log, 40)
        )
    });
    // With a JUnit file, its cases are the results; a non-zero exit with no failing case in it
    // still fails (the command broke before or after its tests).
    let mut results = match &suite.junit {
        Some(junit) => {
            let path = dir.join(junit);
            let mut cases = super::junit::read(&path)?;
            if let Some(failure) = failure.filter(|_| cases.iter().all(|c| c.passed)) {
                cases.push(CaseResult {
                    name: suite.name.clone(),
                    passed: false,
                    failure: Some(failure),
                    observed: Vec::new(),
                    duration: start.elapsed(),
                });
            }
            cases
        }
        None => vec![CaseResult {
            name: suite.name.clone(),
            passed: status.success(),
            failure,
            observed: Vec::new(),
            duration: start.elapsed(),
        }],
    };
    results.extend(written_snapshots(
        &env.snapshot_dir,
        &cmd.to_string(),
        rules,
    )?);
    Ok(results)
}

/// The snapshots a command wrote, one case per file (named after the file's stem).
fn written_snapshots(dir: &Path, command: &str, rules: &Normalize) -> Result<Vec<CaseResult>> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    let mut out = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).map_err(|e| Error::io(&file, e))?;
        let n = normalize::text(rules, &text);
        let case = file
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        out.push(CaseResult {
            name: case,
            passed: true,
            failure: None,
            observed: vec![Observed {
                step: "out".into(),
                expression: command.to_owned(),
                text: n.text,
                json: n.json,
            }],
            duration: std::time::Duration::ZERO,
        });
    }
    Ok(out)
}
