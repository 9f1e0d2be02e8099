//! The library's error type. Each variant carries what a user needs to act on it, and maps
//! to one of the documented exit codes through [`Error::exit_code`].

use std::path::PathBuf;

use crate::diagnostic::{Diagnostic, render_all};

/// Everything the harness can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A configuration file could not be read.
    #[error("cannot read {path}: {source}")]
    ReadConfig {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A configuration file is malformed or inconsistent.
    #[error("{}", render_all(.0))]
    Config(Vec<Diagnostic>),
    /// The command line selected something the matrix does not have.
    #[error("{0}")]
    Selection(String),
    /// A prerequisite is missing and could not be provisioned.
    #[error("{what} is missing: {why}\n  fix: {fix}")]
    Prerequisite {
        /// The prerequisite.
        what: String,
        /// What went wrong.
        why: String,
        /// The exact command that fixes it.
        fix: String,
    },
    /// A child process could not be started or failed.
    #[error("`{command}` {problem}{}", stderr_tail(.stderr))]
    Command {
        /// The command line, for the user to rerun.
        command: String,
        /// What went wrong (`exited with status 1`, `could not start: ...`).
        problem: String,
        /// The end of its standard error.
        stderr: String,
    },
    /// Reading or writing a file of the harness's own failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Something took longer than its limit.
    #[error("{what} did not finish within its {limit} of {after}; it was {doing}")]
    Timeout {
        /// What ran out of time.
        what: String,
        /// The `[limits]` key that bounds it.
        limit: &'static str,
        /// The limit.
        after: String,
        /// What it was doing, or waiting for.
        doing: String,
    },
    /// The run was interrupted (Ctrl-C).
    #[error("interrupted")]
    Interrupted,
}

fn stderr_tail(stderr: &str) -> String {
    let stderr = stderr.trim_end();
    if stderr.is_empty() {
        return String::new();
    }
    let lines: Vec<&str> = stderr.lines().collect();
    let tail = &lines[lines.len().saturating_sub(40)..];
    format!("\n{}", tail.join("\n"))
}

impl Error {
    /// The process exit code this error stands for: 2 for usage and configuration errors,
    /// 3 for environment and provisioning errors, 130 for an interrupted run (the shell's
    /// convention for SIGINT), 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::ReadConfig { .. } | Error::Config(_) | Error::Selection(_) => 2,
            // A file that cannot be read or written (a full disk, a folder gone) is the
            // environment's trouble, not the build's: never the NO-GO code.
            Error::Prerequisite { .. } | Error::Io { .. } => 3,
            Error::Command { .. } | Error::Timeout { .. } => 1,
            Error::Interrupted => 130,
        }
    }

    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

/// The harness's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_the_documented_classes() {
        let prerequisite = Error::Prerequisite {
            what: "`wine`".into(),
            why: "it is not on PATH".into(),
            fix: "apt-get install -y wine64".into(),
        };
        assert_eq!(prerequisite.exit_code(), 3);
        assert_eq!(
            prerequisite.to_string(),
            "`wine` is missing: it is not on PATH\n  fix: apt-get install -y wine64"
        );
        assert_eq!(Error::Selection("x".into()).exit_code(), 2);
        assert_eq!(Error::Config(Vec::new()).exit_code(), 2);
        assert_eq!(Error::Interrupted.exit_code(), 130);
        // A full disk is the environment's trouble, never the NO-GO code.
        let full = Error::io("/out/results.json", std::io::Error::from_raw_os_error(28));
        assert_eq!(full.exit_code(), 3);
        let failed = Error::Command {
            command: "cargo build".into(),
            problem: "failed (exit status: 101)".into(),
            stderr: (1..=50)
                .map(|i| format!("line {i}"))
                .collect::<Vec<_>>()
                .join("\n"),
        };
        assert_eq!(failed.exit_code(), 1);
        let text = failed.to_string();
        assert!(
            text.starts_with("`cargo build` failed (exit status: 101)\nline 11\n"),
            "the last 40 lines: {text}"
        );
    }
}
