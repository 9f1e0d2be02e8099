//! Pending snapshots, reviewed without cargo-insta and in any layout: each with the baseline
//! it would replace and the diff between them, and the reviewer's decision (accept, reject,
//! skip) applied through `persist`.

use std::path::PathBuf;

use crate::errors::Result;
use crate::matrix::Matrix;
use crate::persist::snapshots;

/// One pending snapshot, as a reviewer reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToReview {
    /// Its snapshot name, `<suite>__<case>.<step>@<cell>`.
    pub name: String,
    /// Where the behaviour comes from (the case file, the command).
    pub source: String,
    /// What was observed (the request, the log).
    pub expression: String,
    /// Whether a baseline exists (otherwise the snapshot is new).
    pub changed: bool,
    /// A unified diff from the baseline (from nothing, for a new snapshot) to the pending one.
    pub diff: String,
    /// The pending file.
    pub file: PathBuf,
}

/// What the reviewer decides about one pending snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// It becomes the baseline.
    Accept,
    /// It is dropped; the baseline stays.
    Reject,
    /// It stays pending.
    Skip,
}

/// Every pending snapshot of `matrix`'s snapshot folder, by name.
pub fn pending(matrix: &Matrix) -> Result<Vec<ToReview>> {
    Ok(snapshots::pending(&matrix.snapshot_dir)?
        .into_iter()
        .map(|p| {
            let old = p.baseline.as_ref().map_or("", |b| b.content.as_str());
            let (old_name, new_name) = (
                if p.baseline.is_some() {
                    "baseline"
                } else {
                    "(no baseline)"
                },
                "pending",
            );
            ToReview {
                diff: crate::verdict::compare::unified(
                    old,
                    &p.snapshot.content,
                    old_name,
                    new_name,
                ),
                changed: p.baseline.is_some(),
                source: p.snapshot.source,
                expression: p.snapshot.expression,
                name: p.name,
                file: p.file,
            }
        })
        .collect())
}

/// Applies `decision` to the pending snapshot `name`; returns the baseline's path when it was
/// accepted.
pub fn decide(matrix: &Matrix, name: &str, decision: Decision) -> Result<Option<PathBuf>> {
    let dir = &matrix.snapshot_dir;
    match decision {
        Decision::Accept => snapshots::accept_pending(dir, name).map(Some),
        Decision::Reject => snapshots::reject_pending(dir, name).map(|()| None),
        Decision::Skip => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapfile::{self, SnapFile};

    #[test]
    fn accept_replaces_the_baseline_reject_keeps_it_and_skip_leaves_the_pending_file() {
        let dir = tempfile::tempdir().unwrap();
        let text = format!(
            "primary = \"a\"\n[server]\nargs = []\n[server.ready]\ntcp = true\n[[target]]\nname = \"a\"\ntriple = \"x86_64-unknown-linux-gnu\"\nruntime = \"host\"\nbuild = {{ artifact = \"srv\" }}\n[snapshots]\ndir = \"{}\"\n",
            dir.path().display()
        );
        let matrix = crate::matrix::parse(
            &dir.path().join("matrix.toml"),
            &text,
            crate::runtime::kinds(),
        )
        .unwrap();
        let snap = |content: &str| {
            snapfile::render(&SnapFile {
                source: "s.toml".into(),
                expression: "GET /".into(),
                content: content.into(),
            })
        };
        let put = |name: &str, ext: &str, content: &str| {
            std::fs::write(dir.path().join(format!("{name}{ext}")), snap(content)).unwrap()
        };
        put("s__a.x@a", ".snap", "old\n");
        for name in ["s__a.x@a", "s__b.x@a", "s__c.x@a"] {
            put(name, ".snap.new", "new\n");
        }
        let found = pending(&matrix).unwrap();
        let names: Vec<&str> = found.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["s__a.x@a", "s__b.x@a", "s__c.x@a"]);
        assert!(found[0].changed && !found[1].changed);
        assert!(found[0].diff.contains("-old") && found[0].diff.contains("+new"));
        decide(&matrix, "s__a.x@a", Decision::Accept).unwrap();
        decide(&matrix, "s__b.x@a", Decision::Reject).unwrap();
        decide(&matrix, "s__c.x@a", Decision::Skip).unwrap();
        let read = |f: &str| std::fs::read_to_string(dir.path().join(f)).ok();
        assert_eq!(read("s__a.x@a.snap"), Some(snap("new\n")));
        assert_eq!(read("s__a.x@a.snap.new"), None);
        assert_eq!(read("s__b.x@a.snap"), None);
        assert_eq!(read("s__b.x@a.snap.new"), None);
        assert_eq!(read("s__c.x@a.snap.new"), Some(snap("new\n")));
        let names: Vec<String> = pending(&matrix)
            .unwrap()
            .into_iter()
            .map(|p| p.name)
            .collect();
        assert_eq!(names, ["s__c.x@a"]);
    }
}
