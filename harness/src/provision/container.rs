//! Container engines: podman or docker through the same code, a base image (pulled, or built
//! with debootstrap when no registry can be reached), and an engine configuration that works
//! on this host, probed once and remembered.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{Check, Ctx, tools};
use crate::errors::{Error, Result};
use crate::matrix::EngineKind;
use crate::process::{Cmd, checked, output};

/// A working engine with the image a target runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Engine {
    /// `podman` or `docker`.
    pub program: String,
    /// Flags `run` needs on this host (none on an ordinary one).
    pub run_flags: Vec<String>,
    /// The image to run: the configured one, or its local stand-in.
    pub image: String,
}

impl Engine {
    /// A command of this engine.
    pub fn cmd(&self) -> Cmd {
        Cmd::new(&self.program)
    }

    /// The OCI runtime its containers run with (`crun`, `runc`), when the run flags choose
    /// one rather than the engine's default.
    pub fn oci_runtime(&self) -> Option<&str> {
        let at = self.run_flags.iter().position(|f| f == "--runtime")?;
        self.run_flags.get(at + 1).map(String::as_str)
    }

    /// The network its containers get, when the run flags choose one rather than the
    /// engine's default (`slirp4netns:port_handler=slirp4netns` -> `slirp4netns`).
    pub fn network(&self) -> Option<&str> {
        let at = self.run_flags.iter().position(|f| f == "--network")?;
        let network = self.run_flags.get(at + 1)?;
        Some(network.split(':').next().unwrap_or(network))
    }
}

/// The label every container of the harness carries.
pub const LABEL: &str = "io.port-harness";

/// Settings that work where the engine's defaults do not, cheapest first: some sandboxed
/// hosts cannot set rlimits to the host's values (no CAP_SYS_RESOURCE), and some cannot use
/// crun, which starts a container with less processor time than runc.
const FALLBACK_FLAGS: [&[&str]; 2] = [
    &[
        "--runtime",
        "crun",
        "--ulimit",
        "nofile=1024:1024",
        "--ulimit",
        "nproc=4096:4096",
    ],
    &[
        "--runtime",
        "runc",
        "--ulimit",
        "nofile=1024:1024",
        "--ulimit",
        "nproc=4096:4096",
    ],
];

/// The network podman's containers get when slirp4netns is installed: a user-mode network
/// stack of its own per container, which reaches neither the host's loopback nor its
/// bridges, with the published port forwarded by slirp4netns itself. Against podman's
/// default bridge (a veth pair, firewall rules written by netavark and a port forwarder per
/// container) a container costs a third less processor time to start and stop: measured on
/// a two-core machine with runc, eight `run --rm --init -p 127.0.0.1::8080 ... true` took
/// 2.9 s of processor time (4.6 s wall) with the bridge and 2.0 s (2.5 s) with this, and the
/// sample's container cell 4.8 s against 4.1 s. slirp4netns's default port handler
/// (rootlesskit, a process per container) costs as much as the bridge.
const CHEAP_NETWORK: [&str; 2] = ["--network", "slirp4netns:port_handler=slirp4netns"];

/// The generation of the probe: a configuration remembered by another one is probed again.
const PROBE: u32 = 3;

#[derive(Serialize, Deserialize)]
struct Remembered {
    run_flags: Vec<String>,
    #[serde(default)]
    probe: u32,
}

/// Chooses the engine, makes the image available and finds run flags that work.
pub async fn ensure(ctx: &Ctx, kind: EngineKind, image: &str) -> Result<Engine> {
    let choice = choose(kind).await;
    if let Some(fix) = &choice.blocked {
        return Err(Error::Prerequisite {
            what: format!("the {} engine", choice.program),
            why: choice.why.clone(),
            fix: fix.clone(),
        });
    }
    ctx.present(&choice.check());
    let program = choice.program;
    tools::ensure(ctx, tool_of(program)).await?;
    let image = ensure_image(ctx, program, image).await?;
    let run_flags = probe(ctx, program, &image).await?;
    Ok(Engine {
        program: program.to_owned(),
        run_flags,
        image,
    })
}

