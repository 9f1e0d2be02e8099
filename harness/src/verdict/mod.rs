//! The verdict: what a run (or a merge of shards) means. Pure: [`judge`] takes what a run
//! observed, the committed baselines and today's date, compares the observations across cells
//! and against the baselines ([`compare`]), gives each case its status and decides GO or
//! NO-GO. Because shards carry their normalized observations, a merge ([`merge`]) feeds the
//! same judgement as a run, so sharding changes where work happens, never the verdict.

pub mod compare;
pub mod explore;
pub mod gist;
pub mod merge;
pub mod noise;
pub mod scope;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::matrix::{Matrix, Scope};
use crate::outcome::{JobResult, Observation, Outcome};
use crate::plan::Plan;
use crate::provision::Provenance;
use crate::units::ms;

pub use compare::{
    Acceptance, Against, BaselineChange, BaselineState, Comparison, Divergence, Stale,
};
pub use noise::Noise;
pub use scope::{RunScope, ScopeKind};

/// The schema `results.json` declares; bumped on incompatible changes.
pub const SCHEMA: &str = "port-harness/results/v2";

/// The outcome of one case on one cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Passed, and behaved as the primary cell.
    Passed,
    /// An expectation failed.
    Failed,
    /// The job could not run (build, launch, suite error).
    Error,
    /// Behaved differently from the primary cell, unaccepted (or expired).
    Diverged,
    /// Behaved differently from the primary cell, as accepted.
    Accepted,
    /// Skipped by its own test command (a command suite's JUnit says so).
    Skipped,
}

/// One case on one cell.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunRecord {
    /// The suite.
    pub suite: String,
    /// The case (`(job)` for a job that could not run).
    pub case: String,
    /// The cell.
    pub cell: String,
    /// The suite's scope.
    pub scope: Scope,
    /// Its outcome.
    pub status: Status,
    /// How long it took.
    #[serde(with = "ms", rename = "duration_ms")]
    pub duration: Duration,
    /// Its snapshots' names.
    pub snapshots: Vec<String>,
    /// Why it failed, errored or diverged.
    pub detail: Option<String>,
}

/// GO, NO-GO or PENDING.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Everything passed, every difference between cells is accepted, and every snapshot
    /// matches its committed baseline.
    Go,
    /// Something failed, could not run, diverged unaccepted, or changed from its baseline.
    NoGo,
    /// Nothing is wrong, but not everything is proven: new snapshots await review, or some
    /// could not be compared with the primary cell.
    Pending,
}

impl Verdict {
    /// The process exit code it stands for: 0 GO, 1 NO-GO, 4 PENDING (2, 3 and 130 are
    /// [`crate::Error::exit_code`]'s).
    pub fn exit_code(self) -> u8 {
        match self {
            Verdict::Go => 0,
            Verdict::NoGo => 1,
            Verdict::Pending => 4,
        }
    }
}

