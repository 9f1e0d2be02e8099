//! The Pod manifest of one launch, as the Kubernetes API spells it: typed structs serialized
//! as YAML. On this machine (`podman kube play`) the build and the data dir are `hostPath`
//! volumes and the port is published on 127.0.0.1; in a cluster they are `emptyDir`
//! volumes an init container holds open until the harness has copied the build and the
//! seed in, and the port is reached through `kubectl port-forward`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::super::Launch;
use super::Pod;
use crate::matrix::Pull;
use crate::provision::container::LABEL;

/// The server container's name in its pod; podman names it `<pod>-server`.
pub(super) const CONTAINER: &str = "server";

/// The init container that waits, in a cluster, for the build and the seed.
pub(super) const STAGE: &str = "stage";

/// The file whose presence ends the init container's wait.
pub(super) const STAGED: &str = "/staging/done";

/// The user a pod that must not run as root runs as (`nobody`).
pub(super) const NON_ROOT_USER: u32 = 65534;

/// Where a pod runs, and so how its build and data dir reach it.
pub(super) enum Placement<'a> {
    /// On this machine: the build's folder and the data dir as `hostPath` volumes, the port
    /// published on 127.0.0.1.
    Local {
        /// The build's folder.
        server_dir: &'a Path,
    },
    /// In a cluster: `emptyDir` volumes filled through the init container, the image
    /// pulled as the matrix says, the pod labelled with this machine's name.
    Cluster {
        /// When the image is pulled.
        pull: Pull,
        /// This machine, as a label value.
        host: String,
    },
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Manifest {
    api_version: &'static str,
    kind: &'static str,
    metadata: Metadata,
    spec: PodSpec,
}

