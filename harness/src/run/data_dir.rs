//! The fresh data dir of each launch: an empty folder, with the matrix's seed copied in.

use std::path::Path;

use crate::errors::{Error, Result};

/// Copies the seed folder `from` into the fresh data dir `to`.
pub(super) fn seed(from: &Path, to: &Path) -> Result<()> {
    let entries = std::fs::read_dir(from).map_err(|e| Error::io(from, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(from, e))?;
        let dest = to.join(entry.file_name());
        if entry
            .file_type()
            .map_err(|e| Error::io(entry.path(), e))?
            .is_dir()
        {
            std::fs::create_dir_all(&dest).map_err(|e| Error::io(&dest, e))?;
            seed(&entry.path(), &dest)?;
        } else {
            std::fs::copy(entry.path(), &dest).map_err(|e| Error::io(&dest, e))?;
        }
    }
    Ok(())
}
