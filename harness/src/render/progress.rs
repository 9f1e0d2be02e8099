//! The terminal while a run goes: which events become lines at each verbosity (one short
//! line per finished job, `PASS [  1.2s] windows  packages 9/9`), and the live status line
//! (phase, jobs done of all, the running jobs, elapsed, an ETA from earlier runs' durations).
//! It is a model fed with events and the time they came at; the CLI draws it.

use std::collections::HashMap;
use std::fmt::Write;
use std::time::Duration;

use super::colour::Palette;
use super::escape::terminal as esc;
use super::view::secs;
use crate::events::{Phase, Provision, RunEvent};

/// How much the terminal shows while a run goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum Verbosity {
    /// Failures and errors only, then the summary.
    Quiet,
    /// A line per finished job and build, what was provisioned, what waits.
    #[default]
    Normal,
    /// Everything: commands, ports, data dirs, logs, every prerequisite.
    Verbose,
}

/// What the terminal knows of a run so far.
#[derive(Debug)]
pub struct Progress {
    verbosity: Verbosity,
    palette: Palette,
    phase: Option<Phase>,
    width: usize,
    parallel: usize,
    /// Expected duration of each job not yet finished, by `cell/suite`.
    expected: HashMap<String, Option<Duration>>,
    total: usize,
    done: usize,
    failed: usize,
    /// The running jobs, with when they started.
    running: Vec<(String, String, Duration)>,
    units: usize,
    last_unit: String,
}

fn key(cell: &str, suite: &str) -> String {
    format!("{cell}/{suite}")
}

impl Progress {
    /// A run about to start.
    pub fn new(verbosity: Verbosity, palette: Palette) -> Progress {
        Progress {
            verbosity,
            palette,
            phase: None,
            width: 8,
            parallel: 1,
            expected: HashMap::new(),
            total: 0,
            done: 0,
            failed: 0,
            running: Vec::new(),
            units: 0,
            last_unit: String::new(),
        }
    }

