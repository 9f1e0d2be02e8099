//! The port harness: proof that a server behaves the same on every platform it is built for.
//!
//! A team porting a server keeps one code base and describes its compatibility matrix in
//! `matrix.toml`: the server, the targets it is built for and runs on (a host process, a
//! Windows build under Wine, a Linux container), further axes crossed with them, and the
//! end-to-end suites. The harness plans which suite runs where (platform-agnostic suites
//! once, on the primary cell), provisions what the cells need, builds, launches, runs,
//! diffs the behaviour snapshots across cells and reports.
//!
//! The modules are layers, listed here from the bottom up; each uses only those before it
//! (a test checks the `use crate::` lines): [`diagnostic`], [`invocation`], [`units`], [`errors`],
//! [`matrix`], [`plan`], [`events`], [`process`], [`normalize`], [`snapfile`],
//! [`provision`], [`build`], [`runtime`], [`suite`], [`outcome`], [`verdict`], [`persist`],
//! [`render`], [`ci`], [`run`], which orchestrates them, and [`init`], which sets the
//! harness up in a user's repository.
//!
//! This crate holds all of that behaviour and never prints or exits: it returns values and
//! errors (with [`Error::exit_code`]) and leaves the terminal to its caller, the `xtask` CLI
//! `port-harness`, or another project's own xtask.
//!
//! ```no_run
//! use harness::{Matrix, plan::{Selection, plan}};
//! // The runtime kinds its targets may name: the registry `runtime::KINDS`.
//! let matrix = Matrix::load("matrix.toml".as_ref(), harness::runtime::kinds())?;
//! let plan = plan(&matrix, &Selection::default())?;
//! print!("{}", harness::render::tables::plan(&plan));
//! # Ok::<(), harness::Error>(())
//! ```
#![warn(missing_docs)]

pub mod build;
pub mod ci;
pub mod diagnostic;
pub mod errors;
pub mod events;
pub mod init;
pub mod invocation;
pub mod matrix;
pub mod normalize;
pub mod outcome;
pub mod persist;
pub mod plan;
pub mod process;
pub mod provision;
pub mod render;
pub mod review;
pub mod run;
pub mod runtime;
pub mod snapfile;
pub mod suite;
pub mod units;
pub mod verdict;

pub use errors::{Error, Result};
pub use harness_cell as cell;
pub use matrix::Matrix;
