//! `command` suites: any test command, run with the cell in its environment
//! (`HARNESS_BASE_URL`, `HARNESS_CELL`, `HARNESS_TARGET`, `HARNESS_SNAPSHOT_DIR`). Its
//! output goes to the cell's log folder; its exit code says whether it passed.

use std::path::Path;
use std::time::Instant;

use super::{CaseResult, SuiteEnv};
use crate::build::log_tail;
use crate::errors::{Error, Result};
use crate::matrix::Suite;
use crate::process::{Cmd, logged};

/// Runs a command suite; it is one case, named after the suite.
pub async fn run(suite: &Suite, root: &Path, env: &SuiteEnv) -> Result<Vec<CaseResult>> {
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
    let start = Instant::now();
    let status = logged(&cmd, &env.log, |_| {}).await?;
    let failure = (!status.success()).then(|| {
        format!(
            "`{cmd}` failed ({status}); its output is {}:\n{}",
            env.log.display(),
            log_tail(&env.log, 40)
        )
    });
    Ok(vec![CaseResult {
        name: suite.name.clone(),
        passed: status.success(),
        failure,
        observed: Vec::new(),
        duration: start.elapsed(),
    }])
}
