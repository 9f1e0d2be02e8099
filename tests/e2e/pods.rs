//! The Linux build as a Kubernetes pod (`runtime = "pod"`, run by `podman kube play`) beside
//! the sample's container cell: GO on the whole plan with every manifest kept in the log
//! folder, the sample's temp-folder hazard shown by a read-only root filesystem on the pod
//! cell only, and nothing left (no pod, no container, no process) after a pass, a failure,
//! Ctrl-C, and a SIGKILL of the harness (the next run removes the pod).

use std::path::{Path, PathBuf};

use crate::faults::{Started, eventually, processes};
use matrix_tests::{leftovers, leftovers_after, matrix_json, scenario, serial, variant};

/// The sample's matrix with a pod target beside its container target; `settings` are the
/// pod target's further keys, `more` further replacements.
fn pod_matrix(name: &str, settings: &str, more: &[(&str, &str)]) -> PathBuf {
    let pod = format!(
        "[[target]]\nname = \"debian-pod\"\ntriple = \"x86_64-unknown-linux-gnu\"\nruntime = \"pod\"\nimage = \"debian:bookworm-slim\"\n{settings}\n[snapshots]"
    );
    let mut replacements = vec![("[snapshots]", pod.as_str())];
    replacements.extend_from_slice(more);
    variant(name, &replacements)
}

/// The manifest a job of `suite` on the pod cell ran, as YAML.
fn manifest(config: &Path, suite: &str) -> serde_yaml_ng::Value {
    let file = config
        .parent()
        .unwrap()
        .join("out/logs/debian-pod")
        .join(format!("{suite}.pod.yaml"));
    let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    serde_yaml_ng::from_str(&text).unwrap()
}

fn assert_clean(what: &str) {
    let left = leftovers_after(15);
    assert!(left.is_empty(), "left after {what}: {left:#?}");
}

