//! The fresh data dir of each launch: an empty folder, with the matrix's seed copied in
//! faithfully. Symlinks stay symlinks (to files and to folders alike; under Wine they are what
//! Wine makes of them, which is part of what a port changes), permissions are kept, and every
//! file and folder keeps its modification time or gets the one the matrix fixes, so that
//! answers derived from it (ETag, Last-Modified, listings) do not differ between cells by
//! accident.

use std::path::Path;
use std::time::SystemTime;

use crate::errors::{Error, Result};

/// Copies the seed folder `from` into the fresh data dir `to`; `mtime` is the fixed time of
/// every copied file and folder, when the matrix names one.
pub(super) fn seed(from: &Path, to: &Path, mtime: Option<SystemTime>) -> Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(from)
        .map_err(|e| Error::io(from, e))?
        .collect::<std::io::Result<_>>()
        .map_err(|e| Error::io(from, e))?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let src = entry.path();
        let dest = to.join(entry.file_name());
        let meta = std::fs::symlink_metadata(&src).map_err(|e| Error::io(&src, e))?;
        let kind = meta.file_type();
        if kind.is_symlink() {
            let target = std::fs::read_link(&src).map_err(|e| Error::io(&src, e))?;
            symlink(&target, &dest, src.is_dir()).map_err(|e| Error::io(&dest, e))?;
            // The link's own time, not its target's.
            if let Some(time) = mtime {
                set_link_mtime(&dest, time).map_err(|e| Error::io(&dest, e))?;
            }
            continue;
        }
        if kind.is_dir() {
            std::fs::create_dir_all(&dest).map_err(|e| Error::io(&dest, e))?;
            seed(&src, &dest, mtime)?;
        } else if kind.is_file() {
            std::fs::copy(&src, &dest).map_err(|e| Error::io(&dest, e))?;
        } else {
            // A FIFO would block the copy for ever; a device or a socket cannot be copied.
            return Err(Error::io(
                &src,
                std::io::Error::other("not a file, a folder or a symlink: a seed holds only those"),
            ));
        }
        std::fs::set_permissions(&dest, meta.permissions()).map_err(|e| Error::io(&dest, e))?;
        // Last, so that filling a folder does not move its time on.
        let time = match mtime {
            Some(t) => t,
            None => meta.modified().map_err(|e| Error::io(&src, e))?,
        };
        set_mtime(&dest, time).map_err(|e| Error::io(&dest, e))?;
    }
    Ok(())
}

fn set_mtime(path: &Path, time: SystemTime) -> std::io::Result<()> {
    open_for_times(path)?.set_times(
        std::fs::FileTimes::new()
            .set_modified(time)
            .set_accessed(time),
    )
}

/// Sets a symlink's own modification time (not its target's).
#[cfg(unix)]
fn set_link_mtime(link: &Path, time: SystemTime) -> std::io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let since = time
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_err(std::io::Error::other)?;
    let spec = libc::timespec {
        tv_sec: since.as_secs() as libc::time_t,
        tv_nsec: i64::from(since.subsec_nanos()) as _,
    };
    let path =
        std::ffi::CString::new(link.as_os_str().as_bytes()).map_err(std::io::Error::other)?;
    // SAFETY: a valid C string and two timespecs, as utimensat takes them.
    let done = unsafe {
        libc::utimensat(
            libc::AT_FDCWD,
            path.as_ptr(),
            [spec, spec].as_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
        )
    };
    if done == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Sets a symlink's own modification time (not its target's), through a handle to the link
/// itself.
#[cfg(windows)]
fn set_link_mtime(link: &Path, time: SystemTime) -> std::io::Result<()> {
    use std::os::windows::fs::OpenOptionsExt;
    use windows::Win32::Storage::FileSystem::{
        FILE_FLAG_BACKUP_SEMANTICS, FILE_FLAG_OPEN_REPARSE_POINT, FILE_WRITE_ATTRIBUTES,
    };
    std::fs::OpenOptions::new()
        .access_mode(FILE_WRITE_ATTRIBUTES.0)
        .custom_flags(FILE_FLAG_BACKUP_SEMANTICS.0 | FILE_FLAG_OPEN_REPARSE_POINT.0)
        .open(link)?
        .set_times(
            std::fs::FileTimes::new()
                .set_modified(time)
                .set_accessed(time),
        )
}

