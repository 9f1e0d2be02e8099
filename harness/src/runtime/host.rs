//! The `host` runtime: the server as a plain process of this machine ([`NativeRuntime`]).
//! It has no keys of its own.

use std::path::Path;
use std::sync::Arc;

use super::{Kind, NativeRuntime, Runtime};
use crate::errors::Result;
use crate::matrix::{
    Key, Requirements, Runtime as RuntimeConfig, RuntimeKeys, RuntimeSettings, TargetKeys,
};
use crate::provision::Provisioned;

/// The `host` runtime kind.
pub struct HostKind;

/// The settings of a `host` target: none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Host;

impl RuntimeSettings for Host {
    fn kind(&self) -> &'static str {
        "host"
    }

    fn requirements(&self) -> Requirements {
        Requirements::default()
    }
}

impl RuntimeKeys for HostKind {
    fn name(&self) -> &'static str {
        "host"
    }

    fn doc(&self) -> &'static str {
        "A plain process on the host."
    }

    fn keys(&self) -> &'static [Key] {
        &[]
    }

    fn settings(&self, _: &mut TargetKeys) -> RuntimeConfig {
        RuntimeConfig::new(Host)
    }
}

impl Kind for HostKind {
    fn launcher(&self, _: &RuntimeConfig, _: &Provisioned, _: &Path) -> Result<Arc<dyn Runtime>> {
        Ok(Arc::new(NativeRuntime))
    }
}
