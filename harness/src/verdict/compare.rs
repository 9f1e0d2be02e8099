//! The diff: every observation against the primary cell's and against its committed
//! baseline. Pure: the caller passes the baselines and today's date, so the same inputs always
//! give the same comparison.
//!
//! Every cell is compared across cells whatever the run selected: with the primary cell's
//! snapshot from this run when the primary ran the step, otherwise with the primary's
//! committed baseline; a step that has neither is listed as not compared, never as passing.
//! A per-target step whose snapshot on a cell differs from the primary cell's is a
//! divergence. It is accepted when a `[[divergence]]` names its suite, case and cell (and has
//! not expired); an accepted divergence whose case behaved the same on that cell is stale. In
//! an audit, agnostic suites are compared across cells too: a difference there means the suite
//! is not agnostic; a per-target suite that behaved the same everywhere could be.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::gist::gist;
use crate::matrix::{Matrix, Scope};
use crate::outcome::Observation;
use crate::snapfile as store;

/// Whether a divergence is allowed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum Acceptance {
    /// Not written down: the run fails.
    Unaccepted,
    /// Written down with a reason.
    Accepted {
        /// Why it is intended.
        reason: String,
        /// The entry that accepts it, when it names more than one case: its pattern and
        /// line (`packages/* at matrix.toml:42`).
        #[serde(default, skip_serializing_if = "String::is_empty")]
        by: String,
    },
    /// Written down, but past its expiry date: the run fails.
    Expired {
        /// Why it was intended.
        reason: String,
        /// When it stopped being accepted.
        expires: String,
    },
}

impl Acceptance {
    /// In words: `accepted: <reason>`, `EXPIRED on <date>: <reason>`, `NOT ACCEPTED`.
    pub fn words(&self) -> String {
        match self {
            Acceptance::Accepted { reason, by } if by.is_empty() => format!("accepted: {reason}"),
            Acceptance::Accepted { reason, by } => format!("accepted by {by}: {reason}"),
            Acceptance::Expired { reason, expires } => format!("EXPIRED on {expires}: {reason}"),
            Acceptance::Unaccepted => "NOT ACCEPTED".to_owned(),
        }
    }
}

/// What a cell's snapshot was compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Against {
    /// The primary cell's snapshot from the same run (or merge).
    Run,
    /// The primary cell's committed baseline: the primary did not run the step.
    Baseline,
}

/// A difference between a cell and the primary cell.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Divergence {
    /// The suite.
    pub suite: String,
    /// The case.
    pub case: String,
    /// The step.
    pub step: String,
    /// The cell that differs.
    pub cell: String,
    /// The primary cell.
    pub primary: String,
    /// Whether the primary's snapshot came from this run or from its committed baseline.
    pub against: Against,
    /// What differs, in one line (status, headers, body size and lines): see [`gist`].
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub gist: String,
    /// A unified diff from the primary cell's snapshot to this cell's.
    pub diff: String,
    /// Whether it is accepted.
    pub acceptance: Acceptance,
}

/// An accepted divergence that did not happen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stale {
    /// The suite.
    pub suite: String,
    /// The case.
    pub case: String,
    /// The cell that now behaves like the primary.
    pub cell: String,
    /// The reason that was given.
    pub reason: String,
}

/// How a snapshot compares with its committed baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BaselineState {
    /// No baseline yet.
    New,
    /// The baseline differs.
    Changed,
}

/// A snapshot that differs from (or lacks) its baseline.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BaselineChange {
    /// The snapshot name.
    pub name: String,
    /// New or changed.
    pub state: BaselineState,
    /// What differs from the baseline, in one line (empty for a new snapshot).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub gist: String,
    /// A unified diff from the baseline (empty for a new snapshot).
    pub diff: String,
}

