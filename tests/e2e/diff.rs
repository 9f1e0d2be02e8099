//! The cross-target diff as a user meets it, on scenario copies of this repository's matrix
//! and snapshots: accepted divergences, a behaviour change injected on one cell, the audit,
//! the noise check, and pending snapshots accepted with `cargo insta accept`.

use std::path::{Path, PathBuf};

use matrix_tests::{command, copy_snapshots, root, run_matrix, serial, text, variant};

fn run(config: &Path, args: &[&str]) -> (Option<i32>, String) {
    let out = run_matrix(config, args);
    (out.status.code(), text(&out))
}

#[test]
fn removing_an_accepted_divergence_fails_the_run_naming_the_case() {
    let _serial = serial();
    let config = variant(
        "no-crlf-divergence",
        &[(
            "[[divergence]]\nsuite = \"tasks\"\ncase = \"echo-lines\"\n",
            "[[divergence]]\nsuite = \"tasks\"\ncase = \"echo-lines-was-here\"\n",
        )],
    );
    // The renamed entry no longer names the case, so echo-lines is an unaccepted divergence.
    let (code, out) = run(&config, &["--suite", "tasks"]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("unaccepted divergences (1):"), "{out}");
    assert!(
        out.contains("tasks / echo-lines / step 1: windows differs from debian"),
        "{out}"
    );
    assert!(
        out.contains(r#"+  "stdout": "one\r\ntwo\r\n","#),
        "the diff shows the CRLF:\n{out}"
    );
    assert!(out.contains("verdict: NO-GO"), "{out}");
    // The other accepted divergences of the suite are still accepted and listed.
    assert!(
        out.contains("tasks / echo / step 1 on windows: cmd.exe ends output lines with CRLF"),
        "{out}"
    );
}

#[test]
fn a_behaviour_change_on_one_cell_is_a_divergence_of_that_cell() {
    let _serial = serial();
    let config = variant(
        "injected-change",
        &[(
            "runtime = \"wine\"\n",
            "runtime = \"wine\"\nenv = { DEPLOY_PROJECT_ORDER = \"created\" }\n",
        )],
    );
    let (code, out) = run(&config, &["--suite", "projects"]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("projects / list-sorted / step list: windows differs from debian"),
        "{out}"
    );
    assert!(
        out.contains("unaccepted divergences (1):"),
        "only the listing changed:\n{out}"
    );
    // The windows baseline changed too, and is left pending for review, not overwritten.
    assert!(
        out.contains("changed projects__list-sorted.list@windows"),
        "{out}"
    );
    let snapshots = config.parent().unwrap().join("snapshots");
    assert!(
        snapshots
            .join("projects__list-sorted.list@windows.snap.new")
            .is_file()
    );
    let committed =
        std::fs::read_to_string(snapshots.join("projects__list-sorted.list@windows.snap")).unwrap();
    let original = std::fs::read_to_string(
        root().join("fixtures/snapshots/projects__list-sorted.list@windows.snap"),
    )
    .unwrap();
    assert_eq!(
        committed, original,
        "the baseline is never overwritten without --accept"
    );
}

#[test]
fn the_audit_flags_an_agnostic_suite_that_is_not() {
    let _serial = serial();
    let config = variant(
        "mislabeled",
        &[
            (
                "path = \"fixtures/suites/platform\"\nscope = \"per-target\"",
                "path = \"fixtures/suites/platform\"\nscope = \"agnostic\"",
            ),
            (
                "[[divergence]]\nsuite = \"platform\"\ncase = \"info\"\ncells = [\"windows\"]\nreason = \"the platform itself: OS, family, path separator, line ending and shell\"\n",
                "",
            ),
        ],
    );
    let (code, out) = run(
        &config,
        &[
            "--suite",
            "platform",
            "--suite",
            "api-contract",
            "--suite",
            "projects",
            "--audit",
        ],
    );
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("audit: agnostic suites that behave differently between cells:"),
        "{out}"
    );
    assert!(
        out.contains("platform / info / step 1: windows differs from debian"),
        "{out}"
    );
    assert!(
        !out.contains("api-contract / "),
        "api-contract really is agnostic:\n{out}"
    );
    assert!(
        out.contains("candidates for `scope = \"agnostic\"`): projects"),
        "projects behaved the same on every cell:\n{out}"
    );
}

