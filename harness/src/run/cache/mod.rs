//! The result cache: a job whose inputs are byte for byte those of a job that passed in an
//! earlier run is not run again; that run's result is reused, marked with where it came from.
//!
//! A job's key is the SHA-256 of everything that can change its result: the harness itself
//! (its executable's bytes), the server artifact's bytes (a large file's digest is remembered
//! while its size and modification time stay the same), what runs it (the host system, the
//! Wine version and the Windows version it reports, the engine, its OCI runtime and the
//! image's id), the suite's definition and declared inputs, the seed's tree, and every matrix
//! setting that reaches the job (arguments, environment, readiness, normalization, limits,
//! the `--case` patterns). What the key cannot see makes a job uncacheable: a command suite
//! without `inputs`, a cell whose runtime's identity is unknown, a job with no artifact.
//! Only passed results are kept (no failure, error, leak or interruption is ever reused);
//! the [`Store`] is bounded (least recently used out first), and an entry that cannot be
//! read is a miss, never an error. [`digest`] hashes files and trees.

mod digest;
mod store;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::job::Jobs;
use crate::plan::{Job, JobId};
use crate::provision::Provenance;
use digest::{Digests, Hasher, tree_digest};
pub(super) use store::Store;

/// The identity of what runs a cell's servers, from the run's provenance: the Wine version
/// and reported Windows version, the engine with its OCI runtime and image id, or the host
/// system (its name left out, so that another machine of the same system shares results).
fn runtime_identity(provenance: &Provenance, cell: &str) -> Option<String> {
    let execution = provenance.cells.get(cell).filter(|e| !e.unpinned)?;
    let by = if execution.kind.is_native() {
        without_node_name(&execution.by)
    } else {
        execution.by.clone()
    };
    // A process on the host (natively or under Wine) inherits the harness's environment:
    // its locale and time zone change what servers write. A container gets only what the
    // matrix gives it.
    let inherited = if execution.kind.inherits_environment() {
        locale(std::env::vars())
    } else {
        Vec::new()
    };
    Some(format!(
        "{} {by} {:?} {:?} {inherited:?}",
        execution.kind.as_str(),
        execution.windows,
        execution.reported
    ))
}

/// The locale and time zone variables among `vars`, in order.
fn locale(vars: impl Iterator<Item = (String, String)>) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = vars
        .filter(|(k, _)| k == "LANG" || k == "LANGUAGE" || k == "TZ" || k.starts_with("LC_"))
        .collect();
    out.sort();
    out
}

/// `uname -srmn`'s line without the machine's name (its second word); other lines as they
/// are.
fn without_node_name(host: &str) -> String {
    let words: Vec<&str> = host.split_whitespace().collect();
    if cfg!(unix) && words.len() >= 4 {
        words
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != 1)
            .map(|(_, w)| *w)
            .collect::<Vec<_>>()
            .join(" ")
    } else {
        host.to_owned()
    }
}

