//! Provisioning: everything the selected cells need, made ready automatically and cached.
//!
//! Tools come from `which` or apt-get (as root); Rust targets from rustup; Wine gets a cached
//! prefix and, where needed, the `ProcessPrng` shim; container cells get an engine, a base
//! image and a run configuration that works on this host. What cannot be done automatically
//! fails at once with the exact command that fixes it. Everything cached lives under one
//! folder ([`cache_dir`]), guarded by a lock so that concurrent runs provision once.

pub mod container;
pub mod tools;
pub mod wine;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::errors::{Error, Result};
use crate::events::{Events, Provision, RunEvent};
use crate::matrix::{EngineKind, Matrix, Runtime};
use crate::process::{Cmd, checked};

pub use container::Engine;
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

/// What a set of cells needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Needs {
    /// Triples cargo builds.
    pub cargo_triples: BTreeSet<String>,
    /// Whether a cell runs under Wine.
    pub wine: bool,
    /// Engines and the images their cells run.
    pub containers: BTreeSet<(EngineKind, String)>,
}

impl Needs {
    /// What the named cells of `matrix` need.
    pub fn of<'a>(matrix: &Matrix, cells: impl IntoIterator<Item = &'a str>) -> Needs {
        let mut needs = Needs::default();
        for name in cells {
            let Some(target) = matrix.cell(name).and_then(|c| matrix.target(&c.target)) else {
                continue;
            };
            if target.build.is_none() {
                needs.cargo_triples.insert(target.triple.clone());
            }
            match &target.runtime {
                Runtime::Host => {}
                Runtime::Wine => needs.wine = !cfg!(windows),
                Runtime::Container { image, engine } => {
                    needs.containers.insert((*engine, image.clone()));
                }
            }
        }
        needs
    }
}

/// Everything ready.
#[derive(Debug, Clone, Default)]
pub struct Provisioned {
    /// Environment for cargo (linkers of cross targets).
    pub cargo_env: Vec<(String, String)>,
    /// Wine, when a cell needs it.
    pub wine: Option<Wine>,
    /// An engine per engine kind and image.
    pub engines: BTreeMap<(EngineKind, String), Engine>,
}

/// The cargo linker variable of a triple: `CARGO_TARGET_<TRIPLE>_LINKER`.
fn linker_var(triple: &str) -> String {
    format!(
        "CARGO_TARGET_{}_LINKER",
        triple.to_uppercase().replace(['-', '.'], "_")
    )
}

/// Makes ready what `needs` lists.
pub async fn provision(needs: &Needs, ctx: &Ctx) -> Result<Provisioned> {
    std::fs::create_dir_all(&ctx.cache).map_err(|e| Error::io(&ctx.cache, e))?;
    let _lock = lock(&ctx.cache.join("provision.lock")).await?;
    let mut done = Provisioned::default();
    for triple in &needs.cargo_triples {
        ensure_rust_target(ctx, triple).await?;
        if triple.ends_with("-windows-gnu") && !cfg!(windows) {
            tools::ensure(ctx, &tools::MINGW).await?;
            done.cargo_env
                .push((linker_var(triple), tools::MINGW.program.to_owned()));
        }
    }
    if needs.wine {
        done.wine = Some(wine::ensure(ctx).await?);
    }
    for (kind, image) in &needs.containers {
        let engine = container::ensure(ctx, *kind, image).await?;
        done.engines.insert((*kind, image.clone()), engine);
    }
    Ok(done)
}

/// An exclusive lock on `path`, held until dropped; waits (without blocking the async
/// runtime) for whoever holds it, in this process or another.
pub(crate) async fn lock(path: &Path) -> Result<std::fs::File> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|e| Error::io(path, e))?;
    let path = path.to_owned();
    tokio::task::spawn_blocking(move || file.lock().map(|()| file))
        .await
        .expect("the lock task does not panic")
        .map_err(|e| Error::io(path, e))
}

async fn sysroot() -> Result<PathBuf> {
    let out = checked(&Cmd::new("rustc").args(["--print", "sysroot"])).await?;
    Ok(PathBuf::from(out.trim()))
}

async fn rust_target_installed(triple: &str) -> Result<bool> {
    Ok(sysroot()
        .await?
        .join("lib/rustlib")
        .join(triple)
        .join("lib")
        .is_dir())
}

