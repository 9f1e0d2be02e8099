//! Provenance: where and with what a run happened, so that a sign-off can be traced to a
//! commit, a toolchain, a Wine, an engine and an image.

use serde::{Deserialize, Serialize};

use super::Provisioned;
use super::tools::cargo;
use crate::matrix::Runtime;
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

/// Natively, emulated or in a container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExecutionKind {
    /// On the host's own operating system.
    Native,
    /// Under an emulation layer (a Windows build under Wine).
    Emulated,
    /// In a container of the host's kernel.
    Container,
    /// In a Kubernetes pod.
    Pod,
}

impl ExecutionKind {
    /// Whether its servers are programs of the host's own system, whose line names the
    /// machine.
    pub fn is_native(self) -> bool {
        self == ExecutionKind::Native
    }

    /// Whether its servers are processes on the host (natively or emulated), which inherit
    /// the harness's environment; a container's get only what the matrix gives them.
    pub fn inherits_environment(self) -> bool {
        matches!(self, ExecutionKind::Native | ExecutionKind::Emulated)
    }

    /// The word for it.
    pub fn as_str(self) -> &'static str {
        match self {
            ExecutionKind::Native => "native",
            ExecutionKind::Emulated => "emulated",
            ExecutionKind::Container => "container",
            ExecutionKind::Pod => "pod",
        }
    }
}

impl Execution {
    /// `emulated: wine-8.0`, as reports show it.
    pub fn line(&self) -> String {
        format!("{}: {}", self.kind.as_str(), self.by)
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
    cells: &[(String, Runtime)],
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
    for (key, engine, version, image) in per_engine {
        by_engine.insert(
            key.clone(),
            format!(
                "{}{}, {}",
                version.clone().unwrap_or_else(|| engine.program.clone()),
                engine
                    .oci_runtime()
                    .map(|r| format!(" with {r}"))
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
    let cells = cells
        .iter()
        .map(|(name, runtime)| {
            let execution = match runtime {
                Runtime::Host => Execution {
                    kind: ExecutionKind::Native,
                    by: host.clone(),
                    windows: None,
                    reported: None,
                    unpinned: false,
                },
                Runtime::Windows(windows) if !windows.under_wine() => Execution {
                    kind: ExecutionKind::Native,
                    by: host.clone(),
                    windows: windows.version.map(|v| v.title().to_owned()),
                    reported: None,
                    unpinned: false,
                },
                Runtime::Windows(windows) => Execution {
                    kind: ExecutionKind::Emulated,
                    by: wine.clone().unwrap_or_else(|| "wine".to_owned()),
                    windows: windows.version.map(|v| v.title().to_owned()),
                    reported: windows.wine_version().map(str::to_owned),
                    unpinned: false,
                },
                Runtime::Container { image, engine } => Execution {
                    kind: ExecutionKind::Container,
                    by: by_engine
                        .get(&(*engine, image.clone()))
                        .cloned()
                        .unwrap_or_else(|| image.clone()),
                    windows: None,
                    reported: None,
                    unpinned: false,
                },
                Runtime::Pod(pod) if let Some(cluster) = &pod.cluster => Execution {
                    kind: ExecutionKind::Pod,
                    by: format!(
                        "{}, context {}{}, {} (pull {}){}",
                        provisioned
                            .clusters
                            .get(cluster)
                            .and_then(|k| k.version.clone())
                            .unwrap_or_else(|| "kubectl".to_owned()),
                        cluster.context,
                        cluster
                            .namespace
                            .as_ref()
                            .map(|n| format!(", namespace {n}"))
                            .unwrap_or_default(),
                        pod.image,
                        cluster.pull.policy(),
                        pod_settings(pod),
                    ),
                    windows: None,
                    reported: None,
                    unpinned: true,
                },
                Runtime::Pod(pod) => Execution {
                    kind: ExecutionKind::Pod,
                    by: format!(
                        "{} (kube play){}",
                        by_engine
                            .get(&(crate::matrix::EngineKind::Podman, pod.image.clone()))
                            .cloned()
                            .unwrap_or_else(|| pod.image.clone()),
                        pod_settings(pod),
                    ),
                    windows: None,
                    reported: None,
                    unpinned: false,
                },
            };
            (name.clone(), execution)
        })
        .collect();
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

/// A pod's production settings, as its provenance line ends: `, read-only root filesystem,
/// not root`.
fn pod_settings(pod: &crate::matrix::Pod) -> String {
    let mut text = String::new();
    if pod.read_only_root_filesystem {
        text.push_str(", read-only root filesystem");
    }
    if pod.run_as_non_root {
        text.push_str(", not root");
    }
    text
}
