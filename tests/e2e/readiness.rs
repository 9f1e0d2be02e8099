//! Waiting for a server never hides what it does: a server that exits while its readiness
//! probe hangs is seen at once, a probe that never answers ends at the readiness timeout (a
//! deadline), and a server lives as long as its job, however long that is. The faults come
//! from `fixtures/fault-server/server.py` (`FAULT_START`), run as host cells.

use std::path::PathBuf;

use matrix_tests::{Run, matrix_json, serial};

use super::faults::fault_matrix;

/// A fault-server matrix with one cell per `(cell, FAULT_START)`, the readiness section
/// `ready`, and `extra` TOML appended.
fn misbehaving(name: &str, cells: &[(&str, &str)], ready: &str, extra: &str) -> PathBuf {
    let names: Vec<&str> = cells.iter().map(|(cell, _)| *cell).collect();
    let config = fault_matrix(name, &names, &[("health", &get_health())], extra);
    let mut text = std::fs::read_to_string(&config).unwrap();
    text = text.replacen("http = \"/health\"\ntimeout = \"20s\"", ready, 1);
    for (cell, start) in cells {
        let from = format!("env = {{ FAULT_VARIANT = \"{cell}\" }}");
        assert!(text.contains(&from), "{text}");
        text = text.replacen(
            &from,
            &format!("env = {{ FAULT_VARIANT = \"{cell}\", FAULT_START = \"{start}\" }}"),
            1,
        );
    }
    std::fs::write(&config, text).unwrap();
    config
}

fn get_health() -> String {
    "[[step]]\nmethod = \"GET\"\npath = \"/health\"\n".to_owned()
}

/// The error and the duration of job `suite@cell`.
fn job_error(run: &Run, id: &str) -> (String, u64) {
    let job = run.job(id);
    let error = job["error"]
        .as_str()
        .unwrap_or_else(|| panic!("{id} did not err:\n{}", run.text))
        .to_owned();
    (error, job["duration_ms"].as_u64().unwrap())
}

#[test]
fn a_server_that_exits_while_its_probe_hangs_is_seen_at_once() {
    let _serial = serial();
    // Its connects hang (its listen queue is full and a child of its own keeps the port),
    // then it exits 200 ms after it started: as a container that died before its engine
    // removed the port rules. The readiness timeout is a minute.
    for probe in ["http = \"/health\"", "tcp = true"] {
        let config = misbehaving(
            "exits-while-probed",
            &[("dies", "drop-syns-then-exit")],
            &format!("{probe}\ntimeout = \"60s\""),
            "",
        );
        let run = matrix_json(&config, &[]);
        assert_eq!(run.code, Some(1), "{}", run.text);
        let (error, ms) = job_error(&run, "f@dies");
        assert!(
            error.contains("exited (exit status: 3) before it was ready"),
            "{probe}: {error}"
        );
        assert!(
            error.contains("exiting on purpose"),
            "{probe}: the end of its log is shown: {error}"
        );
        assert!(
            ms < 2_000,
            "{probe}: the exit was seen {ms} ms into the job, not at once"
        );
    }
}

#[test]
fn a_probe_that_never_answers_ends_at_the_readiness_timeout() {
    let _serial = serial();
    // One server takes connections and never answers; the other drops every SYN, so that
    // a connect never completes. Each probe has a timeout of its own (a third of the
    // readiness timeout here), and the readiness timeout is a deadline.
    for probe in ["http = \"/health\"", "tcp = true"] {
        let config = misbehaving(
            "never-answers",
            &[("silent", "silent"), ("deaf", "drop-syns")],
            &format!("{probe}\ntimeout = \"3s\""),
            "",
        );
        let run = matrix_json(&config, &[]);
        assert_eq!(run.code, Some(1), "{}", run.text);
        for cell in ["silent", "deaf"] {
            if cell == "silent" && probe == "tcp = true" {
                // A port that takes connections is ready by this probe.
                assert_eq!(run.job("f@silent")["error"], serde_json::Value::Null);
                continue;
            }
            let (error, ms) = job_error(&run, &format!("f@{cell}"));
            assert!(error.contains("was not ready after 3s"), "{cell}: {error}");
            // The deadline, plus the launch and the stop; a probe never runs past it.
            assert!(
                ms < 3_000 + 1_500,
                "{probe} on {cell}: the job took {ms} ms with a readiness timeout of 3 s"
            );
        }
    }
}

