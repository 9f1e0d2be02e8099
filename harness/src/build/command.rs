//! A target's own build command, for servers that cargo does not build: any argv, run in the
//! matrix's folder, and the artifact it must leave behind.

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::events::{Events, RunEvent};
use crate::process::{Cmd, log_tail, logged};

/// Runs `command` (argv, placeholders filled in) and returns the artifact it produced at
/// `artifact` (relative to `root`), or why there is none.
pub async fn build(
    root: &Path,
    command: &[String],
    artifact: &str,
    log: &Path,
    events: &Events,
) -> std::result::Result<PathBuf, String> {
    let cmd = Cmd::new(&command[0]).args(&command[1..]).current_dir(root);
    events.emit(RunEvent::BuildStarted {
        command: cmd.to_string(),
    });
    let start = Instant::now();
    let result = match logged(&cmd, log, |l| Some(l.to_owned())).await {
        Err(e) => Err(e.to_string()),
        Ok(status) if !status.success() => Err(format!(
            "`{cmd}` failed ({status}); see {}:\n{}",
            log.display(),
            log_tail(log, 30)
        )),
        Ok(_) => {
            let path = root.join(artifact);
            if path.is_file() {
                Ok(path)
            } else {
                Err(format!(
                    "`{cmd}` succeeded but left no artifact at {}",
                    path.display()
                ))
            }
        }
    };
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
