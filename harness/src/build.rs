//! Builds: the server for every selected cell, each distinct build once.
//!
//! A cargo server is located with `cargo metadata` and built with cargo's JSON messages, which
//! name the executable it produced (paths are never guessed). All triples of one profile and
//! feature set go to one cargo invocation, so cargo builds them in parallel within its job
//! limit under one lock, and `--keep-going` lets the other triples finish when one fails. A
//! server that cargo does not build is built by its target's own command.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::errors::{Error, Result};
use crate::events::{Events, RunEvent};
use crate::matrix::{BuildCommand, CargoServer, Cell, Matrix};
use crate::process::{Cmd, logged};
use crate::provision::Provisioned;

/// The artifact of each cell, or why it has none.
pub type Artifacts = BTreeMap<String, std::result::Result<PathBuf, String>>;

/// A cargo build: the triples of one profile and feature set.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct CargoKey {
    profile: Option<String>,
    features: Option<String>,
}

/// The cargo profile an axis value stands for: `debug` is cargo's `dev`.
fn cargo_profile(value: &str) -> String {
    match value {
        "debug" => "dev".to_owned(),
        other => other.to_owned(),
    }
}

/// `cargo metadata` of the workspace at `root`, without dependencies.
async fn metadata(root: &Path) -> Result<cargo_metadata::Metadata> {
    let root = root.to_owned();
    tokio::task::spawn_blocking(move || {
        cargo_metadata::MetadataCommand::new()
            .current_dir(&root)
            .no_deps()
            .exec()
    })
    .await
    .expect("cargo metadata task does not panic")
    .map_err(|e| Error::Command {
        command: "cargo metadata".into(),
        problem: "failed".into(),
        stderr: e.to_string(),
    })
}

/// Where cargo puts builds: the workspace's target directory.
pub async fn target_dir(root: &Path) -> Result<PathBuf> {
    Ok(metadata(root).await?.target_directory.into_std_path_buf())
}

/// Checks that the package and binary exist and returns the binary's name.
async fn cargo_binary(root: &Path, server: &CargoServer) -> Result<String> {
    let metadata = metadata(root).await?;
    let Some(package) = metadata
        .packages
        .iter()
        .find(|p| p.name.as_str() == server.package)
    else {
        let names: Vec<&str> = metadata.packages.iter().map(|p| p.name.as_str()).collect();
        return Err(Error::Selection(format!(
            "server.package `{}` is not a package of the workspace; expected one of {}",
            server.package,
            names.join(", ")
        )));
    };
    let bins: Vec<&str> = package
        .targets
        .iter()
        .filter(|t| t.is_bin())
        .map(|t| t.name.as_str())
        .collect();
    match (&server.bin, bins.as_slice()) {
        (Some(bin), _) if bins.contains(&bin.as_str()) => Ok(bin.clone()),
        (None, [only]) => Ok((*only).to_owned()),
        (wanted, _) => Err(Error::Selection(format!(
            "package `{}` {}; its binaries are: {}",
            server.package,
            match wanted {
                Some(bin) => format!("has no binary `{bin}`"),
                None => "has several binaries or none, so `server.bin` must name one".to_owned(),
            },
            if bins.is_empty() {
                "none".to_owned()
            } else {
                bins.join(", ")
            }
        ))),
    }
}

/// Builds the server for `cells`; build failures are reported per cell, not as an error.
pub async fn build_all(
    matrix: &Matrix,
    cells: &[&Cell],
    provisioned: &Provisioned,
    log_dir: &Path,
    events: &Events,
) -> Result<Artifacts> {
    let mut artifacts = Artifacts::new();
    let mut cargo_groups: BTreeMap<CargoKey, BTreeSet<String>> = BTreeMap::new();
    let mut commands: BTreeMap<(Vec<String>, String), Vec<String>> = BTreeMap::new();
    for cell in cells {
        let target = matrix
            .target(&cell.target)
            .expect("cells name known targets");
        match &target.build {
            Some(build) => {
                let (command, artifact) = expand_build(build, &target.triple, cell);
                commands
                    .entry((command, artifact))
                    .or_default()
                    .push(cell.name.clone());
            }
            None => {
                let key = CargoKey {
                    profile: cell.value("profile").map(cargo_profile),
                    features: cell.value("features").map(str::to_owned),
                };
                cargo_groups
                    .entry(key)
                    .or_default()
                    .insert(target.triple.clone());
            }
        }
    }
    if !cargo_groups.is_empty() {
        let server = matrix
            .server
            .cargo
            .as_ref()
            .expect("validated: cargo builds need a package");
        let bin = cargo_binary(&matrix.root, server).await?;
        for (key, triples) in &cargo_groups {
            let built = cargo_build(
                matrix,
                server,
                &bin,
                key,
                triples,
                provisioned,
                log_dir,
                events,
            )
            .await?;
            for cell in cells {
                let target = matrix.target(&cell.target).expect("known");
                let cell_key = CargoKey {
                    profile: cell.value("profile").map(cargo_profile),
                    features: cell.value("features").map(str::to_owned),
                };
                if target.build.is_none() && &cell_key == key {
                    artifacts.insert(cell.name.clone(), built[&target.triple].clone());
                }
            }
        }
    }
    for ((command, artifact), names) in commands {
        let result = command_build(matrix, &command, &artifact, log_dir, events).await;
        for name in names {
            artifacts.insert(name, result.clone());
        }
    }
    Ok(artifacts)
}