/// Everything a run found: the content of `results.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Results {
    /// [`SCHEMA`].
    pub schema: String,
    /// The plan this run (or shard) ran.
    pub plan: Plan,
    /// Every job of the whole plan, all shards together.
    pub planned: Vec<String>,
    /// Every job with its cases.
    pub jobs: Vec<JobResult>,
    /// Every case on every cell, with its outcome.
    pub runs: Vec<RunRecord>,
    /// Every snapshotted step, normalized.
    pub observations: Vec<Observation>,
    /// Divergences, stale divergences, baseline changes and audit findings.
    pub comparison: Comparison,
    /// With `--noise-check`: what differed between two runs of the primary cell.
    pub noise: Vec<Noise>,
    /// Where and with what the run happened.
    pub provenance: Provenance,
    /// With `--noise-check`: what was run twice, and what counts as noise.
    pub noise_check: Option<String>,
    /// Whether new and changed snapshots were accepted.
    pub accepted: bool,
    /// With `--accept`: snapshots that were not made baselines because their cell diverges
    /// from the primary unaccepted; they stay pending until the divergence is accepted.
    pub held_back: Vec<String>,
    /// Snapshot files written.
    pub written: Vec<PathBuf>,
    /// Baselines that could not be read and snapshots that could not be written, each naming
    /// its file; the rest of the run stands.
    pub file_errors: Vec<String>,
    /// Each cell's log folder, relative to the output folder (for a merge, in its shard's
    /// output folder).
    pub logs: BTreeMap<String, String>,
    /// The limits the run enforced, as `[limits]` spells them.
    pub limits: BTreeMap<String, String>,
    /// Whether the run was interrupted (Ctrl-C): only the jobs that finished are judged.
    pub interrupted: bool,
    /// The verdict.
    pub verdict: Verdict,
    /// What the verdict covers, and whether it signs a release off.
    pub scope: RunScope,
    /// Why the verdict is not GO: what is wrong first, then what awaits review.
    pub reasons: Vec<String>,
    /// With `--explore`: what the generated probes found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explored: Option<explore::Explored>,
    /// How long it took.
    #[serde(with = "ms", rename = "duration_ms")]
    pub duration: Duration,
    /// How much of that went before the jobs began (validation, provisioning, the builds);
    /// the longest of the shards' in a merge.
    #[serde(default, with = "ms", rename = "prepare_ms")]
    pub prepare: Duration,
}

impl Results {
    /// Whether the verdict is GO.
    pub fn passed(&self) -> bool {
        self.verdict == Verdict::Go
    }

    /// Records the snapshot and baseline files that could not be read or written: the
    /// verdict is then NO-GO, since a baseline was not compared or a snapshot was lost.
    pub fn record_file_errors(&mut self, errors: Vec<String>) {
        if errors.is_empty() {
            return;
        }
        self.reasons.insert(
            0,
            format!(
                "{} could not be read or written",
                plural(errors.len(), "snapshot file", "snapshot files")
            ),
        );
        self.file_errors.extend(errors);
        self.verdict = Verdict::NoGo;
        self.scope.sign_off = false;
    }

    /// Whether this is a GO that signs the release off: the one meaning of sign-off that
    /// `results.json` (`scope.sign_off`), the JUnit properties and both reports give.
    pub fn signed_off(&self) -> bool {
        self.passed() && self.scope.sign_off
    }
}

/// What [`judge`] works from.
#[derive(Debug)]
pub struct Judge<'a> {
    /// The matrix.
    pub matrix: &'a Matrix,
    /// The plan run (for a merge: the whole plan).
    pub plan: Plan,
    /// The ids of every job of the whole plan.
    pub planned: Vec<String>,
    /// What the run observed.
    pub outcome: Outcome,
    /// Noise findings.
    pub noise: Vec<Noise>,
    /// The committed baselines' contents, by snapshot name.
    pub baselines: &'a BTreeMap<String, String>,
    /// Today, `YYYY-MM-DD`, for divergence expiry.
    pub today: &'a str,
    /// Accept new and changed snapshots.
    pub accept: bool,
    /// With `--noise-check`: the cell that ran twice.
    pub noise_cell: Option<String>,
    /// For a merge: how many shards.
    pub merged: Option<usize>,
    /// Each cell's log folder relative to the output folder, when not `logs/<cell>`.
    pub logs: BTreeMap<String, String>,
    /// Whether the run was interrupted before every planned job ran.
    pub interrupted: bool,
    /// With `--explore`: what the generated probes found.
    pub explored: Option<explore::Explored>,
}

