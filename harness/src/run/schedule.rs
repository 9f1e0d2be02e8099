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
use crate::runtime::{Reservation, Runtime};

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
            job.id().to_string(),
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

/// Where a job runs, for the schedule: the runtime it needs room in, and how many of that
/// runtime's jobs run at once (`None`: as many as there are places).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Pool {
    /// Which runtime.
    pub id: usize,
    /// Its slots.
    pub capacity: Option<usize>,
}

/// `jobs` in the order they start; with `parallel = 1`, plan order. Otherwise the better
/// of two orders by a simulation of the run with the durations in `known`: longest first
/// (new jobs first of all, as they may be long), or the most loaded runtime's jobs first
/// (the work its slots must get through one after another), each longest first. The
/// second wins when a runtime with few slots (a pool of Wine prefixes) is what the run
/// waits for. Ties go to plan order.
pub(super) fn order<'a>(
    jobs: &'a [Job],
    known: &Durations,
    parallel: usize,
    pool: impl Fn(&Job) -> Pool,
) -> Vec<&'a Job> {
    let mut longest: Vec<&Job> = jobs.iter().collect();
    if parallel <= 1 {
        return longest;
    }
    longest.sort_by_key(|j| {
        std::cmp::Reverse(known.get(&j.id().to_string()).copied().unwrap_or(u64::MAX))
    });
    // A new job counts as long as the longest known one.
    let unknown = known.values().copied().max().unwrap_or(1000);
    let estimate = |j: &Job| known.get(&j.id().to_string()).copied().unwrap_or(unknown);
    let mut load: BTreeMap<usize, u64> = BTreeMap::new();
    for job in jobs {
        let p = pool(job);
        let places = p.capacity.unwrap_or(parallel).clamp(1, parallel) as u64;
        *load.entry(p.id).or_default() += estimate(job).div_ceil(places);
    }
    let mut loaded = longest.clone();
    loaded.sort_by_key(|j| std::cmp::Reverse((load[&pool(j).id], estimate(j))));
    let span = |o: &[&Job]| makespan(o, &estimate, &pool, parallel);
    if span(&loaded) < span(&longest) {
        loaded
    } else {
        longest
    }
}

