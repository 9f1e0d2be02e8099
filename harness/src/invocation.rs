//! The command users type to run the harness (`cargo xtask` in a repository with the alias,
//! `port-harness` where it is installed on its own), named in every message that tells them
//! what to run next. Set once, by the command line; `cargo xtask` until then.

use std::sync::OnceLock;

static NAME: OnceLock<&'static str> = OnceLock::new();

/// Says how users run the harness; the first call wins.
pub fn set(name: &'static str) {
    let _ = NAME.set(name);
}

/// How users run the harness: `cargo xtask` or `port-harness`.
pub fn command() -> &'static str {
    NAME.get().copied().unwrap_or("cargo xtask")
}
