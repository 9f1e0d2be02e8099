//! CI pipelines generated from the matrix, behind one trait: a generator names its CI system,
//! where its file goes, and renders the file. [`GENERATORS`] is the one list of them. A
//! pipeline names every path from the repository's root and quotes every value for the shell
//! that reads it ([`context`]), so that an adopting repository can commit it as it is.

pub mod context;
pub mod github;
pub mod gitlab;

pub use context::{Context, Harness, context};

use crate::matrix::{Matrix, Runner, WindowsVersion};
use crate::provision::Needs;

/// A CI system's pipeline generator.
pub trait Generator: Sync {
    /// The system's name, as `cargo xtask ci NAME` takes it.
    fn name(&self) -> &'static str;
    /// Where the pipeline file goes, relative to the repository.
    fn default_path(&self) -> &'static str;
    /// The pipeline for `matrix` in the repository `cx` describes.
    fn generate(&self, matrix: &Matrix, cx: &Context) -> String;
}

/// The longest a cell's job may run, in minutes: the builds' limit and half an hour for
/// provisioning and the cell's jobs.
pub fn cell_timeout_minutes(matrix: &Matrix) -> u64 {
    matrix.limits.build_timeout.as_secs().div_ceil(60) + 30
}

/// The longest the sign-off job may run, in minutes: it builds the harness and merges.
pub const SIGN_OFF_TIMEOUT_MINUTES: u64 = 45;

/// Every generator.
pub const GENERATORS: &[&dyn Generator] = &[&github::GitHub, &gitlab::GitLab];

/// The kind of machine a cell's CI job runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Os {
    /// Linux.
    Linux,
    /// Windows: Windows cells run natively.
    Windows,
    /// macOS.
    Macos,
}

/// One cell's CI job: where it runs and what it installs first.
#[derive(Debug, Clone)]
pub struct CellJob {
    /// The cell.
    pub cell: String,
    /// The machine.
    pub os: Os,
    /// The Debian/Ubuntu packages a Linux job installs before the run, space-separated
    /// (empty when none, and on other machines).
    pub packages: String,
    /// The Windows version a Windows job stands for, which picks its runner image where the
    /// CI system has one.
    pub windows: Option<WindowsVersion>,
    /// Whether the cell runs its server in a container (or a pod of podman), which its job's
    /// runner must allow.
    pub containers: bool,
    /// The kubectl context and the image of a cell whose pods run in a cluster.
    pub cluster: Option<(String, String)>,
}

impl CellJob {
    /// The name of the kind cluster a CI job creates for the cell: a context `kind-NAME`
    /// is kind's cluster `NAME`. Another context is one the job's runner must have.
    pub fn kind_cluster(&self) -> Option<&str> {
        self.cluster
            .as_ref()
            .and_then(|(context, _)| context.strip_prefix("kind-"))
    }
}

/// Every cell of `matrix` as a CI job, in matrix order.
pub fn cell_jobs(matrix: &Matrix) -> Vec<CellJob> {
    matrix
        .cells
        .iter()
        .map(|c| {
            let target = matrix.target(&c.target).expect("cells name known targets");
            let requirements = target.runtime.requirements();
            let os = match requirements.runner {
                Runner::Linux => Os::Linux,
                Runner::Windows(_) => Os::Windows,
                Runner::OfTriple if target.triple.contains("-windows-") => Os::Windows,
                Runner::OfTriple if target.triple.contains("-apple-") => Os::Macos,
                Runner::OfTriple => Os::Linux,
            };
            let packages = if os == Os::Linux {
                let needs = Needs::of(matrix, [c.name.as_str()]);
                needs.packages().into_iter().collect::<Vec<_>>().join(" ")
            } else {
                String::new()
            };
            CellJob {
                cell: c.name.clone(),
                os,
                packages,
                windows: match requirements.runner {
                    Runner::Windows(version) => version,
                    _ => None,
                },
                containers: requirements.engine.is_some(),
                cluster: requirements
                    .cluster
                    .map(|(cluster, image)| (cluster.context, image)),
            }
        })
        .collect()
}

/// Where the harness keeps its cache (Wine prefixes, base images, durations) in a CI job,
/// relative to the checkout, so that the CI system caches it.
pub const CACHE_DIR: &str = ".harness-cache";

/// The generator of the CI system `name`.
pub fn generator(name: &str) -> Option<&'static dyn Generator> {
    GENERATORS.iter().copied().find(|g| g.name() == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pod_cell_is_a_linux_job_whose_runner_runs_podman() {
        let matrix = crate::matrix::parse(
            std::path::Path::new("matrix.toml"),
            r#"primary = "debian"

[server]
package = "srv"
args = ["--listen", "{addr}"]

[server.ready]
http = "/health"

[[target]]
name = "debian"
triple = "x86_64-unknown-linux-gnu"
runtime = "container"
image = "debian:bookworm-slim"
engine = "docker"

[[target]]
name = "debian-pod"
triple = "x86_64-unknown-linux-gnu"
runtime = "pod"
image = "debian:bookworm-slim"
read_only_root_filesystem = true
"#,
            crate::runtime::kinds(),
        )
        .unwrap();
        let jobs = cell_jobs(&matrix);
        let pod = jobs.iter().find(|j| j.cell == "debian-pod").unwrap();
        assert_eq!(pod.os, Os::Linux);
        assert!(pod.containers);
        // podman, whatever engine the container cells use: kube play is podman's.
        assert!(
            pod.packages.split(' ').any(|p| p == "podman"),
            "{}",
            pod.packages
        );
        let container = jobs.iter().find(|j| j.cell == "debian").unwrap();
        assert!(!container.packages.split(' ').any(|p| p == "podman"));
    }
}
