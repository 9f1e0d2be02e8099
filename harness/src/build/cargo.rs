//! Cargo builds: the server's package and binary checked with `cargo metadata`, every triple
//! of one profile and feature set built in one invocation, and cargo's JSON messages read for
//! the executables it produced and the compiler's errors as cargo rendered them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use cargo_metadata::Message;
use cargo_metadata::diagnostic::DiagnosticLevel;

use crate::errors::{Error, Result};
use crate::events::{Events, RunEvent};
use crate::matrix::{CargoServer, Cell};
use crate::process::{Cmd, logged};
use crate::provision::tools::cargo;

/// One cargo build: the triples of one profile and feature set.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Key {
    /// The cargo profile (`dev` for the `debug` axis value), when an axis names one.
    pub profile: Option<String>,
    /// The cargo features, when an axis names them.
    pub features: Option<String>,
}

impl Key {
    /// The build `cell` needs, from its `profile` and `features` axes.
    pub fn of(cell: &Cell) -> Key {
        Key {
            profile: cell.value("profile").map(|v| match v {
                "debug" => "dev".to_owned(),
                other => other.to_owned(),
            }),
            features: cell.value("features").map(str::to_owned),
        }
    }
}

/// `cargo metadata` of the workspace at `root`, without dependencies; its error is the
/// raw failure, for the caller to say what needed it.
async fn metadata(root: &Path) -> std::result::Result<cargo_metadata::Metadata, String> {
    let root = root.to_owned();
    tokio::task::spawn_blocking(move || {
        cargo_metadata::MetadataCommand::new()
            .cargo_path(cargo())
            .current_dir(&root)
            .no_deps()
            .exec()
    })
    .await
    .expect("cargo metadata task does not panic")
    .map_err(|e| e.to_string().trim().to_owned())
}

/// Where the runs of the matrix in `root` go by default: `target/matrix` in the cargo
/// workspace the matrix lies in, or beside the matrix when it lies in none (a server that
/// cargo does not build, in any repository).
pub async fn default_out(root: &Path) -> PathBuf {
    match in_workspace(root) {
        true => match metadata(root).await {
            Ok(metadata) => metadata.target_directory.into_std_path_buf(),
            Err(_) => root.join("target"),
        },
        false => root.join("target"),
    }
    .join("matrix")
}

/// A binary target of a workspace member: its package, its name, and the package's folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binary {
    /// The package.
    pub package: String,
    /// The binary's name.
    pub bin: String,
    /// The package's folder.
    pub dir: PathBuf,
}

/// The binary targets of the cargo workspace at `dir`, when `dir` lies in one (none when it
/// does not, or when cargo cannot read it).
pub async fn binaries(dir: &Path) -> Vec<Binary> {
    if !in_workspace(dir) {
        return Vec::new();
    }
    let Ok(metadata) = metadata(dir).await else {
        return Vec::new();
    };
    metadata
        .workspace_packages()
        .into_iter()
        .flat_map(|p| {
            let dir = p
                .manifest_path
                .parent()
                .map(|d| d.as_std_path().to_owned())
                .unwrap_or_default();
            p.targets
                .iter()
                .filter(|t| t.is_bin())
                .map(move |t| Binary {
                    package: p.name.to_string(),
                    bin: t.name.clone(),
                    dir: dir.clone(),
                })
        })
        .collect()
}

/// Whether `dir` or a folder above it has a `Cargo.toml`.
fn in_workspace(dir: &Path) -> bool {
    let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_owned());
    dir.ancestors().any(|d| d.join("Cargo.toml").is_file())
}

