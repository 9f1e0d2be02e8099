//! What the terminal shows at the end of a run: the summary, failures and unaccepted
//! divergences first, each with the one command that shows it, then what else was found,
//! counts and the verdict. (What it shows while the run goes is [`super::progress`].) The
//! CLI prints these strings; the harness never prints.

use std::fmt::Write;
use std::path::Path;

use super::colour::Palette;
use super::groups;
use super::progress::Verbosity;
use super::view::{against_text, count, headline, pending_baselines, review, secs, verdict_word};
use crate::verdict::{Acceptance, Results, Verdict};

/// How the summary is shown.
#[derive(Debug, Clone, Default)]
pub struct Style {
    /// Quiet leaves out what passed or was accepted.
    pub verbosity: Verbosity,
    /// Colours, or none.
    pub palette: Palette,
    /// What `cargo xtask show` needs besides the case to find this run (`--config`, `--out`),
    /// already quoted for a shell; empty for the defaults.
    pub show_args: String,
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("    {l}\n")).collect()
}

/// The closing summary: failures and unaccepted divergences first, each with the command
/// that shows it, then the rest, counts and the verdict; server text escaped, then coloured.
pub fn summary(result: &Results, out: &Path, style: &Style) -> String {
    let text = super::escape::terminal(&raw_summary(result, out, style));
    paint(&text, result.verdict, style.palette)
}

/// The command that shows `suite/case` (on `cell`) of this run.
fn show(style: &Style, suite: &str, case: &str, cell: Option<&str>) -> String {
    let mut cmd = format!(
        "{} show {}",
        crate::invocation::command(),
        shell_words::quote(&format!("{suite}/{case}"))
    );
    if let Some(cell) = cell {
        let _ = write!(cmd, " --cell {}", shell_words::quote(cell));
    }
    cmd.push_str(&style.show_args);
    format!("    show: {cmd}\n")
}

