//! `results.json`: written atomically into the run's output folder, and read back (for a
//! merge of shards and for `--rerun-failed`), checking its schema.

use std::path::{Path, PathBuf};

use super::write_atomic;
use crate::errors::{Error, Result};
use crate::verdict::{Results, SCHEMA};

/// The file name of the results in an output folder.
pub const FILE: &str = "results.json";

/// Writes `results` as `results.json` in `out`; returns its path.
pub fn write(results: &Results, out: &Path) -> Result<PathBuf> {
    let path = out.join(FILE);
    let text = serde_json::to_string_pretty(results).expect("results serialize") + "\n";
    write_atomic(&path, &text)?;
    Ok(path)
}

/// Reads the `results.json` of an output folder.
pub fn read(dir: &Path) -> Result<Results> {
    let path = dir.join(FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
    parse(&text).map_err(|why| Error::io(&path, std::io::Error::other(why)))
}

/// Parses the text of a `results.json`, checking its schema; the error says what is wrong
/// and where.
pub fn parse(text: &str) -> std::result::Result<Results, String> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    if value["schema"] != SCHEMA {
        return Err(format!("schema {} is not {SCHEMA}", value["schema"]));
    }
    serde_json::from_value(value).map_err(|e| format!("not results of this harness: {e}"))
}