/// Compares, and gives the results their statuses and verdict. Writes nothing: the snapshot
/// files it calls for are `persist`'s, which fills in [`Results::written`].
pub fn judge(j: Judge<'_>) -> Results {
    let Outcome {
        jobs,
        observations,
        provenance,
        duration,
        prepare,
    } = j.outcome;
    // With `--case`, the ledger's entries for cases that did not run say nothing (they are
    // not stale): only the selected cases' entries are compared.
    let narrowed_matrix;
    let matrix = if j.plan.narrowed.cases.is_empty() {
        j.matrix
    } else {
        let mut m = j.matrix.clone();
        m.divergences
            .retain(|d| j.plan.narrowed.has_case(&d.suite, &d.case));
        narrowed_matrix = m;
        &narrowed_matrix
    };
    let comparison = compare::compare(
        matrix,
        &observations,
        &|name| j.baselines.get(name).cloned(),
        j.today,
        j.plan.audit,
    );
    let runs = runs(&jobs, &observations, &comparison);
    // An accept never turns an unaccepted difference between cells into a baseline.
    let held_back: Vec<String> = if j.accept {
        let diverging: BTreeSet<String> = comparison
            .failing()
            .chain(&comparison.not_agnostic)
            .map(|d| crate::snapfile::name(&d.suite, &d.case, &d.step, &d.cell))
            .collect();
        comparison
            .baseline
            .iter()
            .filter(|b| diverging.contains(&b.name))
            .map(|b| b.name.clone())
            .collect()
    } else {
        Vec::new()
    };
    let (mut wrong, unproven) = reasons(&runs, &comparison, j.accept, &held_back);
    if j.interrupted {
        wrong.insert(
            0,
            format!(
                "interrupted: {} of the {} planned jobs finished",
                jobs.len(),
                j.plan.jobs.len()
            ),
        );
    } else if j.plan.jobs.is_empty() {
        // Nothing run proves nothing.
        wrong.insert(
            0,
            "nothing ran: the plan has no jobs (a matrix needs at least one `[[suite]]`)"
                .to_owned(),
        );
    }
    // What `--explore` found that the ledger does not accept is a difference between cells
    // like any other; cells whose probes did not run were not explored.
    if let Some(explored) = &j.explored {
        if explored.unknown() > 0 {
            wrong.push(format!(
                "{} findings of --explore that the ledger does not accept (`{} explore --save FINDING` makes one a case, `accept` takes it)",
                explored.unknown(),
                crate::invocation::command()
            ));
        }
        for (cell, error) in &explored.errors {
            wrong.push(format!(
                "--explore: the probes of {cell} did not run: {error}"
            ));
        }
    }
    let verdict = if !wrong.is_empty() {
        Verdict::NoGo
    } else if !unproven.is_empty() {
        Verdict::Pending
    } else {
        Verdict::Go
    };
    let logs = j
        .plan
        .cells
        .iter()
        .map(|c| {
            let link = j.logs.get(&c.name).cloned();
            (c.name.clone(), link.unwrap_or(format!("logs/{}", c.name)))
        })
        .collect();
    let mut scope = scope::of(&j.plan, j.merged);
    // A sign-off is a GO of everything planned: a NO-GO, a PENDING, an interrupted run or an
    // empty plan of the full scope is not one.
    scope.sign_off &= verdict == Verdict::Go && !j.interrupted && !j.plan.jobs.is_empty();
    if j.interrupted {
        scope.text = format!(
            "an interrupted run of {} ({} of its {} jobs finished)",
            scope.text,
            jobs.len(),
            j.plan.jobs.len()
        );
    }
    Results {
        schema: SCHEMA.to_owned(),
        scope,
        plan: j.plan,
        planned: j.planned,
        jobs,
        runs,
        observations,
        comparison,
        noise: j.noise,
        noise_check: j.noise_cell.map(|cell| {
            format!(
                "every job of `{cell}` ran twice with the same build; what differs between the two runs is noise, not behaviour"
            )
        }),
        provenance,
        accepted: j.accept,
        held_back,
        written: Vec::new(),
        file_errors: Vec::new(),
        interrupted: j.interrupted,
        limits: j
            .matrix
            .limits
            .describe()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
        logs,
        verdict,
        reasons: wrong.into_iter().chain(unproven).collect(),
        explored: j.explored,
        duration,
        prepare,
    }
}

