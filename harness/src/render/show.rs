//! `cargo xtask show`: one case of a run, on every cell, as a reviewer reads it. Server text
//! is escaped for the terminal before any colour is added.

use std::fmt::Write;

use super::colour::Palette;
use super::escape::terminal as esc;
use crate::review::Shown;
use crate::verdict::Status;

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("    {l}\n")).collect()
}

fn status_word(p: Palette, status: Status) -> String {
    match status {
        Status::Passed => p.good("passed"),
        Status::Accepted => p.warn("accepted divergence"),
        Status::Skipped => p.dim("skipped"),
        Status::Diverged => p.bad("DIVERGED"),
        Status::Failed => p.bad("FAILED"),
        Status::Error => p.bad("ERROR"),
    }
}

/// The case as text, coloured with `p`.
pub fn render(s: &Shown, p: Palette) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}{}",
        p.strong(&esc(&s.case.to_string())),
        s.source
            .as_deref()
            .map(|src| format!(" ({})", esc(src)))
            .unwrap_or_default()
    );
    for c in &s.cells {
        let mut about = Vec::new();
        if c.cell == s.primary {
            about.push("primary".to_owned());
        }
        if let Some(e) = &c.execution {
            about.push(esc(e));
        }
        if let Some(cached) = &c.cached {
            about.push(format!(
                "cached: the result and logs of the run of {}, whose inputs were the same",
                esc(&cached.run)
            ));
        }
        let _ = writeln!(
            out,
            "\n{}{}: {}",
            p.strong(&esc(&c.cell)),
            if about.is_empty() {
                String::new()
            } else {
                format!(" ({})", about.join(", "))
            },
            status_word(p, c.status)
        );
        if let Some(detail) = &c.detail {
            out.push_str(&indent(&esc(detail)));
        }
        match &c.exchanges {
            Some(x) => {
                let _ = writeln!(out, "  {}", p.dim("requests and raw responses:"));
                out.push_str(&indent(&esc(x)));
            }
            None => {
                let _ = writeln!(
                    out,
                    "  {}",
                    p.dim("(no raw responses logged: not an http case)")
                );
            }
        }
        for (step, expression, text) in &c.normalized {
            let _ = writeln!(
                out,
                "  {} {} ({}):",
                p.dim("normalized snapshot of step"),
                esc(step),
                esc(expression)
            );
            out.push_str(&indent(&esc(text)));
        }
        match c.log.as_deref() {
            Some("") => {
                let _ = writeln!(
                    out,
                    "  {}",
                    p.dim("the server logged nothing while the case ran")
                );
            }
            Some(log) => {
                let _ = writeln!(out, "  {}", p.dim("the server's log while the case ran:"));
                out.push_str(&indent(&esc(log)));
            }
            None => {}
        }
    }
    if s.divergences.is_empty() {
        let _ = writeln!(
            out,
            "\n{}",
            p.good("no divergence: every cell behaved as the primary cell")
        );
    } else {
        let _ = writeln!(out, "\n{}", p.strong("divergences:"));
        for d in &s.divergences {
            let acceptance = esc(&d.acceptance);
            let acceptance = if d.acceptance.starts_with("accepted") {
                p.warn(&acceptance)
            } else {
                p.bad(&acceptance)
            };
            let _ = writeln!(
                out,
                "  step {} on {}: {acceptance}",
                esc(&d.step),
                esc(&d.cell)
            );
            out.push_str(&indent(&p.diff(&esc(&d.diff))));
        }
    }
    let _ = writeln!(out, "\n{}", p.strong("normalization rules:"));
    for r in &s.rules {
        let mark = if r.applied {
            p.good("applied")
        } else {
            p.dim("not hit")
        };
        let _ = writeln!(out, "  [{mark}] {}", esc(&r.rule));
    }
    out
}
