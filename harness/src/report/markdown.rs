//! The release sign-off report in Markdown: the verdict and why, a grid of suites by cells,
//! every divergence with its diff and reason, what ran where and how long, the share of runs
//! saved by agnostic suites, provenance, and the logs.

use std::fmt::Write;

use super::{Results, Status, Verdict};
use crate::matrix::Scope;
use crate::plan::scope_name;
use crate::snapshot::Acceptance;

/// One square of the grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Square {
    /// Not planned there.
    None,
    /// Every case passed.
    Passed,
    /// Every case passed, on the only cell that runs this agnostic suite.
    Once,
    /// Some case differs from the primary cell, as accepted.
    Accepted,
    /// Some case differs from the primary cell, unaccepted.
    Diverged,
    /// Some case failed.
    Failed,
    /// The job could not run.
    Error,
}

impl Square {
    /// The word shown for it.
    pub fn label(self) -> &'static str {
        match self {
            Square::None => "—",
            Square::Passed => "passed",
            Square::Once => "passed (once, agnostic)",
            Square::Accepted => "accepted divergence",
            Square::Diverged => "DIVERGED",
            Square::Failed => "FAILED",
            Square::Error => "ERROR",
        }
    }
}

/// The grid: per suite, its scope and a square per cell (in plan order).
pub fn grid(results: &Results) -> Vec<(String, Scope, Vec<Square>)> {
    results
        .plan
        .suites
        .iter()
        .map(|suite| {
            let squares = results
                .plan
                .cells
                .iter()
                .map(|cell| {
                    let runs: Vec<_> = results
                        .runs
                        .iter()
                        .filter(|r| r.suite == suite.name && r.cell == cell.name)
                        .collect();
                    let has = |s: Status| runs.iter().any(|r| r.status == s);
                    if runs.is_empty() {
                        Square::None
                    } else if has(Status::Error) {
                        Square::Error
                    } else if has(Status::Failed) {
                        Square::Failed
                    } else if has(Status::Diverged) {
                        Square::Diverged
                    } else if has(Status::Accepted) {
                        Square::Accepted
                    } else if suite.scope == Scope::Agnostic && cell.primary {
                        Square::Once
                    } else {
                        Square::Passed
                    }
                })
                .collect();
            (suite.name.clone(), suite.scope, squares)
        })
        .collect()
}

/// A divergence's acceptance in words.
pub fn acceptance_text(acceptance: &Acceptance) -> String {
    match acceptance {
        Acceptance::Accepted { reason } => format!("accepted: {reason}"),
        Acceptance::Expired { reason, expires } => format!("EXPIRED on {expires}: {reason}"),
        Acceptance::Unaccepted => "NOT ACCEPTED".to_owned(),
    }
}

/// What the run saved: runs made, runs a naive matrix would make.
pub fn saved(results: &Results) -> (usize, usize) {
    let t = &results.plan.totals;
    (t.runs, t.naive)
}

fn secs(d: std::time::Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}