#[test]
fn a_server_lives_as_long_as_its_job_however_long_the_harness_idles() {
    let _serial = serial();
    // The parent-death signal is tied to the thread that spawned a child: a server spawned
    // from a thread of the blocking pool (which ends after 10 s idle) would die mid-job.
    // This job's command waits 12 s before it asks the server anything.
    let suite = "\n[[suite]]\nname = \"late\"\nkind = \"command\"\ncommand = [\"python3\", \"-c\", \"import os, time, urllib.request; time.sleep(12); print(urllib.request.urlopen(os.environ['HARNESS_BASE_URL'] + '/health').read())\"]\nscope = \"per-target\"\n";
    let config = misbehaving(
        "outlives",
        &[("patient", "")],
        "http = \"/health\"\ntimeout = \"20s\"",
        suite,
    );
    let run = matrix_json(&config, &["--suite", "late"]);
    let job = run.job("late@patient");
    assert_eq!(job["error"], serde_json::Value::Null, "{}", run.text);
    assert!(
        job["cases"][0]["passed"] == true,
        "the server answered after 12 s: {}",
        run.text
    );
    assert!(
        job["duration_ms"].as_u64().unwrap() >= 12_000,
        "{}",
        run.text
    );
}

#[test]
fn a_server_that_exits_during_a_request_fails_its_case_at_once() {
    let _serial = serial();
    // The server exits while a child of its own keeps the connection open and silent: the
    // request would wait out its minute. The case fails as soon as the server is gone,
    // and so do the cases after it, without a request each.
    let config = fault_matrix(
        "exits-mid-request",
        &["dies"],
        &[
            (
                "a-crash",
                "[[step]]\nmethod = \"GET\"\npath = \"/crash-holding\"\n",
            ),
            ("b-after", &get_health()),
        ],
        "\n[limits]\nrequest_timeout = \"60s\"\n",
    );
    let run = matrix_json(&config, &[]);
    assert_eq!(run.code, Some(1), "{}", run.text);
    let job = run.job("f@dies");
    let failure = job["cases"][0]["failure"].as_str().unwrap_or_default();
    assert!(
        failure.contains("the server exited (exit status: 3) during case `a-crash`"),
        "{}",
        run.text
    );
    assert!(failure.contains("crashing on purpose"), "{failure}");
    let after = job["cases"][1]["failure"].as_str().unwrap_or_default();
    assert!(after.contains("the server exited"), "{after}");
    let ms = job["duration_ms"].as_u64().unwrap();
    assert!(
        ms < 5_000,
        "the job took {ms} ms with a request timeout of 60 s"
    );
}

#[test]
fn requests_to_launched_servers_never_go_through_a_proxy() {
    let _serial = serial();
    // A corporate runner's proxy settings, pointing where nothing listens: the readiness
    // probe and the cases go to the launched server directly.
    let config = fault_matrix("proxied", &["direct"], &[("health", &get_health())], "");
    let mut cmd = matrix_tests::xtask_cmd(
        &matrix_tests::root(),
        &[
            "matrix",
            "--config",
            config.to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    for var in [
        "http_proxy",
        "HTTP_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
    ] {
        cmd.env(var, "http://127.0.0.1:9");
    }
    cmd.env_remove("no_proxy").env_remove("NO_PROXY");
    let run = Run::of(&cmd.output().unwrap());
    let job = run.job("f@direct");
    assert_eq!(job["error"], serde_json::Value::Null, "{}", run.text);
    assert_eq!(job["cases"][0]["passed"], true, "{}", run.text);
}