/// The whole comparison.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Comparison {
    /// Differences between cells, accepted or not.
    pub divergences: Vec<Divergence>,
    /// Accepted divergences that no longer happen.
    pub stale: Vec<Stale>,
    /// Snapshots that differ from their baselines.
    pub baseline: Vec<BaselineChange>,
    /// In an audit: differences of agnostic suites between cells.
    pub not_agnostic: Vec<Divergence>,
    /// In an audit: per-target suites that behaved the same on every cell.
    pub agnostic_candidates: Vec<String>,
    /// Snapshots of cells other than the primary that could not be compared: the primary
    /// neither ran their step nor has a committed baseline for it.
    pub uncompared: Vec<String>,
}

impl Comparison {
    /// Every difference between cells: divergences, then the audit's findings.
    pub fn all_divergences(&self) -> impl Iterator<Item = &Divergence> {
        self.divergences.iter().chain(&self.not_agnostic)
    }

    /// Divergences that fail the run (unaccepted or expired).
    pub fn failing(&self) -> impl Iterator<Item = &Divergence> {
        self.divergences
            .iter()
            .filter(|d| !matches!(d.acceptance, Acceptance::Accepted { .. }))
    }
}

/// A unified diff of two snapshot texts. Carriage returns are shown as `␍`, so that a line
/// that differs only in its ending does not look the same on both sides.
pub fn unified(old: &str, new: &str, old_name: &str, new_name: &str) -> String {
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(old_name, new_name)
        .to_string()
        .replace('\r', "␍")
}

/// A step of a case of a suite.
type StepKey<'a> = (&'a str, &'a str, &'a str);

