//! Wine: a prefix created once and cached, and the `ProcessPrng` shim for Wines whose
//! `bcryptprimitives.dll` lacks it (Debian 12's Wine 8.0 has none at all). The Rust standard
//! library imports `ProcessPrng` on Windows since 1.78, so without the shim no Rust `.exe`
//! loads under such a Wine.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::{Check, Ctx, tools};
use crate::errors::{Error, Result};
use crate::process::{Cmd, checked};

/// A ready Wine.
#[derive(Debug, Clone)]
pub struct Wine {
    /// The cached prefix.
    pub prefix: PathBuf,
    /// The Windows version the prefix reports (`winecfg`'s name), when set; `None`: Wine's
    /// default.
    pub version: Option<&'static str>,
    /// The shim DLL to place next to each `.exe`, when this Wine needs it.
    pub shim: Option<PathBuf>,
}

impl Wine {
    /// `cmd` with the environment every Wine command gets: the prefix, no debug output, no
    /// display, no desktop integration prompts.
    pub fn env(&self, cmd: Cmd) -> Cmd {
        cmd.env("WINEPREFIX", &self.prefix)
            .env("WINEDEBUG", "-all")
            .env(
                "WINEDLLOVERRIDES",
                "winemenubuilder.exe=d;mscoree=d;mshtml=d",
            )
            .env_remove("DISPLAY")
            .env_remove("WAYLAND_DISPLAY")
    }
}

