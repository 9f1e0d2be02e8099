//! Provisioning: everything the selected cells need, made ready automatically and cached.
//!
//! Tools come from `which` or apt-get (as root); Rust targets from rustup; Wine gets a cached
//! prefix and, where needed, the `ProcessPrng` shim; container cells get an engine, a base
//! image and a run configuration that works on this host. What cannot be done automatically
//! fails at once with the exact command that fixes it. Every prerequisite has one check,
//! which both [`provision`] (before making it ready) and [`doctor`] (which changes nothing)
//! use. Everything cached lives under one folder ([`cache_dir`]), guarded by a lock so that
//! concurrent runs provision once.

pub mod container;
pub mod kube;
pub mod provenance;
pub mod rust;
pub mod tools;
pub mod wine;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::errors::{Error, Result};
use crate::events::{Events, Provision, RunEvent};
use crate::matrix::{Cluster, EngineKind, Matrix};

pub use container::Engine;
pub use kube::Kubectl;
pub use provenance::{Inputs, Provenance};
pub use wine::Wine;

/// Where provisioning keeps what it made: `$HARNESS_CACHE_DIR`, else
/// `$XDG_CACHE_HOME/port-harness`, else `~/.cache/port-harness`.
pub fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("HARNESS_CACHE_DIR") {
        return PathBuf::from(dir);
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("port-harness")
}

/// What provisioning works with.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// The cache folder.
    pub cache: PathBuf,
    /// Progress.
    pub events: Events,
}

impl Ctx {
    /// Reports a prerequisite that was ready.
    fn present(&self, check: &Check) {
        self.events.emit(RunEvent::Prerequisite {
            what: check.what.clone(),
            state: Provision::Present,
            detail: check.detail.clone(),
        });
    }

    /// Reports slow work about to start.
    fn provisioning(&self, what: String) {
        self.events.emit(RunEvent::Provisioning { what });
    }

    /// Reports a prerequisite made ready now.
    fn provisioned(&self, what: &str, detail: impl Into<String>) {
        self.events.emit(RunEvent::Prerequisite {
            what: what.to_owned(),
            state: Provision::Provisioned,
            detail: detail.into(),
        });
    }
}

/// One prerequisite as it stands.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Check {
    /// What.
    pub what: String,
    /// Ready or not.
    pub ok: bool,
    /// Its state in words.
    pub detail: String,
    /// The command that makes it ready (or what `matrix` will do by itself).
    pub fix: Option<String>,
    /// Whether runs do without it (a tool some users prefer): its absence is no failure.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub optional: bool,
}

/// What a set of cells needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Needs {
    /// Triples cargo builds.
    pub cargo_triples: BTreeSet<String>,
    /// The Windows versions Wine cells need their prefixes to report (`None`: the prefix's
    /// default); empty when no cell runs under Wine.
    pub wine_versions: BTreeSet<Option<&'static str>>,
    /// Targets this host cannot run, each with why: a native Windows target on Linux, a
    /// Wine one on Windows.
    pub unrunnable: BTreeMap<String, String>,
    /// How many Wine servers may run at once: the size of the prefix pool.
    pub wine_slots: usize,
    /// Engines and the images their cells run.
    pub containers: BTreeSet<(EngineKind, String)>,
    /// The programs of targets' build commands that name the packages providing them.
    pub build_tools: BTreeMap<String, BTreeSet<String>>,
    /// The Kubernetes clusters pod cells run in, through kubectl.
    pub clusters: BTreeSet<Cluster>,
}

