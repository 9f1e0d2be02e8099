//! For the test code of a `command` suite: which cell it runs against, and a way to write
//! snapshots that take part in the cross-cell diff.
//!
//! ```no_run
//! if let Some(cell) = harness::cell::CellEnv::from_env() {
//!     let url = format!("{}/health", cell.base_url);
//!     // ... call the server, then:
//!     cell.snapshot("health", "status: ok").unwrap();
//! }
//! ```

use std::path::PathBuf;

/// The cell a command suite runs against, from the `HARNESS_*` environment.
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
            base_url: std::env::var("HARNESS_BASE_URL").ok()?,
            cell: std::env::var("HARNESS_CELL").unwrap_or_default(),
            target: std::env::var("HARNESS_TARGET").unwrap_or_default(),
            snapshot_dir: std::env::var_os("HARNESS_SNAPSHOT_DIR").map(PathBuf::from),
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
