//! Trust: no false verdict. Bytes that are not UTF-8 and JSON numbers beyond a double compare
//! as the server sent them; an interrupted run, an empty plan and a NO-GO are never a
//! sign-off, read the same in `results.json`, the JUnit (by junitparser) and the reports, and
//! `--rerun-failed` runs what an interrupted run never finished. On the fault server, as host
//! cells.

use std::process::Stdio;
use std::time::{Duration, Instant};

use matrix_tests::{Run, matrix_json, python_path, results_in, root, serial, text, xtask_cmd};

use super::faults::{cell_env, fault_matrix};

fn get(path: &str) -> String {
    format!("[[step]]\nmethod = \"GET\"\npath = \"{path}\"\n")
}

/// The cases that diverge on cell `b` in `run`.
fn diverging_on_b(run: &Run) -> Vec<String> {
    let mut cases: Vec<String> = run
        .divergences()
        .into_iter()
        .filter(|(_, _, _, cell, _)| cell == "b")
        .map(|(_, case, _, _, _)| case)
        .collect();
    cases.sort();
    cases.dedup();
    cases
}

#[test]
fn different_bytes_and_numbers_never_compare_equal() {
    let _serial = serial();
    // Cell a and cell b answer the same routes with bodies that differ only where a lossy
    // decoding or a double would hide it.
    let config = fault_matrix(
        "bytes",
        &["a", "b"],
        &[
            ("legacy-text", &get("/legacy-text")),
            ("image", &get("/image")),
            ("number", &get("/number")),
        ],
        "",
    );
    cell_env(
        &config,
        "a",
        &[
            ("FAULT_CODEPAGE", "cp1252"),
            ("FAULT_BYTE", "1"),
            ("FAULT_NUMBER", "340282366920938463463374607431768211455"),
        ],
    );
    cell_env(
        &config,
        "b",
        &[
            ("FAULT_CODEPAGE", "cp850"),
            ("FAULT_BYTE", "2"),
            ("FAULT_NUMBER", "340282366920938463463374607431768211454"),
        ],
    );
    let run = matrix_json(&config, &[]);
    assert_eq!(run.code, Some(1), "{}", run.text);
    assert_eq!(
        diverging_on_b(&run),
        ["image", "legacy-text", "number"],
        "{}",
        run.text
    );
    let observed = |case: &str, cell: &str| -> String {
        run.results["observations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["case"] == case && o["cell"] == cell)
            .unwrap()["text"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    // What the snapshot shows is what was sent: the byte, the number as written.
    assert!(
        observed("legacy-text", "a").contains("caf\\xE9"),
        "{}",
        observed("legacy-text", "a")
    );
    assert!(observed("legacy-text", "b").contains("caf\\x82"));
    assert!(observed("image", "a").contains("[binary: 217 bytes, sha256 "));
    assert!(
        observed("number", "a").contains("340282366920938463463374607431768211455"),
        "{}",
        observed("number", "a")
    );
}

#[test]
fn an_empty_plan_is_not_a_sign_off() {
    let _serial = serial();
    let config = fault_matrix("no-suites", &["a"], &[], "");
    let text = std::fs::read_to_string(&config).unwrap().replace(
        "[[suite]]\nname = \"f\"\nkind = \"http\"\npath = \"suites/f\"\nscope = \"per-target\"\n",
        "",
    );
    std::fs::write(&config, text).unwrap();
    let run = matrix_json(&config, &[]);
    assert_eq!(run.code, Some(1), "{}", run.text);
    assert_eq!(run.verdict(), "no-go");
    assert_eq!(run.results["scope"]["sign_off"], false);
    assert!(
        run.results["reasons"][0]
            .as_str()
            .unwrap()
            .starts_with("nothing ran"),
        "{}",
        run.results["reasons"]
    );
}

/// JUnit's totals and the sign-off property as junitparser (PyPI) reads `file`.
fn junit_read(file: &std::path::Path) -> serde_json::Value {
    let python = python_path("junitparser", "junitparser");
    let script = r#"
import json, sys
from junitparser import JUnitXml, Failure, Error
xml = JUnitXml.fromfile(sys.argv[1])
failures = errors = 0
signoff = set()
for suite in xml:
    for case in suite:
        for r in case.result:
            failures += isinstance(r, Failure)
            errors += isinstance(r, Error)
    for p in suite.properties():
        if p.name == "sign-off":
            signoff.add(p.value)
print(json.dumps({"failures": failures, "errors": errors, "sign_off": sorted(signoff)}))
"#;
    let out = matrix_tests::command("python3")
        .env("PYTHONPATH", &python)
        .args(["-c", script])
        .arg(file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn an_interrupted_run_is_never_green_and_its_rerun_runs_what_never_finished() {
    let _serial = serial();
    // Two suites: one quick, one whose command sleeps until the run is interrupted.
    let sleeper = "sleep 2918";
    let config = fault_matrix(
        "interrupted",
        &["a"],
        &[("health", &get("/health"))],
        "\n[[suite]]\nname = \"slow\"\nkind = \"command\"\ncommand = [\"sleep\", \"2918\"]\nscope = \"per-target\"\n",
    );
    let out = config.parent().unwrap().join("out");
    let mut cmd = xtask_cmd(
        &root(),
        &[
            "matrix",
            "--config",
            config.to_str().unwrap(),
            "-j",
            "1",
            "--format",
            "json",
        ],
    );
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut child = cmd
        .stderr(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let running = |needle: &str| {
        std::fs::read_dir("/proc").unwrap().flatten().any(|e| {
            std::fs::read(e.path().join("cmdline"))
                .is_ok_and(|b| String::from_utf8_lossy(&b).replace('\0', " ").trim() == needle)
        })
    };
    let deadline = Instant::now() + Duration::from_secs(120);
    while !running(sleeper) {
        assert!(Instant::now() < deadline, "the slow suite never started");
        std::thread::sleep(Duration::from_millis(50));
    }
    // SAFETY: signalling the process group this test created.
    unsafe {
        libc::killpg(child.id() as libc::pid_t, libc::SIGINT);
    }
    assert_eq!(child.wait().unwrap().code(), Some(130));
    let results = results_in(&out);
    assert_eq!(results["interrupted"], true);
    assert_eq!(results["verdict"], "no-go");
    assert_eq!(results["scope"]["sign_off"], false);
    let line = results["scope"]["text"].as_str().unwrap();
    assert!(
        line.starts_with("an interrupted run of the full plan"),
        "{line}"
    );
    // The JUnit reads the same: not green, not a sign-off.
    let junit = junit_read(&out.join("junit.xml"));
    assert!(junit["failures"].as_u64().unwrap() >= 1, "{junit}");
    assert_eq!(junit["sign_off"], serde_json::json!(["false"]), "{junit}");
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(report.contains("not a sign-off"), "{report}");
    // What never finished runs again.
    let rerun = matrix_json(
        &config,
        &["--rerun-failed", out.to_str().unwrap(), "--plan"],
    );
    assert_eq!(rerun.code, Some(0), "{}", rerun.text);
    let plan: serde_json::Value = rerun.results.clone();
    let jobs: Vec<String> = plan["jobs"]
        .as_array()
        .unwrap_or_else(|| panic!("no plan: {}", rerun.text))
        .iter()
        .map(|j| {
            format!(
                "{}@{}",
                j["suite"].as_str().unwrap(),
                j["cell"].as_str().unwrap()
            )
        })
        .collect();
    assert!(jobs.contains(&"slow@a".to_owned()), "{jobs:?}");
}