/// The engine a container cell uses on this host, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    /// `podman` or `docker`.
    pub program: &'static str,
    /// Why, in words.
    pub why: String,
    /// What stands in the way when it cannot be used as it is: docker asked for by name,
    /// whose daemon does not answer.
    pub blocked: Option<String>,
}

impl Choice {
    /// The choice as `doctor` and the run's progress show it.
    pub fn check(&self) -> Check {
        Check {
            what: "container engine".into(),
            ok: self.blocked.is_none(),
            detail: format!("{}: {}", self.program, self.why),
            fix: self.blocked.clone(),
            optional: false,
        }
    }
}

/// The engine `kind` stands for on this host. `auto` is podman when it is installed; else
/// docker when its daemon answers (a client on PATH is not an engine: a new machine may ship
/// one with no daemon); else podman, which runs without a daemon and which the harness
/// installs.
pub async fn choose(kind: EngineKind) -> Choice {
    let podman_installed = which::which("podman").is_ok();
    match kind {
        EngineKind::Podman => Choice {
            program: "podman",
            why: "`engine = \"podman\"`".into(),
            blocked: None,
        },
        EngineKind::Docker => {
            let answer = docker_answer().await;
            Choice {
                program: "docker",
                why: match &answer {
                    Ok(version) => format!("`engine = \"docker\"`; its daemon {version} answers"),
                    Err(why) => format!("`engine = \"docker\"`, but {why}"),
                },
                blocked: answer.err().map(|_| docker_fix()),
            }
        }
        EngineKind::Auto if podman_installed => Choice {
            program: "podman",
            why: "installed, and `engine = \"auto\"` prefers it".into(),
            blocked: None,
        },
        EngineKind::Auto => match docker_answer().await {
            Ok(version) => Choice {
                program: "docker",
                why: format!("podman is not installed, and docker's daemon {version} answers"),
                blocked: None,
            },
            Err(why) => Choice {
                program: "podman",
                why: format!("{why}; podman runs without a daemon, and `matrix` installs it"),
                blocked: None,
            },
        },
    }
}

/// Whether docker's daemon answers: its version, or why not. Asked once per process.
async fn docker_answer() -> std::result::Result<String, String> {
    static ANSWER: tokio::sync::OnceCell<std::result::Result<String, String>> =
        tokio::sync::OnceCell::const_new();
    ANSWER
        .get_or_init(|| async {
            if which::which("docker").is_err() {
                return Err("docker is not installed".to_owned());
            }
            match output(&Cmd::new("docker").args(["info", "--format", "{{.ServerVersion}}"]))
                .await
            {
                Ok(out) if out.status.success() => Ok(out.stdout.trim().to_owned()),
                Ok(out) => Err(format!(
                    "docker's client is on PATH, but its daemon does not answer (`docker info`: {})",
                    last_line(&out.stderr)
                )),
                Err(e) => Err(format!("docker's client could not be run: {e}")),
            }
        })
        .await
        .clone()
}

/// The command that makes docker's daemon answer here.
fn docker_fix() -> String {
    let start = "dockerd > /var/log/dockerd.log 2>&1 &   # or: systemctl start docker";
    if which::which("dockerd").is_ok() {
        start.to_owned()
    } else {
        format!(
            "{} && {start}   # or write `engine = \"auto\"` to use podman",
            tools::install_command(tools::DOCKER.packages, tools::DOCKER.program)
        )
    }
}

fn tool_of(program: &str) -> &'static tools::Tool {
    if program == "docker" {
        &tools::DOCKER
    } else {
        &tools::PODMAN
    }
}

/// Whether `program` has `image` (or its local stand-in).
async fn check_image(program: &str, image: &str) -> Check {
    image_check(program, image, find_image(program, image).await.as_deref())
}

