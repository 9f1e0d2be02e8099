//! The validated matrix: what `matrix.toml` means, with every cross-reference checked and
//! every default applied. Code after parsing works only with these types.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::PathBuf;
use std::time::Duration;

use regex::Regex;
use serde::{Deserialize, Serialize};

pub use super::runtime::*;

/// A validated `matrix.toml`.
#[derive(Debug, Clone)]
pub struct Matrix {
    /// The file it was read from.
    pub file: PathBuf,
    /// Its text, so that checks made after parsing (a suite's folder, a ledger entry's case)
    /// can point at the line and column too.
    pub text: String,
    /// The folder relative paths are resolved against (the file's folder).
    pub root: PathBuf,
    /// The server under test.
    pub server: Server,
    /// The targets, in file order.
    pub targets: Vec<Target>,
    /// The further axes, in file order.
    pub axes: Vec<Axis>,
    /// Every cell: the product of targets and axes, less the excluded, plus the included.
    pub cells: Vec<Cell>,
    /// The name of the primary cell.
    pub primary: String,
    /// The suites, in file order.
    pub suites: Vec<Suite>,
    /// Normalization rules.
    pub normalize: Normalize,
    /// Accepted divergences.
    pub divergences: Vec<Divergence>,
    /// The folder of committed snapshots.
    pub snapshot_dir: PathBuf,
    /// Timeouts and sizes.
    pub limits: Limits,
    /// What is allowed but should change (an old spelling), located like errors.
    pub warnings: Vec<crate::diagnostic::Diagnostic>,
}

/// Timeouts and sizes, from `[limits]` or their defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// One HTTP request.
    pub request_timeout: Duration,
    /// One case, all its steps together.
    pub case_timeout: Duration,
    /// One job: launch, readiness, suite and stop.
    pub job_timeout: Duration,
    /// A `command` suite's command.
    pub command_timeout: Duration,
    /// The builds.
    pub build_timeout: Duration,
    /// The largest response body kept whole in a snapshot, in bytes.
    pub max_body: u64,
    /// The most cells the matrix may expand to.
    pub max_cells: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            request_timeout: Duration::from_secs(30),
            case_timeout: Duration::from_secs(120),
            job_timeout: Duration::from_secs(15 * 60),
            command_timeout: Duration::from_secs(10 * 60),
            build_timeout: Duration::from_secs(60 * 60),
            max_body: 1024 * 1024,
            max_cells: 256,
        }
    }
}

impl Limits {
    /// Every limit as `name = value`, in `[limits]`'s spelling, for reports.
    pub fn describe(&self) -> Vec<(&'static str, String)> {
        let d = |d: Duration| humantime::format_duration(d).to_string();
        vec![
            ("request_timeout", d(self.request_timeout)),
            ("case_timeout", d(self.case_timeout)),
            ("job_timeout", d(self.job_timeout)),
            ("command_timeout", d(self.command_timeout)),
            ("build_timeout", d(self.build_timeout)),
            (
                "max_body",
                bytesize::ByteSize::b(self.max_body)
                    .display()
                    .iec()
                    .to_string(),
            ),
            ("max_cells", self.max_cells.to_string()),
        ]
    }
}

impl Matrix {
    /// The target of that name.
    pub fn target(&self, name: &str) -> Option<&Target> {
        self.targets.iter().find(|t| t.name == name)
    }

    /// The cell of that name.
    pub fn cell(&self, name: &str) -> Option<&Cell> {
        self.cells.iter().find(|c| c.name == name)
    }

    /// The suite of that name.
    pub fn suite(&self, name: &str) -> Option<&Suite> {
        self.suites.iter().find(|s| s.name == name)
    }
}

