//! Runtimes: where a cell's server runs (a host process, Wine, a container), behind one trait.
//!
//! Each launch gets a free port, a fresh data dir, the configured environment and a log file
//! for the server's output. [`Server::wait_ready`] polls the readiness probe until it answers,
//! the server dies, or the timeout passes; [`Server::stop`] stops it gracefully, then by force.
//! Dropping a [`Server`] (an error, a panic, Ctrl-C) stops it by force, so nothing outlives
//! the harness.

mod container;
mod host;
mod wine;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::build::log_tail;
use crate::errors::{Error, Result};
use crate::matrix::{Cell, Matrix, Probe, Ready, Runtime as RuntimeConfig};
use crate::process::{Cmd, Running, run_blocking};
use crate::provision::Provisioned;

pub use container::ContainerRuntime;
pub use host::HostRuntime;
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
        self.args
            .iter()
            .map(|a| {
                let mut a = a
                    .replace("{addr}", &format!("{addr_host}:{}", self.port))
                    .replace("{host}", addr_host)
                    .replace("{port}", &self.port.to_string())
                    .replace("{data_dir}", data_dir)
                    .replace("{cell}", &self.cell.name)
                    .replace("{target}", &self.cell.target);
                for (axis, value) in &self.cell.values {
                    a = a.replace(&format!("{{{axis}}}"), value);
                }
                a
            })
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

/// A running server.
pub struct Server {
    process: Option<Running>,
    cleanup: Option<Box<dyn Cleanup>>,
    /// Where it answers.
    pub base_url: String,
    port: u16,
    log: PathBuf,
    stop_signal: StopSignal,
}

/// How a runtime asks its server to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopSignal {
    /// SIGTERM to the process group.
    Term,
    /// SIGINT: Wine turns it into a console Ctrl-C for the Windows program.
    Interrupt,
    /// The cleanup's stop command (a container engine's `stop`).
    Engine,
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

impl Server {
    fn new(
        process: Running,
        cleanup: Option<Box<dyn Cleanup>>,
        launch: &Launch,
        stop_signal: StopSignal,
    ) -> Self {
        Server {
            process: Some(process),
            cleanup,
            base_url: format!("http://127.0.0.1:{}", launch.port),
            port: launch.port,
            log: launch.log.to_owned(),
            stop_signal,
        }
    }

    /// The launch command, for messages.
    pub fn command(&self) -> &str {
        self.process.as_ref().map_or("", |p| p.command())
    }

    /// Waits until the readiness probe answers. Fails at once when the server exits, and
    /// after the timeout; both errors carry the end of the server's log.
    pub async fn wait_ready(&mut self, ready: &Ready) -> Result<Duration> {
        let start = Instant::now();
        loop {
            if let Some(status) = self.process.as_mut().and_then(Running::try_wait) {
                return Err(Error::Command {
                    command: self.command().to_owned(),
                    problem: format!(
                        "exited ({status}) before it was ready; its log is {}",
                        self.log.display()
                    ),
                    stderr: log_tail(&self.log, 30),
                });
            }
            if self.probe(&ready.probe).await {
                return Ok(start.elapsed());
            }
            if start.elapsed() > ready.timeout {
                return Err(Error::Command {
                    command: self.command().to_owned(),
                    problem: format!(
                        "was not ready after {:?} ({}); its log is {}",
                        ready.timeout,
                        describe(&ready.probe),
                        self.log.display()
                    ),
                    stderr: log_tail(&self.log, 30),
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn probe(&self, probe: &Probe) -> bool {
        match probe {
            Probe::Tcp => tokio::net::TcpStream::connect(("127.0.0.1", self.port))
                .await
                .is_ok(),
            Probe::Log(re) => {
                std::fs::read_to_string(&self.log).is_ok_and(|t| t.lines().any(|l| re.is_match(l)))
            }
            Probe::Http(path) => {
                let url = format!("{}{path}", self.base_url);
                tokio::task::spawn_blocking(move || {
                    let agent: ureq::Agent = ureq::Agent::config_builder()
                        .http_status_as_error(false)
                        .timeout_global(Some(Duration::from_secs(2)))
                        .build()
                        .into();
                    agent
                        .get(&url)
                        .call()
                        .is_ok_and(|r| r.status().is_success())
                })
                .await
                .unwrap_or(false)
            }
        }
    }

    /// Stops the server: gracefully, then by force after `grace`. Returns whether force
    /// was needed.
    pub async fn stop(mut self, grace: Duration) -> bool {
        let mut forced = false;
        if let Some(process) = self.process.take() {
            match self.stop_signal {
                StopSignal::Engine => {
                    if let Some(cmd) = self.cleanup.as_ref().and_then(|c| c.stop(grace)) {
                        let ok = crate::process::output(&cmd)
                            .await
                            .is_ok_and(|o| o.status.success());
                        forced |= !ok;
                    }
                    let (_, f) = process.stop(grace).await;
                    forced |= f;
                }
                StopSignal::Interrupt => {
                    let (_, f) = process.stop_with(true, grace).await;
                    forced |= f;
                }
                StopSignal::Term => {
                    let (_, f) = process.stop(grace).await;
                    forced |= f;
                }
            }
        }
        if let Some(cleanup) = self.cleanup.take() {
            tokio::task::spawn_blocking(move || cleanup.remove())
                .await
                .expect("cleanup does not panic");
        }
        forced
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // An unstopped server: its process group is killed by `Running`'s own drop; what
        // lives outside it (a container, a wineserver) goes here.
        drop(self.process.take());
        if let Some(cleanup) = self.cleanup.take() {
            cleanup.remove();
        }
    }
}

fn describe(probe: &Probe) -> String {
    match probe {
        Probe::Http(path) => format!("GET {path} never answered 2xx"),
        Probe::Tcp => "the port never accepted a connection".into(),
        Probe::Log(re) => format!("no log line matched `{re}`"),
    }
}

/// Runs a cleanup command synchronously, ignoring its result.
fn cleanup_blocking(cmd: &Cmd) {
    let _ = run_blocking(cmd);
}
