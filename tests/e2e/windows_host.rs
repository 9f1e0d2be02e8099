//! The harness on a Windows host, with Wine standing in for one: `xtask.exe`, built for
//! x86_64-pc-windows-gnu, runs the sample's Windows cell with the `windows` runtime in
//! `native` mode (a Windows program starting a Windows program), stops its servers through
//! job objects, and answers Ctrl-C; and the unit tests of the Windows process-control paths
//! run in that same build. On a real Windows runner the generated workflow runs the same
//! cell natively.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use matrix_tests::{command, copy_snapshots, leftovers_after, root, scenario, serial, text};

const TRIPLE: &str = "x86_64-pc-windows-gnu";

/// Builds `args` (a `cargo build` or `cargo test --no-run`) for Windows as a user would, with
/// Debian's mingw linker, and returns the executables cargo made.
fn build_for_windows(args: &[&str]) -> Vec<PathBuf> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    // rustc's dlltool leaves empty files in its temporary folder: this one goes after.
    let temp = tempfile::tempdir().unwrap();
    let out = command(cargo)
        .args(args)
        .args(["--target", TRIPLE, "--message-format", "json"])
        .env("TMPDIR", temp.path())
        .env(
            "CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER",
            "x86_64-w64-mingw32-gcc",
        )
        .current_dir(root())
        .output()
        .unwrap();
    assert!(out.status.success(), "{args:?}: {}", text(&out));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|m| m["reason"] == "compiler-artifact")
        .filter_map(|m| m["executable"].as_str().map(PathBuf::from))
        .collect()
}

/// A Wine prefix of the test's own, copied from the one the harness provisioned for Windows
/// Server 2022 cells; its wineserver is stopped and the copy removed when the test ends.
struct Prefix(PathBuf);

impl Prefix {
    fn copy_of(provisioned: &Path, to: PathBuf) -> Prefix {
        let _ = std::fs::remove_dir_all(&to);
        let out = command("cp")
            .arg("-a")
            .arg(provisioned)
            .arg(&to)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out));
        Prefix(to)
    }

    /// `program ARGS` under Wine in this prefix, with no display and no debug output.
    fn wine(&self, program: &Path) -> Command {
        let mut cmd = command("wine");
        cmd.arg(program)
            .env("WINEPREFIX", &self.0)
            .env("WINEDEBUG", "-all")
            .env_remove("DISPLAY")
            .env_remove("WAYLAND_DISPLAY");
        cmd
    }

    /// Waits until the prefix's wineserver has exited, which it does once no Wine program of
    /// the prefix is left (after its few seconds of persistence). Returns whether it did
    /// within `limit`.
    fn quiet_within(&self, limit: Duration) -> bool {
        let mut wait = command("wineserver")
            .arg("-w")
            .env("WINEPREFIX", &self.0)
            .spawn()
            .unwrap();
        let exited = wait_for(&mut wait, limit).is_some();
        if !exited {
            let _ = wait.kill();
            let _ = wait.wait();
        }
        exited
    }
}

