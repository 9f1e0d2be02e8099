//! The release sign-off report as one self-contained HTML file: no script, no network, styles
//! inline. Built with maud, which escapes every value it inserts, so nothing that comes from
//! a server response, a diff or the matrix can become markup; control characters are shown
//! as visible escapes.

use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::groups::{self, DivergenceGroup};
use super::view::{
    self, GO_TEXT, Square, acceptance_text, against_text, headline, pending_baselines, review,
    saved_text, secs, verdict_word,
};
use crate::verdict::{Acceptance, Results, Verdict};
use std::collections::BTreeSet;

fn class(sq: Square) -> &'static str {
    match sq {
        Square::None => "none",
        Square::Passed | Square::Once => "pass",
        Square::Accepted => "accepted",
        Square::Diverged | Square::Failed | Square::Error => "fail",
    }
}

const STYLE: &str = "body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:72rem;padding:0 1rem;color:#1b1f24}\
h1 .go{color:#146c2e}h1 .nogo{color:#b3261e}h1 .pending{color:#9a6700}table{border-collapse:collapse;margin:1rem 0}\
td,th{border:1px solid #d0d7de;padding:.3rem .6rem;text-align:left}td.pass{background:#dafbe1}\
td.accepted{background:#fff8c5}td.fail{background:#ffebe9;font-weight:600}td.none{color:#8c959f}\
pre{background:#f6f8fa;padding:.7rem;overflow:auto;font-size:13px;white-space:pre-wrap;overflow-wrap:anywhere}\
td,code,li{overflow-wrap:anywhere}.gist{font-weight:600}pre.answer{margin:0;max-height:12rem;font-size:12px}#timeline text{fill:#1b1f24}#timeline rect.wait{fill:#d0d7de}\
#timeline rect.ready{fill:#9ecbff}#timeline rect.pass{fill:#2da44e}#timeline rect.fail{fill:#cf222e}\
#timeline rect.accepted{fill:#d4a72c}#timeline rect.stop{fill:#8c959f}.everywhere{color:#b3261e}td a{color:inherit}.reason{color:#57606a}\
.badge{border-radius:.6rem;padding:.05rem .5rem;font-size:12px;font-weight:600}.badge.native{background:#dafbe1}\
.badge.emulated{background:#fff8c5}.badge.container{background:#ddf4ff}.badge.signoff{background:#dafbe1}\
.badge.partial{background:#ffebe9}pre.diff .del{background:#ffebe9;color:#82071e}\
pre.diff .ins{background:#dafbe1;color:#116329}pre.diff .hunk{color:#0550ae}pre.diff .head{font-weight:600}\
.request{margin:.3rem 0}#unaccepted h2,#failures h2{color:#b3261e}";

/// The report.
pub fn render(r: &Results) -> String {
    let verdict = verdict_word(r.verdict);
    let vclass = match r.verdict {
        Verdict::Go => "go",
        Verdict::NoGo => "nogo",
        Verdict::Pending => "pending",
    };
    // Each grid square links to one anchor; the first finding of its suite and cell holds it.
    let mut anchors = BTreeSet::new();
    let page: Markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { "Release sign-off: " (headline(r)) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                h1 #verdict {
                    "Release sign-off: " span class=(vclass) { (verdict) } " (" (r.scope.line()) ")"
                }
                p #scope {
                    span class={ "badge " @if r.scope.sign_off { "signoff" } @else { "partial" } } {
                        @if r.scope.sign_off { "sign-off" } @else { "not a sign-off" }
                    }
                    " scope: " (r.scope.text)
                }
                @if !r.scope.sign_off {
                    p #not-a-sign-off {
                        strong { "Not a sign-off" } ": this verdict covers " (r.scope.text)
                        ". Only the full plan, run at once or as a complete merge of its shards, signs a release off."
                    }
                }
                @if r.reasons.is_empty() {
                    p { (GO_TEXT) }
                } @else {
                    ul #reasons { @for reason in &r.reasons { li { (code_spans(reason)) } } }
                }
                // The grid at a glance, each square linking to its findings; then what
                // stops a release, each once, before what was accepted.
                (grid(r))
                (needs_action(r))
                (failures(r, &mut anchors))
                (divergences(r, &mut anchors))
                (stale(r))
                (baselines(r))
                (audit(r))
                (noise(r))
                (explored(r))
                (cells(r))
                (jobs(r))
                h2 #provenance-heading { "Provenance" }
                ul #provenance {
                    @for (k, v) in view::provenance(r) { li { (k) ": " (v) } }
                    li { "scope: " (r.scope.line()) }
                    li { "took: " (secs(r.duration)) }
                    @for shard in &r.provenance.shards { li { "shard: " (shard) } }
                }
                h2 { "Logs" }
                ul #logs {
                    @for c in &r.plan.cells {
                        @if let Some(link) = r.logs.get(&c.name) {
                            li { a href={ (link) "/" } { (c.name) } ": build, server and suite logs of " (c.name) }
                        }
                    }
                }
            }
        }
    };
    // maud escaped the markup; control characters from a server (an ANSI escape, a NUL)
    // are not markup but are no text either, so they are shown as escapes.
    super::escape::terminal(&page.into_string()) + "\n"
}

