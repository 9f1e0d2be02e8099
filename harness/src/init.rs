//! `init`: the harness set up in a user's repository from what it finds there. A cargo
//! workspace's binary target becomes the server (built by cargo for Linux and Windows);
//! without one, prebuilt executables in the folder become the targets' artifacts (a Linux
//! ELF in a Debian container, a Windows `.exe` under Wine or natively), or a template names
//! where they go. It writes a matrix, a first agnostic suite and a per-target one, a snapshot
//! folder where review works (inside the package in a Rust workspace, for cargo-insta too),
//! optionally an `xtask` crate with the `cargo xtask` alias, and the CI pipeline. It never
//! overwrites a file: what exists is kept and listed.

use std::path::{Path, PathBuf};

use crate::build::cargo::{self, Binary};
use crate::ci::{self, Generator};
use crate::errors::{Error, Result};

/// Where an `xtask` crate gets the harness from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HarnessSource {
    /// A git repository at a commit.
    Git {
        /// The repository.
        url: String,
        /// The commit.
        rev: String,
    },
    /// A local checkout of the harness (its `cli` folder), for development.
    Path(PathBuf),
}

/// What `init` is asked to do.
#[derive(Clone)]
pub struct Options {
    /// The repository (or folder) to set up.
    pub dir: PathBuf,
    /// The server's launch arguments, when the template's (`--listen {addr}`) do not fit.
    pub args: Option<Vec<String>>,
    /// Write an `xtask` crate that runs the harness from this source, with the alias.
    pub xtask: Option<HarnessSource>,
    /// The CI system whose pipeline to write, when any.
    pub ci: Option<&'static dyn Generator>,
    /// Where the harness comes from, for a pipeline that installs it.
    pub harness_git: Option<(String, String)>,
}

/// What `init` did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Initialized {
    /// The files written.
    pub written: Vec<PathBuf>,
    /// The files that existed and were kept, each with what it should hold.
    pub kept: Vec<(PathBuf, String)>,
    /// Why a part was not written (no git repository for CI files).
    pub skipped: Vec<String>,
    /// What the server is, as found.
    pub found: String,
    /// The command to run next.
    pub next: String,
}

/// The server as `init` found it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Found {
    /// A binary target of the workspace; `others` are the rest, named in a comment.
    Cargo { binary: Binary, others: Vec<Binary> },
    /// Prebuilt executables (paths relative to the folder).
    Prebuilt {
        linux: Option<String>,
        windows: Option<String>,
    },
    /// Nothing to test yet.
    Nothing,
}