impl Drop for Prefix {
    fn drop(&mut self) {
        let _ = command("wineserver")
            .arg("-k")
            .env("WINEPREFIX", &self.0)
            .output();
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The child's exit code once it exits, or `None` after `limit`.
fn wait_for(child: &mut Child, limit: Duration) -> Option<Option<i32>> {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status.code());
        }
        if start.elapsed() > limit {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Everything the Windows-host run needs, made ready the way a user gets it: the Linux
/// harness provisions Wine (the Windows Server 2022 prefix, the `ProcessPrng` shim) and
/// builds the sample server for Windows; cargo builds `xtask.exe`.
struct Stage {
    dir: PathBuf,
    xtask: PathBuf,
    prefix: Prefix,
}

fn stage(name: &str, ready: &str) -> Stage {
    let provision = matrix_tests::xtask_command(
        &root(),
        &["matrix", "--cell", "windows", "--suite", "platform"],
    );
    assert_eq!(provision.status.code(), Some(0), "{}", text(&provision));
    let cache = harness::provision::cache_dir();
    let xtask = build_for_windows(&["build", "-p", "xtask", "-p", "deploy-server"]);
    let exe = |name: &str| {
        xtask
            .iter()
            .find(|p| p.file_name().is_some_and(|f| f == name))
            .unwrap_or_else(|| panic!("cargo built no {name}: {xtask:?}"))
            .clone()
    };
    let matrix = std::fs::read_to_string(root().join("matrix.toml")).unwrap();
    let normalize = &matrix[matrix.find("[normalize]").unwrap()..matrix.find("[[suite]]").unwrap()];
    let config = scenario(
        name,
        &format!(
            r#"primary = "windows"

[server]
args = ["--listen", "{{addr}}", "--data-dir", "{{data_dir}}"]
env = {{ RUST_LOG = "info" }}
seed = "{{root}}/fixtures/seed"
seed_mtime = 2026-01-01T00:00:00Z

[server.ready]
{ready}

[[target]]
name = "windows"
triple = "x86_64-pc-windows-gnu"
runtime = "windows"
mode = "native"
version = "server-2022"
# A Windows host cannot run Linux's cargo: the server comes prebuilt, named by its
# artifact alone (no build command, which would be the host's own).
build = {{ artifact = "bin/deploy-server.exe" }}

[snapshots]
dir = "snapshots"

{normalize}
[[suite]]
name = "platform"
kind = "http"
path = "{{root}}/fixtures/suites/platform"
scope = "per-target"

[[suite]]
name = "packages"
kind = "http"
path = "{{root}}/fixtures/suites/packages"
scope = "per-target"

[[suite]]
name = "files"
kind = "http"
path = "{{root}}/fixtures/suites/files"
scope = "per-target"
snapshot_log = true
snapshot_data_dir = "case"
"#
        ),
    );
    let dir = config.parent().unwrap().to_owned();
    copy_snapshots(&dir.join("snapshots"));
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let shim = cache.join("processprng-shim/bcryptprimitives.dll");
    for (from, to) in [
        (exe("xtask.exe"), "xtask.exe"),
        (exe("deploy-server.exe"), "deploy-server.exe"),
        (shim, "bcryptprimitives.dll"),
    ] {
        std::fs::copy(&from, bin.join(to)).unwrap_or_else(|e| panic!("{}: {e}", from.display()));
    }
    let prefix = Prefix::copy_of(&cache.join("wine-prefix-win10"), dir.join("prefix"));
    Stage {
        xtask: bin.join("xtask.exe"),
        dir,
        prefix,
    }
}

impl Stage {
    /// `xtask.exe matrix --format json` in the stage's folder, under Wine.
    fn matrix(&self) -> Command {
        let mut cmd = self.prefix.wine(&self.xtask);
        cmd.args([
            "matrix",
            "--config",
            "matrix.toml",
            "--out",
            "out",
            "--format",
            "json",
        ])
        .current_dir(&self.dir)
        .env("HARNESS_CACHE_DIR", self.dir.join("cache"))
        .stdin(Stdio::null());
        cmd
    }
}

/// What the run left running, once the prefix's wineserver has had time to go.
fn assert_nothing_left(prefix: &Prefix) {
    assert!(
        prefix.quiet_within(Duration::from_secs(30)),
        "a Wine program of the run outlived it: {:#?}",
        leftovers_after(0)
    );
    let left = leftovers_after(15);
    assert!(left.is_empty(), "left behind: {left:#?}");
}

#[test]
fn the_harness_built_for_windows_runs_a_native_windows_cell_and_stops_its_servers() {
    let _serial = serial();
    let stage = stage("windows-host", "http = \"/health\"\ntimeout = \"60s\"");
    let mut child = stage
        .matrix()
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || std::io::read_to_string(stdout).unwrap_or_default());
    let err = std::thread::spawn(move || std::io::read_to_string(stderr).unwrap_or_default());
    let code = wait_for(&mut child, Duration::from_secs(300));
    if code.is_none() {
        let _ = child.kill();
    }
    let (out, err) = (out.join().unwrap(), err.join().unwrap());
    let code = code.unwrap_or_else(|| panic!("the run hung:\n{err}"));
    assert!(
        matches!(code, Some(0 | 1)),
        "the run completed with a verdict, not {code:?}:\n{err}"
    );
    let results: serde_json::Value = serde_json::from_str(&out)
        .unwrap_or_else(|e| panic!("results on stdout ({e}):\n{out}\n{err}"));
    assert_eq!(results["scope"]["kind"], "full");
    // The full plan: a sign-off when, and only when, it is a GO.
    assert_eq!(
        results["scope"]["sign_off"],
        results["verdict"] == "go",
        "{results}"
    );
    // Compared with the baselines the Wine runtime recorded, the host differs only where
    // a Windows host does: what the harness (a Windows program) reads back of the data dir
    // (the seed's symlinks), and the server's log (no console to send it Ctrl-Break, so no
    // shutdown lines). Every request is answered as its case expects.
    let verdict = results["verdict"].as_str().unwrap();
    assert!(["go", "no-go"].contains(&verdict), "{}", results["reasons"]);
    for job in results["jobs"].as_array().unwrap() {
        let cases = job["cases"].as_array().unwrap();
        assert!(!cases.is_empty(), "{job}");
        for case in cases {
            assert_eq!(case["passed"], true, "{case}");
        }
    }
    let cell = &results["provenance"]["cells"]["windows"];
    assert_eq!(cell["kind"], "native", "{cell}");
    assert_eq!(cell["windows"], "Windows Server 2022", "{cell}");
    assert!(
        cell["by"].as_str().is_some_and(|by| by.contains("Windows")),
        "the host is Windows: {cell}"
    );
    let jobs = results["jobs"].as_array().unwrap();
    assert_eq!(jobs.len(), 3, "{jobs:#?}");
    for job in jobs {
        assert!(job["error"].is_null(), "{job}");
        assert_eq!(job["leaked"], serde_json::json!([]), "{job}");
        let stopped = job["phases"]["stop_ms"].as_u64().unwrap();
        assert!(
            stopped < 5000,
            "the job object ends the server at once: {job}"
        );
    }
    // Every server was stopped: none answers, and the prefix is left with no program.
    let events: Vec<serde_json::Value> = err
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let stops = events
        .iter()
        .filter(|e| e["event"] == "server-stopped")
        .count();
    assert_eq!(stops, 3, "every server stopped:\n{err}");
    assert_nothing_left(&stage.prefix);
}

#[test]
fn ctrl_c_stops_the_windows_harness_and_its_running_server() {
    let _serial = serial();
    // A server that never looks ready: the harness waits with it running.
    let stage = stage(
        "windows-host-interrupt",
        "log = \"a line this server never writes\"\ntimeout = \"10m\"",
    );
    let mut child = stage
        .matrix()
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let rx = matrix_tests::stderr_lines(&mut child);
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut seen = Vec::new();
    while !seen
        .iter()
        .any(|l: &String| l.contains("\"event\":\"server-starting\""))
    {
        assert!(
            Instant::now() < deadline && child.try_wait().unwrap().is_none(),
            "no server started:\n{}",
            seen.join("\n")
        );
        seen.extend(rx.recv_timeout(Duration::from_millis(100)));
    }
    // Every planned job's server is up (its log says so) before the harness is interrupted:
    // a Ctrl-C that reaches the Windows harness under Wine while it is still starting a
    // server can leave the run hanging (seen in two clean-clone runs out of five; not
    // explained yet), which this test does not cover.
    let logs = stage.dir.join("out/logs/windows");
    let listens = || {
        std::fs::read_dir(&logs)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| {
                e.file_name()
                    .to_string_lossy()
                    .ends_with(".server.stderr.log")
                    && std::fs::read_to_string(e.path()).is_ok_and(|l| l.contains("listening on"))
            })
            .count()
            >= 3
    };
    let listening = Instant::now() + Duration::from_secs(60);
    while !listens() {
        assert!(Instant::now() < listening, "the server never listened");
        std::thread::sleep(Duration::from_millis(50));
    }
    // Wine turns SIGINT into a console Ctrl-C for the Windows program, as a terminal would.
    // SAFETY: signalling the child this test started.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGINT);
    }
    let start = Instant::now();
    let code = wait_for(&mut child, Duration::from_secs(60));
    seen.extend(rx.try_iter());
    let code = code.unwrap_or_else(|| {
        let _ = child.kill();
        panic!("Ctrl-C did not stop the run:\n{}", seen.join("\n"))
    });
    assert_eq!(code, Some(130), "{}", seen.join("\n"));
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "Ctrl-C ends the run within 10 s, it took {:?}",
        start.elapsed()
    );
    let results = matrix_tests::results_in(&stage.dir.join("out"));
    assert_eq!(results["interrupted"], true);
    assert_eq!(results["provenance"]["cells"]["windows"]["kind"], "native");
    assert_nothing_left(&stage.prefix);
}