/// The check of `image`, which `program` has as `found`.
fn image_check(program: &str, image: &str, found: Option<&str>) -> Check {
    Check {
        what: format!("image {image}"),
        ok: found.is_some(),
        detail: match &found {
            Some(c) => format!("{program} has {c}"),
            None => "missing; `matrix` pulls it, or builds it with debootstrap".into(),
        },
        fix: None,
        optional: false,
    }
}

/// Whether a working run configuration of `program` is remembered.
fn check_config(cache: &Path, program: &str) -> Check {
    let remembered = read_remembered(cache, program);
    Check {
        what: format!("{program} configuration"),
        ok: remembered.is_some(),
        detail: match &remembered {
            Some(r) => describe(&r.run_flags),
            None => "not probed yet; `matrix` probes it".into(),
        },
        fix: None,
        optional: false,
    }
}

/// Everything a container cell of `kind` with `image` needs, as `doctor` shows it.
pub async fn checks(cache: &Path, kind: EngineKind, image: &str) -> Vec<Check> {
    let choice = choose(kind).await;
    let program = choice.program;
    let engine = tools::check(tool_of(program));
    let mut checks = vec![choice.check(), engine.clone()];
    if engine.ok && choice.blocked.is_none() {
        checks.push(check_image(program, image).await);
        checks.push(check_config(cache, program));
    }
    checks
}

/// The local tag an image is built under when it cannot be pulled.
pub fn local_tag(image: &str) -> String {
    let name = image.rsplit('/').next().unwrap_or(image);
    format!("localhost/port-harness/{name}")
}

/// The image the engine has for `image`: the image itself, or its local stand-in.
pub(crate) async fn find_image(program: &str, image: &str) -> Option<String> {
    for candidate in [image.to_owned(), local_tag(image)] {
        let out = output(
            &Cmd::new(program).args(["image", "inspect", "--format", "{{.Id}}", &candidate]),
        )
        .await;
        if out.is_ok_and(|o| o.status.success()) {
            return Some(candidate);
        }
    }
    None
}

/// `debian:bookworm-slim` -> `bookworm`, for images debootstrap can build.
fn debian_suite(image: &str) -> Option<&str> {
    let name = image.rsplit('/').next()?;
    let tag = name.strip_prefix("debian:")?;
    let suite = tag.strip_suffix("-slim").unwrap_or(tag);
    suite
        .chars()
        .all(|c| c.is_ascii_lowercase())
        .then_some(suite)
}

async fn ensure_image(ctx: &Ctx, program: &str, image: &str) -> Result<String> {
    let local = local_tag(image);
    let found = find_image(program, image).await;
    let check = image_check(program, image, found.as_deref());
    if let Some(found) = found {
        ctx.present(&check);
        return Ok(found);
    }
    ctx.provisioning(format!("pulling {image}"));
    let pull = output(&Cmd::new(program).args(["pull", "--quiet", image])).await?;
    if pull.status.success() {
        ctx.provisioned(&check.what, format!("pulled with {program}"));
        return Ok(image.to_owned());
    }
    let Some(suite) = debian_suite(image) else {
        return Err(Error::Prerequisite {
            what: format!("container image {image}"),
            why: format!("{program} cannot pull it: {}", last_line(&pull.stderr)),
            fix: format!("{program} pull {image}   # or {program} load -i IMAGE.tar"),
        });
    };
    tools::ensure(ctx, &tools::DEBOOTSTRAP).await?;
    ctx.provisioning(format!(
        "no registry reachable: building {local} with debootstrap {suite} (once)"
    ));
    let work = tempfile::Builder::new()
        .prefix("rootfs-")
        .tempdir_in(&ctx.cache)
        .map_err(|e| Error::io(&ctx.cache, e))?;
    let rootfs = work.path().join("rootfs");
    let mirror = std::env::var("HARNESS_DEBIAN_MIRROR")
        .unwrap_or_else(|_| "http://deb.debian.org/debian".to_owned());
    checked(
        &Cmd::new("debootstrap")
            .args(["--variant=minbase", suite])
            .arg(&rootfs)
            .arg(&mirror),
    )
    .await
    .map_err(|e| Error::Prerequisite {
        what: format!("a Debian {suite} base image"),
        why: e.to_string(),
        fix: format!("debootstrap --variant=minbase {suite} /tmp/rootfs {mirror} && tar -C /tmp/rootfs -c . | {program} import - {local}"),
    })?;
    let tar = work.path().join("rootfs.tar");
    checked(
        &Cmd::new("tar")
            .arg("-C")
            .arg(&rootfs)
            .arg("-cf")
            .arg(&tar)
            .arg("."),
    )
    .await?;
    checked(&Cmd::new(program).arg("import").arg(&tar).arg(&local)).await?;
    ctx.provisioned(&check.what, format!("built {local} with debootstrap"));
    Ok(local)
}

