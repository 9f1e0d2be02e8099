//! The runtimes of the validated model, as the matrix knows them without knowing any one
//! kind: each kind (its module in `runtime/`, listed in `runtime::KINDS`) names its keys
//! and checks them ([`RuntimeKeys`]), and its settings answer what the rest of the harness
//! asks ([`RuntimeSettings::requirements`]) instead of being matched on. What remains here
//! is the vocabulary those answers use: engines, clusters, Windows versions, execution
//! kinds.

use std::any::Any;
use std::ops::Range;
use std::sync::Arc;

use schemars::{Schema, SchemaGenerator};
use serde::{Deserialize, Serialize};
use toml::Spanned;

/// What the matrix knows of a runtime kind: its name, its keys, and how they become its
/// settings. Kinds are handed to [`super::parse`] by their registry (`runtime::KINDS`), so
/// that the matrix, parsed below every layer that launches anything, names none of them.
pub trait RuntimeKeys: Send + Sync {
    /// Its name in `runtime = "..."`.
    fn name(&self) -> &'static str;
    /// What it is, for the JSON schema.
    fn doc(&self) -> &'static str;
    /// Older names it is also written as.
    fn aliases(&self) -> &'static [Alias] {
        &[]
    }
    /// The target keys it reads, besides every target's.
    fn keys(&self) -> &'static [Key];
    /// Its settings from a target's keys: it takes its own, and reports their mistakes on
    /// `keys`; a key it leaves is reported as belonging to another kind or to none.
    fn settings(&self, keys: &mut TargetKeys) -> Runtime;
}

/// The runtime kinds a matrix may name, in the order messages list them.
pub type Kinds = &'static [&'static dyn RuntimeKeys];

/// Another name of a runtime kind.
#[derive(Debug, Clone, Copy)]
pub struct Alias {
    /// The name.
    pub name: &'static str,
    /// What it is, for the JSON schema.
    pub doc: &'static str,
    /// The warning a target written with it gets.
    pub warning: &'static str,
}

/// A target key of a runtime kind.
#[derive(Debug, Clone, Copy)]
pub struct Key {
    /// The key.
    pub name: &'static str,
    /// What it means, for the JSON schema.
    pub doc: &'static str,
    /// Its JSON schema.
    pub schema: fn(&mut SchemaGenerator) -> Schema,
}

/// The JSON schema of `T`, for a [`Key`].
pub fn schema_of<T: schemars::JsonSchema>(generator: &mut SchemaGenerator) -> Schema {
    generator.subschema_for::<T>()
}

/// One problem with a target's runtime keys: where, and what.
pub type KeyProblem = (Range<usize>, String);

/// A target's keys beyond every target's own, as its runtime kind reads them.
#[derive(Debug)]
pub struct TargetKeys {
    target: String,
    runtime: Range<usize>,
    keys: Vec<(Spanned<String>, Spanned<toml::Value>)>,
    pub(super) errors: Vec<KeyProblem>,
    pub(super) warnings: Vec<KeyProblem>,
}