/// The harness's own words with their `code spans` as code.
fn code_spans(text: &str) -> Markup {
    html! {
        @for (i, part) in text.split('`').enumerate() {
            @if i % 2 == 1 { code { (part) } } @else { (part) }
        }
    }
}

/// A unified diff, each line marked as removed, added, a hunk header or a file header.
fn diff(text: &str) -> Markup {
    html! {
        pre.diff {
            @for line in text.lines() {
                @let class = if line.starts_with("---") || line.starts_with("+++") {
                    "head"
                } else if line.starts_with('-') {
                    "del"
                } else if line.starts_with('+') {
                    "ins"
                } else if line.starts_with("@@") {
                    "hunk"
                } else {
                    "ctx"
                };
                span class=(class) { (line) "\n" }
            }
        }
    }
}

/// What a case asked on `cell`, and the link to its raw requests and responses.
fn requests(r: &Results, suite: &str, case: &str, cell: &str, step: Option<&str>) -> Markup {
    let evidence = view::case_evidence(r, suite, case, cell);
    let asked: Vec<_> = evidence
        .requests
        .iter()
        .filter(|(s, _)| step.is_none_or(|step| step == s))
        .collect();
    html! {
        @if !asked.is_empty() || evidence.exchanges.is_some() {
            div.request {
                @for (step, expression) in asked {
                    code { (expression) } span.reason { " (step " (step) ")" } br;
                }
                @if let Some(link) = &evidence.exchanges {
                    a href=(link) { "requests and raw responses on " (cell) }
                }
            }
        }
    }
}

