//! The serde mirror of `matrix.toml`: what the file says, with spans, before any validation.
//!
//! Every struct rejects unknown keys, and every value that a later check may complain about
//! keeps its span so that the complaint can point at the file, line and column. Nothing here
//! is interpreted; [`super::resolve`] turns it into the validated model.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;
use toml::Spanned;

/// A whole `matrix.toml`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(
    title = "matrix.toml",
    description = "The compatibility matrix of a server: what to build, where to run it, and which suites to run where"
)]
pub struct RawMatrix {
    /// The primary cell: the production platform, where platform-agnostic suites run once.
    #[schemars(with = "String")]
    pub primary: Spanned<String>,
    /// The server under test: how to build, launch and probe it.
    pub server: RawServer,
    /// The platforms to build for and run on.
    #[serde(default, rename = "target")]
    pub targets: Vec<RawTarget>,
    /// Further axes crossed with the targets (a build profile, cargo features, a server setting).
    #[serde(default, rename = "axis")]
    pub axes: Vec<RawAxis>,
    /// Cells to add to the product of targets and axes.
    #[serde(default)]
    #[schemars(with = "Vec<BTreeMap<String, String>>")]
    pub include: Vec<Spanned<BTreeMap<Spanned<String>, Spanned<String>>>>,
    /// Partial cells to remove from the product: every cell matching all given keys is removed.
    #[serde(default)]
    #[schemars(with = "Vec<BTreeMap<String, String>>")]
    pub exclude: Vec<Spanned<BTreeMap<Spanned<String>, Spanned<String>>>>,
    /// The end-to-end suites.
    #[serde(default, rename = "suite")]
    pub suites: Vec<RawSuite>,
    /// Rules that remove noise before snapshots are compared.
    #[serde(default)]
    pub normalize: RawNormalize,
    /// Differences between cells that the team has accepted, each with its reason.
    #[serde(default, rename = "divergence")]
    pub divergences: Vec<RawDivergence>,
    /// Where snapshots and results live.
    #[serde(default)]
    pub snapshots: RawSnapshots,
    /// Timeouts and sizes, each with a default.
    #[serde(default)]
    pub limits: RawLimits,
}

/// `[limits]`: durations like `30s` or `10m`, sizes like `1MiB`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawLimits {
    /// How long one HTTP request may take (default `30s`).
    #[schemars(with = "Option<String>")]
    pub request_timeout: Option<Spanned<String>>,
    /// How long one case may take, all its steps together (default `2m`).
    #[schemars(with = "Option<String>")]
    pub case_timeout: Option<Spanned<String>>,
    /// How long one job may take: launch, readiness, suite and stop (default `15m`).
    #[schemars(with = "Option<String>")]
    pub job_timeout: Option<Spanned<String>>,
    /// How long a `command` suite's command may run (default `10m`).
    #[schemars(with = "Option<String>")]
    pub command_timeout: Option<Spanned<String>>,
    /// How long the builds may take (default `60m`).
    #[schemars(with = "Option<String>")]
    pub build_timeout: Option<Spanned<String>>,
    /// The largest response body kept whole in a snapshot; a larger one is kept as its size,
    /// its SHA-256 and its first bytes (default `1MiB`).
    #[schemars(with = "Option<String>")]
    pub max_body: Option<Spanned<String>>,
    /// The most cells the targets and axes may expand to (default `256`).
    #[schemars(with = "Option<u64>")]
    pub max_cells: Option<Spanned<u64>>,
}