impl TargetKeys {
    /// The keys of target `target`, whose `runtime` value is at `runtime`.
    pub fn new(
        target: &str,
        runtime: Range<usize>,
        keys: Vec<(Spanned<String>, Spanned<toml::Value>)>,
    ) -> TargetKeys {
        TargetKeys {
            target: target.to_owned(),
            runtime,
            keys,
            errors: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// The target's name.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// Where its `runtime` value is.
    pub fn runtime_span(&self) -> Range<usize> {
        self.runtime.clone()
    }

    /// Where the value of `key` is, when the target has it.
    pub fn span(&self, key: &str) -> Option<Range<usize>> {
        self.keys
            .iter()
            .find(|(k, _)| k.get_ref() == key)
            .map(|(_, v)| v.span())
    }

    /// The value of `key`, taken: a value of the wrong type is an error at it, and `None`.
    pub fn take<T: serde::de::DeserializeOwned>(&mut self, key: &str) -> Option<Spanned<T>> {
        let at = self.keys.iter().position(|(k, _)| k.get_ref() == key)?;
        let (_, value) = self.keys.remove(at);
        let span = value.span();
        match T::deserialize(value.into_inner()) {
            Ok(v) => Some(Spanned::new(span, v)),
            Err(e) => {
                let message = e.message().trim().trim_end_matches('.').to_owned();
                self.errors.push((span, message));
                None
            }
        }
    }

    /// Takes `key` without reading it, as a mistake on this kind: `message` at its value.
    pub fn reject(&mut self, key: &str, message: impl Into<String>) {
        if let Some(at) = self.keys.iter().position(|(k, _)| k.get_ref() == key) {
            let (_, value) = self.keys.remove(at);
            self.errors.push((value.span(), message.into()));
        }
    }

    /// An error at `span`.
    pub fn error(&mut self, span: Range<usize>, message: impl Into<String>) {
        self.errors.push((span, message.into()));
    }

    /// A warning at `span`.
    pub fn warning(&mut self, span: Range<usize>, message: impl Into<String>) {
        self.warnings.push((span, message.into()));
    }

    /// The keys no kind took: each with the span of its name and of its value.
    pub(super) fn left(&mut self) -> Vec<(Spanned<String>, Range<usize>)> {
        self.keys.drain(..).map(|(k, v)| (k, v.span())).collect()
    }
}

/// A runtime kind's settings for one target: compared with `==` (a matrix read twice holds
/// the same settings).
pub trait RuntimeSettings: Any + Same + std::fmt::Debug + Send + Sync {
    /// The name of its kind.
    fn kind(&self) -> &'static str;
    /// What it needs of the machine that runs it and of a CI runner.
    fn requirements(&self) -> Requirements;
}

/// Equality between settings of any kinds: settings of another type are never the same.
pub trait Same {
    /// Whether `other` is the same as `self`.
    fn same(&self, other: &dyn Any) -> bool;
}

impl<T: Any + PartialEq> Same for T {
    fn same(&self, other: &dyn Any) -> bool {
        other.downcast_ref::<T>() == Some(self)
    }
}

/// A runtime with its settings, as a target of the model holds it.
#[derive(Debug, Clone)]
pub struct Runtime(Arc<dyn RuntimeSettings>);

impl Runtime {
    /// A runtime with `settings`.
    pub fn new(settings: impl RuntimeSettings) -> Runtime {
        Runtime(Arc::new(settings))
    }

    /// The name of its kind.
    pub fn kind(&self) -> &'static str {
        self.0.kind()
    }

    /// What it needs of the machine that runs it and of a CI runner.
    pub fn requirements(&self) -> Requirements {
        self.0.requirements()
    }

    /// Its settings, when they are a `T` (for the kind that made them).
    pub fn settings<T: RuntimeSettings>(&self) -> Option<&T> {
        (self.0.as_ref() as &dyn Any).downcast_ref::<T>()
    }

    /// The settings of a target whose runtime could not be read (the matrix has an error).
    pub(super) fn unreadable() -> Runtime {
        Runtime::new(Unreadable)
    }
}

impl PartialEq for Runtime {
    fn eq(&self, other: &Runtime) -> bool {
        self.0.same(other.0.as_ref() as &dyn Any)
    }
}

impl Eq for Runtime {}

/// The settings of a runtime that could not be read.
#[derive(Debug, PartialEq)]
struct Unreadable;

impl RuntimeSettings for Unreadable {
    fn kind(&self) -> &'static str {
        "unreadable"
    }
    fn requirements(&self) -> Requirements {
        Requirements::default()
    }
}

/// What a target's runtime needs of the machine that runs it (what provisioning makes
/// ready and `doctor` checks) and of a CI runner.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Requirements {
    /// A Wine prefix that reports this Windows version (`Some(None)`: the prefix's default).
    pub wine: Option<Option<&'static str>>,
    /// A container engine on this machine, with this image.
    pub engine: Option<(EngineKind, String)>,
    /// A cluster reached through kubectl, and the image its pods run.
    pub cluster: Option<(Cluster, String)>,
    /// Why it cannot run on this host, when it cannot.
    pub unrunnable: Option<String>,
    /// The Windows version its cells stand for, when it names one (for the reports).
    pub windows: Option<WindowsVersion>,
    /// The runner a CI job of it needs.
    pub runner: Runner,
}

/// The runner a CI job of a target needs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Runner {
    /// The system its build triple names.
    #[default]
    OfTriple,
    /// Linux (a Windows build under Wine).
    Linux,
    /// Windows, of this version when it names one.
    Windows(Option<WindowsVersion>),
}

/// A Kubernetes cluster that runs pods, through kubectl.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Cluster {
    /// The kubectl context.
    pub context: String,
    /// The namespace; the context's own when `None`.
    pub namespace: Option<String>,
    /// When the cluster pulls the image.
    pub pull: Pull,
}

/// When a cluster pulls a pod's image (`imagePullPolicy`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Pull {
    /// When the node does not have it (Kubernetes' `IfNotPresent`).
    #[default]
    IfNotPresent,
    /// For every pod (`Always`).
    Always,
    /// Never: it was loaded into the cluster (`Never`).
    Never,
}

impl Pull {
    /// As Kubernetes spells it.
    pub fn policy(self) -> &'static str {
        match self {
            Pull::IfNotPresent => "IfNotPresent",
            Pull::Always => "Always",
            Pull::Never => "Never",
        }
    }
}

