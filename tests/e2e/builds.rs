//! Builds and provisioning as a user meets them: a build that fails for one triple fails that
//! triple's cells with the compiler's message and leaves the others running; a host cell runs
//! as a plain process; a fresh cache is provisioned by the first run and reused by the second.

use matrix_tests::{leftovers_after, root, run_matrix, serial, text, variant, xtask_cmd};

#[test]
fn a_build_failure_fails_only_its_own_cells() {
    let _serial = serial();
    let config = variant(
        "broken-windows",
        &[
            (
                "[snapshots]",
                "[[axis]]\nname = \"features\"\nvalues = [\"broken-on-windows\"]\n\n[snapshots]",
            ),
            (
                "primary = \"debian\"",
                "primary = \"debian-broken-on-windows\"",
            ),
        ],
    );
    let out = run_matrix(&config, &["--suite", "platform"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("built with the `broken-on-windows` test feature"),
        "the compiler's message is shown:\n{err}"
    );
    let log = std::fs::read_to_string(config.parent().unwrap().join("out/logs/build.log")).unwrap();
    assert!(log.contains("error: deploy-server: built with"), "{log}");
    assert!(
        !log.contains("{\"reason\""),
        "cargo's JSON messages are data, not log lines:\n{log}"
    );
    assert!(
        err.contains("windows-broken-on-windows platform: ERROR"),
        "{err}"
    );
    assert!(
        err.contains("debian-broken-on-windows platform: 3 passed, 0 failed"),
        "the other cell still ran:\n{err}"
    );
    assert!(leftovers_after(15).is_empty());
}

#[test]
fn a_host_cell_runs_the_server_as_a_plain_process() {
    let _serial = serial();
    let config = variant(
        "host",
        &[(
            "[[target]]",
            "[[target]]\nname = \"local\"\ntriple = \"x86_64-unknown-linux-gnu\"\nruntime = \"host\"\n\n[[target]]",
        )],
    );
    // A new cell has no baselines yet: its first snapshots are accepted (into the scenario's
    // own copy of the snapshots).
    let out = run_matrix(
        &config,
        &[
            "--cell", "local", "--suite", "platform", "--suite", "tasks", "--accept",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("local      platform: starting the server: /"),
        "a plain process, no wrapper:\n{err}"
    );
    assert!(
        err.contains("local      tasks: 6 passed, 0 failed"),
        "{err}"
    );
    assert!(leftovers_after(15).is_empty());
}

#[test]
fn a_fresh_cache_is_provisioned_once_and_then_reused() {
    let _serial = serial();
    let cache = tempfile::tempdir().unwrap();
    let run = || {
        let start = std::time::Instant::now();
        let out = xtask_cmd(&root(), &["matrix", "--suite", "platform"])
            .env("HARNESS_CACHE_DIR", cache.path())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        (
            String::from_utf8_lossy(&out.stderr).into_owned(),
            start.elapsed(),
        )
    };
    let doctor = || {
        xtask_cmd(&root(), &["doctor"])
            .env("HARNESS_CACHE_DIR", cache.path())
            .output()
            .unwrap()
    };
    let before = doctor();
    assert_eq!(
        before.status.code(),
        Some(3),
        "an empty cache lacks things: {}",
        text(&before)
    );
    let table = String::from_utf8_lossy(&before.stdout);
    assert!(
        table.contains("wine prefix") && table.contains("wineboot --init"),
        "the fix is shown:\n{table}"
    );
    let (first, first_time) = run();
    let after = doctor();
    assert_eq!(
        after.status.code(),
        Some(0),
        "everything is ready after a run: {}",
        text(&after)
    );
    for made in [
        "wine prefix: provisioned now",
        "ProcessPrng shim: provisioned now",
        "podman configuration: provisioned now",
    ] {
        assert!(
            first.contains(made),
            "the first run provisions ({made}):\n{first}"
        );
    }
    let (second, second_time) = run();
    assert!(
        !second.contains("provisioned now"),
        "the second run provisions nothing:\n{second}"
    );
    for reused in [
        "wine prefix: ready, nothing to do",
        "ProcessPrng shim: ready, nothing to do",
        "podman configuration: ready, nothing to do",
        "image debian:bookworm-slim: ready, nothing to do",
    ] {
        assert!(second.contains(reused), "{reused}:\n{second}");
    }
    println!("first run {first_time:?}, second run {second_time:?}");
    assert!(leftovers_after(15).is_empty());
}

#[test]
fn a_server_built_by_its_own_command_runs_with_a_seeded_data_dir() {
    let _serial = serial();
    // The scenario lives in target/e2e/<name>/: the build command runs there, and the
    // artifact path is relative to it.
    let config = variant(
        "own-build",
        &[
            (
                "[[target]]",
                "[[target]]\nname = \"local\"\ntriple = \"x86_64-unknown-linux-gnu\"\nruntime = \"host\"\nbuild = { command = [\"cargo\", \"build\", \"--quiet\", \"-p\", \"deploy-server\", \"--target-dir\", \"own-target\"], artifact = \"own-target/debug/deploy-server\" }\n\n[[target]]",
            ),
            (
                "env = { RUST_LOG = \"info\" }",
                "env = { RUST_LOG = \"info\" }\nseed = \"seed\"",
            ),
        ],
    );
    let seed = config.parent().unwrap().join("seed/projects");
    std::fs::create_dir_all(&seed).unwrap();
    std::fs::write(
        seed.join("p1.json"),
        r#"{"id": "p1", "name": "Seeded", "created": "2026-01-01T00:00:00Z"}"#,
    )
    .unwrap();
    let out = run_matrix(&config, &["--cell", "local", "--suite", "platform"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("build      cargo build --quiet -p deploy-server --target-dir own-target"),
        "its own command:\n{}",
        text(&out)
    );
    assert!(
        config
            .parent()
            .unwrap()
            .join("own-target/debug/deploy-server")
            .is_file()
    );
    // The seed is in the fresh data dir: the case that expects no projects sees it.
    assert!(err.contains("FAILED data-dir-isolated"), "{}", text(&out));
    assert!(err.contains("\"name\": \"Seeded\""), "{}", text(&out));
    assert!(leftovers_after(15).is_empty());
}

#[test]
fn cells_run_at_once_and_wine_cells_take_turns_with_the_prefix() {
    let _serial = serial();
    let config = variant(
        "four-cells",
        &[
            (
                "[snapshots]",
                "[[axis]]\nname = \"mode\"\nvalues = [\"a\", \"b\"]\n\n[snapshots]",
            ),
            ("primary = \"debian\"", "primary = \"debian-a\""),
        ],
    );
    // New cells have no baselines: their first snapshots are accepted into the scenario.
    let out = run_matrix(
        &config,
        &["--suite", "platform", "--suite", "tasks", "--accept"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    let at = |needle: &str| {
        err.find(needle)
            .unwrap_or_else(|| panic!("no `{needle}` in\n{err}"))
    };
    // One build serves all four cells.
    assert_eq!(
        err.matches("build      x86_64-pc-windows-gnu: built")
            .count(),
        1,
        "{err}"
    );
    // The container cells start while a Wine cell is still running: cells run at once.
    let first_wine_done = at("windows-a  server stopped").min(at("windows-b  server stopped"));
    assert!(
        at("debian-a   platform: starting") < first_wine_done
            || at("debian-b   platform: starting") < first_wine_done,
        "{err}"
    );
    // The two Wine cells never overlap: one's last server stops before the other's first
    // server starts.
    let lines: Vec<&str> = err.lines().collect();
    let first_line = |cell: &str, what: &str| {
        lines
            .iter()
            .position(|l| l.starts_with(cell) && l.contains(what))
            .unwrap()
    };
    let last_line = |cell: &str, what: &str| {
        lines
            .iter()
            .rposition(|l| l.starts_with(cell) && l.contains(what))
            .unwrap()
    };
    let (a, b) = ("windows-a ", "windows-b ");
    let (first, second) = if first_line(a, ": starting") < first_line(b, ": starting") {
        (a, b)
    } else {
        (b, a)
    };
    assert!(
        last_line(first, "server stopped") < first_line(second, ": starting"),
        "{err}"
    );
    assert!(leftovers_after(15).is_empty());
}