impl Needs {
    /// What the named cells of `matrix` need.
    pub fn of<'a>(matrix: &Matrix, cells: impl IntoIterator<Item = &'a str>) -> Needs {
        let mut needs = Needs {
            wine_slots: 1,
            ..Needs::default()
        };
        for name in cells {
            let Some(target) = matrix.cell(name).and_then(|c| matrix.target(&c.target)) else {
                continue;
            };
            match &target.build {
                None => {
                    needs.cargo_triples.insert(target.triple.clone());
                }
                Some(build) => {
                    if let Some(program) = build.command.first()
                        && !build.packages.is_empty()
                    {
                        needs
                            .build_tools
                            .entry(program.clone())
                            .or_default()
                            .extend(build.packages.iter().cloned());
                    }
                }
            }
            let requirements = target.runtime.requirements();
            if let Some(version) = requirements.wine {
                needs.wine_versions.insert(version);
            }
            if let Some(why) = requirements.unrunnable {
                needs.unrunnable.insert(target.name.clone(), why);
            }
            if let Some(engine) = requirements.engine {
                needs.containers.insert(engine);
            }
            if let Some((cluster, _)) = requirements.cluster {
                needs.clusters.insert(cluster);
            }
        }
        needs
    }

    /// The installed engine programs the cells' containers would run on.
    pub async fn engine_programs(&self) -> BTreeSet<&'static str> {
        let mut programs = BTreeSet::new();
        for (kind, _) in &self.containers {
            let program = container::choose(*kind).await.program;
            if which::which(program).is_ok() {
                programs.insert(program);
            }
        }
        programs
    }

    /// Whether a cell runs under Wine.
    pub fn wine(&self) -> bool {
        !self.wine_versions.is_empty()
    }

    /// The Debian and Ubuntu packages that provide what these needs take on a Linux host: for
    /// a CI job that installs them (with sudo) before the harness runs.
    pub fn packages(&self) -> BTreeSet<&str> {
        let mut packages = BTreeSet::new();
        if self.cargo_triples.iter().any(|t| needs_mingw(t)) {
            packages.extend(tools::MINGW.packages);
        }
        if self.wine() {
            packages.extend(tools::WINE.packages);
        }
        for tool_packages in self.build_tools.values() {
            packages.extend(tool_packages.iter().map(String::as_str));
        }
        for (kind, _) in &self.containers {
            packages.extend(match kind {
                EngineKind::Docker => tools::DOCKER.packages,
                EngineKind::Podman | EngineKind::Auto => tools::PODMAN.packages,
            });
        }
        packages
    }
}

/// Everything ready.
#[derive(Debug, Clone, Default)]
pub struct Provisioned {
    /// Environment for cargo (linkers of cross targets).
    pub cargo_env: Vec<(String, String)>,
    /// The pool of Wine prefixes, when a cell needs Wine (empty otherwise).
    pub wine: Vec<Wine>,
    /// An engine per engine kind and image.
    pub engines: BTreeMap<(EngineKind, String), Engine>,
    /// kubectl per cluster.
    pub clusters: BTreeMap<Cluster, Kubectl>,
}

/// Whether building for `triple` on this host needs the mingw linker.
fn needs_mingw(triple: &str) -> bool {
    triple.ends_with("-windows-gnu") && !cfg!(windows)
}

/// The cargo linker variable of a triple: `CARGO_TARGET_<TRIPLE>_LINKER`.
fn linker_var(triple: &str) -> String {
    format!(
        "CARGO_TARGET_{}_LINKER",
        triple.to_uppercase().replace(['-', '.'], "_")
    )
}

/// Makes ready everything `needs` lists, one part after the other: for what launches
/// servers without the run's overlap of builds and runtimes.
pub async fn provision(needs: &Needs, ctx: &Ctx) -> Result<Provisioned> {
    Ok(Provisioned {
        cargo_env: for_builds(needs, ctx).await?,
        wine: for_wine(needs, ctx).await?,
        engines: for_containers(needs, ctx).await?,
        clusters: for_clusters(needs).await?,
    })
}

/// kubectl ready for every cluster the cells' pods run in.
pub async fn for_clusters(needs: &Needs) -> Result<BTreeMap<Cluster, Kubectl>> {
    let mut clusters = BTreeMap::new();
    for cluster in &needs.clusters {
        clusters.insert(cluster.clone(), kube::ensure(cluster).await?);
    }
    Ok(clusters)
}

/// The cache folder's provisioning lock, held until dropped: one provisioning at a time,
/// in this process or another.
async fn cache_lock(ctx: &Ctx) -> Result<std::fs::File> {
    std::fs::create_dir_all(&ctx.cache).map_err(|e| Error::io(&ctx.cache, e))?;
    lock(&ctx.cache.join("provision.lock")).await
}