async fn ensure_rust_target(ctx: &Ctx, triple: &str) -> Result<()> {
    if rust_target_installed(triple).await? {
        ctx.events.emit(RunEvent::Prerequisite {
            what: format!("rust target {triple}"),
            state: Provision::Present,
            detail: "installed".into(),
        });
        return Ok(());
    }
    let fix = format!("rustup target add {triple}");
    if which::which("rustup").is_err() {
        return Err(Error::Prerequisite {
            what: format!("the Rust standard library for {triple}"),
            why: "it is not installed and there is no rustup to install it".into(),
            fix,
        });
    }
    ctx.events.emit(RunEvent::Provisioning {
        what: format!("adding rust target {triple}"),
    });
    checked(&Cmd::new("rustup").args(["target", "add", triple]))
        .await
        .map_err(|e| Error::Prerequisite {
            what: format!("rust target {triple}"),
            why: e.to_string(),
            fix: fix.clone(),
        })?;
    ctx.events.emit(RunEvent::Prerequisite {
        what: format!("rust target {triple}"),
        state: Provision::Provisioned,
        detail: "added with rustup".into(),
    });
    Ok(())
}

/// One prerequisite as `doctor` sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// What.
    pub what: String,
    /// Ready or not.
    pub ok: bool,
    /// Its state in words.
    pub detail: String,
    /// The command that makes it ready (or what `matrix` will do by itself).
    pub fix: Option<String>,
}

/// Every prerequisite of `needs`, looked at without changing anything.
pub async fn doctor(needs: &Needs, cache: &Path) -> Vec<Check> {
    let mut checks = Vec::new();
    let auto = tools::can_apt();
    let tool_check = |tool: &tools::Tool| match which::which(tool.program) {
        Ok(path) => Check {
            what: format!("{} ({})", tool.program, tool.purpose),
            ok: true,
            detail: path.display().to_string(),
            fix: None,
        },
        Err(_) => Check {
            what: format!("{} ({})", tool.program, tool.purpose),
            ok: false,
            detail: if auto {
                "missing; `matrix` installs it".into()
            } else {
                "missing".into()
            },
            fix: Some(tools::install_command(tool)),
        },
    };
    for triple in &needs.cargo_triples {
        let installed = rust_target_installed(triple).await.unwrap_or(false);
        checks.push(Check {
            what: format!("rust target {triple}"),
            ok: installed,
            detail: if installed {
                "installed".into()
            } else {
                "missing".into()
            },
            fix: (!installed).then(|| format!("rustup target add {triple}")),
        });
        if triple.ends_with("-windows-gnu") && !cfg!(windows) {
            checks.push(tool_check(&tools::MINGW));
        }
    }
    if needs.wine {
        checks.push(tool_check(&tools::WINE));
        let prefix = cache.join("wine-prefix");
        let ready = prefix.join("system.reg").is_file();
        checks.push(Check {
            what: "wine prefix".into(),
            ok: ready,
            detail: if ready {
                prefix.display().to_string()
            } else {
                "not created yet; `matrix` creates it".into()
            },
            fix: (!ready).then(|| format!("WINEPREFIX={} wineboot --init", prefix.display())),
        });
        if which::which("wine").is_ok() {
            let needed = wine::needs_shim();
            let built = cache
                .join("processprng-shim/bcryptprimitives.dll")
                .is_file();
            checks.push(Check {
                what: "ProcessPrng for Rust programs under Wine".into(),
                ok: !needed || built,
                detail: match (needed, built) {
                    (false, _) => "this Wine exports it".into(),
                    (true, true) => "shim built".into(),
                    (true, false) => "this Wine lacks it; `matrix` builds a shim with mingw".into(),
                },
                fix: None,
            });
        }
    }
    for (kind, image) in &needs.containers {
        let program = match kind {
            EngineKind::Docker => "docker",
            EngineKind::Podman => "podman",
            EngineKind::Auto
                if which::which("podman").is_err() && which::which("docker").is_ok() =>
            {
                "docker"
            }
            EngineKind::Auto => "podman",
        };
        let tool = if program == "docker" {
            tools::DOCKER
        } else {
            tools::PODMAN
        };
        let engine = tool_check(&tool);
        let have_engine = engine.ok;
        checks.push(engine);
        if !have_engine {
            continue;
        }
        let found = container::find_image(program, image).await;
        checks.push(Check {
            what: format!("image {image}"),
            ok: found.is_some(),
            detail: match &found {
                Some(c) => format!("{program} has {c}"),
                None => "missing; `matrix` pulls it, or builds it with debootstrap".into(),
            },
            fix: None,
        });
        let remembered = cache.join(format!("engine-{program}.json"));
        checks.push(Check {
            what: format!("{program} configuration"),
            ok: remembered.is_file(),
            detail: std::fs::read_to_string(&remembered)
                .map(|t| t.split_whitespace().collect::<Vec<_>>().join(" "))
                .unwrap_or_else(|_| "not probed yet; `matrix` probes it".into()),
            fix: None,
        });
    }
    checks
}
