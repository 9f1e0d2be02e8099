//! Rust targets: the standard library of each triple cargo builds for, added with rustup
//! when missing.

use std::path::PathBuf;

use super::{Check, Ctx};
use crate::errors::{Error, Result};
use crate::process::{Cmd, checked};

async fn sysroot() -> Result<PathBuf> {
    let out = checked(&Cmd::new("rustc").args(["--print", "sysroot"])).await?;
    Ok(PathBuf::from(out.trim()))
}

/// Whether the standard library of `triple` is installed.
pub async fn check(triple: &str) -> Check {
    let installed = sysroot()
        .await
        .is_ok_and(|s| s.join("lib/rustlib").join(triple).join("lib").is_dir());
    Check {
        what: format!("rust target {triple}"),
        ok: installed,
        detail: if installed { "installed" } else { "missing" }.into(),
        fix: (!installed).then(|| format!("rustup target add {triple}")),
        optional: false,
    }
}

/// Makes the standard library of `triple` available.
pub async fn ensure(ctx: &Ctx, triple: &str) -> Result<()> {
    let check = check(triple).await;
    if check.ok {
        ctx.present(&check);
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
    ctx.provisioning(format!("adding rust target {triple}"));
    checked(&Cmd::new("rustup").args(["target", "add", triple]))
        .await
        .map_err(|e| Error::Prerequisite {
            what: check.what.clone(),
            why: e.to_string(),
            fix: fix.clone(),
        })?;
    ctx.provisioned(&check.what, "added with rustup");
    Ok(())
}