/// `[server]`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawServer {
    /// The cargo package of the server (found with `cargo metadata`); omit it when every target
    /// has a `build` command instead.
    #[schemars(with = "Option<String>")]
    pub package: Option<Spanned<String>>,
    /// The binary target of that package; defaults to the package's only binary.
    #[schemars(with = "Option<String>")]
    pub bin: Option<Spanned<String>>,
    /// Launch arguments. Placeholders: `{addr}`, `{host}`, `{port}`, `{data_dir}`, `{cell}`,
    /// `{target}`, and one per axis name.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub args: Vec<Spanned<String>>,
    /// Environment of the server process on every target.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// A folder of the repository copied into each fresh data dir before launch.
    #[schemars(with = "Option<String>")]
    pub seed: Option<Spanned<String>>,
    /// The modification time every seeded file and folder gets (`2026-01-01T00:00:00Z`), so
    /// that answers derived from it (ETag, Last-Modified, listings) are the same on every
    /// cell; by default the seed's own times are kept.
    #[schemars(with = "Option<String>")]
    pub seed_mtime: Option<Spanned<toml::value::Datetime>>,
    /// The server's OpenAPI document (JSON or YAML), relative to the matrix file: the paths
    /// of its `GET` operations (those without `{parameters}`) are bases of `--explore`.
    #[schemars(with = "Option<String>")]
    pub openapi: Option<Spanned<String>>,
    /// How to tell that the server is ready.
    #[schemars(with = "RawReady")]
    pub ready: Spanned<RawReady>,
}

/// `[server.ready]`: exactly one of `http`, `tcp`, `log`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawReady {
    /// An HTTP path that answers 2xx when the server is ready, such as `/health`.
    #[schemars(with = "Option<String>")]
    pub http: Option<Spanned<String>>,
    /// Ready as soon as the port accepts a TCP connection.
    pub tcp: Option<bool>,
    /// A regular expression matched against each line the server logs.
    #[schemars(with = "Option<String>")]
    pub log: Option<Spanned<String>>,
    /// How long to wait, such as `30s` or `2m`.
    #[schemars(with = "Option<String>")]
    pub timeout: Option<Spanned<String>>,
}

/// `[[target]]`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawTarget {
    /// The target's name, used in cell names, filters and reports.
    #[schemars(with = "String")]
    pub name: Spanned<String>,
    /// The build triple, such as `x86_64-pc-windows-gnu`.
    #[schemars(with = "String")]
    pub triple: Spanned<String>,
    /// Where the server runs: a runtime kind (`runtime::KINDS` lists them, each with its
    /// own keys beside these).
    #[schemars(with = "String")]
    pub runtime: Spanned<String>,
    /// Environment of the server process on this target, on top of `server.env`.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// A build command for a server that cargo does not build.
    #[schemars(with = "Option<RawBuild>")]
    pub build: Option<Spanned<RawBuild>>,
    /// The keys of its runtime kind (every key not above), read by the kind.
    #[serde(skip)]
    #[schemars(skip)]
    pub settings: Vec<(Spanned<String>, Spanned<toml::Value>)>,
}

/// The keys every target has, whatever its runtime; the others are its runtime kind's.
pub const TARGET_KEYS: &[&str] = &["name", "triple", "runtime", "env", "build"];

/// A target's own build: any command and the artifact it produces, or only the artifact of a
/// server built elsewhere (a prebuilt binary).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawBuild {
    /// The command as argv (never through a shell); none for a prebuilt artifact.
    /// Placeholders: `{triple}`, `{target}`, and one per axis name.
    #[schemars(with = "Option<Vec<String>>")]
    pub command: Option<Spanned<Vec<Spanned<String>>>>,
    /// The artifact's path relative to the matrix file's folder; same placeholders.
    #[schemars(with = "String")]
    pub artifact: Spanned<String>,
    /// Environment of the command (such as `GOOS = "windows"`); same placeholders.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, String>")]
    pub env: BTreeMap<String, Spanned<String>>,
    /// The Debian packages that provide the command's program, installed (as root, with
    /// apt-get) when it is missing, and by generated CI jobs.
    #[serde(default)]
    pub packages: Vec<String>,
}

/// `[[axis]]`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawAxis {
    /// The axis name. `profile` selects the cargo profile and `features` the cargo features;
    /// every axis is also a placeholder and reaches the server as `HARNESS_AXIS_<NAME>`.
    #[schemars(with = "String")]
    pub name: Spanned<String>,
    /// The values, in order.
    #[schemars(with = "Vec<String>")]
    pub values: Spanned<Vec<Spanned<String>>>,
}

