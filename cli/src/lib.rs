//! The command line of the port harness, as `port-harness` and as a repository's
//! `cargo xtask`: it parses arguments, calls the `harness` library, prints what the library
//! returns and reports, and maps errors to exit codes. No behaviour lives here.
//!
//! A repository's `xtask` is one line, `port_harness::main("cargo xtask")`; one that adds
//! commands of its own flattens [`Command`] into its own subcommands and calls [`run`] and
//! [`exit_code`] (this repository's `xtask` adds its benchmarks that way).

mod print;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use harness::events::Events;
use harness::plan::{Selection, Shard};
use harness::provision::Needs;
use harness::render::progress::{Progress, Verbosity};
use harness::{Error, Matrix};

#[derive(Parser)]
#[command(about = "Cross-platform server port harness and compatibility matrix")]
struct Cli {
    #[command(subcommand)]
    command: Command,
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
        /// The case: SUITE/CASE.
        case: harness::review::CaseRef,
        /// The cells whose difference is accepted (repeatable; default: every cell where it
        /// diverged unaccepted).
        #[arg(long = "cell", value_name = "NAME")]
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
    config: PathBuf,
    /// Find differences nobody wrote a case for: after the suites, send every selected cell
    /// probes derived from the seed's files and the suites' paths, mutated the ways Windows
    /// and Linux differ (case, `\`, traversal, trailing characters, device names,
    /// encodings, long and 8.3 names), and report what a cell answered otherwise than the
    /// primary, by class (results.json's `explored`, the reports, explore.json). A finding
    /// the ledger does not accept makes the run NO-GO
    #[arg(long)]
    explore: bool,
    /// The explore generator's seed: which probes run when there are more than the budget
    #[arg(long, value_name = "N", default_value_t = 0, requires = "explore")]
    explore_seed: u64,
    /// The most probes a cell is sent
    #[arg(long, value_name = "N", default_value_t = 400, requires = "explore")]
    explore_budget: usize,
    /// How long a cell's probes may take (`30s`, `2m`); those that would start later are
    /// not sent, and the findings say how many each cell answered
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration, requires = "explore")]
    explore_time: Option<Duration>,
    /// Probe writes too: each seed file written again (`PUT`) under the names a port reads
    /// otherwise, each in a fresh data dir whose tree is compared with the answer
    #[arg(long, requires = "explore")]
    explore_writes: bool,
    /// A HAR recording (from a browser or a proxy) whose `GET` paths are bases of the probes
    /// too, besides the seed, the suites and `server.openapi`
    #[arg(long, value_name = "FILE", requires = "explore")]
    explore_har: Option<PathBuf>,
    /// Only print the plan: which suite runs on which cell.
    #[arg(long)]
    plan: bool,
    /// Only these cells (a cell or target name; repeatable).
    #[arg(long = "cell", value_name = "NAME")]
    cells: Vec<String>,
    /// Only these suites (repeatable).
    #[arg(long = "suite", value_name = "NAME")]
    suites: Vec<String>,
    /// Only the cases this matches (repeatable): SUITE/CASE or CASE, with `*` and `?`
    /// globs; a run of some cases is not a sign-off.
    #[arg(long = "case", value_name = "PATTERN")]
    cases: Vec<String>,
    /// Only the I-th of N parts of the plan, for CI machines.
    #[arg(long, value_name = "I/N")]
    shard: Option<Shard>,
    /// Also run agnostic suites on every cell, to prove they are agnostic, and list
    /// per-target suites that behaved the same everywhere.
    #[arg(long)]
    audit: bool,
    /// Make new and changed snapshots the committed baselines (otherwise they are written as
    /// pending `.snap.new` files for `cargo insta review`).
    #[arg(long)]
    accept: bool,
    /// Run the primary cell twice and report what differs between the two runs, with a
    /// normalization rule for each difference.
    #[arg(long)]
    noise_check: bool,
    /// How many jobs run at once, across cells and within them (1: one after another, in
    /// plan order). Default: two per core, at least two, as many as memory holds.
    #[arg(short = 'j', long = "jobs", value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    jobs: Option<u16>,
    /// Only the jobs that failed, errored or diverged in an earlier run's output folder.
    #[arg(long, value_name = "DIR")]
    rerun_failed: Option<PathBuf>,
    /// Where results, reports and logs go (default: the workspace's target/matrix).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    #[command(flatten)]
    look: Look,
}

