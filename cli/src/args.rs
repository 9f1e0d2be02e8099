//! The command line's arguments: every command and flag, parsed by clap, and the small
//! choices they carry (how much the terminal shows, colour, output format).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use harness::plan::Shard;
use harness::render::progress::Verbosity;

#[derive(Parser)]
#[command(about = "Cross-platform server port harness and compatibility matrix")]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The harness's commands.
#[derive(Subcommand)]
pub enum Command {
    /// Plan, provision, build, launch and test the server on every cell of the matrix.
    Matrix(MatrixArgs),
    /// Show every prerequisite of the matrix, its state and the fix when it is missing.
    Doctor {
        /// The matrix file.
        #[arg(long, default_value = "matrix.toml")]
        config: PathBuf,
        /// Output format: a table, or the checks as JSON.
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
    /// Merge the results of shards (`--merge DIR...`) into the results and reports of the
    /// whole plan.
    Report {
        /// The matrix file.
        #[arg(long, default_value = "matrix.toml")]
        config: PathBuf,
        /// The output folders of the shards.
        #[arg(long, num_args = 1.., required = true, value_name = "DIR")]
        merge: Vec<PathBuf>,
        /// Where the merged results and reports go.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Make new and changed snapshots the committed baselines.
        #[arg(long)]
        accept: bool,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
        #[command(flatten)]
        look: Look,
    },
    /// Write a CI pipeline that runs the matrix's cells as parallel jobs and merges them.
    Ci {
        /// The CI system.
        #[arg(value_parser = ci_systems())]
        system: String,
        /// The matrix file.
        #[arg(long, default_value = "matrix.toml")]
        config: PathBuf,
        /// Where to write it (default: the CI system's own place in the matrix's repository,
        /// such as `.github/workflows/matrix.yml`); `-` for stdout.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Where the jobs install the harness from, when the repository has no `cargo
        /// xtask` (default: where this harness was built from).
        #[arg(long, value_name = "URL", requires = "harness_rev")]
        harness_git: Option<String>,
        /// The commit of `--harness-git` the jobs install.
        #[arg(long, value_name = "COMMIT", requires = "harness_git")]
        harness_rev: Option<String>,
    },
    /// Show one case of the last run on every cell: the requests, each cell's raw and
    /// normalized responses, the server's log lines, the diffs, and whether they are accepted.
    Show {
        /// The case: SUITE/CASE.
        case: harness::review::CaseRef,
        /// Only these cells (repeatable).
        #[arg(long = "cell", value_name = "NAME")]
        cells: Vec<String>,
        /// The matrix file.
        #[arg(long, default_value = "matrix.toml")]
        config: PathBuf,
        /// The run's output folder (default: the workspace's target/matrix).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Colour: auto (when stdout is a terminal and NO_COLOR is unset), always or never.
        #[arg(long, value_enum, default_value_t = Color::Auto)]
        color: Color,
    },
    /// Accept a divergence the last run found: writes its [[divergence]] entry into the
    /// matrix file, keeping the file's comments and layout. Refuses what did not diverge.
    Accept {
        /// The case: SUITE/CASE, or a glob of a suite's cases (SUITE/*, 'files/upload-*'),
        /// accepted as one entry that names the pattern.
        #[arg(
            required_unless_present = "explore_class",
            conflicts_with = "explore_class"
        )]
        case: Option<harness::review::CaseRef>,
        /// Instead of a case: every finding of this class in the last `matrix --explore`
        /// (case-sensitivity, separators, ...), as one entry.
        #[arg(long, value_name = "CLASS", value_parser = explore_class)]
        explore_class: Option<harness::matrix::ExploreClass>,
        /// The cells whose difference is accepted (repeatable or comma-separated; default:
        /// every cell where it diverged unaccepted).
        #[arg(
            long = "cell",
            visible_alias = "cells",
            value_name = "NAME",
            value_delimiter = ','
        )]
        cells: Vec<String>,
        /// Why the cells differ on purpose; every report shows it.
        #[arg(long)]
        reason: String,
        /// The date (YYYY-MM-DD) after which the acceptance no longer holds.
        #[arg(long, value_name = "DATE")]
        expires: Option<String>,
        /// The matrix file.
        #[arg(long, default_value = "matrix.toml")]
        config: PathBuf,
        /// The run's output folder (default: the workspace's target/matrix).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// Turn a finding of the last `matrix --explore` into a committed http case: its request
    /// becomes a case file in the suite folder (added to the matrix file as a per-target
    /// suite when it is not one), which the next run compares across cells.
    Explore {
        /// The finding to save: its probe name, as the findings list it (`separators-002`).
        #[arg(long, value_name = "FINDING")]
        save: String,
        /// The suite (and its folder beside the matrix file) that gets the case.
        #[arg(long, default_value = "explored")]
        suite: String,
        /// The matrix file.
        #[arg(long, default_value = "matrix.toml")]
        config: PathBuf,
        /// The exploration's output folder (default: the workspace's target/matrix).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// Review the pending snapshots (new and changed, `.snap.new`) one by one, each with its
    /// diff from the baseline: accept it (it becomes the baseline), reject it, or skip it.
    /// Answers are read from standard input, a line each (`a`, `r`, `s`, `q`).
    Review {
        /// Accept every pending snapshot without asking.
        #[arg(long, conflicts_with = "reject_all")]
        accept_all: bool,
        /// Reject every pending snapshot without asking.
        #[arg(long)]
        reject_all: bool,
        /// The matrix file.
        #[arg(long, default_value = "matrix.toml")]
        config: PathBuf,
        /// Colour: auto (when the stream is a terminal and NO_COLOR is unset), always or never.
        #[arg(long, value_enum, default_value_t = Color::Auto)]
        color: Color,
    },
    /// Set the harness up in a repository from what is in it: a matrix (a cargo workspace's
    /// binary, or the prebuilt executables it finds), a first agnostic suite and a
    /// per-target one, a snapshot folder, optionally an `xtask` crate with the `cargo
    /// xtask` alias, and the CI pipeline. It never overwrites a file.
    Init {
        /// The repository (default: the current folder).
        #[arg(long, default_value = ".")]
        dir: PathBuf,
        /// How the server is launched, as a shell-quoted line with placeholders (default:
        /// `--listen {addr}`).
        #[arg(long, value_name = "ARGS", allow_hyphen_values = true)]
        args: Option<String>,
        /// Also write an `xtask` crate that runs the harness and the `cargo xtask` alias (in
        /// a cargo workspace).
        #[arg(long)]
        xtask: bool,
        /// The xtask's harness from a local checkout of it (the folder of its `port-harness`
        /// crate) instead of git.
        #[arg(long, value_name = "DIR", requires = "xtask")]
        harness_path: Option<PathBuf>,
        /// Where the harness comes from (default: where this harness was built from).
        #[arg(long, value_name = "URL", requires = "harness_rev")]
        harness_git: Option<String>,
        /// The commit of `--harness-git`.
        #[arg(long, value_name = "COMMIT", requires = "harness_git")]
        harness_rev: Option<String>,
        /// The CI system whose pipeline to write, or `none`.
        #[arg(long, default_value = "github")]
        ci: String,
    },
    /// Write the JSON schema of matrix.toml (to stdout, or to a file).
    Schema {
        /// Write to this file instead of stdout.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

/// The arguments of `matrix`.
#[derive(clap::Args)]
pub struct MatrixArgs {
    /// The matrix file.
    #[arg(long, default_value = "matrix.toml")]
    pub(crate) config: PathBuf,
    /// Find differences nobody wrote a case for: after the suites, send every selected cell
    /// probes derived from the seed's files and the suites' paths, mutated the ways Windows
    /// and Linux differ (case, `\`, traversal, trailing characters, device names,
    /// encodings, long and 8.3 names), and report what a cell answered otherwise than the
    /// primary, by class (results.json's `explored`, the reports, explore.json). A finding
    /// the ledger does not accept makes the run NO-GO
    #[arg(long)]
    pub(crate) explore: bool,
    /// The explore generator's seed: which probes run when there are more than the budget
    #[arg(long, value_name = "N", default_value_t = 0, requires = "explore")]
    pub(crate) explore_seed: u64,
    /// The most probes a cell is sent
    #[arg(long, value_name = "N", default_value_t = 400, requires = "explore")]
    pub(crate) explore_budget: usize,
    /// How long a cell's probes may take (`30s`, `2m`); those that would start later are
    /// not sent, and the findings say how many each cell answered
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration, requires = "explore")]
    pub(crate) explore_time: Option<Duration>,
    /// Probe writes too: each seed file written again (`PUT`) under the names a port reads
    /// otherwise, each in a fresh data dir whose tree is compared with the answer
    #[arg(long, requires = "explore")]
    pub(crate) explore_writes: bool,
    /// A HAR recording (from a browser or a proxy) whose `GET` paths are bases of the probes
    /// too, besides the seed, the suites and `server.openapi`
    #[arg(long, value_name = "FILE", requires = "explore")]
    pub(crate) explore_har: Option<PathBuf>,
    /// Only print the plan: which suite runs on which cell.
    #[arg(long)]
    pub(crate) plan: bool,
    /// Only these cells (a cell or target name; repeatable).
    #[arg(long = "cell", value_name = "NAME")]
    pub(crate) cells: Vec<String>,
    /// Only these suites (repeatable).
    #[arg(long = "suite", value_name = "NAME")]
    pub(crate) suites: Vec<String>,
    /// Only the cases this matches (repeatable): SUITE/CASE or CASE, with `*` and `?`
    /// globs; a run of some cases is not a sign-off.
    #[arg(long = "case", value_name = "PATTERN")]
    pub(crate) cases: Vec<String>,
    /// Only the I-th of N parts of the plan, for CI machines.
    #[arg(long, value_name = "I/N")]
    pub(crate) shard: Option<Shard>,
    /// Also run agnostic suites on every cell, to prove they are agnostic, and list
    /// per-target suites that behaved the same everywhere.
    #[arg(long)]
    pub(crate) audit: bool,
    /// Make new and changed snapshots the committed baselines (otherwise they are written as
    /// pending `.snap.new` files for `cargo insta review`).
    #[arg(long)]
    pub(crate) accept: bool,
    /// Run the primary cell twice and report what differs between the two runs, with a
    /// normalization rule for each difference.
    #[arg(long)]
    pub(crate) noise_check: bool,
    /// Run every job, even one whose inputs are byte for byte those of a job that passed in
    /// an earlier run (by default its result is reused and marked cached). Also set by the
    /// environment variable PORT_HARNESS_NO_CACHE=1.
    #[arg(long, env = "PORT_HARNESS_NO_CACHE", value_parser = clap::builder::BoolishValueParser::new(), action = clap::ArgAction::SetTrue)]
    pub(crate) no_cache: bool,
    /// How many jobs run at once, across cells and within them (1: one after another, in
    /// plan order). Default: two per core, at least two, as many as memory holds.
    #[arg(short = 'j', long = "jobs", value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub(crate) jobs: Option<u16>,
    /// Only the jobs that failed, errored or diverged in an earlier run's output folder.
    #[arg(long, value_name = "DIR")]
    pub(crate) rerun_failed: Option<PathBuf>,
    /// Where results, reports and logs go (default: the workspace's target/matrix).
    #[arg(long, value_name = "DIR")]
    pub(crate) out: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub(crate) format: Format,
    #[command(flatten)]
    pub(crate) look: Look,
}

