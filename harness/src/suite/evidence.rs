//! Evidence besides the answers: what a port changes may show only in the files the server
//! wrote (which name an upload landed as, with which case) or in its log (an OS error text,
//! a `\\?\` path). Both become snapshots, normalized like the rest and compared across cells:
//! the data dir's tree after a case or a suite, and the server's log of a job.
//!
//! Their case names start with `+`, which no case file's name can, so they never collide with
//! a suite's own cases: `+log` (step `server`) and `+data-dir` (step `tree`), and the step
//! `+data-dir` of a case when the tree is taken after each case.

use std::path::Path;

use sha2::Digest;

use super::{CaseResult, Observed};
use crate::matrix::Normalize;
use crate::normalize::{self, Injected};

/// The case of a job's server log.
pub const LOG_CASE: &str = "+log";
/// The case of the data dir's tree after a suite, and the step of it after a case.
pub const DATA_DIR: &str = "+data-dir";

/// The data dir's tree as text: one line per entry, sorted by path, `/` between names; a
/// folder (`d`), a file with its size and content hash (`f`), a symlink with its target
/// (`l`), or anything else (`?`).
pub fn tree(dir: &Path) -> String {
    let mut lines = Vec::new();
    walk(dir, dir, &mut lines);
    lines.sort();
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        out.push(format!("? {} (unreadable)", rel(root, dir)));
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = rel(root, &path);
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            out.push(format!("? {name} (gone)"));
            continue;
        };
        let kind = meta.file_type();
        if kind.is_symlink() {
            let target = std::fs::read_link(&path)
                .map(|t| t.to_string_lossy().replace('\\', "/"))
                .unwrap_or_default();
            out.push(format!("l {name} -> {target}"));
        } else if kind.is_dir() {
            out.push(format!("d {name}/"));
            walk(root, &path, out);
        } else if kind.is_file() {
            let hash = std::fs::read(&path)
                .map(|bytes| format!("{:x}", sha2::Sha256::digest(&bytes)))
                .unwrap_or_else(|e| format!("unreadable: {e}"));
            out.push(format!(
                "f {name} {} bytes sha256:{}",
                meta.len(),
                &hash[..16.min(hash.len())]
            ));
        } else {
            out.push(format!("? {name}"));
        }
    }
}

fn rel(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
}

/// The observation of the data dir's tree, as the step `step` of a case.
pub fn observe_tree(dir: &Path, step: &str, rules: &Normalize, injected: &Injected) -> Observed {
    let n = normalize::text(rules, injected, &tree(dir));
    Observed {
        step: step.to_owned(),
        expression: "the data dir's tree".to_owned(),
        text: n.text,
    }
}

/// A case that holds one piece of evidence.
pub fn case(name: &str, observed: Observed) -> CaseResult {
    CaseResult {
        name: name.to_owned(),
        passed: true,
        observed: vec![observed],
        duration: std::time::Duration::ZERO,
        ..CaseResult::default()
    }
}

/// The observation of a job's server log, read lossily.
pub fn observe_log(log: &Path, rules: &Normalize, injected: &Injected) -> Observed {
    let text = std::fs::read(log)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let text = if rules.log_escapes {
        normalize::strip_escapes(&text)
    } else {
        text
    };
    let n = normalize::text(rules, injected, &text);
    Observed {
        step: "server".to_owned(),
        expression: "the server's log".to_owned(),
        text: n.text,
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn a_tree_names_kinds_sizes_hashes_and_link_targets() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir(d.join("files")).unwrap();
        std::fs::write(d.join("files/readme.txt"), "hello\n").unwrap();
        std::os::unix::fs::symlink("files/readme.txt", d.join("current")).unwrap();
        insta::assert_snapshot!(tree(d), @r"
        d files/
        f files/readme.txt 6 bytes sha256:5891b5b522d5df08
        l current -> files/readme.txt
        ");
    }
}
