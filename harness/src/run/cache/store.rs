//! The store of the result cache: a folder per key under the harness cache folder, with the
//! job's result and its files from its cell's log folder, bounded in size (least recently
//! used out first); an entry that cannot be read is a miss and goes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::outcome::{Cached, JobResult, Phases};
use crate::plan::{Job, JobId};
use crate::provision::Provenance;

/// The most the store keeps, in bytes on disk (as `du` counts them).
const LIMIT: u64 = 64 * 1024 * 1024;

/// The results of passed jobs, by key, in the harness cache folder: a folder per key with
/// the result (`result.json`) and the job's files from its cell's log folder (`logs/`: the
/// server's log, the requests and responses, a command's output), so that a reused result
/// keeps its evidence.
pub(in crate::run) struct Store {
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
            Ok(stored) if stored.key == key && reusable(&stored.result) && plausible(&stored) => {
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

    /// Removes the least recently used entries until the store is within its size. Each
    /// entry's size comes from the store's index when the entry is the one indexed (its
    /// folder's modification time unchanged), so that a run walks only the entries written
    /// since: walking every file of a full store (3,000 entries, 35,000 files) took a third
    /// of a second of processor time at the end of every run.
    pub fn prune(&self) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return;
        };
        let indexed = read_index(&self.dir.join(INDEX));
        let mut all: Vec<(SystemTime, Sized, PathBuf)> = entries
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .map(|e| {
                let path = e.path();
                let key = e.file_name().to_string_lossy().into_owned();
                let used = std::fs::metadata(path.join(RESULT))
                    .and_then(|m| m.modified())
                    .unwrap_or(SystemTime::UNIX_EPOCH);
                let version = version(&path);
                let bytes = match indexed.get(&key) {
                    Some(&(bytes, at)) if Some(at) == version => bytes,
                    _ => size(&path),
                };
                (
                    used,
                    Sized {
                        key,
                        bytes,
                        version,
                    },
                    path,
                )
            })
            .collect();
        let mut total: u64 = all.iter().map(|(_, sized, _)| sized.bytes).sum();
        all.sort_by_key(|(used, _, _)| *used);
        let mut kept = Vec::new();
        for (_, sized, path) in all {
            if total > self.limit && std::fs::remove_dir_all(&path).is_ok() {
                total -= sized.bytes;
            } else {
                kept.push(sized);
            }
        }
        write_index(&self.dir, &kept);
    }
}

/// The store's index: what each entry takes on disk, in bytes, with the version of the entry it was
/// measured on. Written whole and renamed into place; a line it cannot read is an entry to
/// measure again, so that a damaged or missing index costs a walk, never a wrong size for
/// long.
const INDEX: &str = "usage.tsv";

/// An entry's key, size and version (its folder's modification time, in nanoseconds since
/// the epoch: a result stored again under the same key is a new folder).
struct Sized {
    key: String,
    bytes: u64,
    version: Option<u128>,
}

fn version(entry: &Path) -> Option<u128> {
    let modified = std::fs::metadata(entry).and_then(|m| m.modified()).ok()?;
    Some(
        modified
            .duration_since(SystemTime::UNIX_EPOCH)
            .ok()?
            .as_nanos(),
    )
}

/// The index's lines, `key<TAB>bytes<TAB>version`, by key.
fn read_index(file: &Path) -> BTreeMap<String, (u64, u128)> {
    let text = std::fs::read_to_string(file).unwrap_or_default();
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split('\t');
            let key = fields.next()?;
            let bytes = fields.next()?.parse().ok()?;
            let version = fields.next()?.parse().ok()?;
            Some((key.to_owned(), (bytes, version)))
        })
        .collect()
}

