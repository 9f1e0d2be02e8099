//! A target's own build command, for servers that cargo does not build: any argv, run in the
//! matrix's folder, and the artifact it must leave behind; or no command, for a server built
//! elsewhere, whose artifact must be there.

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::events::{Events, RunEvent};
use crate::process::{Cmd, log_tail, logged};

/// Runs `command` (argv, placeholders filled in) with `env` and returns the artifact it
/// produced at `artifact` (relative to `root`), or why there is none.
pub async fn build(
    root: &Path,
    command: &[String],
    env: &[(String, String)],
    artifact: &str,
    log: &Path,
    events: &Events,
) -> std::result::Result<PathBuf, String> {
    let start = Instant::now();
    let Some((program, args)) = command.split_first() else {
        // A prebuilt artifact: nothing to run, only a file to find.
        let path = root.join(artifact);
        let result = if path.is_file() {
            Ok(path)
        } else {
            Err(format!(
                "the prebuilt artifact {} is not there: expected the server's executable (build it first, or give the target a `command` that builds it)",
                path.display()
            ))
        };
        events.emit(RunEvent::BuildFinished {
            build: artifact.to_owned(),
            result: result
                .as_ref()
                .map(|p| p.display().to_string())
                .map_err(Clone::clone),
            duration: start.elapsed(),
        });
        return result;
    };
    let mut cmd = Cmd::new(program).args(args).current_dir(root);
    for (k, v) in env {
        cmd = cmd.env(k, v);
    }
    events.emit(RunEvent::BuildStarted {
        command: cmd.to_string(),
    });
    let result = run(&cmd, &root.join(artifact), log).await;
    events.emit(RunEvent::BuildFinished {
        build: artifact.to_owned(),
        result: result
            .as_ref()
            .map(|p| p.display().to_string())
            .map_err(Clone::clone),
        duration: start.elapsed(),
    });
    result
}

/// Runs `cmd`, logging to `log`, and returns `artifact` once it is there. What the build
/// leaves in its temporary folder goes with it.
async fn run(cmd: &Cmd, artifact: &Path, log: &Path) -> std::result::Result<PathBuf, String> {
    let (with_temp, _temp) = cmd.clone().with_own_temp().map_err(|e| e.to_string())?;
    let status = logged(&with_temp, log, |l| Some(l.to_owned()))
        .await
        .map_err(|e| e.to_string())?
        .status;
    if !status.success() {
        return Err(format!(
            "`{cmd}` failed ({status}); see {}:\n{}",
            log.display(),
            log_tail(log, 30)
        ));
    }
    if artifact.is_file() {
        Ok(artifact.to_owned())
    } else {
        Err(format!(
            "`{cmd}` succeeded but left no artifact at {}",
            artifact.display()
        ))
    }
}