fn runs(jobs: &[JobResult], observations: &[Observation], c: &Comparison) -> Vec<RunRecord> {
    // Looked up per case: indexed once, so that judging stays linear in the run's size.
    type CaseKey<'a> = (&'a str, &'a str, &'a str);
    let mut divergences_of: HashMap<CaseKey, Vec<&Divergence>> = HashMap::new();
    for d in c.all_divergences() {
        divergences_of
            .entry((&d.suite, &d.case, &d.cell))
            .or_default()
            .push(d);
    }
    let mut snapshots_of: HashMap<CaseKey, Vec<String>> = HashMap::new();
    for o in observations {
        snapshots_of
            .entry((&o.suite, &o.case, &o.cell))
            .or_default()
            .push(o.name());
    }
    let mut out = Vec::new();
    for job in jobs {
        if let Some(error) = &job.error {
            out.push(RunRecord {
                suite: job.suite.clone(),
                case: "(job)".into(),
                cell: job.cell.clone(),
                scope: job.scope,
                status: Status::Error,
                duration: job.duration,
                snapshots: Vec::new(),
                detail: Some(error.clone()),
            });
            continue;
        }
        for case in &job.cases {
            let key = (job.suite.as_str(), case.name.as_str(), job.cell.as_str());
            let divergences = divergences_of.get(&key).map_or(&[][..], Vec::as_slice);
            let (status, detail) = if case.skipped {
                (Status::Skipped, case.failure.clone())
            } else if !case.passed {
                (Status::Failed, case.failure.clone())
            } else if let Some(d) = divergences
                .iter()
                .find(|d| !matches!(d.acceptance, Acceptance::Accepted { .. }))
            {
                (Status::Diverged, Some(d.diff.clone()))
            } else if let Some(d) = divergences.first() {
                let reason = match &d.acceptance {
                    Acceptance::Accepted { reason, .. } => reason.clone(),
                    _ => String::new(),
                };
                (Status::Accepted, Some(reason))
            } else {
                (Status::Passed, None)
            };
            out.push(RunRecord {
                suite: job.suite.clone(),
                case: case.name.clone(),
                cell: job.cell.clone(),
                scope: job.scope,
                status,
                duration: case.duration,
                snapshots: snapshots_of.get(&key).cloned().unwrap_or_default(),
                detail,
            });
        }
    }
    out
}

/// Why the verdict is not GO: what is wrong (NO-GO), and what is not yet proven (PENDING).
fn reasons(
    runs: &[RunRecord],
    c: &Comparison,
    accept: bool,
    held_back: &[String],
) -> (Vec<String>, Vec<String>) {
    let count = |s: Status| runs.iter().filter(|r| r.status == s).count();
    let mut wrong = Vec::new();
    let failed = count(Status::Failed);
    if failed > 0 {
        wrong.push(format!("{} failed", plural(failed, "case", "cases")));
    }
    let errors = count(Status::Error);
    if errors > 0 {
        wrong.push(format!("{} could not run", plural(errors, "job", "jobs")));
    }
    let unaccepted = c
        .divergences
        .iter()
        .filter(|d| d.acceptance == Acceptance::Unaccepted)
        .count();
    if unaccepted > 0 {
        wrong.push(format!(
            "{} {}",
            unaccepted,
            if unaccepted == 1 {
                "unaccepted divergence"
            } else {
                "unaccepted divergences"
            }
        ));
    }
    let expired = c
        .divergences
        .iter()
        .filter(|d| matches!(d.acceptance, Acceptance::Expired { .. }))
        .count();
    if expired > 0 {
        wrong.push(if expired == 1 {
            "1 accepted divergence has expired".to_owned()
        } else {
            format!("{expired} accepted divergences have expired")
        });
    }
    let not_agnostic: BTreeSet<&str> = c.not_agnostic.iter().map(|d| d.suite.as_str()).collect();
    if !not_agnostic.is_empty() {
        wrong.push(format!(
            "agnostic suites behave differently between cells: {}",
            not_agnostic.into_iter().collect::<Vec<_>>().join(", ")
        ));
    }
    // What is not a baseline after this run: everything without --accept, and what an
    // accept held back.
    let pending = |state: BaselineState| {
        c.baseline
            .iter()
            .filter(|b| b.state == state && (!accept || held_back.contains(&b.name)))
            .count()
    };
    let changed = pending(BaselineState::Changed);
    if changed > 0 {
        wrong.push(if changed == 1 {
            "1 snapshot differs from its committed baseline".to_owned()
        } else {
            format!("{changed} snapshots differ from their committed baselines")
        });
    }
    let mut unproven = Vec::new();
    let new = pending(BaselineState::New);
    if new > 0 {
        unproven.push(format!(
            "{} await{} review (`{} review`, or run again with `--accept`)",
            plural(new, "new snapshot", "new snapshots"),
            if new == 1 { "s" } else { "" },
            crate::invocation::command()
        ));
    }
    if !c.uncompared.is_empty() {
        unproven.push(format!(
            "{} snapshots could not be compared across cells: the primary cell ran none of their steps and has no committed baselines for them (run the primary cell and review its snapshots first)",
            c.uncompared.len()
        ));
    }
    (wrong, unproven)
}

