//! `http` suites: a folder of case files, one case per file, run in file-name order. Each step
//! sends a request, checks its expectations (status, headers, a JSON subset, a body), captures
//! values for later steps (`${name}`), and records the response for snapshots.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::Value;

use super::{CaseResult, Observed};
use crate::errors::{Error, Result};
use crate::matrix::{Diagnostic, Normalize};
use crate::snapshot::normalize;

/// One case file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseFile {
    /// What the case shows.
    #[serde(default)]
    pub description: String,
    /// Its steps, in order.
    #[serde(rename = "step")]
    pub steps: Vec<Step>,
}

/// One request and what is expected of its response.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// Names the step's snapshot; default: its 1-based number.
    pub name: Option<String>,
    /// The HTTP method.
    pub method: String,
    /// The path, with `${capture}` placeholders.
    pub path: String,
    /// Request headers.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// A JSON body.
    pub json: Option<toml::Value>,
    /// A raw body.
    pub body: Option<String>,
    /// A file whose bytes are the body, relative to the case file's folder.
    pub body_file: Option<String>,
    /// The bytes of `body_file`, read when the suite is loaded.
    #[serde(skip)]
    pub file_body: Option<Vec<u8>>,
    /// Expectations.
    #[serde(default)]
    pub expect: Expect,
    /// Values to capture from the JSON response, by path (`.id`, `.items[0].id`).
    #[serde(default)]
    pub capture: BTreeMap<String, String>,
    /// Whether the response is part of the behaviour snapshot.
    #[serde(default = "yes")]
    pub snapshot: bool,
    /// Response headers that are part of the snapshot, besides the content type.
    #[serde(default)]
    pub snapshot_headers: Vec<String>,
}

fn yes() -> bool {
    true
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

/// A suite's cases, by name, in run order.
pub fn load(dir: &Path) -> Result<Vec<(String, CaseFile)>> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    let mut cases = Vec::new();
    let mut errors = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).map_err(|e| Error::io(&file, e))?;
        match toml::from_str::<CaseFile>(&text) {
            Ok(case) if case.steps.is_empty() => errors.push(Diagnostic::new(
                &file,
                &text,
                0..0,
                "a case without steps: expected at least one `[[step]]`",
            )),
            Ok(mut case) => {
                let folder = file.parent().unwrap_or(dir);
                for (i, step) in case.steps.iter_mut().enumerate() {
                    let bodies = [
                        step.json.is_some(),
                        step.body.is_some(),
                        step.body_file.is_some(),
                    ];
                    if bodies.iter().filter(|b| **b).count() > 1 {
                        errors.push(Diagnostic::new(
                            &file,
                            &text,
                            0..0,
                            format!("step {} has more than one body: expected one of `json`, `body` or `body_file`", i + 1),
                        ));
                    }
                    if let Some(rel) = &step.body_file {
                        let path = folder.join(rel);
                        step.file_body =
                            Some(std::fs::read(&path).map_err(|e| Error::io(&path, e))?);
                    }
                }
                let name = file
                    .file_stem()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned();
                cases.push((name, case));
            }
            Err(e) => errors.push(Diagnostic::new(
                &file,
                &text,
                e.span().unwrap_or(0..0),
                e.message().trim().trim_end_matches('.'),
            )),
        }
    }
    if errors.is_empty() {
        Ok(cases)
    } else {
        Err(Error::Config(errors))
    }
}

/// A response as the harness saw it.
#[derive(Debug, Clone)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Headers, names lowercased.
    pub headers: BTreeMap<String, String>,
    /// Body.
    pub body: Vec<u8>,
}

fn substitute(text: &str, captures: &BTreeMap<String, String>) -> String {
    let mut out = text.to_owned();
    for (k, v) in captures {
        out = out.replace(&format!("${{{k}}}"), v);
    }
    out
}

