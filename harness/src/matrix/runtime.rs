//! The runtimes of the validated model: where a target's server runs, with exactly the
//! settings of each kind (a Windows build's mode and version, a container's image and
//! engine, a pod's image, production settings and cluster), and what the rest of the
//! harness asks of them instead of matching on the kind.

use serde::{Deserialize, Serialize};

/// A runtime with its settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Runtime {
    /// A plain process.
    Host,
    /// A Windows build: natively on a Windows host, under Wine on a Linux one.
    Windows(Windows),
    /// A container.
    Container {
        /// The image.
        image: String,
        /// The engine.
        engine: EngineKind,
    },
    /// A Kubernetes pod.
    Pod(Pod),
}

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

/// A Kubernetes cluster that runs a `pod` target's pods, through kubectl.
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum Pull {
    /// When the node does not have it.
    #[default]
    IfNotPresent,
    /// For every pod.
    Always,
    /// Never: it was loaded into the cluster beforehand.
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

impl Runtime {
    /// The settings of a `windows` target.
    pub fn windows(&self) -> Option<&Windows> {
        match self {
            Runtime::Windows(windows) => Some(windows),
            _ => None,
        }
    }

    /// The engine and image its servers run in, when they run in containers on this
    /// machine: a container's, or a pod's (podman's, which runs pods with `podman kube
    /// play`); not a pod in a cluster's.
    pub fn engine_image(&self) -> Option<(EngineKind, &str)> {
        match self {
            Runtime::Container { image, engine } => Some((*engine, image)),
            Runtime::Pod(pod) if pod.cluster.is_none() => Some((EngineKind::Podman, &pod.image)),
            Runtime::Pod(_) | Runtime::Host | Runtime::Windows(_) => None,
        }
    }

    /// The settings of a `pod` target.
    pub fn pod(&self) -> Option<&Pod> {
        match self {
            Runtime::Pod(pod) => Some(pod),
            _ => None,
        }
    }

    /// The cluster its servers run in, through kubectl.
    pub fn cluster(&self) -> Option<&Cluster> {
        self.pod().and_then(|pod| pod.cluster.as_ref())
    }

    /// The kind, without settings.
    pub fn kind(&self) -> RuntimeKind {
        match self {
            Runtime::Host => RuntimeKind::Host,
            Runtime::Windows(_) => RuntimeKind::Windows,
            Runtime::Container { .. } => RuntimeKind::Container,
            Runtime::Pod(_) => RuntimeKind::Pod,
        }
    }
}

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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WindowsMode {
    /// Natively on a Windows host, under Wine elsewhere.
    #[default]
    Auto,
    /// Under Wine, always (a Linux host).
    Wine,
    /// Natively, always (a Windows host).
    Native,
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

/// The runtime a target's server runs in, without its settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RuntimeKind {
    /// A plain process on the host.
    Host,
    /// A Windows build: natively on a Windows host, under Wine on a Linux one.
    Windows,
    /// An OCI container run by podman or docker.
    Container,
    /// A Kubernetes pod.
    Pod,
}

/// Which container engine runs a `container` target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EngineKind {
    /// podman when installed, else docker when its daemon answers, else podman (installed).
    Auto,
    /// podman.
    Podman,
    /// docker.
    Docker,
}

impl RuntimeKind {
    /// Its name as written in `matrix.toml`.
    pub fn as_str(self) -> &'static str {
        match self {
            RuntimeKind::Host => "host",
            RuntimeKind::Windows => "windows",
            RuntimeKind::Container => "container",
            RuntimeKind::Pod => "pod",
        }
    }
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
