//! The findings of `--explore`: which generated probes each cell answered otherwise than the
//! primary, grouped by what differs between the answers (the status, the data dir a write
//! left, the order of lines, lines that name a link, an error's text, the body, the headers,
//! the log), and for a status by the mutation that exposed it; each class led by its
//! smallest request. Pure: the same probes and answers give the same findings.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::matrix::Divergence;
use crate::suite::explore::{Class, Probe, Upload};

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
    /// The request as a line: the method and the path as sent (and a form's file).
    pub request: String,
    /// What the probe did to its base request (`base`: nothing), which exposed the
    /// difference.
    #[serde(default = "unmutated")]
    pub mutation: Class,
    /// The method sent.
    #[serde(default)]
    pub method: String,
    /// The path sent, percent-encoded.
    #[serde(default)]
    pub path: String,
    /// For an upload: the form's file field and the file name sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upload: Option<Upload>,
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

fn unmutated() -> Class {
    Class::Base
}

/// A probe's answer on one cell, in the parts a difference is classed by.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Answer {
    /// The normalized response: `status: N`, the snapshotted headers, a blank line, the
    /// body.
    pub response: String,
    /// After a write: the data dir's tree.
    pub tree: Option<String>,
    /// The lines the server logged while answering, normalized (empty: none).
    pub log: String,
}

impl Answer {
    /// The status line.
    fn status(&self) -> &str {
        self.response.lines().next().unwrap_or("")
    }

    /// The status code (0 when there is none: no response).
    fn code(&self) -> u16 {
        self.status()
            .strip_prefix("status: ")
            .and_then(|c| c.trim().parse().ok())
            .unwrap_or(0)
    }

    /// The header lines and the body.
    fn parts(&self) -> (&str, &str) {
        let rest = self.response.split_once('\n').map_or("", |(_, r)| r);
        rest.split_once("\n\n").unwrap_or((rest, ""))
    }

    /// The answer as the reports show it: the response, then the data dir's tree and the
    /// log lines, each under a line naming it.
    pub fn text(&self) -> String {
        let mut text = self.response.clone();
        for (name, part) in [("data dir", self.tree.as_deref()), ("log", Some(&self.log))] {
            if let Some(part) = part.filter(|p| !p.is_empty()) {
                if !text.ends_with('\n') {
                    text.push('\n');
                }
                text.push_str(&format!("--- {name}\n{part}"));
            }
        }
        text
    }
}

/// What differs between `expected` (the primary's answer) and `got` (another cell's), as a
/// class: a status by the probe's `mutation` (a base that names one of the seed's `links`:
/// `symlinks`); then the data dir a write left; then the body's lines in another order, lines
/// that name a link, an error's text (body or log, under an error status), the body; then the
/// headers, then the log.
pub fn classify(
    mutation: Class,
    base: &str,
    expected: &Answer,
    got: &Answer,
    links: &BTreeSet<String>,
) -> Class {
    let names_link = |text: &str| {
        text.split(|c: char| !(c.is_alphanumeric() || "._-~%".contains(c)))
            .any(|token| links.contains(token))
    };
    let error = expected.code() >= 400;
    if expected.status() != got.status() {
        let through_link = base.split('/').any(|segment| links.contains(segment));
        return if mutation == Class::Base && through_link {
            Class::Symlinks
        } else {
            mutation
        };
    }
    if expected.tree != got.tree {
        return Class::StoredNames;
    }
    let ((expected_head, expected_body), (got_head, got_body)) = (expected.parts(), got.parts());
    if expected_body != got_body {
        fn sorted(text: &str) -> Vec<&str> {
            let mut lines: Vec<&str> = text.lines().collect();
            lines.sort_unstable();
            lines
        }
        if sorted(expected_body) == sorted(got_body) {
            return Class::Ordering;
        }
        let theirs: BTreeSet<&str> = got_body.lines().collect();
        let ours: BTreeSet<&str> = expected_body.lines().collect();
        if ours
            .symmetric_difference(&theirs)
            .any(|line| names_link(line))
        {
            return Class::Symlinks;
        }
        return if error { Class::ErrorText } else { Class::Body };
    }
    if expected_head != got_head {
        return Class::Headers;
    }
    if error { Class::ErrorText } else { Class::Log }
}