#[test]
fn the_windows_process_control_unit_tests_pass_in_the_windows_build() {
    let _serial = serial();
    let cache = harness::provision::cache_dir();
    let built = build_for_windows(&["test", "-p", "harness", "--lib", "--no-run"]);
    let [tests] = built.as_slice() else {
        panic!("one test executable expected: {built:?}");
    };
    let dir = scenario("windows-unit-tests", "")
        .parent()
        .unwrap()
        .to_owned();
    let exe = dir.join(tests.file_name().unwrap());
    std::fs::copy(tests, &exe).unwrap();
    std::fs::copy(
        cache.join("processprng-shim/bcryptprimitives.dll"),
        dir.join("bcryptprimitives.dll"),
    )
    .unwrap();
    let prefix = Prefix::copy_of(&cache.join("wine-prefix-win10"), dir.join("prefix"));
    let out = prefix
        .wine(&exe)
        .args(["process::tests::", "--test-threads=1"])
        .current_dir(&dir)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let report = text(&out);
    assert!(out.status.success(), "{report}");
    for test in [
        "stop_ends_the_whole_job",
        "dropping_a_running_child_ends_its_job",
        "checked_reports_the_command_and_its_stderr",
        "display_quotes_as_the_windows_c_runtime_reads_a_command_line",
        "what_a_dead_run_left_in_the_temp_folder_goes_and_a_live_run_s_stays",
    ] {
        assert!(
            report.contains(&format!("test process::tests::{test} ... ok")),
            "{test} ran and passed under Wine:\n{report}"
        );
    }
    assert_nothing_left(&prefix);
}
