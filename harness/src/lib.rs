//! The port harness: proof that a server behaves the same on every platform it is built for.
//!
//! A team porting a server keeps one code base and describes its compatibility matrix in
//! `matrix.toml`: the server, the targets it is built for and runs on (a host process, a
//! Windows build under Wine, a Linux container), further axes crossed with them, and the
//! end-to-end suites. The harness plans which suite runs where (platform-agnostic suites
//! once, on the primary cell), provisions what the cells need, builds, launches, runs,
//! diffs the behaviour snapshots across cells and reports.
//!
//! This crate holds all of that behaviour and never prints or exits: it returns values and
//! errors (with [`Error::exit_code`]) and leaves the terminal to its caller, the `xtask` CLI
//! or another project's own xtask.
//!
//! ```no_run
//! use harness::{Matrix, plan::{Selection, plan}};
//! let matrix = Matrix::load("matrix.toml".as_ref())?;
//! let plan = plan(&matrix, &Selection::default())?;
//! print!("{}", plan.to_table());
//! # Ok::<(), harness::Error>(())
//! ```
#![warn(missing_docs)]

pub mod build;
pub mod cell;
pub mod ci;
pub mod errors;
pub mod events;
pub mod matrix;
pub mod plan;
pub mod process;
pub mod provision;
pub mod report;
pub mod run;
pub mod runtime;
pub mod snapshot;
pub mod suite;

pub use errors::{Error, Result};
pub use matrix::Matrix;