#[test]
fn the_noise_check_finds_a_nondeterministic_field() {
    let _serial = serial();
    let config = variant(
        "noisy",
        &[(
            "env = { RUST_LOG = \"info\" }",
            "env = { RUST_LOG = \"info\", DEPLOY_NOISE = \"1\" }",
        )],
    );
    let (_, out) = run(
        &config,
        &["--cell", "debian", "--suite", "health", "--noise-check"],
    );
    assert!(
        out.contains("noise: steps that differ between two runs of the same build:"),
        "{out}"
    );
    assert!(
        out.contains("health / health-ok / step 1: fields .request_id"),
        "{out}"
    );
    assert!(
        out.contains(r#"suggestion: [normalize] redact = [".request_id"]"#),
        "{out}"
    );
}

/// cargo-insta from crates.io: on PATH, or installed into the target folder once.
fn cargo_insta() -> PathBuf {
    if let Ok(path) = which::which("cargo-insta") {
        return path;
    }
    let tools = root().join("target/tools");
    let bin = tools.join("bin/cargo-insta");
    if !bin.is_file() {
        let out = command(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args(["install", "cargo-insta", "--locked", "--root"])
            .arg(&tools)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "cargo install cargo-insta: {}",
            text(&out)
        );
    }
    bin
}

#[test]
fn cargo_insta_accepts_a_pending_snapshot_which_then_matches() {
    let _serial = serial();
    let insta = cargo_insta();
    // cargo-insta looks for snapshots in a cargo project: give the snapshots one.
    let project = tempfile::tempdir().unwrap();
    std::fs::write(
        project.path().join("Cargo.toml"),
        "[package]\nname = \"snapshots\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    )
    .unwrap();
    std::fs::create_dir_all(project.path().join("src")).unwrap();
    std::fs::write(project.path().join("src/lib.rs"), "").unwrap();
    let snapshots = project.path().join("snapshots");
    copy_snapshots(&snapshots);
    let name = "platform__health.1@debian";
    std::fs::remove_file(snapshots.join(format!("{name}.snap"))).unwrap();
    let config = variant(
        "insta",
        &[(
            "dir = \"fixtures/snapshots\"",
            &format!("dir = \"{}\"", snapshots.display()),
        )],
    );

    let (code, out) = run(&config, &["--cell", "debian", "--suite", "platform"]);
    assert_eq!(
        code,
        Some(1),
        "a new snapshot is not yet a baseline:\n{out}"
    );
    assert!(out.contains(&format!("new     {name}")), "{out}");
    assert!(snapshots.join(format!("{name}.snap.new")).is_file());

    let accepted = command(&insta)
        .args(["insta", "accept"])
        .current_dir(project.path())
        .output()
        .unwrap();
    assert!(accepted.status.success(), "{}", text(&accepted));
    assert!(
        snapshots.join(format!("{name}.snap")).is_file(),
        "{}",
        text(&accepted)
    );
    assert!(!snapshots.join(format!("{name}.snap.new")).exists());

    let (code, out) = run(&config, &["--cell", "debian", "--suite", "platform"]);
    assert_eq!(code, Some(0), "the accepted snapshot matches:\n{out}");
    assert!(out.contains("0 snapshots differ from baselines"), "{out}");
}

#[test]
fn a_command_suite_reports_its_cases_from_junit() {
    let _serial = serial();
    let script = r#"test -n "$HARNESS_BASE_URL" && printf '<testsuite><testcase name="reaches-%s"/><testcase name="fails"><failure message="boom"/></testcase></testsuite>' "$HARNESS_CELL" > junit.xml"#;
    let config = variant(
        "junit",
        &[(
            "command = [\"cargo\", \"test\", \"--quiet\", \"-p\", \"deploy-client-tests\", \"--\", \"--test-threads=1\"]",
            &format!("command = [\"sh\", \"-c\", '''{script}''']\njunit = \"junit.xml\""),
        )],
    );
    let (code, out) = run(&config, &["--cell", "debian", "--suite", "client"]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("debian     client: 1 passed, 1 failed"),
        "{out}"
    );
    assert!(out.contains("FAILED fails: boom"), "{out}");
}

#[test]
fn the_repository_matrix_is_green_with_its_intended_divergences_and_none_stale() {
    let _serial = serial();
    let out = tempfile::tempdir().unwrap();
    let (code, log) = run(
        &root().join("matrix.toml"),
        &["--out", out.path().to_str().unwrap()],
    );
    assert_eq!(code, Some(0), "{log}");
    assert!(log.contains("verdict: GO"), "{log}");
    assert!(
        !log.contains("stale accepted divergences"),
        "every accepted divergence really happens:\n{log}"
    );
    let matrix = harness::Matrix::load(&root().join("matrix.toml")).unwrap();
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("results.json")).unwrap())
            .unwrap();
    let accepted = results["comparison"]["divergences"].as_array().unwrap();
    for d in &matrix.divergences {
        assert!(
            accepted.iter().any(|a| a["suite"] == d.suite.as_str()
                && a["case"] == d.case.as_str()
                && a["acceptance"]["status"] == "accepted"),
            "{}/{} is accepted in matrix.toml and happens in the run",
            d.suite,
            d.case
        );
    }
    assert_eq!(results["comparison"]["stale"].as_array().unwrap().len(), 0);
}

#[test]
fn a_failed_expectation_shows_request_response_and_expectation() {
    let _serial = serial();
    let config = variant(
        "expectation",
        &[(
            "path = \"fixtures/suites/health\"",
            "path = \"suites/health\"",
        )],
    );
    let suite = config.parent().unwrap().join("suites/health");
    std::fs::create_dir_all(&suite).unwrap();
    std::fs::write(
        suite.join("teapot.toml"),
        "[[step]]\nmethod = \"POST\"\npath = \"/projects\"\njson = { name = \"Kettle\" }\nexpect = { status = 418 }\n",
    )
    .unwrap();
    let (code, log) = run(&config, &["--cell", "debian", "--suite", "health"]);
    assert_eq!(code, Some(1), "{log}");
    assert!(
        log.contains("FAILED teapot: step `1`: expected status 418, got 201"),
        "{log}"
    );
    assert!(log.contains("--- request"), "{log}");
    assert!(
        log.contains(r#"POST /projects"#) && log.contains(r#"{"name":"Kettle"}"#),
        "the request is shown:\n{log}"
    );
    assert!(
        log.contains("--- response") && log.contains("status: 201"),
        "the response is shown:\n{log}"
    );
}
