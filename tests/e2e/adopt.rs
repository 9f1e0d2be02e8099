//! A team's own repository, as an adopter has it: no cargo workspace, a server built
//! elsewhere (prebuilt binaries named as artifacts), a matrix in a folder whose name a shell
//! would split. The run ends in a verdict with its reports beside the matrix, and the CI
//! files generated there name no path of this machine, quote the matrix for the shells that
//! read them, install the harness at a pinned commit, and pass actionlint and GitLab's schema.

use std::path::{Path, PathBuf};

use matrix_tests::{Run, command, copy_tree, root, serial, text};

use super::reports::{actionlint, check_jsonschema};

/// The sample server's Windows and Linux builds, as this repository's matrix builds them (a
/// per-target suite on both cells, so that both are built).
fn sample_builds() -> (PathBuf, PathBuf) {
    let out = tempfile::tempdir().unwrap();
    let built = matrix_tests::xtask_command(
        &root(),
        &[
            "matrix",
            "--suite",
            "platform",
            "--cell",
            "windows",
            "--cell",
            "debian",
            "--out",
            out.path().to_str().unwrap(),
        ],
    );
    assert_eq!(built.status.code(), Some(0), "{}", text(&built));
    let target = root().join("target");
    (
        target.join("x86_64-pc-windows-gnu/debug/deploy-server.exe"),
        target.join("x86_64-unknown-linux-gnu/debug/deploy-server"),
    )
}

/// A git repository outside every cargo workspace holding the sample's prebuilt binaries,
/// two of its suites, its seed and their baselines, and a matrix that names only artifacts,
/// at `my dir/matrix $(id).toml`. Returns the repository and the matrix file.
fn adopting_repository() -> (tempfile::TempDir, PathBuf) {
    let (windows, linux) = sample_builds();
    let repo = tempfile::Builder::new().prefix("adopt-").tempdir().unwrap();
    let init = command("git")
        .arg("init")
        .arg("-q")
        .arg(repo.path())
        .output()
        .unwrap();
    assert!(init.status.success(), "{}", text(&init));
    let dir = repo.path().join("my dir");
    std::fs::create_dir_all(dir.join("bin")).unwrap();
    std::fs::copy(windows, dir.join("bin/deploy-server.exe")).unwrap();
    std::fs::copy(linux, dir.join("bin/deploy-server")).unwrap();
    for suite in ["health", "packages"] {
        copy_tree(
            &root().join("fixtures/suites").join(suite),
            &dir.join("suites").join(suite),
        );
    }
    copy_tree(&root().join("fixtures/seed"), &dir.join("seed"));
    std::fs::create_dir_all(dir.join("snapshots")).unwrap();
    for entry in std::fs::read_dir(root().join("fixtures/deploy-server/snapshots"))
        .unwrap()
        .flatten()
    {
        let name = entry.file_name().to_string_lossy().into_owned();
        let suite_ok = name.starts_with("health__") || name.starts_with("packages__");
        let cell_ok = name.ends_with("@windows.snap") || name.ends_with("@debian.snap");
        if suite_ok && cell_ok {
            std::fs::copy(entry.path(), dir.join("snapshots").join(&name)).unwrap();
        }
    }
    let config = dir.join("matrix $(id).toml");
    std::fs::write(
        &config,
        r#"primary = "debian"

[server]
args = ["--listen", "{addr}", "--data-dir", "{data_dir}"]
seed = "seed"
seed_mtime = 2026-01-01T00:00:00Z

[server.ready]
http = "/health"

[[target]]
name = "windows"
triple = "x86_64-pc-windows-gnu"
runtime = "windows"
version = "server-2022"
build = { artifact = "bin/deploy-server.exe" }

[[target]]
name = "debian"
triple = "x86_64-unknown-linux-gnu"
runtime = "container"
image = "debian:bookworm-slim"
build = { artifact = "bin/deploy-server" }

[normalize]
redact = [".id", ".created", ".uploaded", "[].id", "[].created", "[].uploaded"]

[[normalize.filter]]
regex = '127\.0\.0\.1:\d+'
replace = "[addr]"

[[suite]]
name = "health"
kind = "http"
path = "suites/health"
scope = "agnostic"

[[suite]]
name = "packages"
kind = "http"
path = "suites/packages"
scope = "per-target"

[[divergence]]
suite = "packages"
case = "names-differing-in-case"
cells = ["windows"]
reason = "Windows file names are case-insensitive"

[[divergence]]
suite = "packages"
case = "download-other-case"
cells = ["windows"]
reason = "Windows file names are case-insensitive"
"#,
    )
    .unwrap();
    (repo, config)
}

