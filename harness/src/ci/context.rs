//! What a generated pipeline needs to know of the repository it is committed to: the matrix
//! file's path from the repository's root (never an absolute path of this machine), whether
//! the repository runs the harness as `cargo xtask`, and otherwise where to install it from
//! at a pinned commit. The one part of `ci` that reads anything: the repository's layout.

use std::path::{Path, PathBuf};

use crate::errors::{Error, Result};

/// How a pipeline's jobs run the harness.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Harness {
    /// The repository has the `cargo xtask` alias, which runs the harness.
    Xtask,
    /// The jobs install `port-harness` from `git` at commit `rev` first.
    Installed {
        /// The repository the harness comes from.
        git: String,
        /// The commit, so that every job runs the same harness.
        rev: String,
    },
}

impl Harness {
    /// The command a job types to run the harness.
    pub fn program(&self) -> &'static str {
        match self {
            Harness::Xtask => "cargo xtask",
            Harness::Installed { .. } => "port-harness",
        }
    }

    /// The command that installs it first, when it must be installed, for a POSIX shell
    /// (`posix`) or PowerShell.
    pub fn install(&self, posix: bool) -> Option<String> {
        match self {
            Harness::Xtask => None,
            Harness::Installed { git, rev } => Some(format!(
                "cargo install --locked --git {} --rev {} port-harness",
                quote(git, posix),
                quote(rev, posix)
            )),
        }
    }
}

/// What a pipeline is generated for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    /// The matrix file's path from the repository's root, with `/` separators.
    pub config: String,
    /// How the jobs run the harness.
    pub harness: Harness,
    /// Whether the repository's root has a `Cargo.lock` (a cache key when it does).
    pub cargo_lock: bool,
}

impl Context {
    /// The matrix file as a job's shell reads it.
    pub fn config_arg(&self, posix: bool) -> String {
        quote(&self.config, posix)
    }
}

/// Finds the repository that holds the matrix file `config` and what its pipeline needs.
/// `source` is where this harness was built from (a git URL and a commit), used when the
/// repository has no `cargo xtask`; without it, such a repository is an error that says
/// how to name one.
pub fn context(config: &Path, source: Option<(&str, &str)>) -> Result<Context> {
    let config = std::path::absolute(config).map_err(|e| Error::io(config, e))?;
    let dir = config.parent().unwrap_or(Path::new("/"));
    let Some(root) = dir.ancestors().find(|d| d.join(".git").exists()) else {
        return Err(Error::Selection(format!(
            "the matrix file {} lies in no git repository: a pipeline names it by its path in the repository it is committed to; expected a matrix file inside that repository",
            config.display()
        )));
    };
    let relative = config
        .strip_prefix(root)
        .expect("the root is an ancestor")
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/");
    let harness = if has_xtask(root) {
        Harness::Xtask
    } else {
        match source {
            Some((git, rev)) => Harness::Installed {
                git: git.to_owned(),
                rev: rev.to_owned(),
            },
            None => {
                return Err(Error::Selection(format!(
                    "{} has no `cargo xtask`, so its pipeline installs the harness, and this harness does not know where it was built from: expected `--harness-git URL --harness-rev COMMIT` (where your team gets the harness)",
                    root.display()
                )));
            }
        }
    };
    Ok(Context {
        config: relative,
        harness,
        cargo_lock: root.join("Cargo.lock").is_file(),
    })
}

/// The repository's root for the matrix file `config`, when it lies in one.
pub fn repository_root(config: &Path) -> Option<PathBuf> {
    let config = std::path::absolute(config).ok()?;
    config
        .parent()?
        .ancestors()
        .find(|d| d.join(".git").exists())
        .map(Path::to_owned)
}

/// Whether the repository at `root` has the `cargo xtask` alias.
fn has_xtask(root: &Path) -> bool {
    ["config.toml", "config"].iter().any(|name| {
        std::fs::read_to_string(root.join(".cargo").join(name))
            .ok()
            .and_then(|text| text.parse::<toml::Table>().ok())
            .is_some_and(|t| {
                t.get("alias")
                    .and_then(|a| a.as_table())
                    .is_some_and(|a| a.contains_key("xtask"))
            })
    })
}

/// `value` quoted for a POSIX shell, or for PowerShell (single quotes, a quote doubled).
pub fn quote(value: &str, posix: bool) -> String {
    if posix {
        shell_words::quote(value).into_owned()
    } else if value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_./:@".contains(c))
    {
        value.to_owned()
    } else {
        format!("'{}'", value.replace('\'', "''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_quoted_for_the_shell_that_reads_them() {
        assert_eq!(quote("matrix.toml", true), "matrix.toml");
        assert_eq!(
            quote("my dir/matrix $(id).toml", true),
            "'my dir/matrix $(id).toml'"
        );
        assert_eq!(
            quote("my dir/matrix $(id).toml", false),
            "'my dir/matrix $(id).toml'"
        );
        assert_eq!(quote("it's", false), "'it''s'");
        assert_eq!(
            shell_words::split(&quote("a'b $x", true)).unwrap(),
            ["a'b $x"]
        );
    }

    #[test]
    fn the_matrix_is_named_from_the_repository_root() {
        let repo = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(repo.path().join(".git")).unwrap();
        std::fs::create_dir_all(repo.path().join("ci/port")).unwrap();
        let config = repo.path().join("ci/port/matrix.toml");
        let cx = context(&config, Some(("https://example.org/h.git", "abc"))).unwrap();
        assert_eq!(cx.config, "ci/port/matrix.toml");
        assert_eq!(cx.harness.program(), "port-harness");
        assert!(!cx.cargo_lock);
        std::fs::create_dir_all(repo.path().join(".cargo")).unwrap();
        std::fs::write(
            repo.path().join(".cargo/config.toml"),
            "[alias]\nxtask = \"run -p xtask --\"\n",
        )
        .unwrap();
        let cx = context(&config, None).unwrap();
        assert_eq!(cx.harness, Harness::Xtask);
        let outside = tempfile::tempdir().unwrap();
        let err = context(&outside.path().join("matrix.toml"), None).unwrap_err();
        assert!(
            err.to_string().contains("lies in no git repository"),
            "{err}"
        );
    }
}
