//! The result cache: a job whose inputs are byte for byte those of a job that passed in an
//! earlier run is not run again; that run's result is reused, marked with where it came from.
//!
//! A job's key is the SHA-256 of everything that can change its result: the harness itself
//! (its executable's bytes), the server artifact's bytes (a large file's digest is
//! remembered while its size and modification time stay the same), what runs it (the host system, the
//! Wine version and the Windows version it reports, the engine, its OCI runtime and the
//! image's id), the suite's definition and declared inputs, the seed's tree, and every matrix
//! setting that reaches the job (arguments, environment, readiness, normalization, limits,
//! the `--case` patterns). What the key cannot see makes a job uncacheable: a command suite
//! without `inputs`, a cell whose runtime's identity is unknown, a job with no artifact.
//! Only passed results are kept (no failure, error, leak or interruption is ever reused);
//! the store is bounded (least recently used out first), and an entry that cannot be read is
//! a miss, never an error.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::job::Jobs;
use crate::outcome::{Cached, JobResult, Phases};
use crate::plan::{Job, JobId};
use crate::provision::Provenance;

/// The most the store keeps, in bytes.
const LIMIT: u64 = 64 * 1024 * 1024;

/// The results of passed jobs, by key, in the harness cache folder: a folder per key with
/// the result (`result.json`) and the job's files from its cell's log folder (`logs/`: the
/// server's log, the requests and responses, a command's output), so that a reused result
/// keeps its evidence.
pub(super) struct Store {
    dir: PathBuf,
    limit: u64,
}

/// One stored result.
#[derive(Serialize, Deserialize)]
struct Entry {
    /// The key it is stored under (a renamed entry is not a hit).
    key: String,
    /// When the run it came from started.
    run: String,
    /// That run's commit.
    commit: Option<String>,
    /// The job's result in that run.
    result: JobResult,
}

const RESULT: &str = "result.json";
const LOGS: &str = "logs";

impl Store {
    /// The store under the harness cache folder `cache`.
    pub fn new(cache: &Path) -> Store {
        Store::with_limit(cache, LIMIT)
    }

    fn with_limit(cache: &Path, limit: u64) -> Store {
        Store {
            dir: cache.join("results"),
            limit,
        }
    }

    fn entry(&self, key: &str) -> PathBuf {
        self.dir.join(key)
    }

    /// The result stored under `key`, marked cached, with its files put back into the cell's
    /// log folder `cell_logs` (in place of what an earlier run left there for the job);
    /// `None` when there is none, or when the entry cannot be read (it is removed).
    pub fn get(&self, key: &str, cell_logs: &Path) -> Option<JobResult> {
        let entry = self.entry(key);
        let file = entry.join(RESULT);
        let bytes = std::fs::read(&file).ok()?;
        match serde_json::from_slice::<Entry>(&bytes) {
            Ok(stored) if stored.key == key && reusable(&stored.result) => {
                // Used now: the last to go when the store is over its size.
                let _ = std::fs::File::options()
                    .append(true)
                    .open(&file)
                    .and_then(|f| f.set_modified(SystemTime::now()));
                let mut result = stored.result;
                remove_job_files(cell_logs, &result.suite);
                if copy_tree(&entry.join(LOGS), cell_logs).is_err() {
                    remove_job_files(cell_logs, &result.suite);
                    let _ = std::fs::remove_dir_all(&entry);
                    return None;
                }
                result.cached = Some(Cached {
                    run: stored.run,
                    commit: stored.commit,
                    key: key.to_owned(),
                    saved: result.duration,
                });
                result.duration = Duration::ZERO;
                result.phases = Phases::default();
                Some(result)
            }
            _ => {
                let _ = std::fs::remove_dir_all(&entry);
                None
            }
        }
    }