/// `[[suite]]`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSuite {
    /// The suite name, unique in the matrix.
    #[schemars(with = "String")]
    pub name: Spanned<String>,
    /// `http` (declarative request files) or `command` (any test command).
    #[schemars(with = "RawSuiteKind")]
    pub kind: Spanned<RawSuiteKind>,
    /// `agnostic` (run once, on the primary cell) or `per-target` (run on every cell).
    #[schemars(with = "RawScope")]
    pub scope: Spanned<RawScope>,
    /// The suite's folder, relative to the matrix file (required for `http`; the working
    /// directory of a `command` suite).
    #[schemars(with = "Option<String>")]
    pub path: Option<Spanned<String>>,
    /// The test command as argv, for `command` suites.
    #[schemars(with = "Option<Vec<String>>")]
    pub command: Option<Spanned<Vec<Spanned<String>>>>,
    /// Whether the command writes JUnit XML, to the file `$HARNESS_JUNIT` names (a file in the
    /// job's own folder): its test cases are then the suite's cases.
    #[schemars(with = "Option<bool>")]
    pub junit: Option<Spanned<RawJunit>>,
    /// Environment of a `command` suite.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// The files and folders, relative to the matrix file, that a `command` suite's results
    /// depend on besides the server (its test sources, the lock file): with them, its jobs'
    /// results can be reused from the result cache while none of them changes; without
    /// them, its jobs always run.
    #[schemars(with = "Option<Vec<String>>")]
    pub inputs: Option<Spanned<Vec<Spanned<String>>>>,
    /// Only on these targets (per-target suites only).
    #[schemars(with = "Option<Vec<String>>")]
    pub targets: Option<Spanned<Vec<Spanned<String>>>>,
    /// Snapshot the server's log of this suite's job (default: `[snapshots] log`).
    pub snapshot_log: Option<bool>,
    /// Snapshot the data dir's tree after each case or at the end of the suite (default:
    /// `[snapshots] data_dir`).
    #[schemars(with = "Option<RawDataDir>")]
    pub snapshot_data_dir: Option<Spanned<RawDataDir>>,
}

/// When the data dir's tree is snapshotted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[schemars(rename = "DataDirSnapshots")]
pub enum RawDataDir {
    /// Never.
    Off,
    /// After each case.
    Case,
    /// Once, after the suite.
    Suite,
}

/// `junit`: a boolean; a path (the old form) is read only to explain the change.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum RawJunit {
    /// `junit = true`.
    Written(bool),
    /// `junit = "path"`, no longer accepted.
    Path(String),
}

/// The kind of a suite.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[schemars(rename = "SuiteKind")]
pub enum RawSuiteKind {
    /// Declarative request and expectation files.
    Http,
    /// Any test command.
    Command,
}

/// Where a suite runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[schemars(rename = "Scope")]
pub enum RawScope {
    /// Once, on the primary cell.
    Agnostic,
    /// On every selected cell.
    PerTarget,
}

/// `[normalize]`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawNormalize {
    /// Replace `\` by `/` in snapshot text.
    #[serde(default)]
    pub path_separators: bool,
    /// Replace CRLF by LF in snapshot text.
    #[serde(default)]
    pub line_endings: bool,
    /// Remove colour and other terminal escape sequences from the server's log before it is
    /// snapshotted (default `true`).
    pub log_escapes: Option<bool>,
    /// JSON fields whose values are replaced by `[redacted]`, as paths like `.id` or
    /// `.items[].created`.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub redact: Vec<Spanned<String>>,
    /// Regular-expression filters applied to every cell's snapshot text alike.
    #[serde(default, rename = "filter")]
    pub filters: Vec<RawFilter>,
}

/// `[[normalize.filter]]`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawFilter {
    /// The regular expression.
    #[schemars(with = "String")]
    pub regex: Spanned<String>,
    /// Its replacement.
    pub replace: String,
}