/// How much the terminal shows, and in which colours.
#[derive(clap::Args)]
pub struct Look {
    /// Only failures, errors and the summary.
    #[arg(short, long, conflicts_with = "verbose")]
    pub(crate) quiet: bool,
    /// Also the commands, ports, data dirs and logs of every server, and every prerequisite.
    #[arg(short, long)]
    pub(crate) verbose: bool,
    /// Colour: auto (when the stream is a terminal and NO_COLOR is unset), always or never.
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    pub(crate) color: Color,
}

impl Look {
    pub(crate) fn verbosity(&self) -> Verbosity {
        if self.quiet {
            Verbosity::Quiet
        } else if self.verbose {
            Verbosity::Verbose
        } else {
            Verbosity::Normal
        }
    }

    /// How the summary looks on stdout, with what `show` needs to find this run.
    pub(crate) fn summary(
        &self,
        config: &Path,
        out: Option<&Path>,
    ) -> harness::render::terminal::Style {
        let mut show_args = String::new();
        if config != Path::new("matrix.toml") {
            show_args.push_str(&format!(
                " --config {}",
                shell_words::quote(&config.to_string_lossy())
            ));
        }
        if let Some(out) = out {
            show_args.push_str(&format!(
                " --out {}",
                shell_words::quote(&out.to_string_lossy())
            ));
        }
        harness::render::terminal::Style {
            verbosity: self.verbosity(),
            palette: self.color.palette(std::io::stdout().is_terminal()),
            show_args,
        }
    }
}

/// The CI systems that have a generator.
pub(crate) fn ci_systems() -> clap::builder::PossibleValuesParser {
    harness::ci::GENERATORS
        .iter()
        .map(|g| g.name())
        .collect::<Vec<_>>()
        .into()
}

/// When to colour the terminal.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Color {
    Auto,
    Always,
    Never,
}

impl Color {
    /// The palette for a stream that is (or is not) a terminal.
    pub(crate) fn palette(self, terminal: bool) -> harness::render::colour::Palette {
        let on = match self {
            Color::Always => true,
            Color::Never => false,
            Color::Auto => terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        };
        harness::render::colour::Palette::new(on)
    }
}

/// How results print.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
}

/// An explore class by name, or an error that lists them.
fn explore_class(name: &str) -> Result<harness::matrix::ExploreClass, String> {
    harness::matrix::ExploreClass::parse(name).ok_or_else(|| {
        format!(
            "expected one of {}",
            harness::matrix::quoted_list(
                harness::matrix::ExploreClass::ALL
                    .iter()
                    .map(|c| c.as_str())
            )
        )
    })
}