    /// Takes in `event`, which came `at` into the run; returns the lines to print for it (none
    /// at this verbosity, one, or a line with indented details). Server text is escaped.
    pub fn event(&mut self, event: &RunEvent, at: Duration) -> Option<String> {
        let p = self.palette;
        let verbose = self.verbosity >= Verbosity::Verbose;
        let normal = self.verbosity >= Verbosity::Normal;
        let w = self.width;
        match event {
            RunEvent::Phase { phase } => {
                self.phase = Some(*phase);
                None
            }
            RunEvent::JobsPlanned { jobs, parallel } => {
                self.parallel = (*parallel).max(1);
                self.total += jobs.len();
                self.width = jobs.iter().map(|j| j.cell.len()).max().unwrap_or(8).max(8);
                for j in jobs {
                    self.expected.insert(
                        key(&j.cell, &j.suite),
                        j.expected.map(Duration::from_millis),
                    );
                }
                None
            }
            RunEvent::JobsCached { jobs } => {
                // One line for them all; each on a line of its own when verbose.
                let runs: std::collections::BTreeSet<&str> =
                    jobs.iter().map(|j| j.run.as_str()).collect();
                let mut s = format!(
                    "{} {} {} not run: each one's inputs are those of a job that passed in {} (--no-cache runs them)",
                    tag(p, Tag::Dim, "CACHED"),
                    jobs.len(),
                    if jobs.len() == 1 { "job" } else { "jobs" },
                    match runs.len() {
                        1 => format!("the run of {}", runs.first().expect("one")),
                        n => format!("{n} earlier runs"),
                    }
                );
                if verbose {
                    for j in jobs {
                        let _ = write!(
                            s,
                            "\n  {} {} (run of {})",
                            esc(&j.cell),
                            esc(&j.suite),
                            j.run
                        );
                    }
                }
                normal.then_some(s)
            }
            RunEvent::JobStarted { suite, cell } => {
                self.running.push((cell.clone(), suite.clone(), at));
                None
            }
            RunEvent::BuildProgress { unit } => {
                self.units += 1;
                if unit != "build-script-build" {
                    self.last_unit.clone_from(unit);
                }
                None
            }
            RunEvent::Provisioning { what } => {
                normal.then(|| format!("{} {}", tag(p, Tag::Strong, "PROVISION"), esc(what)))
            }
            RunEvent::Prerequisite {
                what,
                state,
                detail,
            } => match state {
                Provision::Present => verbose.then(|| {
                    format!(
                        "{} {}: ready ({})",
                        tag(p, Tag::Dim, "PRESENT"),
                        esc(what),
                        esc(detail)
                    )
                }),
                Provision::Provisioned => normal.then(|| {
                    format!(
                        "{} {}: provisioned now ({})",
                        tag(p, Tag::Good, "PROVISIONED"),
                        esc(what),
                        esc(detail)
                    )
                }),
            },
            RunEvent::BuildStarted { command } => {
                verbose.then(|| format!("{} {}", tag(p, Tag::Strong, "BUILD"), esc(command)))
            }
            RunEvent::BuildFinished {
                build,
                result,
                duration,
            } => match result {
                Ok(path) => normal.then(|| {
                    let mut s = format!(
                        "{} [{:>6}] {}",
                        tag(p, Tag::Good, "BUILT"),
                        secs(*duration),
                        esc(build)
                    );
                    if verbose {
                        let _ = write!(s, " -> {}", esc(path));
                    }
                    s
                }),
                Err(why) => Some(format!(
                    "{} [{:>6}] {}\n{}",
                    tag(p, Tag::Bad, "BUILD FAILED"),
                    secs(*duration),
                    esc(build),
                    indent(&esc(why))
                )),
            },
            RunEvent::ServerStarting {
                cell,
                suite,
                command,
                place,
            } => verbose.then(|| {
                format!(
                    "{} {cell:<w$} {suite}: {}{}",
                    tag(p, Tag::Dim, "START"),
                    place
                        .as_ref()
                        .map(|place| format!("in {} ", esc(place)))
                        .unwrap_or_default(),
                    esc(command)
                )
            }),
            RunEvent::ServerReady {
                cell,
                base_url,
                after,
            } => verbose.then(|| {
                format!(
                    "{} {cell:<w$} ready after {} at {}",
                    tag(p, Tag::Dim, "READY"),
                    secs(*after),
                    esc(base_url)
                )
            }),
            RunEvent::ServerStopped {
                cell,
                forced,
                logs,
                leaked,
            } => {
                let mut s = String::new();
                if verbose {
                    let _ = write!(
                        s,
                        "{} {cell:<w$} stopped{} (logs: {}, {})",
                        tag(p, Tag::Dim, "STOPPED"),
                        if *forced { " by force" } else { "" },
                        esc(&logs[0]),
                        esc(&logs[1])
                    );
                }
                for leak in leaked {
                    if !s.is_empty() {
                        s.push('\n');
                    }
                    let _ = write!(
                        s,
                        "{} {cell:<w$} {}: left running outside its process group, stopped",
                        tag(p, Tag::Warn, "LEAK"),
                        esc(leak)
                    );
                }
                (!s.is_empty()).then_some(s)
            }
            RunEvent::Waiting { cell, what } => normal.then(|| {
                format!(
                    "{} {cell:<w$} for {}",
                    tag(p, Tag::Warn, "WAITING"),
                    esc(what)
                )
            }),
            RunEvent::LeftoversRemoved { removed } => normal.then(|| {
                let mut s = format!(
                    "{} {} leftovers of runs that were killed:",
                    tag(p, Tag::Warn, "CLEANUP"),
                    removed.len()
                );
                for r in removed {
                    let _ = write!(s, "\n    {}", esc(r));
                }
                s
            }),
            RunEvent::JobFinished {
                suite,
                cell,
                passed,
                cases,
                skipped,
                failures,
                duration,
            } => {
                self.finished(cell, suite);
                let failed = !failures.is_empty();
                if failed {
                    self.failed += 1;
                }
                (failed || normal).then(|| {
                    let word = if failed {
                        tag(p, Tag::Bad, "FAIL")
                    } else {
                        tag(p, Tag::Good, "PASS")
                    };
                    let mut s = format!(
                        "{word} [{:>6}] {cell:<w$} {suite} {passed}/{}",
                        secs(*duration),
                        cases - skipped
                    );
                    if *skipped > 0 {
                        let _ = write!(s, " ({skipped} skipped)");
                    }
                    for f in failures {
                        let _ = write!(s, "\n{}", indent(&esc(f)).trim_end());
                    }
                    s
                })
            }
            RunEvent::JobError { suite, cell, error } => {
                self.finished(cell, suite);
                self.failed += 1;
                Some(format!(
                    "{} {cell:<w$} {suite}\n{}",
                    tag(p, Tag::Bad, "ERROR"),
                    indent(&esc(error)).trim_end()
                ))
            }
        }
    }

    fn finished(&mut self, cell: &str, suite: &str) {
        self.done += 1;
        self.expected.remove(&key(cell, suite));
        if let Some(i) = self
            .running
            .iter()
            .position(|(c, s, _)| c == cell && s == suite)
        {
            self.running.remove(i);
        }
    }

    /// The time left, from earlier runs' durations: the work not done, spread over the jobs
    /// that run at once. None while a job's duration is unknown.
    pub fn eta(&self, at: Duration) -> Option<Duration> {
        let mut left = Duration::ZERO;
        for (k, expected) in &self.expected {
            let expected = (*expected)?;
            let started = self
                .running
                .iter()
                .find(|(c, s, _)| &key(c, s) == k)
                .map(|(_, _, t)| at.saturating_sub(*t));
            left += expected.saturating_sub(started.unwrap_or_default());
        }
        Some(left / u32::try_from(self.parallel).unwrap_or(u32::MAX))
    }

