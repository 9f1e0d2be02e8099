//! Faults, hostile answers and limits, each proven on real processes: a grandchild that
//! leaves its process group, a harness killed with SIGKILL (host, container and Wine
//! servers, a build), a build's temporary files, Ctrl-C in a hanging case, a build and a lock wait, a 50 MB body, a server that
//! crashes mid-case, a JUnit file with `time="inf"`, names that are not file names, a
//! tampered shard, and a hostile server whose reports are then read by independent parsers.
//! The faults come from `fixtures/fault-server/server.py`, run as a host cell, and from the
//! sample server.

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use matrix_tests::{
    Run, chromium_dom, command, leftovers_after, matrix_json, python_path, results_in, root,
    scenario, serial, text, variant, xtask_cmd,
};

/// A matrix of the fault server on host cells (one per `(target, variant)`), with one
/// per-target http suite `f` of `cases` (file name, TOML), and `extra` TOML appended.
pub(crate) fn fault_matrix(
    name: &str,
    cells: &[&str],
    cases: &[(&str, &str)],
    extra: &str,
) -> PathBuf {
    let mut text = format!(
        "primary = \"{}\"\n\n[server]\nargs = [\"--listen\", \"{{addr}}\", \"--data-dir\", \"{{data_dir}}\"]\n\n[server.ready]\nhttp = \"/health\"\ntimeout = \"20s\"\n",
        cells[0]
    );
    for cell in cells {
        text.push_str(&format!(
            "\n[[target]]\nname = \"{cell}\"\ntriple = \"x86_64-unknown-linux-gnu\"\nruntime = \"host\"\nenv = {{ FAULT_VARIANT = \"{cell}\" }}\nbuild = {{ command = [\"true\"], artifact = \"{{root}}/fixtures/fault-server/server.py\" }}\n"
        ));
    }
    text.push_str("\n[[suite]]\nname = \"f\"\nkind = \"http\"\npath = \"suites/f\"\nscope = \"per-target\"\n\n[snapshots]\ndir = \"snapshots\"\n");
    text.push_str(extra);
    let config = scenario(name, &text);
    let suite = config.parent().unwrap().join("suites/f");
    let _ = std::fs::remove_dir_all(&suite);
    let _ = std::fs::remove_dir_all(config.parent().unwrap().join("snapshots"));
    std::fs::create_dir_all(&suite).unwrap();
    for (file, toml) in cases {
        std::fs::write(suite.join(format!("{file}.toml")), toml).unwrap();
    }
    config
}

/// Adds `vars` to the environment of `cell` in the fault matrix `config`.
pub(crate) fn cell_env(config: &Path, cell: &str, vars: &[(&str, &str)]) {
    let text = std::fs::read_to_string(config).unwrap();
    let from = format!("env = {{ FAULT_VARIANT = \"{cell}\"");
    assert!(text.contains(&from), "{text}");
    let extra: String = vars
        .iter()
        .map(|(k, v)| format!(", {k} = \"{v}\""))
        .collect();
    std::fs::write(config, text.replacen(&from, &format!("{from}{extra}"), 1)).unwrap();
}

fn get(path: &str) -> String {
    format!("[[step]]\nmethod = \"GET\"\npath = \"{path}\"\n")
}

/// The live processes whose command line contains `needle`.
pub(crate) fn processes(needle: &str) -> Vec<String> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| {
            let stat = std::fs::read_to_string(e.path().join("stat")).ok()?;
            let state = stat[stat.rfind(')')? + 2..].chars().next()?;
            let cmdline = std::fs::read(e.path().join("cmdline")).ok()?;
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            (state != 'Z' && cmdline.contains(needle) && !cmdline.contains("cargo"))
                .then(|| cmdline.trim().to_owned())
        })
        .collect()
}

