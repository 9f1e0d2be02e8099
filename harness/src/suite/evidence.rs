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

/// The most entries a tree lists; the rest are counted.
const MAX_ENTRIES: usize = 10_000;
/// The most bytes of one file hashed; a larger file's line says its hash covers only these.
const MAX_HASHED: u64 = 64 * 1024 * 1024;

/// The data dir's tree as text: one line per entry, sorted by path, `/` between names (a
/// name's own `\` is kept, and bytes that are not UTF-8 are written `\xNN`); a folder
/// (`d`), a file with its size and content hash (`f`, hashed as a stream, its first 64 MiB
/// at most), a symlink with its target (`l`), or anything else (`?`). At most 10,000
/// entries. `stop` is asked between reads: when it says so, the tree ends there, saying so.
pub fn tree(dir: &Path, stop: &dyn Fn() -> bool) -> String {
    let mut lines = Vec::new();
    let mut more = 0usize;
    let stopped = walk(dir, &[], &mut lines, &mut more, stop).is_err();
    lines.sort();
    let mut out = lines.join("\n");
    out.push('\n');
    if more > 0 {
        out.push_str(&format!("... and {more} more entries\n"));
    }
    if stopped {
        out.push_str("... stopped before the tree was read whole\n");
    }
    out
}

/// The name of an entry as the tree writes it.
fn component(name: &std::ffi::OsStr) -> String {
    #[cfg(unix)]
    let text = normalize::decode(std::os::unix::ffi::OsStrExt::as_bytes(name)).into_owned();
    #[cfg(not(unix))]
    let text = name.to_string_lossy().into_owned();
    // One line per entry, whatever the name holds.
    text.replace('\n', "\\n").replace('\r', "\\r")
}

/// Stopped: the walk was asked to end.
struct Stopped;

fn walk(
    dir: &Path,
    parents: &[String],
    out: &mut Vec<String>,
    more: &mut usize,
    stop: &dyn Fn() -> bool,
) -> Result<(), Stopped> {
    let here = parents.join("/");
    let Ok(entries) = std::fs::read_dir(dir) else {
        out.push(format!("? {here} (unreadable)"));
        return Ok(());
    };
    for entry in entries.flatten() {
        if stop() {
            return Err(Stopped);
        }
        if out.len() >= MAX_ENTRIES {
            *more += 1;
            continue;
        }
        let path = entry.path();
        let mut names = parents.to_vec();
        names.push(component(&entry.file_name()));
        let name = names.join("/");
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            out.push(format!("? {name} (gone)"));
            continue;
        };
        let kind = meta.file_type();
        if kind.is_symlink() {
            let target = std::fs::read_link(&path)
                .map(|t| component(t.as_os_str()))
                .unwrap_or_default();
            out.push(format!("l {name} -> {target}"));
        } else if kind.is_dir() {
            out.push(format!("d {name}/"));
            walk(&path, &names, out, more, stop)?;
        } else if kind.is_file() {
            let hash = hash_file(&path, stop)?;
            out.push(format!("f {name} {} bytes {hash}", meta.len()));
        } else {
            out.push(format!("? {name}"));
        }
    }
    Ok(())
}

/// A file's content hash, read as a stream in 64 KiB reads (its first [`MAX_HASHED`] bytes).
fn hash_file(path: &Path, stop: &dyn Fn() -> bool) -> Result<String, Stopped> {
    use std::io::Read;
    let Ok(mut file) = std::fs::File::open(path) else {
        return Ok("unreadable".to_owned());
    };
    let mut hasher = sha2::Sha256::new();
    let mut buffer = vec![0u8; 64 * 1024];
    let mut read: u64 = 0;
    while read < MAX_HASHED {
        if stop() {
            return Err(Stopped);
        }
        match file.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => {
                hasher.update(&buffer[..n]);
                read += n as u64;
            }
            Err(e) => return Ok(format!("unreadable: {e}")),
        }
    }
    let hash = format!("{:x}", hasher.finalize());
    Ok(if read >= MAX_HASHED {
        format!("sha256:{} (of its first 64 MiB)", &hash[..16])
    } else {
        format!("sha256:{}", &hash[..16])
    })
}

