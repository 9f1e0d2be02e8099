//! The terminal's account of `--explore`: each class with its smallest request and every
//! cell's answer side by side, then the count of probes and where the whole list is.

use std::fmt::Write as _;
use std::path::Path;

use super::escape::terminal as visible;
use crate::verdict::explore::Explored;

/// What an exploration found, for a terminal or a CI log.
pub fn summary(explored: &Explored, out: &Path) -> String {
    let mut s = String::new();
    for class in &explored.classes {
        let first = &class.findings[0];
        let _ = writeln!(
            s,
            "\n{} ({} probes; by {}): {} on {}",
            class.class.as_str(),
            class.findings.len(),
            super::view::mutations(&class.findings),
            visible(&first.request),
            first.cells.join(", ")
        );
        if let Some(case) = &first.covered_by {
            let _ = writeln!(s, "  covered by the committed case {case}");
        }
        if let Some(reason) = &first.known {
            let _ = writeln!(s, "  known: {}", visible(reason));
        }
        let _ = writeln!(
            s,
            "  save it as a case: {} explore --save {}",
            crate::invocation::command(),
            first.probe
        );
        for (cell, answer) in &first.answers {
            let _ = writeln!(s, "  {cell}:");
            for line in answer.lines().take(12) {
                let _ = writeln!(s, "    {}", visible(line));
            }
        }
    }
    for (cell, error) in &explored.errors {
        let _ = writeln!(s, "\n{cell}: its probes did not run: {}", visible(error));
    }
    let _ = writeln!(
        s,
        "\nexplored {} cells with {} probes each from {} paths (seed {}, budget {}): {} findings ({} known) in {} classes",
        explored.cells.len(),
        explored.probes,
        explored.bases,
        explored.seed,
        explored.budget,
        explored.findings(),
        explored.findings() - explored.unknown(),
        explored.classes.len()
    );
    let _ = writeln!(
        s,
        "findings: {}",
        out.join(crate::persist::EXPLORED).display()
    );
    s
}
