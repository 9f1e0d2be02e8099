//! The `windows` runtime: a Windows build, natively on a Windows host (a plain process,
//! [`super::NativeRuntime`]) and under Wine on a Linux one ([`wine`]). Its keys: `mode`
//! (`auto`, `wine`, `native`) and `version` (the Windows version the cell stands for, which
//! the Wine prefix reports and generated CI picks its runner by); `runtime = "wine"` is its
//! old spelling.

pub mod wine;

use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::{Kind, NativeRuntime, Runtime, not_provisioned};
use crate::errors::Result;
use crate::matrix::{
    Alias, Key, Requirements, Runner, Runtime as RuntimeConfig, RuntimeKeys, RuntimeSettings,
    TargetKeys, WindowsVersion, quoted_list, schema_of,
};
use crate::provision::Provisioned;
use wine::WineRuntime;

/// The `windows` runtime kind.
pub struct WindowsKind;

/// The settings of a `windows` target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Windows {
    /// Natively, under Wine, or whichever this host can.
    pub mode: WindowsMode,
    /// The Windows version the cell stands for, when the matrix names one.
    pub version: Option<WindowsVersion>,
}

impl Windows {
    /// Whether its servers run under Wine on this host: `auto` means Wine on every host
    /// but Windows.
    pub fn under_wine(&self) -> bool {
        match self.mode {
            WindowsMode::Auto => !cfg!(windows),
            WindowsMode::Wine => true,
            WindowsMode::Native => false,
        }
    }

    /// The Windows version Wine reports to the cell's servers (`winecfg`'s names): the
    /// version itself, or the newest this Wine has below it. `None`: the prefix's default.
    pub fn wine_version(&self) -> Option<&'static str> {
        self.version.map(WindowsVersion::wine_version)
    }
}

/// How a `windows` target runs.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum WindowsMode {
    /// Natively on a Windows host, under Wine elsewhere (the default).
    #[default]
    Auto,
    /// Under Wine, always.
    Wine,
    /// Natively, always: the target runs on Windows hosts only.
    Native,
}

impl RuntimeSettings for Windows {
    fn kind(&self) -> &'static str {
        "windows"
    }

    fn requirements(&self) -> Requirements {
        let mut needs = Requirements {
            windows: self.version,
            runner: match self.mode {
                // A cell that asks for Wine runs under Wine on Linux; the others natively.
                WindowsMode::Wine => Runner::Linux,
                _ => Runner::Windows(self.version),
            },
            ..Requirements::default()
        };
        match (self.under_wine(), cfg!(windows)) {
            (true, false) => needs.wine = Some(self.wine_version()),
            (false, true) => {}
            (true, true) => {
                needs.unrunnable = Some("it asks for Wine (`mode = \"wine\"`), and this host is Windows: write `mode = \"auto\"` to run it natively here".into());
            }
            (false, false) => {
                needs.unrunnable = Some("it runs natively only (`mode = \"native\"`), and this host is not Windows: run it on a Windows host, or write `mode = \"auto\"` to run it under Wine here".into());
            }
        }
        needs
    }
}

impl RuntimeKeys for WindowsKind {
    fn name(&self) -> &'static str {
        "windows"
    }

    fn doc(&self) -> &'static str {
        "A Windows build: natively on a Windows host, under Wine on a Linux one (see `mode`)."
    }

    fn aliases(&self) -> &'static [Alias] {
        &[Alias {
            name: "wine",
            doc: "The old spelling of `windows` (with `mode = \"auto\"`), kept as an alias.",
            warning: "`runtime = \"wine\"` is the old spelling of `runtime = \"windows\"` (natively on a Windows host, under Wine elsewhere): write `runtime = \"windows\"`, with `mode = \"wine\"` to use Wine even on Windows",
        }]
    }

    fn keys(&self) -> &'static [Key] {
        &[
            Key {
                name: "mode",
                doc: "How a `windows` target runs: `auto` (natively on a Windows host, under Wine elsewhere;\nthe default), `wine` or `native`.",
                schema: schema_of::<Option<WindowsMode>>,
            },
            Key {
                name: "version",
                doc: "The Windows version a `windows` target stands for: `7`, `8.1`, `10`, `11`,\n`server-2008-r2`, `server-2012-r2`, `server-2016`, `server-2019`, `server-2022` or\n`server-2025`. Under Wine its prefix reports it (or the newest version Wine has below\nit); in generated CI it picks the runner image.",
                schema: schema_of::<Option<String>>,
            },
        ]
    }

    fn settings(&self, keys: &mut TargetKeys) -> RuntimeConfig {
        let mode = keys
            .take::<WindowsMode>("mode")
            .map_or(WindowsMode::Auto, |m| m.into_inner());
        let version = keys.take::<String>("version").and_then(|v| {
            let found = WindowsVersion::from_name(v.get_ref());
            if found.is_none() {
                keys.error(
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
        RuntimeConfig::new(Windows { mode, version })
    }
}

impl Kind for WindowsKind {
    fn shared(&self, config: &RuntimeConfig) -> Option<String> {
        // One pool of prefixes for every Wine target that reports the same version.
        let windows = config.settings::<Windows>()?;
        windows
            .under_wine()
            .then(|| windows.wine_version().unwrap_or("default").to_owned())
    }

    fn launcher(
        &self,
        config: &RuntimeConfig,
        provisioned: &Provisioned,
        scratch: &Path,
    ) -> Result<Arc<dyn Runtime>> {
        let windows = config.settings::<Windows>().copied().unwrap_or_default();
        if !windows.under_wine() {
            return Ok(Arc::new(NativeRuntime));
        }
        let version = windows.wine_version();
        let pool: Vec<_> = provisioned
            .wine
            .iter()
            .filter(|w| w.version == version)
            .cloned()
            .collect();
        if pool.is_empty() {
            return Err(not_provisioned("wine"));
        }
        // Absolute: a server's folder is its data dir, not the harness's.
        let stage = scratch.join(format!("wine-bin-{}", version.unwrap_or("default")));
        let stage = std::path::absolute(&stage).unwrap_or(stage);
        Ok(Arc::new(WineRuntime::new(pool, stage)))
    }
}