/// How much the terminal shows, and in which colours.
#[derive(clap::Args)]
pub struct Look {
    /// Only failures, errors and the summary.
    #[arg(short, long, conflicts_with = "verbose")]
    quiet: bool,
    /// Also the commands, ports, data dirs and logs of every server, and every prerequisite.
    #[arg(short, long)]
    verbose: bool,
    /// Colour: auto (when the stream is a terminal and NO_COLOR is unset), always or never.
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    color: Color,
}

impl Look {
    fn verbosity(&self) -> Verbosity {
        if self.quiet {
            Verbosity::Quiet
        } else if self.verbose {
            Verbosity::Verbose
        } else {
            Verbosity::Normal
        }
    }

    /// How the summary looks on stdout, with what `show` needs to find this run.
    fn summary(&self, config: &Path, out: Option<&Path>) -> harness::render::terminal::Style {
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
fn ci_systems() -> clap::builder::PossibleValuesParser {
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
    fn palette(self, terminal: bool) -> harness::render::colour::Palette {
        let on = match self {
            Color::Always => true,
            Color::Never => false,
            Color::Auto => terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        };
        harness::render::colour::Palette::new(on)
    }
}

/// The output folder of the matrix's runs: `--out`, or the workspace's `target/matrix`.
/// Reads the matrix, and says on standard error what in it is allowed but should change.
fn load(config: &std::path::Path) -> Result<Matrix, Error> {
    let matrix = Matrix::load(config)?;
    for warning in &matrix.warnings {
        eprintln!("warning: {warning}\n");
    }
    Ok(matrix)
}

async fn runs_folder(matrix: &Matrix, out: Option<PathBuf>) -> Result<PathBuf, Error> {
    Ok(match out {
        Some(dir) => dir,
        None => harness::build::default_out(&matrix.root).await,
    })
}

/// How results print.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
}

/// Runs the command line as `name` (`port-harness`, `cargo xtask`): the name its messages
/// tell users to type.
pub fn main(name: &'static str) -> ExitCode {
    harness::invocation::set(name);
    let cli = match Cli::command().name(name).bin_name(name).try_get_matches() {
        Ok(matches) => match Cli::from_arg_matches(&matches) {
            Ok(cli) => cli,
            Err(e) => return usage(e),
        },
        Err(e) => return usage(e),
    };
    exit_code(block_on(run(cli.command)))
}

/// A usage error (or `--help`) printed as clap prints it, with its exit code.
pub fn usage(e: clap::Error) -> ExitCode {
    let code = if e.use_stderr() { 2 } else { 0 };
    let _ = e.print();
    ExitCode::from(code)
}

/// Runs `work` on the runtime every command runs on.
pub fn block_on<T>(work: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime starts")
        .block_on(work)
}

/// The process's exit code for what a command returned, printing its error.
pub fn exit_code(result: Result<u8, Error>) -> ExitCode {
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!(
                "error: {}",
                harness::render::escape::terminal(&e.to_string())
            );
            ExitCode::from(e.exit_code())
        }
    }
}

