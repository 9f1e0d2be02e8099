//! The `container` runtime: podman or docker through the same code. Its keys: `image`
//! (required) and `engine`. The server runs attached (its output goes to the log), with
//! `--init` so that it stops at once on a signal, its port published on 127.0.0.1 only, its
//! artifact mounted read-only, and a unique name and labels that let the harness find and
//! remove its own leftovers (`provision::container::remove_leftovers`, per engine).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;

use super::{
    Cleanup, FORWARDER_HOLD, IMAGE, Kind, Launch, Reservation, Runtime, Server, StopSignal,
    cleanup_blocking, not_provisioned,
};
use crate::errors::Result;
use crate::matrix::{
    EngineKind, Key, Requirements, Runtime as RuntimeConfig, RuntimeKeys, RuntimeSettings,
    TargetKeys, schema_of,
};
use crate::process::{Cmd, Running};
use crate::provision::Engine;
use crate::provision::Provisioned;
use crate::provision::container::LABEL;
use crate::provision::provenance::{Execution, ExecutionKind, Facts};

/// The `container` runtime kind.
pub struct ContainerKind;

/// The settings of a `container` target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Container {
    /// The image.
    pub image: String,
    /// The engine.
    pub engine: EngineKind,
}

impl RuntimeSettings for Container {
    fn kind(&self) -> &'static str {
        "container"
    }

    fn requirements(&self) -> Requirements {
        Requirements {
            engine: Some((self.engine, self.image.clone())),
            ..Requirements::default()
        }
    }
}

impl RuntimeKeys for ContainerKind {
    fn name(&self) -> &'static str {
        "container"
    }

    fn doc(&self) -> &'static str {
        "An OCI container run by podman or docker."
    }

    fn keys(&self) -> &'static [Key] {
        &[
            IMAGE,
            Key {
                name: "engine",
                doc: "The container engine, for the `container` runtime.",
                schema: schema_of::<Option<EngineKind>>,
            },
        ]
    }

    fn settings(&self, keys: &mut TargetKeys) -> RuntimeConfig {
        let written = keys.span("image").is_some();
        let image = keys.take::<String>("image");
        let engine = keys
            .take::<EngineKind>("engine")
            .map_or(EngineKind::Auto, |e| e.into_inner());
        if !written {
            let message = format!(
                "target `{}` runs in a container but names no image: expected `image = \"...\"`",
                keys.target()
            );
            keys.error(keys.runtime_span(), message);
        }
        RuntimeConfig::new(Container {
            image: image.map(|i| i.into_inner()).unwrap_or_default(),
            engine,
        })
    }
}

impl Kind for ContainerKind {
    fn launcher(
        &self,
        config: &RuntimeConfig,
        provisioned: &Provisioned,
        _: &Path,
    ) -> Result<Arc<dyn Runtime>> {
        let requirements = config.requirements();
        let (kind, image) = requirements
            .engine
            .as_ref()
            .expect("a container has an engine");
        let engine = provisioned
            .engines
            .get(&(*kind, image.clone()))
            .cloned()
            .ok_or_else(|| not_provisioned(&format!("a container engine for {image}")))?;
        Ok(Arc::new(ContainerRuntime { engine }))
    }
}

/// A container engine with its image.
pub struct ContainerRuntime {
    /// The provisioned engine.
    pub engine: Engine,
}

struct ContainerCleanup {
    engine: Engine,
    name: String,
}

impl Cleanup for ContainerCleanup {
    fn stop(&self, grace: Duration) -> Option<Cmd> {
        Some(self.engine.cmd().args([
            "stop",
            "--time",
            &grace.as_secs().max(1).to_string(),
            &self.name,
        ]))
    }

    fn needed(&self, status: Option<std::process::ExitStatus>, forced: bool) -> bool {
        // The engine's own failures (125: the engine, 126: cannot invoke, 127: not found)
        // may leave a created container behind; any other exit code is the server's, passed
        // on by a client that removed its container before exiting.
        forced
            || status
                .and_then(|s| s.code())
                .is_none_or(|c| (125..=127).contains(&c))
    }

    fn remove(&self) {
        // `--force` stops it too, at once: the server had its grace already. A container
        // that is already gone makes both engines complain, and there is nothing to act on.
        let mut rm = self.engine.cmd().args(["rm", "--force"]);
        if self.engine.program != "docker" {
            rm = rm.args(["--time", "0"]);
        }
        cleanup_blocking(&rm.arg(&self.name));
    }
}

impl Runtime for ContainerRuntime {
    fn log_latency(&self) -> std::time::Duration {
        // The server's lines go through conmon and the attached engine before they reach
        // the log file: a few milliseconds, more on a busy host.
        std::time::Duration::from_millis(25)
    }

    fn name(&self) -> &'static str {
        "container"
    }

    fn describe(&self, config: &RuntimeConfig, facts: &Facts) -> Execution {
        let by = facts.engine(&self.engine).unwrap_or(&self.engine.image);
        super::execution(ExecutionKind::Container, by.to_owned(), config)
    }

    fn data_dir_spelling(&self, _host: &std::path::Path) -> String {
        "/data".to_owned()
    }

    fn start<'a>(
        &'a self,
        launch: &'a Launch<'a>,
        _: &'a Reservation,
    ) -> BoxFuture<'a, Result<Server>> {
        Box::pin(async move {
            let (dir, exe) = launch.artifact_parts()?;
            let mut cmd = self
                .engine
                .cmd()
                // The harness stops a container through the engine, which reaches the server
                // whatever state the client is in (a client signalled before it proxies signals
                // would die and leave the container running). Once the server exits, the client
                // removes the container and exits with the server's status.
                .args([
                    "run",
                    "--rm",
                    "--init",
                    "--sig-proxy=false",
                    "--name",
                    &launch.name,
                ])
                .args(["--label", &format!("{LABEL}=1")])
                .args(["--label", &format!("{LABEL}.pid={}", std::process::id())])
                .args(["--label", &format!("{LABEL}.cell={}", launch.cell.name)])
                .args(&self.engine.run_flags)
                // The harness's mark, from the client's environment: the container's processes
                // carry it too, so that the harness finds them (to stop and to sweep).
                .args(["-e", crate::process::MARK])
                .args(["-p", &format!("127.0.0.1:{0}:{0}", launch.port)])
                .arg("-v")
                .arg(format!("{}:/opt/server:ro", dir.display()))
                .arg("-v")
                .arg(format!("{}:/data", launch.data_dir.display()))
                .args(["-w", "/data"]);
            for (k, v) in &launch.env {
                cmd = cmd.args(["-e", &format!("{k}={v}")]);
            }
            cmd = cmd
                .arg(&self.engine.image)
                .arg(format!("/opt/server/{exe}"))
                .args(launch.args_for("0.0.0.0", &self.data_dir_spelling(launch.data_dir)));
            let process = Running::spawn_split(&cmd, &launch.logs.stdout, &launch.logs.stderr)?;
            let cleanup = ContainerCleanup {
                engine: self.engine.clone(),
                name: launch.name.clone(),
            };
            // The published port may be a forwarder's (docker's userland proxy, rootless
            // podman's rootlessport), which accepts before the server listens.
            Ok(
                Server::new(process, Some(Box::new(cleanup)), launch, StopSignal::Engine)
                    .forwarded(FORWARDER_HOLD),
            )
        })
    }
}
