//! The validated matrix: what `matrix.toml` means, with every cross-reference checked and
//! every default applied. Code after parsing works only with these types.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::PathBuf;
use std::time::Duration;

use regex::Regex;
use serde::{Deserialize, Serialize};

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

/// A runtime with its settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Runtime {
    /// A plain process.
    Host,
    /// A Windows build: natively on a Windows host, under Wine on a Linux one.
    Windows(Windows),
    /// A container.
    Container {
        /// The image.
        image: String,
        /// The engine.
        engine: EngineKind,
    },
    /// A Kubernetes pod.
    Pod(Pod),
}

/// The settings of a `pod` target: its image, and the production settings of its pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pod {
    /// The image.
    pub image: String,
    /// The server's container has a read-only root filesystem.
    pub read_only_root_filesystem: bool,
    /// The server runs as a user that is not root.
    pub run_as_non_root: bool,
}

impl Runtime {
    /// The settings of a `windows` target.
    pub fn windows(&self) -> Option<&Windows> {
        match self {
            Runtime::Windows(windows) => Some(windows),
            _ => None,
        }
    }

    /// The engine and image its servers run in, when they run in containers: a container's,
    /// or a pod's (podman's, which runs pods with `podman kube play`).
    pub fn engine_image(&self) -> Option<(EngineKind, &str)> {
        match self {
            Runtime::Container { image, engine } => Some((*engine, image)),
            Runtime::Pod(pod) => Some((EngineKind::Podman, &pod.image)),
            Runtime::Host | Runtime::Windows(_) => None,
        }
    }

    /// The kind, without settings.
    pub fn kind(&self) -> RuntimeKind {
        match self {
            Runtime::Host => RuntimeKind::Host,
            Runtime::Windows(_) => RuntimeKind::Windows,
            Runtime::Container { .. } => RuntimeKind::Container,
            Runtime::Pod(_) => RuntimeKind::Pod,
        }
    }
}

/// The settings of a `windows` target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Windows {
    /// Natively, under Wine, or whichever this host can.
    pub mode: WindowsMode,
    /// The Windows version the cell stands for, when the matrix names one.
    pub version: Option<WindowsVersion>,
}

impl Windows {
    /// Whether its servers run under Wine on this host: `auto` means Wine on every host
    /// but Windows.
    pub fn under_wine(&self) -> bool {
        match self.mode {
            WindowsMode::Auto => !cfg!(windows),
            WindowsMode::Wine => true,
            WindowsMode::Native => false,
        }
    }

    /// The Windows version Wine reports to the cell's servers (`winecfg`'s names): the
    /// version itself, or the newest this Wine has below it. `None`: the prefix's default.
    pub fn wine_version(&self) -> Option<&'static str> {
        self.version.map(WindowsVersion::wine_version)
    }
}

/// How a `windows` target runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WindowsMode {
    /// Natively on a Windows host, under Wine elsewhere.
    #[default]
    Auto,
    /// Under Wine, always (a Linux host).
    Wine,
    /// Natively, always (a Windows host).
    Native,
}

/// A Windows version a team ships on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum WindowsVersion {
    /// Windows 7.
    #[serde(rename = "7")]
    Win7,
    /// Windows 8.1.
    #[serde(rename = "8.1")]
    Win81,
    /// Windows 10.
    #[serde(rename = "10")]
    Win10,
    /// Windows 11.
    #[serde(rename = "11")]
    Win11,
    /// Windows Server 2008 R2.
    #[serde(rename = "server-2008-r2")]
    Server2008R2,
    /// Windows Server 2012 R2.
    #[serde(rename = "server-2012-r2")]
    Server2012R2,
    /// Windows Server 2016.
    #[serde(rename = "server-2016")]
    Server2016,
    /// Windows Server 2019.
    #[serde(rename = "server-2019")]
    Server2019,
    /// Windows Server 2022.
    #[serde(rename = "server-2022")]
    Server2022,
    /// Windows Server 2025.
    #[serde(rename = "server-2025")]
    Server2025,
}

