//! The launcher of a server that is a plain process of this machine's own system, in its
//! own process group: the `host` runtime's, and a `windows` target's on a Windows host.

use futures_util::future::BoxFuture;

use super::{Launch, Reservation, Runtime, Server, StopSignal};
use crate::errors::Result;
use crate::matrix::Runtime as RuntimeConfig;
use crate::process::{Cmd, Running};
use crate::provision::provenance::{Execution, ExecutionKind, Facts};

/// A plain process on this machine.
pub struct NativeRuntime;

impl Runtime for NativeRuntime {
    fn name(&self) -> &'static str {
        "host"
    }

    fn describe(&self, config: &RuntimeConfig, facts: &Facts) -> Execution {
        super::execution(ExecutionKind::Native, facts.host.clone(), config)
    }

    fn start<'a>(
        &'a self,
        launch: &'a Launch<'a>,
        _: &'a Reservation,
    ) -> BoxFuture<'a, Result<Server>> {
        Box::pin(async move {
            let data_dir = self.data_dir_spelling(launch.data_dir);
            let mut cmd = Cmd::new(launch.artifact)
                .args(launch.args_for("127.0.0.1", &data_dir))
                .current_dir(launch.data_dir);
            for (k, v) in &launch.env {
                cmd = cmd.env(k, v);
            }
            let process = Running::spawn_split(&cmd, &launch.logs.stdout, &launch.logs.stderr)?;
            Ok(Server::new(process, None, launch, StopSignal::Term))
        })
    }
}
