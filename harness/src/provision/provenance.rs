//! Provenance: where and with what a run happened, so that a sign-off can be traced to a
//! commit, a toolchain, a Wine, an engine and an image.

use serde::{Deserialize, Serialize};

use super::Provisioned;
use super::tools::cargo;
pub use crate::matrix::ExecutionKind;
use crate::process::{Cmd, output};

/// Where and with what a run happened.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    /// The commit of the matrix's repository (`+dirty` with uncommitted changes).
    pub commit: Option<String>,
    /// `rustc --version`.
    pub rustc: Option<String>,
    /// `cargo --version`.
    pub cargo: Option<String>,
    /// `wine --version`, when a cell ran under Wine.
    pub wine: Option<String>,
    /// The container engines and their versions.
    pub engines: Vec<String>,
    /// The image ids the container cells ran.
    pub images: Vec<String>,
    /// The host: system, release, machine and name.
    pub host: String,
    /// When the run started (RFC 3339, UTC).
    pub started: String,
    /// With a merge: the shards' hosts.
    pub shards: Vec<String>,
    /// What was run: the harness's version and the inputs' hashes. Shards merge only when
    /// they agree on all of it.
    pub inputs: Inputs,
    /// How each cell's servers ran: natively, emulated, or in a container, and by what.
    #[serde(default)]
    pub cells: std::collections::BTreeMap<String, Execution>,
}

/// How a cell's servers ran.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Execution {
    /// Natively, emulated or in a container.
    pub kind: ExecutionKind,
    /// What ran them: the Wine version, the engine and the image's id, or the host.
    pub by: String,
    /// The Windows version the cell stands for (`Windows Server 2022`), when the matrix
    /// names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub windows: Option<String>,
    /// The version Wine reported to its servers (`win10`), under Wine with a version set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reported: Option<String>,
    /// Whether what ran them cannot be pinned from here (an image a cluster pulls by its
    /// name): no result of such a cell is reused.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unpinned: bool,
}

impl Execution {
    /// `emulated: wine-8.0`, as reports show it.
    pub fn line(&self) -> String {
        format!("{}: {}", self.kind.as_str(), self.by)
    }
}

/// What the runtimes describe themselves with (each cell's [`Execution`]): the machine,
/// Wine's version, each engine's line and each cluster's versions.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// The host: system, release, machine and name.
    pub host: String,
    /// `wine --version`, when a cell runs under Wine.
    pub wine: Option<String>,
    /// Per engine program and image it runs: its version, OCI runtime and the image's id.
    engines: std::collections::BTreeMap<(String, String), String>,
    /// Per cluster: kubectl's and the cluster's versions.
    clusters: std::collections::BTreeMap<crate::matrix::Cluster, Option<String>>,
}

impl Facts {
    /// `engine`'s line: `podman version 4.3.1 with runc, slirp4netns network, <image> sha256:...`.
    pub fn engine(&self, engine: &super::Engine) -> Option<&str> {
        self.engines
            .get(&(engine.program.clone(), engine.image.clone()))
            .map(String::as_str)
    }

    /// `cluster`'s versions: `kubectl v1.32.4, cluster v1.31.0`.
    pub fn cluster(&self, cluster: &crate::matrix::Cluster) -> Option<&str> {
        self.clusters.get(cluster)?.as_deref()
    }
}

/// What a run's verdict depends on besides the server: the harness and its inputs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inputs {
    /// The harness's version.
    pub harness: String,
    /// SHA-256 of the matrix file.
    pub matrix_sha256: String,
    /// SHA-256 of every suite's definition (its case files, or its command).
    pub suites_sha256: String,
}

async fn first_line(cmd: Cmd) -> Option<String> {
    let out = output(&cmd).await.ok()?;
    // The first line with text: `cmd /c ver` starts with an empty one.
    out.status
        .success()
        .then(|| out.stdout.lines().map(str::trim).find(|l| !l.is_empty()))
        .flatten()
        .map(str::to_owned)
}

