//! The sample server launched on each real runtime through the harness's library: a Windows
//! build under Wine must say it runs as Windows, and the Linux build in the container must
//! see Debian's `/etc/debian_version`.

use std::time::Duration;

use harness::events::Events;
use harness::plan::{Selection, plan};
use harness::provision::{Ctx, Needs, cache_dir, provision};
use harness::runtime::{Launch, for_target, server_env};
use matrix_tests::{leftovers_after, root, serial};

/// Builds the sample server for `cell`, launches it in the cell's runtime, returns what its
/// `/info` says and what `podman ps` showed while it ran.
async fn info_of(cell: &str) -> (serde_json::Value, String) {
    let matrix =
        harness::Matrix::load(&root().join("matrix.toml"), harness::runtime::kinds()).unwrap();
    let selection = Selection {
        cells: vec![cell.to_owned()],
        ..Selection::default()
    };
    let p = plan(&matrix, &selection).unwrap();
    let ctx = Ctx {
        cache: cache_dir(),
        events: Events::none(),
    };
    let provisioned = provision(&Needs::of(&matrix, [cell]), &ctx).await.unwrap();
    let out = tempfile::tempdir().unwrap();
    let c = matrix.cell(cell).unwrap();
    assert!(p.active_cells().any(|a| a.name == cell));
    let artifacts = harness::build::build_all(
        &matrix,
        &[c],
        &provisioned.cargo_env,
        out.path(),
        &Events::none(),
    )
    .await
    .unwrap();
    let artifact = artifacts[cell].clone().unwrap();
    let runtime = for_target(
        &matrix.target(&c.target).unwrap().runtime,
        &provisioned,
        &out.path().join("scratch"),
    )
    .unwrap();
    let data = out.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let launch = Launch {
        cell: c,
        artifact: &artifact,
        port: harness::process::free_port().unwrap(),
        data_dir: &data,
        logs: &harness::runtime::ServerLogs::of(out.path(), "info"),
        args: &matrix.server.args,
        env: server_env(&matrix, c),
        name: format!("port-harness-e2e-{}-{cell}", std::process::id()),
    };
    let reservation = runtime
        .try_reserve()
        .unwrap()
        .expect("the runtime has room");
    runtime.prepare(&reservation).await.unwrap();
    let mut server = runtime.start(&launch, &reservation).await.unwrap();
    server.wait_ready(&matrix.server.ready).await.unwrap();
    let url = format!("{}/info", server.base_url);
    let info = tokio::task::spawn_blocking(move || {
        let body = ureq::get(&url)
            .call()
            .unwrap()
            .body_mut()
            .read_to_string()
            .unwrap();
        serde_json::from_str::<serde_json::Value>(&body).unwrap()
    })
    .await
    .unwrap();
    let ps = harness::process::checked(&harness::process::Cmd::new("podman").args([
        "ps",
        "--filter",
        "label=io.port-harness",
        "--format",
        "{{.Names}} {{.Image}}",
    ]))
    .await
    .unwrap_or_default();
    server.stop(Duration::from_secs(10)).await;
    (info, ps)
}

/// Runs `info_of` on a runtime of its own, with the serial lock held outside it.
fn launched(cell: &str) -> (serde_json::Value, String) {
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(info_of(cell))
}

#[test]
fn windows_build_runs_as_windows_under_wine() {
    let _serial = serial();
    let (info, _) = launched("windows");
    assert_eq!(info["os"], "windows", "{info}");
    assert_eq!(info["path_separator"], "\\");
    assert_eq!(info["shell"], "cmd /C");
    assert!(info["debian_version"].is_null(), "{info}");
    let left = leftovers_after(15);
    assert!(left.is_empty(), "left behind: {left:#?}");
}