/// Waits up to `secs` until `done` holds.
pub(crate) fn eventually(secs: u64, what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !done() {
        assert!(
            Instant::now() < deadline,
            "{what} did not happen within {secs}s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A `cargo xtask matrix` in its own process group, its JSON events read as they come.
pub(crate) struct Started {
    pub(crate) child: Child,
    lines: std::sync::mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Started {
    pub(crate) fn new(config: &Path, args: &[&str]) -> Started {
        let mut all = vec![
            "matrix",
            "--config",
            config.to_str().unwrap(),
            "--format",
            "json",
        ];
        all.extend_from_slice(args);
        let mut cmd = xtask_cmd(&root(), &all);
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let mut child = cmd
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let lines = matrix_tests::stderr_lines(&mut child);
        Started {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits for an event of `kind` (within `secs`).
    pub(crate) fn wait_for(&mut self, kind: &str, secs: u64) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let line = self
                .lines
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .unwrap_or_else(|_| panic!("no `{kind}` event:\n{}", self.seen.join("\n")));
            let is =
                serde_json::from_str::<serde_json::Value>(&line).is_ok_and(|e| e["event"] == kind);
            self.seen.push(line);
            if is {
                return;
            }
        }
    }

    /// The harness process: `cargo run` replaces itself with the binary it runs, so it is
    /// the process this test started.
    pub(crate) fn harness_pid(&self) -> u32 {
        let pid = self.child.id();
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        assert!(
            String::from_utf8_lossy(&cmdline).contains("xtask"),
            "{pid} is not the harness: {}",
            String::from_utf8_lossy(&cmdline)
        );
        pid
    }

    /// Sends SIGINT to the group, as Ctrl-C in a terminal does, and waits for the exit.
    pub(crate) fn interrupt(mut self) -> (Option<i32>, Duration, Vec<String>) {
        // SAFETY: signalling the process group this test created.
        unsafe {
            libc::killpg(self.child.id() as libc::pid_t, libc::SIGINT);
        }
        let start = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "no exit after SIGINT"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        let took = start.elapsed();
        self.seen.extend(self.lines.try_iter());
        (status.code(), took, self.seen)
    }
}

#[test]
fn a_grandchild_that_leaves_the_process_group_is_stopped_and_reported() {
    let _serial = serial();
    let config = fault_matrix("setsid", &["a"], &[("spawn", &get("/spawn"))], "");
    let run = matrix_json(&config, &[]);
    assert_eq!(run.code, Some(4), "new snapshots only:\n{}", run.text);
    assert!(
        processes("sleep 3131").is_empty(),
        "the setsid grandchild is gone"
    );
    let leaked = run.job("f@a")["leaked"].as_array().unwrap().clone();
    assert_eq!(leaked.len(), 1, "{}", run.text);
    assert!(
        leaked[0].as_str().unwrap().ends_with(": sleep 3131"),
        "{leaked:?}"
    );
}

#[test]
fn a_build_s_temporary_files_go_with_it_and_a_killed_build_s_go_with_the_next_run() {
    let _serial = serial();
    // A build that leaves a file in its temporary folder, as rustc's dlltool does, and says
    // where that folder was; `SLEEP` makes it wait there.
    let config = fault_matrix("build-temp", &["a"], &[("ok", &get("/health"))], "");
    let dir = config.parent().unwrap().to_owned();
    let told = dir.join("build-temp.txt");
    let script =
        "echo \"$TMPDIR\" > build-temp.txt && touch \"$TMPDIR/left-by-the-build\" && sleep $SLEEP";
    let text = std::fs::read_to_string(&config).unwrap();
    let with_script = text.replace(
        "command = [\"true\"]",
        &format!("command = [\"sh\", \"-c\", '{script}'], env = {{ SLEEP = \"{{sleep}}\" }}"),
    );
    assert_ne!(with_script, text);
    let build_with = |sleep: &str| {
        std::fs::write(&config, with_script.replace("{sleep}", sleep)).unwrap();
    };
    let temp_of_build = || {
        let path = PathBuf::from(std::fs::read_to_string(&told).unwrap().trim());
        assert!(
            path.starts_with(std::env::temp_dir()) && path != std::env::temp_dir(),
            "{}",
            path.display()
        );
        path
    };
    // A build that ends: its folder, with what it left there, goes when it does.
    build_with("0");
    let run = matrix_json(&config, &[]);
    assert_eq!(run.code, Some(4), "new snapshots only:\n{}", run.text);
    let first = temp_of_build();
    assert!(!first.exists(), "{} is still there", first.display());
    // A harness killed with SIGKILL mid-build cannot remove it: the next run does, and says so.
    let _ = std::fs::remove_file(&told);
    build_with("2953");
    let mut killed = Started::new(&config, &[]);
    killed.wait_for("build-started", 120);
    eventually(20, "the build's file in its folder", || {
        std::fs::read_to_string(&told)
            .is_ok_and(|t| Path::new(t.trim()).join("left-by-the-build").is_file())
    });
    let second = temp_of_build();
    // SAFETY: killing the harness process this test started.
    unsafe {
        libc::kill(killed.harness_pid() as libc::pid_t, libc::SIGKILL);
    }
    let _ = killed.child.wait();
    assert!(
        second.join("left-by-the-build").is_file(),
        "the killed run's build folder is left"
    );
    build_with("0");
    let next = matrix_json(&config, &[]);
    assert_eq!(next.code, Some(4), "new snapshots only:\n{}", next.text);
    assert!(!second.exists(), "{} is still there", second.display());
    let removed = next.events_of("leftovers-removed");
    assert_eq!(removed.len(), 1, "{}", next.text);
    assert!(
        removed[0]["removed"]
            .to_string()
            .contains(&format!("temporary folder {}", second.display())),
        "{}",
        next.text
    );
    assert!(processes("sleep 2953").is_empty());
    assert!(leftovers_after(15).is_empty());
}

/// The sample matrix with a client suite that sleeps `seconds` (a number no other test
/// sleeps), started on `cell` and killed with SIGKILL once its server is ready and its suite
/// runs; returns the matrix.
fn killed_mid_suite(cell: &str, seconds: &str) -> PathBuf {
    let config = variant(
        &format!("sigkill-{cell}"),
        &[(
            "command = [\"cargo\", \"test\", \"--quiet\", \"-p\", \"deploy-client-tests\", \"--\", \"--test-threads=1\"]",
            &format!("command = [\"sleep\", \"{seconds}\"]"),
        )],
    );
    let mut run = Started::new(&config, &["--cell", cell, "--suite", "client"]);
    run.wait_for("server-ready", 300);
    let sleep = format!("sleep {seconds}");
    eventually(20, "the suite's command", || !processes(&sleep).is_empty());
    // SAFETY: killing the harness process this test started.
    unsafe {
        libc::kill(run.harness_pid() as libc::pid_t, libc::SIGKILL);
    }
    let _ = run.child.wait();
    config
}

#[test]
fn a_harness_killed_with_sigkill_leaves_no_host_server_and_the_next_run_removes_its_container() {
    let _serial = serial();
    // A host server mid-case: the kill takes the server with it (parent-death signal).
    let config = fault_matrix("sigkill-host", &["a"], &[("hang", &get("/hang"))], "");
    let log = config
        .parent()
        .unwrap()
        .join("out/logs/a/f.server.stderr.log");
    let mut run = Started::new(&config, &[]);
    run.wait_for("server-ready", 120);
    eventually(20, "the hanging request", || {
        std::fs::read_to_string(&log).is_ok_and(|l| l.contains("start /hang"))
    });
    // SAFETY: killing the harness process this test started.
    unsafe {
        libc::kill(run.harness_pid() as libc::pid_t, libc::SIGKILL);
    }
    let _ = run.child.wait();
    eventually(10, "the host server's end", || {
        processes("fault-server/server.py").is_empty()
    });

    // A container mid-suite: the engine keeps it after the harness dies; the next run
    // finds it by its label and dead owner and removes it, and says so.
    let config = killed_mid_suite("debian", "2917");
    eventually(10, "the suite's command's end", || {
        processes("sleep 2917").is_empty()
    });
    let left = matrix_tests::engine_output(
        "podman",
        &[
            "ps",
            "-a",
            "--filter",
            "label=io.port-harness",
            "--format",
            "{{.Names}}",
        ],
    );
    assert!(
        !left.trim().is_empty(),
        "the engine kept the container of the killed run"
    );
    let next = matrix_json(&config, &["--cell", "debian", "--suite", "platform"]);
    assert_eq!(next.code, Some(0), "{}", next.text);
    let removed = next.events_of("leftovers-removed");
    assert_eq!(removed.len(), 1, "{}", next.text);
    let removed = removed[0]["removed"].to_string();
    for name in left.lines() {
        assert!(removed.contains(name), "{name} in {removed}");
    }
    assert!(leftovers_after(15).is_empty());
}

#[test]
fn the_wine_daemons_a_harness_killed_with_sigkill_leaves_go_before_the_next_run_starts_wine() {
    let _serial = serial();
    // A Wine server mid-suite: the kill takes the server with it (parent-death signal), but
    // the slot's wineserver and Wine's services are daemons and outlive the harness.
    let config = killed_mid_suite("windows", "2919");
    eventually(10, "the Wine server's end", || {
        processes("deploy-server.exe").is_empty()
    });
    let left = processes("wineserver");
    assert!(!left.is_empty(), "the killed run's wineserver outlived it");
    // The next run removes them before it starts a wineserver of its own (one of theirs in a
    // prefix of the pool would pass for its own), says so, and runs Wine as usual.
    let next = matrix_json(&config, &["--cell", "windows", "--suite", "platform"]);
    assert_eq!(next.code, Some(0), "{}", next.text);
    let removed = next.events_of("leftovers-removed");
    assert_eq!(removed.len(), 1, "{}", next.text);
    assert!(
        removed[0]["removed"].to_string().contains("wineserver"),
        "{}",
        next.text
    );
    let left = leftovers_after(15);
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn ctrl_c_ends_a_hanging_case_a_build_and_a_lock_wait_within_five_seconds() {
    let _serial = serial();
    // A case that waits on a server that never answers.
    let config = fault_matrix("ctrl-c-case", &["a"], &[("hang", &get("/hang"))], "");
    let log = config
        .parent()
        .unwrap()
        .join("out/logs/a/f.server.stderr.log");
    let mut run = Started::new(&config, &[]);
    run.wait_for("server-ready", 120);
    eventually(20, "the hanging request", || {
        std::fs::read_to_string(&log).is_ok_and(|l| l.contains("start /hang"))
    });
    let (code, took, seen) = run.interrupt();
    assert_eq!(code, Some(130), "{}", seen.join("\n"));
    assert!(took < Duration::from_secs(5), "a hanging case: {took:?}");
    assert!(processes("fault-server/server.py").is_empty());

    // A build that takes its time.
    let config = scenario(
        "ctrl-c-build",
        &std::fs::read_to_string(fault_matrix(
            "ctrl-c-build",
            &["a"],
            &[("ok", &get("/health"))],
            "",
        ))
        .unwrap()
        .replace("command = [\"true\"]", "command = [\"sleep\", \"2939\"]"),
    );
    let mut run = Started::new(&config, &[]);
    run.wait_for("build-started", 120);
    eventually(20, "the build", || !processes("sleep 2939").is_empty());
    let (code, took, seen) = run.interrupt();
    assert_eq!(code, Some(130), "{}", seen.join("\n"));
    assert!(took < Duration::from_secs(5), "a build: {took:?}");
    assert!(processes("sleep 2939").is_empty(), "the build was stopped");

    // A cell waiting for the Wine prefix another run holds (with `-j 1` the run's pool is
    // that one prefix).
    // The first slot of the Windows Server 2022 cell's pool (Wine reports Windows 10).
    let lock = harness::provision::cache_dir().join("wine-prefix-win10.lock");
    let held = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock)
        .unwrap();
    held.lock().unwrap();
    let mut run = Started::new(
        &root().join("matrix.toml"),
        &[
            "--cell",
            "windows",
            "--suite",
            "platform",
            "-j",
            "1",
            "--out",
            "target/e2e/ctrl-c-lock",
        ],
    );
    run.wait_for("waiting", 300);
    let (code, took, seen) = run.interrupt();
    drop(held);
    assert_eq!(code, Some(130), "{}", seen.join("\n"));
    assert!(took < Duration::from_secs(5), "a lock wait: {took:?}");
    assert!(leftovers_after(15).is_empty());
}

#[test]
fn a_50_mb_body_is_kept_as_its_size_hash_and_first_bytes() {
    let _serial = serial();
    let config = fault_matrix("big-body", &["a"], &[("big", &get("/big?mb=50"))], "");
    let run = matrix_json(&config, &[]);
    assert_eq!(run.code, Some(4), "{}", run.text);
    let out = config.parent().unwrap().join("out");
    let observed = results_in(&out)["observations"][0]["text"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        observed.contains("[a body of 52428800 bytes, more than [limits] max_body: sha256 "),
        "{}",
        &observed[..300.min(observed.len())]
    );
    let size = std::fs::metadata(out.join("results.json")).unwrap().len();
    assert!(size < 8 * 1024 * 1024, "results.json is {size} bytes");
}

#[test]
fn a_server_that_crashes_mid_case_is_reported_with_its_status_and_log() {
    let _serial = serial();
    let config = fault_matrix("crash", &["a"], &[("crash", &get("/crash"))], "");
    let run = matrix_json(&config, &[]);
    assert_eq!(run.code, Some(1), "{}", run.text);
    let detail = run.case("f", "crash", "a")["detail"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        detail.starts_with("the server exited (exit status: 3) during case `crash`"),
        "{detail}"
    );
    assert!(detail.contains("crashing on purpose"), "its log: {detail}");
}

#[test]
fn a_junit_time_of_inf_and_names_that_are_no_file_names_lose_nothing_else() {
    let _serial = serial();
    let script = r#"printf '<testsuite><testcase name="forever" time="inf"/></testsuite>' > "$HARNESS_JUNIT"; printf one > "$HARNESS_SNAPSHOT_DIR/ok.txt"; printf two > "$HARNESS_SNAPSHOT_DIR/a\\b.txt"; printf three > "$HARNESS_SNAPSHOT_DIR/$(printf 'a\033b').txt""#;
    let config = variant(
        "hostile-names",
        &[(
            "command = [\"cargo\", \"test\", \"--quiet\", \"-p\", \"deploy-client-tests\", \"--\", \"--test-threads=1\"]",
            &format!("command = [\"sh\", \"-c\", '''{script}''']\njunit = true"),
        )],
    );
    let run = matrix_json(&config, &["--suite", "client"]);
    assert_eq!(run.code, Some(1), "{}", run.text);
    let forever = run.case("client", "forever", "debian");
    assert_eq!(forever["status"], "passed");
    assert_eq!(forever["duration_ms"], 0);
    let errors = run.results["file_errors"].as_array().unwrap();
    assert_eq!(
        errors.len(),
        6,
        "two names on each of three cells: {errors:?}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e.as_str().unwrap().contains("'\\\\'"))
    );
    assert!(
        errors
            .iter()
            .any(|e| e.as_str().unwrap().contains("'\\u{1b}'"))
    );
    let snapshots = config.parent().unwrap().join("snapshots");
    assert!(
        snapshots.join("client__ok.out@debian.snap.new").is_file(),
        "the rest stands"
    );
    let names: Vec<String> = std::fs::read_dir(&snapshots)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        !names
            .iter()
            .any(|n| n.contains('\\') || n.contains('\u{1b}')),
        "{names:?}"
    );

    // A shard whose results were tampered with cannot make the merge write elsewhere.
    let out = config.parent().unwrap().join("out");
    let mut tampered = results_in(&out);
    tampered["observations"][0]["suite"] = "../../../escaped".into();
    std::fs::write(
        out.join("results.json"),
        serde_json::to_string(&tampered).unwrap(),
    )
    .unwrap();
    let merged = config.parent().unwrap().join("merged");
    let merge = Run::of(&matrix_tests::xtask_command(
        &root(),
        &[
            "report",
            "--config",
            config.to_str().unwrap(),
            "--merge",
            out.to_str().unwrap(),
            "--out",
            merged.to_str().unwrap(),
            "--format",
            "json",
        ],
    ));
    let errors = merge.results["file_errors"].to_string();
    assert!(errors.contains("holds '/'"), "{}", merge.text);
    let escaped = std::fs::read_dir(config.parent().unwrap().parent().unwrap())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains("escaped"))
        .count();
    assert_eq!(
        escaped, 0,
        "nothing was written outside the snapshot folder"
    );
}

#[test]
fn a_hostile_server_cannot_forge_the_reports_or_command_the_terminal() {
    let _serial = serial();
    let config = fault_matrix(
        "hostile",
        &["a", "b"],
        &[
            ("text", &get("/hostile")),
            ("json", &get("/hostile.json")),
            (
                "expectation",
                &format!("{}expect = {{ status = 201 }}\n", get("/hostile")),
            ),
        ],
        "",
    );
    // The human output, as a terminal would get it.
    let human = matrix_tests::run_matrix(&config, &[]);
    assert_eq!(human.status.code(), Some(1), "{}", text(&human));
    for (name, bytes) in [("stdout", &human.stdout), ("stderr", &human.stderr)] {
        assert!(
            !bytes.iter().any(|b| *b == 0x1b || *b == 0x07),
            "{name} carries an escape or bell byte"
        );
    }
    let out = config.parent().unwrap().join("out");
    // `show` prints both cells' raw answers: escaped, and coloured only by the harness.
    for color in ["never", "always"] {
        let shown = matrix_tests::xtask_command(
            &root(),
            &[
                "show",
                "f/text",
                "--config",
                config.to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
                "--color",
                color,
            ],
        );
        assert_eq!(shown.status.code(), Some(0), "{}", text(&shown));
        let stdout = String::from_utf8_lossy(&shown.stdout);
        assert!(stdout.contains("\\u{1b}]0;pwned title"), "{stdout}");
        assert!(
            !stdout.contains('\u{7}'),
            "a bell reached the terminal: {stdout:?}"
        );
        assert!(
            !stdout.contains("\u{1b}]") && !stdout.contains("\u{1b}[31mred"),
            "the server's escape codes reached the terminal: {stdout:?}"
        );
        if color == "never" {
            assert!(!stdout.contains('\u{1b}'), "{stdout:?}");
        }
    }
    // JUnit: well-formed XML for an independent parser, with the failure's text in it.
    let xml = command("python3")
        .args([
            "-c",
            "import sys, xml.etree.ElementTree as E; r = E.parse(sys.argv[1]).getroot(); print(sum(1 for _ in r.iter('failure')))",
        ])
        .arg(out.join("junit.xml"))
        .output()
        .unwrap();
    assert!(xml.status.success(), "{}", text(&xml));
    assert!(
        String::from_utf8_lossy(&xml.stdout)
            .trim()
            .parse::<u32>()
            .unwrap()
            >= 2
    );
    // Markdown, read by a CommonMark parser: the only headings are the report's own.
    let script = r#"
import sys, json
from markdown_it import MarkdownIt
tokens = MarkdownIt("commonmark").parse(open(sys.argv[1], encoding="utf-8").read())
headings = []
for i, t in enumerate(tokens):
    if t.type == "heading_open":
        headings.append(tokens[i + 1].content)
html = [t.content for t in tokens if t.type in ("html_block", "html_inline")]
print(json.dumps({"headings": headings, "html": html}))
"#;
    let md = command("python3")
        .env("PYTHONPATH", python_path("markdown-it-py", "markdown_it"))
        .args(["-c", script])
        .arg(out.join("report.md"))
        .output()
        .unwrap();
    assert!(md.status.success(), "{}", text(&md));
    let md: serde_json::Value = serde_json::from_slice(&md.stdout).unwrap();
    let headings = md["headings"].to_string();
    assert!(
        !headings.contains("Forged"),
        "a server forged a heading: {headings}"
    );
    assert_eq!(
        md["html"],
        serde_json::json!([]),
        "no raw HTML reaches the Markdown"
    );
    // HTML, rendered by a browser: the text is there, as text.
    let dom = chromium_dom(&out.join("report.html"));
    assert_eq!(dom.matches("<script").count(), 0);
    assert!(
        dom.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{dom}"
    );
    assert!(!dom.contains('\u{1b}'));
}
