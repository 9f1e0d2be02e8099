//! A pod cell in a Kubernetes cluster (`runtime = "pod"` with a `context`), where no cluster
//! runs: its generated CI (a kind cluster on GitHub, read by actionlint; a job of its own
//! that installs kubectl on GitLab, read against GitLab's schema), a run that stops at once
//! when kubectl does not know the context, naming those it knows, and the sample's pod cell
//! run through the CLI against a stand-in kubectl whose one-node cluster is this machine
//! (`tests/src/bin/fake-kubectl.rs`): the real Linux build in each pod, its data dir read
//! back, nothing left, never reused from the result cache.

use std::path::{Path, PathBuf};

use crate::reports::{actionlint, check_jsonschema};
use matrix_tests::{
    NO_CACHE, Run, command, leftovers, root, serial, text, variant, xtask_cmd, xtask_command,
};

/// The sample's matrix with a pod target in the cluster of `context`, with `settings`.
fn cluster_matrix(name: &str, context: &str, settings: &str) -> PathBuf {
    let pod = format!(
        "[[target]]\nname = \"debian-k8s\"\ntriple = \"x86_64-unknown-linux-gnu\"\nruntime = \"pod\"\nimage = \"debian:bookworm-slim\"\ncontext = \"{context}\"\nnamespace = \"ports\"\npull = \"never\"\n{settings}\n\n[snapshots]"
    );
    variant(name, &[("[snapshots]", pod.as_str())])
}

