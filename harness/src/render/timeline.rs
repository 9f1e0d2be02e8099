//! The run as a picture for report.html: each job a bar on the place (`-j`) it ran in, from
//! when it began to when its server stopped, split into its phases (the wait for its data
//! dir and runtime, readiness, the suite, the stop), coloured by its outcome. Inline SVG, so
//! the report stays one offline file; maud escapes every name in it.

use std::time::Duration;

use maud::{Markup, html};

use super::view::secs;
use crate::outcome::JobResult;
use crate::verdict::{Results, Status};

/// Width of the picture, and of the labels at its left, in pixels.
const WIDTH: f64 = 960.0;
const LABEL: f64 = 70.0;
/// Height of a place's row.
const ROW: f64 = 24.0;

/// The outcome a job's bar is coloured by.
fn outcome(r: &Results, job: &JobResult) -> &'static str {
    let runs = r
        .runs
        .iter()
        .filter(|x| x.suite == job.suite && x.cell == job.cell);
    let mut class = "pass";
    for run in runs {
        match run.status {
            Status::Failed | Status::Error | Status::Diverged => return "fail",
            Status::Accepted => class = "accepted",
            _ => {}
        }
    }
    if job.error.is_some() { "fail" } else { class }
}

/// The timeline of `r`'s jobs; nothing for a merge of shards (each ran on its own clock).
pub fn render(r: &Results) -> Markup {
    let end = r
        .jobs
        .iter()
        .map(|j| j.phases.start + j.duration)
        .max()
        .unwrap_or_default();
    if r.jobs.is_empty() || !r.provenance.shards.is_empty() || end.is_zero() {
        return html! {};
    }
    let places = r.jobs.iter().map(|j| j.phases.slot).max().unwrap_or(0) + 1;
    let height = ROW * places as f64 + 24.0;
    let x = |t: Duration| LABEL + (WIDTH - LABEL - 10.0) * t.as_secs_f64() / end.as_secs_f64();
    let ticks: Vec<Duration> = (0..=4).map(|i| end.mul_f64(f64::from(i) / 4.0)).collect();
    html! {
        p {
            "Each job on the place it ran in: first its wait (a data dir, room in its runtime), then readiness, the suite and the stop. The jobs began "
            (secs(r.prepare)) " into the run, after the builds and the runtimes' preparation."
        }
        svg #timeline xmlns="http://www.w3.org/2000/svg" width=(WIDTH) height=(height)
            viewBox={ "0 0 " (WIDTH) " " (height) } role="img" aria-label="the run's jobs over time" {
            @for place in 0..places {
                text x="4" y=(ROW * place as f64 + 16.0) font-size="12" { "place " (place + 1) }
            }
            @for t in &ticks {
                line x1=(x(*t)) x2=(x(*t)) y1="0" y2=(height - 18.0) stroke="#d0d7de" {}
                text x=(x(*t)) y=(height - 4.0) font-size="11" text-anchor="middle" { (secs(*t)) }
            }
            @for job in r.jobs.iter().filter(|j| j.cached.is_none()) {
                @let p = &job.phases;
                @let busy = p.ready + p.suite + p.stop;
                @let wait = job.duration.saturating_sub(busy);
                @let y = ROW * p.slot as f64 + 3.0;
                @let segments = [
                    ("wait", p.start, wait),
                    ("ready", p.start + wait, p.ready),
                    (outcome(r, job), p.start + wait + p.ready, p.suite),
                    ("stop", p.start + wait + p.ready + p.suite, p.stop),
                ];
                g.job data-suite=(job.suite) data-cell=(job.cell) data-slot=(p.slot) {
                    title {
                        (job.suite) " on " (job.cell) ": " (secs(job.duration)) " (wait "
                        (secs(wait)) ", ready " (secs(p.ready)) ", suite " (secs(p.suite))
                        ", stop " (secs(p.stop)) ")"
                    }
                    @for (class, from, length) in segments {
                        rect class=(class) x=(x(from)) y=(y) width=((x(from + length) - x(from)).max(0.5)) height=(ROW - 6.0) {}
                    }
                    @if x(p.start + job.duration) - x(p.start) > 90.0 {
                        text x=(x(p.start) + 3.0) y=(y + 13.0) font-size="11" { (job.cell) " " (job.suite) }
                    }
                }
            }
        }
    }
}