    /// Keeps `result` under `key` when it may be reused (it ran here and passed), with its
    /// files from the cell's log folder `cell_logs`, as a result of the run `run`.
    pub fn put(&self, key: &str, run: &Provenance, result: &JobResult, cell_logs: &Path) {
        if result.cached.is_some() || !reusable(result) {
            return;
        }
        let stored = Entry {
            key: key.to_owned(),
            run: run.started.clone(),
            commit: run.commit.clone(),
            result: result.clone(),
        };
        let text = serde_json::to_string(&stored).expect("results serialize");
        // Made beside and renamed: a reader never sees half an entry.
        let part = self.dir.join(format!("{key}.{}.part", std::process::id()));
        let _ = std::fs::remove_dir_all(&part);
        let made = std::fs::create_dir_all(part.join(LOGS))
            .and_then(|()| {
                for file in job_files(cell_logs, &result.suite) {
                    let rel = file.strip_prefix(cell_logs).unwrap_or(&file);
                    let to = part.join(LOGS).join(rel);
                    if let Some(dir) = to.parent() {
                        std::fs::create_dir_all(dir)?;
                    }
                    std::fs::copy(&file, &to)?;
                }
                std::fs::write(part.join(RESULT), text)
            })
            .and_then(|()| {
                let _ = std::fs::remove_dir_all(self.entry(key));
                std::fs::rename(&part, self.entry(key))
            });
        if made.is_err() {
            let _ = std::fs::remove_dir_all(&part);
        }
    }

    /// The results stored for the jobs of `planned` whose key is in `keys`, each with its
    /// files put back into its cell's folder under `logs`.
    pub fn reuse(
        &self,
        keys: &BTreeMap<JobId, String>,
        planned: &[Job],
        logs: &Path,
    ) -> BTreeMap<JobId, JobResult> {
        planned
            .iter()
            .filter_map(|job| {
                let key = keys.get(&job.id())?;
                Some((job.id(), self.get(key, &logs.join(&job.cell))?))
            })
            .collect()
    }

    /// Keeps every result of `ran` that has a key in `keys` and may be reused, as results of
    /// the run `run` whose log folder is `logs`; then keeps the store within its size.
    pub fn keep(
        &self,
        keys: &BTreeMap<JobId, String>,
        ran: &[JobResult],
        run: &Provenance,
        logs: &Path,
    ) {
        for result in ran {
            if let Some(key) = keys.get(&result.id()) {
                self.put(key, run, result, &logs.join(&result.cell));
            }
        }
        self.prune();
    }

    /// Removes the least recently used entries until the store is within its size.
    pub fn prune(&self) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return;
        };
        let mut all: Vec<(SystemTime, u64, PathBuf)> = entries
            .flatten()
            .map(|e| {
                let path = e.path();
                let used = std::fs::metadata(path.join(RESULT))
                    .and_then(|m| m.modified())
                    .unwrap_or(SystemTime::UNIX_EPOCH);
                (used, size(&path), path)
            })
            .collect();
        let mut total: u64 = all.iter().map(|(_, size, _)| size).sum();
        all.sort();
        for (_, size, path) in all {
            if total <= self.limit {
                break;
            }
            if std::fs::remove_dir_all(&path).is_ok() || std::fs::remove_file(&path).is_ok() {
                total -= size;
            }
        }
    }
}

/// The files a job of `suite` writes into its cell's log folder: `<suite>.*` (the server's
/// log, a command's output) and `exchanges/<suite>/`.
fn job_files(cell_logs: &Path, suite: &str) -> Vec<PathBuf> {
    let prefix = format!("{suite}.");
    let mut files: Vec<PathBuf> = std::fs::read_dir(cell_logs)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.path())
        .collect();
    let exchanges = cell_logs.join(crate::suite::EXCHANGES).join(suite);
    files.extend(
        std::fs::read_dir(&exchanges)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .map(|e| e.path()),
    );
    files
}

/// Removes what an earlier run left in the cell's log folder for a job of `suite`.
fn remove_job_files(cell_logs: &Path, suite: &str) {
    for file in job_files(cell_logs, suite) {
        let _ = std::fs::remove_file(file);
    }
}

/// Copies the files under `from` to the same places under `to`.
fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let dest = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            std::fs::create_dir_all(&dest)?;
            copy_tree(&entry.path(), &dest)?;
        } else {
            std::fs::copy(entry.path(), dest)?;
        }
    }
    Ok(())
}

/// The bytes of the files under `path` (or of the file).
fn size(path: &Path) -> u64 {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => std::fs::read_dir(path)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| size(&e.path()))
            .sum(),
        Ok(meta) => meta.len(),
        Err(_) => 0,
    }
}

/// Whether a result may be reused: it passed, with nothing leaked.
fn reusable(result: &JobResult) -> bool {
    result.passed() && result.leaked.is_empty() && !result.cases.is_empty()
}

