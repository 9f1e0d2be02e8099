//! The pod runtime: the Linux build as a Kubernetes pod. For every launch the harness writes
//! the Pod manifest (the server's container with its image, command, arguments and
//! environment, the build and the data dir as `hostPath` volumes, the port on 127.0.0.1,
//! resource limits, and the production settings the matrix names: a read-only root
//! filesystem, a user that is not root), keeps it beside the job's server log
//! (`<suite>.pod.yaml`), and runs it with `podman kube play`. The server's output is followed
//! with `podman logs --follow`, which ends when the server does; stopping stops the pod and
//! removes it. Where podman's containers need ulimits or another OCI runtime on this host
//! (what the engine probe found for `podman run`), they reach `kube play` through a
//! containers.conf the harness writes.

mod cluster;
mod manifest;
mod settings;

use std::path::{Path, PathBuf};
use std::time::Duration;

use futures_util::future::BoxFuture;

use super::{
    Armed, Cleanup, FORWARDER_HOLD, Launch, Reservation, Runtime, Server, StopSignal,
    cleanup_blocking,
};
use crate::errors::{Error, Result};
use crate::matrix::Runtime as RuntimeConfig;
use crate::process::{Cmd, Running};
use crate::provision::Engine;
use crate::provision::provenance::{Execution, ExecutionKind, Facts};
pub use cluster::ClusterRuntime;
use manifest::{CONTAINER, NON_ROOT_USER, Placement, manifest, manifest_path};
pub use settings::{Pod, PodKind};

/// Pods run by podman.
pub struct PodRuntime {
    engine: Engine,
    pod: Pod,
    /// The containers.conf its podman commands read, removed with the runtime.
    conf: tempfile::TempPath,
}

impl PodRuntime {
    /// Pods of `pod`'s settings on `engine` (podman), with its containers.conf written into
    /// `scratch` (a file of its own: two pod targets each have theirs).
    pub fn new(engine: Engine, pod: Pod, scratch: &Path) -> Result<PodRuntime> {
        std::fs::create_dir_all(scratch).map_err(|e| Error::io(scratch, e))?;
        let scratch = std::path::absolute(scratch).map_err(|e| Error::io(scratch, e))?;
        let conf = tempfile::Builder::new()
            .prefix("pod-containers-")
            .suffix(".conf")
            .tempfile_in(&scratch)
            .map_err(|e| Error::io(&scratch, e))?
            .into_temp_path();
        std::fs::write(&conf, containers_conf(&engine.run_flags))
            .map_err(|e| Error::io(&conf, e))?;
        Ok(PodRuntime { engine, pod, conf })
    }
}

/// A podman command that reads `conf`.
fn podman(engine: &Engine, conf: &Path) -> Cmd {
    engine.cmd().env("CONTAINERS_CONF", conf)
}

/// How a pod's server exited, as `query` (which prints its exit code, or nothing while it
/// runs) tells: `exit code 3 of the pod's server`.
fn server_exit(query: &Cmd) -> Option<String> {
    let out = crate::process::output_blocking(query)?;
    let code = out.trim();
    (!code.is_empty()).then(|| format!("exit code {code} of the pod's server"))
}

/// The containers.conf that gives `kube play`'s containers what `run_flags` gives `podman
/// run`'s: `--ulimit` as default ulimits, `--runtime` as the engine's OCI runtime.
fn containers_conf(run_flags: &[String]) -> String {
    let mut ulimits = Vec::new();
    let mut runtime = None;
    let mut flags = run_flags.iter();
    while let Some(flag) = flags.next() {
        match flag.as_str() {
            "--ulimit" => ulimits.extend(flags.next().cloned()),
            "--runtime" => runtime = flags.next().cloned(),
            _ => {}
        }
    }
    let quoted: Vec<String> = ulimits.iter().map(|u| format!("{u:?}")).collect();
    let mut text = format!("[containers]\ndefault_ulimits = [{}]\n", quoted.join(", "));
    if let Some(runtime) = runtime {
        text.push_str(&format!("\n[engine]\nruntime = {runtime:?}\n"));
    }
    text
}

