//! Suites and the divergence ledger: each suite's kind and settings, scope and target
//! filter; each accepted divergence's suite, case, cells (a target stands for its cells),
//! reason and expiry.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use toml::Spanned;

use super::Cx;
use super::quoted_list;
use crate::diagnostic::Diagnostic;
use crate::matrix::model::*;
use crate::matrix::raw::*;

impl Cx<'_> {
    pub(super) fn suites(
        &mut self,
        raw: &[RawSuite],
        targets: &[Target],
        defaults: Evidence,
        root: &Path,
    ) -> Vec<Suite> {
        let mut suites: Vec<Suite> = Vec::new();
        let mut seen: BTreeSet<&str> = BTreeSet::new();
        for s in raw {
            self.name("suite name", &s.name);
            let name = s.name.get_ref();
            if !seen.insert(name) {
                self.error(s.name.span(), format!("duplicate suite `{name}`"));
            }
            let spec = match *s.kind.get_ref() {
                RawSuiteKind::Http => {
                    if let Some(c) = &s.command {
                        self.error(c.span(), format!("`command` is only for command suites, and `{name}` is an http suite"));
                    }
                    if let Some(i) = &s.inputs {
                        self.error(i.span(), format!("`inputs` is only for command suites, and `{name}` is an http suite, whose case files are its inputs"));
                    }
                    if let Some(j) = &s.junit {
                        self.error(
                            j.span(),
                            format!(
                                "`junit` is only for command suites, and `{name}` is an http suite"
                            ),
                        );
                    }
                    let (path, span) = match &s.path {
                        Some(p) => (root.join(p.get_ref()), p.span()),
                        None => {
                            self.error(s.name.span(), format!("http suite `{name}` has no `path`: expected the folder of its case files"));
                            (PathBuf::new(), s.name.span())
                        }
                    };
                    SuiteSpec::Http(HttpSpec { path, span })
                }
                RawSuiteKind::Command => {
                    match &s.command {
                        None => self.error(s.name.span(), format!("command suite `{name}` has no `command`: expected the test command as a list of arguments")),
                        Some(c) if c.get_ref().is_empty() => self.error(c.span(), "empty command: expected the program and its arguments"),
                        Some(_) => {}
                    }
                    SuiteSpec::Command(CommandSpec {
                        command: s
                            .command
                            .as_ref()
                            .map(|c| c.get_ref().iter().map(|a| a.get_ref().clone()).collect())
                            .unwrap_or_default(),
                        dir: s
                            .path
                            .as_ref()
                            .map_or_else(|| root.to_owned(), |p| root.join(p.get_ref())),
                        dir_span: s.path.as_ref().map(Spanned::span),
                        junit: match s.junit.as_ref().map(|j| (j.get_ref(), j.span())) {
                            None => false,
                            Some((RawJunit::Written(w), _)) => *w,
                            Some((RawJunit::Path(p), span)) => {
                                self.error(span, format!("`junit = \"{p}\"`: a command no longer writes its JUnit into the working tree; expected `junit = true`, with the command writing to the file `$HARNESS_JUNIT` names (for example `--junitxml=$HARNESS_JUNIT`)"));
                                false
                            }
                        },
                        env: s.env.clone(),
                        inputs: s.inputs.as_ref().map(|list| {
                            list.get_ref()
                                .iter()
                                .map(|i| (root.join(i.get_ref()), i.span()))
                                .collect()
                        }),
                    })
                }
            };
            let scope = scope(*s.scope.get_ref());
            let filter = s.targets.as_ref().map(|list| {
                if scope == Scope::Agnostic {
                    self.error(list.span(), format!("suite `{name}` is agnostic and runs once on the primary cell, so it cannot be limited to targets: remove `targets` or make it `per-target`"));
                }
                if list.get_ref().is_empty() {
                    self.error(list.span(), "empty target filter: expected at least one target name");
                }
                for t in list.get_ref() {
                    if !self.unread.targets && !targets.iter().any(|k| &k.name == t.get_ref()) {
                        self.error(
                            t.span(),
                            format!("unknown target `{}` in the filter of suite `{name}`: expected one of {}", t.get_ref(), quoted_list(targets.iter().map(|t| t.name.as_str()))),
                        );
                    }
                }
                list.get_ref().iter().map(|t| t.get_ref().clone()).collect()
            });
            let evidence = Evidence {
                log: s.snapshot_log.unwrap_or(defaults.log),
                data_dir: s
                    .snapshot_data_dir
                    .as_ref()
                    .map_or(defaults.data_dir, |d| data_dir(*d.get_ref())),
            };
            suites.push(Suite {
                name: name.clone(),
                scope,
                targets: filter,
                spec,
                evidence,
            });
        }
        suites
    }

    pub(super) fn divergences(
        &mut self,
        raw: &[RawDivergence],
        suites: &[Suite],
        cells: &[Cell],
        primary: &str,
    ) -> Vec<Divergence> {
        let mut out = Vec::new();
        for d in raw {
            // What it accepts: a case (or a glob of cases) of a per-target suite, or a class
            // of explore findings.
            let (suite_name, case, explore, case_span) = match (&d.suite, &d.case, &d.explore) {
                (_, _, Some(class)) => {
                    if let Some(extra) = d.suite.as_ref().or(d.case.as_ref()) {
                        self.error(
                            extra.span(),
                            "a divergence names either an explore class or a suite and case, not both: expected `explore` alone, or `suite` and `case`",
                        );
                    }
                    let parsed = ExploreClass::parse(class.get_ref());
                    if parsed.is_none() {
                        self.error(
                            class.span(),
                            format!(
                                "unknown explore class `{}`: expected one of {}",
                                class.get_ref(),
                                quoted_list(ExploreClass::ALL.iter().map(|c| c.as_str()))
                            ),
                        );
                    }
                    (String::new(), String::new(), parsed, class.span())
                }
                (Some(suite), Some(case), None) => {
                    let suite_name = suite.get_ref();
                    match suites.iter().find(|s| &s.name == suite_name) {
                        None if self.unread.suites => {}
                        None => self.error(
                            suite.span(),
                            format!("divergence names unknown suite `{suite_name}`: expected one of {}", quoted_list(suites.iter().map(|s| s.name.as_str()))),
                        ),
                        Some(s) if s.scope == Scope::Agnostic => self.error(
                            suite.span(),
                            format!("suite `{suite_name}` is agnostic and runs on one cell only, so it cannot diverge: expected a per-target suite"),
                        ),
                        Some(_) => {}
                    }
                    let name = case.get_ref();
                    if name.trim().is_empty() {
                        self.error(
                            case.span(),
                            "empty case name: expected the case that diverges",
                        );
                    } else if is_glob(name)
                        && let Err(e) = globset::Glob::new(name)
                    {
                        self.error(
                            case.span(),
                            format!("`{name}` is no valid glob ({}): expected a case name or a pattern such as `upload-*`", e.kind()),
                        );
                    }
                    (suite_name.clone(), name.clone(), None, case.span())
                }
                (suite, case, None) => {
                    let (missing, span) = match (suite, case) {
                        (Some(s), None) => ("case", s.span()),
                        (None, Some(c)) => ("suite", c.span()),
                        _ => ("suite and case", d.reason.span()),
                    };
                    self.error(
                        span,
                        format!("this divergence has no {missing}: expected `suite` and `case` (a name or a glob), or `explore` (a class of explore findings)"),
                    );
                    continue;
                }
            };
            if d.cells.get_ref().is_empty() {
                self.error(d.cells.span(), "divergence names no cells: expected the cells that differ from the primary cell");
            }
            // Each entry is a cell, or a target standing for its cells (the primary aside).
            let mut expanded: Vec<String> = Vec::new();
            for c in d.cells.get_ref() {
                let name = c.get_ref();
                let of_target: Vec<&Cell> = cells
                    .iter()
                    .filter(|k| &k.target == name && k.name != primary)
                    .collect();
                if name == primary {
                    self.error(c.span(), format!("`{primary}` is the primary cell, the reference others are compared with: expected other cells"));
                } else if cells.iter().any(|k| &k.name == name) {
                    expanded.push(name.clone());
                } else if !of_target.is_empty() {
                    expanded.extend(of_target.iter().map(|k| k.name.clone()));
                } else if self.cells_known() {
                    self.error(
                        c.span(),
                        format!(
                            "unknown cell `{name}` in divergence: expected a cell or a target other than the primary's alone, one of {}",
                            quoted_list(cells.iter().filter(|k| k.name != primary).map(|c| c.name.as_str()))
                        ),
                    );
                }
            }
            expanded.dedup();
            if d.reason.get_ref().trim().is_empty() {
                self.error(
                    d.reason.span(),
                    "empty reason: expected why this difference is intended",
                );
            }
            let expires = d.expires.as_ref().and_then(|e| {
                let dt = e.get_ref();
                match (&dt.date, &dt.time) {
                    (Some(date), None) => Some(date.to_string()),
                    _ => {
                        self.error(
                            e.span(),
                            format!("invalid expiry `{dt}`: expected a date like 2027-01-31"),
                        );
                        None
                    }
                }
            });
            let line =
                Diagnostic::new(std::path::Path::new(""), self.text, case_span.clone(), "").line;
            out.push(Divergence {
                suite: suite_name,
                case,
                explore,
                line,
                case_span,
                cells: expanded,
                reason: d.reason.get_ref().clone(),
                expires,
            });
        }
        out
    }
}

/// When the data dir is snapshotted, as the model says it.
pub(super) fn data_dir(raw: RawDataDir) -> DataDir {
    match raw {
        RawDataDir::Off => DataDir::Off,
        RawDataDir::Case => DataDir::Case,
        RawDataDir::Suite => DataDir::Suite,
    }
}

fn scope(raw: RawScope) -> Scope {
    match raw {
        RawScope::Agnostic => Scope::Agnostic,
        RawScope::PerTarget => Scope::PerTarget,
    }
}
