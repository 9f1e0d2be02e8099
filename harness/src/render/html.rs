//! The release sign-off report as one self-contained HTML file: no script, no network, styles
//! inline. Built with maud, which escapes every value it inserts, so nothing that comes from
//! a server response, a diff or the matrix can become markup; control characters are shown
//! as visible escapes.

use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::view::{
    self, GO_TEXT, REVIEW, Square, acceptance_text, against_text, headline, pending_baselines,
    saved_text, secs, verdict_word,
};
use crate::verdict::{Results, Status, Verdict};

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
pre{background:#f6f8fa;padding:.7rem;overflow:auto;font-size:13px}.reason{color:#57606a}\
.badge{border-radius:.6rem;padding:.05rem .5rem;font-size:12px;font-weight:600}.badge.native{background:#dafbe1}\
.badge.emulated{background:#fff8c5}.badge.container{background:#ddf4ff}";

/// The report.
pub fn render(r: &Results) -> String {
    let verdict = verdict_word(r.verdict);
    let vclass = match r.verdict {
        Verdict::Go => "go",
        Verdict::NoGo => "nogo",
        Verdict::Pending => "pending",
    };
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
                @if !r.scope.sign_off {
                    p #not-a-sign-off {
                        strong { "Not a sign-off" } ": this verdict covers " (r.scope.text)
                        ". Only the full plan, run at once or as a complete merge of its shards, signs a release off."
                    }
                }
                @if r.reasons.is_empty() {
                    p { (GO_TEXT) }
                } @else {
                    ul #reasons { @for reason in &r.reasons { li { (reason) } } }
                }
                (cells(r))
                (grid(r))
                (divergences(r))
                (baselines(r))
                (failures(r))
                (jobs(r))
                h2 { "Provenance" }
                ul #provenance {
                    @for (k, v) in view::provenance(r) { li { (k) ": " (v) } }
                    li { "scope: " (r.scope.line()) }
                    @for shard in &r.provenance.shards { li { "shard: " (shard) } }
                }
            }
        }
    };
    // maud escaped the markup; control characters from a server (an ANSI escape, a NUL)
    // are not markup but are no text either, so they are shown as escapes.
    super::escape::terminal(&page.into_string()) + "\n"
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
                        }
                    }
                }
            }
        }
    }
}

fn grid(r: &Results) -> Markup {
    html! {
        h2 { "Suites by cells" }
        table #grid {
            tr {
                th { "suite" }
                th { "scope" }
                @for c in &r.plan.cells {
                    th { (c.name) @if c.primary { " (primary)" } }
                }
            }
            @for row in view::grid(r) {
                tr {
                    td { (row.suite) }
                    td { (row.scope.as_str()) }
                    @for (sq, cell) in row.squares.iter().zip(&r.plan.cells) {
                        td class=(class(*sq)) data-suite=(row.suite) data-cell=(cell.name) {
                            (sq.label())
                        }
                    }
                }
            }
        }
    }
}

fn divergences(r: &Results) -> Markup {
    let divergences: Vec<_> = r.comparison.all_divergences().collect();
    html! {
        h2 { "Divergences (" (divergences.len()) ")" }
        @for d in divergences {
            h3 { (d.suite) " / " (d.case) " / step " (d.step) ": " (d.cell) " against " (d.primary) }
            p.reason { (acceptance_text(&d.acceptance)) " (" (against_text(d)) ")" }
            pre.diff { (d.diff) }
        }
    }
}

fn failures(r: &Results) -> Markup {
    let failures: Vec<_> = r
        .runs
        .iter()
        .filter(|x| x.detail.is_some() && matches!(x.status, Status::Failed | Status::Error))
        .collect();
    html! {
        @if !failures.is_empty() {
            h2 { "Failures (" (failures.len()) ")" }
            @for f in failures {
                h3 { (f.suite) " / " (f.case) " on " (f.cell) }
                pre { (f.detail.as_deref().unwrap_or("")) }
            }
        }
    }
}

fn jobs(r: &Results) -> Markup {
    html! {
        h2 { "What ran where" }
        p { (saved_text(r)) }
        table #jobs {
            tr { th { "cell" } th { "suite" } th { "cases" } th { "time" } th { "log" } }
            @for job in view::jobs(r) {
                tr {
                    td { (job.cell) }
                    td { (job.suite) }
                    td { (job.cases) }
                    td { (secs(job.duration)) }
                    td {
                        @if let Some(link) = r.logs.get(&job.cell) {
                            a href={ (link) "/" (job.suite) ".server.log" } { "server log" }
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
            h2 { "Snapshots that differ from their committed baselines (" (changed.len()) ")" }
            @for b in &changed {
                h3 { (b.name) }
                pre.diff { (b.diff) }
            }
        }
        @if !new.is_empty() {
            h2 { "New snapshots (" (new.len()) ")" }
            p { "Not yet baselines; review them with " (REVIEW) "." }
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
