//! Runtimes: where a cell's server runs (a host process, a Windows build natively or under
//! Wine, a container, a pod). Each kind is one module implementing [`Kind`] (its matrix
//! keys and their checks, what it needs provisioned and of a CI runner, and its launcher,
//! which starts and stops servers and says how the reports describe them), listed once in
//! [`KINDS`].
//!
//! Each launch gets a free port, a fresh data dir, the configured environment and a log file
//! for the server's output. [`Server::wait_ready`] polls the readiness probe until it answers,
//! the server dies, or the timeout passes; [`Server::stop`] stops it gracefully, then by force.
//! Dropping a [`Server`] (an error, a panic, Ctrl-C) stops it by force, so nothing outlives
//! the harness.

mod container;
mod host;
mod native;
mod pod;
mod server;
mod windows;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;

use crate::errors::{Error, Result};
use crate::matrix::{Cell, Matrix, Runtime as RuntimeConfig, RuntimeKeys, placeholders};
use crate::process::{Cmd, run_blocking};
use crate::provision::Provisioned;
use crate::provision::provenance::{Execution, ExecutionKind, Facts};

pub use container::{Container, ContainerKind, ContainerRuntime};
pub use host::{Host, HostKind};
pub use native::NativeRuntime;
pub use pod::{ClusterRuntime, Pod, PodKind, PodRuntime};
pub use server::{Server, StopSignal, Stopped};
pub use windows::wine::WineRuntime;
pub use windows::{Windows, WindowsKind, WindowsMode};

/// Every runtime kind, in the order messages list them: the one place a kind is registered.
pub static KINDS: &[&dyn Kind] = &[&HostKind, &WindowsKind, &ContainerKind, &PodKind];

/// The `image` key, read by the kinds that run an OCI image (`container`, `pod`).
pub const IMAGE: crate::matrix::Key = crate::matrix::Key {
    name: "image",
    doc: "The OCI image, for the `container` and `pod` runtimes.",
    schema: crate::matrix::schema_of::<Option<String>>,
};

/// A runtime kind: what the matrix knows of it ([`RuntimeKeys`]: its keys, their checks and
/// the settings they make, which answer what provisioning and CI need), and its launcher.
pub trait Kind: RuntimeKeys {
    /// A launcher for the servers of targets configured as `config`, from what was
    /// provisioned; `scratch` holds what it stages for the run.
    fn launcher(
        &self,
        config: &RuntimeConfig,
        provisioned: &Provisioned,
        scratch: &Path,
    ) -> Result<Arc<dyn Runtime>>;
    /// Targets whose settings give the same value here share one launcher in a run (one
    /// pool of Wine prefixes per reported Windows version); `None`: one per target.
    fn shared(&self, _config: &RuntimeConfig) -> Option<String> {
        None
    }
}

/// The runtime kinds as the matrix reads them: what [`crate::matrix::parse`] is given.
pub fn kinds() -> crate::matrix::Kinds {
    static KEYS: std::sync::LazyLock<Vec<&'static dyn RuntimeKeys>> =
        std::sync::LazyLock::new(|| KINDS.iter().map(|k| *k as &dyn RuntimeKeys).collect());
    KEYS.as_slice()
}

/// The kind of runtime `config`.
fn kind_of(config: &RuntimeConfig) -> Result<&'static dyn Kind> {
    KINDS
        .iter()
        .copied()
        .find(|k| k.name() == config.kind())
        .ok_or_else(|| not_provisioned(&format!("the runtime `{}`", config.kind())))
}

/// Where a server's output goes: each stream to a file of its own
/// (`<suite>.server.stdout.log`, `<suite>.server.stderr.log`), so that each keeps its own
/// order: two streams written at once into one file interleave differently from run to
/// run, and a log snapshot taken from it would not be stable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerLogs {
    /// Its standard output.
    pub stdout: std::path::PathBuf,
    /// Its standard error.
    pub stderr: std::path::PathBuf,
}

impl ServerLogs {
    /// The logs of a server of suite `suite` in the cell's log folder `dir`.
    pub fn of(dir: &Path, suite: &str) -> ServerLogs {
        ServerLogs {
            stdout: dir.join(format!("{suite}.server.stdout.log")),
            stderr: dir.join(format!("{suite}.server.stderr.log")),
        }
    }

