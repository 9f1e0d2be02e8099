//! The findings of `--explore`: which generated probes each cell answered otherwise than the
//! primary, grouped by the kind of difference, each class led by its smallest request. Pure:
//! the same probes and answers give the same findings.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::matrix::Divergence;
use crate::suite::explore::{Class, Probe};

/// What an exploration found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Explored {
    /// The generator's seed.
    pub seed: u64,
    /// The most probes a cell was sent.
    pub budget: usize,
    /// The probes each cell was to be sent.
    pub probes: usize,
    /// The probes each cell answered before its time ran out (all of them without
    /// `--explore-time`); a probe not answered everywhere is compared where it was.
    #[serde(default)]
    pub answered: BTreeMap<String, usize>,
    /// The paths the probes were derived from.
    pub bases: usize,
    /// The primary cell, which every other is compared with.
    pub primary: String,
    /// The cells that answered.
    pub cells: Vec<String>,
    /// The classes with findings, in report order.
    pub classes: Vec<ClassFindings>,
    /// Cells whose probes did not run, with why.
    pub errors: BTreeMap<String, String>,
}

impl Explored {
    /// How many findings there are, over every class.
    pub fn findings(&self) -> usize {
        self.classes.iter().map(|c| c.findings.len()).sum()
    }

    /// How many findings the ledger does not accept.
    pub fn unknown(&self) -> usize {
        self.classes
            .iter()
            .flat_map(|c| &c.findings)
            .filter(|f| f.known.is_none())
            .count()
    }
}

/// Marks as known each finding the ledger accepts, unexpired on `today` (`YYYY-MM-DD`), on
/// every cell the finding names: by an entry for its class (`explore = "..."`), or for the
/// committed case that sends the same request (by name or glob).
pub fn mark_known(classes: &mut [ClassFindings], ledger: &[Divergence], today: &str) {
    for class in classes.iter_mut() {
        for finding in &mut class.findings {
            let covering = finding
                .covered_by
                .as_deref()
                .and_then(|c| c.split_once('/'));
            finding.known = ledger
                .iter()
                .filter(|d| d.expires.as_deref().is_none_or(|e| e >= today))
                .filter(|d| finding.cells.iter().all(|c| d.cells.contains(c)))
                .find(|d| match d.explore {
                    Some(accepted) => accepted == class.class,
                    None => covering.is_some_and(|(suite, case)| d.covers(suite, case)),
                })
                .map(|d| match d.explore {
                    Some(_) => format!("{} (by {})", d.reason, d.pattern()),
                    None => d.reason.clone(),
                });
        }
    }
}

/// One kind of difference and every probe that shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassFindings {
    /// The kind.
    pub class: Class,
    /// The probes that show it, the smallest request first.
    pub findings: Vec<Finding>,
}

/// One probe that a cell answered otherwise than the primary did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// The probe (its case name in the explore suite).
    pub probe: String,
    /// `GET` and the path, as sent.
    pub request: String,
    /// The request it mutates.
    pub base: String,
    /// The cells that answered otherwise than the primary.
    pub cells: Vec<String>,
    /// Every cell's normalized answer, side by side.
    pub answers: BTreeMap<String, String>,
    /// A committed case that sends the same request (`suite/case`), when one does.
    pub covered_by: Option<String>,
    /// Why the difference is intended, when the ledger accepts that case's divergence on
    /// every cell of the finding: a known finding.
    #[serde(default)]
    pub known: Option<String>,
}