fn send(
    base_url: &str,
    method: &str,
    path: &str,
    headers: &BTreeMap<String, String>,
    body: Option<Vec<u8>>,
) -> std::result::Result<Response, String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into();
    let uri = format!("{base_url}{path}");
    let mut request = ureq::http::Request::builder().method(method).uri(&uri);
    for (k, v) in headers {
        request = request.header(k, v);
    }
    let request = request
        .body(body.unwrap_or_default())
        .map_err(|e| format!("invalid request {method} {uri}: {e}"))?;
    let mut response = agent
        .run(request)
        .map_err(|e| format!("{method} {uri}: {e}"))?;
    let headers = response
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_lowercase(),
                v.to_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    let status = response.status().as_u16();
    let body = response
        .body_mut()
        .with_config()
        .limit(64 * 1024 * 1024)
        .read_to_vec()
        .map_err(|e| format!("{method} {uri}: reading the body: {e}"))?;
    Ok(Response {
        status,
        headers,
        body,
    })
}

/// The value at a path like `.items[0].id` of `value` (the redaction path grammar; `[]`
/// names no single value, so it finds nothing).
pub fn at_path<'v>(value: &'v Value, path: &str) -> Option<&'v Value> {
    normalize::segments(path)?
        .iter()
        .try_fold(value, |v, seg| match seg {
            normalize::Seg::Key(k) => v.get(*k),
            normalize::Seg::Index(i) => v.get(*i),
            normalize::Seg::Every => None,
        })
}

/// Whether `actual` contains `expected`: objects by subset of keys, the rest by equality.
pub fn contains(actual: &Value, expected: &Value) -> bool {
    match (actual, expected) {
        (Value::Object(a), Value::Object(e)) => e
            .iter()
            .all(|(k, ev)| a.get(k).is_some_and(|av| contains(av, ev))),
        (Value::Array(a), Value::Array(e)) => {
            a.len() == e.len() && a.iter().zip(e).all(|(av, ev)| contains(av, ev))
        }
        (a, e) => a == e,
    }
}

/// The observed behaviour of one response, normalized: status, content type (and the
/// `extra` headers, by the names the case file gives), body.
pub fn observed(response: &Response, rules: &Normalize, extra: &[String]) -> normalize::Normalized {
    let mut headers: Vec<(&str, &str)> = vec![(
        "content-type",
        response
            .headers
            .get("content-type")
            .map_or("", String::as_str),
    )];
    for name in extra {
        if !name.eq_ignore_ascii_case("content-type") {
            let value = response
                .headers
                .get(&name.to_lowercase())
                .map_or("(absent)", String::as_str);
            headers.push((name, value));
        }
    }
    normalize::response(rules, response.status, &headers, &response.body)
}

