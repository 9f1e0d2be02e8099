//! Provenance: where and with what a run happened, so that a sign-off can be traced to a
//! commit, a toolchain, a Wine, an engine and an image.

use serde::{Deserialize, Serialize};

use super::Provisioned;
use super::tools::cargo;
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
    out.status
        .success()
        .then(|| out.stdout.lines().next().unwrap_or("").trim().to_owned())
        .filter(|l| !l.is_empty())
}

/// Collects the provenance of a run from `root` with what was provisioned.
pub async fn collect(
    root: &std::path::Path,
    provisioned: &Provisioned,
    started: std::time::SystemTime,
    inputs: Inputs,
) -> Provenance {
    // Every question at once: they are independent, and some (an engine's) are slow.
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
    let engines =
        futures_util::future::join_all(provisioned.engines.values().map(|engine| async move {
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
            (version, image)
        }));
    let wine = async {
        match provisioned.wine.is_empty() {
            false => first_line(Cmd::new("wine").arg("--version")).await,
            true => None,
        }
    };
    let (commit, per_engine, host, rustc, cargo, wine) = tokio::join!(
        commit,
        engines,
        first_line(Cmd::new("uname").args(["-srmn"])),
        first_line(Cmd::new("rustc").arg("--version")),
        first_line(Cmd::new(cargo()).arg("--version")),
        wine
    );
    let host = host.unwrap_or_else(|| std::env::consts::OS.to_owned());
    let mut engines = Vec::new();
    let mut images = Vec::new();
    for (version, image) in per_engine {
        if let Some(v) = version
            && !engines.contains(&v)
        {
            engines.push(v);
        }
        images.extend(image);
    }
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
    }
}