#[derive(Serialize)]
struct Metadata {
    name: String,
    labels: BTreeMap<String, String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PodSpec {
    restart_policy: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    security_context: Option<PodSecurityContext>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    init_containers: Vec<Container>,
    containers: Vec<Container>,
    volumes: Vec<Volume>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PodSecurityContext {
    fs_group: u32,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Container {
    name: &'static str,
    image: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    image_pull_policy: Option<&'static str>,
    command: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    args: Vec<String>,
    working_dir: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    env: Vec<EnvVar>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    ports: Vec<Port>,
    resources: Resources,
    security_context: SecurityContext,
    volume_mounts: Vec<VolumeMount>,
}

#[derive(Serialize)]
struct EnvVar {
    name: String,
    value: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Port {
    container_port: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    host_port: Option<u16>,
    #[serde(rename = "hostIP", skip_serializing_if = "Option::is_none")]
    host_ip: Option<&'static str>,
}

#[derive(Serialize)]
struct Resources {
    limits: BTreeMap<&'static str, &'static str>,
}

#[derive(Serialize, Default, Clone)]
#[serde(rename_all = "camelCase")]
struct SecurityContext {
    #[serde(skip_serializing_if = "Option::is_none")]
    read_only_root_filesystem: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    run_as_non_root: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    run_as_user: Option<u32>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct VolumeMount {
    name: &'static str,
    mount_path: &'static str,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    read_only: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Volume {
    name: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    host_path: Option<HostPath>,
    #[serde(skip_serializing_if = "Option::is_none")]
    empty_dir: Option<BTreeMap<String, String>>,
}

impl Volume {
    fn host(name: &'static str, path: &Path) -> Volume {
        Volume {
            name,
            host_path: Some(HostPath {
                path: path.to_string_lossy().into_owned(),
                kind: "Directory",
            }),
            empty_dir: None,
        }
    }

    fn empty(name: &'static str) -> Volume {
        Volume {
            name,
            host_path: None,
            empty_dir: Some(BTreeMap::new()),
        }
    }
}

#[derive(Serialize)]
struct HostPath {
    path: String,
    #[serde(rename = "type")]
    kind: &'static str,
}

/// What `podman run` gives a container whose image sets no `PATH`; `kube play` gives none.
const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The Pod manifest of `launch`: its server `exe`, in `image` (the provisioned one: the
/// configured image or its local stand-in), with `pod`'s settings, placed as `placement`
/// says.
pub(super) fn manifest(
    launch: &Launch,
    pod: &Pod,
    image: &str,
    exe: &str,
    placement: &Placement,
) -> String {
    let mut env: Vec<EnvVar> = launch
        .env
        .iter()
        .map(|(k, v)| EnvVar {
            name: k.clone(),
            value: v.clone(),
        })
        .collect();
    if !launch.env.contains_key("PATH") {
        env.push(EnvVar {
            name: "PATH".into(),
            value: DEFAULT_PATH.into(),
        });
    }
    // A mark of the harness: the pod's processes carry it, so that what a killed run left
    // is found by the next one.
    env.push(EnvVar {
        name: crate::process::MARK.into(),
        value: crate::process::new_mark(),
    });
    let mut labels = BTreeMap::from([
        (LABEL.to_owned(), "1".to_owned()),
        (format!("{LABEL}.pid"), std::process::id().to_string()),
        (format!("{LABEL}.cell"), launch.cell.name.clone()),
    ]);
    let security = SecurityContext {
        read_only_root_filesystem: pod.read_only_root_filesystem.then_some(true),
        run_as_non_root: pod.run_as_non_root.then_some(true),
        run_as_user: pod.run_as_non_root.then_some(NON_ROOT_USER),
    };
    let mount = |name, mount_path, read_only| VolumeMount {
        name,
        mount_path,
        read_only,
    };
    let limits = || Resources {
        limits: BTreeMap::from([("memory", "512Mi")]),
    };
    let (volumes, port, pull, init, pod_security) = match placement {
        Placement::Local { server_dir } => (
            vec![
                Volume::host("server", server_dir),
                Volume::host("data", launch.data_dir),
            ],
            Port {
                container_port: launch.port,
                host_port: Some(launch.port),
                host_ip: Some("127.0.0.1"),
            },
            None,
            Vec::new(),
            None,
        ),
        Placement::Cluster { pull, host } => {
            labels.insert(crate::provision::kube::HOST_LABEL.to_owned(), host.clone());
            let stage = Container {
                name: STAGE,
                image: image.to_owned(),
                image_pull_policy: Some(pull.policy()),
                command: vec![
                    "sh".into(),
                    "-c".into(),
                    format!("until [ -e {STAGED} ]; do sleep 0.1; done"),
                ],
                args: Vec::new(),
                working_dir: "/",
                env: Vec::new(),
                ports: Vec::new(),
                resources: limits(),
                security_context: SecurityContext {
                    read_only_root_filesystem: None,
                    ..security.clone()
                },
                volume_mounts: vec![
                    mount("server", "/opt/server", false),
                    mount("data", "/data", false),
                    mount("staging", "/staging", false),
                ],
            };
            (
                vec![
                    Volume::empty("server"),
                    Volume::empty("data"),
                    Volume::empty("staging"),
                ],
                Port {
                    container_port: launch.port,
                    host_port: None,
                    host_ip: None,
                },
                Some(pull.policy()),
                vec![stage],
                // A production pod's volumes are its user's.
                pod.run_as_non_root.then_some(PodSecurityContext {
                    fs_group: NON_ROOT_USER,
                }),
            )
        }
    };
    let manifest = Manifest {
        api_version: "v1",
        kind: "Pod",
        metadata: Metadata {
            name: launch.name.clone(),
            labels,
        },
        spec: PodSpec {
            restart_policy: "Never",
            security_context: pod_security,
            init_containers: init,
            containers: vec![Container {
                name: CONTAINER,
                image: image.to_owned(),
                image_pull_policy: pull,
                command: vec![format!("/opt/server/{exe}")],
                args: launch.args_for("0.0.0.0", "/data"),
                working_dir: "/data",
                env,
                ports: vec![port],
                resources: limits(),
                security_context: security,
                volume_mounts: vec![
                    mount("server", "/opt/server", true),
                    mount("data", "/data", false),
                ],
            }],
            volumes,
        },
    };
    serde_yaml_ng::to_string(&manifest).expect("a manifest serializes")
}

/// Where a launch's manifest is kept: beside its server's log.
pub(super) fn manifest_path(launch: &Launch) -> PathBuf {
    beside_log(launch, "pod.yaml")
}

/// The file `<suite>.<what>` beside a launch's server log (`<suite>.server.stdout.log`).
pub(super) fn beside_log(launch: &Launch, what: &str) -> PathBuf {
    let log = &launch.logs.stdout;
    let name = log
        .file_name()
        .map(|n| {
            n.to_string_lossy()
                .replace(".server.stdout.log", &format!(".{what}"))
        })
        .unwrap_or_else(|| what.to_owned());
    log.with_file_name(name)
}