/// Sets the harness up in `options.dir`.
pub async fn init(options: &Options) -> Result<Initialized> {
    let dir = std::path::absolute(&options.dir).map_err(|e| Error::io(&options.dir, e))?;
    let config = dir.join("matrix.toml");
    if config.exists() {
        return Err(Error::Selection(format!(
            "{} exists already: init writes a matrix only where there is none (`ci` writes a pipeline for an existing one)",
            config.display()
        )));
    }
    let binaries = cargo::binaries(&dir).await;
    let found = match binaries.split_first() {
        Some((first, rest)) => Found::Cargo {
            binary: first.clone(),
            others: rest.to_vec(),
        },
        None => {
            let (linux, windows) = executables(&dir);
            if linux.is_none() && windows.is_none() {
                Found::Nothing
            } else {
                Found::Prebuilt { linux, windows }
            }
        }
    };
    let snapshots = match &found {
        Found::Cargo { binary, .. } => relative(&dir, &binary.dir.join("snapshots")),
        _ => "snapshots".to_owned(),
    };
    let args = options
        .args
        .clone()
        .unwrap_or_else(|| vec!["--listen".into(), "{addr}".into()]);
    let text = matrix_text(&found, &args, &snapshots);
    // What init writes must be a matrix the harness reads.
    crate::matrix::parse(&config, &text, crate::runtime::kinds())?;
    let mut files: Vec<(PathBuf, String)> = vec![
        (config.clone(), text),
        (
            dir.join("suites/contract/root.toml"),
            CONTRACT_CASE.to_owned(),
        ),
        (
            dir.join("suites/behaviour/missing-file.toml"),
            BEHAVIOUR_CASE.to_owned(),
        ),
        (dir.join(&snapshots).join(".gitkeep"), String::new()),
    ];
    if let (Some(source), Found::Cargo { .. }) = (&options.xtask, &found) {
        files.extend(xtask_files(&dir, source));
    }
    let mut done = Initialized {
        found: describe(&found),
        ..Initialized::default()
    };
    for (path, text) in files {
        write_new(&path, &text, &mut done)?;
    }
    if let Some(generator) = options.ci {
        let source = options
            .harness_git
            .as_ref()
            .map(|(url, rev)| (url.as_str(), rev.as_str()));
        match ci::context(&config, source) {
            Ok(cx) => {
                let matrix = crate::matrix::Matrix::load(&config, crate::runtime::kinds())?;
                let root = ci::context::repository_root(&config).expect("the context found it");
                let text = generator.generate(&matrix, &cx);
                write_new(&root.join(generator.default_path()), &text, &mut done)?;
            }
            Err(e) => done
                .skipped
                .push(format!("the {} pipeline: {e}", generator.name())),
        }
    }
    let xtask = dir.join("xtask/Cargo.toml").is_file() || has_alias(&dir);
    done.next = format!(
        "{} matrix",
        if xtask { "cargo xtask" } else { "port-harness" }
    );
    Ok(done)
}

/// Writes `text` as the new file `path`, or keeps the file that is there.
fn write_new(path: &Path, text: &str, done: &mut Initialized) -> Result<()> {
    if path.exists() {
        done.kept.push((path.to_owned(), text.to_owned()));
        return Ok(());
    }
    crate::persist::create_user_file(path, text)?;
    done.written.push(path.to_owned());
    Ok(())
}

/// `to` relative to `from`, with `/`.
fn relative(from: &Path, to: &Path) -> String {
    let rel = pathdiff::diff_paths(to, from).unwrap_or_else(|| to.to_owned());
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.is_empty() {
        ".".to_owned()
    } else {
        parts.join("/")
    }
}

/// The first Linux (ELF) and Windows (PE) executables in `dir`, three levels deep at most,
/// outside build and version-control folders; paths relative to `dir`.
fn executables(dir: &Path) -> (Option<String>, Option<String>) {
    fn walk(dir: &Path, root: &Path, depth: usize, found: &mut Vec<(String, [u8; 4])>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        let mut entries: Vec<_> = entries.flatten().collect();
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                let skipped =
                    name.starts_with('.') || ["target", "node_modules"].contains(&name.as_str());
                if depth > 0 && !skipped {
                    walk(&entry.path(), root, depth - 1, found);
                }
            } else if kind.is_file() {
                let mut magic = [0u8; 4];
                let read = std::fs::File::open(entry.path())
                    .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut magic));
                if read.is_ok() {
                    found.push((relative(root, &entry.path()), magic));
                }
            }
        }
    }
    let mut found = Vec::new();
    walk(dir, dir, 2, &mut found);
    let linux = found
        .iter()
        .find(|(_, m)| m == b"\x7fELF")
        .map(|(p, _)| p.clone());
    let windows = found
        .iter()
        .find(|(p, m)| m[..2] == *b"MZ" && p.to_lowercase().ends_with(".exe"))
        .map(|(p, _)| p.clone());
    (linux, windows)
}

