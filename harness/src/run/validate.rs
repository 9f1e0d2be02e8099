//! Everything checked before anything is built or launched, so that a broken input costs no
//! build: every suite's files (through `suite::load_all`), the seed folder, and the divergence
//! ledger's references to cases. All problems at once, each located in its file.

use crate::errors::{Error, Result};
use crate::matrix::Matrix;
use crate::suite::{self, Loaded};

/// The suites, loaded and checked, and the hash of their definitions.
pub struct Validated {
    /// Every suite of the matrix.
    pub suites: Loaded,
    /// SHA-256 of every suite's name and definition, in matrix order.
    pub suites_sha256: String,
}

/// Loads and checks every suite of `matrix` and what the matrix refers to.
pub fn validate(matrix: &Matrix) -> Result<Validated> {
    let mut diagnostics = Vec::new();
    let mut collect = |e: Error| match e {
        Error::Config(d) => {
            diagnostics.extend(d);
            Ok(())
        }
        other => Err(other),
    };
    if let Some((seed, span)) = &matrix.server.seed {
        let problem = if !seed.is_dir() {
            Some(format!(
                "seed folder {} does not exist: expected a folder to copy into each fresh data dir",
                seed.display()
            ))
        } else {
            not_copyable(seed).map(|(path, kind)| {
                format!(
                    "seed folder {} holds {}, {kind}, which a copy would block on or could not make: expected only files, folders and symlinks",
                    seed.display(),
                    path.display()
                )
            })
        };
        if let Some(problem) = problem {
            collect(suite::in_matrix(matrix, span.clone(), problem))?;
        }
    }
    let (loaded, problems) = suite::load_all(matrix)?;
    collect(Error::Config(problems))?;
    for d in matrix.divergences.iter().filter(|d| d.explore.is_none()) {
        let Some(cases) = loaded.get(&d.suite).and_then(|s| s.cases()) else {
            continue;
        };
        let evidence = [
            crate::suite::evidence::LOG_CASE,
            crate::suite::evidence::DATA_DIR,
        ];
        let named = cases
            .iter()
            .map(String::as_str)
            .chain(evidence)
            .any(|case| d.covers(&d.suite, case));
        if !named {
            let what = if crate::matrix::is_glob(&d.case) {
                format!("`{}` names no case of suite `{}`", d.case, d.suite)
            } else {
                format!(
                    "divergence names case `{}`, which suite `{}` does not have",
                    d.case, d.suite
                )
            };
            collect(suite::in_matrix(
                matrix,
                d.case_span.clone(),
                format!(
                    "{what}: expected one of {}",
                    crate::matrix::quoted_list(cases.iter().map(String::as_str))
                ),
            ))?;
        }
    }
    if diagnostics.is_empty() {
        let mut all = Vec::new();
        for (name, suite) in &loaded {
            all.extend(name.as_bytes());
            all.push(0);
            all.extend(suite.definition());
            all.push(0);
        }
        Ok(Validated {
            suites_sha256: crate::matrix::sha256(&all),
            suites: loaded,
        })
    } else {
        Err(Error::Config(diagnostics))
    }
}

/// The first entry under `dir` that is not a file, a folder or a symlink (a FIFO, a socket,
/// a device), with what it is; symlinks are not followed.
pub(crate) fn not_copyable(dir: &std::path::Path) -> Option<(std::path::PathBuf, &'static str)> {
    let entries = std::fs::read_dir(dir).ok()?;
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(kind) = std::fs::symlink_metadata(&path).map(|m| m.file_type()) else {
            continue;
        };
        if kind.is_dir() {
            if let Some(found) = not_copyable(&path) {
                return Some(found);
            }
        } else if !kind.is_file() && !kind.is_symlink() {
            return Some((path, special_kind(&kind)));
        }
    }
    None
}

#[cfg(unix)]
fn special_kind(kind: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_socket() {
        "a socket"
    } else if kind.is_block_device() || kind.is_char_device() {
        "a device"
    } else {
        "neither a file, a folder nor a symlink"
    }
}

#[cfg(not(unix))]
fn special_kind(_: &std::fs::FileType) -> &'static str {
    "neither a file, a folder nor a symlink"
}

/// Checks that the run's output folder `out` and the seed do not hold each other: a seed that
/// holds the output folder would be copied into itself, job after job.
pub fn check_out(matrix: &Matrix, out: &std::path::Path) -> Result<()> {
    let Some((seed, span)) = &matrix.server.seed else {
        return Ok(());
    };
    let absolute = |p: &std::path::Path| {
        std::fs::canonicalize(p)
            .or_else(|_| std::path::absolute(p))
            .unwrap_or_else(|_| p.to_owned())
    };
    let (seed, out) = (absolute(seed), absolute(out));
    if out.starts_with(&seed) || seed.starts_with(&out) {
        return Err(suite::in_matrix(
            matrix,
            span.clone(),
            format!(
                "seed folder {} and the output folder {} hold one another: each fresh data dir would copy the runs into itself; expected --out outside the seed (and the seed outside --out)",
                seed.display(),
                out.display()
            ),
        ));
    }
    Ok(())
}

/// Checks that every `--case` pattern of `plan` selects a case of a planned suite (a command
/// suite's cases are known only once it runs, so it may hold any), and leaves out the jobs of
/// suites none of whose cases is selected.
pub fn check_cases(validated: &Validated, plan: &mut crate::plan::Plan) -> Result<()> {
    if plan.narrowed.cases.is_empty() {
        return Ok(());
    }
    let patterns = plan.narrowed.cases.clone();
    let runs_some = |suite: &str| match validated.suites.get(suite).and_then(|l| l.cases()) {
        None => true,
        Some(cases) => cases
            .iter()
            .any(|c| crate::plan::case_selected(&patterns, suite, c)),
    };
    plan.jobs.retain(|j| runs_some(&j.suite));
    plan.planned
        .retain(|id| crate::plan::JobId::parse(id).is_none_or(|id| runs_some(&id.suite)));
    plan.suites.retain(|s| runs_some(&s.name));
    for pattern in &plan.narrowed.cases {
        let one = [pattern.clone()];
        let mut known = Vec::new();
        let hit = plan.suites.iter().any(|s| {
            match validated.suites.get(&s.name).and_then(|l| l.cases()) {
                None => {
                    crate::plan::case_selected(&one, &s.name, "*")
                        || pattern.split_once('/').is_none()
                }
                Some(cases) => {
                    let found = cases
                        .iter()
                        .any(|c| crate::plan::case_selected(&one, &s.name, c));
                    known.extend(cases.into_iter().map(|c| format!("{}/{c}", s.name)));
                    found
                }
            }
        });
        if !hit {
            return Err(Error::Selection(format!(
                "--case {pattern} selects no case: expected SUITE/CASE or CASE (globs `*` and `?`), such as {}",
                known.first().map_or("packages/list", String::as_str)
            )));
        }
    }
    Ok(())
}
