//! `cargo xtask` in this repository: the harness's command line (the `port-harness` crate)
//! and the benchmarks that measure the harness on this repository's sample.

mod bench;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

#[derive(Parser)]
#[command(about = "Cross-platform server port harness and compatibility matrix")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    #[command(flatten)]
    Harness(Box<port_harness::Command>),
    /// Measure the harness: the warm sample matrix beside `-j 1` and a plain sequential
    /// script, how runs scale with suites, the diff of 100,000 snapshot pairs, and planning.
    Bench {
        /// Only these benchmarks (repeatable; default: all).
        #[arg(value_enum)]
        which: Vec<bench::Which>,
        /// How many times each sample run repeats (the median is printed).
        #[arg(long, default_value_t = 3)]
        runs: usize,
    },
}

fn main() -> ExitCode {
    const NAME: &str = "cargo xtask";
    harness::invocation::set(NAME);
    let parsed = Cli::command()
        .name(NAME)
        .bin_name(NAME)
        .try_get_matches()
        .and_then(|m| Cli::from_arg_matches(&m));
    let cli = match parsed {
        Ok(cli) => cli,
        Err(e) => return port_harness::usage(e),
    };
    port_harness::exit_code(port_harness::block_on(async {
        match cli.command {
            Command::Harness(command) => port_harness::run(*command).await,
            Command::Bench { which, runs } => bench::run(&which, runs).await,
        }
    }))
}
