//! The noise check: what differs between two runs of the same build on the same cell is not
//! behaviour but noise (timestamps, ids), and each difference comes with the normalization
//! rule that would remove it, ready to paste: redactions for JSON fields, and for text the
//! filters of the well-known kinds of noise (HTTP dates, RFC 3339 timestamps, UUIDs, epoch
//! seconds and milliseconds, clock times), each proposed only when it makes the two runs'
//! snapshots equal. Pure.

use serde::{Deserialize, Serialize};

use super::compare::unified;
use crate::normalize;
use crate::outcome::Observation;
use crate::snapfile;

/// A step whose behaviour differed between two runs of the same build on the same cell.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Noise {
    /// The suite.
    pub suite: String,
    /// The case.
    pub case: String,
    /// The step.
    pub step: String,
    /// The JSON fields that differed (empty when the body is not JSON).
    pub fields: Vec<String>,
    /// For text: the filters (regex, replacement) that make the two runs the same; empty
    /// when no known kind of noise explains the difference.
    #[serde(default)]
    pub filters: Vec<(String, String)>,
    /// A normalization rule that would remove the difference.
    pub suggestion: String,
    /// The difference between the two runs.
    pub diff: String,
}

/// The JSON of a snapshot: the whole text (a command's output), or what follows the status
/// and headers of an HTTP response. Parsed only for the few snapshots that differ between
/// runs, so that a run does not hold a parsed copy of every body.
fn body_json(text: &str) -> Option<serde_json::Value> {
    serde_json::from_str(text).ok().or_else(|| {
        let (_, body) = text.split_once("\n\n")?;
        serde_json::from_str(body).ok()
    })
}

/// What differs between two runs of the same jobs, with a rule that would remove it.
pub fn between(first: &[Observation], second: &[Observation]) -> Vec<Noise> {
    let mut out = Vec::new();
    let again: std::collections::HashMap<(&str, &str, &str, &str), &Observation> = second
        .iter()
        .map(|b| ((&*b.suite, &*b.case, &*b.step, &*b.cell), b))
        .collect();
    for a in first {
        let Some(b) = again.get(&(&*a.suite, &*a.case, &*a.step, &*a.cell)) else {
            continue;
        };
        if snapfile::same(&a.text, &b.text) {
            continue;
        }
        let fields = match (body_json(&a.text), body_json(&b.text)) {
            (Some(x), Some(y)) => normalize::differing_paths(&x, &y),
            _ => Vec::new(),
        };
        let filters = if fields.is_empty() {
            text_filters(&a.text, &b.text)
        } else {
            Vec::new()
        };
        let suggestion = if !fields.is_empty() {
            format!(
                "[normalize]\nredact = [{}]",
                fields
                    .iter()
                    .map(|f| format!("\"{f}\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        } else if !filters.is_empty() {
            filters
                .iter()
                .map(|(regex, replace)| {
                    format!("[[normalize.filter]]\nregex = '{regex}'\nreplace = \"{replace}\"")
                })
                .collect::<Vec<_>>()
                .join("\n\n")
        } else {
            "a [[normalize.filter]] regex matching the changing text (no known kind of noise explains it; see the diff)".to_owned()
        };
        out.push(Noise {
            suite: a.suite.clone(),
            case: a.case.clone(),
            step: a.step.clone(),
            fields,
            filters,
            suggestion,
            diff: unified(&a.text, &b.text, "first run", "second run"),
        });
    }
    out
}

/// The well-known kinds of noise in text, most specific first: a regex (written so that it
/// pastes into a TOML literal string) and what it becomes.
const KINDS: &[(&str, &str)] = &[
    (
        r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT",
        "[http-date]",
    ),
    (
        r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?",
        "[timestamp]",
    ),
    (
        r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
        "[uuid]",
    ),
    (r"\b1\d{12}\b", "[epoch-ms]"),
    (r"\b1\d{9}\b", "[epoch-s]"),
    (r"\b\d{2}:\d{2}:\d{2}(\.\d+)?\b", "[time]"),
];

/// The filters among [`KINDS`] that make `a` and `b` the same: those that change either text,
/// applied in order, when together they leave nothing else that differs.
pub fn text_filters(a: &str, b: &str) -> Vec<(String, String)> {
    let (mut a, mut b) = (a.to_owned(), b.to_owned());
    let mut used = Vec::new();
    for (pattern, replace) in KINDS {
        let re = regex::Regex::new(pattern).expect("the noise patterns compile");
        let (x, y) = (re.replace_all(&a, *replace), re.replace_all(&b, *replace));
        if x != a || y != b {
            used.push(((*pattern).to_owned(), (*replace).to_owned()));
            (a, b) = (x.into_owned(), y.into_owned());
        }
    }
    if snapfile::same(&a, &b) {
        used
    } else {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_noise_gets_a_filter_that_makes_both_runs_equal() {
        let a = "modified: Tue, 25 Nov 2026 18:01:02 GMT\nid 6fa459ea-ee8a-3ca4-894e-db77e160355e at 1764093662123\n";
        let b = "modified: Tue, 25 Nov 2026 18:01:09 GMT\nid 16fd2706-8baf-433b-82eb-8c7fada847da at 1764093669456\n";
        let filters = text_filters(a, b);
        let names: Vec<&str> = filters.iter().map(|(_, r)| r.as_str()).collect();
        assert_eq!(names, ["[http-date]", "[uuid]", "[epoch-ms]"]);
        // Pasted into a matrix, the filters parse and make the two runs the same.
        let toml = filters
            .iter()
            .map(|(re, r)| format!("[[normalize.filter]]\nregex = '{re}'\nreplace = \"{r}\"\n"))
            .collect::<String>();
        #[derive(serde::Deserialize)]
        struct F {
            regex: String,
            replace: String,
        }
        #[derive(serde::Deserialize)]
        struct N {
            filter: Vec<F>,
        }
        #[derive(serde::Deserialize)]
        struct M {
            normalize: N,
        }
        let m: M = toml::from_str(&toml).unwrap();
        let apply = |t: &str| {
            m.normalize.filter.iter().fold(t.to_owned(), |t, f| {
                regex::Regex::new(&f.regex)
                    .unwrap()
                    .replace_all(&t, f.replace.as_str())
                    .into_owned()
            })
        };
        assert_eq!(apply(a), apply(b));
        assert!(
            text_filters("count: 1", "count: 2").is_empty(),
            "not every change is noise"
        );
    }
}
