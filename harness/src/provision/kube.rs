//! Kubernetes clusters that run `pod` cells with a `context`: kubectl on PATH, the context
//! in its configuration, the versions of both ends for the provenance, and the pods of
//! killed runs removed from the cluster.

use std::path::PathBuf;

use serde::Deserialize;

use super::Check;
use super::container::LABEL;
use crate::errors::{Error, Result};
use crate::matrix::Cluster;
use crate::process::{Cmd, checked, output};

/// Where to get kubectl.
const INSTALL: &str = "install kubectl (https://kubernetes.io/docs/tasks/tools/), and give it the cluster's context (for kind: `kind create cluster --name ci` makes `kind-ci`)";

/// kubectl, ready for one cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kubectl {
    /// The program.
    pub program: PathBuf,
    /// The cluster: its context, namespace and pull policy.
    pub cluster: Cluster,
    /// `kubectl version`: the client's and the cluster's versions.
    pub version: Option<String>,
}

impl Kubectl {
    /// kubectl with the cluster's context and namespace.
    pub fn cmd(&self) -> Cmd {
        let mut cmd = Cmd::new(&self.program).args(["--context", &self.cluster.context]);
        if let Some(namespace) = &self.cluster.namespace {
            cmd = cmd.args(["--namespace", namespace]);
        }
        cmd
    }
}

/// The label that names the machine a pod's run ran on: a pid means something only there.
pub const HOST_LABEL: &str = "io.port-harness.host";

/// This machine's name as a label value (at most 63 of `[A-Za-z0-9._-]`).
pub fn host_label() -> String {
    let name = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .unwrap_or_default();
    let clean: String = name
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .take(63)
        .collect();
    let clean = clean.trim_matches(|c: char| !c.is_ascii_alphanumeric());
    if clean.is_empty() {
        "unknown".to_owned()
    } else {
        clean.to_owned()
    }
}

/// kubectl ready for `cluster`: on PATH, with the context in its configuration.
pub async fn ensure(cluster: &Cluster) -> Result<Kubectl> {
    let program = which::which("kubectl").map_err(|_| Error::Prerequisite {
        what: "kubectl".into(),
        why: format!(
            "it is not on PATH, and a pod target runs in the cluster of context `{}`",
            cluster.context
        ),
        fix: INSTALL.into(),
    })?;
    let contexts = checked(&Cmd::new(&program).args(["config", "get-contexts", "-o", "name"]))
        .await
        .unwrap_or_default();
    if !contexts.lines().any(|c| c.trim() == cluster.context) {
        return Err(Error::Prerequisite {
            what: format!("kubectl context `{}`", cluster.context),
            why: format!(
                "it is not in kubectl's configuration (it has {})",
                if contexts.trim().is_empty() {
                    "no context".to_owned()
                } else {
                    contexts
                        .lines()
                        .map(|c| format!("`{}`", c.trim()))
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            ),
            fix: format!(
                "kubectl config get-contexts; then write one of them as `context` in matrix.toml, or {INSTALL}"
            ),
        });
    }
    let mut kubectl = Kubectl {
        program,
        cluster: cluster.clone(),
        version: None,
    };
    kubectl.version = version(&kubectl).await;
    Ok(kubectl)
}

/// `kubectl version`'s two ends in one line: `kubectl v1.32.4, cluster v1.31.0`.
async fn version(kubectl: &Kubectl) -> Option<String> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Versions {
        client_version: Option<Info>,
        server_version: Option<Info>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Info {
        git_version: String,
    }
    let out = output(&kubectl.cmd().args(["version", "--output", "json"]))
        .await
        .ok()?;
    let versions: Versions = serde_json::from_str(&out.stdout).ok()?;
    Some(format!(
        "kubectl {}, cluster {}",
        versions
            .client_version
            .map_or("?".into(), |v| v.git_version),
        versions
            .server_version
            .map_or("unreachable".into(), |v| v.git_version)
    ))
}

/// What `doctor` says of `cluster`: the same checks as [`ensure`], without changing anything.
pub async fn checks(cluster: &Cluster) -> Vec<Check> {
    match ensure(cluster).await {
        Ok(kubectl) => vec![Check {
            what: format!("kubectl context `{}`", cluster.context),
            ok: true,
            detail: kubectl
                .version
                .unwrap_or_else(|| kubectl.program.display().to_string()),
            fix: None,
            optional: false,
        }],
        Err(Error::Prerequisite { what, why, fix }) => vec![Check {
            what,
            ok: false,
            detail: why,
            fix: Some(fix),
            optional: false,
        }],
        Err(e) => vec![Check {
            what: format!("kubectl context `{}`", cluster.context),
            ok: false,
            detail: e.to_string(),
            fix: None,
            optional: false,
        }],
    }
}

/// Removes from `kubectl`'s cluster the pods that runs on this machine left when they were
/// killed (their pid is dead), and says what it removed.
pub async fn remove_leftovers(kubectl: &Kubectl) -> Result<Vec<String>> {
    let listing = checked(&kubectl.cmd().args([
        "get",
        "pods",
        "--selector",
        &format!("{LABEL},{HOST_LABEL}={}", host_label()),
        "--output",
        &format!("jsonpath={{range .items[*]}}{{.metadata.name}} {{.metadata.labels.{}}}{{\"\\n\"}}{{end}}", format!("{LABEL}.pid").replace('.', "\\.")),
    ]))
    .await?;
    let mut removed = Vec::new();
    for line in listing.lines() {
        let mut words = line.split_whitespace();
        let (Some(name), pid) = (words.next(), words.next().and_then(|p| p.parse().ok())) else {
            continue;
        };
        if !pid.is_some_and(crate::process::alive) {
            checked(&kubectl.cmd().args([
                "delete",
                "pod",
                name,
                "--ignore-not-found",
                "--grace-period",
                "0",
                "--force",
                "--wait=false",
            ]))
            .await?;
            removed.push(format!("pod {name} in context {}", kubectl.cluster.context));
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_host_label_is_a_label_value() {
        let label = host_label();
        assert!(!label.is_empty() && label.len() <= 63);
        assert!(
            label
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        );
        assert!(label.starts_with(|c: char| c.is_ascii_alphanumeric()));
    }
}
