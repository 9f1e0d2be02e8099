//! The case files of an `http` suite: one TOML file per case, in file-name order, read in two
//! phases like `matrix.toml` (a serde mirror that keeps spans, then a checked case) when the
//! suite is loaded, before anything is built. Every problem of every file is reported at
//! once, located to its file, line and column: a path that does not start with `/`, two
//! steps of one name, a capture used before a step defines it, two bodies, a body file that
//! is not there, a name that cannot be part of a file name.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use crate::diagnostic::Diagnostic;
use crate::errors::{Error, Result};
use crate::normalize;

/// One checked case.
#[derive(Debug, Clone)]
pub struct CaseFile {
    /// What the case shows.
    pub description: String,
    /// Its steps, in order.
    pub steps: Vec<Step>,
}

/// One request and what is expected of its response.
#[derive(Debug, Clone)]
pub struct Step {
    /// Names the step's snapshot: as written, or its 1-based number.
    pub name: String,
    /// The HTTP method.
    pub method: String,
    /// The path, starting with `/`, with `${capture}` placeholders.
    pub path: String,
    /// Request headers.
    pub headers: BTreeMap<String, String>,
    /// The body.
    pub body: Body,
    /// Expectations.
    pub expect: Expect,
    /// Values to capture from the response, for later steps.
    pub capture: BTreeMap<String, Capture>,
    /// Whether redirects are followed (by default a redirect is what the step sees).
    pub follow_redirects: bool,
    /// Whether the response is part of the behaviour snapshot.
    pub snapshot: bool,
    /// Response headers that are part of the snapshot, besides the content type.
    pub snapshot_headers: Vec<String>,
}

/// Where a captured value comes from.
#[derive(Debug, Clone)]
pub enum Capture {
    /// A JSON path of the body (`.id`, `.items[0].id`).
    Json(String),
    /// A response header (`header:etag`), by its name in any case.
    Header(String),
    /// A regular expression over the body (`regex:...`): its first group, or the whole match.
    Regex(regex::Regex),
}

impl Capture {
    /// Reads `capture = { name = "..." }`'s value: `header:NAME`, `regex:PATTERN`, or a JSON
    /// path.
    fn parse(text: &str) -> std::result::Result<Capture, String> {
        if let Some(name) = text.strip_prefix("header:") {
            if name.trim().is_empty() {
                return Err("`header:` names no header: expected `header:etag`".to_owned());
            }
            Ok(Capture::Header(name.trim().to_lowercase()))
        } else if let Some(pattern) = text.strip_prefix("regex:") {
            regex::Regex::new(pattern).map(Capture::Regex).map_err(|e| {
                format!(
                    "invalid regular expression `{pattern}`: {}",
                    e.to_string().lines().last().unwrap_or("")
                )
            })
        } else if normalize::segments(text).is_some_and(|s| !s.is_empty()) {
            Ok(Capture::Json(text.to_owned()))
        } else {
            Err(format!(
                "invalid capture `{text}`: expected a JSON path of `.key` and `[N]` steps (`.id`), `header:NAME` or `regex:PATTERN`"
            ))
        }
    }
}

/// A request body.
#[derive(Debug, Clone, Default)]
pub enum Body {
    /// None.
    #[default]
    None,
    /// JSON, sent as `application/json` unless the step says otherwise.
    Json(serde_json::Value),
    /// Text as written.
    Text(String),
    /// The bytes of a file, read when the suite was loaded.
    Bytes(Vec<u8>),
    /// A `multipart/form-data` form of one file (`upload = { field, name, body }`).
    Multipart(Upload),
}

/// A file sent in a multipart form, as a browser's upload form sends it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Upload {
    /// The form field (`file`).
    pub field: String,
    /// The file name sent (`README.MD`): what a port may store otherwise.
    pub name: String,
    /// The file's content.
    #[serde(default)]
    pub body: String,
}

impl Upload {
    /// The boundary between the form's parts: fixed, so that the same form is the same
    /// bytes in every run and on every cell.
    pub const BOUNDARY: &str = "port-harness-form-boundary-7d1f3a";