#[test]
fn debian_build_runs_in_a_debian_bookworm_container() {
    let _serial = serial();
    let (info, ps) = launched("debian");
    assert_eq!(info["os"], "linux", "{info}");
    let version = info["debian_version"]
        .as_str()
        .expect("/etc/debian_version exists in the container");
    assert!(
        version.starts_with("12."),
        "bookworm is Debian 12, got {version}"
    );
    assert!(
        ps.contains("port-harness-e2e-"),
        "the container ran under the harness's label: {ps}"
    );
    let left = leftovers_after(15);
    assert!(left.is_empty(), "left behind: {left:#?}");
}

/// dockerd for the test: started (after installing Debian's docker.io, as root) when no
/// docker engine answers, and stopped when the test ends.
struct Dockerd(Option<std::process::Child>);

impl Dockerd {
    fn answers() -> bool {
        !matrix_tests::engine_output("docker", &["info", "--format", "{{.ServerVersion}}"])
            .trim()
            .is_empty()
    }

    fn ensure() -> Dockerd {
        if Self::answers() {
            return Dockerd(None);
        }
        if which::which("dockerd").is_err() {
            let _ = matrix_tests::command("apt-get")
                .args(["update", "-qq"])
                .output();
            let out = matrix_tests::command("apt-get")
                .args(["install", "-y", "-qq", "docker.io"])
                .env("DEBIAN_FRONTEND", "noninteractive")
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "install docker with: apt-get install -y docker.io\n{}",
                matrix_tests::text(&out)
            );
        }
        let log = std::fs::File::create(root().join("target/dockerd.log")).unwrap();
        let mut cmd = matrix_tests::command("dockerd");
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let child = cmd
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let daemon = Dockerd(Some(child));
        for _ in 0..120 {
            if Self::answers() {
                return daemon;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        panic!("dockerd did not answer within a minute; see target/dockerd.log");
    }
}

impl Drop for Dockerd {
    fn drop(&mut self) {
        if let Some(child) = &mut self.0 {
            // SAFETY: signalling the process group the test created for dockerd.
            unsafe {
                libc::killpg(child.id() as libc::pid_t, libc::SIGTERM);
            }
            let _ = child.wait();
        }
    }
}

#[test]
fn debian_build_runs_in_a_docker_container_through_the_same_code() {
    let _serial = serial();
    let _docker = Dockerd::ensure();
    let config = matrix_tests::variant("docker", &[("engine = \"auto\"", "engine = \"docker\"")]);
    let cache = harness::provision::cache_dir();
    let run = matrix_tests::matrix_json(
        &config,
        &[
            "--cell", "debian", "--suite", "platform", "--suite", "tasks",
        ],
    );
    assert_eq!(run.code, Some(0), "{}", run.text);
    for start in run.events_of("server-starting") {
        assert!(
            start["command"]
                .as_str()
                .unwrap()
                .starts_with("docker run --rm --init"),
            "{start}"
        );
    }
    // docker's defaults work here, so the remembered configuration has no fallback flags.
    let remembered: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(cache.join("engine-docker.json")).unwrap())
            .unwrap();
    assert_eq!(
        remembered["run_flags"],
        serde_json::json!([]),
        "{remembered}"
    );
    assert_eq!(
        run.job("tasks@debian")["cases"].as_array().unwrap().len(),
        6
    );
    // What a harness killed with SIGKILL leaves in docker: a running container with the
    // harness's labels and a pid that no longer lives. The next run removes it.
    let dead = u32::MAX - 7;
    let image = matrix_tests::engine_output(
        "docker",
        &[
            "image",
            "ls",
            "--format",
            "{{.Repository}}:{{.Tag}}",
            "localhost/port-harness/debian",
        ],
    );
    let image = image.lines().next().expect("the run provisioned the image");
    let leftover = format!("port-harness-{dead}-debian-killed");
    let started = matrix_tests::command("docker")
        .args(["run", "-d", "--init", "--name", &leftover])
        .args(["--label", "io.port-harness=1"])
        .args(["--label", &format!("io.port-harness.pid={dead}")])
        .args([image, "sleep", "600"])
        .output()
        .unwrap();
    assert!(started.status.success(), "{}", matrix_tests::text(&started));
    let next = matrix_tests::matrix_json(&config, &["--cell", "debian", "--suite", "platform"]);
    assert_eq!(next.code, Some(0), "{}", next.text);
    let removed = next.events_of("leftovers-removed");
    assert_eq!(
        removed[0]["removed"],
        serde_json::json!([format!("docker container {leftover}")]),
        "the next run removes what a killed run left in docker"
    );
    let left = leftovers_after(15);
    assert!(left.is_empty(), "left behind: {left:#?}");
}

