//! The snapshot store: insta's `.snap` format and naming, so that `cargo insta review` and
//! `cargo insta accept` work on the harness's snapshots. A snapshot is named
//! `<suite>__<case>.<step>@<cell>.snap`; a new or changed one is written as `.snap.new`
//! (pending) unless the user accepts; every write is atomic (a temp file, then a rename).

use std::path::{Path, PathBuf};

use crate::errors::{Error, Result};

/// A snapshot file's parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapFile {
    /// Where the behaviour comes from (the case file).
    pub source: String,
    /// What was observed (the request).
    pub expression: String,
    /// The normalized behaviour.
    pub content: String,
}

/// The snapshot name of one step of one case on one cell.
pub fn name(suite: &str, case: &str, step: &str, cell: &str) -> String {
    format!("{suite}__{case}.{step}@{cell}")
}

/// The committed snapshot's path.
pub fn path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.snap"))
}

/// The pending snapshot's path.
pub fn pending_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.snap.new"))
}

fn yaml_string(s: &str) -> String {
    serde_json::to_string(s).expect("strings serialize")
}

/// The file text, as insta writes it.
pub fn render(snap: &SnapFile) -> String {
    let mut content = snap.content.clone();
    if !content.ends_with('\n') {
        content.push('\n');
    }
    format!(
        "---\nsource: {}\nexpression: {}\n---\n{content}",
        yaml_string(&snap.source),
        yaml_string(&snap.expression)
    )
}

/// Parses a `.snap` file; content is compared without trailing newlines, as insta does.
pub fn parse(text: &str) -> Option<SnapFile> {
    let rest = text.strip_prefix("---\n")?;
    let end = rest.find("\n---\n")?;
    let header = &rest[..end];
    let content = rest[end + 5..].to_owned();
    let field = |key: &str| {
        header.lines().find_map(|l| {
            let v = l.strip_prefix(key)?.strip_prefix(':')?.trim();
            Some(serde_json::from_str::<String>(v).unwrap_or_else(|_| v.to_owned()))
        })
    };
    Some(SnapFile {
        source: field("source").unwrap_or_default(),
        expression: field("expression").unwrap_or_default(),
        content,
    })
}

/// Reads the committed snapshot `name`, if there is one.
pub fn read(dir: &Path, name: &str) -> Result<Option<SnapFile>> {
    let p = path(dir, name);
    match std::fs::read_to_string(&p) {
        Ok(text) => parse(&text).map(Some).ok_or_else(|| {
            Error::io(
                &p,
                std::io::Error::other("not a snapshot file (expected insta's `---` header)"),
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(p, e)),
    }
}

/// Writes `text` to `path` atomically.
pub fn write_atomic(path: &Path, text: &str) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| Error::io(dir, e))?;
    std::io::Write::write_all(&mut tmp, text.as_bytes()).map_err(|e| Error::io(path, e))?;
    tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
    Ok(())
}

/// Whether two snapshot contents are the same behaviour (trailing newlines aside).
pub fn same(a: &str, b: &str) -> bool {
    a.trim_end_matches('\n') == b.trim_end_matches('\n')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_and_parse_round_trip() {
        let snap = SnapFile {
            source: "fixtures/suites/tasks/echo.toml".into(),
            expression: "POST /tasks \"echo: hi\"".into(),
            content: "status: 200\n\n{\n  \"a\": 1\n}\n".into(),
        };
        let text = render(&snap);
        insta::assert_snapshot!(text, @r#"
        ---
        source: "fixtures/suites/tasks/echo.toml"
        expression: "POST /tasks \"echo: hi\""
        ---
        status: 200

        {
          "a": 1
        }
        "#);
        assert_eq!(parse(&text), Some(snap));
    }

    #[test]
    fn writes_are_atomic_and_reads_find_them() {
        let dir = tempfile::tempdir().unwrap();
        let n = name("tasks", "echo", "1", "debian");
        assert_eq!(n, "tasks__echo.1@debian");
        assert_eq!(read(dir.path(), &n).unwrap(), None);
        let snap = SnapFile {
            source: "s".into(),
            expression: "e".into(),
            content: "c\n".into(),
        };
        write_atomic(&path(dir.path(), &n), &render(&snap)).unwrap();
        assert_eq!(read(dir.path(), &n).unwrap(), Some(snap));
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["tasks__echo.1@debian.snap"], "no temp file is left");
    }

    #[test]
    fn a_file_that_is_not_a_snapshot_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(path(dir.path(), "x"), "hello").unwrap();
        assert!(
            read(dir.path(), "x")
                .unwrap_err()
                .to_string()
                .contains("not a snapshot file")
        );
    }
}