/// When the last job of `ordered` would end if each took its estimate and they started as
/// `run` starts them: in order, each as soon as a place and its runtime have room.
fn makespan(
    ordered: &[&Job],
    estimate: &impl Fn(&Job) -> u64,
    pool: &impl Fn(&Job) -> Pool,
    parallel: usize,
) -> u64 {
    let mut pending: Vec<&Job> = ordered.to_vec();
    let mut running: Vec<(u64, usize)> = Vec::new();
    let (mut now, mut end) = (0, 0);
    while !pending.is_empty() || !running.is_empty() {
        let mut i = 0;
        while running.len() < parallel && i < pending.len() {
            let p = pool(pending[i]);
            let busy = running.iter().filter(|(_, id)| *id == p.id).count();
            if p.capacity.is_none_or(|c| busy < c.max(1)) {
                let done = now + estimate(pending.remove(i));
                end = end.max(done);
                running.push((done, p.id));
            } else {
                i += 1;
            }
        }
        now = running.iter().map(|(t, _)| *t).min().unwrap_or(now);
        running.retain(|(t, _)| *t > now);
    }
    end
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
    // Where and when each job ran, for the report's timeline: the lowest free place.
    let began = std::time::Instant::now();
    let mut free: Vec<usize> = (0..parallel.max(1)).rev().collect();
    while !interrupt.is_set() && (!pending.is_empty() || !running.is_empty()) {
        if jobs
            .deadline
            .is_some_and(|d| std::time::Instant::now() >= d)
        {
            pending.clear();
        }
        // Start what has room, in order. While the runtimes warm up, a job that waits for
        // its runtime's warm slots keeps a place for itself (as many as the slots), so that
        // it starts as soon as they are warm rather than after jobs that come after it.
        let mut i = 0;
        let mut kept: Vec<(&Arc<dyn Runtime>, usize)> = Vec::new();
        let places = |kept: &[(&Arc<dyn Runtime>, usize)]| {
            parallel
                .max(1)
                .saturating_sub(kept.iter().map(|(_, n)| n).sum::<usize>())
        };
        while running.len() < places(&kept) && i < pending.len() {
            let runtime = jobs.runtime(pending[i]);
            let reservation = match runtime {
                Some(runtime) => runtime.try_reserve()?,
                None => Some(Reservation::default()),
            };
            match reservation {
                Some(reservation) => {
                    let job = pending.remove(i);
                    in_flight.push(job);
                    let slot = free.pop().unwrap_or_default();
                    running.push(async move {
                        let start = began.elapsed();
                        let mut result = jobs.run_job(job, reservation).await;
                        result.phases.start = start;
                        result.phases.slot = slot;
                        (job, result)
                    });
                }
                None => {
                    if let Some(runtime) = runtime.filter(|_| warming.is_some()) {
                        let slots = runtime.capacity().unwrap_or(0);
                        match kept.iter_mut().find(|(r, _)| Arc::ptr_eq(r, runtime)) {
                            Some((_, n)) => *n = (*n + 1).min(slots),
                            None if slots > 0 => kept.push((runtime, 1)),
                            None => {}
                        }
                    }
                    i += 1;
                }
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
        let blocked = running.len() < places(&kept) && !pending.is_empty();
        let retry = async {
            if !blocked {
                std::future::pending::<()>().await;
            }
            tokio::time::sleep(RETRY).await;
        };
        tokio::select! {
            Some((job, result)) = running.next() => {
                free.push(result.phases.slot);
                free.sort_unstable_by(|a, b| b.cmp(a));
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
        .map(|(i, j)| (j.id().to_string(), i))
        .collect();
    results.sort_by_key(|r| {
        position
            .get(&r.id().to_string())
            .copied()
            .unwrap_or(usize::MAX)
    });
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
        let known = known(&[("a@x", 100), ("b@x", 3000), ("c@y", 500)]);
        let ids = |o: Vec<&Job>| o.iter().map(|j| j.id().to_string()).collect::<Vec<_>>();
        let anywhere = |_: &Job| Pool {
            id: 0,
            capacity: None,
        };
        assert_eq!(
            ids(order(&jobs, &known, 4, anywhere)),
            ["new@y", "b@x", "c@y", "a@x"]
        );
        assert_eq!(
            ids(order(&jobs, &known, 1, anywhere)),
            ["a@x", "b@x", "c@y", "new@y"]
        );
    }

    fn known(durations: &[(&str, u64)]) -> Durations {
        durations
            .iter()
            .map(|(k, v)| ((*k).to_owned(), *v))
            .collect()
    }

    /// Cell `w` runs in a pool of one slot (a Wine prefix), the others anywhere.
    fn pools(job: &Job) -> Pool {
        if job.cell == "w" {
            Pool {
                id: 1,
                capacity: Some(1),
            }
        } else {
            Pool {
                id: 0,
                capacity: None,
            }
        }
    }

    #[test]
    fn the_jobs_of_a_runtime_with_few_slots_start_first_when_the_run_waits_for_them() {
        // Four 1 s jobs one after another in the one slot, and two 3 s jobs elsewhere, on
        // two places: longest first starts the slot's chain after the 3 s jobs and ends at
        // 7 s; the chain first ends at 6 s.
        let jobs = [
            job("a", "w"),
            job("b", "w"),
            job("c", "w"),
            job("d", "w"),
            job("e", "l"),
            job("f", "l"),
        ];
        let known = known(&[
            ("a@w", 1000),
            ("b@w", 1000),
            ("c@w", 1000),
            ("d@w", 1000),
            ("e@l", 3000),
            ("f@l", 3000),
        ]);
        let ordered = order(&jobs, &known, 2, pools);
        let ids: Vec<String> = ordered.iter().map(|j| j.id().to_string()).collect();
        assert_eq!(ids, ["a@w", "b@w", "c@w", "d@w", "e@l", "f@l"]);
        let estimate = |j: &Job| known[&j.id().to_string()];
        assert_eq!(makespan(&ordered, &estimate, &pools, 2), 6000);
        let longest: Vec<&Job> = [4, 5, 0, 1, 2, 3].iter().map(|&i| &jobs[i]).collect();
        assert_eq!(makespan(&longest, &estimate, &pools, 2), 7000);
    }

    #[test]
    fn longest_first_stays_when_no_runtime_holds_the_run_back() {
        let jobs = [job("a", "w"), job("b", "l"), job("c", "l"), job("d", "l")];
        let known = known(&[("a@w", 500), ("b@l", 1000), ("c@l", 3000), ("d@l", 2000)]);
        let ids: Vec<String> = order(&jobs, &known, 2, pools)
            .iter()
            .map(|j| j.id().to_string())
            .collect();
        assert_eq!(ids, ["c@l", "d@l", "b@l", "a@w"]);
    }
}