/// The server under test.
#[derive(Debug, Clone)]
pub struct Server {
    /// How it is built when a target has no build command of its own.
    pub cargo: Option<CargoServer>,
    /// Launch arguments, with placeholders.
    pub args: Vec<String>,
    /// Environment on every target.
    pub env: BTreeMap<String, String>,
    /// A folder copied into each fresh data dir, and where the matrix names it.
    pub seed: Option<(PathBuf, Range<usize>)>,
    /// The modification time of every seeded file and folder, when the matrix fixes one.
    pub seed_mtime: Option<std::time::SystemTime>,
    /// The server's OpenAPI document (JSON or YAML), and where the matrix names it: its
    /// paths are bases of `--explore`.
    pub openapi: Option<(PathBuf, Range<usize>)>,
    /// The readiness probe.
    pub ready: Ready,
}

/// A server built by cargo from this workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CargoServer {
    /// The package.
    pub package: String,
    /// The binary, when the package has several.
    pub bin: Option<String>,
}

/// How to tell that a launched server is ready.
#[derive(Debug, Clone)]
pub struct Ready {
    /// What to probe.
    pub probe: Probe,
    /// How long to wait before giving up.
    pub timeout: Duration,
}

/// A readiness probe.
#[derive(Debug, Clone)]
pub enum Probe {
    /// An HTTP GET of this path answers 2xx.
    Http(String),
    /// The port accepts a TCP connection.
    Tcp,
    /// A line of the server's log matches.
    Log(Regex),
}

/// A platform to build for and run on.
#[derive(Debug, Clone)]
pub struct Target {
    /// Its name.
    pub name: String,
    /// The build triple.
    pub triple: String,
    /// Where it runs.
    pub runtime: Runtime,
    /// Environment on top of the server's.
    pub env: BTreeMap<String, String>,
    /// Its own build command, for servers cargo does not build.
    pub build: Option<BuildCommand>,
}

/// A build command and the artifact it produces, both with placeholders; no command for a
/// prebuilt artifact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildCommand {
    /// argv; empty for a prebuilt artifact.
    pub command: Vec<String>,
    /// The artifact, relative to the matrix root.
    pub artifact: String,
    /// The command's environment, with placeholders.
    pub env: BTreeMap<String, String>,
    /// The Debian packages that provide the command's program.
    pub packages: Vec<String>,
}

/// A further axis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Axis {
    /// Its name.
    pub name: String,
    /// Its values.
    pub values: Vec<String>,
}

/// One point of the matrix: a target and a value for every axis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cell {
    /// `target` alone, or `target-value-value...` in axis order.
    pub name: String,
    /// The target's name.
    pub target: String,
    /// A value per axis, in axis order.
    pub values: Vec<(String, String)>,
}

impl Cell {
    /// The value of an axis in this cell.
    pub fn value(&self, axis: &str) -> Option<&str> {
        self.values
            .iter()
            .find(|(a, _)| a == axis)
            .map(|(_, v)| v.as_str())
    }
}

/// An end-to-end suite.
#[derive(Debug, Clone)]
pub struct Suite {
    /// Its name.
    pub name: String,
    /// Where it runs.
    pub scope: Scope,
    /// The targets it is limited to; `None` is every target.
    pub targets: Option<Vec<String>>,
    /// What kind of suite it is, with that kind's settings.
    pub spec: SuiteSpec,
    /// The evidence snapshotted besides what its cases observe.
    pub evidence: Evidence,
}

/// Evidence of a job besides its cases' answers: the server's log and the data dir's tree.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Evidence {
    /// Snapshot the server's log of the job.
    pub log: bool,
    /// When the data dir's tree is snapshotted.
    pub data_dir: DataDir,
}

/// When the data dir's tree is snapshotted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum DataDir {
    /// Never.
    #[default]
    Off,
    /// After each case.
    Case,
    /// Once, after the suite.
    Suite,
}

impl Suite {
    /// Its kind, without settings.
    pub fn kind(&self) -> SuiteKind {
        match self.spec {
            SuiteSpec::Http(_) => SuiteKind::Http,
            SuiteSpec::Command(_) => SuiteKind::Command,
        }
    }
}