/// Compares `observations`; `baseline` gives a committed snapshot's content by name, and
/// `today` is `YYYY-MM-DD` for expiry dates; with `audit`, per-target suites that behaved the
/// same on every cell are listed as candidates for agnostic (even in a matrix that has no
/// agnostic suite yet, which is when a team needs the list most).
pub fn compare(
    matrix: &Matrix,
    observations: &[Observation],
    baseline: &dyn Fn(&str) -> Option<String>,
    today: &str,
    audit: bool,
) -> Comparison {
    let mut out = Comparison::default();
    // (suite, case, step) -> the observation on each cell, in cell order. A step has a
    // handful of cells: a sorted list is a fraction of a map's memory.
    let mut by_step: BTreeMap<StepKey, Vec<(&str, &Observation)>> = BTreeMap::new();
    for o in observations {
        let cells = by_step.entry((&o.suite, &o.case, &o.step)).or_default();
        match cells.binary_search_by(|(cell, _)| (*cell).cmp(&o.cell)) {
            Ok(i) => cells[i] = (&o.cell, o),
            Err(i) => cells.insert(i, (&o.cell, o)),
        }
    }
    let primary = matrix.primary.as_str();
    // Cases compared on a cell, and those that differed there: (suite, case, cell).
    let mut compared: BTreeSet<(&str, &str, &str)> = BTreeSet::new();
    let mut differed: BTreeSet<(&str, &str, &str)> = BTreeSet::new();
    for ((suite, case, step), cells) in &by_step {
        let committed;
        let on_primary = cells.iter().find(|(cell, _)| *cell == primary);
        let (reference, against) = match on_primary {
            Some((_, o)) => (o.text.as_str(), Against::Run),
            None => match baseline(&store::name(suite, case, step, primary)) {
                Some(text) => {
                    committed = text;
                    (committed.as_str(), Against::Baseline)
                }
                None => {
                    out.uncompared.extend(cells.iter().map(|(_, o)| o.name()));
                    continue;
                }
            },
        };
        for (cell, o) in cells {
            if *cell == primary {
                continue;
            }
            compared.insert((*suite, *case, *cell));
            if store::same(reference, &o.text) {
                continue;
            }
            differed.insert((*suite, *case, *cell));
            let name = store::name(suite, case, step, "");
            let d = Divergence {
                suite: suite.to_string(),
                case: case.to_string(),
                step: step.to_string(),
                cell: cell.to_string(),
                primary: primary.to_owned(),
                against,
                gist: gist(reference, &o.text),
                diff: unified(
                    reference,
                    &o.text,
                    &match against {
                        Against::Run => format!("{name}{primary}"),
                        Against::Baseline => format!("{name}{primary}.snap (committed)"),
                    },
                    &format!("{name}{cell}"),
                ),
                acceptance: acceptance(matrix, suite, case, cell, today),
            };
            if o.scope == Scope::Agnostic {
                out.not_agnostic.push(d);
            } else {
                out.divergences.push(d);
            }
        }
    }
    for d in matrix.divergences.iter().filter(|d| d.explore.is_none()) {
        // A case that did not run at all while its suite ran on both cells (a misspelled
        // case name, a deleted case; for a glob: no case it names) is stale too.
        let suite_on = |cell: &str| {
            observations
                .iter()
                .any(|o| o.suite == d.suite && o.cell == cell)
        };
        let case_ran = observations.iter().any(|o| d.covers(&o.suite, &o.case));
        for cell in &d.cells {
            let any = |set: &BTreeSet<(&str, &str, &str)>| {
                set.iter().any(|(s, c, k)| k == cell && d.covers(s, c))
            };
            let no_such_case = !case_ran && suite_on(primary) && suite_on(cell);
            if no_such_case || (any(&compared) && !any(&differed)) {
                out.stale.push(Stale {
                    suite: d.suite.clone(),
                    case: d.case.clone(),
                    cell: cell.clone(),
                    reason: d.reason.clone(),
                });
            }
        }
    }
    // Audit: per-target suites with no difference on any cell, compared on more than one.
    let suites_seen: BTreeSet<&str> = observations
        .iter()
        .filter(|o| o.scope == Scope::PerTarget)
        .map(|o| o.suite.as_str())
        .collect();
    if audit {
        for suite in suites_seen {
            let was_compared = compared.iter().any(|(s, _, _)| *s == suite);
            let any_diff = differed.iter().any(|(s, _, _)| *s == suite);
            if was_compared && !any_diff {
                out.agnostic_candidates.push(suite.to_owned());
            }
        }
    }
    for o in observations.iter().filter(|o| !o.audit) {
        let name = o.name();
        match baseline(&name) {
            None => out.baseline.push(BaselineChange {
                name,
                state: BaselineState::New,
                gist: String::new(),
                diff: String::new(),
            }),
            Some(committed) if !store::same(&committed, &o.text) => {
                out.baseline.push(BaselineChange {
                    gist: gist(&committed, &o.text),
                    diff: unified(
                        &committed,
                        &o.text,
                        &format!("{name}.snap"),
                        &format!("{name} (this run)"),
                    ),
                    name,
                    state: BaselineState::Changed,
                })
            }
            Some(_) => {}
        }
    }
    out
}

fn acceptance(matrix: &Matrix, suite: &str, case: &str, cell: &str, today: &str) -> Acceptance {
    // An entry for the case itself wins over a glob that also names it.
    let on_cell =
        |d: &&crate::matrix::Divergence| d.covers(suite, case) && d.cells.iter().any(|c| c == cell);
    let Some(d) = matrix
        .divergences
        .iter()
        .filter(on_cell)
        .find(|d| d.case == case)
        .or_else(|| matrix.divergences.iter().find(on_cell))
    else {
        return Acceptance::Unaccepted;
    };
    match &d.expires {
        Some(expires) if expires.as_str() < today => Acceptance::Expired {
            reason: d.reason.clone(),
            expires: expires.clone(),
        },
        _ => Acceptance::Accepted {
            reason: d.reason.clone(),
            by: entry_of(matrix, d),
        },
    }
}