/// `n` things, in the singular when there is one: `1 job`, `2 jobs`.
pub fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The jobs of earlier results that failed, could not run, diverged unaccepted, or were
/// planned and never finished (an interrupted run): what `--rerun-failed` runs again.
pub fn failed_jobs(results: &Results) -> BTreeSet<String> {
    let finished: BTreeSet<String> = results.jobs.iter().map(|j| j.id().to_string()).collect();
    results
        .runs
        .iter()
        .filter(|r| matches!(r.status, Status::Failed | Status::Error | Status::Diverged))
        .map(|r| crate::plan::JobId::new(&r.suite, &r.cell).to_string())
        // A job that was planned and never finished (an interrupted run) runs again.
        .chain(
            results
                .plan
                .jobs
                .iter()
                .map(|j| j.id().to_string())
                .filter(|id| !finished.contains(id)),
        )
        .collect()
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::plan::{Selection, Shard, plan};
    use crate::suite::{CaseResult, Observed};

    const MATRIX: &str = r#"
primary = "debian"
[server]
package = "srv"
[server.ready]
tcp = true
[[target]]
name = "debian"
triple = "x86_64-unknown-linux-gnu"
runtime = "host"
[[target]]
name = "windows"
triple = "x86_64-pc-windows-gnu"
runtime = "wine"
[[suite]]
name = "projects"
kind = "http"
path = "s/projects"
scope = "per-target"
"#;

    /// Judges one case of `projects` observed as `texts` (cell, text), against `baselines`.
    fn verdict_of(
        selection: &Selection,
        texts: &[(&str, &str)],
        baselines: &[(&str, &str)],
        accept: bool,
    ) -> Results {
        let matrix =
            crate::matrix::parse(Path::new("matrix.toml"), MATRIX, crate::runtime::kinds())
                .unwrap();
        let p = plan(&matrix, selection).unwrap();
        let jobs: Vec<JobResult> = texts
            .iter()
            .map(|(cell, text)| JobResult {
                suite: "projects".into(),
                cell: (*cell).into(),
                scope: Scope::PerTarget,
                audit: false,
                cases: vec![CaseResult {
                    name: "list".into(),
                    passed: true,
                    observed: vec![Observed {
                        step: "1".into(),
                        expression: "GET /projects".into(),
                        text: (*text).into(),
                    }],
                    duration: Duration::ZERO,
                    ..CaseResult::default()
                }],
                error: None,
                leaked: Vec::new(),
                duration: Duration::ZERO,
                phases: Default::default(),
                cached: None,
            })
            .collect();
        let observations = jobs
            .iter()
            .flat_map(|j| j.observations(&|_| "s/projects/list.toml".into()))
            .collect();
        let baselines: BTreeMap<String, String> = baselines
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        judge(Judge {
            matrix: &matrix,
            planned: p.planned.clone(),
            plan: p,
            outcome: Outcome {
                jobs,
                observations,
                provenance: Provenance::default(),
                duration: Duration::ZERO,
                prepare: Duration::ZERO,
            },
            noise: Vec::new(),
            baselines: &baselines,
            today: "2026-11-25",
            accept,
            noise_cell: None,
            merged: None,
            logs: BTreeMap::new(),
            interrupted: false,
            explored: None,
        })
    }

    const DEBIAN: &str = "projects__list.1@debian";
    const WINDOWS: &str = "projects__list.1@windows";

    #[test]
    fn new_snapshots_alone_are_pending_and_a_changed_one_is_no_go() {
        let all = Selection::default();
        let r = verdict_of(&all, &[("debian", "[a]"), ("windows", "[a]")], &[], false);
        assert_eq!(r.verdict, Verdict::Pending);
        assert!(r.comparison.divergences.is_empty());
        assert_eq!(r.reasons.len(), 1, "{:?}", r.reasons);
        assert!(r.reasons[0].starts_with("2 new snapshots await review"));
        let committed = [(DEBIAN, "[a]"), (WINDOWS, "[b]")];
        let r = verdict_of(
            &all,
            &[("debian", "[a]"), ("windows", "[a]")],
            &committed,
            false,
        );
        assert_eq!(r.verdict, Verdict::NoGo, "{:?}", r.reasons);
        let r = verdict_of(
            &all,
            &[("debian", "[a]"), ("windows", "[a]")],
            &committed,
            true,
        );
        assert_eq!(r.verdict, Verdict::Go, "accepted: {:?}", r.reasons);
        assert!(r.signed_off());
        assert_eq!(r.scope.kind, ScopeKind::Full);
    }

    #[test]
    fn a_cell_alone_is_compared_with_the_primary_and_an_accept_holds_its_divergence_back() {
        let windows = Selection {
            cells: vec!["windows".into()],
            ..Selection::default()
        };
        let committed = [(DEBIAN, "[a, B]"), (WINDOWS, "[a, B]")];
        let r = verdict_of(&windows, &[("windows", "[B, a]")], &committed, true);
        assert_eq!(r.verdict, Verdict::NoGo, "{:?}", r.reasons);
        assert_eq!(r.comparison.divergences[0].against, Against::Baseline);
        assert_eq!(r.held_back, [WINDOWS], "an accept never hides a divergence");
        assert_eq!(r.scope.kind, ScopeKind::Selection);
        assert_eq!(
            r.scope.line(),
            "a selection (cells windows): not a sign-off"
        );
        // With nothing of the primary's to compare with, a lone cell proves nothing.
        let r = verdict_of(
            &windows,
            &[("windows", "[B, a]")],
            &[(WINDOWS, "[B, a]")],
            false,
        );
        assert_eq!(r.verdict, Verdict::Pending, "{:?}", r.reasons);
        assert_eq!(r.comparison.uncompared, [WINDOWS]);
    }

    #[test]
    fn a_shard_that_passes_is_go_but_not_a_sign_off() {
        let shard = Selection {
            shard: Some(Shard { index: 1, count: 2 }),
            ..Selection::default()
        };
        let committed = [(DEBIAN, "[a]"), (WINDOWS, "[a]")];
        let r = verdict_of(&shard, &[("windows", "[a]")], &committed, false);
        assert_eq!(r.verdict, Verdict::Go, "{:?}", r.reasons);
        assert!(!r.signed_off());
        assert_eq!(r.scope.line(), "shard 1 of 2: not a sign-off");
    }
}