    /// The form as sent: its content type and bytes (RFC 7578). A `"` or a line break in a
    /// name is percent-encoded as browsers do; every other byte is sent as it is, `\`
    /// included.
    pub fn encode(&self) -> (String, Vec<u8>) {
        let quoted = |text: &str| {
            text.replace('"', "%22")
                .replace('\r', "%0D")
                .replace('\n', "%0A")
        };
        let mut bytes = format!(
            "--{b}\r\nContent-Disposition: form-data; name=\"{}\"; filename=\"{}\"\r\nContent-Type: application/octet-stream\r\n\r\n",
            quoted(&self.field),
            quoted(&self.name),
            b = Self::BOUNDARY
        )
        .into_bytes();
        bytes.extend_from_slice(self.body.as_bytes());
        bytes.extend_from_slice(format!("\r\n--{}--\r\n", Self::BOUNDARY).as_bytes());
        (
            format!("multipart/form-data; boundary={}", Self::BOUNDARY),
            bytes,
        )
    }
}

/// What a response must show.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// The status code.
    pub status: Option<u16>,
    /// Headers (names case-insensitive, values exact).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// A JSON value the body must contain (objects: a subset of keys; arrays and scalars:
    /// equal).
    pub json: Option<toml::Value>,
    /// The exact body text.
    pub body: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCase {
    #[serde(default)]
    description: String,
    #[serde(rename = "step", default)]
    steps: Vec<Spanned<RawStep>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    name: Option<Spanned<String>>,
    method: Spanned<String>,
    path: Spanned<String>,
    #[serde(default)]
    headers: BTreeMap<String, Spanned<String>>,
    json: Option<Spanned<toml::Value>>,
    body: Option<Spanned<String>>,
    body_file: Option<Spanned<String>>,
    /// A file sent in a `multipart/form-data` form.
    upload: Option<Spanned<Upload>>,
    #[serde(default)]
    expect: Expect,
    #[serde(default)]
    capture: BTreeMap<Spanned<String>, Spanned<String>>,
    #[serde(default)]
    follow_redirects: bool,
    #[serde(default = "yes")]
    snapshot: bool,
    #[serde(default)]
    snapshot_headers: Vec<String>,
}

fn yes() -> bool {
    true
}

/// Whether `name` can be part of a snapshot's file name: letters, digits, `_` and `-`,
/// starting with a letter or digit. No separators, dots, or anything a file system reads.
pub fn is_safe_name(name: &str) -> bool {
    name.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// The `${name}` placeholders of `text`.
pub fn uses(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("${") {
        rest = &rest[at + 2..];
        match rest.find('}') {
            Some(end) => {
                out.push(&rest[..end]);
                rest = &rest[end + 1..];
            }
            None => break,
        }
    }
    out
}

/// A TOML value as JSON: tables as objects, and dates and times as the strings they were
/// written as (serde would make them objects of its own).
pub fn json_of(value: &toml::Value) -> serde_json::Value {
    use serde_json::Value as J;
    match value {
        toml::Value::String(s) => J::String(s.clone()),
        toml::Value::Integer(i) => J::from(*i),
        toml::Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
        toml::Value::Boolean(b) => J::Bool(*b),
        toml::Value::Datetime(d) => J::String(d.to_string()),
        toml::Value::Array(items) => J::Array(items.iter().map(json_of).collect()),
        toml::Value::Table(t) => {
            J::Object(t.iter().map(|(k, v)| (k.clone(), json_of(v))).collect())
        }
    }
}

/// Every string of a TOML value (a JSON body's, for the captures it uses).
fn strings(value: &toml::Value, out: &mut Vec<String>) {
    match value {
        toml::Value::String(s) => out.push(s.clone()),
        toml::Value::Array(items) => items.iter().for_each(|v| strings(v, out)),
        toml::Value::Table(t) => t.iter().for_each(|(k, v)| {
            out.push(k.clone());
            strings(v, out);
        }),
        _ => {}
    }
}

/// One case file being checked.
struct Check<'a> {
    file: &'a Path,
    text: &'a str,
    errors: &'a mut Vec<Diagnostic>,
}