/// A suite's kind and the settings of that kind.
#[derive(Debug, Clone)]
pub enum SuiteSpec {
    /// Declarative request and expectation files.
    Http(HttpSpec),
    /// Any test command.
    Command(CommandSpec),
}

/// The settings of an `http` suite.
#[derive(Debug, Clone)]
pub struct HttpSpec {
    /// The folder of its case files, resolved against the matrix root.
    pub path: PathBuf,
    /// Where the matrix names it.
    pub span: Range<usize>,
}

/// The settings of a `command` suite.
#[derive(Debug, Clone)]
pub struct CommandSpec {
    /// The test command as argv.
    pub command: Vec<String>,
    /// Its working directory, resolved against the matrix root (default: the root).
    pub dir: PathBuf,
    /// Where the matrix names the working directory, when it does.
    pub dir_span: Option<Range<usize>>,
    /// Whether the command writes JUnit XML to `$HARNESS_JUNIT`.
    pub junit: bool,
    /// Environment of the command.
    pub env: BTreeMap<String, String>,
    /// What its results depend on besides the server, each resolved against the matrix root
    /// with where the matrix names it; `None`: not declared, so its jobs are never reused
    /// from the result cache.
    pub inputs: Option<Vec<(PathBuf, Range<usize>)>>,
}

/// Normalization rules.
#[derive(Debug, Clone, Default)]
pub struct Normalize {
    /// `\` to `/`.
    pub path_separators: bool,
    /// CRLF to LF.
    pub line_endings: bool,
    /// Colour and other terminal escape sequences removed from the server's log.
    pub log_escapes: bool,
    /// JSON paths to redact.
    pub redact: Vec<String>,
    /// Regex filters and their replacements.
    pub filters: Vec<(Regex, String)>,
}

/// An accepted divergence: of a case (or of every case a glob names, `files/*`), or of
/// every `--explore` finding of a class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Divergence {
    /// The suite (empty for a class of explore findings).
    pub suite: String,
    /// The case, or a glob of cases (`*`, `upload-?`, `[ab]*`); empty for a class of explore
    /// findings.
    pub case: String,
    /// The class of `--explore` findings it accepts, instead of a case.
    pub explore: Option<ExploreClass>,
    /// Where the matrix names the case (or the class).
    pub case_span: Range<usize>,
    /// The line of the matrix file the entry names its case (or class) on.
    pub line: usize,
    /// The cells that differ from the primary (target names expanded).
    pub cells: Vec<String>,
    /// Why.
    pub reason: String,
    /// `YYYY-MM-DD` after which it no longer holds.
    pub expires: Option<String>,
}

/// A class of `--explore` findings: first what differs between the cells' answers, then,
/// for a status that differs, how the request was mutated to show it. The mutation classes
/// (`base` to `short-names`) are also what a probe does to its base request. Declared in
/// report order, which is their `Ord`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExploreClass {
    /// The base request itself, unmutated, answered with another status (as a mutation: no
    /// mutation, the reference of the others).
    Base,
    /// Letters in another case: one name or two on a case-insensitive file system.
    CaseSensitivity,
    /// `\` where `/` separates: a separator on Windows, a name's character elsewhere.
    Separators,
    /// `..` and `..\` that climb out of a folder and back.
    Traversal,
    /// A trailing `.` or space, which Windows drops from names.
    TrailingCharacters,
    /// `CON`, `NUL`, `COM1`: devices on Windows, names elsewhere.
    ReservedNames,
    /// Percent-encoded and double-encoded characters.
    Encoding,
    /// Names past the length a platform allows.
    LongNames,
    /// 8.3 short names (`READM~1.MD`), which only Windows resolves.
    ShortNames,
    /// The same status and body lines, in another order: a listing in the file system's
    /// order.
    Ordering,
    /// The same status, and the lines that differ name one of the seed's symbolic links: how
    /// a platform reports or follows links.
    Symlinks,
    /// The same error status, and only the error's text differs (in the body or the log):
    /// the OS's own words, whatever the mutation.
    ErrorText,
    /// A write answered alike that left another data dir: the name an upload was stored
    /// under.
    StoredNames,
    /// The same success status, and the body differs otherwise.
    Body,
    /// Only the headers differ.
    Headers,
    /// Only the lines the server logged while answering differ (an OS path, an OS text).
    Log,
}