/// The key of each job of `planned` that can be cached; the others (see the module) are
/// left out.
pub(super) fn keys(
    jobs: &Jobs,
    planned: &[Job],
    provenance: &Provenance,
) -> BTreeMap<JobId, String> {
    let matrix = jobs.matrix;
    let root = &matrix.root;
    let relative = |p: &Path| {
        p.strip_prefix(root)
            .unwrap_or(p)
            .to_string_lossy()
            .into_owned()
    };
    let cache = &jobs.options.cache_dir;
    let mut digests = Digests::read(cache);
    let harness = std::env::current_exe()
        .ok()
        .and_then(|exe| digests.of(&exe))
        .unwrap_or_else(|| env!("CARGO_PKG_VERSION").to_owned());
    let seed = match &matrix.server.seed {
        Some((seed, _)) => match tree_digest(seed, matrix.server.seed_mtime.is_none()) {
            Some(digest) => digest,
            None => return BTreeMap::new(),
        },
        None => String::new(),
    };
    let mut shared = Hasher::default();
    shared
        .part(&harness)
        .part(&seed)
        .part(format!("{:?}", matrix.server.seed_mtime))
        .part(format!("{:?}", matrix.server.args))
        .part(format!("{:?}", matrix.server.ready))
        .part(format!("{:?}", matrix.normalize))
        .part(format!("{:?}", matrix.limits))
        .part(relative(&matrix.snapshot_dir))
        .part(format!("{:?}", jobs.plan_cases));
    let shared = shared.finish();
    let mut artifacts: BTreeMap<PathBuf, Option<String>> = BTreeMap::new();
    let mut inputs: BTreeMap<String, Option<String>> = BTreeMap::new();
    let mut out = BTreeMap::new();
    for job in planned {
        let Some(cell) = matrix.cell(&job.cell) else {
            continue;
        };
        let Some(target) = matrix.target(&cell.target) else {
            continue;
        };
        let Some(Ok(artifact)) = jobs.artifacts.get(&cell.name) else {
            continue;
        };
        let artifact = artifacts
            .entry(artifact.clone())
            .or_insert_with(|| digests.of(artifact))
            .clone();
        let Some(artifact) = artifact else { continue };
        let Some(identity) = runtime_identity(provenance, &cell.name) else {
            continue;
        };
        let (Some(suite), Some(loaded)) = (matrix.suite(&job.suite), jobs.suites.get(&job.suite))
        else {
            continue;
        };
        let suite_inputs = inputs
            .entry(job.suite.clone())
            .or_insert_with(|| {
                let mut hasher = Hasher::default();
                hasher.part(loaded.definition());
                for input in loaded.inputs()? {
                    hasher
                        .part(relative(&input))
                        .part(tree_digest(&input, false)?);
                }
                Some(hasher.finish())
            })
            .clone();
        let Some(suite_inputs) = suite_inputs else {
            continue;
        };
        let working_dir = match &suite.spec {
            crate::matrix::SuiteSpec::Command(spec) => relative(&spec.dir),
            crate::matrix::SuiteSpec::Http(_) => String::new(),
        };
        let mut key = Hasher::default();
        key.part(&shared)
            .part(&artifact)
            .part(&identity)
            .part(&target.triple)
            .part(format!("{:?}", target.runtime))
            .part(format!("{:?}", crate::runtime::server_env(matrix, cell)))
            .part(format!("{cell:?}"))
            .part(&suite.name)
            .part(format!(
                "{:?} {:?} {}",
                suite.scope, suite.evidence, job.audit
            ))
            .part(working_dir)
            .part(&suite_inputs);
        out.insert(job.id(), key.finish());
    }
    digests.write(cache);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provision::provenance::ExecutionKind;

    #[test]
    fn a_host_process_s_identity_holds_its_locale_and_a_container_s_does_not() {
        let vars = [
            ("PATH", "/bin"),
            ("LC_ALL", "C"),
            ("TZ", "UTC"),
            ("HOME", "/root"),
            ("LANG", "de"),
        ];
        let vars = vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned()));
        let kept: Vec<String> = locale(vars).into_iter().map(|(k, _)| k).collect();
        assert_eq!(kept, ["LANG", "LC_ALL", "TZ"]);
        let mut provenance = Provenance::default();
        for (cell, kind, unpinned) in [
            ("host", ExecutionKind::Native, false),
            ("debian", ExecutionKind::Container, false),
            ("cluster", ExecutionKind::Pod, true),
        ] {
            provenance.cells.insert(
                cell.into(),
                crate::provision::provenance::Execution {
                    kind,
                    by: "x".into(),
                    windows: None,
                    reported: None,
                    unpinned,
                },
            );
        }
        let expected = format!("{:?}", locale(std::env::vars()));
        assert!(
            runtime_identity(&provenance, "host")
                .unwrap()
                .ends_with(&expected)
        );
        assert!(
            runtime_identity(&provenance, "debian")
                .unwrap()
                .ends_with(" []")
        );
        assert!(runtime_identity(&provenance, "nowhere").is_none());
        assert!(
            runtime_identity(&provenance, "cluster").is_none(),
            "an image a cluster pulls by name is not pinned: never reused"
        );
    }

    #[test]
    fn the_host_s_name_is_not_part_of_its_identity() {
        if cfg!(unix) {
            assert_eq!(
                without_node_name("Linux runner-17 6.1.0-27-amd64 x86_64"),
                "Linux 6.1.0-27-amd64 x86_64"
            );
        }
        assert_eq!(without_node_name("Windows"), "Windows");
    }
}
