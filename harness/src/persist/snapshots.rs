//! The snapshot folder: committed baselines read by name, and what a comparison found
//! written back, pending (`.snap.new`, for `cargo insta review`) or, with `accept`, as the
//! new baselines.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::write_atomic;
use crate::errors::{Error, Result};
use crate::outcome::Observation;
use crate::snapfile::{self, SnapFile};
use crate::verdict::Results;

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

/// The committed contents, by snapshot name, of the baselines that exist of `observations`
/// and of the `primary` cell's counterparts (a cell is compared with the primary's baseline
/// when the primary did not run).
pub fn baselines(
    dir: &Path,
    observations: &[Observation],
    primary: &str,
) -> BTreeMap<String, String> {
    let names: std::collections::BTreeSet<String> = observations
        .iter()
        .flat_map(|o| {
            [
                (!o.audit).then(|| o.name()),
                Some(snapfile::name(&o.suite, &o.case, &o.step, primary)),
            ]
        })
        .flatten()
        .collect();
    names
        .into_iter()
        .filter_map(|name| {
            let content = read(dir, &name).ok().flatten()?.content;
            Some((name, content))
        })
        .collect()
}

/// Writes what the judgement calls for into the snapshot folder: with `--accept`, new and
/// changed snapshots become the baselines, except those held back because their cell
/// diverges unaccepted; everything else that differs is written as pending (`.snap.new`) for
/// `cargo insta review`. A pending file whose snapshot now matches is removed. Returns the
/// files written.
pub fn write(dir: &Path, results: &Results) -> Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    for o in results.observations.iter().filter(|o| !o.audit) {
        let name = o.name();
        let pending = snapfile::pending_path(dir, &name);
        let changed = results.comparison.baseline.iter().any(|b| b.name == name);
        if !changed {
            let _ = std::fs::remove_file(&pending);
            continue;
        }
        let text = snapfile::render(&SnapFile {
            source: o.source.clone(),
            expression: o.expression.clone(),
            content: o.text.clone(),
        });
        let accept = results.accepted && !results.held_back.contains(&name);
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
