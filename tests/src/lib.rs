//! Helpers for the end-to-end tests: run the real `cargo xtask` the way a user does.

use std::path::Path;
use std::process::Output;

/// Runs `cargo xtask ARGS` in `dir` (the repository, or a temp copy of it) and returns what it
/// printed. Cargo reuses the workspace's build, so this costs a fraction of a second.
#[expect(
    clippy::disallowed_methods,
    reason = "tests run the CLI as a user would"
)]
pub fn xtask_command(dir: &Path, args: &[&str]) -> Output {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    std::process::Command::new(cargo)
        .arg("xtask")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("cargo runs")
}