fn cells(r: &Results) -> Markup {
    html! {
        h2 { "Cells" }
        table #cells {
            tr { th { "cell" } th { "target" } th { "triple" } th { "runs" } }
            @for c in view::cells(r) {
                tr {
                    td { (c.name) @if c.primary { " (primary)" } }
                    td { (c.target) }
                    td { (c.triple) }
                    td {
                        @if c.kind.is_empty() {
                            "did not run"
                        } @else {
                            span class={ "badge " (c.kind) } data-cell=(c.name) { (c.kind) }
                            " " (c.by)
                            @if let Some(windows) = &c.windows {
                                "; " span.windows data-cell=(c.name) { (windows) }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn grid(r: &Results) -> Markup {
    // Cells of one platform that answered alike share a column.
    let (columns, rows) = view::grid_columns(r);
    html! {
        h2 { "Suites by cells" }
        table #grid {
            tr {
                th { "suite" }
                th { "scope" }
                @for c in &columns {
                    th data-cells=(c.cells.len()) { (c.name) }
                }
            }
            @for row in rows {
                tr {
                    td { (row.suite) }
                    td { (row.scope.as_str()) }
                    @for (sq, column) in row.squares.iter().zip(&columns) {
                        td class=(class(*sq)) data-suite=(row.suite) data-cell=(column.first) {
                            @if *sq == Square::None {
                                (sq.label())
                            } @else {
                                a href={ "#" (anchor(*sq, &row.suite, &column.first)) } { (sq.label()) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Where a grid square's link goes: its failures, its divergences, or its row of jobs.
fn anchor(sq: Square, suite: &str, cell: &str) -> String {
    let kind = match sq {
        Square::Failed | Square::Error => "fail",
        Square::Diverged | Square::Accepted => "diverged",
        _ => "job",
    };
    format!("{kind}-{suite}-{cell}")
}

/// A group of divergences of one step, the same on each of its cells: anchors for the grid,
/// the one-line gist, the requests, the folded diff and the command that shows it.
fn divergence(r: &Results, g: &DivergenceGroup<'_>, anchors: &mut BTreeSet<String>) -> Markup {
    let d = g.first;
    html! {
        div.divergence data-cell=(g.cells.join(" ")) data-suite=(d.suite) data-case=(d.case) {
            @for cell in &g.cells {
                @let id = format!("diverged-{}-{cell}", d.suite);
                @if anchors.insert(id.clone()) { span id=(id) {} }
            }
            h3 { (d.suite) " / " (d.case) " / step " (d.step) ": " (g.cells.join(", ")) " against " (d.primary) }
            p.reason { (acceptance_text(&d.acceptance)) " (" (against_text(d)) ")" }
            @if !d.gist.is_empty() { p.gist { (d.gist) } }
            (requests(r, &d.suite, &d.case, &d.cell, Some(&d.step)))
            (diff(&groups::fold(&d.diff)))
            p.reason { "Show it: " code { (crate::invocation::command()) " show " (d.suite) "/" (d.case) " --cell " (d.cell) } }
        }
    }
}

fn divergences(r: &Results, anchors: &mut BTreeSet<String>) -> Markup {
    let open = groups::divergences(r.comparison.failing());
    let accepted = groups::divergences(
        r.comparison
            .divergences
            .iter()
            .filter(|d| matches!(d.acceptance, Acceptance::Accepted { .. })),
    );
    let accepted_count: usize = accepted.iter().map(|g| g.cells.len()).sum();
    let open_count: usize = open.iter().map(|g| g.cells.len()).sum();
    html! {
        @if !open.is_empty() {
            section #unaccepted {
                h2 { "Unaccepted divergences (" (open_count) ")" }
                @for g in &open { (divergence(r, g, anchors)) }
            }
        }
        section #accepted {
            h2 { "Accepted divergences (" (accepted_count) ")" }
            @if accepted.is_empty() && open.is_empty() {
                p { "Every cell behaved as the primary cell." }
            }
            @if !accepted.is_empty() {
                // Accepted is known: collapsed, one line per group until opened.
                details {
                    summary { (view::count(accepted_count, "accepted divergence", "accepted divergences")) " in " (accepted.len()) " " (if accepted.len() == 1 { "group" } else { "groups" }) }
                    @for g in &accepted { (divergence(r, g, anchors)) }
                }
            }
        }
    }
}

fn failures(r: &Results, anchors: &mut BTreeSet<String>) -> Markup {
    let failures = groups::failures(r);
    let errors: Vec<_> = r.jobs.iter().filter(|j| j.error.is_some()).collect();
    let count: usize = failures.iter().map(|g| g.cells.len()).sum::<usize>() + errors.len();
    html! {
        @if count > 0 {
            section #failures {
                h2 { "Failures (" (count) ")" }
                @for g in &failures {
                    div.failure data-cell=(g.cells.join(" ")) data-suite=(g.suite) data-case=(g.case) {
                        @for cell in &g.cells {
                            @let id = format!("fail-{}-{cell}", g.suite);
                            @if anchors.insert(id.clone()) { span id=(id) {} }
                        }
                        h3 { (g.suite) " / " (g.case) " on " (g.cells.join(", ")) }
                        @if g.everywhere {
                            p.everywhere { "Fails on every cell that ran it: not a platform difference." }
                        }
                        (requests(r, g.suite, g.case, g.cells[0], None))
                        pre { (g.failure) }
                        p.reason { "Show it: " code { (crate::invocation::command()) " show " (g.suite) "/" (g.case) " --cell " (g.cells[0]) } }
                    }
                }
                @for job in &errors {
                    div.failure data-cell=(job.cell) data-suite=(job.suite) data-case="(job)" {
                        @let id = format!("fail-{}-{}", job.suite, job.cell);
                        @if anchors.insert(id.clone()) { span id=(id) {} }
                        h3 { (job.suite) " could not run on " (job.cell) }
                        pre { (job.error.as_deref().unwrap_or_default()) }
                    }
                }
            }
        }
    }
}

/// What needs action, as report.md has it first: each finding once, with its cells.
fn needs_action(r: &Results) -> Markup {
    let failures = groups::failures(r);
    let open = groups::divergences(r.comparison.failing());
    let (_, changed) = pending_baselines(r);
    let errors: Vec<_> = r.jobs.iter().filter(|j| j.error.is_some()).collect();
    let rows = failures.len() + open.len() + changed.len() + errors.len();
    html! {
        @if rows > 0 {
            section #needs-action {
                h2 { "Needs action (" (rows) ")" }
                table #actions {
                    tr { th { "what" } th { "case" } th { "cells" } th { "how" } }
                    @for g in &failures {
                        tr {
                            td.fail { a href={ "#fail-" (g.suite) "-" (g.cells[0]) } { "failed" } }
                            td { (g.suite) "/" (g.case) }
                            td { (g.cells.join(", ")) @if g.everywhere { " (every cell that ran it: not a platform difference)" } }
                            td { (g.failure.lines().next().unwrap_or_default()) }
                        }
                    }
                    @for job in &errors {
                        tr {
                            td.fail { a href={ "#fail-" (job.suite) "-" (job.cell) } { "could not run" } }
                            td { (job.suite) }
                            td { (job.cell) }
                            td { (job.error.as_deref().unwrap_or_default().lines().next().unwrap_or_default()) }
                        }
                    }
                    @for g in &open {
                        tr {
                            td.fail { a href={ "#diverged-" (g.first.suite) "-" (g.cells[0]) } { "unaccepted divergence" } }
                            td { (g.first.suite) "/" (g.first.case) " step " (g.first.step) }
                            td { (g.cells.join(", ")) }
                            td { (g.first.gist) }
                        }
                    }
                    @for b in &changed {
                        tr {
                            td.fail { a href="#changed" { "differs from its baseline" } }
                            td { (b.name) }
                            td {}
                            td { (b.gist) }
                        }
                    }
                }
            }
        }
    }
}

fn stale(r: &Results) -> Markup {
    html! {
        @if !r.comparison.stale.is_empty() {
            section #stale {
                h2 { "Stale accepted divergences (" (r.comparison.stale.len()) ")" }
                p { "They no longer happen; remove them from matrix.toml." }
                ul {
                    @for st in &r.comparison.stale {
                        li { (st.suite) " / " (st.case) " on " (st.cell) " no longer differs (" (st.reason) ")" }
                    }
                }
            }
        }
    }
}

fn audit(r: &Results) -> Markup {
    let c = &r.comparison;
    html! {
        @if !c.not_agnostic.is_empty() || !c.agnostic_candidates.is_empty() {
            section #audit {
                h2 { "Audit" }
                @if !c.not_agnostic.is_empty() {
                    p { "Agnostic suites that behave differently between cells:" }
                    @for g in groups::divergences(&c.not_agnostic) { (divergence(r, &g, &mut BTreeSet::new())) }
                }
                @if !c.agnostic_candidates.is_empty() {
                    p {
                        "Per-target suites that behaved the same on every cell (candidates for "
                        code { "scope = \"agnostic\"" } "): " (c.agnostic_candidates.join(", "))
                    }
                }
            }
        }
    }
}

fn noise(r: &Results) -> Markup {
    html! {
        @if let Some(rule) = &r.noise_check {
            section #noise {
                h2 { "Noise check" }
                p { (rule) "." }
                @if r.noise.is_empty() {
                    p { "Nothing differed between the two runs." }
                }
                @for n in &r.noise {
                    h3 { (n.suite) " / " (n.case) " / step " (n.step) }
                    p { "Suggestion (paste into matrix.toml):" }
                    pre.suggestion { (n.suggestion) }
                    (diff(&n.diff))
                }
            }
        }
    }
}

fn explored(r: &Results) -> Markup {
    html! {
        @if let Some(x) = &r.explored {
            section #explored {
                h2 { "Explored" }
                p {
                    (x.probes) " probes on each of " (x.cells.len()) " cells from " (x.bases)
                    " paths (seed " (x.seed) ", budget " (x.budget) "): " (x.findings())
                    " findings, " (x.findings() - x.unknown()) " of them known."
                }
                @if !x.classes.is_empty() {
                    table {
                        tr { th { "class" } th { "smallest request" } th { "cells" } th { "findings" } th { "known" } th { "found by" } }
                        @for row in view::explored(x) {
                            tr {
                                td { (row.class) }
                                td { code { (row.request) } }
                                td { (row.cells) }
                                td { (row.findings) }
                                td { (row.known) }
                                td { (row.mutations) }
                            }
                        }
                    }
                    // Every finding, with each cell's answer: a class with unknown findings
                    // (what makes the run NO-GO) open, unknown findings first.
                    @for class in &x.classes {
                        @let unknown = class.findings.iter().filter(|f| f.known.is_none()).count();
                        details.findings data-class=(class.class.as_str()) open[unknown > 0] {
                            summary {
                                (class.class.as_str()) ": " (view::count(class.findings.len(), "finding", "findings"))
                                @if unknown > 0 { ", " strong { (unknown) " unknown" } }
                            }
                            table {
                                tr {
                                    th { "request" } th { "mutation" } th { "differs on" } th { "known" }
                                    @for cell in &x.cells { th { (cell) } }
                                }
                                @for f in class.findings.iter().filter(|f| f.known.is_none()).chain(class.findings.iter().filter(|f| f.known.is_some())) {
                                    tr.finding data-probe=(f.probe) {
                                        td { code { (f.request) } }
                                        td { (f.mutation.as_str()) }
                                        td { (f.cells.join(", ")) }
                                        td { @match &f.known { Some(why) => (why), None => strong { "UNKNOWN" } } }
                                        @for cell in &x.cells {
                                            td { pre.answer { (answer(f.answers.get(cell).map_or("", String::as_str))) } }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// An explore answer, cut to what a table cell shows; `show` and explore.json have it all.
fn answer(text: &str) -> String {
    const MAX: usize = 600;
    if text.len() <= MAX {
        return text.to_owned();
    }
    let mut end = MAX;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!(
        "{}\n… {} more bytes (explore.json has them)",
        &text[..end],
        text.len() - end
    )
}

fn jobs(r: &Results) -> Markup {
    html! {
        h2 { "What ran where" }
        p { (saved_text(r)) }
        @if let Some(cached) = view::cached_text(r) {
            p #cached { (cached) }
        }
        (super::timeline::render(r))
        table #jobs {
            tr { th { "cell" } th { "suite" } th { "cases" } th { "time" } th { "log" } }
            @for job in view::jobs(r) {
                tr id={ "job-" (job.suite) "-" (job.cell) } {
                    td { (job.cell) }
                    td { (job.suite) }
                    td { (job.cases) }
                    td { (job.time()) }
                    td {
                        @if let Some(link) = r.logs.get(&job.cell) {
                            a href={ (link) "/" (job.suite) ".server.stdout.log" } { "stdout" }
                            " "
                            a href={ (link) "/" (job.suite) ".server.stderr.log" } { "stderr" }
                        }
                    }
                }
            }
        }
    }
}

fn baselines(r: &Results) -> Markup {
    let (new, changed) = pending_baselines(r);
    html! {
        @if !changed.is_empty() {
            h2 #changed { "Snapshots that differ from their committed baselines (" (changed.len()) ")" }
            @for b in &changed {
                h3 { (b.name) }
                @if !b.gist.is_empty() { p.gist { (b.gist) } }
                (diff(&groups::fold(&b.diff)))
            }
        }
        @if !new.is_empty() {
            h2 #new { "New snapshots (" (new.len()) ")" }
            p { "Not yet baselines; review them with " (review()) "." }
            ul #new-snapshots { @for b in &new { li { (b.name) } } }
        }
        @if !r.held_back.is_empty() {
            h2 { "Not accepted" }
            p { "Their cell diverges from the primary unaccepted; accept the divergence in matrix.toml first." }
            ul #held-back { @for name in &r.held_back { li { (name) } } }
        }
        @if !r.comparison.uncompared.is_empty() {
            h2 { "Not compared across cells (" (r.comparison.uncompared.len()) ")" }
            p { "The primary cell neither ran these steps nor has committed baselines for them." }
            ul #uncompared { @for name in &r.comparison.uncompared { li { (name) } } }
        }
    }
}
