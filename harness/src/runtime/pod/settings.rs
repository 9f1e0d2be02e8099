//! The `pod` runtime's keys and settings: `image` (required), the production settings of
//! its pod (`read_only_root_filesystem`, `run_as_non_root`), and the cluster that runs it
//! (`context`, with `namespace` and `pull`); without a `context`, `podman kube play` runs it
//! here.

use std::path::Path;
use std::sync::Arc;

use super::{ClusterRuntime, PodRuntime};
use crate::errors::Result;
use crate::matrix::{
    Cluster, EngineKind, Key, Pull, Requirements, Runtime as RuntimeConfig, RuntimeKeys,
    RuntimeSettings, TargetKeys, schema_of,
};
use crate::provision::Provisioned;
use crate::runtime::{IMAGE, Kind, Runtime, not_provisioned};

/// The `pod` runtime kind.
pub struct PodKind;

/// The settings of a `pod` target: its image, and the production settings of its pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pod {
    /// The image.
    pub image: String,
    /// The server's container has a read-only root filesystem.
    pub read_only_root_filesystem: bool,
    /// The server runs as a user that is not root.
    pub run_as_non_root: bool,
    /// The cluster its pods run in, through kubectl; `None`: `podman kube play` here.
    pub cluster: Option<Cluster>,
}

impl RuntimeSettings for Pod {
    fn kind(&self) -> &'static str {
        "pod"
    }

    fn requirements(&self) -> Requirements {
        match &self.cluster {
            Some(cluster) => Requirements {
                cluster: Some((cluster.clone(), self.image.clone())),
                ..Requirements::default()
            },
            // podman runs it (`podman kube play`), with the image, as a container's.
            None => Requirements {
                engine: Some((EngineKind::Podman, self.image.clone())),
                ..Requirements::default()
            },
        }
    }
}

impl RuntimeKeys for PodKind {
    fn name(&self) -> &'static str {
        "pod"
    }

    fn doc(&self) -> &'static str {
        "A Kubernetes pod from a manifest the harness writes: run by `podman kube play`, or\nby `kubectl` in the cluster of a `context`."
    }

    fn keys(&self) -> &'static [Key] {
        &[
            IMAGE,
            Key {
                name: "read_only_root_filesystem",
                doc: "For the `pod` runtime: the server's container has a read-only root filesystem\n(`securityContext.readOnlyRootFilesystem`), as production pods often do.",
                schema: schema_of::<Option<bool>>,
            },
            Key {
                name: "run_as_non_root",
                doc: "For the `pod` runtime: the server runs as a user that is not root\n(`securityContext.runAsNonRoot`, as user 65534).",
                schema: schema_of::<Option<bool>>,
            },
            Key {
                name: "context",
                doc: "For the `pod` runtime: the kubectl context of the Kubernetes cluster its pods run\nin (such as `kind-ci`); without it, `podman kube play` runs them on this machine.",
                schema: schema_of::<Option<String>>,
            },
            Key {
                name: "namespace",
                doc: "For a `pod` with a `context`: the namespace its pods go in (the context's own when\nunset).",
                schema: schema_of::<Option<String>>,
            },
            Key {
                name: "pull",
                doc: "For a `pod` with a `context`: when the cluster pulls the image (`imagePullPolicy`):\n`if-not-present` (the default), `always`, or `never` (an image loaded into the\ncluster beforehand, as `kind load` does).",
                schema: schema_of::<Option<Pull>>,
            },
        ]
    }

    fn settings(&self, keys: &mut TargetKeys) -> RuntimeConfig {
        let name = keys.target().to_owned();
        // A pod's engine is podman (`podman kube play`): `engine` is a mistake on one.
        keys.reject(
            "engine",
            format!("target `{name}` runs as a pod, which podman runs (`podman kube play`): remove `engine`"),
        );
        let written = keys.span("image").is_some();
        let image = keys.take::<String>("image");
        if !written {
            keys.error(
                keys.runtime_span(),
                format!(
                    "target `{name}` runs as a pod but names no image: expected `image = \"...\"`"
                ),
            );
        }
        let flag =
            |keys: &mut TargetKeys, key| keys.take::<bool>(key).is_some_and(|v| *v.get_ref());
        let read_only_root_filesystem = flag(keys, "read_only_root_filesystem");
        let run_as_non_root = flag(keys, "run_as_non_root");
        let cluster = cluster(keys);
        RuntimeConfig::new(Pod {
            image: image.map(|i| i.into_inner()).unwrap_or_default(),
            read_only_root_filesystem,
            run_as_non_root,
            cluster,
        })
    }
}

/// The cluster of a pod target that names a `context`; `namespace` and `pull` without one
/// are errors.
fn cluster(keys: &mut TargetKeys) -> Option<Cluster> {
    let name = keys.target().to_owned();
    let Some(context) = keys.take::<String>("context") else {
        for key in ["namespace", "pull"] {
            keys.reject(
                key,
                format!("`{key}` is for a pod in a cluster, and target `{name}` names no `context`: add `context = \"...\"` (a kubectl context), or remove `{key}`"),
            );
        }
        return None;
    };
    let mut fine = true;
    if context.get_ref().trim().is_empty() {
        keys.error(
            context.span(),
            format!("target `{name}` has an empty `context`: expected the name of a kubectl context, such as `kind-ci`"),
        );
        fine = false;
    }
    let namespace = keys.take::<String>("namespace");
    if let Some(namespace) = &namespace
        && !dns_label(namespace.get_ref())
    {
        keys.error(
            namespace.span(),
            format!("invalid namespace `{}`: expected a Kubernetes name (lowercase letters, digits and `-`, at most 63, starting and ending with a letter or digit)", namespace.get_ref()),
        );
        fine = false;
    }
    let pull = keys.take::<Pull>("pull");
    fine.then(|| Cluster {
        context: context.into_inner(),
        namespace: namespace.map(|n| n.into_inner()),
        pull: pull.map_or(Pull::default(), |p| p.into_inner()),
    })
}

/// Whether `name` is a Kubernetes DNS label (a namespace's name).
fn dns_label(name: &str) -> bool {
    (1..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

impl Kind for PodKind {
    fn launcher(
        &self,
        config: &RuntimeConfig,
        provisioned: &Provisioned,
        scratch: &Path,
    ) -> Result<Arc<dyn Runtime>> {
        let pod = config.settings::<Pod>().expect("a pod's settings").clone();
        if let Some(cluster) = &pod.cluster {
            let kubectl = provisioned.clusters.get(cluster).cloned().ok_or_else(|| {
                not_provisioned(&format!("kubectl context `{}`", cluster.context))
            })?;
            return Ok(Arc::new(ClusterRuntime::new(kubectl, pod)));
        }
        let engine = provisioned
            .engines
            .get(&(EngineKind::Podman, pod.image.clone()))
            .cloned()
            .ok_or_else(|| not_provisioned(&format!("podman for the pod image {}", pod.image)))?;
        Ok(Arc::new(PodRuntime::new(engine, pod, scratch)?))
    }
}
