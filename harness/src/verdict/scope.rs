//! The scope of a verdict: what it covers. Only the full plan, run at once or as a complete
//! merge of its shards, signs a release off; every narrower run says so.

use serde::{Deserialize, Serialize};

use crate::plan::{Narrowed, Plan};

/// What a verdict covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunScope {
    /// Its kind.
    pub kind: ScopeKind,
    /// Whether the verdict signs the release off: the full plan, or a complete merge of it.
    pub sign_off: bool,
    /// In words, for reports: "the full plan", "shard 1 of 3", "a merge of 3 shards covering
    /// the full plan", ...
    pub text: String,
}

/// The kinds of scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScopeKind {
    /// Every job of the matrix.
    Full,
    /// Some cells or suites.
    Selection,
    /// One shard of N.
    Shard,
    /// Only the jobs that failed in an earlier run.
    Rerun,
    /// Shards merged back together.
    Merge,
}

fn narrowed_text(n: &Narrowed) -> String {
    let mut parts = Vec::new();
    if !n.cells.is_empty() {
        parts.push(format!("cells {}", n.cells.join(", ")));
    }
    if !n.suites.is_empty() {
        parts.push(format!("suites {}", n.suites.join(", ")));
    }
    if !n.cases.is_empty() {
        parts.push(format!("cases {}", n.cases.join(", ")));
    }
    parts.join("; ")
}

/// The scope of a run of `plan`; `merged` is the number of shards when it is a merge.
pub fn of(plan: &Plan, merged: Option<usize>) -> RunScope {
    let n = &plan.narrowed;
    if let Some(shards) = merged {
        // A merge is complete by construction (it refuses missing jobs); the shards' cells
        // do not matter, their suites and reruns do.
        let whole = n.suites.is_empty() && !n.rerun && n.cases.is_empty();
        let of_what = if whole {
            "covering the full plan".to_owned()
        } else if n.rerun {
            "of a rerun of failed jobs".to_owned()
        } else {
            let suites_and_cases = Narrowed {
                cells: Vec::new(),
                ..n.clone()
            };
            format!("of a selection ({})", narrowed_text(&suites_and_cases))
        };
        return RunScope {
            kind: ScopeKind::Merge,
            sign_off: whole,
            text: format!("a merge of {shards} shards {of_what}"),
        };
    }
    let (kind, text) = if n.rerun {
        (ScopeKind::Rerun, "a rerun of failed jobs".to_owned())
    } else if let Some(shard) = plan.shard {
        let of = if n.is_whole() {
            String::new()
        } else {
            format!(" of a selection ({})", narrowed_text(n))
        };
        (
            ScopeKind::Shard,
            format!("shard {} of {}{of}", shard.index, shard.count),
        )
    } else if !n.is_whole() {
        (
            ScopeKind::Selection,
            format!("a selection ({})", narrowed_text(n)),
        )
    } else {
        (ScopeKind::Full, "the full plan".to_owned())
    };
    RunScope {
        sign_off: kind == ScopeKind::Full,
        kind,
        text,
    }
}

impl RunScope {
    /// The scope with what it means for a sign-off: `the full plan`, `shard 1 of 3: not a
    /// sign-off`.
    pub fn line(&self) -> String {
        if self.sign_off {
            self.text.clone()
        } else {
            format!("{}: not a sign-off", self.text)
        }
    }
}
