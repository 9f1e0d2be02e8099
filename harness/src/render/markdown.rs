//! The release sign-off report in Markdown: the verdict and why, a grid of suites by cells,
//! every divergence with its diff and reason, what ran where and how long, the share of runs
//! saved by agnostic suites, provenance, and the logs.

use std::fmt::Write;

use super::escape::{fenced, inline as e};
use super::groups::{self, DivergenceGroup};
use super::view::{
    self, GO_TEXT, acceptance_text, against_text, headline, pending_baselines, review, saved_text,
    secs,
};
use crate::verdict::{Acceptance, Results};

/// The report.
pub fn render(r: &Results) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# Release sign-off: {}\n", e(&headline(r)));
    if !r.scope.sign_off {
        let _ = writeln!(
            s,
            "**Not a sign-off**: this verdict covers {}. Only the full plan, run at once or as a complete merge of its shards, signs a release off.\n",
            e(&r.scope.text)
        );
    }
    if r.reasons.is_empty() {
        let _ = writeln!(s, "{GO_TEXT}\n");
    } else {
        for reason in &r.reasons {
            // The harness's own words, with code spans; no server text.
            let _ = writeln!(s, "- {reason}");
        }
        s.push('\n');
    }
    needs_action(&mut s, r);
    let _ = writeln!(
        s,
        "## Cells\n\n| cell | target | triple | runs |\n|---|---|---|---|"
    );
    for c in view::cells(r) {
        let _ = writeln!(
            s,
            "| {}{} | {} | {} | {} |",
            e(&c.name),
            if c.primary { " (primary)" } else { "" },
            e(&c.target),
            e(&c.triple),
            if c.kind.is_empty() {
                "did not run".to_owned()
            } else {
                match &c.windows {
                    Some(windows) => format!("{}: {}; {}", c.kind, e(&c.by), e(windows)),
                    None => format!("{}: {}", c.kind, e(&c.by)),
                }
            }
        );
    }
    s.push('\n');
    let _ = writeln!(s, "## Suites by cells\n");
    // Cells of one platform that answered alike share a column.
    let (columns, rows) = view::grid_columns(r);
    let _ = write!(s, "| suite | scope |");
    for c in &columns {
        let _ = write!(s, " {} |", e(&c.name));
    }
    let _ = write!(s, "\n|---|---|");
    for _ in &columns {
        s.push_str("---|");
    }
    s.push('\n');
    for row in rows {
        let _ = write!(s, "| {} | {} |", e(&row.suite), row.scope.as_str());
        for sq in row.squares {
            let _ = write!(s, " {} |", sq.label());
        }
        s.push('\n');
    }
    // Divergences: what needs action in full, grouped across cells; what was accepted
    // collapsed, for the record.
    let all: Vec<_> = r.comparison.all_divergences().collect();
    let _ = writeln!(s, "\n## Divergences ({})\n", all.len());
    if all.is_empty() {
        let _ = writeln!(s, "Every cell behaved as the primary cell.");
    }
    let (accepted, failing): (Vec<_>, Vec<_>) = all
        .into_iter()
        .partition(|d| matches!(d.acceptance, Acceptance::Accepted { .. }));
    for g in groups::divergences(failing) {
        divergence(&mut s, &g);
    }
    if !accepted.is_empty() {
        let _ = writeln!(
            s,
            "<details><summary>{} accepted</summary>\n",
            view::count(accepted.len(), "divergence", "divergences")
        );
        for g in groups::divergences(accepted) {
            divergence(&mut s, &g);
        }
        let _ = writeln!(s, "</details>\n");
    }
    if !r.comparison.stale.is_empty() {
        let _ = writeln!(s, "## Stale accepted divergences\n");
        for st in &r.comparison.stale {
            let _ = writeln!(
                s,
                "- {} / {} on {} no longer differs ({})",
                e(&st.suite),
                e(&st.case),
                e(&st.cell),
                e(&st.reason)
            );
        }
        s.push('\n');
    }
    let (new, changed) = pending_baselines(r);
    if !changed.is_empty() {
        let _ = writeln!(
            s,
            "## Snapshots that differ from their committed baselines ({})\n",
            changed.len()
        );
        for b in &changed {
            let _ = writeln!(
                s,
                "### {}\n\n{}\n\n{}\n",
                e(&b.name),
                e(&b.gist),
                fenced("diff", &groups::fold(&b.diff))
            );
        }
    }
    if !new.is_empty() {
        let _ = writeln!(
            s,
            "## New snapshots ({})\n\nNot yet baselines; review them with {}.\n",
            new.len(),
            review()
        );
        for b in &new {
            let _ = writeln!(s, "- {}", e(&b.name));
        }
        s.push('\n');
    }
    if !r.held_back.is_empty() {
        let _ = writeln!(
            s,
            "## Not accepted\n\nTheir cell diverges from the primary unaccepted; accept the divergence in matrix.toml first.\n"
        );
        for name in &r.held_back {
            let _ = writeln!(s, "- {}", e(name));
        }
        s.push('\n');
    }
    if !r.comparison.uncompared.is_empty() {
        let _ = writeln!(
            s,
            "## Not compared across cells ({})\n\nThe primary cell neither ran these steps nor has committed baselines for them.\n",
            r.comparison.uncompared.len()
        );
        for name in &r.comparison.uncompared {
            let _ = writeln!(s, "- {}", e(name));
        }
        s.push('\n');
    }
    if !r.comparison.agnostic_candidates.is_empty() {
        let _ = writeln!(
            s,
            "## Audit\n\nPer-target suites that behaved the same on every cell: {}\n",
            e(&r.comparison.agnostic_candidates.join(", "))
        );
    }
    if let Some(rule) = &r.noise_check {
        let _ = writeln!(s, "## Noise check\n\n{rule}.\n");
        if r.noise.is_empty() {
            let _ = writeln!(s, "Nothing differed between the two runs.\n");
        }
        for n in &r.noise {
            let _ = writeln!(
                s,
                "### {} / {} / step {}\n\nsuggestion:\n\n{}\n\n{}\n",
                e(&n.suite),
                e(&n.case),
                e(&n.step),
                fenced("toml", &n.suggestion),
                fenced("diff", &n.diff)
            );
        }
    }
    if let Some(x) = &r.explored {
        let _ = writeln!(
            s,
            "## Explored\n\n{} probes on each of {} cells from {} paths (seed {}, budget {}): {} findings, {} of them known.\n",
            x.probes,
            x.cells.len(),
            x.bases,
            x.seed,
            x.budget,
            x.findings(),
            x.findings() - x.unknown()
        );
        if !x.classes.is_empty() {
            let _ = writeln!(
                s,
                "| class | smallest request | cells | findings | known | found by |\n|---|---|---|---|---|---|"
            );
            for row in super::view::explored(x) {
                let _ = writeln!(
                    s,
                    "| {} | {} | {} | {} | {} | {} |",
                    row.class,
                    e(&row.request),
                    e(&row.cells),
                    row.findings,
                    row.known,
                    row.mutations
                );
            }
            let _ = writeln!(s);
        }
    }
    let _ = writeln!(s, "## What ran where\n");
    let _ = writeln!(s, "{}\n", saved_text(r));
    if let Some(cached) = view::cached_text(r) {
        let _ = writeln!(s, "{cached}\n");
    }
    let _ = writeln!(
        s,
        "| cell | suite | cases | passed | time |\n|---|---|---|---|---|"
    );
    for job in view::jobs(r) {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} |",
            e(&job.cell),
            e(&job.suite),
            job.cases,
            job.passed,
            e(&job.time())
        );
    }
    let _ = writeln!(s, "\n## Provenance\n");
    for (k, v) in view::provenance(r) {
        let _ = writeln!(s, "- {k}: {}", e(&v));
    }
    let _ = writeln!(s, "- scope: {}", e(&r.scope.line()));
    let _ = writeln!(s, "- took: {}", secs(r.duration));
    for shard in &r.provenance.shards {
        let _ = writeln!(s, "- shard: {}", e(shard));
    }
    let _ = writeln!(s, "\n## Logs\n");
    for c in &r.plan.cells {
        if let Some(link) = r.logs.get(&c.name) {
            let _ = writeln!(
                s,
                "- [{0}](<{1}/>): build, server and suite logs of {0}",
                e(&c.name),
                link.replace(['<', '>', '\n'], "")
            );
        }
    }
    s
}

