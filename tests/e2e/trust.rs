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

#[test]
fn a_fifo_in_the_seed_and_a_seed_that_holds_the_output_folder_are_refused_with_their_position() {
    let _serial = serial();
    let config = fault_matrix("seeds", &["a"], &[("health", &get("/health"))], "");
    let dir = config.parent().unwrap();
    let seed = dir.join("seed");
    let _ = std::fs::remove_dir_all(&seed);
    std::fs::create_dir_all(seed.join("files")).unwrap();
    let text = std::fs::read_to_string(&config).unwrap().replacen(
        "[server]\n",
        "[server]\nseed = \"seed\"\n",
        1,
    );
    std::fs::write(&config, text).unwrap();
    // The output folder inside the seed: every data dir would copy the runs into itself.
    let inside = seed.join("out");
    let run = matrix_json(&config, &["--out", inside.to_str().unwrap()]);
    assert_eq!(run.code, Some(2), "{}", run.text);
    assert!(
        run.text.contains("matrix.toml:4:8"),
        "the seed's position: {}",
        run.text
    );
    assert!(run.text.contains("hold one another"), "{}", run.text);
    // A FIFO: a copy would block on it for ever. Refused before anything is built.
    let fifo = seed.join("files/pipe");
    let path = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid C string.
    assert_eq!(unsafe { libc::mkfifo(path.as_ptr(), 0o644) }, 0);
    let started = Instant::now();
    let run = matrix_json(&config, &[]);
    assert_eq!(run.code, Some(2), "{}", run.text);
    assert!(run.text.contains("files/pipe, a FIFO"), "{}", run.text);
    assert!(started.elapsed() < Duration::from_secs(60));
}

#[test]
fn an_output_folder_of_the_user_or_a_shard_being_merged_is_never_written_over() {
    let _serial = serial();
    let config = fault_matrix("outs", &["a"], &[("health", &get("/health"))], "");
    let dir = config.parent().unwrap();
    // A folder with the user's own report: refused, and left as it was.
    let users = dir.join("users");
    let _ = std::fs::remove_dir_all(&users);
    std::fs::create_dir_all(users.join("logs")).unwrap();
    std::fs::write(users.join("report.md"), "my notes").unwrap();
    std::fs::write(users.join("logs/keep.txt"), "mine").unwrap();
    let run = matrix_json(&config, &["--out", users.to_str().unwrap()]);
    assert_eq!(run.code, Some(2), "{}", run.text);
    assert!(
        run.text.contains("holds files that are not a run's"),
        "{}",
        run.text
    );
    assert_eq!(
        std::fs::read_to_string(users.join("report.md")).unwrap(),
        "my notes"
    );
    assert_eq!(
        std::fs::read_to_string(users.join("logs/keep.txt")).unwrap(),
        "mine"
    );
    // A shard, merged into itself: refused, the shard intact.
    let shard = dir.join("shard");
    let _ = std::fs::remove_dir_all(&shard);
    let run = matrix_json(
        &config,
        &["--out", shard.to_str().unwrap(), "--shard", "1/1"],
    );
    // New snapshots: PENDING.
    assert_eq!(run.code, Some(4), "{}", run.text);
    let before = std::fs::read_to_string(shard.join("results.json")).unwrap();
    let merge = matrix_tests::xtask_command(
        &root(),
        &[
            "report",
            "--config",
            config.to_str().unwrap(),
            "--merge",
            shard.to_str().unwrap(),
            "--out",
            shard.to_str().unwrap(),
        ],
    );
    assert_eq!(merge.status.code(), Some(2), "{}", text(&merge));
    assert!(
        text(&merge).contains("is one of the shards it merges"),
        "{}",
        text(&merge)
    );
    assert_eq!(
        std::fs::read_to_string(shard.join("results.json")).unwrap(),
        before
    );
    // A run's own folder is its to write again.
    let again = matrix_json(
        &config,
        &["--out", shard.to_str().unwrap(), "--shard", "1/1"],
    );
    assert_eq!(again.code, Some(4), "{}", again.text);
}

