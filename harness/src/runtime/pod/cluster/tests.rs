//! The cluster runtime's kubectl commands, against a stand-in `kubectl` (no cluster runs on
//! the machines these tests run on): a pod's folders stand for its volumes, and its
//! port-forward serves its data dir over HTTP in place of the server.

use super::*;
use crate::matrix::{Cell, Cluster, Probe, Pull, Ready};
use crate::runtime::ServerLogs;
use serde_json::Value;

/// A stand-in kubectl in a folder of its own, its state beside it.
struct Fake {
    dir: tempfile::TempDir,
}

impl Fake {
    fn new() -> Fake {
        let dir = tempfile::tempdir().unwrap();
        let program = dir.path().join("kubectl");
        std::fs::write(&program, include_str!("fake-kubectl.py")).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        Fake { dir }
    }

    fn kubectl(&self) -> Kubectl {
        Kubectl {
            program: self.dir.path().join("kubectl"),
            cluster: Cluster {
                context: "kind-ci".into(),
                namespace: Some("ports".into()),
                pull: Pull::Never,
            },
            version: None,
        }
    }

    /// Every call, as argv.
    fn calls(&self) -> Vec<Vec<String>> {
        std::fs::read_to_string(self.dir.path().join("state/calls.log"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// A folder of pod `name`: one of its volumes.
    fn pod(&self, name: &str, path: &str) -> std::path::PathBuf {
        self.dir.path().join("state/pods").join(name).join(path)
    }
}

/// A job's folders: the build, the data dir with a seed, the logs.
struct Job {
    dir: tempfile::TempDir,
    cell: Cell,
    logs: ServerLogs,
    args: Vec<String>,
}

impl Job {
    fn new() -> Job {
        let dir = tempfile::tempdir().unwrap();
        let build = dir.path().join("build");
        std::fs::create_dir_all(&build).unwrap();
        std::fs::write(build.join("deploy-server"), b"\x7fELF the server").unwrap();
        let data = dir.path().join("job/data");
        std::fs::create_dir_all(data.join("projects")).unwrap();
        std::fs::write(data.join("projects/seed.txt"), "seeded\n").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink("projects/seed.txt", data.join("link")).unwrap();
        let logs = ServerLogs::of(&dir.path().join("logs"), "files");
        std::fs::create_dir_all(dir.path().join("logs")).unwrap();
        Job {
            dir,
            cell: Cell {
                name: "debian-k8s".into(),
                target: "debian-k8s".into(),
                values: Vec::new(),
            },
            logs,
            args: vec!["--listen".into(), "{addr}".into()],
        }
    }

    fn launch(&self, port: u16, name: &str) -> Launch<'_> {
        Launch {
            cell: &self.cell,
            artifact: Box::leak(
                self.dir
                    .path()
                    .join("build/deploy-server")
                    .into_boxed_path(),
            ),
            port,
            data_dir: Box::leak(self.dir.path().join("job/data").into_boxed_path()),
            logs: &self.logs,
            args: &self.args,
            env: Default::default(),
            name: name.into(),
        }
    }
}

fn pod(image: &str) -> Pod {
    Pod {
        image: image.into(),
        read_only_root_filesystem: true,
        run_as_non_root: true,
        cluster: None,
    }
}

/// The calls of one subcommand, without the context and namespace (which every call must
/// carry).
fn subcommands(calls: &[Vec<String>]) -> Vec<String> {
    calls
        .iter()
        .map(|c| {
            assert_eq!(
                &c[..4],
                ["--context", "kind-ci", "--namespace", "ports"],
                "every call names the context and namespace: {c:?}"
            );
            c[4..].join(" ")
        })
        .collect()
}

/// A server of `job` as pod `name` in `fake`'s cluster, ready by `probe`, and its port.
async fn ready(fake: &Fake, job: &Job, name: &str, probe: Probe) -> (Server, u16) {
    let port = crate::process::free_port().unwrap();
    let launch = job.launch(port, name);
    let runtime = ClusterRuntime::new(fake.kubectl(), pod("debian:bookworm-slim"));
    let mut server = runtime
        .start(&launch, &Reservation::default())
        .await
        .unwrap();
    server
        .wait_ready(&Ready {
            probe,
            timeout: Duration::from_secs(20),
        })
        .await
        .unwrap();
    (server, port)
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pod_is_applied_filled_forwarded_followed_read_back_and_deleted() {
    let (fake, job) = (Fake::new(), Job::new());
    let name = "port-harness-1-debian-k8s-files";
    let (server, port) = ready(&fake, &job, name, Probe::Http("/projects/seed.txt".into())).await;

    // The manifest kept in the log folder: the build and the data dir as volumes the init
    // container holds until they are filled, the pull policy, no port on the node.
    assert!(
        job.dir.path().join("logs/files.port-forward.log").is_file(),
        "the port-forward's output beside the server's log"
    );
    let text = std::fs::read_to_string(job.dir.path().join("logs/files.pod.yaml")).unwrap();
    let m: Value = serde_yaml_ng::from_str(&text).unwrap();
    assert_eq!(m["metadata"]["name"], name);
    assert_eq!(
        m["metadata"]["labels"][crate::provision::kube::HOST_LABEL],
        crate::provision::kube::host_label()
    );
    let init = &m["spec"]["initContainers"][0];
    assert_eq!(init["name"], "stage");
    assert!(init["command"][2].as_str().unwrap().contains(STAGED));
    let server_spec = &m["spec"]["containers"][0];
    assert_eq!(server_spec["imagePullPolicy"], "Never");
    assert_eq!(
        server_spec["ports"][0],
        serde_json::json!({"containerPort": port})
    );
    assert_eq!(
        server_spec["securityContext"]["readOnlyRootFilesystem"],
        true
    );
    assert_eq!(m["spec"]["securityContext"]["fsGroup"], 65534);
    for volume in m["spec"]["volumes"].as_array().unwrap() {
        assert!(
            volume.get("hostPath").is_none(),
            "a node does not see this machine's folders"
        );
        assert!(volume["emptyDir"].is_object());
    }

    // The build and the seed were unpacked into the pod: bytes, modes and links kept.
    assert_eq!(
        std::fs::read(fake.pod(name, "opt/server/deploy-server")).unwrap(),
        b"\x7fELF the server"
    );
    assert_eq!(
        std::fs::read_to_string(fake.pod(name, "data/projects/seed.txt")).unwrap(),
        "seeded\n"
    );
    assert_eq!(
        std::fs::read_link(fake.pod(name, "data/link")).unwrap(),
        Path::new("projects/seed.txt")
    );
    // Reached through the port-forward on 127.0.0.1.
    let body = ureq::get(&format!("http://127.0.0.1:{port}/projects/seed.txt"))
        .call()
        .unwrap()
        .into_body()
        .read_to_string()
        .unwrap();
    assert_eq!(body, "seeded\n");

    // What the server wrote in the pod comes back into the host's data dir, in place of
    // what was there.
    std::fs::write(
        fake.pod(name, "data/projects/new.txt"),
        "written in the pod",
    )
    .unwrap();
    std::fs::remove_file(fake.pod(name, "data/projects/seed.txt")).unwrap();
    let sync = server
        .data_dir_sync()
        .expect("a cluster's data dir is read back");
    tokio::task::spawn_blocking(move || sync.pull())
        .await
        .unwrap()
        .unwrap();
    let data = job.dir.path().join("job/data");
    assert_eq!(
        std::fs::read_to_string(data.join("projects/new.txt")).unwrap(),
        "written in the pod"
    );
    assert!(!data.join("projects/seed.txt").exists());
    assert!(data.join("link").is_symlink());

    let stopped = server.stop(Duration::from_secs(2)).await;
    assert!(stopped.leaked.is_empty(), "{:?}", stopped.leaked);
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "the port-forward stops with the server"
    );
    assert!(
        std::fs::read_to_string(&job.logs.stdout)
            .unwrap()
            .contains(&format!("serving pod/{name}")),
        "the server's output is followed into its log"
    );
    let calls = subcommands(&fake.calls());
    let first = |prefix: &str| {
        calls
            .iter()
            .position(|c| c.starts_with(prefix))
            .unwrap_or_else(|| panic!("no `{prefix}` in {calls:#?}"))
    };
    let order = [
        "apply --filename",
        "exec --stdin port-harness-1-debian-k8s-files --container stage -- tar -x -f - -C /opt/server",
        "exec --stdin port-harness-1-debian-k8s-files --container stage -- tar -x -f - -C /data",
        "exec port-harness-1-debian-k8s-files --container stage -- touch /staging/done",
        "exec port-harness-1-debian-k8s-files --container server -- tar -c -f - -C /data .",
        "delete pod port-harness-1-debian-k8s-files --ignore-not-found --grace-period 2 --wait=true",
    ];
    let at: Vec<usize> = order.iter().map(|p| first(p)).collect();
    assert!(at.is_sorted(), "{order:#?} in this order: {calls:#?}");
    // The forward and the follower start together, once the pod is filled.
    for started in [
        format!("port-forward --address 127.0.0.1 pod/{name} {port}:{port}"),
        format!("logs --follow pod/{name} --container server"),
    ] {
        let i = first(&started);
        assert!(
            at[3] < i && i < at[4],
            "{started} after the filling: {calls:#?}"
        );
    }
    assert!(
        !job.dir.path().join("job/pod-server.tar").exists(),
        "the staged archives go with the pod"
    );
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_dropped_unstopped_takes_its_pod_and_its_forward_with_it() {
    // What an interrupt or a job's timeout does: the server is dropped, never stopped.
    let (fake, job) = (Fake::new(), Job::new());
    let name = "port-harness-1-debian-k8s-drop";
    let (server, port) = ready(&fake, &job, name, Probe::Tcp).await;
    drop(server);
    assert!(fake.pod(name, "deleted").exists(), "the pod was deleted");
    let calls = subcommands(&fake.calls());
    assert!(
        calls.iter().any(|c| c
            == &format!(
                "delete pod {name} --ignore-not-found --grace-period 0 --force --wait=false"
            )),
        "{calls:#?}"
    );
    let closed = (0..50).any(|_| {
        std::thread::sleep(Duration::from_millis(20));
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err()
    });
    assert!(closed, "the port-forward is stopped with its server");
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_image_the_cluster_cannot_pull_fails_the_start_and_the_pod_goes() {
    let fake = Fake::new();
    let job = Job::new();
    let name = "port-harness-1-debian-k8s-pull";
    let launch = job.launch(crate::process::free_port().unwrap(), name);
    let runtime = ClusterRuntime::new(fake.kubectl(), pod("missing:image"));
    let error = match runtime.start(&launch, &Reservation::default()).await {
        Ok(_) => panic!("a pod whose image cannot be pulled started"),
        Err(e) => e.to_string(),
    };
    assert!(error.contains("ErrImagePull"), "{error}");
    assert!(error.contains("pull access denied"), "{error}");
    assert!(fake.pod(name, "deleted").exists(), "the pod was deleted");
    let calls = subcommands(&fake.calls());
    assert!(
        !calls.iter().any(|c| c.starts_with("port-forward")),
        "{calls:#?}"
    );
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pods_of_killed_runs_on_this_machine_are_removed_and_live_ones_kept() {
    let fake = Fake::new();
    let kubectl = fake.kubectl();
    let job = Job::new();
    // A run that is still alive (this one), and one whose pid is dead.
    let dead = (3_000_000..)
        .find(|pid| !crate::process::alive(*pid))
        .unwrap();
    for (name, pid) in [("alive-pod", std::process::id()), ("dead-pod", dead)] {
        let launch = job.launch(1, name);
        let text = manifest(
            &launch,
            &pod("debian:bookworm-slim"),
            "debian:bookworm-slim",
            "deploy-server",
            &Placement::Cluster {
                pull: Pull::IfNotPresent,
                host: crate::provision::kube::host_label(),
            },
        )
        .replace(
            &format!("io.port-harness.pid: '{}'", std::process::id()),
            &format!("io.port-harness.pid: '{pid}'"),
        );
        let file = job.dir.path().join(format!("{name}.yaml"));
        std::fs::write(&file, text).unwrap();
        checked(&kubectl.cmd().args(["apply", "--filename"]).arg(&file))
            .await
            .unwrap();
    }
    let removed = crate::provision::kube::remove_leftovers(&kubectl)
        .await
        .unwrap();
    assert_eq!(removed, ["pod dead-pod in context kind-ci"]);
    assert!(fake.pod("dead-pod", "deleted").exists());
    assert!(!fake.pod("alive-pod", "deleted").exists());
    let calls = subcommands(&fake.calls());
    let listing = calls.iter().find(|c| c.starts_with("get pods")).unwrap();
    assert!(
        listing.contains(&format!(
            "io.port-harness,{}={}",
            crate::provision::kube::HOST_LABEL,
            crate::provision::kube::host_label()
        )),
        "only this machine's pods: a pid means nothing elsewhere: {listing}"
    );
}

#[test]
fn a_container_s_progress_is_read_from_the_pod_s_status() {
    let status = |init: Value, containers: Value| {
        serde_json::json!({"status": {"phase": "Pending",
            "initContainerStatuses": init, "containerStatuses": containers}})
        .to_string()
    };
    let waiting =
        serde_json::json!([{"name": "stage", "state": {"waiting": {"reason": "PodInitializing"}}}]);
    let running = serde_json::json!([{"name": "stage", "state": {"running": {"startedAt": "x"}}}]);
    let exited = serde_json::json!([{"name": "server", "state": {"terminated": {"exitCode": 3}}}]);
    assert_eq!(
        progress(&status(waiting, Value::Null), STAGE),
        Ok(Progress::Waiting)
    );
    assert_eq!(
        progress(&status(running, Value::Null), STAGE),
        Ok(Progress::Running)
    );
    assert_eq!(
        progress(&status(Value::Null, exited), CONTAINER),
        Ok(Progress::Exited(3))
    );
    assert_eq!(
        progress("{}", STAGE),
        Ok(Progress::Waiting),
        "not scheduled yet"
    );
    let stuck = serde_json::json!([{"name": "stage", "state": {"waiting": {"reason": "ImagePullBackOff", "message": "back-off"}}}]);
    assert!(
        progress(&status(stuck, Value::Null), STAGE)
            .unwrap_err()
            .contains("ImagePullBackOff: back-off")
    );
    assert!(progress("not json", STAGE).is_err());
}
