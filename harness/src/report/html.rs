//! The release sign-off report as one self-contained HTML file: no script, no network, styles
//! inline. Everything that comes from a server response, a diff or the matrix is escaped.

use std::fmt::Write;

use super::markdown::{Square, acceptance_text, grid, saved};
use super::{Results, Verdict};
use crate::plan::scope_name;

fn esc(s: &str) -> String {
    html_escape::encode_text(s).into_owned()
}

fn attr(s: &str) -> String {
    html_escape::encode_double_quoted_attribute(s).into_owned()
}

fn class(sq: Square) -> &'static str {
    match sq {
        Square::None => "none",
        Square::Passed | Square::Once => "pass",
        Square::Accepted => "accepted",
        Square::Diverged | Square::Failed | Square::Error => "fail",
    }
}

const STYLE: &str = "body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:72rem;padding:0 1rem;color:#1b1f24}\
h1 .go{color:#146c2e}h1 .nogo{color:#b3261e}table{border-collapse:collapse;margin:1rem 0}\
td,th{border:1px solid #d0d7de;padding:.3rem .6rem;text-align:left}td.pass{background:#dafbe1}\
td.accepted{background:#fff8c5}td.fail{background:#ffebe9;font-weight:600}td.none{color:#8c959f}\
pre{background:#f6f8fa;padding:.7rem;overflow:auto;font-size:13px}.reason{color:#57606a}";

/// The report.
pub fn render(r: &Results) -> String {
    let mut s = String::new();
    let (verdict, vclass) = match r.verdict {
        Verdict::Go => ("GO", "go"),
        Verdict::NoGo => ("NO-GO", "nogo"),
    };
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Release sign-off: {verdict}</title><style>{STYLE}</style></head><body>\n"
    );
    let _ = writeln!(
        s,
        "<h1 id=\"verdict\">Release sign-off: <span class=\"{vclass}\">{verdict}</span></h1>"
    );
    if r.reasons.is_empty() {
        s.push_str("<p>Every case passed on every cell, and every difference between cells is an accepted divergence.</p>\n");
    } else {
        s.push_str("<ul id=\"reasons\">");
        for reason in &r.reasons {
            let _ = write!(s, "<li>{}</li>", esc(reason));
        }
        s.push_str("</ul>\n");
    }
    s.push_str("<h2>Suites by cells</h2>\n<table id=\"grid\"><tr><th>suite</th><th>scope</th>");
    for c in &r.plan.cells {
        let _ = write!(
            s,
            "<th>{}{}</th>",
            esc(&c.name),
            if c.primary { " (primary)" } else { "" }
        );
    }
    s.push_str("</tr>\n");
    for (suite, scope, squares) in grid(r) {
        let _ = write!(
            s,
            "<tr><td>{}</td><td>{}</td>",
            esc(&suite),
            scope_name(scope)
        );
        for (sq, cell) in squares.iter().zip(&r.plan.cells) {
            let _ = write!(
                s,
                "<td class=\"{}\" data-suite=\"{}\" data-cell=\"{}\">{}</td>",
                class(*sq),
                attr(&suite),
                attr(&cell.name),
                sq.label()
            );
        }
        s.push_str("</tr>\n");
    }
    s.push_str("</table>\n");
    let divergences: Vec<_> = r.comparison.all_divergences().collect();
    let _ = writeln!(s, "<h2>Divergences ({})</h2>", divergences.len());
    for d in divergences {
        let status = acceptance_text(&d.acceptance);
        let _ = writeln!(
            s,
            "<h3>{} / {} / step {}: {} against {}</h3><p class=\"reason\">{}</p><pre class=\"diff\">{}</pre>",
            esc(&d.suite),
            esc(&d.case),
            esc(&d.step),
            esc(&d.cell),
            esc(&d.primary),
            esc(&status),
            esc(&d.diff)
        );
    }
    let failures: Vec<_> = r
        .runs
        .iter()
        .filter(|x| {
            x.detail.is_some() && matches!(x.status, super::Status::Failed | super::Status::Error)
        })
        .collect();
    if !failures.is_empty() {
        let _ = writeln!(s, "<h2>Failures ({})</h2>", failures.len());
        for f in failures {
            let _ = writeln!(
                s,
                "<h3>{} / {} on {}</h3><pre>{}</pre>",
                esc(&f.suite),
                esc(&f.case),
                esc(&f.cell),
                esc(f.detail.as_deref().unwrap_or(""))
            );
        }
    }
    let (runs, naive) = saved(r);
    let _ = writeln!(
        s,
        "<h2>What ran where</h2><p>{runs} suite runs instead of {naive} (every suite on every cell): {} saved by agnostic suites and filters.</p>",
        naive.saturating_sub(runs)
    );
    s.push_str("<table id=\"jobs\"><tr><th>cell</th><th>suite</th><th>cases</th><th>time</th><th>log</th></tr>\n");
    for job in &r.jobs {
        let cases = r
            .runs
            .iter()
            .filter(|x| x.suite == job.suite && x.cell == job.cell)
            .count();
        let _ = writeln!(
            s,
            "<tr><td>{}</td><td>{}</td><td>{cases}</td><td>{:.1}s</td><td><a href=\"logs/{}/{}.server.log\">server log</a></td></tr>",
            esc(&job.cell),
            esc(&job.suite),
            job.duration.as_secs_f64(),
            attr(&job.cell),
            attr(&job.suite)
        );
    }
    s.push_str("</table>\n<h2>Provenance</h2><ul id=\"provenance\">");
    let p = &r.provenance;
    let mut item = |k: &str, v: &str| {
        let _ = write!(s, "<li>{k}: {}</li>", esc(v));
    };
    for (k, v) in [
        ("commit", &p.commit),
        ("rustc", &p.rustc),
        ("cargo", &p.cargo),
        ("wine", &p.wine),
    ] {
        if let Some(v) = v {
            item(k, v);
        }
    }
    for e in &p.engines {
        item("engine", e);
    }
    for i in &p.images {
        item("image", i);
    }
    item("host", &p.host);
    item("started", &p.started);
    for shard in &p.shards {
        item("shard", shard);
    }
    s.push_str("</ul>\n</body></html>\n");
    s
}
