//! What the terminal shows of a run: a line per progress event, and the closing summary
//! (findings first, then counts and the verdict). The CLI prints these strings; the harness
//! never prints.

use std::fmt::Write;
use std::path::Path;

use super::view::secs;
use crate::events::{Provision, RunEvent};
use crate::verdict::{Acceptance, BaselineState, Results};

/// The line a progress event shows as.
pub fn line(event: &RunEvent) -> String {
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
        } => {
            format!("{cell:<10} {suite}: starting the server: {command}")
        }
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
        RunEvent::ServerStopped { cell, forced, log } => format!(
            "{cell:<10} server stopped{} (log: {log})",
            if *forced { " by force" } else { "" }
        ),
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

/// The closing summary: findings first, then counts and the verdict.
pub fn summary(result: &Results, out: &Path) -> String {
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
                "  {} / {} / step {}: {} differs from {}{why}",
                d.suite, d.case, d.step, d.cell, d.primary
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
    if !c.baseline.is_empty() {
        let verb = if result.accepted {
            "accepted"
        } else {
            "pending review (cargo insta review, or --accept)"
        };
        let _ = writeln!(
            s,
            "\nsnapshots that differ from their baselines, {verb} ({}):",
            c.baseline.len()
        );
        for b in &c.baseline {
            let _ = writeln!(
                s,
                "  {} {}",
                match b.state {
                    BaselineState::New => "new    ",
                    BaselineState::Changed => "changed",
                },
                b.name
            );
            s.push_str(&indent(&b.diff));
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
            "\nnoise: steps that differ between two runs of the same build:"
        );
        for n in &result.noise {
            let _ = writeln!(
                s,
                "  {} / {} / step {}: fields {}\n    suggestion: {}",
                n.suite,
                n.case,
                n.step,
                if n.fields.is_empty() {
                    "(not JSON)".to_owned()
                } else {
                    n.fields.join(", ")
                },
                n.suggestion
            );
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
    for reason in &result.reasons {
        let _ = writeln!(s, "\nno-go: {reason}");
    }
    let verdict = if result.passed() {
        "verdict: GO"
    } else {
        "verdict: NO-GO"
    };
    let _ = write!(
        s,
        "\n{} jobs, {cases} cases: {passed} passed, {} failed, {errors} jobs in error; {} divergences ({} unaccepted); {} snapshots differ from baselines; in {}\n{verdict}\nreports: {}\nlogs: {}\n",
        result.jobs.len(),
        cases - passed,
        c.divergences.len(),
        failing.len(),
        c.baseline.len(),
        secs(result.duration),
        out.join("report.html").display(),
        out.join("logs").display()
    );
    s
}
