//! Insta's `.snap` format and naming, so that `cargo insta review` and `cargo insta accept`
//! work on the harness's snapshots: a snapshot is named `<suite>__<case>.<step>@<cell>.snap`,
//! and a pending one (new or changed, awaiting review) `<name>.snap.new`. Pure: reading and
//! writing the files is `persist`'s.

use std::path::{Path, PathBuf};

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
        assert_eq!(name("tasks", "echo", "1", "debian"), "tasks__echo.1@debian");
    }
}