impl ExploreClass {
    /// Every class, in report order.
    pub const ALL: [ExploreClass; 16] = [
        ExploreClass::Base,
        ExploreClass::CaseSensitivity,
        ExploreClass::Separators,
        ExploreClass::Traversal,
        ExploreClass::TrailingCharacters,
        ExploreClass::ReservedNames,
        ExploreClass::Encoding,
        ExploreClass::LongNames,
        ExploreClass::ShortNames,
        ExploreClass::Ordering,
        ExploreClass::Symlinks,
        ExploreClass::ErrorText,
        ExploreClass::StoredNames,
        ExploreClass::Body,
        ExploreClass::Headers,
        ExploreClass::Log,
    ];

    /// Whether it is a mutation a probe can make (`base`: none), and so the class of a
    /// status that differs.
    pub fn is_mutation(self) -> bool {
        self <= ExploreClass::ShortNames
    }

    /// The class named `name` (as [`ExploreClass::as_str`] spells it).
    pub fn parse(name: &str) -> Option<ExploreClass> {
        ExploreClass::ALL.into_iter().find(|c| c.as_str() == name)
    }

    /// Its name, as results.json and case names spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            ExploreClass::Base => "base",
            ExploreClass::CaseSensitivity => "case-sensitivity",
            ExploreClass::Separators => "separators",
            ExploreClass::Traversal => "traversal",
            ExploreClass::TrailingCharacters => "trailing-characters",
            ExploreClass::ReservedNames => "reserved-names",
            ExploreClass::Encoding => "encoding",
            ExploreClass::LongNames => "long-names",
            ExploreClass::ShortNames => "short-names",
            ExploreClass::Ordering => "ordering",
            ExploreClass::Symlinks => "symlinks",
            ExploreClass::ErrorText => "error-text",
            ExploreClass::StoredNames => "stored-names",
            ExploreClass::Body => "body",
            ExploreClass::Headers => "headers",
            ExploreClass::Log => "log",
        }
    }
}

/// The kind of a suite.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SuiteKind {
    /// Declarative request and expectation files.
    Http,
    /// Any test command.
    Command,
}

/// Where a suite runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scope {
    /// Once, on the primary cell.
    Agnostic,
    /// On every selected cell.
    PerTarget,
}

impl SuiteKind {
    /// Its name as written in `matrix.toml`.
    pub fn as_str(self) -> &'static str {
        match self {
            SuiteKind::Http => "http",
            SuiteKind::Command => "command",
        }
    }
}

impl Scope {
    /// Its name as written in `matrix.toml`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Agnostic => "agnostic",
            Scope::PerTarget => "per-target",
        }
    }
}

impl Divergence {
    /// Whether it accepts `suite`/`case` (an exact name, or one its glob matches).
    pub fn covers(&self, suite: &str, case: &str) -> bool {
        self.explore.is_none() && self.suite == suite && case_matches(&self.case, case)
    }

    /// What it accepts, as `accept` and the reports name it: `files/upload`, `files/*`,
    /// `explore class case-sensitivity`.
    pub fn pattern(&self) -> String {
        match self.explore {
            Some(class) => format!("explore class {}", class.as_str()),
            None => format!("{}/{}", self.suite, self.case),
        }
    }
}

/// Whether `pattern` (a case name, or a glob of case names) names `case`.
pub fn case_matches(pattern: &str, case: &str) -> bool {
    if !is_glob(pattern) {
        return pattern == case;
    }
    globset::Glob::new(pattern).is_ok_and(|g| g.compile_matcher().is_match(case))
}

/// Whether `pattern` is a glob rather than one name.
pub fn is_glob(pattern: &str) -> bool {
    pattern.contains(['*', '?', '[', '{'])
}