fn last_line(s: &str) -> &str {
    s.trim().lines().last().unwrap_or("")
}

fn remembered_path(cache: &Path, program: &str) -> PathBuf {
    cache.join(format!("engine-{program}.json"))
}

fn read_remembered(cache: &Path, program: &str) -> Option<Remembered> {
    let bytes = std::fs::read(remembered_path(cache, program)).ok()?;
    serde_json::from_slice(&bytes)
        .ok()
        .filter(|r: &Remembered| r.probe == PROBE)
}

/// Run flags that work: remembered from an earlier probe, or probed now (the engine's
/// defaults first, then the fallback known to work on sandboxed hosts).
async fn probe(ctx: &Ctx, program: &str, image: &str) -> Result<Vec<String>> {
    let check = check_config(&ctx.cache, program);
    if let (true, Some(r)) = (check.ok, read_remembered(&ctx.cache, program)) {
        ctx.present(&check);
        return Ok(r.run_flags);
    }
    let path = remembered_path(&ctx.cache, program);
    ctx.provisioning(format!("probing a working {program} configuration"));
    // podman takes its OCI runtime per run: crun is installed with it, and where a podman
    // was installed without it, crun is added if it can be (runc serves otherwise).
    if program == "podman" && which::which("crun").is_err() && tools::can_apt() {
        let _ = tools::ensure(ctx, &tools::CRUN).await;
    }
    let crun = program == "podman" && which::which("crun").is_ok();
    let mut errors = Vec::new();
    let candidates = std::iter::once(&[][..])
        .chain(FALLBACK_FLAGS)
        .filter(|flags| crun || !flags.contains(&"crun"));
    for flags in candidates {
        let out = try_run(program, image, flags).await?;
        if out.status.success() {
            let mut run_flags: Vec<String> = flags.iter().map(|s| s.to_string()).collect();
            // The cheaper network, where it is installed and works with these flags.
            if program == "podman" && which::which("slirp4netns").is_ok() {
                let cheap = [flags, &CHEAP_NETWORK[..]].concat();
                let out = try_run(program, image, &cheap).await?;
                match out.status.success() {
                    true => run_flags.extend(CHEAP_NETWORK.map(str::to_owned)),
                    false => errors.push(format!(
                        "{} {}: {}",
                        program,
                        cheap.join(" "),
                        last_line(&out.stderr)
                    )),
                }
            }
            let text = serde_json::to_vec_pretty(&Remembered {
                run_flags: run_flags.clone(),
                probe: PROBE,
            })
            .expect("serializes");
            std::fs::write(&path, text).map_err(|e| Error::io(&path, e))?;
            // What did not work, so that a choice of runc says why not crun.
            let detail = match errors.is_empty() {
                true => describe(&run_flags),
                false => format!(
                    "{} (did not work: {})",
                    describe(&run_flags),
                    errors.join("; ")
                ),
            };
            ctx.provisioned(&check.what, detail);
            return Ok(run_flags);
        }
        errors.push(format!(
            "{} {}: {}",
            program,
            flags.join(" "),
            last_line(&out.stderr)
        ));
    }
    Err(Error::Prerequisite {
        what: format!("a working {program}"),
        why: format!(
            "no configuration could run a container:\n  {}",
            errors.join("\n  ")
        ),
        fix: format!("{program} run --rm {image} true   # and fix what it reports"),
    })
}