/// `[[divergence]]`: an accepted difference between cells.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawDivergence {
    /// The per-target suite.
    #[schemars(with = "Option<String>")]
    pub suite: Option<Spanned<String>>,
    /// The case in that suite, or a glob of its cases (`*`, `upload-*`).
    #[schemars(with = "Option<String>")]
    pub case: Option<Spanned<String>>,
    /// Instead of a suite and case: a class of `--explore` findings, every finding of which
    /// is accepted on the cells named (`case-sensitivity`, `separators`, ...).
    #[schemars(with = "Option<String>")]
    pub explore: Option<Spanned<String>>,
    /// The cells whose behaviour differs from the primary cell's; a target name stands for
    /// all of its cells.
    #[schemars(with = "Vec<String>")]
    pub cells: Spanned<Vec<Spanned<String>>>,
    /// Why the difference is intended.
    #[schemars(with = "String")]
    pub reason: Spanned<String>,
    /// A date (`2027-01-31`) after which the divergence is no longer accepted.
    #[schemars(with = "Option<String>")]
    pub expires: Option<Spanned<toml::value::Datetime>>,
}

/// `[snapshots]`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSnapshots {
    /// The folder of committed behaviour snapshots, relative to the matrix file.
    #[schemars(with = "Option<String>")]
    pub dir: Option<Spanned<String>>,
    /// Snapshot each job's server log, normalized, and compare it across cells.
    #[serde(default)]
    pub log: bool,
    /// Snapshot the data dir's tree (paths, kinds, symlink targets, sizes, hashes) after each
    /// case or at the end of each suite, and compare it across cells.
    #[schemars(with = "Option<RawDataDir>")]
    pub data_dir: Option<RawDataDir>,
}

/// What of a matrix file could not be read in the first phase: the second phase's checks
/// that depend on it stay quiet (a target table that could not be read would make every
/// check of cell names wrong), and the others still run.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Unread {
    /// `primary`.
    pub primary: bool,
    /// `[server]`.
    pub server: bool,
    /// A `[[target]]`.
    pub targets: bool,
    /// An `[[axis]]`, `[[include]]` or `[[exclude]]`, or `[limits]` (which caps the cells).
    pub cells: bool,
    /// A `[[suite]]`.
    pub suites: bool,
}

/// A problem of the first phase: where, and what.
pub type Problem = (std::ops::Range<usize>, String);

/// The top-level keys of a matrix file.
const KEYS: &[&str] = &[
    "primary",
    "server",
    "target",
    "axis",
    "include",
    "exclude",
    "suite",
    "normalize",
    "divergence",
    "snapshots",
    "limits",
];