fn generate(config: &Path, system: &str, out: &Path) {
    let generated = xtask_command(
        &root(),
        &[
            "ci",
            system,
            "--config",
            config.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert!(generated.status.success(), "{}", text(&generated));
}

#[test]
fn a_cluster_pod_cell_gets_a_kind_cluster_on_github_and_a_kubectl_job_on_gitlab() {
    let config = cluster_matrix("cluster-ci", "kind-ci", "read_only_root_filesystem = true");
    let dir = config.parent().unwrap();
    let workflow = dir.join("matrix.yml");
    let pipeline = dir.join("gitlab-ci.yml");
    generate(&config, "github", &workflow);
    generate(&config, "gitlab", &pipeline);
    let out = actionlint(&workflow);
    assert!(out.status.success(), "actionlint: {}", text(&out));
    let out = check_jsonschema("vendor.gitlab-ci", &pipeline);
    assert!(out.status.success(), "GitLab's schema: {}", text(&out));

    // GitHub: the cell's entry names its kind cluster and image; the steps that create the
    // cluster and load the image run for it alone, the image reaching bash as a variable.
    let yaml: serde_json::Value =
        serde_yaml_ng::from_str(&std::fs::read_to_string(&workflow).unwrap()).unwrap();
    let cell = &yaml["jobs"]["cell"];
    let entries = cell["strategy"]["matrix"]["include"].as_array().unwrap();
    let k8s = entries.iter().find(|e| e["cell"] == "debian-k8s").unwrap();
    assert_eq!(k8s["cluster"], "ci");
    assert_eq!(k8s["image"], "debian:bookworm-slim");
    assert_eq!(k8s["os"], "ubuntu-latest");
    let container = entries.iter().find(|e| e["cell"] == "debian").unwrap();
    assert!(container.get("cluster").is_none(), "{container}");
    let steps = cell["steps"].as_array().unwrap();
    let step = |name: &str| {
        steps
            .iter()
            .find(|s| s["name"] == name)
            .unwrap_or_else(|| panic!("no step `{name}`: {steps:#?}"))
    };
    let create = step("Create the kind cluster of a pod cell");
    assert_eq!(create["uses"], "helm/kind-action@v1.12.0", "pinned");
    assert_eq!(create["if"], "matrix.cluster != ''");
    assert_eq!(create["with"]["cluster_name"], "${{ matrix.cluster }}");
    let load = step("Load the pod cell's image into the cluster");
    assert_eq!(load["env"]["IMAGE"], "${{ matrix.image }}");
    assert!(
        !load["run"].as_str().unwrap().contains("${{"),
        "values reach bash as variables: {load}"
    );
    let position = |name: &str| steps.iter().position(|s| s["name"] == name).unwrap();
    assert!(
        position("Load the pod cell's image into the cluster") < position("Run the cell"),
        "the cluster is ready before the cell runs"
    );

    // GitLab: the cluster's cells have a job of their own that installs kubectl and says
    // what its kubeconfig must hold; the sign-off waits for it.
    let text_yaml = std::fs::read_to_string(&pipeline).unwrap();
    assert!(
        text_yaml.contains("GitLab's agent for Kubernetes"),
        "{text_yaml}"
    );
    let yaml: serde_json::Value = serde_yaml_ng::from_str(&text_yaml).unwrap();
    // The cells of a job's `parallel:matrix`.
    let cells_of = |job: &str| -> Vec<String> {
        yaml[job]["parallel"]["matrix"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|l| l["CELL"].as_array().unwrap())
            .map(|c| c.as_str().unwrap().to_owned())
            .collect()
    };
    let job = &yaml["cell-kubernetes"];
    assert_eq!(cells_of("cell-kubernetes"), ["debian-k8s"]);
    assert!(
        job["before_script"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l.as_str().unwrap().contains("dl.k8s.io")),
        "{job:#}"
    );
    let linux = cells_of("cell-linux");
    assert!(!linux.iter().any(|c| c == "debian-k8s"), "{linux:?}");
    assert!(
        yaml["sign-off"]["needs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["job"] == "cell-kubernetes"),
        "{:#}",
        yaml["sign-off"]
    );
}

#[test]
fn a_context_kubectl_does_not_know_stops_the_run_at_once_with_the_contexts_it_has() {
    // A kubectl that knows one context, `kind-ci`, first on PATH.
    let bin = tempfile::tempdir().unwrap();
    let kubectl = bin.path().join("kubectl");
    std::fs::write(
        &kubectl,
        "#!/bin/sh\nif [ \"$1 $2\" = \"config get-contexts\" ]; then echo kind-ci; exit 0; fi\necho \"unexpected: $*\" >&2\nexit 1\n",
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&kubectl, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let config = cluster_matrix("cluster-unknown-context", "kind-elsewhere", "");
    let path = format!(
        "{}:{}",
        bin.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let out = command(&cargo)
        .args(["xtask", "matrix", "--config"])
        .arg(&config)
        .args(["--cell", "debian-k8s", "--format", "json"])
        .env("PATH", &path)
        .current_dir(root())
        .output()
        .unwrap();
    let said = text(&out);
    assert_eq!(out.status.code(), Some(3), "{said}");
    assert!(said.contains("kubectl context `kind-elsewhere`"), "{said}");
    assert!(said.contains("it has `kind-ci`"), "{said}");
    assert!(said.contains("kubectl config get-contexts"), "{said}");
    assert!(
        !config
            .parent()
            .unwrap()
            .join("out/logs/debian-k8s/files.pod.yaml")
            .exists(),
        "no pod was made"
    );
}

#[test]
fn the_sample_runs_as_pods_through_kubectl_its_data_dir_read_back_and_nothing_left() {
    let _serial = serial();
    assert!(leftovers().is_empty(), "{:?}", leftovers());
    let config = cluster_matrix("cluster-run", "kind-ci", "");
    let dir = config.parent().unwrap().to_owned();
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let _ = std::fs::remove_file(bin.join("kubectl"));
    #[cfg(unix)]
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_fake-kubectl"), bin.join("kubectl")).unwrap();
    let state = dir.join("cluster");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let cfg = config.to_str().unwrap();
    let run = || {
        let out = xtask_cmd(
            &root(),
            &[
                "matrix",
                "--config",
                cfg,
                "--format",
                "json",
                "--cell",
                "debian",
                "--cell",
                "debian-k8s",
            ],
        )
        .env("PATH", &path)
        .env("FAKE_KUBECTL_STATE", &state)
        .env_remove(NO_CACHE)
        .output()
        .unwrap();
        Run::of(&out)
    };
    let first = run();
    assert_eq!(first.verdict(), "no-go", "{}", first.text);
    let jobs: Vec<&serde_json::Value> = first.results["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|j| j["cell"] == "debian-k8s")
        .collect();
    assert_eq!(jobs.len(), 6, "the pod cell's per-target suites");
    for job in &jobs {
        assert!(job["error"].is_null(), "{job:#}");
    }
    // What the server wrote in the pod was read back after every case of `files`: each has
    // its data dir's tree, compared with the container cell's (a tree without the server's
    // writes would diverge below).
    let files: Vec<&serde_json::Value> = first.results["runs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["suite"] == "files" && r["cell"] == "debian-k8s" && r["case"] != "+log")
        .collect();
    assert!(files.len() > 3, "{files:#?}");
    for run_of_case in files {
        assert!(
            run_of_case["snapshots"]
                .as_array()
                .unwrap()
                .iter()
                .any(|s| s.as_str().unwrap().contains(".+data-dir@debian-k8s")),
            "{run_of_case:#}"
        );
    }
    // One difference, the runtime's: `kubectl logs` gives the server's two streams as one,
    // so the line the server writes to its standard error is in the log's stdout (with the
    // stand-in's data dir, a folder of this machine, where a pod's says `/data`).
    let diverging: Vec<(String, String)> = first
        .divergences()
        .into_iter()
        .filter(|d| d.3 == "debian-k8s")
        .map(|d| (d.0, d.1))
        .collect();
    assert_eq!(
        diverging,
        [("files".to_owned(), "+log".to_owned())],
        "{}",
        first.text
    );
    let log = std::fs::read_to_string(dir.join("snapshots/files__+log.server@debian-k8s.snap.new"))
        .unwrap();
    assert!(
        log.contains("[stdout]\ndeploy-server 0.1.0 (linux): listening"),
        "{log}"
    );
    assert!(!log.contains("[stderr]"), "{log}");
    let execution = &first.results["provenance"]["cells"]["debian-k8s"];
    assert_eq!(execution["kind"], "pod");
    let by = execution["by"].as_str().unwrap();
    assert!(
        by.contains("kubectl v1.32.4, cluster v1.31.0-fake, context kind-ci, namespace ports"),
        "{by}"
    );
    assert_eq!(execution["unpinned"], true);
    let manifest: serde_json::Value = serde_yaml_ng::from_str(
        &std::fs::read_to_string(dir.join("out/logs/debian-k8s/files.pod.yaml")).unwrap(),
    )
    .unwrap();
    assert_eq!(manifest["spec"]["initContainers"][0]["name"], "stage");
    assert_eq!(
        manifest["spec"]["containers"][0]["imagePullPolicy"],
        "Never"
    );
    // Every pod applied was deleted, and nothing of the run is left on this machine.
    let applied = std::fs::read_dir(state.join("pods")).unwrap().count();
    assert_eq!(applied, 6);
    for pod in std::fs::read_dir(state.join("pods")).unwrap() {
        let pod = pod.unwrap().path();
        assert!(pod.join("deleted").exists(), "{} was left", pod.display());
    }
    assert!(leftovers().is_empty(), "{:?}", leftovers());

    // Again, with the result cache: the container cell's jobs are reused, the pods' run
    // again (the cluster pulls its image by name).
    let second = run();
    assert_eq!(second.verdict(), "no-go", "{}", second.text);
    let cached: Vec<String> = second
        .events_of("jobs-cached")
        .iter()
        .flat_map(|e| e["jobs"].as_array().unwrap().iter())
        .map(|j| j["cell"].as_str().unwrap().to_owned())
        .collect();
    assert!(cached.iter().any(|c| c == "debian"), "{}", second.text);
    assert!(!cached.iter().any(|c| c == "debian-k8s"), "{cached:?}");
    assert_eq!(std::fs::read_dir(state.join("pods")).unwrap().count(), 12);
}