/// The findings of `probes`, from each cell's answers (`answers[cell][probe]`, normalized).
/// A mutated probe is a finding only where its base was answered alike: otherwise the base
/// differs already, and is a finding of its own (class `base`). `covers` names the committed
/// case that sends a request, by its path.
pub fn findings(
    probes: &[Probe],
    answers: &BTreeMap<String, BTreeMap<String, String>>,
    primary: &str,
    covers: &BTreeMap<String, String>,
) -> Vec<ClassFindings> {
    let Some(reference) = answers.get(primary) else {
        return Vec::new();
    };
    let base_probe: BTreeMap<(&str, &str), &str> = probes
        .iter()
        .filter(|p| p.class == Class::Base)
        .map(|p| ((p.base.as_str(), p.method.as_str()), p.name.as_str()))
        .collect();
    let mut by_class: BTreeMap<Class, Vec<Finding>> = BTreeMap::new();
    for probe in probes {
        let Some(expected) = reference.get(&probe.name) else {
            continue;
        };
        let base_alike = |cell: &BTreeMap<String, String>| {
            probe.class == Class::Base
                || base_probe
                    .get(&(probe.base.as_str(), probe.method.as_str()))
                    .is_some_and(|b| cell.get(*b) == reference.get(*b))
        };
        let differing: Vec<String> = answers
            .iter()
            .filter(|(cell, _)| cell.as_str() != primary)
            .filter(|(_, cell)| base_alike(cell))
            .filter(|(_, cell)| cell.get(&probe.name).is_some_and(|a| a != expected))
            .map(|(cell, _)| cell.clone())
            .collect();
        if differing.is_empty() {
            continue;
        }
        // The same lines in another order, everywhere it differs: a matter of order.
        let lines = |text: &str| {
            let mut l: Vec<String> = text.lines().map(str::to_owned).collect();
            l.sort();
            l
        };
        let reordered = differing.iter().all(|cell| {
            answers[cell]
                .get(&probe.name)
                .is_some_and(|a| lines(a) == lines(expected))
        });
        let class = if reordered {
            Class::Ordering
        } else {
            probe.class
        };
        by_class.entry(class).or_default().push(Finding {
            probe: probe.name.clone(),
            request: format!("{} {}", probe.method, probe.path),
            base: probe.base.clone(),
            cells: differing,
            answers: answers
                .iter()
                .filter_map(|(cell, a)| Some((cell.clone(), a.get(&probe.name)?.clone())))
                .collect(),
            covered_by: covers.get(&probe.path).cloned(),
            known: None,
        });
    }
    Class::ALL
        .into_iter()
        .filter_map(|class| {
            let mut findings = by_class.remove(&class)?;
            findings
                .sort_by(|a, b| (a.request.len(), &a.request).cmp(&(b.request.len(), &b.request)));
            Some(ClassFindings { class, findings })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::suite::explore::{Budget, probes};

    fn answers(cells: &[(&str, &[(&str, &str)])]) -> BTreeMap<String, BTreeMap<String, String>> {
        cells
            .iter()
            .map(|(cell, a)| {
                (
                    cell.to_string(),
                    a.iter()
                        .map(|(p, t)| (p.to_string(), t.to_string()))
                        .collect(),
                )
            })
            .collect()
    }

    #[test]
    fn a_mutation_answered_otherwise_is_a_finding_of_its_class_smallest_first() {
        let probes = probes(
            &["/files/readme.md".to_owned(), "/files/a.txt".to_owned()],
            Budget {
                seed: 1,
                requests: 100,
                time: None,
                writes: false,
            },
        );
        let name = |path: &str| {
            probes
                .iter()
                .find(|p| p.path == path)
                .unwrap_or_else(|| panic!("no probe {path}"))
                .name
                .clone()
        };
        let same: Vec<(String, String)> = probes
            .iter()
            .map(|p| (p.name.clone(), "404".to_owned()))
            .collect();
        let mut windows = same.clone();
        for path in ["/files/README.MD", "/files/A.TXT"] {
            let n = name(path);
            windows.iter_mut().find(|(p, _)| *p == n).unwrap().1 = "200".into();
        }
        let to_ref =
            |v: &Vec<(String, String)>| -> BTreeMap<String, String> { v.iter().cloned().collect() };
        let all = BTreeMap::from([
            ("debian".to_owned(), to_ref(&same)),
            ("windows".to_owned(), to_ref(&windows)),
        ]);
        let found = findings(&probes, &all, "debian", &BTreeMap::new());
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!(found[0].class, Class::CaseSensitivity);
        let requests: Vec<&str> = found[0]
            .findings
            .iter()
            .map(|f| f.request.as_str())
            .collect();
        assert_eq!(requests, ["GET /files/A.TXT", "GET /files/README.MD"]);
        assert_eq!(found[0].findings[0].cells, ["windows"]);
    }

    #[test]
    fn the_same_lines_in_another_order_are_a_finding_of_ordering() {
        let probes = vec![Probe {
            name: "base-001".into(),
            class: Class::Base,
            method: "GET".into(),
            base: "/files".into(),
            path: "/files".into(),
        }];
        let all = answers(&[
            ("debian", &[("base-001", "status: 200\n\na\nb")]),
            ("windows", &[("base-001", "status: 200\n\nb\na")]),
        ]);
        let found = findings(&probes, &all, "debian", &BTreeMap::new());
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].class, Class::Ordering);
    }

    #[test]
    fn a_mutation_of_a_base_that_differs_already_is_not_its_finding() {
        let probes = vec![
            Probe {
                name: "base-001".into(),
                class: Class::Base,
                method: "GET".into(),
                base: "/x".into(),
                path: "/x".into(),
            },
            Probe {
                name: "case-sensitivity-001".into(),
                class: Class::CaseSensitivity,
                method: "GET".into(),
                base: "/x".into(),
                path: "/X".into(),
            },
        ];
        let all = answers(&[
            ("a", &[("base-001", "1"), ("case-sensitivity-001", "1")]),
            ("b", &[("base-001", "2"), ("case-sensitivity-001", "2")]),
        ]);
        let found = findings(&probes, &all, "a", &BTreeMap::new());
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].class, Class::Base);
    }

    #[test]
    fn a_class_entry_makes_every_finding_of_its_class_known_on_its_cells() {
        let text = "primary = \"linux\"\n[server]\npackage = \"srv\"\n[server.ready]\ntcp = true\n\
            [[target]]\nname = \"linux\"\ntriple = \"x86_64-unknown-linux-gnu\"\nruntime = \"host\"\n\
            [[target]]\nname = \"windows\"\ntriple = \"x86_64-pc-windows-gnu\"\nruntime = \"wine\"\n\
            [[target]]\nname = \"mac\"\ntriple = \"x86_64-apple-darwin\"\nruntime = \"host\"\n\
            [[suite]]\nname = \"api\"\nkind = \"command\"\ncommand = [\"true\"]\nscope = \"per-target\"\n\
            [[divergence]]\nexplore = \"case-sensitivity\"\ncells = [\"windows\"]\nreason = \"NTFS\"\n";
        let m = crate::matrix::parse(std::path::Path::new("matrix.toml"), text).unwrap();
        let finding = |probe: &str, cells: &[&str]| Finding {
            probe: probe.into(),
            request: format!("GET /{probe}"),
            base: "/".into(),
            cells: cells.iter().map(|c| c.to_string()).collect(),
            answers: BTreeMap::new(),
            covered_by: None,
            known: None,
        };
        let mut classes = vec![
            ClassFindings {
                class: Class::CaseSensitivity,
                findings: vec![
                    finding("a", &["windows"]),
                    finding("b", &["windows"]),
                    finding("c", &["windows", "mac"]),
                ],
            },
            ClassFindings {
                class: Class::Separators,
                findings: vec![finding("d", &["windows"])],
            },
        ];
        mark_known(&mut classes, &m.divergences, "2026-06-01");
        let known: Vec<bool> = classes
            .iter()
            .flat_map(|c| &c.findings)
            .map(|f| f.known.is_some())
            .collect();
        // Of its class, on its cells only; another class stays unknown.
        assert_eq!(known, [true, true, false, false]);
        assert_eq!(
            classes[0].findings[0].known.as_deref(),
            Some("NTFS (by explore class case-sensitivity)")
        );
    }
}