#[test]
fn a_repository_with_prebuilt_binaries_and_no_cargo_runs_to_a_verdict_and_gets_ci_it_can_commit() {
    let _serial = serial();
    let (repo, config) = adopting_repository();
    let cfg = config.to_str().unwrap();
    // No --out: the results and reports land beside the matrix, and nothing asks cargo
    // for a workspace.
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let out = command(&cargo)
        .args(["xtask", "matrix", "--config", cfg, "--format", "json"])
        .current_dir(root())
        .output()
        .unwrap();
    let run = Run::of(&out);
    assert_eq!(run.code, Some(0), "{}", run.text);
    assert_eq!(run.verdict(), "go");
    let beside = config.parent().unwrap().join("target/matrix");
    for report in ["results.json", "junit.xml", "report.md", "report.html"] {
        assert!(
            beside.join(report).is_file(),
            "no {report} in {}",
            beside.display()
        );
    }
    assert_eq!(matrix_tests::results_in(&beside)["verdict"], "go");

    // The pipelines, generated in that repository, which has no `cargo xtask`.
    let harness = [
        "--harness-git",
        "https://example.org/port-harness.git",
        "--harness-rev",
        "0123456789abcdef0123456789abcdef01234567",
    ];
    for system in ["github", "gitlab"] {
        let mut args = vec!["ci", system, "--config", cfg];
        args.extend(harness);
        let generated = matrix_tests::xtask_command(&root(), &args);
        assert!(generated.status.success(), "{}", text(&generated));
    }
    let workflow = repo.path().join(".github/workflows/matrix.yml");
    let pipeline = repo.path().join(".gitlab-ci.yml");
    for file in [&workflow, &pipeline] {
        let yaml = std::fs::read_to_string(file).unwrap();
        for machine_path in [
            repo.path().to_str().unwrap(),
            "/tmp/",
            root().to_str().unwrap(),
        ] {
            assert!(
                !yaml.contains(machine_path),
                "{} names {machine_path}:\n{yaml}",
                file.display()
            );
        }
        assert!(
            yaml.contains("cargo install --locked --git https://example.org/port-harness.git --rev 0123456789abcdef0123456789abcdef01234567 port-harness"),
            "{yaml}"
        );
        assert!(!yaml.contains("cargo xtask"), "{yaml}");
    }
    let out = actionlint(&workflow);
    assert!(out.status.success(), "actionlint: {}", text(&out));
    let out = check_jsonschema("vendor.gitlab-ci", &pipeline);
    assert!(out.status.success(), "GitLab's schema: {}", text(&out));

    // Every job has a timeout; the matrix reaches each command as one word, read by bash.
    let workflow: serde_json::Value =
        serde_yaml_ng::from_str(&std::fs::read_to_string(&workflow).unwrap()).unwrap();
    let jobs = workflow["jobs"].as_object().unwrap();
    assert!(
        jobs.values()
            .all(|j| j["timeout-minutes"].as_u64().is_some()),
        "{workflow:#}"
    );
    let run_line = jobs["cell"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "Run the cell")
        .and_then(|s| s["run"].as_str())
        .unwrap()
        .replace("${{ matrix.cell }}", "debian");
    let line = run_line.replacen("port-harness", "printf '%s\\n'", 1);
    let printed = command("bash").args(["-c", &line]).output().unwrap();
    let words: Vec<String> = String::from_utf8_lossy(&printed.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(
        words,
        [
            "matrix",
            "--config",
            "my dir/matrix $(id).toml",
            "--cell",
            "debian",
            "--out",
            "out/debian"
        ],
        "{run_line}"
    );
    let pipeline: serde_json::Value =
        serde_yaml_ng::from_str(&std::fs::read_to_string(&pipeline).unwrap()).unwrap();
    for (name, job) in pipeline.as_object().unwrap() {
        if job.get("stage").is_some() {
            assert!(job["timeout"].as_str().is_some(), "{name} has no timeout");
        }
    }
    assert_eq!(
        pipeline["cell-linux"]["tags"],
        serde_json::json!(["port-harness-containers"]),
        "the Linux job runs a container cell"
    );
    assert!(
        pipeline["cell-windows"]["script"][0]
            .as_str()
            .unwrap()
            .contains("--config 'my dir/matrix $(id).toml'"),
        "PowerShell reads it as one word: {pipeline:#}"
    );
}

/// A tiny HTTP server on the standard library alone: `--listen ADDR`, `/` answers hello,
/// anything else 404.
const TINY_SERVER: &str = r#"use std::io::{BufRead, BufReader, Write};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let at = args.iter().position(|a| a == "--listen").expect("--listen ADDR");
    let listener = std::net::TcpListener::bind(&args[at + 1]).expect("the address is free");
    eprintln!("listening on {}", args[at + 1]);
    for stream in listener.incoming() {
        let Ok(mut stream) = stream else { continue };
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut line = String::new();
        let _ = reader.read_line(&mut line);
        let path = line.split_whitespace().nth(1).unwrap_or("/").to_owned();
        let mut header = String::new();
        while reader.read_line(&mut header).is_ok_and(|n| n > 2) {
            header.clear();
        }
        let (status, body) = if path == "/" { ("200 OK", "hello\n") } else { ("404 Not Found", "not found\n") };
        let _ = write!(stream, "HTTP/1.1 {status}\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}", body.len());
    }
}
"#;

