//! The case files of an `http` suite: one TOML file per case, in file-name order, read and
//! checked when the suite is loaded, with every problem located to its file, line and column.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::diagnostic::Diagnostic;
use crate::errors::{Error, Result};

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

/// The cases in `dir`, by name, in run order.
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
