//! Nothing leaks: after a passing run, a server that never becomes ready, a server that
//! crashes, and a run interrupted with SIGINT, no server, Wine or container process of the
//! harness is left, and no labelled container exists.

use std::process::Stdio;
use std::time::{Duration, Instant};

use matrix_tests::{
    Run, leftovers, leftovers_after, matrix_json, root, serial, variant, xtask_cmd, xtask_json,
};

fn assert_clean(before: &[String]) {
    assert!(
        before.is_empty(),
        "the machine was not clean before the test: {before:#?}"
    );
    let left = leftovers_after(15);
    assert!(left.is_empty(), "left behind: {left:#?}");
}

#[test]
fn a_passing_run_leaves_nothing() {
    let _serial = serial();
    let before = leftovers();
    let run = xtask_json(&["matrix", "--suite", "platform"]);
    assert_eq!(run.code, Some(0), "{}", run.text);
    for cell in ["windows", "debian"] {
        let ready = run.events_of("server-ready");
        assert!(ready.iter().any(|e| e["cell"] == cell), "{cell} was ready");
        let stopped: Vec<_> = run
            .events_of("server-stopped")
            .into_iter()
            .filter(|e| e["cell"] == cell)
            .collect();
        assert_eq!(stopped.len(), 1, "{}", run.text);
        assert_eq!(stopped[0]["forced"], false, "{cell} stopped gracefully");
    }
    assert_clean(&before);
}

/// The errors of the platform jobs of both cells.
fn job_errors(run: &Run) -> Vec<String> {
    ["platform@windows", "platform@debian"]
        .iter()
        .map(|id| {
            run.job(id)["error"]
                .as_str()
                .unwrap_or_else(|| panic!("{id} did not err:\n{}", run.text))
                .to_owned()
        })
        .collect()
}

#[test]
fn a_server_that_never_becomes_ready_is_stopped() {
    let _serial = serial();
    let before = leftovers();
    let config = variant(
        "never-ready",
        &[(
            "http = \"/health\"\ntimeout = \"60s\"",
            "http = \"/never\"\ntimeout = \"3s\"",
        )],
    );
    let run = matrix_json(&config, &["--suite", "platform"]);
    assert_eq!(run.code, Some(1), "{}", run.text);
    for error in job_errors(&run) {
        assert!(
            error.contains("was not ready after 3s (GET /never never answered 2xx)"),
            "{error}"
        );
    }
    assert_clean(&before);
}

#[test]
fn a_server_that_crashes_is_reported_with_its_log() {
    let _serial = serial();
    let before = leftovers();
    // The sample server exits at once with an unknown flag, in a container, under Wine and
    // as a host process. A container's published port can swallow connects for a while
    // after it died; its exit is seen anyway, at once.
    let config = variant(
        "crash",
        &[
            (
                "args = [\"--listen\"",
                "args = [\"--no-such-flag\", \"--listen\"",
            ),
            (
                "[snapshots]",
                "[[target]]\nname = \"linux\"\ntriple = \"x86_64-unknown-linux-gnu\"\nruntime = \"host\"\n\n[snapshots]",
            ),
        ],
    );
    let run = matrix_json(&config, &["--suite", "platform"]);
    assert_eq!(run.code, Some(1), "{}", run.text);
    for id in ["platform@windows", "platform@debian", "platform@linux"] {
        let job = run.job(id);
        let error = job["error"]
            .as_str()
            .unwrap_or_else(|| panic!("{id} did not err:\n{}", run.text));
        assert!(error.contains("before it was ready"), "{id}: {error}");
        assert!(
            error.contains("unknown argument `--no-such-flag`"),
            "{id}: the server's own message is shown:\n{error}"
        );
        let ms = job["duration_ms"].as_u64().unwrap();
        assert!(ms < 2_000, "{id}: the exit was seen after {ms} ms");
    }
    assert_clean(&before);
}

/// Whether a live process runs exactly `cmdline` (arguments joined by spaces).
fn running(cmdline: &str) -> bool {
    std::fs::read_dir("/proc").unwrap().flatten().any(|e| {
        std::fs::read(e.path().join("cmdline"))
            .is_ok_and(|b| String::from_utf8_lossy(&b).replace('\0', " ").trim() == cmdline)
    })
}

/// Starts a run whose suite sleeps, sends SIGINT to its process group (as a terminal's Ctrl-C
/// does) once the suite's command runs, and checks the run stops with 130 and leaves nothing.
fn interrupt(cell: &str) {
    let _serial = serial();
    let before = leftovers();
    // A duration no other process on the machine is likely to sleep.
    let sleeper = "sleep 2917";
    let config = variant(
        &format!("interrupt-{cell}"),
        &[(
            "command = [\"cargo\", \"test\", \"--quiet\", \"-p\", \"deploy-client-tests\", \"--\", \"--test-threads=1\"]",
            "command = [\"sleep\", \"2917\"]",
        )],
    );
    let mut cmd = xtask_cmd(
        &root(),
        &[
            "matrix",
            "--config",
            config.to_str().unwrap(),
            "--cell",
            cell,
            "--suite",
            "client",
            "--format",
            "json",
        ],
    );
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut child = cmd
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let rx = matrix_tests::stderr_lines(&mut child);
    // Wait until the suite's command is running: the server is up and the job is mid-case.
    let deadline = Instant::now() + Duration::from_secs(300);
    while !running(sleeper) {
        assert!(
            Instant::now() < deadline && child.try_wait().unwrap().is_none(),
            "the suite never started:\n{}",
            rx.try_iter().collect::<Vec<_>>().join("\n")
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // SAFETY: signalling a process group we created.
    unsafe {
        libc::killpg(child.id() as libc::pid_t, libc::SIGINT);
    }
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the run did not stop after SIGINT"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let took = start.elapsed();
    let seen: Vec<String> = rx.try_iter().collect();
    assert_clean(&before);
    assert!(!running(sleeper), "the suite's command was stopped");
    assert_eq!(status.code(), Some(130), "{}", seen.join("\n"));
    assert!(
        took < Duration::from_secs(5),
        "Ctrl-C ends the run within 5 s, it took {took:?}"
    );
    // What finished is reported, marked interrupted; the job that was stopped is not there.
    let results = matrix_tests::results_in(&config.parent().unwrap().join("out"));
    assert_eq!(results["interrupted"], true);
    assert_eq!(results["verdict"], "no-go");
    assert_eq!(results["jobs"], serde_json::json!([]));
    assert!(
        results["reasons"][0]
            .as_str()
            .unwrap()
            .starts_with("interrupted: 0 of the 1 planned jobs finished"),
        "{}",
        results["reasons"]
    );
}

#[test]
fn an_interrupted_wine_run_leaves_nothing() {
    interrupt("windows");
}

#[test]
fn an_interrupted_container_run_leaves_nothing() {
    interrupt("debian");
}