impl Check<'_> {
    fn error(&mut self, span: Range<usize>, message: impl Into<String>) {
        self.errors
            .push(Diagnostic::new(self.file, self.text, span, message));
    }

    fn case(&mut self, raw: RawCase, folder: &Path) -> CaseFile {
        if raw.steps.is_empty() {
            self.error(
                0..0,
                "a case without steps: expected at least one `[[step]]`",
            );
        }
        let mut names: BTreeSet<String> = BTreeSet::new();
        let mut captured: BTreeSet<String> = BTreeSet::new();
        let mut steps = Vec::new();
        for (i, raw) in raw.steps.into_iter().enumerate() {
            let span = raw.span();
            let raw = raw.into_inner();
            let name = match &raw.name {
                Some(n) => {
                    if !is_safe_name(n.get_ref()) {
                        self.error(n.span(), format!("invalid step name `{}`: expected letters, digits, `_` or `-`, starting with a letter or digit (it names a snapshot file)", n.get_ref()));
                    }
                    n.get_ref().clone()
                }
                None => (i + 1).to_string(),
            };
            if !names.insert(name.clone()) {
                let at = raw.name.as_ref().map_or(span.clone(), Spanned::span);
                self.error(at, format!("two steps are named `{name}`: expected a name of its own for each step (it names the step's snapshot)"));
            }
            let path = raw.path.get_ref();
            if !path.starts_with('/') {
                self.error(raw.path.span(), format!("path `{path}` does not start with `/`: expected a path on the server under test, such as `/projects`"));
            }
            let method = raw.method.get_ref();
            if method.is_empty()
                || !method
                    .bytes()
                    .all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?={}".contains(&b))
            {
                self.error(raw.method.span(), format!("invalid method `{method}`: expected an HTTP method token such as `GET` or `PROPFIND`"));
            }
            // Captures must be defined by an earlier step.
            let mut used: Vec<(String, Range<usize>)> = uses(path)
                .into_iter()
                .map(|u| (u.to_owned(), raw.path.span()))
                .collect();
            for v in raw.headers.values() {
                used.extend(
                    uses(v.get_ref())
                        .into_iter()
                        .map(|u| (u.to_owned(), v.span())),
                );
            }
            if let Some(b) = &raw.body {
                used.extend(
                    uses(b.get_ref())
                        .into_iter()
                        .map(|u| (u.to_owned(), b.span())),
                );
            }
            if let Some(j) = &raw.json {
                let mut texts = Vec::new();
                strings(j.get_ref(), &mut texts);
                for t in &texts {
                    used.extend(uses(t).into_iter().map(|u| (u.to_owned(), j.span())));
                }
            }
            for (var, at) in used {
                if !captured.contains(&var) {
                    self.error(at, format!("`${{{var}}}` is used before a step captures it: expected `capture = {{ {var} = \".path\" }}` in an earlier step"));
                }
            }
            let mut capture = BTreeMap::new();
            for (var, path) in &raw.capture {
                if !is_safe_name(var.get_ref()) {
                    self.error(
                        var.span(),
                        format!(
                            "invalid capture name `{}`: expected letters, digits, `_` or `-`",
                            var.get_ref()
                        ),
                    );
                }
                match Capture::parse(path.get_ref()) {
                    Ok(c) => {
                        capture.insert(var.get_ref().clone(), c);
                    }
                    Err(why) => self.error(path.span(), why),
                }
            }
            captured.extend(capture.keys().cloned());
            let bodies = [
                raw.json.is_some(),
                raw.body.is_some(),
                raw.body_file.is_some(),
                raw.upload.is_some(),
            ];
            if bodies.iter().filter(|b| **b).count() > 1 {
                self.error(span.clone(), format!("step `{name}` has more than one body: expected one of `json`, `body`, `body_file` or `upload`"));
            }
            let file_body =
                raw.body_file
                    .and_then(|f| match std::fs::read(folder.join(f.get_ref())) {
                        Ok(bytes) => Some(bytes),
                        Err(e) => {
                            self.error(
                                f.span(),
                                format!("cannot read body file `{}`: {e}", f.get_ref()),
                            );
                            None
                        }
                    });
            let body = if let Some(j) = raw.json {
                Body::Json(
                    serde_json::to_value(j.get_ref()).expect("toml values serialize as JSON"),
                )
            } else if let Some(b) = raw.body {
                Body::Text(b.into_inner())
            } else if let Some(u) = raw.upload {
                Body::Multipart(u.into_inner())
            } else {
                file_body.map_or(Body::None, Body::Bytes)
            };
            steps.push(Step {
                name,
                method: method.clone(),
                path: path.clone(),
                headers: raw
                    .headers
                    .into_iter()
                    .map(|(k, v)| (k, v.into_inner()))
                    .collect(),
                body,
                expect: raw.expect,
                capture,
                follow_redirects: raw.follow_redirects,
                snapshot: raw.snapshot,
                snapshot_headers: raw.snapshot_headers,
            });
        }
        CaseFile {
            description: raw.description,
            steps,
        }
    }
}

