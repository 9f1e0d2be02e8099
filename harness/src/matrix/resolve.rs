//! The second phase of reading `matrix.toml`: checks every value and cross-reference of the
//! raw mirror, collects every problem with its span, and builds the [`Matrix`] model.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;
use std::time::Duration;

use regex::Regex;
use toml::Spanned;

use super::model::*;
use super::raw::*;
use crate::diagnostic::Diagnostic;
use crate::errors::{Error, Result};

use super::placeholders;
const DEFAULT_READY_TIMEOUT: Duration = Duration::from_secs(30);

static NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$").unwrap());
static REDACT_PATH: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(\.[A-Za-z0-9_-]+|\[\d*\])+$").unwrap());
static TRIPLE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-z0-9_.]+(-[a-z0-9_.]+){1,3}$").unwrap());

/// Parses and validates the text of a matrix file; `path` names it in diagnostics and its
/// folder is the root that relative paths are resolved against.
pub fn parse(path: &Path, text: &str) -> Result<Matrix> {
    let raw: RawMatrix = toml::from_str(text).map_err(|e| {
        let span = e.span().unwrap_or(0..0);
        Error::Config(vec![Diagnostic::new(
            path,
            text,
            span,
            tidy_toml_message(e.message()),
        )])
    })?;
    let mut cx = Cx {
        path,
        text,
        errors: Vec::new(),
    };
    let matrix = cx.resolve(raw);
    if cx.errors.is_empty() {
        Ok(matrix)
    } else {
        Err(Error::Config(cx.errors))
    }
}

/// toml's messages end with a newline and sometimes a period; ours are lowercase one-liners.
fn tidy_toml_message(message: &str) -> String {
    let joined = message.trim().lines().collect::<Vec<_>>().join("; ");
    joined.trim_end_matches('.').to_owned()
}

struct Cx<'a> {
    path: &'a Path,
    text: &'a str,
    errors: Vec<Diagnostic>,
}

/// `a`, `b`, `c` (or a phrase saying there are none), for "expected one of" messages.
pub(crate) fn quoted_list<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    let items: Vec<String> = items.into_iter().map(|s| format!("`{s}`")).collect();
    if items.is_empty() {
        "nothing (none are defined)".to_owned()
    } else {
        items.join(", ")
    }
}

