//! The snapshot folder: committed baselines read by name, and what a judgement found written
//! back, pending (`.snap.new`, for `review` or `cargo insta review`) or, with `accept`, as the
//! new baselines; a reviewer's decision on a pending one applied. Every name goes through `snapfile`'s checks before it becomes a file, so no name
//! (from a suite, a command, or a tampered shard) can reach outside the folder. A file that
//! cannot be read or written is an error of that file alone.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::write_atomic;
use crate::errors::{Error, Result};
use crate::outcome::Observation;
use crate::snapfile::{self, SnapFile};
use crate::verdict::Results;

/// Reads the committed snapshot `name`, if there is one.
pub fn read(dir: &Path, name: &str) -> Result<Option<SnapFile>> {
    let p = snapfile::path(dir, name).map_err(Error::Selection)?;
    match std::fs::read(&p) {
        Ok(bytes) => {
            let text = String::from_utf8(bytes).map_err(|_| {
                Error::io(&p, std::io::Error::other("not a snapshot file (not UTF-8)"))
            })?;
            snapfile::parse(&text).map(Some).ok_or_else(|| {
                Error::io(
                    &p,
                    std::io::Error::other("not a snapshot file (expected insta's `---` header)"),
                )
            })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(p, e)),
    }
}

/// The committed baselines of `observations` and of the `primary` cell's counterparts (a
/// cell is compared with the primary's baseline when the primary did not run), by snapshot
/// name; and the baselines that exist but could not be read, each naming its file.
pub fn baselines(
    dir: &Path,
    observations: &[Observation],
    primary: &str,
) -> (BTreeMap<String, String>, Vec<String>) {
    let names: BTreeSet<String> = observations
        .iter()
        .flat_map(|o| {
            [
                (!o.audit).then(|| o.name()),
                Some(snapfile::name(&o.suite, &o.case, &o.step, primary)),
            ]
        })
        .flatten()
        // A name that cannot be a file has no baseline; writing its snapshot reports it.
        .filter(|name| snapfile::unsafe_name(name).is_none())
        .collect();
    let mut found = BTreeMap::new();
    let mut errors = Vec::new();
    for name in names {
        match read(dir, &name) {
            Ok(Some(snap)) => {
                found.insert(name, snap.content);
            }
            Ok(None) => {}
            Err(e) => errors.push(e.to_string()),
        }
    }
    (found, errors)
}

/// What writing the snapshots did.
#[derive(Debug, Default)]
pub struct Written {
    /// The files written.
    pub files: Vec<PathBuf>,
    /// The snapshots that could not be written, each with why.
    pub errors: Vec<String>,
}

/// Writes what the judgement calls for into the snapshot folder: with `--accept`, new and
/// changed snapshots become the baselines, except those held back because their cell
/// diverges unaccepted; everything else that differs is written as pending (`.snap.new`) for
/// `cargo insta review`. A pending file whose snapshot now matches is removed.
pub fn write(dir: &Path, results: &Results) -> Written {
    let mut out = Written::default();
    let changed: BTreeSet<&str> = results
        .comparison
        .baseline
        .iter()
        .map(|b| b.name.as_str())
        .collect();
    for o in results.observations.iter().filter(|o| !o.audit) {
        let name = o.name();
        let (pending, baseline) = match (
            snapfile::pending_path(dir, &name),
            snapfile::path(dir, &name),
        ) {
            (Ok(p), Ok(b)) => (p, b),
            (Err(why), _) | (_, Err(why)) => {
                out.errors.push(why);
                continue;
            }
        };
        if !changed.contains(name.as_str()) {
            let _ = std::fs::remove_file(&pending);
            continue;
        }
        let text = snapfile::render(&SnapFile {
            source: o.source.clone(),
            expression: o.expression.clone(),
            content: o.text.clone(),
        });
        let accept = results.accepted && !results.held_back.contains(&name);
        let target = if accept { baseline } else { pending.clone() };
        match write_atomic(&target, &text) {
            Ok(()) => {
                if accept {
                    let _ = std::fs::remove_file(&pending);
                }
                out.files.push(target);
            }
            Err(e) => out.errors.push(e.to_string()),
        }
    }
    out
}

/// A pending snapshot (`<name>.snap.new`) in the snapshot folder, and the baseline it would
/// replace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    /// Its snapshot name.
    pub name: String,
    /// The pending file.
    pub file: PathBuf,
    /// What it holds.
    pub snapshot: SnapFile,
    /// The committed baseline it would replace, when there is one.
    pub baseline: Option<SnapFile>,
}

/// Every pending snapshot in `dir`, by name; a folder that does not exist has none. A pending
/// file that is not a snapshot is an error that names it.
pub fn pending(dir: &Path) -> Result<Vec<Pending>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(dir, e)),
    };
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let file_name = entry.file_name();
        let Some(name) = file_name.to_str().and_then(|n| n.strip_suffix(".snap.new")) else {
            continue;
        };
        if snapfile::unsafe_name(name).is_some() {
            continue;
        }
        let file = entry.path();
        let text = std::fs::read_to_string(&file).map_err(|e| Error::io(&file, e))?;
        let snapshot = snapfile::parse(&text).ok_or_else(|| {
            Error::io(
                &file,
                std::io::Error::other("not a snapshot file (expected insta's `---` header)"),
            )
        })?;
        found.push(Pending {
            name: name.to_owned(),
            baseline: read(dir, name)?,
            file,
            snapshot,
        });
    }
    found.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(found)
}

/// Makes the pending snapshot `name` the baseline: the pending file replaces the committed
/// one in one rename. Returns the baseline's path.
pub fn accept_pending(dir: &Path, name: &str) -> Result<PathBuf> {
    let from = snapfile::pending_path(dir, name).map_err(Error::Selection)?;
    let to = snapfile::path(dir, name).map_err(Error::Selection)?;
    std::fs::rename(&from, &to).map_err(|e| Error::io(&from, e))?;
    Ok(to)
}

/// Drops the pending snapshot `name`; the baseline stays as it was.
pub fn reject_pending(dir: &Path, name: &str) -> Result<()> {
    let file = snapfile::pending_path(dir, name).map_err(Error::Selection)?;
    std::fs::remove_file(&file).map_err(|e| Error::io(&file, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(dir: &Path, name: &str, text: &str) {
        std::fs::write(snapfile::path(dir, name).unwrap(), text).unwrap();
    }

    #[test]
    fn a_baseline_reads_back_a_converted_one_reads_the_same_and_a_broken_one_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read(dir.path(), "x").unwrap(), None);
        let snap = SnapFile {
            source: "s".into(),
            expression: "e".into(),
            content: "c\nd\n".into(),
        };
        put(dir.path(), "x", &snapfile::render(&snap));
        assert_eq!(read(dir.path(), "x").unwrap(), Some(snap.clone()));
        // A Windows checkout with autocrlf converts every line ending.
        put(
            dir.path(),
            "crlf",
            &snapfile::render(&snap).replace('\n', "\r\n"),
        );
        assert_eq!(read(dir.path(), "crlf").unwrap(), Some(snap));
        put(dir.path(), "y", "hello");
        let err = read(dir.path(), "y").unwrap_err().to_string();
        assert!(err.contains("y.snap: not a snapshot file"), "{err}");
        assert!(read(dir.path(), "../y").is_err());
    }
}