/// A hash of parts, each length-prefixed so that no two sequences of parts read the same.
#[derive(Default)]
struct Hasher(Sha256);

impl Hasher {
    fn part(&mut self, bytes: impl AsRef<[u8]>) -> &mut Self {
        let bytes = bytes.as_ref();
        self.0.update((bytes.len() as u64).to_le_bytes());
        self.0.update(bytes);
        self
    }

    fn finish(self) -> String {
        format!("{:x}", self.0.finalize())
    }
}

/// The SHA-256 of a file's bytes.
fn file_digest(path: &Path) -> Option<String> {
    let mut file = std::fs::File::open(path).ok()?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher).ok()?;
    Some(format!("{:x}", hasher.finalize()))
}

/// The SHA-256 of a file or folder: every entry's path, kind, permissions and bytes (a
/// symlink's target, not followed), in order; with `times`, each one's modification time.
fn tree_digest(root: &Path, times: bool) -> Option<String> {
    let mut hasher = Hasher::default();
    let mut stack = vec![root.to_owned()];
    let mut all = Vec::new();
    while let Some(path) = stack.pop() {
        let meta = std::fs::symlink_metadata(&path).ok()?;
        if meta.is_dir() {
            for entry in std::fs::read_dir(&path).ok()? {
                stack.push(entry.ok()?.path());
            }
        }
        all.push((path, meta));
    }
    all.sort_by(|a, b| a.0.cmp(&b.0));
    for (path, meta) in all {
        let rel = path.strip_prefix(root).unwrap_or(&path);
        hasher.part(rel.to_string_lossy().as_bytes());
        hasher.part(permissions(&meta).to_le_bytes());
        if times {
            let since = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
                .unwrap_or_default();
            hasher.part(since.as_nanos().to_le_bytes());
        }
        if meta.is_symlink() {
            hasher.part("link");
            hasher.part(std::fs::read_link(&path).ok()?.to_string_lossy().as_bytes());
        } else if meta.is_file() {
            hasher.part("file");
            hasher.part(file_digest(&path)?);
        } else {
            hasher.part("folder");
        }
    }
    Some(hasher.finish())
}

#[cfg(unix)]
fn permissions(meta: &std::fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o7777
}

#[cfg(not(unix))]
fn permissions(meta: &std::fs::Metadata) -> u32 {
    u32::from(meta.permissions().readonly())
}

