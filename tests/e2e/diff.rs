//! The cross-target diff as a user meets it, on scenario copies of this repository's matrix
//! and snapshots: accepted divergences, a behaviour change injected on one cell, the audit,
//! the noise check, JUnit from a command suite, the repository's own matrix.

use matrix_tests::{matrix_json, root, serial, variant};

/// `(suite, case, step, cell, acceptance)` as the divergences list it.
fn d(
    suite: &str,
    case: &str,
    step: &str,
    cell: &str,
    status: &str,
) -> (String, String, String, String, String) {
    (
        suite.into(),
        case.into(),
        step.into(),
        cell.into(),
        status.into(),
    )
}

#[test]
fn removing_an_accepted_divergence_fails_the_run_naming_the_case() {
    let _serial = serial();
    let config = variant(
        "no-crlf-divergence",
        &[(
            "[[divergence]]\nsuite = \"tasks\"\ncase = \"echo-lines\"\ncells = [\"windows\", \"windows-2025\"]\nreason = \"cmd.exe ends output lines with CRLF\"\n",
            "",
        )],
    );
    // Without its ledger entry, echo-lines is an unaccepted divergence.
    let run = matrix_json(&config, &["--suite", "tasks"]);
    assert_eq!(run.code, Some(1), "{}", run.text);
    assert_eq!(run.verdict(), "no-go");
    let unaccepted: Vec<_> = run
        .divergences()
        .into_iter()
        .filter(|x| x.4 == "unaccepted")
        .collect();
    assert_eq!(
        unaccepted,
        [
            d("tasks", "echo-lines", "1", "windows", "unaccepted"),
            d("tasks", "echo-lines", "1", "windows-2025", "unaccepted")
        ]
    );
    let diff = run.results["comparison"]["divergences"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["case"] == "echo-lines")
        .unwrap()["diff"]
        .as_str()
        .unwrap();
    assert!(
        diff.contains(r#"+  "stdout": "one\r\ntwo\r\n","#),
        "the diff shows the CRLF:\n{diff}"
    );
    assert_eq!(
        run.case("tasks", "echo-lines", "windows")["status"],
        "diverged"
    );
    // The other accepted divergences of the suite are still accepted.
    assert!(
        run.divergences()
            .contains(&d("tasks", "echo", "1", "windows", "accepted")),
        "{}",
        run.text
    );
    assert_eq!(run.case("tasks", "echo", "windows")["status"], "accepted");
}

#[test]
fn a_behaviour_change_on_one_cell_is_a_divergence_of_that_cell() {
    let _serial = serial();
    let config = variant(
        "injected-change",
        &[(
            "version = \"server-2022\"\n",
            "version = \"server-2022\"\nenv = { DEPLOY_PROJECT_ORDER = \"created\" }\n",
        )],
    );
    let run = matrix_json(&config, &["--suite", "projects"]);
    assert_eq!(run.code, Some(1), "{}", run.text);
    assert_eq!(
        run.divergences(),
        [d(
            "projects",
            "list-sorted",
            "list",
            "windows",
            "unaccepted"
        )],
        "only the listing changed"
    );
    // The windows baseline changed too, and is left pending for review, not overwritten.
    let baseline = &run.results["comparison"]["baseline"];
    assert_eq!(baseline[0]["name"], "projects__list-sorted.list@windows");
    assert_eq!(baseline[0]["state"], "changed");
    let snapshots = config.parent().unwrap().join("snapshots");
    assert!(
        snapshots
            .join("projects__list-sorted.list@windows.snap.new")
            .is_file()
    );
    let committed =
        std::fs::read_to_string(snapshots.join("projects__list-sorted.list@windows.snap")).unwrap();
    let original = std::fs::read_to_string(
        root().join("fixtures/deploy-server/snapshots/projects__list-sorted.list@windows.snap"),
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
                "[[divergence]]\nsuite = \"platform\"\ncase = \"info\"\ncells = [\"windows\", \"windows-2025\"]\nreason = \"the platform itself: OS, family, path separator, line ending and shell\"\n",
                "",
            ),
        ],
    );
    let run = matrix_json(
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
    assert_eq!(run.code, Some(1), "{}", run.text);
    let not_agnostic: Vec<String> = run.results["comparison"]["not_agnostic"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| format!("{}/{}@{}", x["suite"], x["case"], x["cell"]).replace('"', ""))
        .collect();
    assert_eq!(
        not_agnostic,
        ["platform/info@windows", "platform/info@windows-2025"],
        "platform is not agnostic; api-contract really is"
    );
    assert_eq!(
        run.results["comparison"]["agnostic_candidates"],
        serde_json::json!(["projects"]),
        "projects behaved the same on every cell"
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
    let run = matrix_json(
        &config,
        &["--cell", "debian", "--suite", "health", "--noise-check"],
    );
    let noise = run.results["noise"].as_array().unwrap();
    assert_eq!(noise.len(), 1, "{}", run.text);
    assert_eq!(noise[0]["case"], "health-ok");
    assert_eq!(noise[0]["fields"], serde_json::json!([".request_id"]));
    assert_eq!(
        noise[0]["suggestion"],
        "[normalize]\nredact = [\".request_id\"]"
    );
}

#[test]
fn a_command_suite_reports_its_cases_from_junit() {
    let _serial = serial();
    let script = r#"test -n "$HARNESS_BASE_URL" && printf '<testsuite><testcase name="reaches-%s"/><testcase name="fails"><failure message="boom"/></testcase></testsuite>' "$HARNESS_CELL" > "$HARNESS_JUNIT""#;
    let config = variant(
        "junit",
        &[(
            "command = [\"cargo\", \"test\", \"--quiet\", \"-p\", \"deploy-client-tests\", \"--\", \"--test-threads=1\"]",
            &format!("command = [\"sh\", \"-c\", '''{script}''']\njunit = true"),
        )],
    );
    let run = matrix_json(&config, &["--cell", "debian", "--suite", "client"]);
    assert_eq!(run.code, Some(1), "{}", run.text);
    assert_eq!(
        run.case("client", "reaches-debian", "debian")["status"],
        "passed"
    );
    let fails = run.case("client", "fails", "debian");
    assert_eq!(fails["status"], "failed");
    assert_eq!(fails["detail"], "boom");
    // The JUnit file was the job's own, in the run's folder: nothing was written into the
    // working tree.
    assert!(!root().join("junit.xml").exists());
}

#[test]
fn the_repository_matrix_is_green_with_its_intended_divergences_and_none_stale() {
    let _serial = serial();
    let out = tempfile::tempdir().unwrap();
    let run = matrix_json(
        &root().join("matrix.toml"),
        &["--out", out.path().to_str().unwrap()],
    );
    assert_eq!(run.code, Some(0), "{}", run.text);
    assert_eq!(run.verdict(), "go");
    let matrix =
        harness::Matrix::load(&root().join("matrix.toml"), harness::runtime::kinds()).unwrap();
    let results = matrix_tests::results_in(out.path());
    assert_eq!(results, run.results, "results.json is what the run printed");
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
    assert_eq!(
        results["comparison"]["stale"].as_array().unwrap().len(),
        0,
        "every accepted divergence really happens"
    );
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
    let run = matrix_json(&config, &["--cell", "debian", "--suite", "health"]);
    assert_eq!(run.code, Some(1), "{}", run.text);
    let teapot = run.case("health", "teapot", "debian");
    assert_eq!(teapot["status"], "failed");
    let detail = teapot["detail"].as_str().unwrap();
    assert!(
        detail.starts_with("step `1`: expected status 418, got 201\n--- request\nPOST /projects\n{\"name\":\"Kettle\"}\n--- response\nstatus: 201\n"),
        "the expectation, the request and the response together:\n{detail}"
    );
}
