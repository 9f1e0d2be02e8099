//! For the test code of a port harness `command` suite: which cell it runs against, and a way
//! to write snapshots that take part in the cross-cell diff. It has no dependencies, so a test
//! crate that wants its cell pulls in nothing else; the harness sets the variables of [`vars`].
//!
//! ```no_run
//! if let Some(cell) = harness_cell::CellEnv::from_env() {
//!     let url = format!("{}/health", cell.base_url);
//!     // ... call the server, then:
//!     cell.snapshot("health", "status: ok").unwrap();
//! }
//! ```

use std::path::PathBuf;

/// The environment variables the harness gives a command suite.
pub mod vars {
    /// The server's base URL, such as `http://127.0.0.1:41234`.
    pub const BASE_URL: &str = "HARNESS_BASE_URL";
    /// The cell's name.
    pub const CELL: &str = "HARNESS_CELL";
    /// The cell's target's name.
    pub const TARGET: &str = "HARNESS_TARGET";
    /// The folder where the suite writes snapshots.
    pub const SNAPSHOT_DIR: &str = "HARNESS_SNAPSHOT_DIR";
    /// The file where the suite writes its JUnit XML, when its matrix says `junit = true`.
    pub const JUNIT: &str = "HARNESS_JUNIT";
}

/// The cell a command suite runs against, from the [`vars`] in its environment.
#[derive(Debug, Clone)]
pub struct CellEnv {
    /// The server's base URL (`HARNESS_BASE_URL`).
    pub base_url: String,
    /// The cell's name (`HARNESS_CELL`).
    pub cell: String,
    /// The cell's target (`HARNESS_TARGET`).
    pub target: String,
    snapshot_dir: Option<PathBuf>,
}

impl CellEnv {
    /// The cell, when run by the harness; `None` otherwise.
    pub fn from_env() -> Option<CellEnv> {
        Some(CellEnv {
            base_url: std::env::var(vars::BASE_URL).ok()?,
            cell: std::env::var(vars::CELL).unwrap_or_default(),
            target: std::env::var(vars::TARGET).unwrap_or_default(),
            snapshot_dir: std::env::var_os(vars::SNAPSHOT_DIR).map(PathBuf::from),
        })
    }

    /// Writes the snapshot of case `name` (letters, digits, `-`, `_`, `.`); the harness
    /// normalizes it and diffs it across cells like every other snapshot.
    pub fn snapshot(&self, name: &str, text: &str) -> std::io::Result<()> {
        let valid = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
        if !valid {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!(
                    "invalid snapshot name `{name}`: expected letters, digits, `-`, `_` or `.`"
                ),
            ));
        }
        let Some(dir) = &self.snapshot_dir else {
            return Ok(());
        };
        std::fs::create_dir_all(dir)?;
        let path = dir.join(format!("{name}.txt"));
        let tmp = dir.join(format!(".{name}.txt.tmp"));
        std::fs::write(&tmp, text)?;
        std::fs::rename(&tmp, &path)
    }
}