/// Runs one case against `base_url`.
pub fn run_case(base_url: &str, name: &str, case: &CaseFile, rules: &Normalize) -> CaseResult {
    let start = Instant::now();
    let mut captures = BTreeMap::new();
    let mut observed_steps = Vec::new();
    for (i, step) in case.steps.iter().enumerate() {
        let step_name = step.name.clone().unwrap_or_else(|| (i + 1).to_string());
        let path = substitute(&step.path, &captures);
        let mut headers = step.headers.clone();
        let body = match (&step.json, &step.body) {
            (Some(json), _) => {
                headers
                    .entry("content-type".into())
                    .or_insert_with(|| "application/json".into());
                let text = serde_json::to_string(json).expect("toml values serialize as JSON");
                Some(substitute(&text, &captures).into_bytes())
            }
            (None, Some(body)) => Some(substitute(body, &captures).into_bytes()),
            (None, None) => step.file_body.clone(),
        };
        let request_line = format!("{} {path}", step.method);
        let request_text = format!(
            "{request_line}{}",
            body.as_ref()
                .map(|b| format!("\n{}", String::from_utf8_lossy(b)))
                .unwrap_or_default()
        );
        let fail = |why: String, response: Option<&Response>| CaseResult {
            name: name.to_owned(),
            passed: false,
            failure: Some(format!(
                "step `{step_name}`: {why}\n--- request\n{request_text}\n--- response\n{}",
                response.map_or("(none)".to_owned(), |r| observed(
                    r,
                    &Normalize::default(),
                    &[]
                )
                .text)
            )),
            observed: observed_steps.clone(),
            duration: start.elapsed(),
        };
        let response = match send(base_url, &step.method, &path, &headers, body) {
            Ok(r) => r,
            Err(e) => return fail(e, None),
        };
        if let Some(status) = step.expect.status
            && response.status != status
        {
            return fail(
                format!("expected status {status}, got {}", response.status),
                Some(&response),
            );
        }
        for (k, v) in &step.expect.headers {
            let got = response.headers.get(&k.to_lowercase());
            if got != Some(v) {
                return fail(
                    format!("expected header {k}: {v}, got {got:?}"),
                    Some(&response),
                );
            }
        }
        if let Some(expected) = &step.expect.body
            && response.body != expected.as_bytes()
        {
            return fail(format!("expected the body {expected:?}"), Some(&response));
        }
        let json = serde_json::from_slice::<Value>(&response.body).ok();
        if let Some(expected) = &step.expect.json {
            let expected = serde_json::to_value(expected).expect("toml values serialize as JSON");
            match &json {
                Some(actual) if contains(actual, &expected) => {}
                Some(_) => {
                    return fail(
                        format!("expected the JSON to contain {expected}"),
                        Some(&response),
                    );
                }
                None => {
                    return fail(
                        format!("expected JSON containing {expected}, got a body that is not JSON"),
                        Some(&response),
                    );
                }
            }
        }
        for (var, path) in &step.capture {
            match json.as_ref().and_then(|j| at_path(j, path)) {
                Some(Value::String(s)) => captures.insert(var.clone(), s.clone()),
                Some(other) => captures.insert(var.clone(), other.to_string()),
                None => {
                    return fail(
                        format!("nothing at `{path}` to capture as `{var}`"),
                        Some(&response),
                    );
                }
            };
        }
        if step.snapshot {
            let n = observed(&response, rules, &step.snapshot_headers);
            observed_steps.push(Observed {
                step: step_name,
                expression: request_line,
                text: n.text,
                json: n.json,
            });
        }
    }
    CaseResult {
        name: name.to_owned(),
        passed: true,
        failure: None,
        observed: observed_steps,
        duration: start.elapsed(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_reach_into_objects_and_arrays() {
        let v = json!({ "items": [{ "id": "a" }, { "id": "b" }], "n": 1 });
        assert_eq!(at_path(&v, ".items[1].id"), Some(&json!("b")));
        assert_eq!(at_path(&v, ".n"), Some(&json!(1)));
        assert_eq!(at_path(&v, ".missing"), None);
        assert_eq!(at_path(&v, ".items[5]"), None);
        assert_eq!(at_path(&v, "items"), None, "a path starts with `.` or `[`");
        assert_eq!(at_path(&v, ".items[1"), None);
        assert_eq!(at_path(&v, ".items[]"), None);
    }

    #[test]
    fn containment_is_a_subset_for_objects_and_equality_otherwise() {
        let actual = json!({ "error": { "code": "conflict", "message": "m" }, "list": [1, 2] });
        assert!(contains(
            &actual,
            &json!({ "error": { "code": "conflict" } })
        ));
        assert!(!contains(
            &actual,
            &json!({ "error": { "code": "invalid" } })
        ));
        assert!(contains(&actual, &json!({ "list": [1, 2] })));
        assert!(!contains(&actual, &json!({ "list": [1] })));
    }

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
        assert_eq!(
            cases[0].1.steps[0].file_body.as_deref(),
            Some(&[1u8, 2, 3][..])
        );
        std::fs::write(
            dir.path().join("two.toml"),
            "[[step]]\nmethod = \"PUT\"\npath = \"/x\"\nbody = \"a\"\nbody_file = \"blob.bin\"\n",
        )
        .unwrap();
        let err = load(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("two.toml:1:1: step 1 has more than one body"),
            "{err}"
        );
        std::fs::remove_file(dir.path().join("two.toml")).unwrap();
        std::fs::write(
            dir.path().join("gone.toml"),
            "[[step]]\nmethod = \"PUT\"\npath = \"/x\"\nbody_file = \"missing.bin\"\n",
        )
        .unwrap();
        assert!(
            load(dir.path())
                .unwrap_err()
                .to_string()
                .contains("missing.bin")
        );
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
