//! The schedule: every job of the plan is a task, and at most `parallel` run at once, across
//! cells and within them, each with its own server, port and data dir; a runtime may hold a
//! job back until it has room (a Wine prefix). Jobs start longest first, by the durations
//! earlier runs recorded (a new job counts as long), so that the run ends close to its
//! longest job; with `parallel = 1` they run strictly one after another, in plan order.
//! Results come back in plan order whatever order the jobs finished in.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;

use super::job::Jobs;
use crate::errors::Result;
use crate::events::RunEvent;
use crate::outcome::JobResult;
use crate::plan::Job;
use crate::runtime::Reservation;

/// Durations of earlier runs, by job id, in milliseconds.
pub(super) type Durations = BTreeMap<String, u64>;

/// Where the durations of a matrix's jobs are kept: the cache, by the matrix file's path.
pub(super) fn durations_file(cache: &Path, matrix_file: &Path) -> PathBuf {
    let path = std::path::absolute(matrix_file).unwrap_or_else(|_| matrix_file.to_owned());
    let key = crate::matrix::sha256(path.to_string_lossy().as_bytes());
    cache.join("durations").join(format!("{}.json", &key[..16]))
}

/// The durations recorded for a matrix (none when there are none yet).
pub(super) fn read_durations(file: &Path) -> Durations {
    std::fs::read(file)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

/// Records the durations of `jobs` on top of the earlier ones.
pub(super) fn record_durations(file: &Path, mut known: Durations, jobs: &[JobResult]) {
    for job in jobs {
        known.insert(
            job.id(),
            u64::try_from(job.duration.as_millis()).unwrap_or(u64::MAX),
        );
    }
    if let Some(dir) = file.parent()
        && std::fs::create_dir_all(dir).is_ok()
    {
        let text = serde_json::to_string_pretty(&known).expect("durations serialize");
        let _ = std::fs::write(file, text);
    }
}

/// `jobs` in the order they start: longest first by `known` (unknown ones first of all, as
/// they may be long), ties in plan order; with `parallel = 1`, plan order.
pub(super) fn order<'a>(jobs: &'a [Job], known: &Durations, parallel: usize) -> Vec<&'a Job> {
    let mut ordered: Vec<&Job> = jobs.iter().collect();
    if parallel > 1 {
        ordered.sort_by_key(|j| std::cmp::Reverse(known.get(&j.id()).copied().unwrap_or(u64::MAX)));
    }
    ordered
}

/// Runs `ordered` with at most `parallel` at once, and returns their results in the order of
/// `plan_jobs`. A job starts when a place is free and its runtime has room for it (a free
/// Wine prefix); one whose runtime is full lets the next one by. An interrupt stops every
/// running job (their servers stop as they are dropped) and starts no other.
pub(super) async fn run(
    jobs: &Jobs<'_>,
    ordered: Vec<&Job>,
    plan_jobs: &[Job],
    parallel: usize,
    warming: impl Future<Output = ()>,
) -> Result<Vec<JobResult>> {
    // While the runtimes warm up they hold what they warm: their jobs wait for it, the
    // others start.
    let mut warming = Some(Box::pin(warming));
    let interrupt = &jobs.options.interrupt;
    let mut pending = ordered;
    let mut running = FuturesUnordered::new();
    let mut in_flight: Vec<&Job> = Vec::new();
    // Runtimes whose last job is done stop what they kept for the run meanwhile.
    let mut closing = FuturesUnordered::new();
    let mut results = Vec::new();
    let mut said_waiting = false;
    while !interrupt.is_set() && (!pending.is_empty() || !running.is_empty()) {
        // Start what has room, in order.
        let mut i = 0;
        while running.len() < parallel.max(1) && i < pending.len() {
            let reservation = match jobs.runtime(pending[i]) {
                Some(runtime) => runtime.try_reserve()?,
                None => Some(Reservation::default()),
            };
            match reservation {
                Some(reservation) => {
                    let job = pending.remove(i);
                    in_flight.push(job);
                    running.push(async move { (job, jobs.run_job(job, reservation).await) });
                }
                None => i += 1,
            }
        }
        if running.is_empty() {
            if let Some(warm_up) = warming.take() {
                tokio::select! {
                    () = warm_up => {}
                    () = interrupt.wait() => {}
                }
                continue;
            }
            // Nothing of this run holds what the next job needs: another run does.
            if !said_waiting {
                let runtime = jobs.runtime(pending[0]).map_or("?", |r| r.name());
                jobs.options.events.emit(RunEvent::Waiting {
                    cell: pending[0].cell.clone(),
                    what: format!("room in the {runtime} runtime, which other runs hold"),
                });
                said_waiting = true;
            }
            tokio::select! {
                () = tokio::time::sleep(RETRY) => {}
                () = interrupt.wait() => {}
            }
            continue;
        }
        let blocked = running.len() < parallel.max(1) && !pending.is_empty();
        let retry = async {
            if !blocked {
                std::future::pending::<()>().await;
            }
            tokio::time::sleep(RETRY).await;
        };
        tokio::select! {
            Some((job, result)) = running.next() => {
                results.push(result);
                in_flight.retain(|j| !std::ptr::eq(*j, job));
                if let Some(runtime) = jobs.runtime(job) {
                    let same = |j: &&Job| jobs.runtime(j).is_some_and(|r| Arc::ptr_eq(r, runtime));
                    if !pending.iter().any(same) && !in_flight.iter().any(same) {
                        closing.push(runtime.shutdown());
                    }
                }
            }
            Some(()) = closing.next() => {}
            () = async { warming.as_mut().expect("guarded").await }, if warming.is_some() => {
                warming = None;
            }
            () = retry => {}
            () = interrupt.wait() => {}
        }
    }
    while closing.next().await.is_some() {}
    drop(running);
    let position: BTreeMap<String, usize> = plan_jobs
        .iter()
        .enumerate()
        .map(|(i, j)| (j.id(), i))
        .collect();
    results.sort_by_key(|r| position.get(&r.id()).copied().unwrap_or(usize::MAX));
    Ok(results)
}

/// How often a job that has no room is tried again while other runs hold its runtime.
const RETRY: Duration = Duration::from_millis(50);

/// How many jobs run at once by default on this machine: two per core (a job mostly waits
/// on its server), at least two, and no more than its memory holds at 512 MiB a job.
pub fn default_parallel() -> usize {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let by_memory = available_memory()
        .map_or(usize::MAX, |bytes| (bytes / (512 * 1024 * 1024)) as usize)
        .max(1);
    (cores * 2).clamp(2, 16).min(by_memory)
}

fn available_memory() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let kib: u64 = info
        .lines()
        .find_map(|l| l.strip_prefix("MemAvailable:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matrix::Scope;

    fn job(suite: &str, cell: &str) -> Job {
        Job {
            suite: suite.into(),
            cell: cell.into(),
            scope: Scope::PerTarget,
            audit: false,
        }
    }

    #[test]
    fn the_longest_jobs_start_first_and_one_at_a_time_keeps_plan_order() {
        let jobs = [job("a", "x"), job("b", "x"), job("c", "y"), job("new", "y")];
        let known: Durations = [("a@x", 100), ("b@x", 3000), ("c@y", 500)]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        let ids = |o: Vec<&Job>| o.iter().map(|j| j.id()).collect::<Vec<_>>();
        assert_eq!(ids(order(&jobs, &known, 4)), ["new@y", "b@x", "c@y", "a@x"]);
        assert_eq!(ids(order(&jobs, &known, 1)), ["a@x", "b@x", "c@y", "new@y"]);
    }
}
