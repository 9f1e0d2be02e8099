//! Runtimes: where a cell's server runs (a host process, Wine, a container), behind one trait.
//!
//! Each launch gets a free port, a fresh data dir, the configured environment and a log file
//! for the server's output. [`Server::wait_ready`] polls the readiness probe until it answers,
//! the server dies, or the timeout passes; [`Server::stop`] stops it gracefully, then by force.
//! Dropping a [`Server`] (an error, a panic, Ctrl-C) stops it by force, so nothing outlives
//! the harness.

mod container;
mod host;
mod server;
mod wine;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::errors::{Error, Result};
use crate::matrix::{Cell, Matrix, Runtime as RuntimeConfig, placeholders};
use crate::process::{Cmd, run_blocking};
use crate::provision::Provisioned;

pub use container::ContainerRuntime;
pub use host::HostRuntime;
pub use server::{Server, StopSignal, Stopped};
pub use wine::WineRuntime;

/// One launch of a cell's server.
#[derive(Debug)]
pub struct Launch<'a> {
    /// The cell.
    pub cell: &'a Cell,
    /// The server's built artifact.
    pub artifact: &'a Path,
    /// The port the harness reaches it on (127.0.0.1).
    pub port: u16,
    /// The fresh data dir on the host.
    pub data_dir: &'a Path,
    /// The log file of its output.
    pub log: &'a Path,
    /// The server's launch arguments, with placeholders.
    pub args: &'a [String],
    /// Its environment.
    pub env: BTreeMap<String, String>,
    /// A name unique to this launch (container names).
    pub name: String,
}

impl Launch<'_> {
    /// The launch arguments with placeholders filled in; `addr_host` and `data_dir` are as
    /// the server sees them inside its runtime.
    pub fn args_for(&self, addr_host: &str, data_dir: &str) -> Vec<String> {
        let value = |name: &str| {
            Some(match name {
                "addr" => format!("{addr_host}:{}", self.port),
                "host" => addr_host.to_owned(),
                "port" => self.port.to_string(),
                "data_dir" => data_dir.to_owned(),
                "cell" => self.cell.name.clone(),
                "target" => self.cell.target.clone(),
                axis => self.cell.value(axis)?.to_owned(),
            })
        };
        self.args
            .iter()
            .map(|a| placeholders::expand(a, &value))
            .collect()
    }
}

/// Something that cleans up after a server when it stops or is dropped.
pub trait Cleanup: Send + Sync {
    /// Gracefully stops what the process group alone does not (a container). Returns
    /// whether force was needed.
    fn stop(&self, grace: Duration) -> Option<Cmd>;
    /// Removes what is left, synchronously (also called from `Drop`).
    fn remove(&self);
}

/// A runtime: starts servers.
pub trait Runtime: Send + Sync {
    /// Its name, for messages.
    fn name(&self) -> &'static str;
    /// A lock file to hold while a cell uses this runtime, when its servers cannot share it
    /// with another cell (Wine's prefix); `None` when they can.
    fn exclusive(&self) -> Option<PathBuf> {
        None
    }
    /// The data dir at `host` as the server sees it in this runtime.
    fn data_dir_spelling(&self, host: &Path) -> String {
        host.to_string_lossy().into_owned()
    }
    /// Starts the server of `launch`.
    fn start(&self, launch: &Launch) -> Result<Server>;
}

/// The runtime of a cell's target.
pub fn for_target(config: &RuntimeConfig, provisioned: &Provisioned) -> Result<Box<dyn Runtime>> {
    Ok(match config {
        RuntimeConfig::Host => Box::new(HostRuntime),
        RuntimeConfig::Wine => {
            if cfg!(windows) {
                Box::new(HostRuntime)
            } else {
                let wine = provisioned
                    .wine
                    .clone()
                    .ok_or_else(|| Error::Prerequisite {
                        what: "wine".into(),
                        why: "it was not provisioned".into(),
                        fix: "cargo xtask doctor".into(),
                    })?;
                Box::new(WineRuntime { wine })
            }
        }
        RuntimeConfig::Container { image, engine } => {
            let engine = provisioned
                .engines
                .get(&(*engine, image.clone()))
                .cloned()
                .ok_or_else(|| Error::Prerequisite {
                    what: format!("a container engine for {image}"),
                    why: "it was not provisioned".into(),
                    fix: "cargo xtask doctor".into(),
                })?;
            Box::new(ContainerRuntime { engine })
        }
    })
}

/// The server's environment: the server's, the target's, and one variable per axis.
pub fn server_env(matrix: &Matrix, cell: &Cell) -> BTreeMap<String, String> {
    let mut env = matrix.server.env.clone();
    if let Some(target) = matrix.target(&cell.target) {
        env.extend(target.env.clone());
    }
    for (axis, value) in &cell.values {
        env.insert(
            format!("HARNESS_AXIS_{}", axis.to_uppercase().replace('-', "_")),
            value.clone(),
        );
    }
    env
}

/// Runs a cleanup command synchronously, ignoring its result.
fn cleanup_blocking(cmd: &Cmd) {
    let _ = run_blocking(cmd);
}