/// Runs one command; its exit code, or the error whose code the process exits with.
pub async fn run(command: Command) -> Result<u8, Error> {
    match command {
        Command::Schema { out } => {
            let schema = harness::matrix::json_schema();
            match out {
                Some(path) => std::fs::write(&path, schema).map_err(|e| Error::io(path, e))?,
                None => print!("{schema}"),
            }
            Ok(0)
        }
        Command::Doctor { config, format } => {
            let matrix = load(&config)?;
            let needs = Needs::of(&matrix, matrix.cells.iter().map(|c| c.name.as_str()));
            let cache = harness::provision::cache_dir();
            let checks = harness::provision::doctor(&needs, &cache).await;
            match format {
                Format::Human => print!("{}", harness::render::tables::doctor(&checks, &cache)),
                Format::Json => println!(
                    "{}",
                    serde_json::to_string_pretty(&checks).expect("checks serialize")
                ),
            }
            Ok(if checks.iter().all(|c| c.ok || c.optional) {
                0
            } else {
                3
            })
        }
        Command::Matrix(args) => matrix(args).await,
        Command::Show {
            case,
            cells,
            config,
            out,
            color,
        } => {
            let matrix = load(&config)?;
            let out = runs_folder(&matrix, out).await?;
            let results = harness::persist::results::read(&out)?;
            let shown = harness::review::show(&matrix, &results, &out, &case, &cells)?;
            let palette = color.palette(std::io::stdout().is_terminal());
            print!("{}", harness::render::show::render(&shown, palette));
            Ok(0)
        }
        Command::Accept {
            case,
            cells,
            reason,
            expires,
            config,
            out,
        } => {
            let matrix = load(&config)?;
            let out = runs_folder(&matrix, out).await?;
            let results = harness::persist::results::read(&out)?;
            let accepted = harness::review::accept(
                &config,
                &results,
                &case,
                &cells,
                &reason,
                expires.as_deref(),
            )?;
            eprintln!(
                "accepted {case} on {} in {}: {}",
                accepted.divergence.cells.join(", "),
                accepted.file.display(),
                accepted.divergence.reason
            );
            Ok(0)
        }
        Command::Explore {
            save,
            suite,
            config,
            out,
        } => {
            let matrix = load(&config)?;
            let out = runs_folder(&matrix, out).await?;
            let explored = harness::persist::read_explored(&out)?;
            let saved = harness::review::save(&config, &explored, &save, &suite)?;
            eprintln!(
                "saved {save} as {}{}; `{} matrix --suite {}` runs it",
                saved.case.display(),
                if saved.suite_added {
                    format!(" and added suite `{}` to {}", saved.suite, config.display())
                } else {
                    String::new()
                },
                harness::invocation::command(),
                saved.suite
            );
            Ok(0)
        }
        Command::Init {
            dir,
            args,
            xtask,
            harness_path,
            harness_git,
            harness_rev,
            ci,
        } => {
            let args = match args {
                Some(line) => Some(shell_words::split(&line).map_err(|e| {
                    Error::Selection(format!(
                        "--args `{line}`: {e}: expected a shell-quoted line"
                    ))
                })?),
                None => None,
            };
            let git = harness_git.zip(harness_rev).or_else(|| {
                option_env!("PORT_HARNESS_SOURCE_GIT")
                    .zip(option_env!("PORT_HARNESS_SOURCE_REV"))
                    .map(|(u, r)| (u.to_owned(), r.to_owned()))
            });
            let source = match (xtask, harness_path, &git) {
                (false, _, _) => None,
                (true, Some(path), _) => Some(harness::init::HarnessSource::Path(
                    std::path::absolute(&path).map_err(|e| Error::io(&path, e))?,
                )),
                (true, None, Some((url, rev))) => Some(harness::init::HarnessSource::Git {
                    url: url.clone(),
                    rev: rev.clone(),
                }),
                (true, None, None) => {
                    return Err(Error::Selection(
                        "--xtask needs to know where the harness comes from: expected `--harness-git URL --harness-rev COMMIT` or `--harness-path DIR`".into(),
                    ));
                }
            };
            let generator = match ci.as_str() {
                "none" => None,
                name => Some(harness::ci::generator(name).ok_or_else(|| {
                    Error::Selection(format!(
                        "--ci {name}: expected `none` or one of {}",
                        harness::ci::GENERATORS
                            .iter()
                            .map(|g| g.name())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                })?),
            };
            let done = harness::init::init(&harness::init::Options {
                dir,
                args,
                xtask: source,
                ci: generator,
                harness_git: git,
            })
            .await?;
            println!("found {}", done.found);
            for file in &done.written {
                println!("wrote {}", file.display());
            }
            for (file, text) in &done.kept {
                println!(
                    "kept {} (it exists); init would have written:\n{}",
                    file.display(),
                    text.lines()
                        .map(|l| format!("    {l}"))
                        .collect::<Vec<_>>()
                        .join("\n")
                );
            }
            for why in &done.skipped {
                println!("skipped {why}");
            }
            println!("next: {}", done.next);
            Ok(0)
        }
        Command::Review {
            accept_all,
            reject_all,
            config,
            color,
        } => {
            let matrix = load(&config)?;
            let palette = color.palette(std::io::stdout().is_terminal());
            review(&matrix, accept_all, reject_all, palette)
        }
        Command::Ci {
            system,
            config,
            out,
            harness_git,
            harness_rev,
        } => {
            let matrix = load(&config)?;
            let generator = harness::ci::generator(&system).expect("clap checked the name");
            let built_from =
                option_env!("PORT_HARNESS_SOURCE_GIT").zip(option_env!("PORT_HARNESS_SOURCE_REV"));
            let source = harness_git
                .as_deref()
                .zip(harness_rev.as_deref())
                .or(built_from);
            let cx = harness::ci::context(&config, source)?;
            let workflow = generator.generate(&matrix, &cx);
            let out = match out {
                Some(out) => out,
                None => harness::ci::context::repository_root(&config)
                    .expect("the context found the repository")
                    .join(generator.default_path()),
            };
            if out.as_os_str() == "-" {
                print!("{workflow}");
            } else {
                if let Some(dir) = out.parent() {
                    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
                }
                std::fs::write(&out, workflow).map_err(|e| Error::io(&out, e))?;
                eprintln!("wrote {}", out.display());
            }
            Ok(0)
        }
        Command::Report {
            config,
            merge,
            out,
            accept,
            format,
            look,
        } => {
            let matrix = load(&config)?;
            let results = harness::run::merge(&matrix, &merge, &out, accept)?;
            finish(&results, &out, format, &look.summary(&config, Some(&out)))
        }
    }
}

async fn matrix(args: MatrixArgs) -> Result<u8, Error> {
    let matrix = load(&args.config)?;
    let only = match &args.rerun_failed {
        None => None,
        Some(dir) => Some(harness::verdict::failed_jobs(
            &harness::persist::results::read(dir)?,
        )),
    };
    if let (Some(only), Some(dir)) = (&only, &args.rerun_failed)
        && only.is_empty()
    {
        eprintln!("nothing to rerun: every job passed in {}", dir.display());
        return Ok(0);
    }
    let selection = Selection {
        cells: args.cells,
        suites: args.suites,
        shard: args.shard,
        audit: args.audit,
        only,
        cases: args.cases,
    };
    let mut plan = harness::plan::plan(&matrix, &selection)?;
    // Every suite file and what the matrix refers to, before anything is built.
    let validated = harness::run::validate(&matrix)?;
    harness::run::check_cases(&validated, &mut plan)?;
    if args.plan {
        match args.format {
            Format::Human => print!("{}", harness::render::tables::plan(&plan)),
            Format::Json => println!(
                "{}",
                serde_json::to_string_pretty(&plan).expect("a plan always serializes")
            ),
        }
        return Ok(0);
    }
    let style = args.look.summary(&args.config, args.out.as_deref());
    let out_dir = runs_folder(&matrix, args.out).await?;
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let mode = match args.format {
        Format::Json => print::Mode::Json,
        Format::Human => {
            let terminal = std::io::stderr().is_terminal();
            let palette = args.look.color.palette(terminal);
            print::Mode::Human {
                progress: Progress::new(args.look.verbosity(), palette),
                live: terminal,
                colour: palette.is_on(),
            }
        }
    };
    let printer = tokio::spawn(print::events(rx, mode));
    // The first Ctrl-C (or SIGTERM) interrupts the run: it stops what runs and reports what
    // finished. A second one ends the process at once.
    let (interrupter, interrupt) = harness::run::Interrupt::new();
    let watcher = tokio::spawn(async move {
        interrupted().await;
        interrupter.interrupt();
        interrupted().await;
        eprintln!("error: interrupted twice; exiting now");
        std::process::exit(130);
    });
    let options = harness::run::RunOptions {
        out_dir: out_dir.clone(),
        cache_dir: harness::provision::cache_dir(),
        events: Events::new(tx),
        stop_grace: Duration::from_secs(10),
        accept: args.accept,
        noise_check: args.noise_check,
        parallel: args
            .jobs
            .map_or_else(harness::run::default_parallel, usize::from),
        interrupt,
        explore: args.explore.then(|| harness::run::explore::ExploreSpec {
            budget: harness::suite::explore::Budget {
                seed: args.explore_seed,
                requests: args.explore_budget,
                time: args.explore_time,
                writes: args.explore_writes,
            },
            har: args.explore_har.clone(),
        }),
    };
    let result = harness::run::run(&matrix, &plan, &options).await;
    watcher.abort();
    drop(options);
    let _ = printer.await;
    let results = result?;
    finish(&results, &out_dir, args.format, &style)
}

/// Walks the pending snapshots of `matrix`, asking on standard input what to do with each
/// (or accepting or rejecting them all).
fn review(
    matrix: &Matrix,
    accept_all: bool,
    reject_all: bool,
    palette: harness::render::colour::Palette,
) -> Result<u8, Error> {
    use harness::review::pending::{Decision, decide, pending};
    use std::io::BufRead;
    let items = pending(matrix)?;
    if items.is_empty() {
        println!("no pending snapshots in {}", matrix.snapshot_dir.display());
        return Ok(0);
    }
    let (mut accepted, mut rejected, mut skipped) = (0, 0, 0);
    let mut answers = std::io::stdin().lock().lines();
    let mut quit = false;
    for (i, item) in items.iter().enumerate() {
        let decision = if accept_all {
            Decision::Accept
        } else if reject_all {
            Decision::Reject
        } else if quit {
            Decision::Skip
        } else {
            print!(
                "{}",
                harness::render::review::render(item, i + 1, items.len(), palette)
            );
            loop {
                print!("accept, reject, skip, or quit? [a/r/s/q] ");
                let _ = std::io::Write::flush(&mut std::io::stdout());
                let Some(Ok(answer)) = answers.next() else {
                    // No more answers: the rest stay pending.
                    println!();
                    quit = true;
                    break Decision::Skip;
                };
                match answer.trim() {
                    "a" | "accept" => break Decision::Accept,
                    "r" | "reject" => break Decision::Reject,
                    "s" | "skip" | "" => break Decision::Skip,
                    "q" | "quit" => {
                        quit = true;
                        break Decision::Skip;
                    }
                    other => println!("`{other}`: expected a, r, s or q"),
                }
            }
        };
        decide(matrix, &item.name, decision)?;
        match decision {
            Decision::Accept => accepted += 1,
            Decision::Reject => rejected += 1,
            Decision::Skip => skipped += 1,
        }
    }
    println!(
        "{}",
        harness::render::review::tally(accepted, rejected, skipped)
    );
    Ok(0)
}

/// Prints the results and returns the exit code.
fn finish(
    results: &harness::verdict::Results,
    out: &Path,
    format: Format,
    style: &harness::render::terminal::Style,
) -> Result<u8, Error> {
    match format {
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(results).expect("results serialize")
        ),
        Format::Human => print!(
            "{}",
            harness::render::terminal::summary(results, out, style)
        ),
    }
    Ok(if results.interrupted {
        Error::Interrupted.exit_code()
    } else {
        results.verdict.exit_code()
    })
}

async fn interrupted() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).expect("SIGTERM can be handled");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
