//! Editing `matrix.toml` as its authors wrote it: toml_edit keeps every comment, blank line
//! and layout that the edit does not touch. An edited text is parsed and validated like any
//! matrix before anyone writes it, so an edit can never leave a broken file.

use std::path::Path;

use toml_edit::{Array, ArrayOfTables, DocumentMut, Item, Table, value};

use crate::errors::{Error, Result};

/// A divergence to accept: a case that behaves differently on some cells, on purpose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDivergence {
    /// The suite (empty for a class of explore findings).
    pub suite: String,
    /// The case, or a glob of cases (empty for a class of explore findings).
    pub case: String,
    /// The class of explore findings it accepts, instead of a suite and case.
    pub explore: Option<String>,
    /// The cells that differ from the primary cell.
    pub cells: Vec<String>,
    /// Why they differ, in the team's words.
    pub reason: String,
    /// `YYYY-MM-DD` after which it no longer holds.
    pub expires: Option<String>,
}

impl NewDivergence {
    /// Whether `entry` of a matrix is this one's: the same class, or the same suite and
    /// case (or glob).
    pub fn names(&self, entry: &super::Divergence) -> bool {
        match &self.explore {
            Some(class) => entry.explore.is_some_and(|c| c.as_str() == class),
            None => entry.explore.is_none() && entry.suite == self.suite && entry.case == self.case,
        }
    }

    /// What it accepts, as the entry will name it: `files/upload`, `files/*`, `explore class
    /// case-sensitivity`.
    pub fn pattern(&self) -> String {
        match &self.explore {
            Some(class) => format!("explore class {class}"),
            None => format!("{}/{}", self.suite, self.case),
        }
    }
}

/// `text` (the matrix file at `path`) with `d` accepted: an entry of the same suite, case
/// and reason gets the new cells (and the new expiry); otherwise a new `[[divergence]]`
/// follows the last one. The result is a valid matrix, or an error that says why not.
pub fn accept_divergence(
    path: &Path,
    text: &str,
    d: &NewDivergence,
    kinds: super::Kinds,
) -> Result<String> {
    let mut doc = document(path, text)?;
    // A date, as TOML writes dates (no quotes), or an error that says what was expected.
    let expires = match &d.expires {
        None => None,
        Some(text) => Some(match text.parse::<toml_edit::Datetime>() {
            Ok(date) if date.date.is_some() && date.time.is_none() => date,
            _ => {
                return Err(Error::Selection(format!(
                    "`{text}` is no date: expected YYYY-MM-DD, such as 2027-01-31"
                )));
            }
        }),
    };
    let entries = tables(&mut doc, path, "divergence")?;
    let field = |t: &Table, key: &str| t.get(key).and_then(Item::as_str).map(str::to_owned);
    let same = entries.iter_mut().find(|t| {
        field(t, "reason").as_deref() == Some(&d.reason)
            && match &d.explore {
                Some(class) => field(t, "explore").as_deref() == Some(class),
                None => {
                    field(t, "suite").as_deref() == Some(&d.suite)
                        && field(t, "case").as_deref() == Some(&d.case)
                }
            }
    });
    match same {
        Some(entry) => {
            let cells = entry
                .entry("cells")
                .or_insert_with(|| value(Array::new()))
                .as_array_mut()
                .ok_or_else(|| {
                    Error::io(
                        path,
                        std::io::Error::other(format!(
                            "the divergence of {} / {} has `cells` that is not a list",
                            d.suite, d.case
                        )),
                    )
                })?;
            for cell in &d.cells {
                if !cells.iter().any(|c| c.as_str() == Some(cell)) {
                    cells.push(cell.as_str());
                }
            }
            if let Some(expires) = expires {
                entry["expires"] = value(expires);
            }
        }
        None => {
            let mut entry = Table::new();
            match &d.explore {
                Some(class) => entry["explore"] = value(class.as_str()),
                None => {
                    entry["suite"] = value(d.suite.as_str());
                    entry["case"] = value(d.case.as_str());
                }
            }
            entry["cells"] = value(d.cells.iter().map(String::as_str).collect::<Array>());
            entry["reason"] = value(d.reason.as_str());
            if let Some(expires) = expires {
                entry["expires"] = value(expires);
            }
            entry.decor_mut().set_prefix("\n");
            entries.push(entry);
        }
    }
    let edited = doc.to_string();
    // What is written must read back as a matrix, and as one that accepts the divergence.
    let matrix = super::parse(path, &edited, kinds)?;
    let holds = d.cells.iter().all(|cell| {
        matrix
            .divergences
            .iter()
            .any(|m| m.cells.contains(cell) && d.names(m))
    });
    if !holds {
        return Err(Error::io(
            path,
            std::io::Error::other("the edited matrix does not accept the divergence"),
        ));
    }
    Ok(edited)
}

