//! Behaviour snapshots: normalization ([`normalize`]), insta's file format ([`store`]), and
//! the comparison across cells and against baselines ([`compare`]).

pub mod compare;
pub mod normalize;
pub mod store;

use std::path::{Path, PathBuf};

pub use compare::{Acceptance, BaselineState, Comparison, Observation, compare};

use crate::errors::Result;

/// Writes what the comparison found to the snapshot folder: with `accept`, new and changed
/// snapshots become the baselines; without, they are written as pending (`.snap.new`) for
/// `cargo insta review`. A pending file whose snapshot now matches is removed. Returns the
/// files written.
pub fn write(
    dir: &Path,
    observations: &[Observation],
    comparison: &Comparison,
    accept: bool,
) -> Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    for o in observations.iter().filter(|o| !o.audit) {
        let name = o.name();
        let pending = store::pending_path(dir, &name);
        let changed = comparison.baseline.iter().any(|b| b.name == name);
        if !changed {
            let _ = std::fs::remove_file(&pending);
            continue;
        }
        let text = store::render(&store::SnapFile {
            source: o.source.clone(),
            expression: o.expression.clone(),
            content: o.text.clone(),
        });
        let target = if accept {
            store::path(dir, &name)
        } else {
            pending.clone()
        };
        store::write_atomic(&target, &text)?;
        if accept {
            let _ = std::fs::remove_file(&pending);
        }
        written.push(target);
    }
    Ok(written)
}

/// Today's date as `YYYY-MM-DD` (UTC), for divergence expiry.
pub fn today() -> String {
    let now = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    now[..10].to_owned()
}