/// The observation of the data dir's tree, as the step `step` of a case; `stop` ends the
/// walk early (the job no longer wants it).
pub fn observe_tree(
    dir: &Path,
    sync: Option<&crate::runtime::DataDirSync>,
    step: &str,
    rules: &Normalize,
    injected: &Injected,
    stop: &dyn Fn() -> bool,
) -> Observed {
    // A data dir kept elsewhere (a pod in a cluster) is brought back first; one that cannot
    // be says so in place of its tree, which differs from every other cell's.
    let tree = match sync.map(crate::runtime::DataDirSync::pull) {
        Some(Err(problem)) => {
            format!("the data dir could not be read from the server: {problem}\n")
        }
        _ => tree(dir, stop),
    };
    let n = normalize::text(rules, injected, &tree);
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

/// The observation of a job's server logs: each stream whole and in its own order, the
/// empty ones left out, under a line naming it (`[stdout]`, `[stderr]`). Each is its first
/// `max` bytes (a larger one is kept as its size, SHA-256 and first bytes, like a body),
/// decoded so that bytes that are not UTF-8 still differ.
pub fn observe_log(
    logs: &crate::runtime::ServerLogs,
    max: u64,
    rules: &Normalize,
    injected: &Injected,
) -> Observed {
    let mut text = String::new();
    for (name, path) in [("stdout", &logs.stdout), ("stderr", &logs.stderr)] {
        let (bytes, size, sha) = head_of(path, max);
        if size == 0 {
            continue;
        }
        push_stream(&mut text, name, &bytes, rules, injected);
        if let Some(sha) = sha {
            text.push_str(&format!(
                "[the {name} log has {size} bytes, sha256 {sha}; the first {max} are shown]\n"
            ));
        }
    }
    Observed {
        step: "server".to_owned(),
        expression: "the server's log".to_owned(),
        text,
    }
}

/// Appends the log stream `name` (`stdout`, `stderr`) of `bytes` to `text`: a line naming
/// it, then its text decoded (bytes that are not UTF-8 still differ), its escapes stripped
/// when the rules say so, and normalized, ending with a line break.
fn push_stream(
    text: &mut String,
    name: &str,
    bytes: &[u8],
    rules: &Normalize,
    injected: &Injected,
) {
    let decoded = normalize::decode(bytes);
    let stream = if rules.log_escapes {
        normalize::strip_escapes(&decoded)
    } else {
        decoded.into_owned()
    };
    text.push_str(&format!("[{name}]\n"));
    text.push_str(&normalize::text(rules, injected, &stream).text);
    if !text.ends_with('\n') {
        text.push('\n');
    }
}

/// The lines a server logged between two points of its logs (`spans`: for standard output,
/// then standard error, the sizes before and after), normalized, under a line naming each
/// stream; `None` when it logged nothing there. Each stream's part is its first `max` bytes.
pub fn observe_log_span(
    logs: &crate::runtime::ServerLogs,
    spans: [[u64; 2]; 2],
    max: u64,
    rules: &Normalize,
    injected: &Injected,
) -> Option<Observed> {
    use std::io::{Read, Seek};
    let mut text = String::new();
    for ((name, path), [from, to]) in [("stdout", &logs.stdout), ("stderr", &logs.stderr)]
        .into_iter()
        .zip(spans)
    {
        let mut bytes = Vec::new();
        if to > from
            && let Ok(mut file) = std::fs::File::open(path)
            && file.seek(std::io::SeekFrom::Start(from)).is_ok()
        {
            let _ = file.take((to - from).min(max)).read_to_end(&mut bytes);
        }
        if !bytes.is_empty() {
            push_stream(&mut text, name, &bytes, rules, injected);
        }
    }
    (!text.is_empty()).then(|| Observed {
        step: LOG_CASE.to_owned(),
        expression: "the server's log while it answered".to_owned(),
        text,
    })
}

/// The first `max` bytes of `file`, its size, and its SHA-256 when it is longer (read as a
/// stream).
pub(super) fn head_of(file: &Path, max: u64) -> (Vec<u8>, u64, Option<String>) {
    use std::io::Read;
    let Ok(mut f) = std::fs::File::open(file) else {
        return (Vec::new(), 0, None);
    };
    let mut hasher = sha2::Sha256::new();
    let mut head = Vec::new();
    let mut size: u64 = 0;
    let mut buffer = vec![0u8; 64 * 1024];
    while let Ok(n) = f.read(&mut buffer) {
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
        let keep = usize::try_from(max.saturating_sub(size))
            .unwrap_or(usize::MAX)
            .min(n);
        head.extend_from_slice(&buffer[..keep]);
        size += n as u64;
    }
    let sha = (size > max).then(|| format!("{:x}", hasher.finalize()));
    (head, size, sha)
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
        insta::assert_snapshot!(tree(d, &|| false), @r"
        d files/
        f files/readme.txt 6 bytes sha256:5891b5b522d5df08
        l current -> files/readme.txt
        ");
    }

    #[test]
    fn a_backslash_or_a_byte_that_is_not_utf8_in_a_name_stays_what_it_is() {
        use std::os::unix::ffi::OsStrExt;
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("docs\\guide.txt"), "x").unwrap();
        std::fs::write(d.join(std::ffi::OsStr::from_bytes(b"caf\xe9.txt")), "y").unwrap();
        let tree = tree(d, &|| false);
        assert!(tree.contains("f docs\\guide.txt 1 bytes"), "{tree}");
        assert!(!tree.contains("docs/guide.txt"), "{tree}");
        assert!(tree.contains("caf\\xE9.txt"), "{tree}");
        // Asked to stop, it stops and says so.
        assert!(super::tree(d, &|| true).contains("stopped before the tree was read whole"));
    }
}