/// `text` (the matrix file at `path`) with a per-target `http` suite `name` reading the
/// folder `folder` (relative to the matrix file), unless a suite of that name is there
/// already. The result is a valid matrix, or an error that says why not.
pub fn add_http_suite(
    path: &Path,
    text: &str,
    name: &str,
    folder: &str,
    kinds: super::Kinds,
) -> Result<String> {
    let mut doc = document(path, text)?;
    let suites = tables(&mut doc, path, "suite")?;
    if suites
        .iter()
        .any(|t| t.get("name").and_then(Item::as_str) == Some(name))
    {
        return Ok(text.to_owned());
    }
    let mut table = Table::new();
    table.insert("name", value(name));
    table.insert("kind", value("http"));
    table.insert("path", value(folder));
    table.insert("scope", value("per-target"));
    suites.push(table);
    let edited = doc.to_string();
    crate::matrix::parse(path, &edited, kinds)?;
    Ok(edited)
}

/// The matrix file at `path`, as toml_edit reads it (every comment and layout kept).
fn document(path: &Path, text: &str) -> Result<DocumentMut> {
    text.parse()
        .map_err(|e: toml_edit::TomlError| Error::io(path, std::io::Error::other(e.to_string())))
}

/// The array of tables `[[key]]` of `doc`, made when there is none.
fn tables<'a>(doc: &'a mut DocumentMut, path: &Path, key: &str) -> Result<&'a mut ArrayOfTables> {
    if doc.get(key).is_none() {
        doc.insert(key, Item::ArrayOfTables(ArrayOfTables::new()));
    }
    doc[key].as_array_of_tables_mut().ok_or_else(|| {
        Error::io(
            path,
            std::io::Error::other(format!("`{key}` is not an array of tables ([[{key}]])")),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MATRIX: &str = r#"# The team's matrix.
primary = "linux"

[server]
package = "srv"

[server.ready]
tcp = true # the port accepts

[[target]]
name = "linux"
triple = "x86_64-unknown-linux-gnu"
runtime = "host"

[[target]]
name = "windows"
triple = "x86_64-pc-windows-gnu"
runtime = "wine"

[[target]]
name = "mac"
triple = "x86_64-unknown-linux-gnu"
runtime = "host"

[[suite]]
name = "api"
kind = "command"
command = ["true"]
scope = "per-target"

# Differences we mean.
[[divergence]]
suite = "api"
case = "paths"
cells = ["windows"]
reason = "backslashes"

# The end.
[limits]
request_timeout = "5s"
"#;

    fn new(case: &str, cells: &[&str], reason: &str) -> NewDivergence {
        NewDivergence {
            explore: None,
            suite: "api".into(),
            case: case.into(),
            cells: cells.iter().map(|c| (*c).to_owned()).collect(),
            reason: reason.into(),
            expires: Some("2027-01-31".into()),
        }
    }

    #[test]
    fn a_new_divergence_follows_the_last_and_every_comment_stays() {
        let edited = accept_divergence(
            Path::new("matrix.toml"),
            MATRIX,
            &new("case", &["windows"], "file names ignore case"),
            crate::runtime::kinds(),
        )
        .unwrap();
        for line in MATRIX.lines() {
            assert!(edited.contains(line), "lost `{line}`:\n{edited}");
        }
        let added = "[[divergence]]\nsuite = \"api\"\ncase = \"case\"\ncells = [\"windows\"]\nreason = \"file names ignore case\"\nexpires = 2027-01-31\n";
        let at = edited.find(added).expect(&edited);
        assert!(at > edited.find("reason = \"backslashes\"").unwrap());
        assert!(at < edited.find("[limits]").unwrap(), "{edited}");
    }

    #[test]
    fn the_same_reason_gets_the_new_cell() {
        let edited = accept_divergence(
            Path::new("matrix.toml"),
            MATRIX,
            &new("paths", &["mac"], "backslashes"),
            crate::runtime::kinds(),
        )
        .unwrap();
        assert!(
            edited.contains("cells = [\"windows\", \"mac\"]"),
            "{edited}"
        );
        assert_eq!(edited.matches("[[divergence]]").count(), 1);
    }

    #[test]
    fn an_expiry_that_is_no_date_is_refused() {
        let mut d = new("case", &["windows"], "x");
        d.expires = Some("next year".into());
        let err = accept_divergence(
            Path::new("matrix.toml"),
            MATRIX,
            &d,
            crate::runtime::kinds(),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("expected YYYY-MM-DD"), "{err}");
    }

    #[test]
    fn an_edit_that_would_break_the_matrix_is_refused() {
        let err = accept_divergence(
            Path::new("matrix.toml"),
            MATRIX,
            &new("case", &["nowhere"], "no such cell"),
            crate::runtime::kinds(),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("nowhere"), "{err}");
    }
}
