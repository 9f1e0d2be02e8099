//! Builds and provisioning as a user meets them: a build that fails for one triple fails that
//! triple's cells with the compiler's message and leaves the others running; a host cell runs
//! as a plain process; a fresh cache is provisioned by the first run and reused by the second.
//! Facts come from the results and the JSON progress events, not from the human output.

use matrix_tests::{
    Run, leftovers_after, matrix_json, results_in, root, serial, variant, xtask_cmd,
};

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
    let run = matrix_json(&config, &["--suite", "platform"]);
    assert_eq!(run.code, Some(1), "{}", run.text);
    let broken = run.job("platform@windows-broken-on-windows");
    let error = broken["error"].as_str().expect("the windows job errs");
    assert!(
        error.contains("built with the `broken-on-windows` test feature"),
        "the compiler's message is the job's error:\n{error}"
    );
    let debian = run.job("platform@debian-broken-on-windows");
    assert!(debian["error"].is_null(), "{}", run.text);
    assert_eq!(
        debian["cases"].as_array().unwrap().len(),
        3,
        "the other cell still ran"
    );
    let log = std::fs::read_to_string(config.parent().unwrap().join("out/logs/build.log")).unwrap();
    assert!(log.contains("error: deploy-server: built with"), "{log}");
    assert!(
        !log.contains("{\"reason\""),
        "cargo's JSON messages are data, not log lines:\n{log}"
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
    let run = matrix_json(
        &config,
        &[
            "--cell", "local", "--suite", "platform", "--suite", "tasks", "--accept",
        ],
    );
    assert_eq!(run.code, Some(0), "{}", run.text);
    let artifact = root().join("target/x86_64-unknown-linux-gnu/debug/deploy-server");
    for start in run.events_of("server-starting") {
        let command = start["command"].as_str().unwrap();
        assert!(
            command.starts_with(&format!("{} ", artifact.display())),
            "a plain process, no wrapper: {command}"
        );
    }
    assert_eq!(run.job("tasks@local")["cases"].as_array().unwrap().len(), 6);
    assert!(leftovers_after(15).is_empty());
}

/// What one prerequisite's event said: `present` or `provisioned`.
fn state_of<'a>(run: &'a Run, what: &str) -> Option<&'a str> {
    run.events_of("prerequisite")
        .into_iter()
        .find(|e| e["what"].as_str().is_some_and(|w| w.starts_with(what)))
        .and_then(|e| e["state"].as_str())
}

#[test]
fn a_fresh_cache_is_provisioned_once_and_then_reused() {
    let _serial = serial();
    let cache = tempfile::tempdir().unwrap();
    let run = || {
        let start = std::time::Instant::now();
        let out = xtask_cmd(
            &root(),
            &["matrix", "--suite", "platform", "--format", "json"],
        )
        .env("HARNESS_CACHE_DIR", cache.path())
        .output()
        .unwrap();
        let run = Run::of(&out);
        assert_eq!(run.code, Some(0), "{}", run.text);
        (run, start.elapsed())
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
        matrix_tests::text(&before)
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
        matrix_tests::text(&after)
    );
    for made in ["wine prefix", "ProcessPrng shim", "podman configuration"] {
        assert_eq!(
            state_of(&first, made),
            Some("provisioned"),
            "the first run provisions {made}:\n{}",
            first.text
        );
    }
    let (second, second_time) = run();
    assert!(
        second
            .events_of("prerequisite")
            .iter()
            .all(|e| e["state"] == "present"),
        "the second run provisions nothing:\n{}",
        second.text
    );
    assert!(second.events_of("provisioning").is_empty());
    for reused in [
        "wine prefix",
        "ProcessPrng shim",
        "podman configuration",
        "image debian:bookworm-slim",
    ] {
        assert_eq!(state_of(&second, reused), Some("present"), "{reused}");
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
            ("seed = \"fixtures/seed\"", "seed = \"seed\""),
        ],
    );
    let seed = config.parent().unwrap().join("seed/projects");
    std::fs::create_dir_all(&seed).unwrap();
    std::fs::write(
        seed.join("p1.json"),
        r#"{"id": "p1", "name": "Seeded", "created": "2026-01-01T00:00:00Z"}"#,
    )
    .unwrap();
    // Named relative to where the command runs, as a user types it: the artifact and the
    // seed still resolve for the server, which runs in its own data dir.
    let relative = config.strip_prefix(root()).unwrap();
    let run = matrix_json(relative, &["--cell", "local", "--suite", "platform"]);
    let builds = run.events_of("build-started");
    assert_eq!(
        builds[0]["command"], "cargo build --quiet -p deploy-server --target-dir own-target",
        "its own command:\n{}",
        run.text
    );
    assert!(
        config
            .parent()
            .unwrap()
            .join("own-target/debug/deploy-server")
            .is_file()
    );
    // The seed is in the fresh data dir: the case that expects no projects sees it.
    let isolated = run.case("platform", "data-dir-isolated", "local");
    assert_eq!(isolated["status"], "failed", "{}", run.text);
    assert!(
        isolated["detail"]
            .as_str()
            .unwrap()
            .contains("\"name\": \"Seeded\""),
        "{isolated}"
    );
    assert!(leftovers_after(15).is_empty());
}