impl WindowsVersion {
    /// Every version, in release order.
    pub const ALL: [WindowsVersion; 10] = [
        WindowsVersion::Win7,
        WindowsVersion::Server2008R2,
        WindowsVersion::Win81,
        WindowsVersion::Server2012R2,
        WindowsVersion::Win10,
        WindowsVersion::Server2016,
        WindowsVersion::Server2019,
        WindowsVersion::Server2022,
        WindowsVersion::Win11,
        WindowsVersion::Server2025,
    ];

    /// Its name in `matrix.toml`.
    pub fn as_str(self) -> &'static str {
        match self {
            WindowsVersion::Win7 => "7",
            WindowsVersion::Win81 => "8.1",
            WindowsVersion::Win10 => "10",
            WindowsVersion::Win11 => "11",
            WindowsVersion::Server2008R2 => "server-2008-r2",
            WindowsVersion::Server2012R2 => "server-2012-r2",
            WindowsVersion::Server2016 => "server-2016",
            WindowsVersion::Server2019 => "server-2019",
            WindowsVersion::Server2022 => "server-2022",
            WindowsVersion::Server2025 => "server-2025",
        }
    }

    /// Its name, as a reader knows it: `Windows Server 2022`.
    pub fn title(self) -> &'static str {
        match self {
            WindowsVersion::Win7 => "Windows 7",
            WindowsVersion::Win81 => "Windows 8.1",
            WindowsVersion::Win10 => "Windows 10",
            WindowsVersion::Win11 => "Windows 11",
            WindowsVersion::Server2008R2 => "Windows Server 2008 R2",
            WindowsVersion::Server2012R2 => "Windows Server 2012 R2",
            WindowsVersion::Server2016 => "Windows Server 2016",
            WindowsVersion::Server2019 => "Windows Server 2019",
            WindowsVersion::Server2022 => "Windows Server 2022",
            WindowsVersion::Server2025 => "Windows Server 2025",
        }
    }

    /// What Wine reports for it (the prefix's `Version` setting): the version itself where
    /// Wine has it, else the newest it has (Wine 8 knows no Windows 11 and no server after
    /// 2008 R2; they report Windows 10).
    pub fn wine_version(self) -> &'static str {
        match self {
            WindowsVersion::Win7 => "win7",
            WindowsVersion::Win81 | WindowsVersion::Server2012R2 => "win81",
            WindowsVersion::Server2008R2 => "win2008r2",
            WindowsVersion::Win10
            | WindowsVersion::Win11
            | WindowsVersion::Server2016
            | WindowsVersion::Server2019
            | WindowsVersion::Server2022
            | WindowsVersion::Server2025 => "win10",
        }
    }

    /// The version of this name.
    pub fn from_name(name: &str) -> Option<WindowsVersion> {
        WindowsVersion::ALL.into_iter().find(|v| v.as_str() == name)
    }
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

/// The runtime a target's server runs in, without its settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RuntimeKind {
    /// A plain process on the host.
    Host,
    /// A Windows build: natively on a Windows host, under Wine on a Linux one.
    Windows,
    /// An OCI container run by podman or docker.
    Container,
    /// A Kubernetes pod.
    Pod,
}

/// Which container engine runs a `container` target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EngineKind {
    /// podman when installed, else docker when its daemon answers, else podman (installed).
    Auto,
    /// podman.
    Podman,
    /// docker.
    Docker,
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

impl RuntimeKind {
    /// Its name as written in `matrix.toml`.
    pub fn as_str(self) -> &'static str {
        match self {
            RuntimeKind::Host => "host",
            RuntimeKind::Windows => "windows",
            RuntimeKind::Container => "container",
            RuntimeKind::Pod => "pod",
        }
    }
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
