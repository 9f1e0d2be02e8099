//! End-to-end tests of the port harness, in one binary: the real `cargo xtask` on this
//! repository and on scenario variants of it, real builds, real Wine, real podman; plus the
//! tidy checks that keep the tree honest.

mod adopt;
mod builds;
mod cache;
mod cli;
mod clusters;
mod diff;
mod explore;
mod faults;
mod fidelity;
mod leaks;
mod pods;
mod readiness;
mod reports;
mod review;
mod runtimes;
mod terminal;
mod tidy;
mod trust;
mod verdicts;
mod windows_host;
