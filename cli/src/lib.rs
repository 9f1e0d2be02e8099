//! The command line of the port harness, as `port-harness` and as a repository's
//! `cargo xtask`: it parses arguments, calls the `harness` library, prints what the library
//! returns and reports, and maps errors to exit codes. No behaviour lives here.
//!
//! A repository's `xtask` is one line, `port_harness::main("cargo xtask")`; one that adds
//! commands of its own flattens [`Command`] into its own subcommands and calls [`run`] and
//! [`exit_code`] (this repository's `xtask` adds its benchmarks that way).

mod args;
mod print;

use args::Cli;
pub use args::{Color, Command, Format, Look, MatrixArgs};

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{CommandFactory, FromArgMatches};
use harness::events::Events;
use harness::plan::Selection;
use harness::provision::Needs;
use harness::render::progress::Progress;
use harness::{Error, Matrix};

/// Reads the matrix, and says on standard error what in it is allowed but should change.
fn load(config: &std::path::Path) -> Result<Matrix, Error> {
    let matrix = Matrix::load(config, harness::runtime::kinds())?;
    for warning in &matrix.warnings {
        eprintln!("warning: {warning}\n");
    }
    Ok(matrix)
}

/// The output folder of the matrix's runs: `--out`, or `target/matrix` of the cargo workspace
/// the matrix lies in (beside the matrix in none).
async fn runs_folder(matrix: &Matrix, out: Option<PathBuf>) -> Result<PathBuf, Error> {
    Ok(match out {
        Some(dir) => dir,
        None => harness::build::default_out(&matrix.root).await,
    })
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

/// Runs `work` on the runtime every command runs on. Once it is done, the command's answer
/// does not wait on work left on the blocking pool (a request given up, a probe): the runtime
/// is shut down with a short grace.
pub fn block_on<T>(work: impl std::future::Future<Output = T>) -> T {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime starts");
    let result = runtime.block_on(work);
    runtime.shutdown_timeout(Duration::from_secs(1));
    result
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
            let schema = harness::matrix::json_schema(harness::runtime::kinds());
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
                Format::Human => print!(
                    "{}",
                    harness::render::tables::doctor(
                        &checks,
                        &cache,
                        // A width the user set (COLUMNS), else the terminal's own.
                        std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok())
                    )
                ),
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
            explore_class,
            cells,
            reason,
            expires,
            config,
            out,
        } => {
            let matrix = load(&config)?;
            let out = runs_folder(&matrix, out).await?;
            let results = harness::persist::results::read(&out)?;
            let target = match (case, explore_class) {
                (Some(case), _) => harness::review::Target::Case(case),
                (None, Some(class)) => harness::review::Target::ExploreClass(class),
                (None, None) => unreachable!("clap requires a case or --explore-class"),
            };
            let accepted = harness::review::accept(
                &config,
                &results,
                &target,
                &cells,
                &reason,
                expires.as_deref(),
            )?;
            eprintln!(
                "accepted {target} on {} in {}: {}",
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
        cache: !args.no_cache,
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
