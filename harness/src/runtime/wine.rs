//! The Wine runtime: a Windows build run by Wine in the cached prefix, with the `ProcessPrng`
//! shim beside the `.exe` when this Wine needs it. The server is asked to stop with SIGINT,
//! which Wine delivers to the program as a console Ctrl-C; whatever Wine left running in the
//! prefix (its wineserver) is stopped after it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{Cleanup, Launch, Runtime, Server, StopSignal, cleanup_blocking};
use crate::errors::{Error, Result};
use crate::process::{Cmd, Running};
use crate::provision::Wine;

/// Wine, in the provisioned prefix.
pub struct WineRuntime {
    /// The provisioned Wine.
    pub wine: Wine,
}

/// A Linux path as a Windows program under Wine sees it, through the `Z:` drive.
pub fn windows_path(path: &Path) -> String {
    format!("Z:{}", path.to_string_lossy().replace('/', "\\"))
}

/// Copies the `.exe` (and the shim) into a folder of its own next to the data dir, so that
/// the shim never lands in cargo's target directory.
fn stage(launch: &Launch, shim: Option<&Path>) -> Result<PathBuf> {
    let dir = launch
        .data_dir
        .parent()
        .unwrap_or(launch.data_dir)
        .join(format!("{}-bin", launch.name));
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let exe = dir.join(launch.artifact.file_name().unwrap_or_default());
    std::fs::copy(launch.artifact, &exe).map_err(|e| Error::io(&exe, e))?;
    if let Some(shim) = shim {
        let to = dir.join("bcryptprimitives.dll");
        std::fs::copy(shim, &to).map_err(|e| Error::io(&to, e))?;
    }
    Ok(exe)
}

struct WineCleanup {
    wine: Wine,
}

impl Cleanup for WineCleanup {
    fn stop(&self, _grace: Duration) -> Option<Cmd> {
        None
    }

    fn remove(&self) {
        // The wineserver of the prefix outlives the program by a few seconds by design;
        // stop it now so that nothing of the run is left.
        cleanup_blocking(&self.wine.env(Cmd::new("wineserver").arg("-k")));
        cleanup_blocking(&self.wine.env(Cmd::new("wineserver").arg("-w")));
    }
}

impl Runtime for WineRuntime {
    fn name(&self) -> &'static str {
        "wine"
    }

    /// `wineserver -k` stops everything in the prefix, so one cell at a time uses it, across
    /// runs too.
    fn exclusive(&self) -> Option<PathBuf> {
        Some(self.wine.prefix.with_extension("lock"))
    }

    fn data_dir_spelling(&self, host: &Path) -> String {
        windows_path(host)
    }

    fn start(&self, launch: &Launch) -> Result<Server> {
        let exe = stage(launch, self.wine.shim.as_deref())?;
        let data_dir = self.data_dir_spelling(launch.data_dir);
        let mut cmd = self
            .wine
            .env(Cmd::new("wine"))
            .arg(&exe)
            .args(launch.args_for("127.0.0.1", &data_dir))
            .current_dir(launch.data_dir);
        for (k, v) in &launch.env {
            cmd = cmd.env(k, v);
        }
        let process = Running::spawn(&cmd, launch.log)?;
        let cleanup = WineCleanup {
            wine: self.wine.clone(),
        };
        Ok(Server::new(
            process,
            Some(Box::new(cleanup)),
            launch,
            StopSignal::Interrupt,
        ))
    }
}