/// The identity of what runs a cell's servers, from the run's provenance: the Wine version
/// and reported Windows version, the engine with its OCI runtime and image id, or the host
/// system (its name left out, so that another machine of the same system shares results).
fn runtime_identity(provenance: &Provenance, cell: &str) -> Option<String> {
    let execution = provenance.cells.get(cell)?;
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

/// The digests of large files (the harness, the artifacts) by path, size and modification
/// time, so that an unchanged file is not read again: what cargo's and make's fingerprints
/// trust too. Kept in the harness cache folder.
#[derive(Default, Serialize, Deserialize)]
struct Digests {
    files: BTreeMap<PathBuf, (u64, u128, String)>,
    #[serde(skip)]
    changed: bool,
}

impl Digests {
    fn file(cache: &Path) -> PathBuf {
        cache.join("digests.json")
    }

    fn read(cache: &Path) -> Digests {
        std::fs::read(Digests::file(cache))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    /// The SHA-256 of the file at `path`: remembered while its size and time stay the same.
    fn of(&mut self, path: &Path) -> Option<String> {
        let meta = std::fs::metadata(path).ok()?;
        let time = meta
            .modified()
            .ok()?
            .duration_since(SystemTime::UNIX_EPOCH)
            .ok()?
            .as_nanos();
        if let Some((len, at, digest)) = self.files.get(path)
            && *len == meta.len()
            && *at == time
        {
            return Some(digest.clone());
        }
        let digest = file_digest(path)?;
        self.files
            .insert(path.to_owned(), (meta.len(), time, digest.clone()));
        self.changed = true;
        Some(digest)
    }

    /// Keeps them, when they changed, dropping files that are gone.
    fn write(mut self, cache: &Path) {
        if !self.changed {
            return;
        }
        self.files.retain(|path, _| path.exists());
        let file = Digests::file(cache);
        let part = file.with_extension(format!("{}.part", std::process::id()));
        let text = serde_json::to_string(&self).expect("digests serialize");
        if std::fs::create_dir_all(cache)
            .and_then(|()| std::fs::write(&part, text))
            .and_then(|()| std::fs::rename(&part, &file))
            .is_err()
        {
            let _ = std::fs::remove_file(&part);
        }
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
    use crate::matrix::Scope;
    use crate::provision::provenance::ExecutionKind;
    use crate::suite::CaseResult;

    fn passed(suite: &str) -> JobResult {
        JobResult {
            suite: suite.into(),
            cell: "debian".into(),
            scope: Scope::PerTarget,
            audit: false,
            cases: vec![CaseResult {
                name: "list".into(),
                passed: true,
                ..CaseResult::default()
            }],
            error: None,
            leaked: Vec::new(),
            duration: Duration::from_millis(1200),
            phases: Phases::default(),
            cached: None,
        }
    }

    fn run() -> Provenance {
        Provenance {
            started: "2026-12-01T10:00:00Z".into(),
            commit: Some("abc".into()),
            ..Provenance::default()
        }
    }

    /// A cell's log folder with a job's files in it.
    fn cell_logs(suite: &str, text: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(format!("{suite}.server.stdout.log")), text).unwrap();
        let exchanges = dir.path().join("exchanges").join(suite);
        std::fs::create_dir_all(&exchanges).unwrap();
        std::fs::write(exchanges.join("list.http"), "GET /projects").unwrap();
        dir
    }

    #[test]
    fn a_passed_result_comes_back_marked_with_its_run_and_its_logs_and_a_failure_never_does() {
        let cache = tempfile::tempdir().unwrap();
        let store = Store::new(cache.path());
        let ran = cell_logs("projects", "listening");
        store.put("k1", &run(), &passed("projects"), ran.path());
        // Another run's folder, with another run's files for the job.
        let later = cell_logs("projects", "stale");
        std::fs::write(later.path().join("exchanges/projects/gone.http"), "x").unwrap();
        let hit = store.get("k1", later.path()).expect("a hit");
        let cached = hit.cached.as_ref().unwrap();
        assert_eq!(cached.run, "2026-12-01T10:00:00Z");
        assert_eq!(cached.saved, Duration::from_millis(1200));
        assert_eq!(hit.duration, Duration::ZERO);
        let log = later.path().join("projects.server.stdout.log");
        assert_eq!(std::fs::read_to_string(log).unwrap(), "listening");
        assert!(later.path().join("exchanges/projects/list.http").is_file());
        assert!(!later.path().join("exchanges/projects/gone.http").exists());
        assert!(store.get("k2", later.path()).is_none());

        let mut failed = passed("tasks");
        failed.cases[0].passed = false;
        store.put("k3", &run(), &failed, ran.path());
        let mut errored = passed("tasks");
        errored.error = Some("launch failed".into());
        store.put("k4", &run(), &errored, ran.path());
        let mut leaked = passed("tasks");
        leaked.leaked = vec!["123 sleep".into()];
        store.put("k5", &run(), &leaked, ran.path());
        for key in ["k3", "k4", "k5"] {
            assert!(store.get(key, later.path()).is_none(), "{key} was reused");
        }
        // A cached result is not stored again as if it had run.
        store.put("k6", &run(), &hit, ran.path());
        assert!(store.get("k6", later.path()).is_none());
    }

    #[test]
    fn a_corrupt_or_misplaced_entry_is_a_miss_and_goes() {
        let cache = tempfile::tempdir().unwrap();
        let store = Store::new(cache.path());
        let logs = cell_logs("projects", "listening");
        store.put("good", &run(), &passed("projects"), logs.path());
        std::fs::create_dir_all(store.entry("bad")).unwrap();
        std::fs::write(store.entry("bad").join(RESULT), "{ not json").unwrap();
        assert!(store.get("bad", logs.path()).is_none());
        assert!(!store.entry("bad").exists());
        std::fs::create_dir_all(store.entry("moved")).unwrap();
        std::fs::copy(
            store.entry("good").join(RESULT),
            store.entry("moved").join(RESULT),
        )
        .unwrap();
        assert!(
            store.get("moved", logs.path()).is_none(),
            "an entry read under another key"
        );
        assert!(store.get("good", logs.path()).is_some());
    }

    #[test]
    fn the_store_keeps_within_its_size_least_recently_used_out_first() {
        let cache = tempfile::tempdir().unwrap();
        let logs = cell_logs("projects", "listening");
        let one = {
            let store = Store::new(cache.path());
            store.put("size", &run(), &passed("projects"), logs.path());
            size(&store.entry("size"))
        };
        let store = Store::with_limit(cache.path(), one * 2 + one / 2);
        let old = SystemTime::now() - Duration::from_secs(3600);
        let age = |key: &str, at: SystemTime| {
            let f = std::fs::File::options()
                .append(true)
                .open(store.entry(key).join(RESULT))
                .unwrap();
            f.set_modified(at).unwrap();
        };
        for (i, key) in ["a", "b", "c"].iter().enumerate() {
            store.put(key, &run(), &passed("projects"), logs.path());
            age(key, old + Duration::from_secs(i as u64 * 60));
        }
        age("size", old - Duration::from_secs(60));
        // `a` is used now: `size` and `b` are the least recently used.
        assert!(store.get("a", logs.path()).is_some());
        store.prune();
        let left: Vec<bool> = ["size", "a", "b", "c"]
            .iter()
            .map(|k| store.entry(k).exists())
            .collect();
        assert_eq!(left, [false, true, false, true]);
    }

    #[test]
    fn a_tree_s_digest_changes_with_a_byte_a_name_a_mode_or_a_link_and_times_when_asked() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir(root.join("docs")).unwrap();
        std::fs::write(root.join("docs/a.txt"), "one").unwrap();
        let first = tree_digest(root, false).unwrap();
        assert_eq!(tree_digest(root, false).unwrap(), first);
        std::fs::write(root.join("docs/a.txt"), "two").unwrap();
        let byte = tree_digest(root, false).unwrap();
        assert_ne!(byte, first);
        std::fs::rename(root.join("docs/a.txt"), root.join("docs/A.txt")).unwrap();
        let name = tree_digest(root, false).unwrap();
        assert_ne!(name, byte);
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink("A.txt", root.join("docs/link")).unwrap();
            let link = tree_digest(root, false).unwrap();
            assert_ne!(link, name);
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(
                root.join("docs/A.txt"),
                std::fs::Permissions::from_mode(0o600),
            )
            .unwrap();
            assert_ne!(tree_digest(root, false).unwrap(), link);
        }
        let untimed = tree_digest(root, false).unwrap();
        let timed = tree_digest(root, true).unwrap();
        let f = std::fs::File::options()
            .append(true)
            .open(root.join("docs/A.txt"))
            .unwrap();
        f.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(1))
            .unwrap();
        assert_eq!(tree_digest(root, false).unwrap(), untimed);
        assert_ne!(tree_digest(root, true).unwrap(), timed);
    }

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
        for (cell, kind) in [
            ("host", ExecutionKind::Native),
            ("debian", ExecutionKind::Container),
        ] {
            provenance.cells.insert(
                cell.into(),
                crate::provision::provenance::Execution {
                    kind,
                    by: "x".into(),
                    windows: None,
                    reported: None,
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
    }

    #[test]
    fn a_file_s_digest_is_remembered_while_its_size_and_time_stay_and_read_again_after() {
        let cache = tempfile::tempdir().unwrap();
        let file = cache.path().join("server");
        std::fs::write(&file, "one").unwrap();
        let mut digests = Digests::read(cache.path());
        let first = digests.of(&file).unwrap();
        assert_eq!(first, file_digest(&file).unwrap());
        digests.write(cache.path());
        // A digest remembered under the file's size and time is taken, not read again.
        let mut digests = Digests::read(cache.path());
        assert_eq!(digests.files.len(), 1);
        let meta = std::fs::metadata(&file).unwrap();
        let at = meta
            .modified()
            .unwrap()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap();
        digests.files.insert(
            file.clone(),
            (meta.len(), at.as_nanos(), "remembered".into()),
        );
        assert_eq!(digests.of(&file).unwrap(), "remembered");
        // Changed (another size and time): read again.
        std::fs::write(&file, "three").unwrap();
        let f = std::fs::File::options().append(true).open(&file).unwrap();
        f.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(5))
            .unwrap();
        assert_eq!(digests.of(&file).unwrap(), file_digest(&file).unwrap());
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