#[test]
fn on_a_new_machine_auto_takes_podman_over_a_docker_client_with_no_daemon_and_installs_it() {
    let _serial = serial();
    let config = root().join("matrix.toml");
    let config = config.to_str().unwrap();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    // doctor names podman, says why, and never calls the daemonless client ok.
    let (mut doctor, _layers) = matrix_tests::on_a_new_machine(
        &cargo,
        &["xtask", "doctor", "--config", config, "--format", "json"],
    );
    let out = doctor.current_dir(root()).output().unwrap();
    let checks: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", matrix_tests::text(&out)));
    let check = |what: &str| {
        checks
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["what"].as_str().unwrap().starts_with(what))
            .unwrap_or_else(|| panic!("no `{what}` check: {checks:#}"))
            .clone()
    };
    let engine = check("container engine");
    let detail = engine["detail"].as_str().unwrap();
    assert!(detail.starts_with("podman: "), "{engine}");
    assert!(
        detail.contains("docker's client is on PATH, but its daemon does not answer"),
        "{engine}"
    );
    let podman = check("podman");
    assert_eq!(
        podman["ok"], false,
        "podman is not installed there: {podman}"
    );
    assert!(
        podman["detail"]
            .as_str()
            .unwrap()
            .contains("`matrix` installs it"),
        "{podman}"
    );
    assert!(
        !checks
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["what"].as_str().unwrap().starts_with("docker")),
        "docker is not checked as an engine: {checks:#}"
    );
    // The run installs podman and runs the container cell in it.
    let out_dir = root().join(format!("target/e2e/new-machine-{}", std::process::id()));
    let (mut run, _layers) = matrix_tests::on_a_new_machine(
        &cargo,
        &[
            "xtask",
            "matrix",
            "--config",
            config,
            "--cell",
            "debian",
            "--suite",
            "health",
            "--out",
            out_dir.to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    let run = matrix_tests::Run::of(&run.current_dir(root()).output().unwrap());
    assert_eq!(run.code, Some(0), "{}", run.text);
    let installed = run
        .events
        .iter()
        .find(|e| {
            e["what"]
                .as_str()
                .is_some_and(|w| w.starts_with("podman ("))
        })
        .unwrap_or_else(|| panic!("no podman prerequisite event:\n{}", run.text));
    assert_eq!(installed["state"], "provisioned", "{installed}");
    // With slirp4netns installed beside podman, each container has a network stack of its
    // own with its port forwarded by slirp4netns, not the bridge's veth and firewall rules.
    for start in run.events_of("server-starting") {
        let command = start["command"].as_str().unwrap();
        assert!(command.starts_with("podman run"), "{start}");
        assert!(
            command.contains(" --network 'slirp4netns:port_handler=slirp4netns' "),
            "{start}"
        );
    }
    assert_eq!(run.job("health@debian")["error"], serde_json::Value::Null);
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("results.json")).unwrap())
            .unwrap();
    let by = results["provenance"]["cells"]["debian"]["by"]
        .as_str()
        .unwrap();
    assert!(by.contains(", slirp4netns network, "), "{by}");
    let left = leftovers_after(15);
    assert!(left.is_empty(), "left behind: {left:#?}");
}
