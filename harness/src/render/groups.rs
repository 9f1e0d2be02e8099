//! What a reviewer reads once: findings that are the same on several cells grouped into one,
//! with the cells they apply to, and diffs whose long changed blocks are folded. Every report
//! shows the groups; `show` still prints each cell's case whole.

use crate::verdict::{Divergence, Results};

/// Divergences of one step that differ from the primary in the same way on several cells.
#[derive(Debug, Clone)]
pub struct DivergenceGroup<'a> {
    /// The first of them (its diff names its cell; the others' diffs are the same).
    pub first: &'a Divergence,
    /// Every cell it applies to, in the order met.
    pub cells: Vec<&'a str>,
}

/// A unified diff without its `---`/`+++` lines, which name the cells.
fn diff_body(diff: &str) -> &str {
    let mut rest = diff;
    for _ in 0..2 {
        if rest.starts_with("--- ") || rest.starts_with("+++ ") {
            rest = rest.split_once('\n').map_or("", |(_, r)| r);
        }
    }
    rest
}

/// `divergences` grouped: one group per step and way of differing, in the order met.
pub fn divergences<'a>(
    divergences: impl IntoIterator<Item = &'a Divergence>,
) -> Vec<DivergenceGroup<'a>> {
    let mut groups: Vec<DivergenceGroup<'a>> = Vec::new();
    for d in divergences {
        let same = |g: &&mut DivergenceGroup<'a>| {
            let f = g.first;
            f.suite == d.suite
                && f.case == d.case
                && f.step == d.step
                && f.primary == d.primary
                && f.against == d.against
                && f.acceptance == d.acceptance
                && diff_body(&f.diff) == diff_body(&d.diff)
        };
        match groups.iter_mut().find(same) {
            Some(g) => g.cells.push(&d.cell),
            None => groups.push(DivergenceGroup {
                first: d,
                cells: vec![&d.cell],
            }),
        }
    }
    groups
}

/// A case that failed with the same words on one or more cells.
#[derive(Debug, Clone)]
pub struct FailureGroup<'a> {
    /// The suite.
    pub suite: &'a str,
    /// The case.
    pub case: &'a str,
    /// What failed, in full (with the request and response), on the first of its cells.
    pub failure: &'a str,
    /// What failed in a few words (the failure up to its request and response): what the
    /// cells have in common.
    pub headline: &'a str,
    /// The cells it failed on, in plan order.
    pub cells: Vec<&'a str>,
    /// It failed on every cell that ran it, and more than one ran it: the server's own
    /// fault, not a difference between platforms.
    pub everywhere: bool,
}

/// The failed cases of `results`, grouped by suite, case and failure text.
pub fn failures(results: &Results) -> Vec<FailureGroup<'_>> {
    let mut groups: Vec<FailureGroup<'_>> = Vec::new();
    for job in &results.jobs {
        for case in &job.cases {
            let Some(failure) = case.failure.as_deref() else {
                continue;
            };
            let headline = headline(failure);
            match groups
                .iter_mut()
                .find(|g| g.suite == job.suite && g.case == case.name && g.headline == headline)
            {
                Some(g) => g.cells.push(&job.cell),
                None => groups.push(FailureGroup {
                    suite: &job.suite,
                    case: &case.name,
                    failure,
                    headline,
                    cells: vec![&job.cell],
                    everywhere: false,
                }),
            }
        }
    }
    for g in &mut groups {
        let ran: Vec<&str> = results
            .jobs
            .iter()
            .filter(|j| j.suite == g.suite && j.cases.iter().any(|c| c.name == g.case))
            .map(|j| j.cell.as_str())
            .collect();
        g.everywhere = ran.len() > 1 && ran.iter().all(|c| g.cells.contains(c));
    }
    groups
}

/// A failure up to the request and response it shows (`--- request`), at most six lines.
pub fn headline(failure: &str) -> &str {
    let end = failure.find("\n--- request").unwrap_or(failure.len());
    let text = failure[..end].trim_end();
    match text.match_indices('\n').nth(5) {
        Some((at, _)) => &text[..at],
        None => text,
    }
}

/// How many changed lines in a row a diff shows before it folds the rest of the block.
const RUN: usize = 12;

/// `diff` with each block of more than [`RUN`] removed (or added) lines in a row folded to
/// its first lines, its last two and a line that counts what was left out.
pub fn fold(diff: &str) -> String {
    let lines: Vec<&str> = diff.lines().collect();
    let mut out = String::with_capacity(diff.len().min(16 * 1024));
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let sign = match line.as_bytes().first() {
            Some(b'-') if !line.starts_with("--- ") => Some('-'),
            Some(b'+') if !line.starts_with("+++ ") => Some('+'),
            _ => None,
        };
        let Some(sign) = sign else {
            out.push_str(line);
            out.push('\n');
            i += 1;
            continue;
        };
        let end = (i..lines.len())
            .find(|&j| !lines[j].starts_with(sign))
            .unwrap_or(lines.len());
        let run = &lines[i..end];
        if run.len() > RUN {
            let (head, tail) = (RUN - 4, 2);
            for l in &run[..head] {
                out.push_str(l);
                out.push('\n');
            }
            let left = run.len() - head - tail;
            out.push_str(&format!(
                "{sign} … {left} more {} lines (`show` prints them all)\n",
                if sign == '-' { "removed" } else { "added" }
            ));
            for l in &run[run.len() - tail..] {
                out.push_str(l);
                out.push('\n');
            }
        } else {
            for l in run {
                out.push_str(l);
                out.push('\n');
            }
        }
        i = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verdict::{Acceptance, Against};

    fn divergence(cell: &str, diff_line: &str) -> Divergence {
        Divergence {
            suite: "s".into(),
            case: "c".into(),
            step: "1".into(),
            cell: cell.into(),
            primary: "debian".into(),
            against: Against::Run,
            gist: String::new(),
            diff: format!("--- s__c.1@debian\n+++ s__c.1@{cell}\n@@ -1 +1 @@\n-a\n+{diff_line}\n"),
            acceptance: Acceptance::Unaccepted,
        }
    }

    #[test]
    fn the_same_difference_on_two_cells_is_one_group() {
        let ds = [
            divergence("windows", "b"),
            divergence("windows-2025", "b"),
            divergence("macos", "c"),
        ];
        let groups = divergences(&ds);
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[0].cells, ["windows", "windows-2025"]);
        assert_eq!(groups[1].cells, ["macos"]);
    }

    #[test]
    fn a_failure_s_headline_leaves_out_its_request_and_response() {
        assert_eq!(
            headline("step `1`: expected status 418, got 200\n--- request\nGET /\n--- response\n"),
            "step `1`: expected status 418, got 200"
        );
        assert_eq!(headline("1\n2\n3\n4\n5\n6\n7\n8"), "1\n2\n3\n4\n5\n6");
    }

    #[test]
    fn a_long_changed_block_is_folded_and_counted() {
        let mut diff = String::from("--- a\n+++ b\n@@ -1,30 +1,1 @@\n context\n");
        for i in 0..30 {
            diff.push_str(&format!("-css {i}\n"));
        }
        diff.push_str("+w\n");
        let folded = fold(&diff);
        assert!(
            folded.contains("-css 7\n- … 20 more removed lines"),
            "{folded}"
        );
        assert!(folded.contains("-css 28\n-css 29\n+w\n"), "{folded}");
        assert!(!folded.contains("-css 8\n"), "{folded}");
        assert_eq!(fold("--- a\n+++ b\n-x\n+y\n"), "--- a\n+++ b\n-x\n+y\n");
    }
}