    /// The live status line at `at` into the run.
    pub fn status(&self, at: Duration) -> String {
        let p = self.palette;
        let phase = self.phase.map_or("start", Phase::name);
        let mut s = format!("[{:>6}] {}", secs(at), p.strong(phase));
        match self.phase {
            Some(Phase::Build) => {
                let _ = write!(s, " {} units", self.units);
                if !self.last_unit.is_empty() {
                    let _ = write!(s, ", last {}", esc(&self.last_unit));
                }
            }
            Some(Phase::Jobs | Phase::NoiseCheck | Phase::Explore) => {
                let _ = write!(s, " {}/{}", self.done, self.total);
                if self.failed > 0 {
                    let _ = write!(s, ", {}", p.bad(&format!("{} failed", self.failed)));
                }
                if !self.running.is_empty() {
                    let names: Vec<String> = self
                        .running
                        .iter()
                        .take(3)
                        .map(|(c, su, _)| format!("{c} {su}"))
                        .collect();
                    let more = self.running.len().saturating_sub(3);
                    let _ = write!(
                        s,
                        "; running {}{}",
                        names.join(", "),
                        if more > 0 {
                            format!(" +{more}")
                        } else {
                            String::new()
                        }
                    );
                }
                if let Some(eta) = self.eta(at) {
                    let _ = write!(s, "; ETA {}", secs(eta));
                }
            }
            _ => {}
        }
        s
    }
}

/// How a status word is coloured.
#[derive(Clone, Copy)]
enum Tag {
    Good,
    Bad,
    Warn,
    Strong,
    Dim,
}

/// A status word, right-aligned in a column of its own (`        PASS`), coloured.
fn tag(p: Palette, kind: Tag, word: &str) -> String {
    let word = format!("{word:>12}");
    match kind {
        Tag::Good => p.good(&word),
        Tag::Bad => p.bad(&word),
        Tag::Warn => p.warn(&word),
        Tag::Strong => p.strong(&word),
        Tag::Dim => p.dim(&word),
    }
}

/// Details under a line, indented past the status column.
fn indent(text: &str) -> String {
    text.lines().map(|l| format!("{:14}{l}\n", "")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::PlannedJob;

    fn planned(expected: Option<u64>) -> RunEvent {
        RunEvent::JobsPlanned {
            jobs: vec![
                PlannedJob {
                    cell: "windows".into(),
                    suite: "packages".into(),
                    expected,
                },
                PlannedJob {
                    cell: "debian".into(),
                    suite: "packages".into(),
                    expected,
                },
            ],
            parallel: 2,
        }
    }

    fn finished(cell: &str, failures: Vec<String>) -> RunEvent {
        RunEvent::JobFinished {
            suite: "packages".into(),
            cell: cell.into(),
            passed: 9 - failures.len(),
            cases: 9,
            skipped: 0,
            failures,
            duration: Duration::from_millis(1200),
        }
    }

    #[test]
    fn a_job_is_one_short_line_and_failures_show_even_when_quiet() {
        let mut normal = Progress::new(Verbosity::Normal, Palette::new(false));
        normal.event(&planned(None), Duration::ZERO);
        assert_eq!(
            normal
                .event(&finished("windows", vec![]), Duration::ZERO)
                .unwrap(),
            "        PASS [  1.2s] windows  packages 9/9"
        );
        let mut quiet = Progress::new(Verbosity::Quiet, Palette::new(false));
        quiet.event(&planned(None), Duration::ZERO);
        assert_eq!(
            quiet.event(&finished("windows", vec![]), Duration::ZERO),
            None
        );
        let line = quiet
            .event(
                &finished("debian", vec!["upload: status 500\u{1b}[2J".into()]),
                Duration::ZERO,
            )
            .unwrap();
        assert_eq!(
            line,
            "        FAIL [  1.2s] debian   packages 8/9\n              upload: status 500\\u{1b}[2J"
        );
    }

    #[test]
    fn the_status_line_counts_jobs_and_estimates_what_is_left() {
        let mut progress = Progress::new(Verbosity::Normal, Palette::new(false));
        progress.event(&RunEvent::Phase { phase: Phase::Jobs }, Duration::ZERO);
        progress.event(&planned(Some(4000)), Duration::ZERO);
        for cell in ["windows", "debian"] {
            progress.event(
                &RunEvent::JobStarted {
                    suite: "packages".into(),
                    cell: cell.into(),
                },
                Duration::ZERO,
            );
        }
        // Two jobs of 4 s each at once, 1 s in: 3 s left.
        assert_eq!(
            progress.status(Duration::from_secs(1)),
            "[  1.0s] jobs 0/2; running windows packages, debian packages; ETA 3.0s"
        );
        progress.event(
            &finished("windows", vec!["x".into()]),
            Duration::from_secs(2),
        );
        assert_eq!(
            progress.status(Duration::from_secs(2)),
            "[  2.0s] jobs 1/2, 1 failed; running debian packages; ETA 1.0s"
        );
        // Without earlier durations there is no ETA.
        let mut fresh = Progress::new(Verbosity::Normal, Palette::new(false));
        fresh.event(&planned(None), Duration::ZERO);
        assert_eq!(fresh.eta(Duration::ZERO), None);
    }
}