/// Checks that the package and binary exist and returns the binary's name.
/// `targets` are the targets cargo builds (they have no `build` of their own), for the message
/// when there is no workspace to build them in.
pub async fn binary(root: &Path, server: &CargoServer, targets: &[&str]) -> Result<String> {
    let metadata = metadata(root).await.map_err(|why| {
        let targets = targets
            .iter()
            .map(|t| format!("`{t}`"))
            .collect::<Vec<_>>()
            .join(", ");
        Error::Prerequisite {
            what: format!(
                "the cargo workspace of package `{}` (target {targets} is built by cargo: it has no `build` of its own)",
                server.package
            ),
            why: format!("`cargo metadata` failed in {}: {why}", root.display()),
            fix: format!(
                "put the matrix file inside the cargo workspace that has package `{}`, or give target {targets} a `build = {{ command = [...], artifact = \"...\" }}` (or only `artifact` for a prebuilt server)",
                server.package
            ),
        }
    })?;
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

/// One cargo invocation.
pub struct Build<'a> {
    /// The workspace.
    pub root: &'a Path,
    /// The server's package.
    pub server: &'a CargoServer,
    /// Its binary.
    pub bin: &'a str,
    /// The profile and features.
    pub key: &'a Key,
    /// The triples to build.
    pub triples: &'a BTreeSet<String>,
    /// Environment for cargo (linkers of cross targets).
    pub env: &'a [(String, String)],
}

impl Build<'_> {
    fn cmd(&self) -> Cmd {
        let mut cmd = Cmd::new(cargo())
            .args(["build", "--message-format=json", "--keep-going"])
            .args(["-p", &self.server.package, "--bin", self.bin])
            .current_dir(self.root)
            .env("CARGO_TERM_COLOR", "never");
        for triple in self.triples {
            cmd = cmd.args(["--target", triple]);
        }
        if let Some(profile) = &self.key.profile {
            cmd = cmd.args(["--profile", profile]);
        }
        if let Some(features) = &self.key.features {
            cmd = cmd.args(["--features", features]);
        }
        for (k, v) in self.env {
            cmd = cmd.env(k, v);
        }
        cmd
    }

    /// Builds, logging to `log`; returns each triple's executable, or why there is none.
    pub async fn run(
        &self,
        log: &Path,
        events: &Events,
    ) -> Result<BTreeMap<String, std::result::Result<PathBuf, String>>> {
        // rustc's tools leave files in their temporary folder (see `with_own_temp`).
        let (cmd, _temp) = self.cmd().with_own_temp()?;
        events.emit(RunEvent::BuildStarted {
            command: cmd.to_string(),
        });
        let start = Instant::now();
        let mut found: BTreeMap<String, PathBuf> = BTreeMap::new();
        let mut errors: Vec<String> = Vec::new();
        // Cargo's JSON messages are data; the log keeps what people read: cargo's own
        // standard error, and each compiler message as cargo rendered it.
        let status = logged(&cmd, log, |line| {
            let Ok(message) = serde_json::from_str::<Message>(line) else {
                return Some(line.to_owned());
            };
            if let Message::CompilerArtifact(a) = &message {
                events.emit(RunEvent::BuildProgress {
                    unit: a.target.name.clone(),
                });
            }
            match message {
                Message::CompilerArtifact(a) if a.target.name.as_str() == self.bin => {
                    if let Some(exe) = a.executable {
                        let exe = exe.into_std_path_buf();
                        if let Some(triple) = self
                            .triples
                            .iter()
                            .find(|t| exe.components().any(|c| c.as_os_str() == t.as_str()))
                        {
                            found.insert(triple.clone(), exe);
                        }
                    }
                    None
                }
                Message::CompilerMessage(m) => {
                    let rendered = m.message.rendered.unwrap_or(m.message.message);
                    if matches!(
                        m.message.level,
                        DiagnosticLevel::Error | DiagnosticLevel::Ice
                    ) {
                        errors.push(rendered.trim_end().to_owned());
                    }
                    Some(rendered.trim_end().to_owned())
                }
                _ => None,
            }
        })
        .await?
        .status;
        let duration = start.elapsed();
        let mut out = BTreeMap::new();
        for triple in self.triples {
            let result = match found.remove(triple) {
                Some(exe) => Ok(exe),
                None => Err(format!(
                    "`{cmd}` {} and produced no `{}` for {triple}; see {}{}",
                    if status.success() {
                        "succeeded"
                    } else {
                        "failed"
                    },
                    self.bin,
                    log.display(),
                    if errors.is_empty() {
                        String::new()
                    } else {
                        format!(":\n{}", errors.join("\n"))
                    }
                )),
            };
            events.emit(RunEvent::BuildFinished {
                build: match &self.key.profile {
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
}
