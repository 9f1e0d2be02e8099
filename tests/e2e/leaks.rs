//! Nothing leaks: after a passing run, a server that never becomes ready, a server that
//! crashes, and a run interrupted with SIGINT, no server, Wine or container process of the
//! harness is left, and no labelled container exists.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use matrix_tests::{
    leftovers, leftovers_after, root, run_matrix, serial, text, variant, xtask_cmd, xtask_command,
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
    let out = xtask_command(&root(), &["matrix", "--suite", "platform"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    for cell in ["windows", "debian"] {
        assert!(
            err.contains(&format!("{cell:<10} server ready")),
            "{cell} was ready:\n{err}"
        );
        assert!(
            err.contains(&format!("{cell:<10} server stopped (log:")),
            "{cell} stopped gracefully:\n{err}"
        );
    }
    assert_clean(&before);
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
    let out = run_matrix(&config, &["--suite", "platform"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        err.matches("was not ready after 3s (GET /never never answered 2xx)")
            .count(),
        2,
        "{err}"
    );
    assert_clean(&before);
}

#[test]
fn a_server_that_crashes_is_reported_with_its_log() {
    let _serial = serial();
    let before = leftovers();
    let config = variant(
        "crash",
        &[(
            "args = [\"--listen\"",
            "args = [\"--no-such-flag\", \"--listen\"",
        )],
    );
    let out = run_matrix(&config, &["--suite", "platform"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.matches("before it was ready").count(), 2, "{err}");
    assert!(
        err.contains("unknown argument `--no-such-flag`"),
        "the server's own message is shown:\n{err}"
    );
    assert_clean(&before);
}

/// Starts a run whose suite sleeps, sends SIGINT to its process group (as a terminal's Ctrl-C
/// does) once the server is ready, and checks the run stops with 130 and leaves nothing.
fn interrupt(cell: &str) {
    let _serial = serial();
    let before = leftovers();
    let config = variant(
        &format!("interrupt-{cell}"),
        &[(
            "command = [\"cargo\", \"test\", \"--quiet\", \"-p\", \"deploy-client-tests\", \"--\", \"--test-threads=1\"]",
            "command = [\"sleep\", \"300\"]",
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
        ],
    );
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut child = cmd
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .unwrap_or_else(|_| panic!("no ready server:\n{}", seen.join("\n")));
        let ready = line.contains("server ready");
        seen.push(line);
        if ready {
            break;
        }
    }
    // Let the suite's command start, then interrupt the whole group.
    std::thread::sleep(Duration::from_secs(1));
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
        std::thread::sleep(Duration::from_millis(100));
    };
    seen.extend(rx.try_iter());
    assert_clean(&before);
    assert_eq!(status.code(), Some(130), "{}", seen.join("\n"));
    assert!(
        seen.iter().any(|l| l.contains("error: interrupted")),
        "{}",
        seen.join("\n")
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