#[test]
fn a_command_that_exits_is_done_and_what_it_left_running_is_stopped_and_named() {
    let _serial = serial();
    let suite = |name: &str, script: &str| {
        format!(
            "\n[[suite]]\nname = \"{name}\"\nkind = \"command\"\ncommand = [\"sh\", \"-c\", {}]\nscope = \"per-target\"\n",
            serde_json::to_string(script).unwrap()
        )
    };
    let extra = [
        // A background child keeps the command's output open after it exited.
        suite("background", "sleep 2920 & echo started; exit 0"),
        // A daemon leaves the command's process group and outlives it (the command waits a
        // moment, so that it has left before the command's group is ended).
        suite(
            "daemon",
            "setsid sleep 2921 </dev/null >/dev/null 2>&1 & sleep 0.5; echo started",
        ),
        // A worker with an empty environment (no mark) in a session of its own.
        suite(
            "unmarked",
            "env -i setsid sleep 2922 </dev/null >/dev/null 2>&1 & sleep 0.5; echo started",
        ),
        // A snapshot in a legacy code page.
        suite(
            "legacy",
            "printf 'caf\\351' > \"$HARNESS_SNAPSHOT_DIR/legacy.txt\"",
        ),
    ]
    .concat();
    let config = fault_matrix(
        "commands",
        &["a"],
        &[],
        &format!("\n[limits]\ncommand_timeout = \"2m\"\n{extra}"),
    );
    let text = std::fs::read_to_string(&config).unwrap().replace(
        "[[suite]]\nname = \"f\"\nkind = \"http\"\npath = \"suites/f\"\nscope = \"per-target\"\n",
        "",
    );
    std::fs::write(&config, text).unwrap();
    let started = Instant::now();
    let run = matrix_json(&config, &[]);
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "a command that exited is not waited on: {}",
        run.text
    );
    for job in ["background@a", "daemon@a", "unmarked@a", "legacy@a"] {
        assert_eq!(
            run.job(job)["error"],
            serde_json::Value::Null,
            "{job}: {}",
            run.text
        );
    }
    let passed = |job: &str| {
        run.job(job)["cases"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["passed"] == true)
    };
    assert!(passed("background@a") && passed("daemon@a"), "{}", run.text);
    let leaked = run.job("daemon@a")["leaked"].to_string();
    assert!(
        leaked.contains("sleep 2921"),
        "the daemon is named: {leaked}"
    );
    // A worker with no mark cannot be traced to its job: the first job to end after it was
    // adopted stops it and names it (with four jobs at once, not always its own).
    let leaked: String = ["background@a", "daemon@a", "unmarked@a", "legacy@a"]
        .iter()
        .map(|job| run.job(job)["leaked"].to_string())
        .collect();
    assert!(
        leaked.contains("sleep 2922"),
        "the worker with no mark is named: {leaked}"
    );
    let running = |needle: &str| {
        std::fs::read_dir("/proc").unwrap().flatten().any(|e| {
            std::fs::read(e.path().join("cmdline"))
                .is_ok_and(|b| String::from_utf8_lossy(&b).replace('\0', " ").trim() == needle)
        })
    };
    for sleeper in ["sleep 2920", "sleep 2921", "sleep 2922"] {
        assert!(!running(sleeper), "{sleeper} is left running");
    }
    let legacy = run.results["observations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["suite"] == "legacy" && o["case"] == "legacy")
        .unwrap_or_else(|| panic!("no legacy snapshot: {}", run.text))["text"]
        .to_string();
    assert!(legacy.contains("caf\\\\xE9"), "{legacy}");
}

#[test]
fn a_redirect_away_from_the_launched_server_is_recorded_and_not_fetched() {
    let _serial = serial();
    // A stand-in metadata endpoint with a secret, which the server redirects to.
    let secret = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/latest/meta-data", secret.local_addr().unwrap());
    let fetched = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let seen = fetched.clone();
    std::thread::spawn(move || {
        for stream in secret.incoming() {
            let Ok(mut stream) = stream else { continue };
            seen.store(true, std::sync::atomic::Ordering::SeqCst);
            let _ = std::io::Write::write_all(
                &mut stream,
                b"HTTP/1.1 200 OK\r\ncontent-length: 14\r\nconnection: close\r\n\r\nSECRET-TOKEN-1",
            );
        }
    });
    let config = fault_matrix(
        "redirect-away",
        &["a"],
        &[(
            "away",
            "[[step]]\nmethod = \"GET\"\npath = \"/redirect-away\"\nfollow_redirects = true\n",
        )],
        "",
    );
    cell_env(&config, "a", &[("FAULT_REDIRECT", &url)]);
    let run = matrix_json(&config, &[]);
    assert_eq!(
        run.job("f@a")["error"],
        serde_json::Value::Null,
        "{}",
        run.text
    );
    assert!(
        !fetched.load(std::sync::atomic::Ordering::SeqCst),
        "the secret was fetched"
    );
    assert!(!run.text.contains("SECRET-TOKEN"), "{}", run.text);
    let observed = run.results["observations"][0]["text"].as_str().unwrap();
    assert!(observed.starts_with("status: 302"), "{observed}");
    assert!(
        observed.contains("latest/meta-data"),
        "the redirect is recorded: {observed}"
    );
    let logs = config
        .parent()
        .unwrap()
        .join("out/logs/a/exchanges/f/away.http");
    assert!(
        !std::fs::read_to_string(logs)
            .unwrap()
            .contains("SECRET-TOKEN")
    );
}

