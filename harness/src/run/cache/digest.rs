//! Digests: SHA-256 over length-prefixed parts, of a file, of a tree (names, kinds,
//! permissions, bytes, links, and times when asked), and of large files remembered by size
//! and modification time.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A hash of parts, each length-prefixed so that no two sequences of parts read the same.
#[derive(Default)]
pub(super) struct Hasher(Sha256);

impl Hasher {
    pub(super) fn part(&mut self, bytes: impl AsRef<[u8]>) -> &mut Self {
        let bytes = bytes.as_ref();
        self.0.update((bytes.len() as u64).to_le_bytes());
        self.0.update(bytes);
        self
    }

    pub(super) fn finish(self) -> String {
        format!("{:x}", self.0.finalize())
    }
}

/// The SHA-256 of a file's bytes.
pub(super) fn file_digest(path: &Path) -> Option<String> {
    let mut file = std::fs::File::open(path).ok()?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher).ok()?;
    Some(format!("{:x}", hasher.finalize()))
}

/// The SHA-256 of a file or folder: every entry's path, kind, permissions and bytes (a
/// symlink's target, not followed), in order; with `times`, each one's modification time.
pub(super) fn tree_digest(root: &Path, times: bool) -> Option<String> {
    let mut hasher = Hasher::default();
    let mut stack = vec![root.to_owned()];
    let mut all = Vec::new();
    while let Some(path) = stack.pop() {
        let meta = std::fs::symlink_metadata(&path).ok()?;
        if meta.is_dir() {
            for entry in std::fs::read_dir(&path).ok()? {
                stack.push(entry.ok()?.path());
            }
        }
        all.push((path, meta));
    }
    all.sort_by(|a, b| a.0.cmp(&b.0));
    for (path, meta) in all {
        let rel = path.strip_prefix(root).unwrap_or(&path);
        hasher.part(rel.to_string_lossy().as_bytes());
        hasher.part(permissions(&meta).to_le_bytes());
        if times {
            let since = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
                .unwrap_or_default();
            hasher.part(since.as_nanos().to_le_bytes());
        }
        if meta.is_symlink() {
            hasher.part("link");
            hasher.part(std::fs::read_link(&path).ok()?.to_string_lossy().as_bytes());
        } else if meta.is_file() {
            hasher.part("file");
            hasher.part(file_digest(&path)?);
        } else {
            hasher.part("folder");
        }
    }
    Some(hasher.finish())
}

#[cfg(unix)]
fn permissions(meta: &std::fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o7777
}

#[cfg(not(unix))]
fn permissions(meta: &std::fs::Metadata) -> u32 {
    u32::from(meta.permissions().readonly())
}

/// The digests of large files (the harness, the artifacts) by path, size and modification
/// time, so that an unchanged file is not read again: what cargo's and make's fingerprints
/// trust too. Kept in the harness cache folder.
#[derive(Default, Serialize, Deserialize)]
pub(super) struct Digests {
    files: BTreeMap<PathBuf, (u64, u128, String)>,
    #[serde(skip)]
    changed: bool,
}

impl Digests {
    fn file(cache: &Path) -> PathBuf {
        cache.join("digests.json")
    }

    pub(super) fn read(cache: &Path) -> Digests {
        std::fs::read(Digests::file(cache))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    /// The SHA-256 of the file at `path`: remembered while its size and time stay the same.
    pub(super) fn of(&mut self, path: &Path) -> Option<String> {
        let meta = std::fs::metadata(path).ok()?;
        let time = meta
            .modified()
            .ok()?
            .duration_since(SystemTime::UNIX_EPOCH)
            .ok()?
            .as_nanos();
        if let Some((len, at, digest)) = self.files.get(path)
            && *len == meta.len()
            && *at == time
        {
            return Some(digest.clone());
        }
        let digest = file_digest(path)?;
        self.files
            .insert(path.to_owned(), (meta.len(), time, digest.clone()));
        self.changed = true;
        Some(digest)
    }

    /// Keeps them, when they changed, dropping files that are gone.
    pub(super) fn write(mut self, cache: &Path) {
        if !self.changed {
            return;
        }
        self.files.retain(|path, _| path.exists());
        let file = Digests::file(cache);
        let part = file.with_extension(format!("{}.part", std::process::id()));
        let text = serde_json::to_string(&self).expect("digests serialize");
        if std::fs::create_dir_all(cache)
            .and_then(|()| std::fs::write(&part, text))
            .and_then(|()| std::fs::rename(&part, &file))
            .is_err()
        {
            let _ = std::fs::remove_file(&part);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_tree_s_digest_changes_with_a_byte_a_name_a_mode_or_a_link_and_times_when_asked() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir(root.join("docs")).unwrap();
        std::fs::write(root.join("docs/a.txt"), "one").unwrap();
        let first = tree_digest(root, false).unwrap();
        assert_eq!(tree_digest(root, false).unwrap(), first);
        std::fs::write(root.join("docs/a.txt"), "two").unwrap();
        let byte = tree_digest(root, false).unwrap();
        assert_ne!(byte, first);
        std::fs::rename(root.join("docs/a.txt"), root.join("docs/A.txt")).unwrap();
        let name = tree_digest(root, false).unwrap();
        assert_ne!(name, byte);
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink("A.txt", root.join("docs/link")).unwrap();
            let link = tree_digest(root, false).unwrap();
            assert_ne!(link, name);
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(
                root.join("docs/A.txt"),
                std::fs::Permissions::from_mode(0o600),
            )
            .unwrap();
            assert_ne!(tree_digest(root, false).unwrap(), link);
        }
        let untimed = tree_digest(root, false).unwrap();
        let timed = tree_digest(root, true).unwrap();
        let f = std::fs::File::options()
            .append(true)
            .open(root.join("docs/A.txt"))
            .unwrap();
        f.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(1))
            .unwrap();
        assert_eq!(tree_digest(root, false).unwrap(), untimed);
        assert_ne!(tree_digest(root, true).unwrap(), timed);
    }

    #[test]
    fn a_file_s_digest_is_remembered_while_its_size_and_time_stay_and_read_again_after() {
        let cache = tempfile::tempdir().unwrap();
        let file = cache.path().join("server");
        std::fs::write(&file, "one").unwrap();
        let mut digests = Digests::read(cache.path());
        let first = digests.of(&file).unwrap();
        assert_eq!(first, file_digest(&file).unwrap());
        digests.write(cache.path());
        // A digest remembered under the file's size and time is taken, not read again.
        let mut digests = Digests::read(cache.path());
        assert_eq!(digests.files.len(), 1);
        let meta = std::fs::metadata(&file).unwrap();
        let at = meta
            .modified()
            .unwrap()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap();
        digests.files.insert(
            file.clone(),
            (meta.len(), at.as_nanos(), "remembered".into()),
        );
        assert_eq!(digests.of(&file).unwrap(), "remembered");
        // Changed (another size and time): read again.
        std::fs::write(&file, "three").unwrap();
        let f = std::fs::File::options().append(true).open(&file).unwrap();
        f.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(5))
            .unwrap();
        assert_eq!(digests.of(&file).unwrap(), file_digest(&file).unwrap());
    }
}
