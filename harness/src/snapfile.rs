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

/// Why `name` cannot be a file name in the snapshot folder, if it cannot: it must be one
/// path component on every platform, so no separator, no `..`, no control character, none
/// of the characters Windows forbids, no reserved device name (`CON`, `NUL`, `COM1`, ...),
/// and no trailing dot or space.
pub fn unsafe_name(name: &str) -> Option<String> {
    const RESERVED: &[&str] = &[
        "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8",
        "COM9", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
    ];
    let stem = name.split('.').next().unwrap_or("");
    let why = if name.is_empty() {
        "it is empty".to_owned()
    } else if let Some(c) = name
        .chars()
        .find(|c| c.is_control() || "/\\:*?\"<>|".contains(*c))
    {
        format!("it holds {c:?}, which a file name cannot")
    } else if name.contains("..") {
        "it holds `..`".to_owned()
    } else if RESERVED.iter().any(|r| r.eq_ignore_ascii_case(stem)) {
        format!("`{stem}` is a reserved device name on Windows")
    } else if name.ends_with(['.', ' ']) {
        "it ends with a dot or a space".to_owned()
    } else {
        return None;
    };
    Some(format!(
        "snapshot name {name:?} cannot be a file name: {why}"
    ))
}

/// The committed snapshot's path, or why `name` cannot have one.
pub fn path(dir: &Path, name: &str) -> Result<PathBuf, String> {
    match unsafe_name(name) {
        Some(why) => Err(why),
        None => Ok(dir.join(format!("{name}.snap"))),
    }
}

/// The pending snapshot's path, or why `name` cannot have one.
pub fn pending_path(dir: &Path, name: &str) -> Result<PathBuf, String> {
    match unsafe_name(name) {
        Some(why) => Err(why),
        None => Ok(dir.join(format!("{name}.snap.new"))),
    }
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

/// Parses a `.snap` file; content is compared without trailing newlines, as insta does. A
/// file whose line endings were all converted to CRLF (a Windows checkout with `autocrlf`)
/// reads as the file it was.
pub fn parse(text: &str) -> Option<SnapFile> {
    let converted;
    let text = if text.starts_with("---\r\n") {
        converted = text.replace("\r\n", "\n");
        &converted
    } else {
        text
    };
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

    #[test]
    fn only_names_that_stay_one_file_in_the_folder_get_a_path() {
        let dir = Path::new("/snapshots");
        assert_eq!(
            path(dir, "tasks__echo.1@debian").unwrap(),
            Path::new("/snapshots/tasks__echo.1@debian.snap")
        );
        for bad in [
            "../escape",
            "a/b",
            "a\\b",
            "..",
            "x__..__y",
            "ansi\u{1b}[31m",
            "nul\u{0}",
            "CON",
            "nul.1@debian",
            "trailing.",
            "trailing ",
            "a:b",
            "",
        ] {
            let why = path(dir, bad).unwrap_err();
            assert!(why.starts_with("snapshot name"), "{bad:?}: {why}");
            assert!(pending_path(dir, bad).is_err(), "{bad:?}");
        }
    }
}