fn describe(found: &Found) -> String {
    match found {
        Found::Cargo { binary, others } => format!(
            "the cargo binary `{}` of package `{}`{}",
            binary.bin,
            binary.package,
            if others.is_empty() {
                String::new()
            } else {
                format!(" (the workspace has {} more; see the matrix)", others.len())
            }
        ),
        Found::Prebuilt { linux, windows } => format!(
            "prebuilt executables: {}",
            [linux.as_deref(), windows.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Found::Nothing => {
            "no server yet: the matrix names where its builds go (bin/server, bin/server.exe)"
                .to_owned()
        }
    }
}

const CONTRACT_CASE: &str =
    "# The server's answer to `GET /`, once, on the primary cell: a platform-agnostic case.
# Add a file per case; see the harness's README (Suites) for steps, captures and expectations.
[[step]]
method = \"GET\"
path = \"/\"
";

const BEHAVIOUR_CASE: &str =
    "# A file that does not exist, on every cell: error texts are where ports differ first.
[[step]]
method = \"GET\"
path = \"/no-such-file.txt\"
";

/// The matrix for what was found.
fn matrix_text(found: &Found, args: &[String], snapshots: &str) -> String {
    let quote = |s: &str| serde_json::to_string(s).expect("strings serialize");
    let args = args.iter().map(|a| quote(a)).collect::<Vec<_>>().join(", ");
    let mut text = String::from(
        "# The compatibility matrix, written by `init`: edit it freely. The harness's README\n# (matrix.toml) explains every key.\n\n",
    );
    let (server, targets, primary) = match found {
        Found::Cargo { binary, others } => {
            let mut server = format!(
                "package = {}\nbin = {}\n",
                quote(&binary.package),
                quote(&binary.bin)
            );
            for other in others {
                server.push_str(&format!(
                    "# also in the workspace: package = {}, bin = {}\n",
                    quote(&other.package),
                    quote(&other.bin)
                ));
            }
            (
                server,
                vec![linux_target(None), windows_target(None)],
                "debian",
            )
        }
        Found::Prebuilt { linux, windows } => {
            let mut targets = Vec::new();
            if let Some(path) = linux {
                targets.push(linux_target(Some(path)));
            }
            if let Some(path) = windows {
                targets.push(windows_target(Some(path)));
            }
            let primary = if linux.is_some() { "debian" } else { "windows" };
            (String::new(), targets, primary)
        }
        Found::Nothing => (
            String::new(),
            vec![
                linux_target(Some("bin/server")),
                windows_target(Some("bin/server.exe")),
            ],
            "debian",
        ),
    };
    text.push_str(&format!(
        "# The production platform: agnostic suites run here once, and every other cell is\n# compared with it.\nprimary = \"{primary}\"\n\n[server]\n{server}# How the server is launched, as argv: adapt it to how it takes its address (and a data\n# folder, if it keeps files). Placeholders: {{addr}} (host:port), {{host}}, {{port}},\n# {{data_dir}} (a fresh folder per launch).\nargs = [{args}]\n\n[server.ready]\n# Ready when the port takes a connection; `http = \"/health\"` waits for a 2xx instead.\ntcp = true\ntimeout = \"60s\"\n"
    ));
    for target in targets {
        text.push_str(&target);
    }
    text.push_str(&format!(
        "\n[[suite]]\nname = \"contract\"\nkind = \"http\"\npath = \"suites/contract\"\nscope = \"agnostic\"\n\n[[suite]]\nname = \"behaviour\"\nkind = \"http\"\npath = \"suites/behaviour\"\nscope = \"per-target\"\n\n[snapshots]\n# The committed behaviour snapshots; `review` walks the pending ones.\ndir = {}\n",
        quote(snapshots)
    ));
    text
}

fn build_line(artifact: Option<&str>) -> String {
    match artifact {
        Some(path) => format!(
            "# Built elsewhere: the harness runs this file (add `command = [...]` to build it).\nbuild = {{ artifact = \"{path}\" }}\n"
        ),
        None => String::new(),
    }
}

fn linux_target(artifact: Option<&str>) -> String {
    format!(
        "\n[[target]]\nname = \"debian\"\ntriple = \"x86_64-unknown-linux-gnu\"\nruntime = \"container\"\nimage = \"debian:bookworm-slim\"\n{}",
        build_line(artifact)
    )
}

fn windows_target(artifact: Option<&str>) -> String {
    format!(
        "\n[[target]]\nname = \"windows\"\ntriple = \"x86_64-pc-windows-gnu\"\n# Natively on a Windows host, under Wine elsewhere.\nruntime = \"windows\"\n{}",
        build_line(artifact)
    )
}

/// The `xtask` crate (its own workspace, so that the user's manifests stay untouched) and
/// the alias that runs it.
fn xtask_files(dir: &Path, source: &HarnessSource) -> Vec<(PathBuf, String)> {
    let dependency = match source {
        HarnessSource::Git { url, rev } => format!(
            "{{ git = {}, rev = {} }}",
            toml_string(url),
            toml_string(rev)
        ),
        HarnessSource::Path(path) => {
            format!("{{ path = {} }}", toml_string(&path.to_string_lossy()))
        }
    };
    vec![
        (
            dir.join("xtask/Cargo.toml"),
            format!(
                "# `cargo xtask`: the port harness's command line, pinned here. Its own workspace, so\n# that it needs nothing from the project's manifests.\n[package]\nname = \"xtask\"\nversion = \"0.1.0\"\nedition = \"2024\"\npublish = false\n\n[dependencies]\nport-harness = {dependency}\n\n[workspace]\n"
            ),
        ),
        (
            dir.join("xtask/src/main.rs"),
            "//! `cargo xtask`: the port harness's command line.\n\nfn main() -> std::process::ExitCode {\n    port_harness::main(\"cargo xtask\")\n}\n".to_owned(),
        ),
        (
            dir.join(".cargo/config.toml"),
            "[alias]\nxtask = \"run --manifest-path xtask/Cargo.toml --\"\n".to_owned(),
        ),
    ]
}

fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

/// Whether `dir` has the `cargo xtask` alias already.
fn has_alias(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join(".cargo/config.toml")).is_ok_and(|text| text.contains("xtask"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_of_server_gets_a_matrix_the_harness_reads() {
        let cargo = Found::Cargo {
            binary: Binary {
                package: "srv".into(),
                bin: "srv".into(),
                dir: PathBuf::from("/r"),
            },
            others: vec![Binary {
                package: "tool".into(),
                bin: "tool".into(),
                dir: PathBuf::from("/r/tool"),
            }],
        };
        let prebuilt = Found::Prebuilt {
            linux: Some("dist/server".into()),
            windows: None,
        };
        for (found, cells) in [
            (cargo, vec!["debian", "windows"]),
            (prebuilt, vec!["debian"]),
            (Found::Nothing, vec!["debian", "windows"]),
        ] {
            let text = matrix_text(&found, &["--port".into(), "{port}".into()], "snapshots");
            let matrix =
                crate::matrix::parse(Path::new("matrix.toml"), &text, crate::runtime::kinds())
                    .unwrap_or_else(|e| panic!("{e}\n{text}"));
            let names: Vec<&str> = matrix.cells.iter().map(|c| c.name.as_str()).collect();
            assert_eq!(names, cells, "{text}");
            assert_eq!(matrix.server.args, ["--port", "{port}"]);
        }
    }

    #[test]
    fn executables_are_told_apart_by_their_first_bytes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("dist/win")).unwrap();
        std::fs::write(dir.path().join("dist/server"), b"\x7fELF....").unwrap();
        std::fs::write(dir.path().join("dist/win/server.exe"), b"MZ\x90\x00....").unwrap();
        std::fs::write(dir.path().join("README.md"), b"# hello").unwrap();
        assert_eq!(
            executables(dir.path()),
            (
                Some("dist/server".to_owned()),
                Some("dist/win/server.exe".to_owned())
            )
        );
    }
}