/// One group of divergences: its step, cells, acceptance, the gist and the folded diff.
fn divergence(s: &mut String, g: &DivergenceGroup<'_>) {
    let d = g.first;
    let _ = writeln!(
        s,
        "### {} / {} / step {}: {} against {}\n\n{} ({})\n\n{}\n\n{}\n",
        e(&d.suite),
        e(&d.case),
        e(&d.step),
        e(&g.cells.join(", ")),
        e(&d.primary),
        e(&acceptance_text(&d.acceptance)),
        e(&against_text(d)),
        e(&d.gist),
        fenced("diff", &groups::fold(&d.diff))
    );
}

/// The command that shows `suite/case` on `cell`, as a code span.
fn show(suite: &str, case: &str, cell: &str) -> String {
    let cmd = format!(
        "{} show {} --cell {}",
        crate::invocation::command(),
        shell_words::quote(&format!("{suite}/{case}")),
        shell_words::quote(cell)
    );
    super::escape::fenced_inline(&cmd)
}

/// What needs action, before anything else: every failed case, job in error, unaccepted
/// divergence and changed snapshot, each once with the cells it applies to and the command
/// that shows it.
fn needs_action(s: &mut String, r: &Results) {
    let mut rows: Vec<[String; 5]> = Vec::new();
    for g in groups::failures(r) {
        let mut cells = g.cells.join(", ");
        if g.everywhere {
            cells.push_str(" (every cell that ran it: not a platform difference)");
        }
        rows.push([
            "failed".to_owned(),
            e(&format!("{}/{}", g.suite, g.case)),
            e(&cells),
            e(g.failure.lines().next().unwrap_or_default()),
            show(g.suite, g.case, g.cells[0]),
        ]);
    }
    for job in r.jobs.iter().filter(|j| j.error.is_some()) {
        rows.push([
            "could not run".to_owned(),
            e(&job.suite),
            e(&job.cell),
            e(job
                .error
                .as_deref()
                .unwrap_or_default()
                .lines()
                .next()
                .unwrap_or_default()),
            r.logs
                .get(&job.cell)
                .map(|link| format!("[logs](<{}/>)", link.replace(['<', '>', '\n'], "")))
                .unwrap_or_default(),
        ]);
    }
    for g in groups::divergences(r.comparison.failing()) {
        let d = g.first;
        rows.push([
            match &d.acceptance {
                Acceptance::Expired { .. } => "divergence, acceptance expired".to_owned(),
                _ => "unaccepted divergence".to_owned(),
            },
            e(&format!("{}/{} step {}", d.suite, d.case, d.step)),
            e(&g.cells.join(", ")),
            e(&d.gist),
            show(&d.suite, &d.case, &d.cell),
        ]);
    }
    let (_, changed) = pending_baselines(r);
    for b in changed {
        rows.push([
            "differs from its baseline".to_owned(),
            e(&b.name),
            String::new(),
            e(&b.gist),
            e(&review()),
        ]);
    }
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(
        s,
        "## Needs action ({})\n\n| what | case | cells | how | show |\n|---|---|---|---|---|",
        rows.len()
    );
    for row in rows {
        let _ = writeln!(s, "| {} |", row.join(" | "));
    }
    s.push('\n');
}
