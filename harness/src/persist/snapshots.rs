//! The snapshot folder: committed baselines read by name, and what a comparison found
//! written back, pending (`.snap.new`, for `cargo insta review`) or, with `accept`, as the
//! new baselines.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::write_atomic;
use crate::errors::{Error, Result};
use crate::outcome::Observation;
use crate::snapfile::{self, SnapFile};
use crate::verdict::Comparison;

/// Reads the committed snapshot `name`, if there is one.
pub fn read(dir: &Path, name: &str) -> Result<Option<SnapFile>> {
    let p = snapfile::path(dir, name);
    match std::fs::read_to_string(&p) {
        Ok(text) => snapfile::parse(&text).map(Some).ok_or_else(|| {
            Error::io(
                &p,
                std::io::Error::other("not a snapshot file (expected insta's `---` header)"),
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(p, e)),
    }
}

/// The committed contents of the baselines of `observations` that exist, by snapshot name.
pub fn baselines(dir: &Path, observations: &[Observation]) -> BTreeMap<String, String> {
    observations
        .iter()
        .filter(|o| !o.audit)
        .filter_map(|o| {
            let name = o.name();
            let content = read(dir, &name).ok().flatten()?.content;
            Some((name, content))
        })
        .collect()
}

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
        let pending = snapfile::pending_path(dir, &name);
        let changed = comparison.baseline.iter().any(|b| b.name == name);
        if !changed {
            let _ = std::fs::remove_file(&pending);
            continue;
        }
        let text = snapfile::render(&SnapFile {
            source: o.source.clone(),
            expression: o.expression.clone(),
            content: o.text.clone(),
        });
        let target = if accept {
            snapfile::path(dir, &name)
        } else {
            pending.clone()
        };
        write_atomic(&target, &text)?;
        if accept {
            let _ = std::fs::remove_file(&pending);
        }
        written.push(target);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_written_snapshot_reads_back_and_a_file_that_is_not_one_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read(dir.path(), "x").unwrap(), None);
        let snap = SnapFile {
            source: "s".into(),
            expression: "e".into(),
            content: "c\n".into(),
        };
        write_atomic(&snapfile::path(dir.path(), "x"), &snapfile::render(&snap)).unwrap();
        assert_eq!(read(dir.path(), "x").unwrap(), Some(snap));
        std::fs::write(snapfile::path(dir.path(), "y"), "hello").unwrap();
        assert!(
            read(dir.path(), "y")
                .unwrap_err()
                .to_string()
                .contains("not a snapshot file")
        );
    }
}
