//! Pods in a Kubernetes cluster, through kubectl (a `pod` target with a `context`). A
//! cluster's nodes do not see this machine's folders, so the build and the seed are copied
//! in: the pod's init container waits until the harness has unpacked them into its
//! `emptyDir` volumes (`kubectl exec -i ... tar -x`), then the server starts. The port is
//! reached through `kubectl port-forward` on 127.0.0.1, the server's output followed with
//! `kubectl logs --follow` (its two streams as one), and the data dir copied back (`tar -c`
//! in the server's container) whenever the harness reads it. Stopping deletes the pod. The
//! image needs `sh` and `tar`, as `kubectl cp` does.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use futures_util::future::BoxFuture;
use serde::Deserialize;

use super::super::{
    Armed, Cleanup, DataDirSync, Launch, Reservation, Runtime, Server, StopSignal, cleanup_blocking,
};
use super::Pod;
use super::manifest::{CONTAINER, Placement, STAGE, STAGED, beside_log, manifest, manifest_path};
use crate::errors::{Error, Result};
use crate::matrix::Runtime as RuntimeConfig;
use crate::process::{Cmd, Running, checked, output_with_input};
use crate::provision::Kubectl;
use crate::provision::provenance::{Execution, ExecutionKind, Facts};

/// How often a starting pod's state is asked.
const POLL: Duration = Duration::from_millis(250);

/// Pods run in a cluster by kubectl.
pub struct ClusterRuntime {
    kubectl: Kubectl,
    pod: Pod,
    /// This machine's name as a label value.
    host: String,
}

impl ClusterRuntime {
    /// Pods of `pod`'s settings in `kubectl`'s cluster.
    pub fn new(kubectl: Kubectl, pod: Pod) -> ClusterRuntime {
        ClusterRuntime {
            kubectl,
            pod,
            host: crate::provision::kube::host_label(),
        }
    }
}