/// What a run's provenance says about the machine and the repository, asked before the
/// engines are ready: none of it depends on them.
#[derive(Debug, Clone, Default)]
pub struct HostFacts {
    commit: Option<String>,
    host: Option<String>,
    rustc: Option<String>,
    cargo: Option<String>,
    wine: Option<String>,
}

/// Asks the repository at `root` its commit, and the machine its system, Rust toolchain and
/// (when `wine`) Wine version, all at once.
pub async fn host_facts(root: &std::path::Path, wine: bool) -> HostFacts {
    let commit = async {
        let hash = first_line(
            Cmd::new("git")
                .args(["rev-parse", "HEAD"])
                .current_dir(root),
        )
        .await?;
        let dirty = output(
            &Cmd::new("git")
                .args(["status", "--porcelain"])
                .current_dir(root),
        )
        .await
        .is_ok_and(|o| !o.stdout.trim().is_empty());
        Some(if dirty { format!("{hash}+dirty") } else { hash })
    };
    let wine = async {
        match wine {
            true => first_line(Cmd::new("wine").arg("--version")).await,
            false => None,
        }
    };
    let (commit, host, rustc, cargo, wine) = tokio::join!(
        commit,
        first_line(if cfg!(windows) {
            Cmd::new("cmd").args(["/c", "ver"])
        } else {
            Cmd::new("uname").args(["-srmn"])
        }),
        first_line(Cmd::new("rustc").arg("--version")),
        first_line(Cmd::new(cargo()).arg("--version")),
        wine
    );
    HostFacts {
        commit,
        host,
        rustc,
        cargo,
        wine,
    }
}

/// The provenance of a run of `cells` (name and runtime) from what `facts` says and what was
/// provisioned (the engines are asked their versions and images now).
pub async fn collect(
    facts: HostFacts,
    describe: impl FnOnce(&Facts) -> std::collections::BTreeMap<String, Execution>,
    provisioned: &Provisioned,
    started: std::time::SystemTime,
    inputs: Inputs,
) -> Provenance {
    let HostFacts {
        commit,
        host,
        rustc,
        cargo,
        wine,
    } = facts;
    let wine = wine.filter(|_| !provisioned.wine.is_empty());
    let per_engine = futures_util::future::join_all(provisioned.engines.iter().map(
        |(key, engine)| async move {
            let version = first_line(engine.cmd().arg("--version")).await;
            let image = first_line(engine.cmd().args([
                "image",
                "inspect",
                "--format",
                "{{.Id}}",
                &engine.image,
            ]))
            .await
            .map(|id| format!("{} {id}", engine.image));
            (key, engine, version, image)
        },
    ))
    .await;
    let host = host.unwrap_or_else(|| std::env::consts::OS.to_owned());
    let mut engines = Vec::new();
    let mut images = Vec::new();
    let mut by_engine = std::collections::BTreeMap::new();
    for (_, engine, version, image) in per_engine {
        by_engine.insert(
            (engine.program.clone(), engine.image.clone()),
            format!(
                "{}{}, {}",
                version.clone().unwrap_or_else(|| engine.program.clone()),
                engine
                    .oci_runtime()
                    .map(|r| format!(" with {r}"))
                    .unwrap_or_default()
                    + &engine
                        .network()
                        .map(|n| format!(", {n} network"))
                        .unwrap_or_default(),
                image.clone().unwrap_or_else(|| engine.image.clone())
            ),
        );
        if let Some(v) = version
            && !engines.contains(&v)
        {
            engines.push(v);
        }
        images.extend(image);
    }
    let cells = describe(&Facts {
        host: host.clone(),
        wine: wine.clone(),
        engines: by_engine,
        clusters: provisioned
            .clusters
            .values()
            .map(|k| (k.cluster.clone(), k.version.clone()))
            .collect(),
    });
    Provenance {
        commit,
        rustc,
        cargo,
        wine,
        engines,
        images,
        host,
        started: humantime::format_rfc3339_seconds(started).to_string(),
        shards: Vec::new(),
        inputs,
        cells,
    }
}