/// The entry `d` of `matrix`, named by its pattern and line, when it is a pattern (a glob or
/// a class); empty for an entry that names one case.
pub fn entry_of(matrix: &Matrix, d: &crate::matrix::Divergence) -> String {
    if d.explore.is_none() && !crate::matrix::is_glob(&d.case) {
        return String::new();
    }
    let file = matrix
        .file
        .file_name()
        .map_or_else(|| "matrix.toml".into(), |f| f.to_string_lossy());
    format!("{} at {file}:{}", d.pattern(), d.line)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::Path;

    use super::*;

    const MATRIX: &str = r#"
primary = "linux"
[server]
package = "srv"
[server.ready]
tcp = true
[[target]]
name = "linux"
triple = "x86_64-unknown-linux-gnu"
runtime = "host"
[[target]]
name = "windows"
triple = "x86_64-pc-windows-gnu"
runtime = "wine"
[[target]]
name = "mac"
triple = "x86_64-apple-darwin"
runtime = "host"
[[suite]]
name = "contract"
kind = "http"
path = "s/contract"
scope = "agnostic"
[[suite]]
name = "tasks"
kind = "http"
path = "s/tasks"
scope = "per-target"
[[suite]]
name = "projects"
kind = "http"
path = "s/projects"
scope = "per-target"
[[divergence]]
suite = "tasks"
case = "echo"
cells = ["windows"]
reason = "CRLF"
[[divergence]]
suite = "tasks"
case = "exit"
cells = ["windows"]
reason = "was different once"
[[divergence]]
suite = "tasks"
case = "env"
cells = ["windows"]
reason = "%OS%"
expires = 2026-01-31
[[divergence]]
suite = "tasks"
case = "ecko"
cells = ["windows"]
reason = "a misspelled case"
"#;

    fn obs(suite: &str, case: &str, cell: &str, scope: Scope, text: &str) -> Observation {
        Observation {
            suite: suite.into(),
            case: case.into(),
            step: "1".into(),
            cell: cell.into(),
            scope,
            audit: scope == Scope::Agnostic && cell != "linux",
            source: format!("s/{suite}/{case}.toml"),
            expression: "GET /".into(),
            text: text.into(),
        }
    }

    fn check(observations: &[Observation], baselines: &[(&str, &str)]) -> Comparison {
        let m = crate::matrix::parse(Path::new("matrix.toml"), MATRIX, crate::runtime::kinds())
            .unwrap();
        let baselines: BTreeMap<String, String> = baselines
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let audit = observations.iter().any(|o| o.audit);
        compare(
            &m,
            observations,
            &|n| baselines.get(n).cloned(),
            "2026-06-01",
            audit,
        )
    }

    #[test]
    fn divergences_are_accepted_expired_unaccepted_or_stale() {
        use Scope::PerTarget as P;
        let observations = [
            obs("tasks", "echo", "linux", P, "hi\n"),
            obs("tasks", "echo", "windows", P, "hi\r\n"),
            obs("tasks", "echo", "mac", P, "hi\n"),
            obs("tasks", "exit", "linux", P, "3"),
            obs("tasks", "exit", "windows", P, "3"),
            obs("tasks", "env", "linux", P, "/root"),
            obs("tasks", "env", "windows", P, "Windows_NT"),
            obs("projects", "list", "linux", P, "[a, B]"),
            obs("projects", "list", "mac", P, "[B, a]"),
        ];
        let names: Vec<String> = observations.iter().map(Observation::name).collect();
        let baselines: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "")).collect();
        let c = check(&observations, &baselines);
        let summary: Vec<String> = c
            .divergences
            .iter()
            .map(|d| format!("{}/{}@{}: {:?}", d.suite, d.case, d.cell, d.acceptance))
            .collect();
        insta::assert_snapshot!(summary.join("\n"), @r#"
        projects/list@mac: Unaccepted
        tasks/echo@windows: Accepted { reason: "CRLF", by: "" }
        tasks/env@windows: Expired { reason: "%OS%", expires: "2026-01-31" }
        "#);
        assert_eq!(c.failing().count(), 2);
        let stale: Vec<(&str, &str)> = c
            .stale
            .iter()
            .map(|s| (s.case.as_str(), s.reason.as_str()))
            .collect();
        assert_eq!(
            stale,
            [
                ("exit", "was different once"),
                ("ecko", "a misspelled case")
            ]
        );
        insta::assert_snapshot!(c.divergences[0].diff, @r"
        --- projects__list.1@linux
        +++ projects__list.1@mac
        @@ -1 +1 @@
        -[a, B]
        \ No newline at end of file
        +[B, a]
        \ No newline at end of file
        ");
        assert!(c.agnostic_candidates.is_empty(), "no audit, no candidates");
    }

    #[test]
    fn baselines_are_new_changed_or_the_same() {
        use Scope::PerTarget as P;
        let observations = [
            obs("tasks", "echo", "linux", P, "hi\n"),
            obs("projects", "list", "linux", P, "[a]\n"),
        ];
        let c = check(
            &observations,
            &[("tasks__echo.1@linux", "hi\n\n"), ("unrelated", "x")],
        );
        let states: Vec<(String, BaselineState)> = c
            .baseline
            .iter()
            .map(|b| (b.name.clone(), b.state))
            .collect();
        assert_eq!(
            states,
            [("projects__list.1@linux".to_owned(), BaselineState::New)],
            "trailing newlines are not behaviour"
        );
        let c = check(
            &observations,
            &[
                ("tasks__echo.1@linux", "bye\n"),
                ("projects__list.1@linux", "[a]"),
            ],
        );
        assert_eq!(c.baseline.len(), 1);
        insta::assert_snapshot!(c.baseline[0].diff, @r"
        --- tasks__echo.1@linux.snap
        +++ tasks__echo.1@linux (this run)
        @@ -1 +1 @@
        -bye
        +hi
        ");
    }

    #[test]
    fn the_audit_finds_agnostic_suites_that_differ_and_per_target_suites_that_do_not() {
        use Scope::{Agnostic as A, PerTarget as P};
        let observations = [
            obs("contract", "errors", "linux", A, "404"),
            obs("contract", "errors", "windows", A, "404"),
            obs("contract", "paths", "linux", A, "a/b"),
            obs("contract", "paths", "windows", A, "a\\b"),
            obs("projects", "list", "linux", P, "[a]"),
            obs("projects", "list", "windows", P, "[a]"),
            obs("tasks", "echo", "linux", P, "hi\n"),
            obs("tasks", "echo", "windows", P, "hi\r\n"),
        ];
        let c = check(&observations, &[]);
        let not_agnostic: Vec<String> = c
            .not_agnostic
            .iter()
            .map(|d| format!("{}/{}@{}", d.suite, d.case, d.cell))
            .collect();
        assert_eq!(not_agnostic, ["contract/paths@windows"]);
        assert_eq!(c.agnostic_candidates, ["projects"]);
        assert!(
            c.baseline
                .iter()
                .all(|b| !b.name.ends_with("@windows") || !b.name.starts_with("contract")),
            "audit runs are not baselines"
        );
    }

    #[test]
    fn without_the_primary_a_cell_is_compared_with_the_primary_baselines() {
        use Scope::PerTarget as P;
        // Only windows ran: its snapshots meet debian's committed baselines (here `linux`, the
        // primary of this matrix), never only their own.
        let observations = [
            obs("projects", "list", "windows", P, "[B, a]"),
            obs("projects", "get", "windows", P, "a"),
            obs("projects", "new-case", "windows", P, "x"),
        ];
        let c = check(
            &observations,
            &[
                ("projects__list.1@linux", "[a, B]"),
                ("projects__get.1@linux", "a"),
                ("projects__list.1@windows", "[B, a]"),
                ("projects__get.1@windows", "a"),
            ],
        );
        let found: Vec<String> = c
            .divergences
            .iter()
            .map(|d| {
                format!(
                    "{}/{}@{} {:?} {:?}",
                    d.suite, d.case, d.cell, d.against, d.acceptance
                )
            })
            .collect();
        assert_eq!(found, ["projects/list@windows Baseline Unaccepted"]);
        insta::assert_snapshot!(c.divergences[0].diff, @r"
        --- projects__list.1@linux.snap (committed)
        +++ projects__list.1@windows
        @@ -1 +1 @@
        -[a, B]
        \ No newline at end of file
        +[B, a]
        \ No newline at end of file
        ");
        assert_eq!(
            c.uncompared,
            ["projects__new-case.1@windows"],
            "a step the primary has no baseline for cannot pass unseen"
        );
    }

    #[test]
    fn a_glob_accepts_every_case_it_names_as_one_entry_and_a_case_s_own_entry_wins() {
        let text = MATRIX.to_owned()
            + "[[divergence]]\nsuite = \"projects\"\ncase = \"l*\"\ncells = [\"mac\"]\nreason = \"listing order\"\n"
            + "[[divergence]]\nsuite = \"projects\"\ncase = \"r[aeiou]n*\"\ncells = [\"mac\"]\nreason = \"nothing differs\"\n";
        let m =
            crate::matrix::parse(Path::new("matrix.toml"), &text, crate::runtime::kinds()).unwrap();
        use Scope::PerTarget as P;
        let observations = [
            obs("projects", "list", "linux", P, "[a, B]"),
            obs("projects", "list", "mac", P, "[B, a]"),
            obs("projects", "lookup", "linux", P, "a"),
            obs("projects", "lookup", "mac", P, "b"),
            obs("projects", "rename", "linux", P, "x"),
            obs("projects", "rename", "mac", P, "x"),
            obs("tasks", "echo", "linux", P, "hi\n"),
            obs("tasks", "echo", "windows", P, "hi\r\n"),
        ];
        let c = compare(&m, &observations, &|_| None, "2026-06-01", false);
        let by: Vec<String> = c
            .divergences
            .iter()
            .map(|d| format!("{}/{}: {}", d.suite, d.case, d.acceptance.words()))
            .collect();
        let line = text.lines().position(|l| l == "case = \"l*\"").unwrap() + 1;
        assert_eq!(
            by,
            [
                format!(
                    "projects/list: accepted by projects/l* at matrix.toml:{line}: listing order"
                ),
                format!(
                    "projects/lookup: accepted by projects/l* at matrix.toml:{line}: listing order"
                ),
                "tasks/echo: accepted: CRLF".to_owned(),
            ]
        );
        // A glob none of whose cases differs any more is stale; one that names no case that
        // ran is too.
        let stale: Vec<&str> = c.stale.iter().map(|s| s.case.as_str()).collect();
        assert!(stale.contains(&"r[aeiou]n*"), "{stale:?}");
        assert!(!stale.contains(&"l*"), "{stale:?}");
    }

    #[test]
    fn a_bad_glob_or_an_unknown_class_or_a_half_entry_is_an_error_at_its_place() {
        for (entry, expected) in [
            ("suite = \"tasks\"\ncase = \"[oops\"", "is no valid glob"),
            (
                "explore = \"casing\"",
                "unknown explore class `casing`: expected one of",
            ),
            (
                "explore = \"encoding\"\nsuite = \"tasks\"",
                "either an explore class or a suite and case",
            ),
            ("suite = \"tasks\"", "this divergence has no case"),
        ] {
            let text =
                format!("{MATRIX}[[divergence]]\n{entry}\ncells = [\"mac\"]\nreason = \"r\"\n");
            let e = crate::matrix::parse(Path::new("matrix.toml"), &text, crate::runtime::kinds())
                .unwrap_err()
                .to_string();
            assert!(e.contains(expected), "{entry}: {e}");
            assert!(e.contains("matrix.toml:"), "{e}");
        }
    }
}