/// A pod's production settings, as its description ends: `, read-only root filesystem, not
/// root`.
fn settings(pod: &Pod) -> String {
    let mut text = String::new();
    if pod.read_only_root_filesystem {
        text.push_str(", read-only root filesystem");
    }
    if pod.run_as_non_root {
        text.push_str(", not root");
    }
    text
}

/// Makes `user` the owner of `path` and everything under it (symlinks themselves, not
/// what they point to).
#[cfg(unix)]
fn give_to(path: &Path, user: u32) -> std::io::Result<()> {
    std::os::unix::fs::lchown(path, Some(user), Some(user))?;
    if std::fs::symlink_metadata(path)?.is_dir() {
        for entry in std::fs::read_dir(path)? {
            give_to(&entry?.path(), user)?;
        }
    }
    Ok(())
}

#[cfg(not(unix))]
fn give_to(_path: &Path, _user: u32) -> std::io::Result<()> {
    Ok(())
}

/// Removes a pod: on stop, on drop, and when its start is cut short.
struct PodCleanup {
    engine: Engine,
    conf: PathBuf,
    name: String,
}

impl Cleanup for PodCleanup {
    fn stop(&self, grace: Duration) -> Option<Cmd> {
        Some(podman(&self.engine, &self.conf).args([
            "pod",
            "stop",
            "--time",
            &grace.as_secs().max(1).to_string(),
            &self.name,
        ]))
    }

    fn needed(&self, _status: Option<std::process::ExitStatus>, _forced: bool) -> bool {
        // `kube play` pods are not removed when their server exits.
        true
    }

    fn exit_detail(&self) -> Option<String> {
        // The log follower ends when the server does, with a status of its own: the
        // server's is the container's.
        server_exit(
            &podman(&self.engine, &self.conf)
                .args(["inspect", "--format", "{{.State.ExitCode}}"])
                .arg(format!("{}-{CONTAINER}", self.name)),
        )
    }

    fn remove(&self) {
        cleanup_blocking(
            &podman(&self.engine, &self.conf)
                .args(["pod", "rm", "--force", "--time", "0", &self.name]),
        );
    }
}

