//! `cargo xtask`: the command line of the port harness. It parses arguments, calls the
//! `harness` library, prints what the library returns, and maps errors to exit codes. No
//! behaviour lives here.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use harness::plan::{Selection, Shard};
use harness::{Error, Matrix};

#[derive(Parser)]
#[command(
    name = "cargo xtask",
    about = "Cross-platform server port harness and compatibility matrix"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Plan, build, launch, test and diff the server on every cell of the matrix.
    Matrix(MatrixArgs),
    /// Write the JSON schema of matrix.toml (to stdout, or to a file).
    Schema {
        /// Write to this file instead of stdout.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(clap::Args)]
struct MatrixArgs {
    /// The matrix file.
    #[arg(long, default_value = "matrix.toml")]
    config: PathBuf,
    /// Only print the plan: which suite runs on which cell.
    #[arg(long)]
    plan: bool,
    /// Only these cells (a cell or target name; repeatable).
    #[arg(long = "cell", value_name = "NAME")]
    cells: Vec<String>,
    /// Only these suites (repeatable).
    #[arg(long = "suite", value_name = "NAME")]
    suites: Vec<String>,
    /// Only the I-th of N parts of the plan, for CI machines.
    #[arg(long, value_name = "I/N")]
    shard: Option<Shard>,
    /// Also run agnostic suites on every cell, to prove they are agnostic.
    #[arg(long)]
    audit: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Human,
    Json,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

fn run(cli: Cli) -> Result<u8, Error> {
    match cli.command {
        Command::Schema { out } => {
            let schema = harness::matrix::json_schema();
            match out {
                Some(path) => std::fs::write(&path, schema).map_err(|e| Error::io(path, e))?,
                None => print!("{schema}"),
            }
            Ok(0)
        }
        Command::Matrix(args) => {
            let matrix = Matrix::load(&args.config)?;
            let selection = Selection {
                cells: args.cells,
                suites: args.suites,
                shard: args.shard,
                audit: args.audit,
            };
            let plan = harness::plan::plan(&matrix, &selection)?;
            if args.plan {
                match args.format {
                    Format::Human => print!("{}", plan.to_table()),
                    Format::Json => println!(
                        "{}",
                        serde_json::to_string_pretty(&plan).expect("a plan always serializes")
                    ),
                }
                return Ok(0);
            }
            Err(Error::Selection(
                "running the matrix is not available yet: use --plan".to_owned(),
            ))
        }
    }
}
