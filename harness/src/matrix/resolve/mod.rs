//! The second phase of reading `matrix.toml`: checks every value and cross-reference of the
//! raw mirror, collects every problem with its span, and builds the [`Matrix`] model.

use std::ops::Range;
use std::path::Path;
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
/// folder is the root that relative paths are resolved against. A target's `runtime` is one
/// of `kinds` (the runtimes' registry, `runtime::KINDS`), which reads its keys.
pub fn parse(path: &Path, text: &str, kinds: Kinds) -> Result<Matrix> {
    let located = |problems: Vec<Problem>| -> Vec<Diagnostic> {
        problems
            .into_iter()
            .map(|(span, message)| Diagnostic::new(path, text, span, tidy_toml_message(&message)))
            .collect()
    };
    // Every table is read on its own, and the second phase checks what could be read,
    // quiet only where an unread table would make a check wrong: independent mistakes are
    // all reported at once.
    let (raw, unread, problems) = read(text).map_err(|syntax| Error::Config(located(syntax)))?;
    let mut cx = Cx {
        path,
        text,
        errors: located(problems),
        warnings: Vec::new(),
        unread,
        kinds,
    };
    let mut matrix = cx.resolve(raw);
    if cx.errors.is_empty() {
        matrix.warnings = cx.warnings;
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

mod cells;
mod limits;
mod runtimes;
mod suites;

struct Cx<'a> {
    path: &'a Path,
    text: &'a str,
    errors: Vec<Diagnostic>,
    warnings: Vec<Diagnostic>,
    /// What the first phase could not read: checks that depend on it stay quiet.
    unread: Unread,
    /// The runtime kinds a target may name.
    kinds: Kinds,
}

impl Cx<'_> {
    /// Whether every table that makes the cells was read, so that cell names can be checked.
    fn cells_known(&self) -> bool {
        !(self.unread.targets || self.unread.cells)
    }
}

/// `a`, `b`, `c` (or a phrase saying there are none), for "expected one of" messages.
pub fn quoted_list<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
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

    fn warning(&mut self, span: Range<usize>, message: impl Into<String>) {
        self.warnings
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
        let (limits, max_cells_at) = self.limits(&raw.limits);
        let cells = self.cells(
            &targets,
            &axes,
            &raw.include,
            &raw.exclude,
            (limits.max_cells, max_cells_at),
        );
        // A broken target, axis or rule already explains why the primary may be missing.
        let primary =
            if axes_ok && self.errors.len() == before && self.cells_known() && !self.unread.primary
            {
                self.primary(&raw.primary, &cells)
            } else {
                raw.primary.get_ref().clone()
            };
        let defaults = Evidence {
            log: raw.snapshots.log,
            data_dir: raw
                .snapshots
                .data_dir
                .map_or(DataDir::Off, suites::data_dir),
        };
        let suites = self.suites(&raw.suites, &targets, defaults, &root);
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
            text: self.text.to_owned(),
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
            limits,
            warnings: Vec::new(),
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
            seed: raw
                .seed
                .as_ref()
                .map(|s| (root.join(s.get_ref()), s.span())),
            seed_mtime: raw.seed_mtime.as_ref().and_then(|t| self.instant(t)),
            openapi: raw
                .openapi
                .as_ref()
                .map(|s| (root.join(s.get_ref()), s.span())),
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
        let timeout = self.duration(
            "readiness timeout",
            r.timeout.as_ref(),
            DEFAULT_READY_TIMEOUT,
        );
        Ready { probe, timeout }
    }

    fn targets(&mut self, raw: &[RawTarget], cargo: bool, axes: &[String]) -> Vec<Target> {
        let mut targets: Vec<Target> = Vec::new();
        if raw.is_empty() && !self.unread.targets {
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
            let runtime = self.runtime(t);
            let build = t.build.as_ref().map(|b| self.build(b.get_ref(), axes));
            if build.is_none() && !cargo && !self.unread.server {
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
        let command = raw.command.as_ref().map_or(&[][..], |c| c.get_ref());
        if let Some(c) = &raw.command
            && c.get_ref().is_empty()
        {
            self.error(
                c.span(),
                "empty build command: expected the program and its arguments, or no `command` for a prebuilt artifact",
            );
        }
        for part in command {
            self.placeholders(part, placeholders::BUILD, axes);
        }
        self.placeholders(&raw.artifact, placeholders::BUILD, axes);
        for value in raw.env.values() {
            self.placeholders(value, placeholders::BUILD, axes);
        }
        if command.is_empty() {
            for (key, span) in [
                ("env", raw.env.values().next().map(|v| v.span())),
                (
                    "packages",
                    (!raw.packages.is_empty()).then(|| raw.artifact.span()),
                ),
            ] {
                if let Some(span) = span {
                    self.error(
                        span,
                        format!("`{key}` is for a build command, and this build has none: expected `command = [...]`, or no `{key}`"),
                    );
                }
            }
        }
        BuildCommand {
            command: command.iter().map(|s| s.get_ref().clone()).collect(),
            artifact: raw.artifact.get_ref().clone(),
            env: raw
                .env
                .iter()
                .map(|(k, v)| (k.clone(), v.get_ref().clone()))
                .collect(),
            packages: raw.packages.clone(),
        }
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
            log_escapes: raw.log_escapes.unwrap_or(true),
            redact: raw.redact.iter().map(|r| r.get_ref().clone()).collect(),
            filters,
        }
    }
}

impl Cx<'_> {
    /// A TOML date-time with an offset (`2026-01-01T00:00:00Z`) as an instant.
    fn instant(&mut self, raw: &Spanned<toml::value::Datetime>) -> Option<std::time::SystemTime> {
        let text = raw.get_ref().to_string();
        let parsed = chrono::DateTime::parse_from_rfc3339(&text)
            .ok()
            .map(std::time::SystemTime::from);
        if parsed.is_none() {
            self.error(
                raw.span(),
                format!("invalid instant `{text}`: expected a date and time with its offset, like 2026-01-01T00:00:00Z"),
            );
        }
        parsed
    }
}

fn one_line(s: &str) -> String {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}
