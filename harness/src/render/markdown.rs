//! The release sign-off report in Markdown: the verdict and why, a grid of suites by cells,
//! every divergence with its diff and reason, what ran where and how long, the share of runs
//! saved by agnostic suites, provenance, and the logs.

use std::fmt::Write;

use super::view::{self, GO_TEXT, acceptance_text, saved_text, secs, verdict_word};
use crate::verdict::Results;

/// The report.
pub fn render(r: &Results) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# Release sign-off: {}\n", verdict_word(r.verdict));
    if r.reasons.is_empty() {
        let _ = writeln!(s, "{GO_TEXT}\n");
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
    for row in view::grid(r) {
        let _ = write!(s, "| {} | {} |", row.suite, row.scope.as_str());
        for sq in row.squares {
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
    let _ = writeln!(s, "## What ran where\n");
    let _ = writeln!(s, "{}\n", saved_text(r));
    let _ = writeln!(
        s,
        "| cell | suite | cases | passed | time |\n|---|---|---|---|---|"
    );
    for job in view::jobs(r) {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} |",
            job.cell,
            job.suite,
            job.cases,
            job.passed,
            secs(job.duration)
        );
    }
    let _ = writeln!(s, "\n## Provenance\n");
    for (k, v) in view::provenance(r) {
        let _ = writeln!(s, "- {k}: {v}");
    }
    let _ = writeln!(s, "- took: {}", secs(r.duration));
    for shard in &r.provenance.shards {
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