    /// Both, in the order a reader takes them: standard output, then standard error.
    pub fn both(&self) -> [&Path; 2] {
        [&self.stdout, &self.stderr]
    }

    /// Their sizes now (0 for a file not there yet).
    pub fn sizes(&self) -> [u64; 2] {
        self.both()
            .map(|p| std::fs::metadata(p).map_or(0, |m| m.len()))
    }

    /// Where they are, for messages.
    pub fn describe(&self) -> String {
        format!("{} and {}", self.stdout.display(), self.stderr.display())
    }

    /// The end of each (its last `lines` lines), labelled, the empty ones left out.
    pub fn tail(&self, lines: usize) -> String {
        [("stdout", &self.stdout), ("stderr", &self.stderr)]
            .iter()
            .filter_map(|(name, path)| {
                let tail = crate::process::log_tail(path, lines);
                (!tail.trim().is_empty()).then(|| format!("[{name}]\n{tail}"))
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Removes both (a job's logs from an earlier run).
    pub fn remove(&self) {
        for path in self.both() {
            let _ = std::fs::remove_file(path);
        }
    }
}

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
    /// The log files of its output.
    pub logs: &'a ServerLogs,
    /// The server's launch arguments, with placeholders.
    pub args: &'a [String],
    /// Its environment.
    pub env: BTreeMap<String, String>,
    /// A name unique to this launch (container names).
    pub name: String,
}

impl Launch<'_> {
    /// The artifact's folder (absolute: an engine mounts it) and its file name, for a
    /// runtime that mounts the folder into its servers' filesystem.
    pub fn artifact_parts(&self) -> Result<(std::path::PathBuf, String)> {
        let dir = self.artifact.parent().ok_or_else(|| {
            Error::io(
                self.artifact,
                std::io::Error::other("an artifact without a folder"),
            )
        })?;
        let dir = std::path::absolute(dir).map_err(|e| Error::io(dir, e))?;
        let exe = self
            .artifact
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        Ok((dir, exe))
    }

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

/// How long a connection to a container's published port must stay open before the TCP
/// readiness probe counts it: an engine's forwarder closes at once what it cannot pass on.
const FORWARDER_HOLD: Duration = Duration::from_millis(100);

/// Brings a server's data dir back to the host, where its runtime keeps it elsewhere (a pod
/// in a cluster); called off the async threads before the harness reads the data dir, it
/// says what failed.
#[derive(Clone)]
pub struct DataDirSync(Arc<dyn Fn() -> std::result::Result<(), String> + Send + Sync>);

impl DataDirSync {
    /// What `pull` does.
    pub fn new(pull: impl Fn() -> std::result::Result<(), String> + Send + Sync + 'static) -> Self {
        DataDirSync(Arc::new(pull))
    }

    /// Brings the data dir back now.
    pub fn pull(&self) -> std::result::Result<(), String> {
        (self.0)()
    }
}

impl std::fmt::Debug for DataDirSync {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataDirSync")
    }
}

/// Something that cleans up after a server when it stops or is dropped.
pub trait Cleanup: Send + Sync {
    /// The command that gracefully stops what the process group alone does not (a
    /// container), waiting up to `grace`.
    fn stop(&self, grace: Duration) -> Option<Cmd>;
    /// Whether anything is left to remove after the server's process ended with `status`
    /// (`None`: killed by a signal or not reaped), `forced` or not. A container whose
    /// attached client exited on its own was removed by that client (`run --rm`).
    fn needed(&self, status: Option<std::process::ExitStatus>, forced: bool) -> bool;
    /// Removes what is left, synchronously (also called from `Drop`).
    fn remove(&self);
    /// How the server itself exited, when the process the harness watches is not the
    /// server (a pod's log follower ends with status 0 whatever the server's was).
    fn exit_detail(&self) -> Option<String> {
        None
    }
}

/// A server's cleanup until a [`Server`] owns it: a start cut short (an error, an interrupt)
/// removes what the runtime made for it.
struct Armed<C: Cleanup>(Option<C>);

impl<C: Cleanup> Armed<C> {
    /// The cleanup, no longer removing anything when dropped: its server owns it now.
    fn disarm(mut self) -> C {
        self.0.take().expect("armed until disarmed")
    }
}

impl<C: Cleanup> Drop for Armed<C> {
    fn drop(&mut self) {
        if let Some(cleanup) = self.0.take() {
            cleanup.remove();
        }
    }
}

/// What one server has to itself while it runs (a Wine prefix); released when dropped.
#[derive(Default)]
pub struct Reservation {
    /// The slot of a pooled runtime.
    pub slot: Option<usize>,
    release: Option<Box<dyn FnOnce() + Send + Sync>>,
}

impl Reservation {
    /// A reservation of `slot`, which `release` gives back.
    pub fn of(slot: usize, release: impl FnOnce() + Send + Sync + 'static) -> Self {
        Reservation {
            slot: Some(slot),
            release: Some(Box::new(release)),
        }
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if let Some(release) = self.release.take() {
            release();
        }
    }
}

/// A runtime: starts servers.
pub trait Runtime: Send + Sync {
    /// Its name, for messages.
    fn name(&self) -> &'static str;
    /// Reserves what one server needs to itself, if it is free now (`None` when every
    /// prefix is busy or held by another run); a runtime whose servers share everything
    /// reserves nothing and always has room.
    fn try_reserve(&self) -> Result<Option<Reservation>> {
        Ok(Some(Reservation::default()))
    }
    /// How many of its servers can run at once (its slots), if it has a limit.
    fn capacity(&self) -> Option<usize> {
        None
    }
    /// What `reservation` holds, for messages (a Wine prefix's folder).
    fn place(&self, _reservation: &Reservation) -> Option<String> {
        None
    }
    /// Makes what `reservation` holds ready for a server (a Wine prefix's wineserver, once
    /// per run).
    fn prepare<'a>(&'a self, _reservation: &'a Reservation) -> BoxFuture<'a, Result<()>> {
        Box::pin(async { Ok(()) })
    }
    /// Makes ready ahead of the first job what the runtime keeps for the run (every Wine
    /// slot's wineserver), so that no job pays for it. What fails here is tried again by the
    /// first job that needs it, and becomes that job's error.
    fn warm_up(&self) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }
    /// Stops what the runtime keeps for the run (Wine's wineservers), once its last server
    /// has stopped; dropping the runtime does it too, but blocking.
    fn shutdown(&self) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }
    /// How long a line its server writes may take to reach the server's log: a plain process
    /// writes its log itself (none), a container engine relays the lines. What a case that
    /// takes the lines logged while it ran as evidence waits for the log to be quiet.
    fn log_latency(&self) -> std::time::Duration {
        std::time::Duration::ZERO
    }
    /// The data dir at `host` as the server sees it in this runtime.
    fn data_dir_spelling(&self, host: &Path) -> String {
        host.to_string_lossy().into_owned()
    }
    /// How the reports describe what runs the servers of a target configured as `config`
    /// (natively, emulated, in a container or a pod, and by what), from `facts`.
    fn describe(&self, config: &RuntimeConfig, facts: &Facts) -> Execution;
    /// Starts the server of `launch` in what `reservation` holds. Dropped before it ends
    /// (an interrupt, a timeout), it leaves nothing started.
    fn start<'a>(
        &'a self,
        launch: &'a Launch<'a>,
        reservation: &'a Reservation,
    ) -> BoxFuture<'a, Result<Server>>;
}

