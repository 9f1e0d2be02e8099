//! Saving a finding of `--explore` as a committed `http` case: the probe's request becomes
//! the one step of a case file in a suite folder of the matrix (`explored/` by default,
//! added to `matrix.toml` as a per-target suite when it is not one yet), so that the next
//! ordinary run compares it across cells like any written case.

use std::path::{Path, PathBuf};

use crate::errors::{Error, Result};
use crate::matrix::edit::add_http_suite;
use crate::verdict::explore::Explored;

/// What was saved, and where.
#[derive(Debug, Clone)]
pub struct Saved {
    /// The case file written.
    pub case: PathBuf,
    /// The suite it belongs to.
    pub suite: String,
    /// Whether the matrix file got the suite.
    pub suite_added: bool,
}

/// Saves the finding `probe` of `explored` (the last exploration's) as a case of the suite
/// `suite` in the folder of that name beside the matrix file `file`.
pub fn save(file: &Path, explored: &Explored, probe: &str, suite: &str) -> Result<Saved> {
    let found = explored
        .classes
        .iter()
        .flat_map(|c| c.findings.iter().map(move |f| (c.class, f)))
        .find(|(_, f)| f.probe == probe);
    let Some((class, finding)) = found else {
        let names: Vec<&str> = explored
            .classes
            .iter()
            .flat_map(|c| c.findings.iter().map(|f| f.probe.as_str()))
            .collect();
        return Err(Error::Selection(format!(
            "`{probe}` is no finding of the last exploration: expected one of {}",
            crate::matrix::quoted_list(names)
        )));
    };
    // Both become file names: whatever explore.json says, nothing is written outside the
    // suite folder beside the matrix file.
    for (name, what) in [(suite, "a suite folder"), (probe, "a case file")] {
        if !crate::suite::http::case::is_safe_name(name) {
            return Err(Error::Selection(format!(
                "`{name}` cannot name {what}: expected letters, digits, `_` and `-`"
            )));
        }
    }
    // explore.json from before findings named their method and path: from the request line.
    let (method, path) = if finding.method.is_empty() {
        finding
            .request
            .split_once(' ')
            .unwrap_or(("GET", finding.request.as_str()))
    } else {
        (finding.method.as_str(), finding.path.as_str())
    };
    let root = file.parent().unwrap_or(Path::new("."));
    let case = root.join(suite).join(format!("{probe}.toml"));
    let write = crate::suite::explore::WRITE_BODY;
    let body = match (&finding.upload, method) {
        (Some(upload), _) => format!(
            "upload = {{ field = {}, name = {}, body = {} }}\n",
            toml_edit::value(&upload.field),
            toml_edit::value(&upload.file_name),
            toml_edit::value(write)
        ),
        (None, "GET") => String::new(),
        (None, _) => format!("body = {}\n", toml_edit::value(write)),
    };
    let text = format!(
        "description = {}\n\n[[step]]\nmethod = {}\npath = {}\n{body}",
        toml_edit::value(format!(
            "found by --explore ({}, by {}): {} answered otherwise than {}",
            class.as_str(),
            finding.mutation.as_str(),
            finding.cells.join(", "),
            explored.primary
        )),
        toml_edit::value(method),
        toml_edit::value(path),
    );
    crate::persist::create_user_file(&case, &text)?;
    let matrix = std::fs::read_to_string(file).map_err(|e| Error::io(file, e))?;
    let edited = add_http_suite(file, &matrix, suite, suite, crate::runtime::kinds())?;
    let suite_added = edited != matrix;
    if suite_added {
        crate::persist::replace_user_file(file, &edited)?;
    }
    Ok(Saved {
        case,
        suite: suite.to_owned(),
        suite_added,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::suite::explore::Class;
    use crate::verdict::explore::{ClassFindings, Finding};

    #[test]
    fn a_probe_name_that_is_no_file_name_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("matrix.toml");
        std::fs::write(&file, "# untouched\n").unwrap();
        let explored = Explored {
            seed: 0,
            budget: 1,
            probes: 1,
            answered: BTreeMap::new(),
            bases: 1,
            primary: "debian".into(),
            cells: vec!["debian".into(), "windows".into()],
            classes: vec![ClassFindings {
                class: Class::Separators,
                findings: vec![Finding {
                    probe: "../../escape".into(),
                    request: "GET /x".into(),
                    mutation: Class::Separators,
                    method: "GET".into(),
                    path: "/x".into(),
                    upload: None,
                    base: "/x".into(),
                    cells: vec!["windows".into()],
                    answers: BTreeMap::new(),
                    covered_by: None,
                    known: None,
                }],
            }],
            errors: BTreeMap::new(),
        };
        let err = save(&file, &explored, "../../escape", "explored").unwrap_err();
        assert!(err.to_string().contains("cannot name a case file"), "{err}");
        assert!(!dir.path().join("explored").exists());
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "# untouched\n");
    }
}