#[cfg(unix)]
fn open_for_times(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::File::open(path)
}

/// Windows opens a folder only with backup semantics, and changes times only through a
/// handle with the right to write attributes.
#[cfg(windows)]
fn open_for_times(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::windows::fs::OpenOptionsExt;
    use windows::Win32::Storage::FileSystem::{FILE_FLAG_BACKUP_SEMANTICS, FILE_WRITE_ATTRIBUTES};
    std::fs::OpenOptions::new()
        .access_mode(FILE_WRITE_ATTRIBUTES.0)
        .custom_flags(FILE_FLAG_BACKUP_SEMANTICS.0)
        .open(path)
}

#[cfg(unix)]
fn symlink(target: &Path, link: &Path, _to_dir: bool) -> std::io::Result<()> {
    std::os::unix::fs::symlink(target, link)
}

#[cfg(windows)]
fn symlink(target: &Path, link: &Path, to_dir: bool) -> std::io::Result<()> {
    if to_dir {
        std::os::windows::fs::symlink_dir(target, link)
    } else {
        std::os::windows::fs::symlink_file(target, link)
    }
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;
    use std::time::Duration;

    use super::*;

    #[test]
    fn symlinks_times_and_permissions_survive_the_copy() {
        let from = tempfile::tempdir().unwrap();
        let to = tempfile::tempdir().unwrap();
        let f = from.path();
        std::fs::create_dir(f.join("sub")).unwrap();
        std::fs::write(f.join("sub/a.txt"), "a").unwrap();
        std::fs::write(f.join("run.sh"), "#!/bin/sh").unwrap();
        std::fs::set_permissions(f.join("run.sh"), std::fs::Permissions::from_mode(0o755)).unwrap();
        std::os::unix::fs::symlink("sub/a.txt", f.join("to-file")).unwrap();
        std::os::unix::fs::symlink("sub", f.join("to-dir")).unwrap();
        let fixed = SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_225_600);
        seed(f, to.path(), Some(fixed)).unwrap();
        let t = to.path();
        assert_eq!(
            std::fs::read_link(t.join("to-file")).unwrap(),
            Path::new("sub/a.txt")
        );
        assert_eq!(
            std::fs::read_link(t.join("to-dir")).unwrap(),
            Path::new("sub")
        );
        assert_eq!(
            std::fs::read_to_string(t.join("to-dir/a.txt")).unwrap(),
            "a"
        );
        let mode = std::fs::metadata(t.join("run.sh"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o755);
        for p in ["sub", "sub/a.txt", "run.sh"] {
            assert_eq!(
                std::fs::metadata(t.join(p)).unwrap().modified().unwrap(),
                fixed,
                "{p}"
            );
        }
        for link in ["to-file", "to-dir"] {
            assert_eq!(
                std::fs::symlink_metadata(t.join(link))
                    .unwrap()
                    .modified()
                    .unwrap(),
                fixed,
                "the link {link} itself"
            );
        }
    }

    #[test]
    fn a_fifo_in_the_seed_is_refused_by_name_before_and_during_the_copy() {
        let from = tempfile::tempdir().unwrap();
        let to = tempfile::tempdir().unwrap();
        std::fs::create_dir(from.path().join("sub")).unwrap();
        let fifo = from.path().join("sub/pipe");
        let path = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid C string.
        assert_eq!(unsafe { libc::mkfifo(path.as_ptr(), 0o644) }, 0);
        assert_eq!(
            super::super::validate::not_copyable(from.path()),
            Some((fifo.clone(), "a FIFO"))
        );
        let err = seed(from.path(), to.path(), None).unwrap_err().to_string();
        assert!(
            err.contains("sub/pipe") && err.contains("not a file"),
            "{err}"
        );
    }
}