/// Which of a run's runtimes are made: first those that need no engine (the host's and
/// Wine's, so that Wine's warm up while the engines are checked and cargo builds), then the
/// containers', once their engines are ready.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Runtimes that need no container engine.
    WithoutEngine,
    /// Runtimes that run containers.
    Containers,
}

impl Stage {
    /// The stage that makes the runtime of `config`: a cluster's pods are made with the
    /// containers, once kubectl is ready.
    pub fn of(config: &RuntimeConfig) -> Stage {
        let needs = config.requirements();
        if needs.engine.is_some() || needs.cluster.is_some() {
            Stage::Containers
        } else {
            Stage::WithoutEngine
        }
    }
}

/// The runtimes of `targets` (the targets of a run's cells) that `stage` makes, one per
/// target: servers of every cell and job share them (one Wine prefix pool for all Wine
/// targets that report the same Windows version). `scratch` holds what a runtime stages for
/// the run. A target whose runtime cannot be made (what it needs was not provisioned) is an
/// error, never left out.
pub fn runtimes<'a>(
    matrix: &Matrix,
    targets: impl IntoIterator<Item = &'a str>,
    stage: Stage,
    provisioned: &Provisioned,
    scratch: &Path,
) -> Result<BTreeMap<String, Arc<dyn Runtime>>> {
    let mut shared: BTreeMap<(&str, String), Arc<dyn Runtime>> = BTreeMap::new();
    let mut out: BTreeMap<String, Arc<dyn Runtime>> = BTreeMap::new();
    for name in targets {
        let Some(target) = matrix.target(name) else {
            continue;
        };
        if Stage::of(&target.runtime) != stage {
            continue;
        }
        let kind = kind_of(&target.runtime)?;
        let runtime = match kind.shared(&target.runtime) {
            Some(key) => match shared.entry((kind.name(), key)) {
                std::collections::btree_map::Entry::Occupied(e) => e.get().clone(),
                std::collections::btree_map::Entry::Vacant(e) => e
                    .insert(kind.launcher(&target.runtime, provisioned, scratch)?)
                    .clone(),
            },
            None => kind.launcher(&target.runtime, provisioned, scratch)?,
        };
        out.insert(target.name.clone(), runtime);
    }
    Ok(out)
}