/// `port-harness ARGS` in `dir`, built from this repository (in its own target folder).
fn port_harness(dir: &Path, args: &[&str]) -> std::process::Output {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let manifest = root().join("Cargo.toml");
    command(&cargo)
        .args([
            "run",
            "--quiet",
            "--manifest-path",
            manifest.to_str().unwrap(),
        ])
        .args(["--package", "port-harness", "--"])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

#[test]
fn init_sets_up_a_new_cargo_project_and_a_folder_with_a_prebuilt_binary_from_pending_to_go() {
    let _serial = serial();
    // Cargo's output for the project and its xtask stays between runs (the xtask builds the
    // harness from this checkout once).
    let target = root().join("target/e2e-tools/adopt-target");
    let work = tempfile::Builder::new().prefix("init-").tempdir().unwrap();
    let project = work.path().join("tiny");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let new = command(&cargo)
        .args(["new", "--bin", "--vcs", "git", "--quiet"])
        .arg(&project)
        .output()
        .unwrap();
    assert!(new.status.success(), "{}", text(&new));
    std::fs::write(project.join("src/main.rs"), TINY_SERVER).unwrap();

    // The cargo project: a matrix of its binary on Linux and Windows, suites, an xtask.
    let cli = root().join("cli");
    let init = port_harness(
        &project,
        &["init", "--xtask", "--harness-path", cli.to_str().unwrap()],
    );
    assert!(init.status.success(), "{}", text(&init));
    let said = String::from_utf8_lossy(&init.stdout);
    assert!(
        said.contains("found the cargo binary `tiny` of package `tiny`"),
        "{said}"
    );
    assert!(said.contains("next: cargo xtask matrix"), "{said}");
    for file in [
        "matrix.toml",
        "suites/contract/root.toml",
        "suites/behaviour/missing-file.toml",
        "xtask/Cargo.toml",
        ".cargo/config.toml",
        ".github/workflows/matrix.yml",
    ] {
        assert!(
            project.join(file).is_file(),
            "init wrote no {file}:\n{said}"
        );
    }
    // The xtask resolves what this checkout resolves.
    std::fs::copy(root().join("Cargo.lock"), project.join("xtask/Cargo.lock")).unwrap();
    // Never overwritten: a second init refuses, and the matrix stays.
    let again = port_harness(&project, &["init"]);
    assert_eq!(again.status.code(), Some(2), "{}", text(&again));
    let xtask = |args: &[&str]| {
        command(&cargo)
            .arg("xtask")
            .args(args)
            .current_dir(&project)
            .env("CARGO_TARGET_DIR", &target)
            .output()
            .unwrap()
    };
    let first = xtask(&["matrix", "--format", "json"]);
    let first = Run::of(&first);
    assert_eq!(
        first.code,
        Some(4),
        "the first run is PENDING:\n{}",
        first.text
    );
    assert_eq!(
        first.results["plan"]["cells"].as_array().unwrap().len(),
        2,
        "{}",
        first.text
    );
    let review = xtask(&["review", "--accept-all"]);
    assert!(review.status.success(), "{}", text(&review));
    let second = Run::of(&xtask(&["matrix", "--format", "json"]));
    assert_eq!(second.code, Some(0), "{}", second.text);
    assert_eq!(second.verdict(), "go");

    // A folder with only the prebuilt Linux binary: one Debian cell, the same path to GO.
    let folder = work.path().join("prebuilt");
    std::fs::create_dir_all(folder.join("dist")).unwrap();
    std::fs::copy(
        target.join("x86_64-unknown-linux-gnu/debug/tiny"),
        folder.join("dist/tiny"),
    )
    .unwrap();
    let init = port_harness(&folder, &["init", "--ci", "none"]);
    assert!(init.status.success(), "{}", text(&init));
    let said = String::from_utf8_lossy(&init.stdout);
    assert!(
        said.contains("found prebuilt executables: dist/tiny"),
        "{said}"
    );
    assert!(said.contains("next: port-harness matrix"), "{said}");
    let first = Run::of(&port_harness(&folder, &["matrix", "--format", "json"]));
    assert_eq!(first.code, Some(4), "{}", first.text);
    assert!(
        folder.join("target/matrix/results.json").is_file(),
        "the results lie beside the matrix"
    );
    let review = port_harness(&folder, &["review", "--accept-all"]);
    assert!(review.status.success(), "{}", text(&review));
    let second = Run::of(&port_harness(&folder, &["matrix", "--format", "json"]));
    assert_eq!(second.code, Some(0), "{}", second.text);
}

#[test]
fn the_go_sample_is_built_by_go_runs_under_wine_and_in_a_container_and_signs_off() {
    let _serial = serial();
    let config = root().join("fixtures/go-server/matrix.toml");
    let run = matrix_tests::matrix_json(&config, &[]);
    assert_eq!(run.code, Some(0), "{}", run.text);
    assert_eq!(run.verdict(), "go");
    assert_eq!(run.results["scope"]["sign_off"], true);
    // Built by Go's own tool for each target, no cargo involved.
    let builds: Vec<String> = run
        .events_of("build-started")
        .iter()
        .map(|e| e["command"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(builds.len(), 2, "{builds:?}");
    assert!(
        builds.iter().all(|b| b.starts_with("go build")),
        "{builds:?}"
    );
    // The agnostic suite ran once, on the primary; the others on both cells.
    let jobs: Vec<String> = run.results["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| {
            format!(
                "{}@{}",
                j["suite"].as_str().unwrap(),
                j["cell"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        jobs.iter().filter(|j| j.starts_with("health@")).count(),
        1,
        "{jobs:?}"
    );
    assert!(jobs.contains(&"health@debian".to_owned()), "{jobs:?}");
    for suite in ["files", "uploads", "platform"] {
        for cell in ["windows", "debian"] {
            assert!(jobs.contains(&format!("{suite}@{cell}")), "{jobs:?}");
        }
    }
    // Every difference a port makes here was found, and each is accepted with its reason.
    let mut found: Vec<(String, String)> = run
        .divergences()
        .into_iter()
        .map(|(suite, case, _, cell, status)| {
            assert_eq!(cell, "windows");
            assert_eq!(status, "accepted", "{suite}/{case}");
            (suite, case)
        })
        .collect();
    found.sort();
    found.dedup();
    let expected = [
        ("files", "backslash"),
        ("files", "missing"),
        ("files", "read-other-case"),
        ("platform", "echo"),
        ("platform", "environment"),
        ("platform", "info"),
        ("uploads", "+data-dir"),
        ("uploads", "names-differing-in-case"),
    ];
    assert_eq!(
        found,
        expected
            .iter()
            .map(|(s, c)| (s.to_string(), c.to_string()))
            .collect::<Vec<_>>()
    );
    let missing = run.case("files", "missing", "windows");
    assert!(
        missing.to_string().contains("no such file or directory"),
        "the reason the report gives: {missing}"
    );
}