/// One probe: a container of `image` with `flags` and a published port, which runs `true`.
async fn try_run(program: &str, image: &str, flags: &[&str]) -> Result<crate::process::Output> {
    output(
        &Cmd::new(program)
            .args(["run", "--rm", "--init", "-p", "127.0.0.1::8080"])
            .args(flags)
            .args([image, "true"]),
    )
    .await
}

fn describe(flags: &[String]) -> String {
    if flags.is_empty() {
        "engine defaults".to_owned()
    } else {
        flags.join(" ")
    }
}

/// Removes containers of earlier harness runs whose process is gone (a run killed by
/// SIGKILL cannot clean up after itself), and returns their names. The label query is each
/// engine's own: podman 4 has no `.Label` in `ps` templates, docker's `.Labels` is a string.
pub async fn remove_leftovers(program: &str) -> Result<Vec<String>> {
    let pid_label = if program == "docker" {
        format!("{{{{.Label \"{LABEL}.pid\"}}}}")
    } else {
        format!("{{{{index .Labels \"{LABEL}.pid\"}}}}")
    };
    let mut removed = Vec::new();
    // The pods of `runtime = "pod"` first: removing one removes its containers.
    if program == "podman" {
        let pods = checked(&Cmd::new(program).args([
            "pod",
            "ps",
            "--filter",
            &format!("label={LABEL}"),
            "--format",
            &format!("{{{{.Name}}}} {pid_label}"),
        ]))
        .await?;
        for (name, pid) in named_with_pid(&pods) {
            if !pid.is_some_and(crate::process::alive) {
                checked(&Cmd::new(program).args(["pod", "rm", "--force", "--time", "0", name]))
                    .await?;
                removed.push(format!("pod {name}"));
            }
        }
    }
    let containers = checked(&Cmd::new(program).args([
        "ps",
        "-a",
        "--filter",
        &format!("label={LABEL}"),
        "--format",
        &format!("{{{{.Names}}}} {pid_label}"),
    ]))
    .await?;
    for (name, pid) in named_with_pid(&containers) {
        if !pid.is_some_and(crate::process::alive) {
            checked(&Cmd::new(program).args(["rm", "--force", name])).await?;
            removed.push(name.to_owned());
        }
    }
    Ok(removed)
}

/// Each line's name and the pid after it, when it has one.
fn named_with_pid(text: &str) -> Vec<(&str, Option<u32>)> {
    text.lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let name = words.next()?;
            Some((name, words.next().and_then(|p| p.parse().ok())))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debian_images_map_to_suites() {
        assert_eq!(debian_suite("debian:bookworm-slim"), Some("bookworm"));
        assert_eq!(
            debian_suite("docker.io/library/debian:trixie"),
            Some("trixie")
        );
        assert_eq!(debian_suite("debian:12"), None);
        assert_eq!(debian_suite("ubuntu:24.04"), None);
        assert_eq!(
            local_tag("docker.io/library/debian:bookworm-slim"),
            "localhost/port-harness/debian:bookworm-slim"
        );
    }

    #[test]
    fn an_engine_names_its_oci_runtime_and_network_from_its_run_flags() {
        let engine = |flags: &[&str]| Engine {
            program: "podman".into(),
            run_flags: flags.iter().map(|f| f.to_string()).collect(),
            image: "debian:bookworm-slim".into(),
        };
        let probed = engine(
            &[
                &["--runtime", "runc", "--ulimit", "nofile=1024:1024"],
                &CHEAP_NETWORK[..],
            ]
            .concat(),
        );
        assert_eq!(probed.oci_runtime(), Some("runc"));
        assert_eq!(probed.network(), Some("slirp4netns"));
        let defaults = engine(&[]);
        assert_eq!((defaults.oci_runtime(), defaults.network()), (None, None));
    }
}