#[test]
fn a_snapshot_that_cannot_be_written_is_named_with_its_error_and_never_listed_for_review() {
    let _serial = serial();
    let config = fault_matrix(
        "unwritable",
        &["a"],
        &[("one", &get("/health")), ("two", &get("/health"))],
        "",
    );
    // Where the pending snapshot of `one` goes, a folder: no rename can replace it.
    let blocked = config
        .parent()
        .unwrap()
        .join("snapshots/f__one.1@a.snap.new");
    std::fs::create_dir_all(&blocked).unwrap();
    let cfg = config.to_str().unwrap();
    let out =
        matrix_tests::xtask_command(&root(), &["matrix", "--config", cfg, "--color", "never"]);
    let shown = text(&out);
    assert_eq!(out.status.code(), Some(1), "{shown}");
    assert!(
        shown.contains(&format!("{}: Is a directory", blocked.display())),
        "the file and its error: {shown}"
    );
    let results = results_in(&config.parent().unwrap().join("out"));
    let errors = results["file_errors"].to_string();
    assert!(errors.contains("f__one.1@a.snap.new"), "{errors}");
    assert!(!errors.contains(".tmp"), "no temp file is named: {errors}");
    // Review lists what exists: `two`, not `one`.
    let listed = shown
        .split("new snapshots, not yet baselines")
        .nth(1)
        .and_then(|rest| rest.split("\n\n").next())
        .unwrap_or("");
    assert!(
        listed.contains("f__two.1@a") && !listed.contains("f__one.1@a"),
        "{shown}"
    );
}

#[test]
fn a_huge_sparse_file_in_the_data_dir_is_hashed_as_a_stream_within_its_cap() {
    let _serial = serial();
    // 3 GiB of holes: read whole, it took minutes and gigabytes.
    let config = fault_matrix(
        "sparse",
        &["a"],
        &[("sparse", &get("/sparse?mb=3072"))],
        "data_dir = \"suite\"\n",
    );
    let started = Instant::now();
    let run = matrix_json(&config, &[]);
    let took = started.elapsed();
    assert_eq!(
        run.job("f@a")["error"],
        serde_json::Value::Null,
        "{}",
        run.text
    );
    let tree = run.results["observations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["case"] == "+data-dir")
        .unwrap_or_else(|| panic!("no data-dir tree: {}", run.text))["text"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        tree.contains("f big.bin 3221225472 bytes sha256:")
            && tree.contains("(of its first 64 MiB)"),
        "{tree}"
    );
    assert!(took < Duration::from_secs(60), "the run took {took:?}");
}

#[test]
fn a_server_s_two_streams_are_each_kept_whole_so_their_interleaving_is_no_difference() {
    let _serial = serial();
    // The same server on two cells; one writes to standard error first, the other to
    // standard output first. Each stream says the same: the logs do not differ.
    let config = fault_matrix(
        "two-streams",
        &["a", "b"],
        &[("streams", &get("/two-streams"))],
        "log = true\n",
    );
    cell_env(&config, "b", &[("FAULT_STDERR_FIRST", "1")]);
    let run = matrix_json(&config, &[]);
    assert_eq!(
        run.job("f@b")["error"],
        serde_json::Value::Null,
        "{}",
        run.text
    );
    assert_eq!(diverging_on_b(&run), Vec::<String>::new(), "{}", run.text);
    let log = run.results["observations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["case"] == "+log" && o["cell"] == "b")
        .unwrap_or_else(|| panic!("no log snapshot: {}", run.text))["text"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(log.starts_with("[stdout]\nto stdout\n[stderr]\n"), "{log}");
}