/// What kubectl says of a pod (the fields the harness reads).
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct PodStatus {
    #[serde(default)]
    status: Status,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Status {
    #[serde(default)]
    phase: String,
    #[serde(default)]
    init_container_statuses: Option<Vec<ContainerStatus>>,
    #[serde(default)]
    container_statuses: Option<Vec<ContainerStatus>>,
}

#[derive(Deserialize)]
struct ContainerStatus {
    name: String,
    #[serde(default)]
    state: State,
}

#[derive(Deserialize, Default)]
struct State {
    running: Option<serde_json::Value>,
    waiting: Option<Waiting>,
    terminated: Option<Terminated>,
}

#[derive(Deserialize)]
struct Waiting {
    #[serde(default)]
    reason: String,
    #[serde(default)]
    message: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Terminated {
    exit_code: i64,
}

/// Where a container of a starting pod is.
#[derive(Debug, PartialEq, Eq)]
enum Progress {
    /// Not started yet (scheduling, pulling).
    Waiting,
    /// Running.
    Running,
    /// Exited, with its exit code.
    Exited(i64),
}

/// Reasons a container waits for that waiting will not end.
const STUCK: &[&str] = &[
    "ErrImagePull",
    "ImagePullBackOff",
    "ErrImageNeverPull",
    "InvalidImageName",
    "CreateContainerError",
    "CreateContainerConfigError",
];

/// Where the container `name` of the pod described by `json` is; an error for a container
/// that waits for what will not come (an image that cannot be pulled).
fn progress(json: &str, name: &str) -> std::result::Result<Progress, String> {
    let pod: PodStatus =
        serde_json::from_str(json).map_err(|e| format!("kubectl printed no pod: {e}"))?;
    let status = pod
        .status
        .init_container_statuses
        .iter()
        .chain(&pod.status.container_statuses)
        .flatten()
        .find(|c| c.name == name);
    let Some(status) = status else {
        return if pod.status.phase == "Failed" {
            Err("the pod failed before its containers started".into())
        } else {
            Ok(Progress::Waiting)
        };
    };
    if let Some(t) = &status.state.terminated {
        return Ok(Progress::Exited(t.exit_code));
    }
    if status.state.running.is_some() {
        return Ok(Progress::Running);
    }
    match &status.state.waiting {
        Some(w) if STUCK.contains(&w.reason.as_str()) => {
            Err(format!("container `{name}`: {}: {}", w.reason, w.message))
        }
        _ => Ok(Progress::Waiting),
    }
}

impl ClusterRuntime {
    /// Waits until the container `name` of pod `pod` has started (or already ended).
    async fn started(&self, pod: &str, name: &str) -> Result<Progress> {
        let get = self
            .kubectl
            .cmd()
            .args(["get", "pod", pod, "--output", "json"]);
        loop {
            let json = checked(&get).await?;
            match progress(&json, name) {
                Ok(Progress::Waiting) => tokio::time::sleep(POLL).await,
                Ok(progress) => return Ok(progress),
                Err(problem) => {
                    return Err(Error::Command {
                        command: get.to_string(),
                        problem,
                        stderr: String::new(),
                    });
                }
            }
        }
    }

    /// Unpacks the archive `archive` into `into` in the init container of pod `pod`.
    async fn unpack(&self, pod: &str, archive: &Path, into: &str) -> Result<()> {
        let exec = self
            .kubectl
            .cmd()
            .args(["exec", "--stdin", pod, "--container", STAGE, "--"])
            .args(["tar", "-x", "-f", "-", "-C", into]);
        let out = output_with_input(&exec, archive).await?;
        if out.status.success() {
            Ok(())
        } else {
            Err(Error::Command {
                command: exec.to_string(),
                problem: format!("failed ({})", out.status),
                stderr: out.stderr,
            })
        }
    }
}

/// Packs `names` in folder `dir` into the archive `archive`, with the host's `tar`:
/// symlinks as symlinks, modes and times kept.
async fn pack(dir: &Path, names: &[String], archive: &Path) -> Result<()> {
    checked(
        &Cmd::new("tar")
            .args(["-c", "-f"])
            .arg(archive)
            .arg("-C")
            .arg(dir)
            .arg("--")
            .args(names),
    )
    .await
    .map(drop)
}

/// The names in folder `dir`, sorted.
fn names_in(dir: &Path) -> Result<Vec<String>> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    Ok(names)
}

/// Brings the data dir of pod `pod` back into `data_dir` on this host: packed in the
/// server's container, unpacked here in place of what was there.
fn pull_data_dir(
    kubectl: &Kubectl,
    pod: &str,
    data_dir: &Path,
    archive: &Path,
) -> std::result::Result<(), String> {
    let exec = kubectl
        .cmd()
        .args(["exec", pod, "--container", CONTAINER, "--"])
        .args(["tar", "-c", "-f", "-", "-C", "/data", "."]);
    crate::process::to_file_blocking(&exec, archive)?;
    for entry in std::fs::read_dir(data_dir).map_err(|e| e.to_string())? {
        let path = entry.map_err(|e| e.to_string())?.path();
        let gone = if path.is_dir() && !path.is_symlink() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        gone.map_err(|e| format!("{}: {e}", path.display()))?;
    }
    let unpack = Cmd::new("tar")
        .args(["-x", "-f"])
        .arg(archive)
        .arg("-C")
        .arg(data_dir);
    let done = crate::process::run_blocking(&unpack);
    let _ = std::fs::remove_file(archive);
    match done {
        Some(status) if status.success() => Ok(()),
        other => Err(format!("`{unpack}` failed ({other:?})")),
    }
}

/// Removes a pod from its cluster, and stops what reaches it from here.
struct ClusterCleanup {
    kubectl: Kubectl,
    name: String,
    /// `kubectl port-forward`, once started.
    forward: Mutex<Option<Running>>,
    /// The archives staged for the pod.
    staged: Vec<PathBuf>,
}

impl Cleanup for ClusterCleanup {
    fn stop(&self, grace: Duration) -> Option<Cmd> {
        Some(self.kubectl.cmd().args([
            "delete",
            "pod",
            &self.name,
            "--ignore-not-found",
            "--grace-period",
            &grace.as_secs().max(1).to_string(),
            "--wait=true",
        ]))
    }

    fn needed(&self, _status: Option<std::process::ExitStatus>, _forced: bool) -> bool {
        true
    }

    fn exit_detail(&self) -> Option<String> {
        super::server_exit(&self.kubectl.cmd().args([
            "get",
            "pod",
            &self.name,
            "--output",
            &format!(
                "jsonpath={{.status.containerStatuses[?(@.name==\"{CONTAINER}\")].state.terminated.exitCode}}"
            ),
        ]))
    }

    fn remove(&self) {
        drop(self.forward.lock().map(|mut f| f.take()));
        cleanup_blocking(&self.kubectl.cmd().args([
            "delete",
            "pod",
            &self.name,
            "--ignore-not-found",
            "--grace-period",
            "0",
            "--force",
            "--wait=false",
        ]));
        for file in &self.staged {
            let _ = std::fs::remove_file(file);
        }
    }
}

impl Runtime for ClusterRuntime {
    fn name(&self) -> &'static str {
        "pod"
    }

    fn describe(&self, config: &RuntimeConfig, facts: &Facts) -> Execution {
        let cluster = &self.kubectl.cluster;
        let by = format!(
            "{}, context {}{}, {} (pull {}){}",
            facts.cluster(cluster).unwrap_or("kubectl"),
            cluster.context,
            cluster
                .namespace
                .as_ref()
                .map(|n| format!(", namespace {n}"))
                .unwrap_or_default(),
            self.pod.image,
            cluster.pull.policy(),
            super::settings(&self.pod),
        );
        // The cluster pulls the image by its name: what ran cannot be pinned from here.
        Execution {
            unpinned: true,
            ..super::super::execution(ExecutionKind::Pod, by, config)
        }
    }

    fn log_latency(&self) -> Duration {
        // The lines go through the node's log file, the API server and `kubectl logs`.
        Duration::from_millis(250)
    }

    fn data_dir_spelling(&self, _host: &Path) -> String {
        "/data".to_owned()
    }

    fn start<'a>(
        &'a self,
        launch: &'a Launch<'a>,
        _: &'a Reservation,
    ) -> BoxFuture<'a, Result<Server>> {
        Box::pin(async move {
            let (dir, exe) = launch.artifact_parts()?;
            let file = manifest_path(launch);
            let text = manifest(
                launch,
                &self.pod,
                &self.pod.image,
                &exe,
                &Placement::Cluster {
                    pull: self.kubectl.cluster.pull,
                    host: self.host.clone(),
                },
            );
            std::fs::write(&file, text).map_err(|e| Error::io(&file, e))?;
            // The job's scratch folder holds the data dir; the archives go beside it.
            let scratch = launch.data_dir.parent().unwrap_or(launch.data_dir);
            let server_tar = scratch.join("pod-server.tar");
            let data_tar = scratch.join("pod-data.tar");
            let armed = Armed(Some(ClusterCleanup {
                kubectl: self.kubectl.clone(),
                name: launch.name.clone(),
                forward: Mutex::new(None),
                staged: vec![server_tar.clone(), data_tar.clone()],
            }));
            checked(&self.kubectl.cmd().args(["apply", "--filename"]).arg(&file)).await?;
            pack(&dir, std::slice::from_ref(&exe), &server_tar).await?;
            let seed = names_in(launch.data_dir)?;
            if !seed.is_empty() {
                pack(launch.data_dir, &seed, &data_tar).await?;
            }
            self.started(&launch.name, STAGE).await?;
            self.unpack(&launch.name, &server_tar, "/opt/server")
                .await?;
            if !seed.is_empty() {
                self.unpack(&launch.name, &data_tar, "/data").await?;
            }
            checked(&self.kubectl.cmd().args([
                "exec",
                &launch.name,
                "--container",
                STAGE,
                "--",
                "touch",
                STAGED,
            ]))
            .await?;
            self.started(&launch.name, CONTAINER).await?;
            let forward_log = beside_log(launch, "port-forward.log");
            let forward = Running::spawn(
                &self.kubectl.cmd().args([
                    "port-forward",
                    "--address",
                    "127.0.0.1",
                    &format!("pod/{}", launch.name),
                    &format!("{0}:{0}", launch.port),
                ]),
                &forward_log,
            )?;
            let cleanup = armed.disarm();
            *cleanup.forward.lock().expect("not poisoned") = Some(forward);
            let follow = self.kubectl.cmd().args([
                "logs",
                "--follow",
                &format!("pod/{}", launch.name),
                "--container",
                CONTAINER,
            ]);
            let process =
                match Running::spawn_split(&follow, &launch.logs.stdout, &launch.logs.stderr) {
                    Ok(process) => process,
                    Err(e) => {
                        cleanup.remove();
                        return Err(e);
                    }
                };
            let (kubectl, name, data_dir) = (
                self.kubectl.clone(),
                launch.name.clone(),
                launch.data_dir.to_owned(),
            );
            let archive = scratch.join("pod-data-back.tar");
            Ok(
                Server::new(process, Some(Box::new(cleanup)), launch, StopSignal::Engine)
                    // kubectl port-forward accepts before the server listens, and closes a
                    // connection it cannot pass on once the API server says so.
                    .forwarded(Duration::from_millis(500))
                    .with_data_dir_sync(DataDirSync::new(move || {
                        pull_data_dir(&kubectl, &name, &data_dir, &archive)
                    })),
            )
        })
    }
}

#[cfg(test)]
mod tests;
