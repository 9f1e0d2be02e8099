//! What the terminal shows of a run: a line per progress event, and the closing summary
//! (findings first, then counts and the verdict). The CLI prints these strings; the harness
//! never prints.

use std::fmt::Write;
use std::path::Path;

use super::view::{REVIEW, against_text, headline, pending_baselines, secs, verdict_word};
use crate::events::{Provision, RunEvent};
use crate::verdict::{Acceptance, Results};

/// The line a progress event shows as, with server text escaped.
pub fn line(event: &RunEvent) -> String {
    super::escape::terminal(&raw_line(event))
}

fn raw_line(event: &RunEvent) -> String {
    match event {
        RunEvent::Provisioning { what } => format!("provision  {what}"),
        RunEvent::Prerequisite {
            what,
            state,
            detail,
        } => format!(
            "provision  {what}: {} ({detail})",
            match state {
                Provision::Present => "ready, nothing to do",
                Provision::Provisioned => "provisioned now",
            }
        ),
        RunEvent::BuildStarted { command } => format!("build      {command}"),
        RunEvent::BuildFinished {
            build,
            result,
            duration,
        } => match result {
            Ok(path) => format!("build      {build}: built in {} -> {path}", secs(*duration)),
            Err(why) => format!(
                "build      {build}: FAILED after {}\n{why}",
                secs(*duration)
            ),
        },
        RunEvent::ServerStarting {
            cell,
            suite,
            command,
            place,
        } => match place {
            Some(place) => format!("{cell:<10} {suite}: starting the server in {place}: {command}"),
            None => format!("{cell:<10} {suite}: starting the server: {command}"),
        },
        RunEvent::ServerReady {
            cell,
            base_url,
            after,
        } => {
            format!(
                "{cell:<10} server ready after {} at {base_url}",
                secs(*after)
            )
        }
        RunEvent::ServerStopped {
            cell,
            forced,
            log,
            leaked,
        } => {
            let mut s = format!(
                "{cell:<10} server stopped{} (log: {log})",
                if *forced { " by force" } else { "" }
            );
            for p in leaked {
                let _ = write!(
                    s,
                    "\n  LEAK {p}: left running outside its process group, stopped"
                );
            }
            s
        }
        RunEvent::Waiting { cell, what } => format!("{cell:<10} waiting for {what}"),
        RunEvent::LeftoversRemoved { removed } => {
            let mut s = format!(
                "cleanup    removed {} leftovers of runs that were killed:",
                removed.len()
            );
            for r in removed {
                let _ = write!(s, "\n  {r}");
            }
            s
        }
        RunEvent::JobFinished {
            suite,
            cell,
            passed,
            failures,
            duration,
        } => {
            let mut s = format!(
                "{cell:<10} {suite}: {passed} passed, {} failed in {}",
                failures.len(),
                secs(*duration)
            );
            for f in failures {
                let _ = write!(s, "\n  FAILED {}", f.replace('\n', "\n    "));
            }
            s
        }
        RunEvent::JobError { suite, cell, error } => {
            format!(
                "{cell:<10} {suite}: ERROR {}",
                error.replace('\n', "\n    ")
            )
        }
    }
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("    {l}\n")).collect()
}

/// The closing summary: findings first, then counts and the verdict; server text escaped.
pub fn summary(result: &Results, out: &Path) -> String {
    super::escape::terminal(&raw_summary(result, out))
}

fn raw_summary(result: &Results, out: &Path) -> String {
    let c = &result.comparison;
    let mut s = String::new();
    let failing: Vec<_> = c.failing().collect();
    if !failing.is_empty() {
        let _ = writeln!(s, "\nunaccepted divergences ({}):", failing.len());
        for d in &failing {
            let why = match &d.acceptance {
                Acceptance::Expired { reason, expires } => {
                    format!(" (accepted until {expires}, expired: {reason})")
                }
                _ => String::new(),
            };
            let _ = writeln!(
                s,
                "  {} / {} / step {}: {} differs from {} ({}){why}",
                d.suite,
                d.case,
                d.step,
                d.cell,
                d.primary,
                against_text(d)
            );
            s.push_str(&indent(&d.diff));
        }
    }
    let accepted: Vec<_> = c
        .divergences
        .iter()
        .filter_map(|d| match &d.acceptance {
            Acceptance::Accepted { reason } => Some((d, reason)),
            _ => None,
        })
        .collect();
    if !accepted.is_empty() {
        let _ = writeln!(s, "\naccepted divergences ({}):", accepted.len());
        for (d, reason) in accepted {
            let _ = writeln!(
                s,
                "  {} / {} / step {} on {}: {reason}",
                d.suite, d.case, d.step, d.cell
            );
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
    let (new, changed) = pending_baselines(result);
    if !changed.is_empty() {
        let _ = writeln!(
            s,
            "\nsnapshots that differ from their committed baselines, pending review ({}):",
            changed.len()
        );
        for b in &changed {
            let _ = writeln!(s, "  {}", b.name);
            s.push_str(&indent(&b.diff));
        }
    }
    if !new.is_empty() {
        let _ = writeln!(
            s,
            "\nnew snapshots, not yet baselines ({}): review them with {REVIEW}",
            new.len()
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
    if !c.agnostic_candidates.is_empty() {
        let _ = writeln!(
            s,
            "\naudit: per-target suites that behaved the same on every cell (candidates for `scope = \"agnostic\"`): {}",
            c.agnostic_candidates.join(", ")
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
        .map(|c| format!("{} {} ({})", c.name, c.kind, c.by))
        .collect();
    if !ran.is_empty() {
        let _ = writeln!(s, "\ncells: {}", ran.join("; "));
    }
    let label = verdict_word(result.verdict).to_lowercase();
    for reason in &result.reasons {
        let _ = writeln!(s, "\n{label}: {reason}");
    }
    let verdict = format!("verdict: {}", headline(result));
    let _ = write!(
        s,
        "\n{} jobs, {cases} cases: {passed} passed, {} failed, {errors} jobs in error; {} divergences ({} unaccepted); {} changed and {} new snapshots pending; in {}\n{verdict}\nreports: {}\nlogs: {}\n",
        result.jobs.len(),
        cases - passed,
        c.divergences.len(),
        failing.len(),
        changed.len(),
        new.len(),
        secs(result.duration),
        out.join("report.html").display(),
        out.join("logs").display()
    );
    s
}