/// The case files of `dir`, in run order.
fn files(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    Ok(files)
}

/// Everything that defines the suite in `dir`: each case file's name and bytes, and every
/// other file beside them (bodies), in order.
pub fn definition(dir: &Path) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    let mut all = Vec::new();
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).map_err(|e| Error::io(&d, e))? {
            let path = entry.map_err(|e| Error::io(&d, e))?.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                all.push(path);
            }
        }
    }
    all.sort();
    for path in all {
        let rel = path.strip_prefix(dir).unwrap_or(&path);
        out.extend(rel.to_string_lossy().as_bytes());
        out.push(0);
        out.extend(std::fs::read(&path).map_err(|e| Error::io(&path, e))?);
        out.push(0);
    }
    Ok(out)
}

/// Reads and checks the text of one case file (body files are read relative to its folder);
/// every problem it has, located.
pub fn parse(file: &Path, text: &str) -> std::result::Result<CaseFile, Vec<Diagnostic>> {
    let mut errors = Vec::new();
    match toml::from_str::<RawCase>(text) {
        Ok(raw) => {
            let mut check = Check {
                file,
                text,
                errors: &mut errors,
            };
            let case = check.case(raw, file.parent().unwrap_or(Path::new(".")));
            if errors.is_empty() {
                Ok(case)
            } else {
                Err(errors)
            }
        }
        Err(e) => Err(vec![Diagnostic::new(
            file,
            text,
            e.span().unwrap_or(0..0),
            e.message().trim().trim_end_matches('.'),
        )]),
    }
}

