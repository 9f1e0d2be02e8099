//! The noise check: what differs between two runs of the same build on the same cell is not
//! behaviour but noise (timestamps, ids), and each difference comes with the normalization
//! rule that would remove it. Pure.

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
    /// A normalization rule that would remove the difference.
    pub suggestion: String,
    /// The difference between the two runs.
    pub diff: String,
}

/// What differs between two runs of the same jobs, with a rule that would remove it.
pub fn between(first: &[Observation], second: &[Observation]) -> Vec<Noise> {
    let mut out = Vec::new();
    for a in first {
        let Some(b) = second.iter().find(|b| {
            b.suite == a.suite && b.case == a.case && b.step == a.step && b.cell == a.cell
        }) else {
            continue;
        };
        if snapfile::same(&a.text, &b.text) {
            continue;
        }
        let fields = match (&a.json, &b.json) {
            (Some(x), Some(y)) => normalize::differing_paths(x, y),
            _ => Vec::new(),
        };
        let suggestion = if fields.is_empty() {
            "a [[normalize.filter]] regex matching the changing text (see the diff)".to_owned()
        } else {
            format!(
                "[normalize] redact = [{}]",
                fields
                    .iter()
                    .map(|f| format!("\"{f}\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        out.push(Noise {
            suite: a.suite.clone(),
            case: a.case.clone(),
            step: a.step.clone(),
            fields,
            suggestion,
            diff: unified(&a.text, &b.text, "first run", "second run"),
        });
    }
    out
}
