//! Host tools: found with `which`; when missing and running as root on Debian or Ubuntu,
//! installed with apt-get; otherwise an error that prints the exact command that fixes it.

use tokio::sync::OnceCell;

use super::{Check, Ctx};
use crate::errors::{Error, Result};
use crate::process::{Cmd, checked};

/// A tool the harness needs, and the Debian packages that provide it.
#[derive(Debug, Clone, Copy)]
pub struct Tool {
    /// The program.
    pub program: &'static str,
    /// The packages that install it.
    pub packages: &'static [&'static str],
    /// What it is for, shown by `doctor`.
    pub purpose: &'static str,
}

/// The mingw-w64 C compiler and linker for 64-bit Windows.
pub const MINGW: Tool = Tool {
    program: "x86_64-w64-mingw32-gcc",
    packages: &["gcc-mingw-w64-x86-64"],
    purpose: "links Windows builds and the ProcessPrng shim",
};
/// Wine.
pub const WINE: Tool = Tool {
    program: "wine",
    packages: &["wine", "wine64"],
    purpose: "runs Windows builds on Linux",
};
/// Wine's server, which outlives the programs it runs.
pub const WINESERVER: Tool = Tool {
    program: "wineserver",
    packages: &["wine", "wine64"],
    purpose: "stops Wine programs",
};
/// podman, daemonless.
pub const PODMAN: Tool = Tool {
    program: "podman",
    packages: &["podman", "crun", "runc", "uidmap", "slirp4netns"],
    purpose: "runs container cells",
};
/// crun, the OCI runtime that starts a container with less processor time than runc.
pub const CRUN: Tool = Tool {
    program: "crun",
    packages: &["crun"],
    purpose: "starts containers with less processor time than runc",
};
/// docker's client (its daemon is checked apart).
pub const DOCKER: Tool = Tool {
    program: "docker",
    packages: &["docker.io"],
    purpose: "runs container cells",
};
/// debootstrap, which builds a Debian root file system from packages.
pub const DEBOOTSTRAP: Tool = Tool {
    program: "debootstrap",
    packages: &["debootstrap"],
    purpose: "builds a Debian base image when no registry can be reached",
};

/// A tool that runs do without, which some users prefer: found on PATH or not, and how to
/// get it.
pub fn optional(program: &str, purpose: &str, install: &str) -> Check {
    let found = which::which(program);
    Check {
        what: format!("{program} ({purpose})"),
        ok: found.is_ok(),
        detail: found.map_or_else(
            |_| "not installed; nothing needs it".to_owned(),
            |p| p.display().to_string(),
        ),
        fix: None,
        optional: true,
    }
    .with_fix(install)
}

impl Check {
    fn with_fix(mut self, fix: &str) -> Check {
        if !self.ok {
            self.fix = Some(fix.to_owned());
        }
        self
    }
}

/// Whether the harness may install packages itself: root, with apt-get.
pub fn can_apt() -> bool {
    is_root() && which::which("apt-get").is_ok()
}

#[cfg(unix)]
fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

#[cfg(not(unix))]
fn is_root() -> bool {
    false
}

/// The command that installs `packages` (which provide `program`), for messages.
pub fn install_command(packages: &[&str], program: &str) -> String {
    if cfg!(windows) {
        // No package manager to name for every Windows machine: what to install, and how to
        // run without it.
        return format!(
            "install {} for Windows and put `{}` on PATH, or run the other cells with `--cell NAME`",
            packages.join(" or "),
            program
        );
    }
    if packages.is_empty() {
        return format!("install `{program}` and put it on PATH");
    }
    let sudo = if is_root() { "" } else { "sudo " };
    format!(
        "{sudo}apt-get update && {sudo}apt-get install -y {}",
        packages.join(" ")
    )
}

/// Whether `tool` is on PATH.
pub fn check(tool: &Tool) -> Check {
    check_program(tool.program, tool.packages, tool.purpose)
}

/// Whether `program` (which `packages` provide, for `purpose`) is on PATH.
pub fn check_program(program: &str, packages: &[&str], purpose: &str) -> Check {
    let what = format!("{program} ({purpose})");
    match which::which(program) {
        Ok(path) => Check {
            what,
            ok: true,
            detail: path.display().to_string(),
            fix: None,
            optional: false,
        },
        Err(_) => Check {
            what,
            ok: false,
            detail: if can_apt() && !packages.is_empty() {
                "missing; `matrix` installs it".into()
            } else {
                "missing".into()
            },
            fix: Some(install_command(packages, program)),
            optional: false,
        },
    }
}

/// Finds `tool`, installing it when allowed.
pub async fn ensure(ctx: &Ctx, tool: &Tool) -> Result<()> {
    ensure_program(ctx, tool.program, tool.packages, tool.purpose).await
}

/// Finds `program` (which `packages` provide, for `purpose`), installing the packages when
/// allowed (as root, with apt-get).
pub async fn ensure_program(
    ctx: &Ctx,
    program: &str,
    packages: &[&str],
    purpose: &str,
) -> Result<()> {
    let check = check_program(program, packages, purpose);
    if check.ok {
        ctx.present(&check);
        return Ok(());
    }
    let missing = |why: String| Error::Prerequisite {
        what: format!("`{program}` ({purpose})"),
        why,
        fix: install_command(packages, program),
    };
    if packages.is_empty() {
        return Err(missing("it is not on PATH".into()));
    }
    if !can_apt() {
        return Err(missing(
            "it is not on PATH, and the harness installs packages only as root with apt-get".into(),
        ));
    }
    ctx.provisioning(format!("installing {} with apt-get", packages.join(" ")));
    static UPDATED: OnceCell<()> = OnceCell::const_new();
    UPDATED
        .get_or_try_init(|| async { checked(&apt().args(["update", "-qq"])).await.map(|_| ()) })
        .await
        .map_err(|e| missing(format!("apt-get could not install it: {e}")))?;
    checked(&apt().args(["install", "-y", "-qq"]).args(packages))
        .await
        .map_err(|e| missing(format!("apt-get could not install it: {e}")))?;
    let path = which::which(program).map_err(|_| {
        missing(format!(
            "installing {} did not put it on PATH",
            packages.join(" ")
        ))
    })?;
    ctx.provisioned(&check.what, format!("installed {}", path.display()));
    Ok(())
}

/// The cargo to run: the one running the harness (`$CARGO` under `cargo xtask`), else the
/// one on PATH.
pub fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned())
}

fn apt() -> Cmd {
    Cmd::new("apt-get").env("DEBIAN_FRONTEND", "noninteractive")
}