/// Makes ready what the builds need (the Rust targets, the mingw linker), and returns the
/// environment cargo builds with. It comes first and alone: what the runtimes need is made
/// ready while cargo builds ([`for_wine`], [`for_containers`]), and two package installs
/// never run at once.
pub async fn for_builds(needs: &Needs, ctx: &Ctx) -> Result<Vec<(String, String)>> {
    let _lock = cache_lock(ctx).await?;
    if let Some((target, why)) = needs.unrunnable.iter().next() {
        return Err(Error::Prerequisite {
            what: format!("target `{target}`"),
            why: why.clone(),
            fix: format!(
                "run the other cells with `--cell NAME`, or change the `mode` of target `{target}` in matrix.toml"
            ),
        });
    }
    for (program, packages) in &needs.build_tools {
        let packages: Vec<&str> = packages.iter().map(String::as_str).collect();
        tools::ensure_program(ctx, program, &packages, "runs a target's build command").await?;
    }
    let mut cargo_env = Vec::new();
    for triple in &needs.cargo_triples {
        rust::ensure(ctx, triple).await?;
        if needs_mingw(triple) {
            tools::ensure(ctx, &tools::MINGW).await?;
            cargo_env.push((linker_var(triple), tools::MINGW.program.to_owned()));
        }
    }
    Ok(cargo_env)
}

/// Makes ready Wine's pool of prefixes, when a cell runs under Wine.
pub async fn for_wine(needs: &Needs, ctx: &Ctx) -> Result<Vec<Wine>> {
    if !needs.wine() {
        return Ok(Vec::new());
    }
    let _lock = cache_lock(ctx).await?;
    wine::ensure(ctx, &needs.wine_versions, needs.wine_slots.max(1)).await
}

/// Makes ready an engine per engine kind and image the cells run.
pub async fn for_containers(
    needs: &Needs,
    ctx: &Ctx,
) -> Result<BTreeMap<(EngineKind, String), Engine>> {
    let mut engines = BTreeMap::new();
    if needs.containers.is_empty() {
        return Ok(engines);
    }
    let _lock = cache_lock(ctx).await?;
    for (kind, image) in &needs.containers {
        engines.insert(
            (*kind, image.clone()),
            container::ensure(ctx, *kind, image).await?,
        );
    }
    Ok(engines)
}

/// Every prerequisite of `needs`, looked at without changing anything: the same checks
/// [`provision`] makes, in the same order.
pub async fn doctor(needs: &Needs, cache: &Path) -> Vec<Check> {
    let mut checks = Vec::new();
    for (program, packages) in &needs.build_tools {
        let packages: Vec<&str> = packages.iter().map(String::as_str).collect();
        checks.push(tools::check_program(
            program,
            &packages,
            "runs a target's build command",
        ));
    }
    for triple in &needs.cargo_triples {
        checks.push(rust::check(triple).await);
        if needs_mingw(triple) {
            checks.push(tools::check(&tools::MINGW));
        }
    }
    for (target, why) in &needs.unrunnable {
        checks.push(Check {
            what: format!("target `{target}`"),
            ok: false,
            detail: why.clone(),
            fix: None,
            optional: false,
        });
    }
    if needs.wine() {
        checks.extend(wine::checks(
            cache,
            &needs.wine_versions,
            needs.wine_slots.max(1),
        ));
    }
    for (kind, image) in &needs.containers {
        checks.extend(container::checks(cache, *kind, image).await);
    }
    for cluster in &needs.clusters {
        checks.extend(kube::checks(cluster).await);
    }
    checks.push(tools::optional(
        "cargo-insta",
        "reviews pending snapshots in a Rust workspace; `review` needs nothing",
        "cargo install cargo-insta --locked",
    ));
    checks
}

/// An exclusive lock on `path`, held until dropped, when nobody else holds it now.
pub fn try_lock(path: &Path) -> Result<Option<std::fs::File>> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|e| Error::io(path, e))?;
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(std::fs::TryLockError::WouldBlock) => Ok(None),
        Err(std::fs::TryLockError::Error(e)) => Err(Error::io(path, e)),
    }
}

/// An exclusive lock on `path`, held until dropped; waits for whoever holds it, in this
/// process or another, by polling, so that the wait ends at once when the run is dropped
/// (Ctrl-C) instead of blocking a thread the runtime would have to wait for.
pub async fn lock(path: &Path) -> Result<std::fs::File> {
    loop {
        if let Some(file) = try_lock(path)? {
            return Ok(file);
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