impl Runtime for PodRuntime {
    fn name(&self) -> &'static str {
        "pod"
    }

    fn describe(&self, config: &RuntimeConfig, facts: &Facts) -> Execution {
        let by = facts.engine(&self.engine).unwrap_or(&self.engine.image);
        let by = format!("{by} (kube play){}", settings(&self.pod));
        super::execution(ExecutionKind::Pod, by, config)
    }

    fn log_latency(&self) -> Duration {
        // The lines go through conmon's log file and `podman logs --follow`.
        Duration::from_millis(100)
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
            // A pod that must not run as root gets its data dir as a volume it owns, as a
            // production pod's volume is its user's (`fsGroup`).
            if self.pod.run_as_non_root {
                give_to(launch.data_dir, NON_ROOT_USER)
                    .map_err(|e| Error::io(launch.data_dir, e))?;
            }
            let file = manifest_path(launch);
            std::fs::write(
                &file,
                manifest(
                    launch,
                    &self.pod,
                    &self.engine.image,
                    &exe,
                    &Placement::Local { server_dir: &dir },
                ),
            )
            .map_err(|e| Error::io(&file, e))?;
            let armed = Armed(Some(PodCleanup {
                engine: self.engine.clone(),
                conf: self.conf.to_path_buf(),
                name: launch.name.clone(),
            }));
            let play = podman(&self.engine, &self.conf)
                .args(["kube", "play", "--quiet"])
                .arg(&file);
            let out = crate::process::output(&play).await?;
            if !out.status.success() {
                return Err(Error::Command {
                    command: play.to_string(),
                    problem: format!("failed ({})", out.status),
                    stderr: format!("{}{}", out.stdout, out.stderr),
                });
            }
            let follow = podman(&self.engine, &self.conf)
                .args(["logs", "--follow"])
                .arg(format!("{}-{CONTAINER}", launch.name));
            let process = Running::spawn_split(&follow, &launch.logs.stdout, &launch.logs.stderr)?;
            let cleanup = armed.disarm();
            // The published port may be a forwarder's (docker's userland proxy, rootless
            // podman's rootlessport), which accepts before the server listens.
            Ok(
                Server::new(process, Some(Box::new(cleanup)), launch, StopSignal::Engine)
                    .forwarded(FORWARDER_HOLD),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_manifest_has_the_server_its_volumes_its_port_on_loopback_and_the_pod_settings() {
        let cell = crate::matrix::Cell {
            name: "debian-pod".into(),
            target: "debian-pod".into(),
            values: Vec::new(),
        };
        let logs = super::super::ServerLogs::of(Path::new("/out/logs/debian-pod"), "files");
        let args = vec![
            "--listen".to_owned(),
            "{addr}".to_owned(),
            "--data-dir".to_owned(),
            "{data_dir}".to_owned(),
        ];
        let launch = Launch {
            cell: &cell,
            artifact: Path::new("/t/debug/deploy-server"),
            port: 41234,
            data_dir: Path::new("/out/tmp/data-1"),
            logs: &logs,
            args: &args,
            env: [("RUST_LOG".to_owned(), "info".to_owned())].into(),
            name: "port-harness-7-debian-pod-files".into(),
        };
        let pod = Pod {
            image: "debian:bookworm-slim".into(),
            read_only_root_filesystem: true,
            run_as_non_root: true,
            cluster: None,
        };
        let text = manifest(
            &launch,
            &pod,
            &pod.image,
            "deploy-server",
            &Placement::Local {
                server_dir: Path::new("/t/debug"),
            },
        );
        let m: serde_json::Value = serde_yaml_ng::from_str(&text).unwrap();
        assert_eq!(m["kind"], "Pod");
        assert_eq!(m["metadata"]["name"], "port-harness-7-debian-pod-files");
        assert_eq!(m["metadata"]["labels"]["io.port-harness"], "1");
        assert_eq!(
            m["metadata"]["labels"]["io.port-harness.cell"],
            "debian-pod"
        );
        let c = &m["spec"]["containers"][0];
        assert_eq!(c["image"], "debian:bookworm-slim");
        assert_eq!(c["command"][0], "/opt/server/deploy-server");
        assert_eq!(
            c["args"],
            json!(["--listen", "0.0.0.0:41234", "--data-dir", "/data"])
        );
        assert_eq!(
            c["ports"][0],
            json!({"containerPort": 41234, "hostPort": 41234, "hostIP": "127.0.0.1"})
        );
        assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true);
        assert_eq!(c["securityContext"]["runAsNonRoot"], true);
        assert_eq!(c["securityContext"]["runAsUser"], NON_ROOT_USER);
        assert!(
            c["env"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["name"] == "RUST_LOG")
        );
        assert!(
            c["env"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["name"] == crate::process::MARK)
        );
        assert_eq!(m["spec"]["volumes"][0]["hostPath"]["path"], "/t/debug");
        assert_eq!(
            m["spec"]["volumes"][1]["hostPath"]["path"],
            "/out/tmp/data-1"
        );
        assert_eq!(
            manifest_path(&launch),
            Path::new("/out/logs/debian-pod/files.pod.yaml")
        );
        let plain = Pod {
            read_only_root_filesystem: false,
            run_as_non_root: false,
            ..pod
        };
        let m: serde_json::Value = serde_yaml_ng::from_str(&manifest(
            &launch,
            &plain,
            "localhost/port-harness/debian:bookworm-slim",
            "deploy-server",
            &Placement::Local {
                server_dir: Path::new("/t/debug"),
            },
        ))
        .unwrap();
        assert_eq!(m["spec"]["containers"][0]["securityContext"], json!({}));
    }

    #[test]
    fn the_engine_s_run_flags_become_a_containers_conf() {
        let flags: Vec<String> = [
            "--runtime",
            "runc",
            "--ulimit",
            "nofile=1024:1024",
            "--ulimit",
            "nproc=4096:4096",
        ]
        .map(str::to_owned)
        .to_vec();
        let text = containers_conf(&flags);
        let parsed: toml::Value = toml::from_str(&text).unwrap();
        assert_eq!(
            parsed["containers"]["default_ulimits"],
            toml::Value::Array(vec!["nofile=1024:1024".into(), "nproc=4096:4096".into()])
        );
        assert_eq!(parsed["engine"]["runtime"].as_str(), Some("runc"));
        let plain: toml::Value = toml::from_str(&containers_conf(&[])).unwrap();
        assert!(plain.get("engine").is_none());
    }
}
