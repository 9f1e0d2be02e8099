//! Where a target's server runs: its `runtime` and the keys of each kind (a Windows build's
//! `mode` and `version`, a container's `image` and `engine`, a pod's `image`, production
//! settings and cluster), each checked against the kind written, so that a key of another
//! kind is a located error and a kind with a mistake of its own gets no follow-on error.

use super::Cx;
use super::quoted_list;
use crate::matrix::model::*;
use crate::matrix::raw::*;

impl Cx<'_> {
    /// The runtime of target `t`, with its settings.
    pub(super) fn runtime(&mut self, t: &RawTarget) -> Runtime {
        let name = t.name.get_ref();
        let runtime = match (*t.runtime.get_ref(), &t.image) {
            (RawRuntime::Container, Some(image)) => Runtime::Container {
                image: image.get_ref().clone(),
                engine: t
                    .engine
                    .as_ref()
                    .map_or(EngineKind::Auto, |e| engine(*e.get_ref())),
            },
            (RawRuntime::Container, None) => {
                self.error(
                    t.runtime.span(),
                    format!("target `{name}` runs in a container but names no image: expected `image = \"...\"`"),
                );
                Runtime::Host
            }
            (RawRuntime::Pod, Some(image)) => {
                self.no_engine_on_a_pod(t);
                Runtime::Pod(Pod {
                    image: image.get_ref().clone(),
                    read_only_root_filesystem: t
                        .read_only_root_filesystem
                        .as_ref()
                        .is_some_and(|v| *v.get_ref()),
                    run_as_non_root: t.run_as_non_root.as_ref().is_some_and(|v| *v.get_ref()),
                    cluster: self.cluster(t),
                })
            }
            (RawRuntime::Pod, None) => {
                self.no_engine_on_a_pod(t);
                self.error(
                    t.runtime.span(),
                    format!("target `{name}` runs as a pod but names no image: expected `image = \"...\"`"),
                );
                Runtime::Host
            }
            (raw, image) => {
                let kind = runtime_kind(raw);
                if let Some(image) = image {
                    self.error(
                        image.span(),
                        format!("`image` is only for the `container` and `pod` runtimes, and target `{name}` uses `{}`", kind.as_str()),
                    );
                }
                if let Some(engine) = &t.engine {
                    self.error(
                        engine.span(),
                        format!("`engine` is only for the `container` runtime, and target `{name}` uses `{}`", kind.as_str()),
                    );
                }
                match kind {
                    RuntimeKind::Windows => {
                        if raw == RawRuntime::Wine {
                            self.warning(
                                t.runtime.span(),
                                "`runtime = \"wine\"` is the old spelling of `runtime = \"windows\"` (natively on a Windows host, under Wine elsewhere): write `runtime = \"windows\"`, with `mode = \"wine\"` to use Wine even on Windows",
                            );
                        }
                        Runtime::Windows(self.windows(t))
                    }
                    _ => Runtime::Host,
                }
            }
        };
        // Against the kind written, so that a pod with a mistake of its own (no image)
        // gets no follow-on error for its settings.
        let written = *t.runtime.get_ref();
        if written != RawRuntime::Pod {
            for (key, span) in [
                (
                    "read_only_root_filesystem",
                    t.read_only_root_filesystem.as_ref().map(|v| v.span()),
                ),
                (
                    "run_as_non_root",
                    t.run_as_non_root.as_ref().map(|v| v.span()),
                ),
                ("context", t.context.as_ref().map(|v| v.span())),
                ("namespace", t.namespace.as_ref().map(|v| v.span())),
                ("pull", t.pull.as_ref().map(|v| v.span())),
            ] {
                if let Some(span) = span {
                    self.error(
                        span,
                        format!(
                            "`{key}` is only for the `pod` runtime, and target `{name}` uses `{}`",
                            runtime_kind(written).as_str()
                        ),
                    );
                }
            }
        }
        if !matches!(runtime, Runtime::Windows(_)) {
            for (key, span) in [
                ("mode", t.mode.as_ref().map(|m| m.span())),
                ("version", t.version.as_ref().map(|v| v.span())),
            ] {
                if let Some(span) = span {
                    self.error(
                        span,
                        format!("`{key}` is only for the `windows` runtime, and target `{name}` uses `{}`", runtime.kind().as_str()),
                    );
                }
            }
        }
        runtime
    }

    /// The settings of a `windows` target.
    fn windows(&mut self, t: &RawTarget) -> Windows {
        let mode = t
            .mode
            .as_ref()
            .map_or(WindowsMode::Auto, |m| match m.get_ref() {
                RawWindowsMode::Auto => WindowsMode::Auto,
                RawWindowsMode::Wine => WindowsMode::Wine,
                RawWindowsMode::Native => WindowsMode::Native,
            });
        let version = t.version.as_ref().and_then(|v| {
            let found = WindowsVersion::from_name(v.get_ref());
            if found.is_none() {
                self.error(
                    v.span(),
                    format!(
                        "unknown Windows version `{}`: expected one of {}",
                        v.get_ref(),
                        quoted_list(WindowsVersion::ALL.iter().map(|v| v.as_str()))
                    ),
                );
            }
            found
        });
        Windows { mode, version }
    }

    /// The cluster of a pod target that names a `context`; `namespace` and `pull` without
    /// one are errors.
    fn cluster(&mut self, t: &RawTarget) -> Option<Cluster> {
        let name = t.name.get_ref();
        let Some(context) = &t.context else {
            for (key, span) in [
                ("namespace", t.namespace.as_ref().map(|v| v.span())),
                ("pull", t.pull.as_ref().map(|v| v.span())),
            ] {
                if let Some(span) = span {
                    self.error(
                        span,
                        format!("`{key}` is for a pod in a cluster, and target `{name}` names no `context`: add `context = \"...\"` (a kubectl context), or remove `{key}`"),
                    );
                }
            }
            return None;
        };
        let mut fine = true;
        if context.get_ref().trim().is_empty() {
            self.error(
                context.span(),
                format!("target `{name}` has an empty `context`: expected the name of a kubectl context, such as `kind-ci`"),
            );
            fine = false;
        }
        if let Some(namespace) = &t.namespace
            && !dns_label(namespace.get_ref())
        {
            self.error(
                namespace.span(),
                format!("invalid namespace `{}`: expected a Kubernetes name (lowercase letters, digits and `-`, at most 63, starting and ending with a letter or digit)", namespace.get_ref()),
            );
            fine = false;
        }
        fine.then(|| Cluster {
            context: context.get_ref().clone(),
            namespace: t.namespace.as_ref().map(|n| n.get_ref().clone()),
            pull: t
                .pull
                .as_ref()
                .map_or(Pull::default(), |p| match p.get_ref() {
                    RawPull::IfNotPresent => Pull::IfNotPresent,
                    RawPull::Always => Pull::Always,
                    RawPull::Never => Pull::Never,
                }),
        })
    }

    /// A pod's engine is podman (`podman kube play`): `engine` is a mistake on one.
    fn no_engine_on_a_pod(&mut self, t: &RawTarget) {
        if let Some(engine) = &t.engine {
            self.error(
                engine.span(),
                format!(
                    "target `{}` runs as a pod, which podman runs (`podman kube play`): remove `engine`",
                    t.name.get_ref()
                ),
            );
        }
    }
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

fn runtime_kind(raw: RawRuntime) -> RuntimeKind {
    match raw {
        RawRuntime::Host => RuntimeKind::Host,
        RawRuntime::Windows | RawRuntime::Wine => RuntimeKind::Windows,
        RawRuntime::Container => RuntimeKind::Container,
        RawRuntime::Pod => RuntimeKind::Pod,
    }
}

fn engine(raw: RawEngine) -> EngineKind {
    match raw {
        RawEngine::Auto => EngineKind::Auto,
        RawEngine::Podman => EngineKind::Podman,
        RawEngine::Docker => EngineKind::Docker,
    }
}