/// The error of a runtime whose prerequisite was not provisioned.
fn not_provisioned(what: &str) -> Error {
    Error::Prerequisite {
        what: what.to_owned(),
        why: "it was not provisioned".into(),
        fix: format!("{} doctor", crate::invocation::command()),
    }
}

/// A runtime for a target's servers, on its own (tests and tools that launch one server),
/// with what it stages kept in `scratch`, which the caller owns.
pub fn for_target(
    config: &RuntimeConfig,
    provisioned: &Provisioned,
    scratch: &Path,
) -> Result<Arc<dyn Runtime>> {
    kind_of(config)?.launcher(config, provisioned, scratch)
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

/// The description of servers run as `kind` by `by`, for a target configured as `config`:
/// the Windows version it stands for, and the one Wine reports, when it names them.
fn execution(kind: ExecutionKind, by: String, config: &RuntimeConfig) -> Execution {
    let needs = config.requirements();
    Execution {
        kind,
        by,
        windows: needs.windows.map(|v| v.title().to_owned()),
        reported: needs
            .wine
            .flatten()
            .filter(|_| kind == ExecutionKind::Emulated)
            .map(str::to_owned),
        unpinned: false,
    }
}

/// Runs a cleanup command synchronously, ignoring its result.
fn cleanup_blocking(cmd: &Cmd) {
    let _ = run_blocking(cmd);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every registered kind, read from a target of its own with the keys it requires,
    /// makes settings that name it, so that a run finds its launcher again; the names are
    /// unique, and so are the aliases.
    #[test]
    fn every_registered_kind_reads_its_target_into_settings_that_name_it() {
        let mut names = std::collections::BTreeSet::new();
        for kind in KINDS {
            assert!(
                names.insert(kind.name()),
                "{} is registered twice",
                kind.name()
            );
            for alias in kind.aliases() {
                assert!(names.insert(alias.name), "{} names two kinds", alias.name);
            }
            let needs_image = kind.keys().iter().any(|k| k.name == IMAGE.name);
            let text = format!(
                "primary = \"t\"\n[server]\npackage = \"srv\"\n[server.ready]\ntcp = true\n[[target]]\nname = \"t\"\ntriple = \"x86_64-unknown-linux-gnu\"\nruntime = \"{}\"\n{}",
                kind.name(),
                if needs_image {
                    "image = \"debian:bookworm-slim\"\n"
                } else {
                    ""
                }
            );
            let matrix = crate::matrix::parse(Path::new("m.toml"), &text, kinds())
                .unwrap_or_else(|e| panic!("{}: {e}", kind.name()));
            let runtime = &matrix.target("t").unwrap().runtime;
            assert_eq!(runtime.kind(), kind.name());
            assert_eq!(kind_of(runtime).unwrap().name(), kind.name());
        }
        assert_eq!(kinds().len(), KINDS.len());
    }
}