/// `results.json` without what measures time, which differs from run to run: durations,
/// and where each case's lines begin and end in the server's logs (a server may write a
/// line just after it answers, before or after the case's end is marked).
fn without_timings(mut v: serde_json::Value) -> serde_json::Value {
    fn strip(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(map) => {
                for key in [
                    "duration_ms",
                    "prepare_ms",
                    "phases",
                    "started",
                    "log_spans",
                ] {
                    map.remove(key);
                }
                map.values_mut().for_each(strip);
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    strip(&mut v);
    v
}

#[test]
fn jobs_run_at_once_never_two_in_one_wine_prefix_and_j1_changes_no_result() {
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
    let suites = [
        "--suite", "platform", "--suite", "tasks", "--suite", "files",
    ];
    // New cells have no baselines: their first snapshots are accepted into the scenario.
    let mut accept = suites.to_vec();
    accept.push("--accept");
    let first = matrix_json(&config, &accept);
    assert_eq!(first.code, Some(0), "{}", first.text);
    let dir = tempfile::tempdir().unwrap();
    let (at_once, one_by_one) = (dir.path().join("j4"), dir.path().join("j1"));
    let run_with = |jobs: &str, out: &std::path::Path| {
        let mut args = suites.to_vec();
        args.extend(["-j", jobs, "--out", out.to_str().unwrap()]);
        matrix_json(&config, &args)
    };
    let run = run_with("4", &at_once);
    assert_eq!(run.code, Some(0), "{}", run.text);
    // One build per triple serves all its cells (both Windows targets, both modes).
    let windows_builds = run
        .events_of("build-finished")
        .into_iter()
        .filter(|e| e["build"] == "x86_64-pc-windows-gnu")
        .count();
    assert_eq!(windows_builds, 1, "{}", run.text);
    // Each server's span in the event stream (which is in the order things happened), with
    // the Wine prefix it ran in.
    let mut spans: Vec<(String, usize, usize, Option<String>)> = Vec::new();
    for (i, e) in run.events.iter().enumerate() {
        if e["event"] == "server-starting" {
            let id = format!(
                "{}@{}",
                e["suite"].as_str().unwrap(),
                e["cell"].as_str().unwrap()
            );
            let place = e["place"].as_str().map(str::to_owned);
            spans.push((id, i, usize::MAX, place));
        }
        if e["event"] == "server-stopped" {
            let log = e["logs"][1].as_str().unwrap();
            let suite = std::path::Path::new(log)
                .file_name()
                .unwrap()
                .to_str()
                .unwrap();
            let id = format!(
                "{}@{}",
                suite.trim_end_matches(".server.stderr.log"),
                e["cell"].as_str().unwrap()
            );
            let span = spans.iter_mut().find(|s| s.0 == id).unwrap();
            span.2 = i;
        }
    }
    let cells = run.results["plan"]["cells"].as_array().unwrap().len();
    assert_eq!(cells, 6, "three targets by two modes");
    assert_eq!(spans.len(), 3 * cells, "{}", run.text);
    let overlap = |a: &(String, usize, usize, Option<String>),
                   b: &(String, usize, usize, Option<String>)| {
        a.1 < b.2 && b.1 < a.2
    };
    let wine: Vec<_> = spans.iter().filter(|s| s.0.contains("@windows")).collect();
    assert!(
        wine.iter()
            .all(|s| s.3.as_deref().is_some_and(|p| p.contains("wine-prefix"))),
        "{spans:?}"
    );
    let mut wine_at_once = 0;
    for (i, a) in wine.iter().enumerate() {
        for b in &wine[i + 1..] {
            if overlap(a, b) {
                wine_at_once += 1;
                assert_ne!(
                    a.3, b.3,
                    "two Wine servers ran in one prefix at once: {spans:?}"
                );
            }
        }
    }
    // Wine servers do run at once (each in its own prefix).
    assert!(wine_at_once > 0, "{spans:?}");
    // So do jobs of one cell: with one cell selected and room for all three of its jobs,
    // their servers all start before any stops.
    let one_cell = {
        let mut args = suites.to_vec();
        let out = dir.path().join("one-cell");
        args.extend([
            "--cell",
            "debian-a",
            "-j",
            "3",
            "--out",
            out.to_str().unwrap(),
        ]);
        matrix_json(&config, &args)
    };
    assert_eq!(one_cell.code, Some(0), "{}", one_cell.text);
    let kinds: Vec<&str> = one_cell
        .events
        .iter()
        .filter_map(|e| e["event"].as_str())
        .filter(|e| *e == "server-starting" || *e == "server-stopped")
        .collect();
    assert_eq!(
        kinds[..3],
        ["server-starting"; 3],
        "the jobs of one cell ran one after another: {kinds:?}"
    );
    // One after another, in plan order, the results are the same apart from timings.
    let serial_run = run_with("1", &one_by_one);
    assert_eq!(serial_run.code, Some(0), "{}", serial_run.text);
    let starts: Vec<usize> = serial_run
        .events
        .iter()
        .enumerate()
        .filter(|(_, e)| e["event"] == "server-starting" || e["event"] == "server-stopped")
        .map(|(i, _)| i)
        .collect();
    assert!(
        starts.chunks(2).all(
            |pair| serial_run.events[pair[0]]["event"] == "server-starting"
                && serial_run.events[pair[1]]["event"] == "server-stopped"
        ),
        "with -j 1 each server stops before the next starts: {}",
        serial_run.text
    );
    // The run says how much of its time went before the jobs began.
    let results = results_in(&at_once);
    // And where and when each job ran, for the report's timeline: in one of the -j 4
    // places, one job at a time in each (ms rounding aside), more than one place used.
    let mut places: std::collections::BTreeMap<u64, Vec<(u64, u64)>> = Default::default();
    for job in results["jobs"].as_array().unwrap() {
        let start = job["phases"]["start_ms"].as_u64().unwrap();
        let end = start + job["duration_ms"].as_u64().unwrap();
        let slot = job["phases"]["slot"].as_u64().unwrap();
        assert!(slot < 4, "{job}");
        places.entry(slot).or_default().push((start, end));
    }
    assert!(places.len() > 1, "{places:?}");
    for spans in places.values_mut() {
        spans.sort_unstable();
        assert!(
            spans.windows(2).all(|w| w[0].1 <= w[1].0 + 2),
            "two jobs at once in one place: {spans:?}"
        );
    }
    let prepare = results["prepare_ms"].as_u64().unwrap_or_default();
    assert!(
        prepare > 0 && prepare < results["duration_ms"].as_u64().unwrap_or_default(),
        "{results}"
    );
    assert_eq!(
        without_timings(results),
        without_timings(results_in(&one_by_one))
    );
    assert!(leftovers_after(15).is_empty());
}