/// A Windows version a team ships on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum WindowsVersion {
    /// Windows 7.
    #[serde(rename = "7")]
    Win7,
    /// Windows 8.1.
    #[serde(rename = "8.1")]
    Win81,
    /// Windows 10.
    #[serde(rename = "10")]
    Win10,
    /// Windows 11.
    #[serde(rename = "11")]
    Win11,
    /// Windows Server 2008 R2.
    #[serde(rename = "server-2008-r2")]
    Server2008R2,
    /// Windows Server 2012 R2.
    #[serde(rename = "server-2012-r2")]
    Server2012R2,
    /// Windows Server 2016.
    #[serde(rename = "server-2016")]
    Server2016,
    /// Windows Server 2019.
    #[serde(rename = "server-2019")]
    Server2019,
    /// Windows Server 2022.
    #[serde(rename = "server-2022")]
    Server2022,
    /// Windows Server 2025.
    #[serde(rename = "server-2025")]
    Server2025,
}

impl WindowsVersion {
    /// Every version, in release order.
    pub const ALL: [WindowsVersion; 10] = [
        WindowsVersion::Win7,
        WindowsVersion::Server2008R2,
        WindowsVersion::Win81,
        WindowsVersion::Server2012R2,
        WindowsVersion::Win10,
        WindowsVersion::Server2016,
        WindowsVersion::Server2019,
        WindowsVersion::Server2022,
        WindowsVersion::Win11,
        WindowsVersion::Server2025,
    ];

    /// Its name in `matrix.toml`.
    pub fn as_str(self) -> &'static str {
        match self {
            WindowsVersion::Win7 => "7",
            WindowsVersion::Win81 => "8.1",
            WindowsVersion::Win10 => "10",
            WindowsVersion::Win11 => "11",
            WindowsVersion::Server2008R2 => "server-2008-r2",
            WindowsVersion::Server2012R2 => "server-2012-r2",
            WindowsVersion::Server2016 => "server-2016",
            WindowsVersion::Server2019 => "server-2019",
            WindowsVersion::Server2022 => "server-2022",
            WindowsVersion::Server2025 => "server-2025",
        }
    }

    /// Its name, as a reader knows it: `Windows Server 2022`.
    pub fn title(self) -> &'static str {
        match self {
            WindowsVersion::Win7 => "Windows 7",
            WindowsVersion::Win81 => "Windows 8.1",
            WindowsVersion::Win10 => "Windows 10",
            WindowsVersion::Win11 => "Windows 11",
            WindowsVersion::Server2008R2 => "Windows Server 2008 R2",
            WindowsVersion::Server2012R2 => "Windows Server 2012 R2",
            WindowsVersion::Server2016 => "Windows Server 2016",
            WindowsVersion::Server2019 => "Windows Server 2019",
            WindowsVersion::Server2022 => "Windows Server 2022",
            WindowsVersion::Server2025 => "Windows Server 2025",
        }
    }

    /// What Wine reports for it (the prefix's `Version` setting): the version itself where
    /// Wine has it, else the newest it has (Wine 8 knows no Windows 11 and no server after
    /// 2008 R2; they report Windows 10).
    pub fn wine_version(self) -> &'static str {
        match self {
            WindowsVersion::Win7 => "win7",
            WindowsVersion::Win81 | WindowsVersion::Server2012R2 => "win81",
            WindowsVersion::Server2008R2 => "win2008r2",
            WindowsVersion::Win10
            | WindowsVersion::Win11
            | WindowsVersion::Server2016
            | WindowsVersion::Server2019
            | WindowsVersion::Server2022
            | WindowsVersion::Server2025 => "win10",
        }
    }

    /// The version of this name.
    pub fn from_name(name: &str) -> Option<WindowsVersion> {
        WindowsVersion::ALL.into_iter().find(|v| v.as_str() == name)
    }
}

/// Which container engine runs a `container` target.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum EngineKind {
    /// podman when installed, else docker when its daemon answers, else podman (installed).
    Auto,
    /// podman.
    Podman,
    /// docker.
    Docker,
}

/// Natively, emulated or in a container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExecutionKind {
    /// On the host's own operating system.
    Native,
    /// Under an emulation layer (a Windows build under Wine).
    Emulated,
    /// In a container of the host's kernel.
    Container,
    /// In a Kubernetes pod.
    Pod,
}

impl ExecutionKind {
    /// Whether its servers are programs of the host's own system, whose line names the
    /// machine.
    pub fn is_native(self) -> bool {
        self == ExecutionKind::Native
    }

    /// Whether its servers are processes on the host (natively or emulated), which inherit
    /// the harness's environment; a container's get only what the matrix gives them.
    pub fn inherits_environment(self) -> bool {
        matches!(self, ExecutionKind::Native | ExecutionKind::Emulated)
    }

    /// The word for it.
    pub fn as_str(self) -> &'static str {
        match self {
            ExecutionKind::Native => "native",
            ExecutionKind::Emulated => "emulated",
            ExecutionKind::Container => "container",
            ExecutionKind::Pod => "pod",
        }
    }
}