fn write_index(dir: &Path, entries: &[Sized]) {
    let text: String = entries
        .iter()
        .filter_map(|e| Some(format!("{}\t{}\t{}\n", e.key, e.bytes, e.version?)))
        .collect();
    let part = dir.join(format!("{INDEX}.{}.part", std::process::id()));
    if std::fs::write(&part, text).is_err() || std::fs::rename(&part, dir.join(INDEX)).is_err() {
        let _ = std::fs::remove_file(&part);
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

/// What `path` and everything under it take on disk.
fn size(path: &Path) -> u64 {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => {
            on_disk(&meta)
                + std::fs::read_dir(path)
                    .into_iter()
                    .flatten()
                    .flatten()
                    .map(|e| size(&e.path()))
                    .sum::<u64>()
        }
        Ok(meta) => on_disk(&meta),
        Err(_) => 0,
    }
}

/// What one file or folder takes on disk: its allocated blocks where the system says (a
/// 100-byte log takes a 4 KiB block, and a store bounded by its files' lengths took twice
/// its bound as `du` counts it), else its length.
fn on_disk(meta: &std::fs::Metadata) -> u64 {
    #[cfg(unix)]
    {
        std::os::unix::fs::MetadataExt::blocks(meta) * 512
    }
    #[cfg(not(unix))]
    {
        meta.len()
    }
}

/// Whether what an entry says of its source run is what a run writes: a start in RFC 3339
/// and a commit in hex (`+dirty` after it). Both are printed to the terminal and the
/// reports; an entry that says anything else was not written by a run and is a miss.
fn plausible(entry: &Entry) -> bool {
    let commit = entry.commit.as_deref().is_none_or(|c| {
        let hash = c.strip_suffix("+dirty").unwrap_or(c);
        (4..=64).contains(&hash.len()) && hash.bytes().all(|b| b.is_ascii_hexdigit())
    });
    commit && chrono::DateTime::parse_from_rfc3339(&entry.run).is_ok()
}

/// Whether a result may be reused: it passed, with nothing leaked.
fn reusable(result: &JobResult) -> bool {
    result.passed() && result.leaked.is_empty() && !result.cases.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matrix::Scope;
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
            commit: Some("abc1234".into()),
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
        // What the terminal and the reports print of the source run must be what a run
        // writes: an escape sequence in it is not.
        let good = std::fs::read_to_string(store.entry("good").join(RESULT)).unwrap();
        for (key, from, to) in [
            ("run", "2026-12-01T10:00:00Z", "\\u001b[2Jgone"),
            ("commit", "\"abc1234\"", "\"abc1234\\u001b]8;;x\""),
        ] {
            std::fs::create_dir_all(store.entry(key)).unwrap();
            copy_tree(
                &store.entry("good").join(LOGS),
                &store.entry(key).join(LOGS),
            )
            .unwrap();
            let text = good
                .replace("\"good\"", &format!("{key:?}"))
                .replace(from, to);
            assert_ne!(text, good.replace("\"good\"", &format!("{key:?}")));
            std::fs::write(store.entry(key).join(RESULT), text).unwrap();
            assert!(
                store.get(key, logs.path()).is_none(),
                "{key} with an escape"
            );
            assert!(!store.entry(key).exists());
        }
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
    fn sizes_come_from_the_index_while_their_entry_is_the_one_indexed() {
        let cache = tempfile::tempdir().unwrap();
        let logs = cell_logs("projects", "listening");
        let store = Store::with_limit(cache.path(), 1 << 30);
        for key in ["a", "b"] {
            store.put(key, &run(), &passed("projects"), logs.path());
        }
        store.prune();
        let index = store.dir.join(INDEX);
        let lines = read_index(&index);
        assert_eq!(lines.keys().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(lines["a"].0, size(&store.entry("a")));
        // The index says `b` is huge: a store that holds both by their real sizes removes
        // it, so the index was read rather than `b` walked.
        let real = size(&store.entry("a")) + size(&store.entry("b"));
        let store = Store::with_limit(cache.path(), real);
        let huge = |version: u128| {
            format!(
                "a\t{}\t{}\nb\t{}\t{version}\n",
                lines["a"].0,
                lines["a"].1,
                1u64 << 40
            )
        };
        std::fs::write(&index, huge(lines["b"].1 + 1)).unwrap();
        store.prune();
        assert!(
            store.entry("b").exists(),
            "an entry not the one indexed is measured again"
        );
        std::fs::write(&index, "not\tan index\nb\t\n").unwrap();
        store.prune();
        assert!(
            store.entry("b").exists(),
            "a damaged index is measured again"
        );
        assert_eq!(read_index(&index).len(), 2, "and written anew");
        let lines = read_index(&index);
        std::fs::write(&index, huge(lines["b"].1)).unwrap();
        // `a` used last, so that only the size says which goes.
        assert!(store.get("a", logs.path()).is_some());
        store.prune();
        assert!(!store.entry("b").exists());
        assert!(store.entry("a").exists());
        assert_eq!(read_index(&index).keys().collect::<Vec<_>>(), ["a"]);
    }

    #[cfg(unix)]
    #[test]
    fn an_entry_is_measured_as_the_disk_holds_it() {
        let cache = tempfile::tempdir().unwrap();
        let logs = cell_logs("projects", "listening");
        let store = Store::new(cache.path());
        store.put("a", &run(), &passed("projects"), logs.path());
        let mut lengths = 0;
        let mut blocks = 0;
        let mut stack = vec![store.entry("a")];
        while let Some(path) = stack.pop() {
            let meta = std::fs::symlink_metadata(&path).unwrap();
            blocks += std::os::unix::fs::MetadataExt::blocks(&meta) * 512;
            if meta.is_dir() {
                stack.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            } else {
                lengths += meta.len();
            }
        }
        // A few small files and their folders: each takes a whole block.
        assert!(blocks > lengths, "{blocks} {lengths}");
        assert_eq!(size(&store.entry("a")), blocks);
    }
}