/// The report.
pub fn render(r: &Results) -> String {
    let mut s = String::new();
    let verdict = match r.verdict {
        Verdict::Go => "GO",
        Verdict::NoGo => "NO-GO",
    };
    let _ = writeln!(s, "# Release sign-off: {verdict}\n");
    if r.reasons.is_empty() {
        let _ = writeln!(
            s,
            "Every case passed on every cell, and every difference between cells is an accepted divergence.\n"
        );
    } else {
        for reason in &r.reasons {
            let _ = writeln!(s, "- {reason}");
        }
        s.push('\n');
    }
    let _ = writeln!(s, "## Suites by cells\n");
    let _ = write!(s, "| suite | scope |");
    for c in &r.plan.cells {
        let _ = write!(
            s,
            " {}{} |",
            c.name,
            if c.primary { " (primary)" } else { "" }
        );
    }
    let _ = write!(s, "\n|---|---|");
    for _ in &r.plan.cells {
        s.push_str("---|");
    }
    s.push('\n');
    for (suite, scope, squares) in grid(r) {
        let _ = write!(s, "| {suite} | {} |", scope_name(scope));
        for sq in squares {
            let _ = write!(s, " {} |", sq.label());
        }
        s.push('\n');
    }
    let divergences: Vec<_> = r.comparison.all_divergences().collect();
    let _ = writeln!(s, "\n## Divergences ({})\n", divergences.len());
    if divergences.is_empty() {
        let _ = writeln!(s, "Every cell behaved as the primary cell.");
    }
    for d in divergences {
        let status = acceptance_text(&d.acceptance);
        let _ = writeln!(
            s,
            "### {} / {} / step {}: {} against {}\n\n{status}\n\n```diff\n{}```\n",
            d.suite, d.case, d.step, d.cell, d.primary, d.diff
        );
    }
    if !r.comparison.stale.is_empty() {
        let _ = writeln!(s, "## Stale accepted divergences\n");
        for st in &r.comparison.stale {
            let _ = writeln!(
                s,
                "- {} / {} on {} no longer differs ({})",
                st.suite, st.case, st.cell, st.reason
            );
        }
        s.push('\n');
    }
    if !r.comparison.baseline.is_empty() {
        let _ = writeln!(
            s,
            "## Snapshots that differ from their baselines ({})\n",
            r.comparison.baseline.len()
        );
        for b in &r.comparison.baseline {
            let _ = writeln!(s, "- {:?}: {}", b.state, b.name);
        }
        s.push('\n');
    }
    if !r.comparison.agnostic_candidates.is_empty() {
        let _ = writeln!(
            s,
            "## Audit\n\nPer-target suites that behaved the same on every cell: {}\n",
            r.comparison.agnostic_candidates.join(", ")
        );
    }
    let (runs, naive) = saved(r);
    let _ = writeln!(s, "## What ran where\n");
    let _ = writeln!(
        s,
        "{runs} suite runs instead of {naive} (every suite on every cell): {} saved by agnostic suites and filters.\n",
        naive.saturating_sub(runs)
    );
    let _ = writeln!(
        s,
        "| cell | suite | cases | passed | time |\n|---|---|---|---|---|"
    );
    for job in &r.jobs {
        let cases: Vec<_> = r
            .runs
            .iter()
            .filter(|x| x.suite == job.suite && x.cell == job.cell)
            .collect();
        let passed = cases
            .iter()
            .filter(|x| matches!(x.status, Status::Passed | Status::Accepted))
            .count();
        let _ = writeln!(
            s,
            "| {} | {} | {} | {passed} | {} |",
            job.cell,
            job.suite,
            cases.len(),
            secs(job.duration)
        );
    }
    let p = &r.provenance;
    let _ = writeln!(s, "\n## Provenance\n");
    let line = |k: &str, v: &Option<String>| {
        v.as_ref()
            .map(|v| format!("- {k}: {v}\n"))
            .unwrap_or_default()
    };
    s.push_str(&line("commit", &p.commit));
    s.push_str(&line("rustc", &p.rustc));
    s.push_str(&line("cargo", &p.cargo));
    s.push_str(&line("wine", &p.wine));
    for e in &p.engines {
        let _ = writeln!(s, "- engine: {e}");
    }
    for i in &p.images {
        let _ = writeln!(s, "- image: {i}");
    }
    let _ = writeln!(
        s,
        "- host: {}\n- started: {}\n- took: {}",
        p.host,
        p.started,
        secs(r.duration)
    );
    for shard in &p.shards {
        let _ = writeln!(s, "- shard: {shard}");
    }
    let _ = writeln!(s, "\n## Logs\n");
    for c in &r.plan.cells {
        let _ = writeln!(
            s,
            "- [{0}](logs/{0}/): build, server and suite logs of {0}",
            c.name
        );
    }
    let _ = writeln!(s, "- [build](logs/build.log)");
    s
}
