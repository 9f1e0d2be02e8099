//! Persistence: the one writer of snapshots and results. Every file is written atomically (a
//! temp file in the same folder, then a rename), so a reader never sees half a file and an
//! interrupted write leaves the old file whole.

pub mod results;
pub mod snapshots;

use std::path::Path;

use crate::errors::{Error, Result};

/// An output folder claimed by this run; released when dropped.
#[derive(Debug)]
pub struct Claim(#[expect(dead_code, reason = "held for its lock")] std::fs::File);

/// The file `--explore` writes its findings to, in the output folder.
pub const EXPLORED: &str = "explore.json";

/// Writes `text` as the new file `path` in the user's tree (a case file the harness
/// made), atomically; a file already there is kept, and is an error that names it.
pub fn create_user_file(path: &Path, text: &str) -> Result<()> {
    if path.exists() {
        return Err(Error::Selection(format!(
            "{} exists already: remove it first to write it again",
            path.display()
        )));
    }
    write_atomic(path, text)
}

/// The findings of the last `--explore` into `dir`.
pub fn read_explored(dir: &Path) -> Result<crate::verdict::explore::Explored> {
    let file = dir.join(EXPLORED);
    let text = std::fs::read_to_string(&file).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::Selection(format!(
            "no exploration in {}: run `{} matrix --explore` first",
            dir.display(),
            crate::invocation::command()
        )),
        _ => Error::io(&file, e),
    })?;
    serde_json::from_str(&text).map_err(|e| Error::io(&file, std::io::Error::other(e)))
}

/// Claims the output folder `out` for this run: a second run with the same `--out` is refused,
/// naming the run that holds it, instead of both overwriting each other's results.
pub fn claim(out: &Path) -> Result<Claim> {
    use std::io::{Read, Seek, Write};
    let path = out.join(".port-harness.lock");
    // A folder of the user's is never written over: only an empty one, or one of the
    // harness's (it holds the lock file or results of an earlier run).
    if let Ok(entries) = std::fs::read_dir(out) {
        let names: Vec<String> = entries
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        let harness = names
            .iter()
            .any(|n| n == ".port-harness.lock" || n == "results.json");
        if !names.is_empty() && !harness {
            let mut shown = names.clone();
            shown.sort();
            shown.truncate(5);
            return Err(Error::Selection(format!(
                "output folder {} holds files that are not a run's ({}): expected an empty folder or one a run of the harness wrote; give --out another folder",
                out.display(),
                shown.join(", ")
            )));
        }
    }
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(&path)
        .map_err(|e| Error::io(&path, e))?;
    match file.try_lock() {
        Ok(()) => {
            let _ = file.set_len(0);
            let _ = file.rewind();
            let _ = write!(file, "{}", std::process::id());
            Ok(Claim(file))
        }
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut pid = String::new();
            let _ = file.read_to_string(&mut pid);
            Err(Error::Selection(format!(
                "output folder {} is in use by another run (pid {}): wait for it to finish, or give this run another --out",
                out.display(),
                pid.trim()
            )))
        }
        Err(std::fs::TryLockError::Error(e)) => Err(Error::io(path, e)),
    }
}

/// Writes `text` to `path` atomically, creating its folder.
pub fn write_atomic(path: &Path, text: &str) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| Error::io(dir, e))?;
    // A temp file is private (0600); the file it becomes is an ordinary one, as the umask
    // makes new files.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o666 & !umask()))
            .map_err(|e| Error::io(path, e))?;
    }
    std::io::Write::write_all(&mut tmp, text.as_bytes()).map_err(|e| Error::io(path, plain(e)))?;
    tmp.persist(path)
        .map_err(|e| Error::io(path, plain(e.error)))?;
    Ok(())
}

/// The operating system's own error, without the temp file's name that tempfile adds: an
/// error names the file the user knows.
fn plain(e: std::io::Error) -> std::io::Error {
    e.raw_os_error()
        .map_or(e, std::io::Error::from_raw_os_error)
}

/// The process's umask, read without changing it (Linux's `/proc`; elsewhere the usual
/// 022).
#[cfg(unix)]
fn umask() -> u32 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Umask:"))
                .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
        })
        .unwrap_or(0o022)
}

/// Replaces the user's file `path` (a matrix file being edited) with `text` atomically,
/// keeping its permissions: an interrupted edit leaves the old file whole.
pub fn replace_user_file(path: &Path, text: &str) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let permissions = std::fs::metadata(path)
        .map_err(|e| Error::io(path, e))?
        .permissions();
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| Error::io(dir, e))?;
    std::io::Write::write_all(&mut tmp, text.as_bytes()).map_err(|e| Error::io(path, e))?;
    tmp.as_file()
        .set_permissions(permissions)
        .map_err(|e| Error::io(path, e))?;
    tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn written_files_are_as_the_umask_makes_new_files_not_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("results.json");
        write_atomic(&file, "{}").unwrap();
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o666 & !umask());
        assert_ne!(mode, 0o600, "readable by others, as a report is");
    }

    #[test]
    fn writes_are_atomic_and_leave_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/a.txt");
        write_atomic(&path, "one").unwrap();
        write_atomic(&path, "two").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "two");
        let names: Vec<String> = std::fs::read_dir(dir.path().join("sub"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["a.txt"], "no temp file is left");
    }

    #[cfg(unix)]
    #[test]
    fn replacing_a_user_file_keeps_its_permissions() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("matrix.toml");
        std::fs::write(&path, "old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        replace_user_file(&path, "new").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o644);
    }

    #[test]
    fn an_output_folder_is_claimed_by_one_run_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let first = claim(dir.path()).unwrap();
        let err = claim(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains(&format!(
                "is in use by another run (pid {})",
                std::process::id()
            )),
            "{err}"
        );
        drop(first);
        // A child forked by another test at this moment shares the lock's open file until it
        // execs; the claim is free again within moments.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
        while let Err(e) = claim(dir.path()) {
            assert!(std::time::Instant::now() < deadline, "{e}");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
}