/// The cases in `dir`, by name, in run order; every problem of every file at once.
pub fn load(dir: &Path) -> Result<Vec<(String, CaseFile)>> {
    let files = files(dir)?;
    let mut cases = Vec::new();
    let mut errors = Vec::new();
    for file in files {
        let bytes = std::fs::read(&file).map_err(|e| Error::io(&file, e))?;
        let text = String::from_utf8_lossy(&bytes);
        let name = file
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        if !is_safe_name(&name) {
            errors.push(Diagnostic::new(&file, &text, 0..0, format!("invalid case name `{name}`: expected a file name of letters, digits, `_` or `-` before `.toml` (it names snapshot files)")));
        }
        match parse(&file, &text) {
            Ok(case) => cases.push((name, case)),
            Err(problems) => errors.extend(problems),
        }
    }
    if errors.is_empty() {
        Ok(cases)
    } else {
        Err(Error::Config(errors))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sample_suites_load() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .unwrap()
            .join("fixtures/suites");
        let mut total = 0;
        for suite in [
            "health",
            "api-contract",
            "projects",
            "packages",
            "tasks",
            "platform",
        ] {
            let cases = load(&root.join(suite)).unwrap();
            assert!(!cases.is_empty(), "{suite}");
            total += cases.len();
        }
        assert!(total >= 30, "{total}");
    }

    #[test]
    fn a_step_has_one_body_and_reads_its_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("blob.bin"), [1u8, 2, 3]).unwrap();
        std::fs::write(
            dir.path().join("ok.toml"),
            "[[step]]\nmethod = \"PUT\"\npath = \"/x\"\nbody_file = \"blob.bin\"\n",
        )
        .unwrap();
        let cases = load(dir.path()).unwrap();
        assert!(matches!(&cases[0].1.steps[0].body, Body::Bytes(b) if b == &[1u8, 2, 3]));
    }

    /// Loads one case file of `text` and returns its diagnostics, one per line.
    fn problems(text: &str) -> String {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("case.toml"), text).unwrap();
        match load(dir.path()) {
            Ok(_) => String::new(),
            Err(Error::Config(d)) => d
                .iter()
                .map(|d| format!("{}:{}: {}", d.line, d.column, d.message))
                .collect::<Vec<_>>()
                .join("\n"),
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn every_problem_of_a_case_is_located() {
        insta::assert_snapshot!(problems(r#"
[[step]]
name = "create"
method = "POST"
path = "@other-host/projects"
json = { name = "x" }
body = "y"

[[step]]
name = "create"
method = "GET"
path = "/projects/${id}"
headers = { if-none-match = "${etag}" }
capture = { id = ".id" }

[[step]]
name = "../escape"
method = "GET"
path = "/projects/${id}"
json = { parent = "${later}" }
body_file = "missing.bin"

[[step]]
method = "BAD METHOD"
path = "/x"
capture = { later = "id" }
"#), @r#"
        5:8: path `@other-host/projects` does not start with `/`: expected a path on the server under test, such as `/projects`
        2:1: step `create` has more than one body: expected one of `json`, `body`, `body_file` or `upload`
        10:8: two steps are named `create`: expected a name of its own for each step (it names the step's snapshot)
        12:8: `${id}` is used before a step captures it: expected `capture = { id = ".path" }` in an earlier step
        13:29: `${etag}` is used before a step captures it: expected `capture = { etag = ".path" }` in an earlier step
        17:8: invalid step name `../escape`: expected letters, digits, `_` or `-`, starting with a letter or digit (it names a snapshot file)
        20:8: `${later}` is used before a step captures it: expected `capture = { later = ".path" }` in an earlier step
        16:1: step `../escape` has more than one body: expected one of `json`, `body`, `body_file` or `upload`
        21:13: cannot read body file `missing.bin`: No such file or directory (os error 2)
        24:10: invalid method `BAD METHOD`: expected an HTTP method token such as `GET` or `PROPFIND`
        26:21: invalid capture `id`: expected a JSON path of `.key` and `[N]` steps (`.id`), `header:NAME` or `regex:PATTERN`
        "#);
    }

    #[test]
    fn dates_in_a_json_body_stay_the_text_they_were() {
        let v: toml::Value =
            toml::from_str("at = 2026-11-25T10:00:00Z\nday = 2026-11-25\nn = 1.5").unwrap();
        assert_eq!(
            json_of(&v),
            serde_json::json!({"at": "2026-11-25T10:00:00Z", "day": "2026-11-25", "n": 1.5})
        );
    }

    #[test]
    fn a_case_file_name_is_a_safe_name() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("a b.toml"),
            "[[step]]\nmethod = \"GET\"\npath = \"/\"\n",
        )
        .unwrap();
        let err = load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("invalid case name `a b`"), "{err}");
    }

    #[test]
    fn malformed_case_files_are_located() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("bad.toml"),
            "[[step]]\nmethod = \"GET\"\npaht = \"/x\"\n",
        )
        .unwrap();
        let err = load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("bad.toml:3:1: unknown field `paht`"), "{err}");
    }
}