impl Cx<'_> {
    fn error(&mut self, span: Range<usize>, message: impl Into<String>) {
        self.errors
            .push(Diagnostic::new(self.path, self.text, span, message));
    }

    fn name(&mut self, what: &str, name: &Spanned<String>) {
        if !NAME.is_match(name.get_ref()) {
            self.error(
                name.span(),
                format!(
                    "invalid {what} `{}`: expected letters, digits, `_`, `-` or `.`, starting with a letter or digit",
                    name.get_ref()
                ),
            );
        }
    }

    fn placeholders(&mut self, value: &Spanned<String>, allowed: &[&str], axes: &[String]) {
        let text = value.get_ref();
        let names = match placeholders::names(text) {
            Ok(names) => names,
            Err(why) => return self.error(value.span(), why),
        };
        for name in names {
            if !allowed.contains(&name) && !axes.iter().any(|a| a == name) {
                let known: Vec<String> = allowed
                    .iter()
                    .copied()
                    .chain(axes.iter().map(String::as_str))
                    .map(|p| format!("`{{{p}}}`"))
                    .collect();
                self.error(
                    value.span(),
                    format!(
                        "unknown placeholder `{{{name}}}` in `{text}`: expected one of {}",
                        known.join(", ")
                    ),
                );
            }
        }
    }

    fn resolve(&mut self, raw: RawMatrix) -> Matrix {
        let root = self
            .path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_owned();
        let before = self.errors.len();
        let axes = self.axes(&raw.axes);
        let axes_ok = self.errors.len() == before;
        let axis_names: Vec<String> = axes.iter().map(|a| a.name.clone()).collect();
        let server = self.server(&raw.server, &axis_names, &root);
        let before = self.errors.len();
        let targets = self.targets(&raw.targets, server.cargo.is_some(), &axis_names);
        let cells = self.cells(&targets, &axes, &raw.include, &raw.exclude);
        // A broken target, axis or rule already explains why the primary may be missing.
        let primary = if axes_ok && self.errors.len() == before {
            self.primary(&raw.primary, &cells)
        } else {
            raw.primary.get_ref().clone()
        };
        let suites = self.suites(&raw.suites, &targets, &root);
        let normalize = self.normalize(&raw.normalize);
        let divergences = self.divergences(&raw.divergences, &suites, &cells, &primary);
        let snapshot_dir = root.join(
            raw.snapshots
                .dir
                .as_ref()
                .map_or("snapshots", |d| d.get_ref().as_str()),
        );
        Matrix {
            file: self.path.to_owned(),
            root,
            server,
            targets,
            axes,
            cells,
            primary,
            suites,
            normalize,
            divergences,
            snapshot_dir,
        }
    }

    fn axes(&mut self, raw: &[RawAxis]) -> Vec<Axis> {
        let mut axes: Vec<Axis> = Vec::new();
        for axis in raw {
            self.name("axis name", &axis.name);
            let name = axis.name.get_ref();
            if name == "target" || placeholders::LAUNCH.contains(&name.as_str()) || name == "triple"
            {
                self.error(
                    axis.name.span(),
                    format!("axis name `{name}` is reserved: expected a name other than `target`, `triple` and the launch placeholders"),
                );
            }
            if axes.iter().any(|a| &a.name == name) {
                self.error(axis.name.span(), format!("duplicate axis `{name}`"));
                continue;
            }
            if axis.values.get_ref().is_empty() {
                self.error(
                    axis.values.span(),
                    format!("axis `{name}` has no values: expected at least one"),
                );
            }
            let mut values: Vec<String> = Vec::new();
            for value in axis.values.get_ref() {
                self.name("axis value", value);
                if values.contains(value.get_ref()) {
                    self.error(
                        value.span(),
                        format!("duplicate value `{}` in axis `{name}`", value.get_ref()),
                    );
                    continue;
                }
                values.push(value.get_ref().clone());
            }
            axes.push(Axis {
                name: name.clone(),
                values,
            });
        }
        axes
    }

    fn server(&mut self, raw: &RawServer, axes: &[String], root: &Path) -> Server {
        if let (Some(bin), None) = (&raw.bin, &raw.package) {
            self.error(
                bin.span(),
                "`server.bin` needs `server.package`: expected the cargo package that has this binary",
            );
        }
        for arg in &raw.args {
            self.placeholders(arg, placeholders::LAUNCH, axes);
        }
        let ready = self.ready(&raw.ready);
        Server {
            cargo: raw.package.as_ref().map(|p| CargoServer {
                package: p.get_ref().clone(),
                bin: raw.bin.as_ref().map(|b| b.get_ref().clone()),
            }),
            args: raw.args.iter().map(|a| a.get_ref().clone()).collect(),
            env: raw.env.clone(),
            seed: raw.seed.as_ref().map(|s| root.join(s.get_ref())),
            ready,
        }
    }

    fn ready(&mut self, raw: &Spanned<RawReady>) -> Ready {
        let r = raw.get_ref();
        let count = [r.http.is_some(), r.tcp == Some(true), r.log.is_some()]
            .iter()
            .filter(|b| **b)
            .count();
        if count != 1 {
            self.error(
                raw.span(),
                "`server.ready` must set exactly one of `http = \"/path\"`, `tcp = true` or `log = \"regex\"`",
            );
        }
        let mut probe = Probe::Tcp;
        if let Some(path) = &r.http {
            if !path.get_ref().starts_with('/') {
                self.error(
                    path.span(),
                    format!("readiness path `{}` must start with `/`", path.get_ref()),
                );
            }
            probe = Probe::Http(path.get_ref().clone());
        } else if let Some(log) = &r.log {
            match Regex::new(log.get_ref()) {
                Ok(re) => probe = Probe::Log(re),
                Err(e) => self.error(
                    log.span(),
                    format!("invalid regular expression: {}", one_line(&e.to_string())),
                ),
            }
        }
        let timeout = match &r.timeout {
            None => DEFAULT_READY_TIMEOUT,
            Some(t) => {
                match humantime::parse_duration(t.get_ref()) {
                    Ok(d) if !d.is_zero() => d,
                    Ok(_) => {
                        self.error(t.span(), "readiness timeout must be longer than zero");
                        DEFAULT_READY_TIMEOUT
                    }
                    Err(e) => {
                        self.error(
                        t.span(),
                        format!("invalid duration `{}` ({e}): expected a duration like `30s` or `2m`", t.get_ref()),
                    );
                        DEFAULT_READY_TIMEOUT
                    }
                }
            }
        };
        Ready { probe, timeout }
    }

    fn targets(&mut self, raw: &[RawTarget], cargo: bool, axes: &[String]) -> Vec<Target> {
        let mut targets: Vec<Target> = Vec::new();
        if raw.is_empty() {
            self.error(0..0, "no targets: expected at least one `[[target]]` table");
        }
        for t in raw {
            self.name("target name", &t.name);
            let name = t.name.get_ref();
            if targets.iter().any(|o| &o.name == name) {
                self.error(t.name.span(), format!("duplicate target `{name}`"));
                continue;
            }
            if !TRIPLE.is_match(t.triple.get_ref()) {
                self.error(
                    t.triple.span(),
                    format!(
                        "invalid triple `{}`: expected a target triple like `x86_64-unknown-linux-gnu`",
                        t.triple.get_ref()
                    ),
                );
            }
            let runtime = match (*t.runtime.get_ref(), &t.image) {
                (RawRuntime::Container, Some(image)) => Runtime::Container {
                    image: image.get_ref().clone(),
                    engine: t
                        .engine
                        .as_ref()
                        .map_or(EngineKind::Auto, |e| engine(*e.get_ref())),
                },
                (RawRuntime::Container, None) => {
                    self.error(
                        t.runtime.span(),
                        format!("target `{name}` runs in a container but names no image: expected `image = \"...\"`"),
                    );
                    Runtime::Host
                }
                (raw, image) => {
                    let kind = runtime_kind(raw);
                    if let Some(image) = image {
                        self.error(
                            image.span(),
                            format!("`image` is only for the `container` runtime, and target `{name}` uses `{}`", kind.as_str()),
                        );
                    }
                    if let Some(engine) = &t.engine {
                        self.error(
                            engine.span(),
                            format!("`engine` is only for the `container` runtime, and target `{name}` uses `{}`", kind.as_str()),
                        );
                    }
                    match kind {
                        RuntimeKind::Wine => Runtime::Wine,
                        _ => Runtime::Host,
                    }
                }
            };
            let build = t.build.as_ref().map(|b| self.build(b.get_ref(), axes));
            if build.is_none() && !cargo {
                self.error(
                    t.name.span(),
                    format!("target `{name}` has no way to be built: expected `server.package` or a `build` table on the target"),
                );
            }
            targets.push(Target {
                name: name.clone(),
                triple: t.triple.get_ref().clone(),
                runtime,
                env: t.env.clone(),
                build,
            });
        }
        targets
    }

    fn build(&mut self, raw: &RawBuild, axes: &[String]) -> BuildCommand {
        if raw.command.get_ref().is_empty() {
            self.error(
                raw.command.span(),
                "empty build command: expected the program and its arguments",
            );
        }
        for part in raw.command.get_ref() {
            self.placeholders(part, placeholders::BUILD, axes);
        }
        self.placeholders(&raw.artifact, placeholders::BUILD, axes);
        BuildCommand {
            command: raw
                .command
                .get_ref()
                .iter()
                .map(|s| s.get_ref().clone())
                .collect(),
            artifact: raw.artifact.get_ref().clone(),
        }
    }

    fn cells(
        &mut self,
        targets: &[Target],
        axes: &[Axis],
        include: &[Spanned<BTreeMap<Spanned<String>, Spanned<String>>>],
        exclude: &[Spanned<BTreeMap<Spanned<String>, Spanned<String>>>],
    ) -> Vec<Cell> {
        let mut product: Vec<Cell> = targets
            .iter()
            .map(|t| Cell {
                name: String::new(),
                target: t.name.clone(),
                values: Vec::new(),
            })
            .collect();
        for axis in axes {
            product = product
                .into_iter()
                .flat_map(|cell| {
                    axis.values.iter().map(move |v| {
                        let mut c = cell.clone();
                        c.values.push((axis.name.clone(), v.clone()));
                        c
                    })
                })
                .collect();
        }
        let mut removed = vec![false; product.len()];
        for rule in exclude {
            let Some(conditions) = self.rule(rule, targets, axes, false) else {
                continue;
            };
            let mut matched = false;
            for (i, cell) in product.iter().enumerate() {
                if !removed[i]
                    && conditions
                        .iter()
                        .all(|(k, v)| cell_value(cell, k) == Some(v.as_str()))
                {
                    removed[i] = true;
                    matched = true;
                }
            }
            if !matched {
                self.error(rule.span(), "this exclude matches no cell that is left (an earlier exclude removed them): expected a rule that removes something");
            }
        }
        let mut cells: Vec<Cell> = product
            .into_iter()
            .zip(removed)
            .filter(|(_, r)| !r)
            .map(|(c, _)| c)
            .collect();
        let mut spans: Vec<Option<Range<usize>>> = vec![None; cells.len()];
        for rule in include {
            let Some(conditions) = self.rule(rule, targets, axes, true) else {
                continue;
            };
            let target = conditions["target"].clone();
            let values = axes
                .iter()
                .map(|a| (a.name.clone(), conditions[&a.name].clone()))
                .collect();
            cells.push(Cell {
                name: String::new(),
                target,
                values,
            });
            spans.push(Some(rule.span()));
        }
        let mut seen: BTreeSet<String> = BTreeSet::new();
        for (cell, span) in cells.iter_mut().zip(spans) {
            cell.name = std::iter::once(cell.target.as_str())
                .chain(cell.values.iter().map(|(_, v)| v.as_str()))
                .collect::<Vec<_>>()
                .join("-");
            if !seen.insert(cell.name.clone()) {
                let why = if span.is_some() {
                    "this include repeats a cell of the matrix"
                } else {
                    "two combinations of target and axis values join to the same name"
                };
                self.error(
                    span.unwrap_or(0..0),
                    format!(
                        "duplicate cell `{}`: {why}; expected every cell to have its own name",
                        cell.name
                    ),
                );
            }
        }
        cells
    }

    /// Checks one include or exclude rule; returns its conditions by key when every key and
    /// value is known (and, for an include, when every axis is given).
    fn rule(
        &mut self,
        rule: &Spanned<BTreeMap<Spanned<String>, Spanned<String>>>,
        targets: &[Target],
        axes: &[Axis],
        complete: bool,
    ) -> Option<BTreeMap<String, String>> {
        let which = if complete { "include" } else { "exclude" };
        let mut ok = true;
        let mut conditions = BTreeMap::new();
        for (key, value) in rule.get_ref() {
            let (k, v) = (key.get_ref(), value.get_ref());
            if k == "target" {
                if !targets.iter().any(|t| &t.name == v) {
                    ok = false;
                    self.error(
                        value.span(),
                        format!(
                            "unknown target `{v}` in {which}: expected one of {}",
                            quoted_list(targets.iter().map(|t| t.name.as_str()))
                        ),
                    );
                }
            } else if let Some(axis) = axes.iter().find(|a| &a.name == k) {
                if !complete && !axis.values.contains(v) {
                    ok = false;
                    self.error(
                        value.span(),
                        format!(
                            "unknown value `{v}` of axis `{k}` in exclude: expected one of {}",
                            quoted_list(axis.values.iter().map(String::as_str))
                        ),
                    );
                } else if complete && !NAME.is_match(v) {
                    ok = false;
                    self.name("axis value", value);
                }
            } else {
                ok = false;
                self.error(
                    key.span(),
                    format!(
                        "unknown key `{k}` in {which}: expected `target` or an axis name ({})",
                        quoted_list(axes.iter().map(|a| a.name.as_str()))
                    ),
                );
            }
            conditions.insert(k.clone(), v.clone());
        }
        if complete {
            let missing: Vec<&str> = std::iter::once("target")
                .chain(axes.iter().map(|a| a.name.as_str()))
                .filter(|k| !conditions.contains_key(*k))
                .collect();
            if !missing.is_empty() {
                ok = false;
                self.error(
                    rule.span(),
                    format!(
                        "include is missing {}: expected a value for `target` and for every axis",
                        quoted_list(missing)
                    ),
                );
            }
        } else if conditions.is_empty() {
            ok = false;
            self.error(
                rule.span(),
                "empty exclude: expected `target` or axis values to match",
            );
        }
        ok.then_some(conditions)
    }

    fn primary(&mut self, raw: &Spanned<String>, cells: &[Cell]) -> String {
        let name = raw.get_ref();
        if !cells.iter().any(|c| &c.name == name) {
            self.error(
                raw.span(),
                format!("primary cell `{name}` is not a cell of the matrix (it may be excluded): expected one of {}", quoted_list(cells.iter().map(|c| c.name.as_str()))),
            );
        }
        name.clone()
    }

    fn suites(&mut self, raw: &[RawSuite], targets: &[Target], root: &Path) -> Vec<Suite> {
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
                    if let Some(j) = &s.junit {
                        self.error(
                            j.span(),
                            format!(
                                "`junit` is only for command suites, and `{name}` is an http suite"
                            ),
                        );
                    }
                    let path = match &s.path {
                        Some(p) => root.join(p.get_ref()),
                        None => {
                            self.error(s.name.span(), format!("http suite `{name}` has no `path`: expected the folder of its case files"));
                            PathBuf::new()
                        }
                    };
                    SuiteSpec::Http(HttpSpec { path })
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
                        junit: s.junit.as_ref().map(|j| PathBuf::from(j.get_ref())),
                        env: s.env.clone(),
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
                    if !targets.iter().any(|k| &k.name == t.get_ref()) {
                        self.error(
                            t.span(),
                            format!("unknown target `{}` in the filter of suite `{name}`: expected one of {}", t.get_ref(), quoted_list(targets.iter().map(|t| t.name.as_str()))),
                        );
                    }
                }
                list.get_ref().iter().map(|t| t.get_ref().clone()).collect()
            });
            suites.push(Suite {
                name: name.clone(),
                scope,
                targets: filter,
                spec,
            });
        }
        suites
    }

    fn normalize(&mut self, raw: &RawNormalize) -> Normalize {
        let mut filters = Vec::new();
        for f in &raw.filters {
            match Regex::new(f.regex.get_ref()) {
                Ok(re) => filters.push((re, f.replace.clone())),
                Err(e) => self.error(
                    f.regex.span(),
                    format!("invalid regular expression: {}", one_line(&e.to_string())),
                ),
            }
        }
        for path in &raw.redact {
            if !REDACT_PATH.is_match(path.get_ref()) {
                self.error(
                    path.span(),
                    format!("invalid redaction path `{}`: expected a JSON path of `.key`, `[]` (every element) and `[N]` steps, like `.id` or `.items[].created`", path.get_ref()),
                );
            }
        }
        Normalize {
            path_separators: raw.path_separators,
            line_endings: raw.line_endings,
            redact: raw.redact.iter().map(|r| r.get_ref().clone()).collect(),
            filters,
        }
    }

    fn divergences(
        &mut self,
        raw: &[RawDivergence],
        suites: &[Suite],
        cells: &[Cell],
        primary: &str,
    ) -> Vec<Divergence> {
        let mut out = Vec::new();
        for d in raw {
            let suite_name = d.suite.get_ref();
            match suites.iter().find(|s| &s.name == suite_name) {
                None => self.error(
                    d.suite.span(),
                    format!("divergence names unknown suite `{suite_name}`: expected one of {}", quoted_list(suites.iter().map(|s| s.name.as_str()))),
                ),
                Some(s) if s.scope == Scope::Agnostic => self.error(
                    d.suite.span(),
                    format!("suite `{suite_name}` is agnostic and runs on one cell only, so it cannot diverge: expected a per-target suite"),
                ),
                Some(_) => {}
            }
            if d.case.get_ref().trim().is_empty() {
                self.error(
                    d.case.span(),
                    "empty case name: expected the case that diverges",
                );
            }
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
                } else {
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
            out.push(Divergence {
                suite: suite_name.clone(),
                case: d.case.get_ref().clone(),
                cells: expanded,
                reason: d.reason.get_ref().clone(),
                expires,
            });
        }
        out
    }
}

fn cell_value<'c>(cell: &'c Cell, key: &str) -> Option<&'c str> {
    if key == "target" {
        Some(&cell.target)
    } else {
        cell.value(key)
    }
}

fn runtime_kind(raw: RawRuntime) -> RuntimeKind {
    match raw {
        RawRuntime::Host => RuntimeKind::Host,
        RawRuntime::Wine => RuntimeKind::Wine,
        RawRuntime::Container => RuntimeKind::Container,
    }
}

fn engine(raw: RawEngine) -> EngineKind {
    match raw {
        RawEngine::Auto => EngineKind::Auto,
        RawEngine::Podman => EngineKind::Podman,
        RawEngine::Docker => EngineKind::Docker,
    }
}

fn scope(raw: RawScope) -> Scope {
    match raw {
        RawScope::Agnostic => Scope::Agnostic,
        RawScope::PerTarget => Scope::PerTarget,
    }
}

fn one_line(s: &str) -> String {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}