/// The findings of `probes`, from each cell's answers (`answers[cell][probe]`). A mutated
/// probe is no finding where its base differs already in the same way (both in status, or
/// both in the same class): that is the base's finding. Each finding's class is what differs
/// ([`classify`]); where cells differ in several ways, the first of them in class order.
/// `covers` names the committed case that sends a request, by its path; `links` are the
/// names of the seed's symbolic links.
pub fn findings(
    probes: &[Probe],
    answers: &BTreeMap<String, BTreeMap<String, Answer>>,
    primary: &str,
    covers: &BTreeMap<String, String>,
    links: &BTreeSet<String>,
) -> Vec<ClassFindings> {
    let Some(reference) = answers.get(primary) else {
        return Vec::new();
    };
    let base_probe: BTreeMap<(&str, &str), &str> = probes
        .iter()
        .filter(|p| p.mutation == Class::Base)
        .map(|p| ((p.base.as_str(), p.method.as_str()), p.name.as_str()))
        .collect();
    let mut by_class: BTreeMap<Class, Vec<Finding>> = BTreeMap::new();
    for probe in probes {
        let Some(expected) = reference.get(&probe.name) else {
            continue;
        };
        // How the base request's answer differs on a cell, if it does.
        let base_differs = |cell: &BTreeMap<String, Answer>| -> Option<Class> {
            if probe.mutation == Class::Base {
                return None;
            }
            let base = base_probe.get(&(probe.base.as_str(), probe.method.as_str()))?;
            let (expected, got) = (reference.get(*base)?, cell.get(*base)?);
            (expected != got).then(|| classify(Class::Base, &probe.base, expected, got, links))
        };
        // A mutation that differs the way its base differs already shows nothing new.
        let same_kind = |a: Class, b: Class| a == b || (a.is_mutation() && b.is_mutation());
        let differing: Vec<(&String, Class)> = answers
            .iter()
            .filter(|(cell, _)| cell.as_str() != primary)
            .filter_map(|(cell, a)| {
                let got = a.get(&probe.name).filter(|got| *got != expected)?;
                let class = classify(probe.mutation, &probe.base, expected, got, links);
                let base = base_differs(a);
                (!base.is_some_and(|b| same_kind(b, class))).then_some((cell, class))
            })
            .collect();
        // Classes compare in report order: where cells differ in several ways, the first.
        let Some(class) = differing.iter().map(|(_, class)| *class).min() else {
            continue;
        };
        by_class.entry(class).or_default().push(Finding {
            probe: probe.name.clone(),
            request: probe.request(),
            mutation: probe.mutation,
            method: probe.method.clone(),
            path: probe.path.clone(),
            upload: probe.upload.clone(),
            base: probe.base.clone(),
            cells: differing.iter().map(|(cell, _)| (*cell).clone()).collect(),
            answers: answers
                .iter()
                .filter_map(|(cell, a)| Some((cell.clone(), a.get(&probe.name)?.text())))
                .collect(),
            covered_by: covers.get(&probe.path).cloned(),
            known: None,
        });
    }
    by_class
        .into_iter()
        .map(|(class, mut findings)| {
            // Shrunk: the smallest request that shows the class leads it.
            findings
                .sort_by(|a, b| (a.request.len(), &a.request).cmp(&(b.request.len(), &b.request)));
            ClassFindings { class, findings }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::suite::explore::{Budget, probes};

    fn response(status: u16, body: &str) -> Answer {
        Answer {
            response: format!("status: {status}\ncontent-type: text/plain\n\n{body}\n"),
            ..Answer::default()
        }
    }

    fn probe(name: &str, mutation: Class, base: &str, path: &str) -> Probe {
        Probe {
            name: name.into(),
            mutation,
            method: "GET".into(),
            base: base.into(),
            path: path.into(),
            upload: None,
        }
    }

    /// Findings of `probes` between `a` (the primary) and `b`, by class: each class's
    /// requests.
    fn classes(
        probes: &[Probe],
        a: BTreeMap<String, Answer>,
        b: BTreeMap<String, Answer>,
        links: &[&str],
    ) -> Vec<(Class, Vec<String>)> {
        let all = BTreeMap::from([("a".to_owned(), a), ("b".to_owned(), b)]);
        let links = links.iter().map(|l| l.to_string()).collect();
        findings(probes, &all, "a", &BTreeMap::new(), &links)
            .into_iter()
            .map(|c| {
                (
                    c.class,
                    c.findings.iter().map(|f| f.request.clone()).collect(),
                )
            })
            .collect()
    }

    #[test]
    fn classes_compare_in_report_order_mutations_first() {
        assert!(Class::ALL.windows(2).all(|w| w[0] < w[1]));
        let mutations: Vec<&str> = Class::ALL
            .into_iter()
            .filter(|c| c.is_mutation())
            .map(Class::as_str)
            .collect();
        assert_eq!(
            mutations,
            [
                "base",
                "case-sensitivity",
                "separators",
                "traversal",
                "trailing-characters",
                "reserved-names",
                "encoding",
                "long-names",
                "short-names"
            ]
        );
    }

    #[test]
    fn a_status_that_differs_is_classed_by_its_mutation_smallest_request_first() {
        let probes = probes(
            &["/files/readme.md".to_owned(), "/files/a.txt".to_owned()],
            Budget {
                seed: 1,
                requests: 100,
                time: None,
                writes: false,
            },
        );
        let same: BTreeMap<String, Answer> = probes
            .iter()
            .map(|p| (p.name.clone(), response(404, "no such file")))
            .collect();
        let mut other = same.clone();
        for p in &probes {
            if p.path == "/files/README.MD" || p.path == "/files/A.TXT" {
                other.insert(p.name.clone(), response(200, "content"));
            }
        }
        let found = classes(&probes, same, other, &[]);
        assert_eq!(
            found,
            [(
                Class::CaseSensitivity,
                vec![
                    "GET /files/A.TXT".to_owned(),
                    "GET /files/README.MD".to_owned()
                ]
            )]
        );
    }

    #[test]
    fn error_texts_that_differ_are_one_class_whatever_the_mutation() {
        let probes = vec![
            probe("base-001", Class::Base, "/files/a", "/files/a"),
            probe(
                "case-sensitivity-001",
                Class::CaseSensitivity,
                "/files/a",
                "/files/A",
            ),
            probe(
                "reserved-names-001",
                Class::ReservedNames,
                "/files/a",
                "/files/CON",
            ),
            probe(
                "short-names-001",
                Class::ShortNames,
                "/files/a",
                "/files/A~1",
            ),
        ];
        let a: BTreeMap<String, Answer> = probes
            .iter()
            .map(|p| {
                let answer = if p.mutation == Class::Base {
                    response(200, "a")
                } else {
                    response(404, "No such file or directory (os error 2)")
                };
                (p.name.clone(), answer)
            })
            .collect();
        let mut b = a.clone();
        for (name, answer) in b.iter_mut().filter(|(n, _)| !n.starts_with("base")) {
            *answer = response(
                404,
                "The system cannot find the file specified. (os error 2)",
            );
            // One of them differs in the log only: an error text too.
            if name.starts_with("short") {
                answer.response = a[name].response.clone();
                answer.log = "[stderr]\nThe system cannot find the file specified.\n".into();
            }
        }
        let found = classes(&probes, a, b, &[]);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!(found[0].0, Class::ErrorText);
        assert_eq!(found[0].1.len(), 3);
    }

    #[test]
    fn what_differs_decides_the_class_before_the_mutation() {
        let p = |name: &str, base: &str| probe(name, Class::Base, base, base);
        let probes = vec![
            p("base-001", "/files/"),
            p("base-002", "/files/docs/"),
            p("base-003", "/files/current"),
            p("base-004", "/files/readme.md"),
            p("base-005", "/etag"),
            p("base-006", "/ok"),
        ];
        let a = BTreeMap::from([
            (
                "base-001".to_owned(),
                response(200, "current\tlink to file\nreadme.md\tfile"),
            ),
            ("base-002".to_owned(), response(200, "Zeta.txt\nguide.txt")),
            ("base-003".to_owned(), response(200, "readme")),
            ("base-004".to_owned(), response(200, "readme")),
            ("base-005".to_owned(), response(200, "x")),
            ("base-006".to_owned(), response(200, "x")),
        ]);
        let mut b = a.clone();
        b.insert(
            "base-001".into(),
            response(200, "current\tfile\nreadme.md\tfile"),
        );
        b.insert("base-002".into(), response(200, "guide.txt\nZeta.txt"));
        b.insert("base-003".into(), response(404, "gone"));
        b.insert("base-004".into(), response(200, "readme, otherwise"));
        b.insert(
            "base-005".into(),
            Answer {
                response: "status: 200\netag: \"2\"\n\nx\n".into(),
                ..Answer::default()
            },
        );
        b.insert(
            "base-006".into(),
            Answer {
                log: "[stderr]\nC:\\data\\ok\n".into(),
                ..a["base-006"].clone()
            },
        );
        let found = classes(&probes, a, b, &["current", "manual"]);
        let leaders: Vec<(Class, &str)> = found.iter().map(|(c, r)| (*c, r[0].as_str())).collect();
        assert_eq!(
            leaders,
            [
                (Class::Ordering, "GET /files/docs/"),
                (Class::Symlinks, "GET /files/"),
                (Class::Body, "GET /files/readme.md"),
                (Class::Headers, "GET /etag"),
                (Class::Log, "GET /ok"),
            ]
        );
        // A status that differs for a request through a link is a matter of links too.
        assert_eq!(found[1].1, ["GET /files/", "GET /files/current"]);
    }

    #[test]
    fn a_write_answered_alike_that_stored_another_name_is_a_stored_name_finding() {
        let put = |name: &str, mutation: Class, path: &str| Probe {
            method: "PUT".into(),
            ..probe(name, mutation, "/files/a", path)
        };
        let writes = [
            put("write-base-001", Class::Base, "/files/a"),
            put(
                "write-case-sensitivity-001",
                Class::CaseSensitivity,
                "/files/A",
            ),
        ];
        let answer = |tree: &str| Answer {
            tree: Some(tree.into()),
            ..response(201, "stored")
        };
        let base = ("write-base-001".to_owned(), answer("f files/a"));
        let found = classes(
            &writes,
            BTreeMap::from([
                base.clone(),
                (
                    "write-case-sensitivity-001".to_owned(),
                    answer("f files/A\nf files/a"),
                ),
            ]),
            BTreeMap::from([
                base,
                ("write-case-sensitivity-001".to_owned(), answer("f files/a")),
            ]),
            &[],
        );
        assert_eq!(
            found,
            [(Class::StoredNames, vec!["PUT /files/A".to_owned()])]
        );
    }

    #[test]
    fn a_mutation_of_a_base_that_differs_already_is_not_its_finding() {
        let probes = vec![
            probe("base-001", Class::Base, "/x", "/x"),
            probe("case-sensitivity-001", Class::CaseSensitivity, "/x", "/X"),
        ];
        let found = classes(
            &probes,
            BTreeMap::from([
                ("base-001".to_owned(), response(200, "1")),
                ("case-sensitivity-001".to_owned(), response(200, "1")),
            ]),
            BTreeMap::from([
                ("base-001".to_owned(), response(404, "2")),
                ("case-sensitivity-001".to_owned(), response(404, "2")),
            ]),
            &[],
        );
        assert_eq!(found, [(Class::Base, vec!["GET /x".to_owned()])]);
        // A base that differs otherwise (its listing's order) hides no status of a mutation.
        let found = classes(
            &probes,
            BTreeMap::from([
                ("base-001".to_owned(), response(200, "B\na")),
                ("case-sensitivity-001".to_owned(), response(404, "none")),
            ]),
            BTreeMap::from([
                ("base-001".to_owned(), response(200, "a\nB")),
                ("case-sensitivity-001".to_owned(), response(200, "a\nB")),
            ]),
            &[],
        );
        assert_eq!(
            found,
            [
                (Class::CaseSensitivity, vec!["GET /X".to_owned()]),
                (Class::Ordering, vec!["GET /x".to_owned()])
            ]
        );
    }

    #[test]
    fn a_class_entry_makes_every_finding_of_its_class_known_on_its_cells() {
        let text = "primary = \"linux\"\n[server]\npackage = \"srv\"\n[server.ready]\ntcp = true\n\
            [[target]]\nname = \"linux\"\ntriple = \"x86_64-unknown-linux-gnu\"\nruntime = \"host\"\n\
            [[target]]\nname = \"windows\"\ntriple = \"x86_64-pc-windows-gnu\"\nruntime = \"wine\"\n\
            [[target]]\nname = \"mac\"\ntriple = \"x86_64-apple-darwin\"\nruntime = \"host\"\n\
            [[suite]]\nname = \"api\"\nkind = \"command\"\ncommand = [\"true\"]\nscope = \"per-target\"\n\
            [[divergence]]\nexplore = \"case-sensitivity\"\ncells = [\"windows\"]\nreason = \"NTFS\"\n";
        let m = crate::matrix::parse(
            std::path::Path::new("matrix.toml"),
            text,
            crate::runtime::kinds(),
        )
        .unwrap();
        let finding = |probe: &str, cells: &[&str]| Finding {
            probe: probe.into(),
            request: format!("GET /{probe}"),
            mutation: Class::Base,
            method: "GET".into(),
            path: format!("/{probe}"),
            upload: None,
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