/// The C source of the shim: `ProcessPrng` on top of `RtlGenRandom` (advapi32's
/// `SystemFunction036`), which every Wine has.
const SHIM_C: &str = r#"#include <windows.h>
BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);
BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length) {
    while (length > 0) {
        ULONG chunk = length > 0x10000000 ? 0x10000000 : (ULONG)length;
        if (!SystemFunction036(data, chunk)) return FALSE;
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
"#;
const SHIM_DEF: &str = "LIBRARY bcryptprimitives\nEXPORTS\n    ProcessPrng\n";

fn prefix_of(cache: &Path) -> PathBuf {
    cache.join("wine-prefix")
}

fn shim_of(cache: &Path) -> PathBuf {
    cache.join("processprng-shim/bcryptprimitives.dll")
}

/// Whether the cached prefix is ready.
fn check_prefix(cache: &Path) -> Check {
    let prefix = prefix_of(cache);
    let ready = prefix.join("system.reg").is_file();
    Check {
        what: "wine prefix".into(),
        ok: ready,
        detail: if ready {
            prefix.display().to_string()
        } else {
            "not created yet; `matrix` creates it".into()
        },
        fix: (!ready).then(|| format!("WINEPREFIX={} wineboot --init", prefix.display())),
        optional: false,
    }
}

/// Whether Rust programs can get `ProcessPrng` under this Wine.
fn check_shim(cache: &Path) -> Check {
    let needed = needs_shim();
    let built = shim_of(cache).is_file();
    Check {
        what: "ProcessPrng shim".into(),
        ok: !needed || built,
        detail: match (needed, built) {
            (false, _) => "this Wine's bcryptprimitives.dll exports it".into(),
            (true, true) => shim_of(cache).display().to_string(),
            (true, false) => "this Wine lacks it; `matrix` builds a shim with mingw".into(),
        },
        fix: None,
        optional: false,
    }
}

/// The prefix of pool slot `slot` (1-based) for `version`: the provisioned prefix, or a
/// copy of it (one pool per version, since the version is a setting of the prefix).
fn slot_prefix(cache: &Path, version: Option<&str>, slot: usize) -> PathBuf {
    let base = match version {
        None => "wine-prefix".to_owned(),
        Some(v) => format!("wine-prefix-{v}"),
    };
    if slot == 1 {
        cache.join(base)
    } else {
        cache.join(format!("{base}-{slot}"))
    }
}

/// Whether the pool of `slots` prefixes of `version` is ready: every slot is a copy of the
/// provisioned prefix, so that Wine servers can run at once without sharing a registry, a
/// temp folder or a wineserver, and one that reports `version` has it set.
fn check_pool(cache: &Path, version: Option<&str>, slots: usize) -> Check {
    let first = if version.is_none() { 2 } else { 1 };
    let ready = (first..=slots)
        .filter(|s| slot_prefix(cache, version, *s).join("system.reg").is_file())
        .count()
        + first
        - 1;
    let what = match version {
        None => format!("wine prefix pool ({slots} {})", slot_word(slots)),
        Some(v) => format!(
            "wine prefix pool reporting {v} ({slots} {})",
            slot_word(slots)
        ),
    };
    Check {
        what,
        ok: ready >= slots,
        detail: if ready >= slots {
            format!(
                "{slots} {} in {}",
                if slots == 1 { "prefix" } else { "prefixes" },
                cache.display()
            )
        } else {
            format!("{ready} of {slots} prefixes; `matrix` copies the rest")
        },
        fix: None,
        optional: false,
    }
}

/// Everything Wine cells need, as `doctor` shows it.
pub fn checks(cache: &Path, versions: &BTreeSet<Option<&str>>, slots: usize) -> Vec<Check> {
    let wine = tools::check(&tools::WINE);
    let have_wine = wine.ok;
    let mut checks = vec![wine, check_prefix(cache)];
    for version in versions {
        if slots > 1 || version.is_some() {
            checks.push(check_pool(cache, *version, slots));
        }
    }
    if have_wine {
        checks.push(check_shim(cache));
    }
    checks
}

/// Makes Wine ready: the tools, a pool of `slots` prefixes for each of `versions`, and the
/// shim when needed. Each returned `Wine` is one slot.
pub async fn ensure(
    ctx: &Ctx,
    versions: &BTreeSet<Option<&'static str>>,
    slots: usize,
) -> Result<Vec<Wine>> {
    let first = ensure_first(ctx).await?;
    let mut pool = Vec::new();
    for version in versions {
        let check = check_pool(&ctx.cache, *version, slots);
        if check.ok && (slots > 1 || version.is_some()) {
            ctx.present(&check);
        }
        for slot in 1..=slots.max(1) {
            let prefix = slot_prefix(&ctx.cache, *version, slot);
            if !prefix.join("system.reg").is_file() {
                ctx.provisioning(format!(
                    "copying the wine prefix for slot {slot} of {slots}{} (once)",
                    version
                        .map(|v| format!(", reporting {v}"))
                        .unwrap_or_default()
                ));
                copy_prefix(&first, &prefix, *version).await?;
                if slot == slots {
                    ctx.provisioned(&check.what, format!("{slots} prefixes"));
                }
            }
            pool.push(Wine {
                prefix,
                version: *version,
                shim: first.shim.clone(),
            });
        }
    }
    Ok(pool)
}

/// Copies the provisioned prefix to `prefix`, set to report `version`: made in a folder
/// beside it and renamed once whole, so that an interrupted copy is never used.
async fn copy_prefix(first: &Wine, prefix: &Path, version: Option<&str>) -> Result<()> {
    let tmp = prefix.with_extension("tmp");
    let _ = std::fs::remove_dir_all(&tmp);
    let _ = std::fs::remove_dir_all(prefix);
    checked(&Cmd::new("cp").arg("-a").arg(&first.prefix).arg(&tmp)).await?;
    if let Some(version) = version {
        // Wine's own setting of the version a prefix reports (what `winecfg` writes); the
        // prefix's wineserver writes the registry to disk when it exits.
        let copy = Wine {
            prefix: tmp.clone(),
            version: None,
            shim: None,
        };
        checked(&copy.env(Cmd::new("wine")).args([
            "reg",
            "add",
            "HKCU\\Software\\Wine",
            "/v",
            "Version",
            "/t",
            "REG_SZ",
            "/d",
            version,
            "/f",
        ]))
        .await?;
        checked(&copy.env(Cmd::new("wineserver")).arg("-w")).await?;
    }
    std::fs::rename(&tmp, prefix).map_err(|e| Error::io(prefix, e))?;
    Ok(())
}

async fn ensure_first(ctx: &Ctx) -> Result<Wine> {
    tools::ensure(ctx, &tools::WINE).await?;
    tools::ensure(ctx, &tools::WINESERVER).await?;
    let prefix = prefix_of(&ctx.cache);
    let wine = Wine {
        prefix: prefix.clone(),
        version: None,
        shim: None,
    };
    let check = check_prefix(&ctx.cache);
    if check.ok {
        ctx.present(&check);
    } else {
        ctx.provisioning(format!(
            "creating a wine prefix in {} (once)",
            prefix.display()
        ));
        // A half-made prefix from an interrupted run is not reusable.
        let _ = std::fs::remove_dir_all(&prefix);
        std::fs::create_dir_all(&prefix).map_err(|e| Error::io(&prefix, e))?;
        checked(&wine.env(Cmd::new("wineboot").arg("--init"))).await?;
        checked(&wine.env(Cmd::new("wineserver").arg("-w"))).await?;
        if !check_prefix(&ctx.cache).ok {
            return Err(Error::Prerequisite {
                what: "a wine prefix".into(),
                why: format!("wineboot --init left no system.reg in {}", prefix.display()),
                fix: format!("WINEPREFIX={} wineboot --init", prefix.display()),
            });
        }
        ctx.provisioned(&check.what, prefix.display().to_string());
    }
    let check = check_shim(&ctx.cache);
    let shim = if check.ok {
        ctx.present(&check);
        needs_shim().then(|| shim_of(&ctx.cache))
    } else {
        Some(build_shim(ctx, &check.what).await?)
    };
    Ok(Wine {
        prefix,
        version: None,
        shim,
    })
}

/// Wine's own 64-bit DLLs, wherever this Wine keeps them.
fn builtin_dll_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = [
        "/usr/lib/x86_64-linux-gnu/wine/x86_64-windows",
        "/usr/lib64/wine/x86_64-windows",
        "/usr/lib/wine/x86_64-windows",
        "/usr/local/lib/wine/x86_64-windows",
        "/opt/wine-stable/lib64/wine/x86_64-windows",
        "/opt/wine-staging/lib64/wine/x86_64-windows",
    ]
    .iter()
    .map(PathBuf::from)
    .collect();
    // A Wine installed elsewhere keeps its DLLs beside its binary: <prefix>/bin/wine ->
    // <prefix>/lib*/wine/x86_64-windows.
    if let Some(root) = which::which("wine")
        .ok()
        .and_then(|w| w.canonicalize().ok())
        .and_then(|w| w.parent()?.parent().map(Path::to_owned))
    {
        for lib in ["lib", "lib64"] {
            dirs.push(root.join(lib).join("wine/x86_64-windows"));
        }
    }
    dirs
}

/// Whether this Wine lacks `ProcessPrng`: its `bcryptprimitives.dll` is missing or does not
/// name the function in its exports.
pub fn needs_shim() -> bool {
    let dirs: Vec<PathBuf> = builtin_dll_dirs()
        .into_iter()
        .filter(|d| d.join("kernel32.dll").is_file())
        .collect();
    !dirs.iter().any(|d| {
        std::fs::read(d.join("bcryptprimitives.dll"))
            .map(|bytes| bytes.windows(11).any(|w| w == b"ProcessPrng"))
            .unwrap_or(false)
    })
}

async fn build_shim(ctx: &Ctx, what: &str) -> Result<PathBuf> {
    let dll = shim_of(&ctx.cache);
    let dir = dll.parent().expect("the shim has a folder").to_owned();
    tools::ensure(ctx, &tools::MINGW).await?;
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    std::fs::write(dir.join("shim.c"), SHIM_C).map_err(|e| Error::io(dir.join("shim.c"), e))?;
    std::fs::write(dir.join("shim.def"), SHIM_DEF)
        .map_err(|e| Error::io(dir.join("shim.def"), e))?;
    let tmp = dir.join("bcryptprimitives.dll.tmp");
    checked(
        &Cmd::new(tools::MINGW.program)
            .args(["-O2", "-shared", "-o"])
            .arg(&tmp)
            .args(["shim.c", "shim.def", "-ladvapi32"])
            .current_dir(&dir),
    )
    .await?;
    std::fs::rename(&tmp, &dll).map_err(|e| Error::io(&dll, e))?;
    ctx.provisioned(what, format!("built {}", dll.display()));
    Ok(dll)
}

fn slot_word(slots: usize) -> &'static str {
    if slots == 1 { "slot" } else { "slots" }
}