#[test]
fn the_sample_is_go_on_a_pod_cell_beside_its_container_cell_with_every_manifest_kept() {
    let _serial = serial();
    assert!(leftovers().is_empty(), "{:?}", leftovers());
    let config = pod_matrix("pod-go", "", &[]);
    // The pod cell's first snapshots are new: accepted, they are its baselines.
    let first = matrix_json(&config, &["--accept"]);
    assert_eq!(first.code, Some(0), "{}", first.text);
    let run = matrix_json(&config, &[]);
    assert_eq!(run.verdict(), "go", "{}", run.text);
    assert_eq!(run.results["scope"]["sign_off"], true, "{}", run.text);
    let execution = &run.results["provenance"]["cells"]["debian-pod"];
    assert_eq!(execution["kind"], "pod", "{execution}");
    assert!(
        execution["by"].as_str().unwrap().contains("kube play"),
        "{execution}"
    );
    let pod_jobs: Vec<&serde_json::Value> = run.results["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|j| j["cell"] == "debian-pod")
        .collect();
    assert_eq!(pod_jobs.len(), 6, "{}", run.text);
    // The pod cell is compared with the primary like any cell, and agrees with it.
    assert!(
        run.divergences().iter().all(|d| d.3 != "debian-pod"),
        "{:?}",
        run.divergences()
    );
    for job in pod_jobs {
        assert!(job["error"].is_null(), "{job}");
        let suite = job["suite"].as_str().unwrap();
        let m = manifest(&config, suite);
        assert_eq!(m["kind"], "Pod");
        let c = &m["spec"]["containers"][0];
        assert_eq!(c["ports"][0]["hostIP"], "127.0.0.1", "{suite}");
        assert_eq!(m["spec"]["volumes"][1]["name"], "data", "{suite}");
        assert!(c["securityContext"].get("readOnlyRootFilesystem").is_none());
    }
    assert_clean("a passing run");
}

#[test]
fn a_read_only_root_filesystem_shows_the_sample_s_temp_folder_hazard_on_the_pod_cell_only() {
    let _serial = serial();
    let config = pod_matrix("pod-read-only", "read_only_root_filesystem = true", &[]);
    let run = matrix_json(
        &config,
        &[
            "--cell",
            "debian",
            "--cell",
            "debian-pod",
            "--suite",
            "packages",
        ],
    );
    assert_eq!(run.verdict(), "no-go", "{}", run.text);
    // The server stages every upload in the system's temp folder: a pod whose root
    // filesystem is read-only has none it can write, and only there do uploads fail.
    for case in ["upload-and-download", "overwrite", "delete"] {
        assert_eq!(
            run.case("packages", case, "debian")["status"],
            "passed",
            "{case}"
        );
        let pod = run.case("packages", case, "debian-pod");
        assert_eq!(pod["status"], "failed", "{case}: {pod}");
        assert!(
            pod["detail"]
                .as_str()
                .unwrap_or_default()
                .contains("Read-only file system"),
            "{case}: {pod}"
        );
    }
    let m = manifest(&config, "packages");
    assert_eq!(
        m["spec"]["containers"][0]["securityContext"]["readOnlyRootFilesystem"],
        true
    );
    assert_clean("a failing run");
}

#[test]
fn a_pod_that_must_not_run_as_root_owns_its_data_dir_and_shows_what_root_changed() {
    let _serial = serial();
    let config = pod_matrix("pod-non-root", "run_as_non_root = true", &[]);
    let run = matrix_json(
        &config,
        &[
            "--cell",
            "debian",
            "--cell",
            "debian-pod",
            "--suite",
            "projects",
            "--suite",
            "tasks",
        ],
    );
    // The data dir is the pod user's volume, as in production: writes pass.
    for case in ["create-and-get", "rename", "delete"] {
        let pod = run.case("projects", case, "debian-pod");
        assert_eq!(pod["status"], "passed", "{case}: {pod}\n{}", run.text);
    }
    // What the server's shell sees does change: the user's home.
    let diverged: Vec<(String, String)> = run
        .divergences()
        .into_iter()
        .filter(|d| d.3 == "debian-pod")
        .map(|d| (d.0, d.1))
        .collect();
    assert_eq!(
        diverged,
        [("tasks".to_owned(), "environment-variable".to_owned())],
        "{}",
        run.text
    );
    let out = config.parent().unwrap().join("out");
    let shown = matrix_tests::xtask_command(
        &matrix_tests::root(),
        &[
            "show",
            "tasks/environment-variable",
            "--config",
            config.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
    );
    let shown = matrix_tests::text(&shown);
    assert!(shown.contains("/nonexistent"), "{shown}");
    let m = manifest(&config, "tasks");
    let security = &m["spec"]["containers"][0]["securityContext"];
    assert_eq!(security["runAsNonRoot"], true);
    assert_eq!(security["runAsUser"], 65534);
    assert_clean("a run as a user that is not root");
}

#[test]
fn a_pod_s_server_that_exits_is_reported_with_its_own_exit_code() {
    let _serial = serial();
    let config = scenario(
        "pod-exit",
        r#"primary = "pod"

[server]
args = ["--listen", "{addr}"]

[server.ready]
http = "/health"
timeout = "20s"

[[target]]
name = "pod"
triple = "x86_64-unknown-linux-gnu"
runtime = "pod"
image = "debian:bookworm-slim"
build = { artifact = "server.sh" }

[[suite]]
name = "health"
kind = "http"
path = "{root}/fixtures/suites/health"
scope = "agnostic"
"#,
    );
    let server = config.parent().unwrap().join("server.sh");
    std::fs::write(
        &server,
        "#!/bin/sh\necho 'cannot open the store' >&2\nexit 3\n",
    )
    .unwrap();
    std::fs::set_permissions(&server, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let run = matrix_json(&config, &[]);
    assert_eq!(run.code, Some(1), "{}", run.text);
    let error = run.job("health@pod")["error"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        error.contains("exited (exit code 3 of the pod's server) before it was ready"),
        "{error}"
    );
    assert!(error.contains("cannot open the store"), "{error}");
    assert_clean("a pod whose server exited");
}

#[test]
fn a_pod_run_interrupted_or_killed_leaves_nothing() {
    let _serial = serial();
    let config = pod_matrix(
        "pod-interrupt",
        "",
        &[(
            "command = [\"cargo\", \"test\", \"--quiet\", \"-p\", \"deploy-client-tests\", \"--\", \"--test-threads=1\"]",
            "command = [\"sleep\", \"2923\"]",
        )],
    );
    let args = ["--cell", "debian-pod", "--suite", "client"];

    // Ctrl-C while the pod's server is up and its suite runs.
    let mut run = Started::new(&config, &args);
    run.wait_for("server-ready", 300);
    eventually(20, "the suite's command", || {
        !processes("sleep 2923").is_empty()
    });
    let (code, took, seen) = run.interrupt();
    assert_eq!(code, Some(130), "{}", seen.join("\n"));
    assert!(took.as_secs() < 10, "Ctrl-C took {took:?}");
    assert_clean("Ctrl-C");

    // SIGKILL: the pod outlives the harness; the next run finds it by its label and dead
    // owner, removes it, and says so.
    let mut run = Started::new(&config, &args);
    run.wait_for("server-ready", 300);
    eventually(20, "the suite's command", || {
        !processes("sleep 2923").is_empty()
    });
    // SAFETY: killing the harness process this test started.
    unsafe {
        libc::kill(run.harness_pid() as libc::pid_t, libc::SIGKILL);
    }
    let _ = run.child.wait();
    let pods = matrix_tests::engine_output(
        "podman",
        &[
            "pod",
            "ps",
            "--filter",
            "label=io.port-harness",
            "--format",
            "{{.Name}}",
        ],
    );
    assert!(
        !pods.trim().is_empty(),
        "the killed run's pod is kept by podman"
    );
    let next = matrix_json(&config, &["--cell", "debian-pod", "--suite", "platform"]);
    assert_eq!(next.code, Some(4), "new snapshots only:\n{}", next.text);
    let removed = next.events_of("leftovers-removed");
    assert_eq!(removed.len(), 1, "{}", next.text);
    let removed = removed[0]["removed"].to_string();
    for pod in pods.lines() {
        assert!(
            removed.contains(&format!("pod {pod}")),
            "{pod} in {removed}"
        );
    }
    assert_clean("a SIGKILL and the next run");
}