/// Reads `text` table by table: each top-level table, and each element of an array of
/// tables, is read on its own, so that independent mistakes are all reported at once. A
/// syntax error stops there (`Err`, every syntax error). Otherwise the mirror of what could
/// be read (defaults where a table could not be), what could not, and why.
pub fn read(text: &str) -> std::result::Result<(RawMatrix, Unread, Vec<Problem>), Vec<Problem>> {
    use toml::de::{DeTable, DeValue};
    let (document, syntax) = DeTable::parse_recoverable(text);
    if !syntax.is_empty() {
        return Err(syntax
            .iter()
            .map(|e| (e.span().unwrap_or(0..0), e.message().to_owned()))
            .collect());
    }
    let mut problems: Vec<Problem> = Vec::new();
    let mut unread = Unread::default();
    let mut matrix = RawMatrix {
        primary: Spanned::new(0..0, String::new()),
        server: RawServer {
            package: None,
            bin: None,
            args: Vec::new(),
            env: BTreeMap::new(),
            seed: None,
            seed_mtime: None,
            openapi: None,
            ready: Spanned::new(
                0..0,
                RawReady {
                    http: None,
                    tcp: Some(true),
                    log: None,
                    timeout: None,
                },
            ),
        },
        targets: Vec::new(),
        axes: Vec::new(),
        include: Vec::new(),
        exclude: Vec::new(),
        suites: Vec::new(),
        normalize: RawNormalize::default(),
        divergences: Vec::new(),
        snapshots: RawSnapshots::default(),
        limits: RawLimits::default(),
    };
    let (mut primary, mut server) = (false, false);
    for (key, value) in document.into_inner() {
        let (span, name) = (key.span(), key.into_inner());
        let broken = match name.as_ref() {
            "primary" => {
                primary = true;
                one(value, &mut problems).map(|v| matrix.primary = v)
            }
            "server" => {
                server = true;
                one(value, &mut problems).map(|v| matrix.server = v)
            }
            "target" => targets(value, &mut problems, &mut matrix.targets),
            "axis" => many(value, &mut problems, &mut matrix.axes),
            "include" => many(value, &mut problems, &mut matrix.include),
            "exclude" => many(value, &mut problems, &mut matrix.exclude),
            "suite" => many(value, &mut problems, &mut matrix.suites),
            "divergence" => many(value, &mut problems, &mut matrix.divergences),
            "normalize" => one(value, &mut problems).map(|v| matrix.normalize = v),
            "snapshots" => one(value, &mut problems).map(|v| matrix.snapshots = v),
            "limits" => one(value, &mut problems).map(|v| matrix.limits = v),
            other => {
                problems.push((
                    span,
                    format!(
                        "unknown field `{other}`, expected one of {}",
                        KEYS.iter()
                            .map(|k| format!("`{k}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
                Some(())
            }
        }
        .is_none();
        match name.as_ref() {
            "primary" => unread.primary |= broken,
            "server" => unread.server |= broken,
            "target" => unread.targets |= broken,
            "axis" | "include" | "exclude" | "limits" => unread.cells |= broken,
            "suite" => unread.suites |= broken,
            _ => {}
        }
    }
    for (present, key) in [(primary, "primary"), (server, "server")] {
        if !present {
            problems.push((0..0, format!("missing field `{key}`")));
            unread.primary |= key == "primary";
            unread.server |= key == "server";
        }
    }
    problems.sort_by_key(|(span, _)| span.start);
    return Ok((matrix, unread, problems));

    /// One value, or `None` with its problem noted.
    fn one<T: serde::de::DeserializeOwned>(
        value: Spanned<DeValue<'_>>,
        problems: &mut Vec<Problem>,
    ) -> Option<T> {
        let span = value.span();
        let mut value = value;
        value.get_mut().make_owned();
        T::deserialize(toml::de::ValueDeserializer::from(value))
            .map_err(|e| problems.push((e.span().unwrap_or(span), e.message().to_owned())))
            .ok()
    }

    /// Each `[[target]]` into `into`, the keys of its runtime kind (all but
    /// [`TARGET_KEYS`]) set aside for the kind to read; `None` when one could not be read.
    fn targets(
        value: Spanned<DeValue<'_>>,
        problems: &mut Vec<Problem>,
        into: &mut Vec<RawTarget>,
    ) -> Option<()> {
        let DeValue::Array(items) = value.get_ref() else {
            return many(value, problems, into);
        };
        let mut all_read = true;
        for item in items.iter() {
            let DeValue::Table(table) = item.get_ref() else {
                match one::<RawTarget>(item.clone(), problems) {
                    Some(t) => into.push(t),
                    None => all_read = false,
                }
                continue;
            };
            let mut own = DeTable::new();
            let mut settings = Vec::new();
            for (key, value) in table.iter() {
                if TARGET_KEYS.contains(&key.get_ref().as_ref()) {
                    own.insert(key.clone(), value.clone());
                } else if let Some(read) = one::<toml::Value>(value.clone(), problems) {
                    settings.push((
                        Spanned::new(key.span(), key.get_ref().to_string()),
                        Spanned::new(value.span(), read),
                    ));
                } else {
                    all_read = false;
                }
            }
            match one::<RawTarget>(Spanned::new(item.span(), DeValue::Table(own)), problems) {
                Some(mut t) => {
                    t.settings = settings;
                    into.push(t);
                }
                None => all_read = false,
            }
        }
        all_read.then_some(())
    }

    /// Each element of an array of tables into `into`; `None` when one could not be read.
    fn many<T: serde::de::DeserializeOwned>(
        value: Spanned<DeValue<'_>>,
        problems: &mut Vec<Problem>,
        into: &mut Vec<T>,
    ) -> Option<()> {
        let DeValue::Array(items) = value.get_ref() else {
            // Not an array: serde says what was expected.
            return one::<Vec<T>>(value, problems).map(|all| into.extend(all));
        };
        let mut all_read = true;
        for item in items.iter() {
            match one::<T>(item.clone(), problems) {
                Some(v) => into.push(v),
                None => all_read = false,
            }
        }
        all_read.then_some(())
    }
}