fn expand_build(build: &BuildCommand, triple: &str, cell: &Cell) -> (Vec<String>, String) {
    let expand = |s: &str| {
        let mut s = s
            .replace("{triple}", triple)
            .replace("{target}", &cell.target);
        for (axis, value) in &cell.values {
            s = s.replace(&format!("{{{axis}}}"), value);
        }
        s
    };
    (
        build.command.iter().map(|s| expand(s)).collect(),
        expand(&build.artifact),
    )
}

#[expect(
    clippy::too_many_arguments,
    reason = "one call site; a struct would only rename them"
)]
async fn cargo_build(
    matrix: &Matrix,
    server: &CargoServer,
    bin: &str,
    key: &CargoKey,
    triples: &BTreeSet<String>,
    provisioned: &Provisioned,
    log_dir: &Path,
    events: &Events,
) -> Result<BTreeMap<String, std::result::Result<PathBuf, String>>> {
    let mut cmd = Cmd::new(cargo())
        .args([
            "build",
            "--message-format=json-render-diagnostics",
            "--keep-going",
        ])
        .args(["-p", &server.package, "--bin", bin])
        .current_dir(&matrix.root)
        .env("CARGO_TERM_COLOR", "never");
    for triple in triples {
        cmd = cmd.args(["--target", triple]);
    }
    if let Some(profile) = &key.profile {
        cmd = cmd.args(["--profile", profile]);
    }
    if let Some(features) = &key.features {
        cmd = cmd.args(["--features", features]);
    }
    for (k, v) in &provisioned.cargo_env {
        cmd = cmd.env(k, v);
    }
    let log = log_dir.join("build.log");
    events.emit(RunEvent::BuildStarted {
        command: cmd.to_string(),
    });
    let start = Instant::now();
    let mut found: BTreeMap<String, PathBuf> = BTreeMap::new();
    // Cargo's JSON messages are data for the harness; the log keeps what cargo tells people
    // (its standard error: progress and rendered diagnostics).
    let status = logged(&cmd, &log, |line| {
        let Ok(message) = serde_json::from_str::<cargo_metadata::Message>(line) else {
            return true;
        };
        if let cargo_metadata::Message::CompilerArtifact(a) = message
            && a.target.name.as_str() == bin
            && let Some(exe) = a.executable
        {
            let exe = exe.into_std_path_buf();
            if let Some(triple) = triples
                .iter()
                .find(|t| exe.components().any(|c| c.as_os_str() == t.as_str()))
            {
                found.insert(triple.clone(), exe);
            }
        }
        false
    })
    .await?;
    let duration = start.elapsed();
    // With --keep-going the other triples go on compiling after an error: leave cargo's
    // progress lines out, so that the diagnostics are what the tail shows.
    let tail = diagnostics_tail(&log, 40);
    let mut out = BTreeMap::new();
    for triple in triples {
        let result = match found.remove(triple) {
            Some(exe) => Ok(exe),
            None => Err(format!(
                "`{cmd}` {} and produced no `{bin}` for {triple}; see {}:\n{tail}",
                if status.success() {
                    "succeeded"
                } else {
                    "failed"
                },
                log.display()
            )),
        };
        events.emit(RunEvent::BuildFinished {
            build: match &key.profile {
                Some(p) => format!("{triple} ({p})"),
                None => triple.clone(),
            },
            result: result
                .as_ref()
                .map(|p| p.display().to_string())
                .map_err(Clone::clone),
            duration,
        });
        out.insert(triple.clone(), result);
    }
    Ok(out)
}

async fn command_build(
    matrix: &Matrix,
    command: &[String],
    artifact: &str,
    log_dir: &Path,
    events: &Events,
) -> std::result::Result<PathBuf, String> {
    let cmd = Cmd::new(&command[0])
        .args(&command[1..])
        .current_dir(&matrix.root);
    let log = log_dir.join("build.log");
    events.emit(RunEvent::BuildStarted {
        command: cmd.to_string(),
    });
    let start = Instant::now();
    let result = match logged(&cmd, &log, |_| true).await {
        Err(e) => Err(e.to_string()),
        Ok(status) if !status.success() => Err(format!(
            "`{cmd}` failed ({status}); see {}:\n{}",
            log.display(),
            log_tail(&log, 30)
        )),
        Ok(_) => {
            let path = matrix.root.join(artifact);
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

/// The last `n` lines of cargo's log that are not its progress lines (`Compiling x`, ...).
fn diagnostics_tail(path: &Path, n: usize) -> String {
    const PROGRESS: &[&str] = &[
        "Compiling",
        "Checking",
        "Fresh",
        "Finished",
        "Blocking",
        "Building",
        "Downloaded",
        "Downloading",
        "Locking",
        "Updating",
        "Adding",
    ];
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| {
            let word = l.trim_start().split(' ').next().unwrap_or("");
            !PROGRESS.contains(&word)
        })
        .collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// The last `n` lines of a log file.
pub fn log_tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// The cargo to run: the one running the harness (`$CARGO` under `cargo xtask`), else the
/// one on PATH.
pub fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned())
}