/// Colours the escaped summary by its shape: headings, status words, diff lines, the verdict.
fn paint(text: &str, verdict: Verdict, p: Palette) -> String {
    if !p.is_on() {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for line in text.split_inclusive('\n') {
        let (body, nl) = line.strip_suffix('\n').map_or((line, ""), |b| (b, "\n"));
        let painted = if let Some(rest) = body.strip_prefix("verdict: ") {
            let word = match verdict {
                Verdict::Go => p.good(rest),
                Verdict::NoGo => p.bad(rest),
                Verdict::Pending => p.warn(rest),
            };
            format!("{} {word}", p.strong("verdict:"))
        } else if body.starts_with("failed") || body.starts_with("unaccepted divergences") {
            p.bad(body)
        } else if !body.starts_with(' ') && body.ends_with(':') {
            p.strong(body)
        } else if let Some(rest) = body.strip_prefix("  FAIL ") {
            format!("  {} {rest}", p.bad("FAIL"))
        } else if let Some(rest) = body.strip_prefix("  ERROR ") {
            format!("  {} {rest}", p.bad("ERROR"))
        } else if body.starts_with("    show: ") {
            p.dim(body)
        } else if let Some(rest) = body.strip_prefix("    ") {
            format!("    {}", p.diff(rest).trim_end_matches('\n'))
        } else {
            body.to_owned()
        };
        out.push_str(&painted);
        out.push_str(nl);
    }
    out
}

fn raw_summary(result: &Results, out: &Path, style: &Style) -> String {
    let c = &result.comparison;
    let quiet = style.verbosity == Verbosity::Quiet;
    let mut s = String::new();
    let (new, changed) = pending_baselines(result);
    let accepted: Vec<_> = c
        .divergences
        .iter()
        .filter_map(|d| match &d.acceptance {
            // The entry that accepted it, when it names more than one case.
            Acceptance::Accepted { reason, by } if by.is_empty() => Some((d, reason.clone())),
            Acceptance::Accepted { reason, by } => Some((d, format!("{reason} (by {by})"))),
            _ => None,
        })
        .collect();
    if !accepted.is_empty() && !quiet {
        let _ = writeln!(s, "\naccepted divergences ({}):", accepted.len());
        if style.verbosity == Verbosity::Verbose {
            for (d, reason) in &accepted {
                let _ = writeln!(
                    s,
                    "  {} / {} / step {} on {}: {reason}",
                    d.suite, d.case, d.step, d.cell
                );
            }
        } else {
            // One line per reason: what is accepted is known; what needs action comes last.
            let mut by_reason: Vec<(&String, usize)> = Vec::new();
            for (_, reason) in &accepted {
                match by_reason.iter_mut().find(|(r, _)| *r == reason) {
                    Some((_, n)) => *n += 1,
                    None => by_reason.push((reason, 1)),
                }
            }
            for (reason, n) in by_reason {
                let _ = writeln!(s, "  {n}x {reason}");
            }
        }
    }
    if !c.stale.is_empty() {
        let _ = writeln!(
            s,
            "\nstale accepted divergences (no longer happen; remove them from matrix.toml):"
        );
        for st in &c.stale {
            let _ = writeln!(
                s,
                "  {} / {} on {}: {}",
                st.suite, st.case, st.cell, st.reason
            );
        }
    }
    if !new.is_empty() {
        let _ = writeln!(
            s,
            "\nnew snapshots, not yet baselines ({}): review them with {}",
            new.len(),
            review()
        );
        for b in &new {
            let _ = writeln!(s, "  {}", b.name);
        }
    }
    if !result.held_back.is_empty() {
        let _ = writeln!(
            s,
            "\nnot accepted, because their cell diverges from the primary unaccepted (accept the divergence in matrix.toml first):"
        );
        for name in &result.held_back {
            let _ = writeln!(s, "  {name}");
        }
    }
    if !c.uncompared.is_empty() {
        let _ = writeln!(
            s,
            "\nnot compared across cells: the primary cell neither ran these steps nor has committed baselines for them ({}):",
            c.uncompared.len()
        );
        for name in &c.uncompared {
            let _ = writeln!(s, "  {name}");
        }
    }
    if !c.not_agnostic.is_empty() {
        let _ = writeln!(
            s,
            "\naudit: agnostic suites that behave differently between cells:"
        );
        for d in &c.not_agnostic {
            let _ = writeln!(
                s,
                "  {} / {} / step {}: {} differs from {}",
                d.suite, d.case, d.step, d.cell, d.primary
            );
            s.push_str(&indent(&d.diff));
        }
    }
    if !c.agnostic_candidates.is_empty() && !quiet {
        let _ = writeln!(
            s,
            "\naudit: per-target suites that behaved the same on every cell (candidates for `scope = \"agnostic\"`): {}",
            c.agnostic_candidates.join(", ")
        );
    }
    if result.noise.is_empty()
        && let Some(rule) = &result.noise_check
    {
        let _ = writeln!(
            s,
            "\nnoise check ({rule}): nothing differed between the two runs"
        );
    }
    if !result.noise.is_empty() {
        let _ = writeln!(
            s,
            "\nnoise ({}):",
            result
                .noise_check
                .as_deref()
                .unwrap_or("two runs of the same build")
        );
        for n in &result.noise {
            let _ = writeln!(
                s,
                "  {} / {} / step {}: fields {}\n    suggestion (paste into matrix.toml):",
                n.suite,
                n.case,
                n.step,
                if n.fields.is_empty() {
                    "(not JSON)".to_owned()
                } else {
                    n.fields.join(", ")
                },
            );
            s.push_str(&indent(&indent(&n.suggestion)));
            s.push_str(&indent(&n.diff));
        }
    }
    if let Some(explored) = &result.explored {
        s.push_str(&super::explore::summary(explored, out));
    }
    let cases: usize = result.jobs.iter().map(|j| j.cases.len()).sum();
    let passed: usize = result
        .jobs
        .iter()
        .flat_map(|j| &j.cases)
        .filter(|c| c.passed)
        .count();
    let errors = result.jobs.iter().filter(|j| j.error.is_some()).count();
    let ran: Vec<String> = super::view::cells(result)
        .into_iter()
        .filter(|c| !c.kind.is_empty())
        .map(|c| match &c.windows {
            Some(windows) => format!("{} {} ({}; {windows})", c.name, c.kind, c.by),
            None => format!("{} {} ({})", c.name, c.kind, c.by),
        })
        .collect();
    if !ran.is_empty() && !quiet {
        let _ = writeln!(s, "\ncells: {}", ran.join("; "));
    }
    // What needs action last, right above the verdict, where a terminal leaves it; a
    // finding that is the same on several cells is shown once, with its cells.
    let failures = groups::failures(result);
    let failed_cases: usize = failures.iter().map(|g| g.cells.len()).sum();
    let errored: Vec<_> = result.jobs.iter().filter(|j| j.error.is_some()).collect();
    if failed_cases > 0 || !errored.is_empty() {
        let _ = writeln!(
            s,
            "\nfailed ({}, {} in error):",
            count(failed_cases, "case", "cases"),
            count(errored.len(), "job", "jobs")
        );
        for g in &failures {
            let _ = writeln!(
                s,
                "  FAIL {} {}/{}{}",
                g.cells.join(", "),
                g.suite,
                g.case,
                if g.everywhere {
                    " (on every cell that ran it: not a platform difference)"
                } else {
                    ""
                }
            );
            // What failed in a few words; its request and response are one command away
            // (and in the summary with -v).
            if style.verbosity == Verbosity::Verbose {
                s.push_str(&indent(g.failure));
            } else {
                s.push_str(&indent(g.headline));
            }
            s.push_str(&show(style, g.suite, g.case, Some(g.cells[0])));
        }
        for job in &errored {
            let _ = writeln!(s, "  ERROR {} {}", job.cell, job.suite);
            s.push_str(&indent(job.error.as_deref().unwrap_or_default()));
            let _ = writeln!(s, "    log: {}", out.join("logs").join(&job.cell).display());
        }
    }
    let failing: Vec<_> = c.failing().collect();
    if !failing.is_empty() {
        let _ = writeln!(s, "\nunaccepted divergences ({}):", failing.len());
        for g in groups::divergences(failing.iter().copied()) {
            let d = g.first;
            let why = match &d.acceptance {
                Acceptance::Expired { reason, expires } => {
                    format!(" (accepted until {expires}, expired: {reason})")
                }
                _ => String::new(),
            };
            let _ = writeln!(
                s,
                "  {} / {} / step {}: {} {} from {}{} ({}){why}",
                d.suite,
                d.case,
                d.step,
                g.cells.join(", "),
                if g.cells.len() == 1 {
                    "differs"
                } else {
                    "differ"
                },
                d.primary,
                if g.cells.len() == 1 {
                    ""
                } else {
                    ", the same way"
                },
                against_text(d)
            );
            if !d.gist.is_empty() {
                let _ = writeln!(s, "    {}", d.gist);
            }
            s.push_str(&indent(&groups::fold(&d.diff)));
            s.push_str(&show(style, &d.suite, &d.case, Some(&d.cell)));
        }
    }
    if !changed.is_empty() {
        let _ = writeln!(
            s,
            "\nsnapshots that differ from their committed baselines, pending review ({}):",
            changed.len()
        );
        for b in &changed {
            let _ = writeln!(s, "  {}", b.name);
            if !b.gist.is_empty() {
                let _ = writeln!(s, "    {}", b.gist);
            }
            s.push_str(&indent(&groups::fold(&b.diff)));
        }
    }
    if !result.file_errors.is_empty() {
        let _ = writeln!(
            s,
            "\nsnapshot files that could not be read or written ({}):",
            result.file_errors.len()
        );
        for error in &result.file_errors {
            let _ = writeln!(s, "  {error}");
        }
    }
    // The reasons, counts and verdict close the summary in one block, under the findings.
    let label = verdict_word(result.verdict).to_lowercase();
    s.push('\n');
    for reason in &result.reasons {
        let _ = writeln!(s, "{label}: {reason}");
    }
    let verdict = format!("verdict: {}", headline(result));
    if let Some(cached) = super::view::cached_text(result) {
        let _ = writeln!(s, "cached: {cached}");
    }
    let _ = write!(
        s,
        "{}, {}: {passed} passed, {} failed, {} in error; {} ({} unaccepted); snapshots pending review: {} changed, {} new; in {}\n{verdict}\nreports: {}; logs: {}\n",
        count(result.jobs.len(), "job", "jobs"),
        count(cases, "case", "cases"),
        cases - passed,
        count(errors, "job", "jobs"),
        count(c.divergences.len(), "divergence", "divergences"),
        failing.len(),
        changed.len(),
        new.len(),
        secs(result.duration),
        out.join("report.html").display(),
        out.join("logs").display()
    );
    s
}
