//! Helpers for the end-to-end tests: run the real `cargo xtask` the way a user does, write
//! matrix files for temp scenarios, and count what the harness left running.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::{Mutex, MutexGuard};

/// The repository.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

/// Tests that launch servers or count processes take this, so that one test's servers are
/// not counted as another's leftovers.
pub fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// A command as the tests run it: a user's tool (cargo, cargo-insta), outside the harness.
#[expect(clippy::disallowed_methods, reason = "tests run tools as a user would")]
pub fn command(program: impl AsRef<std::ffi::OsStr>) -> std::process::Command {
    let mut cmd = std::process::Command::new(program);
    cmd.env(NO_CACHE, "1");
    cmd
}

/// Set on every command the tests run: a test that runs a scenario expects its jobs to run,
/// not to be reused from an identical run of another test. The tests of the result cache
/// remove it.
pub const NO_CACHE: &str = "PORT_HARNESS_NO_CACHE";

/// `cargo xtask` with `args`, run in `dir`. A `matrix` run without `--out` writes its output
/// next to its scenario's matrix file (or under `target/e2e/` for the repository's own), so
/// that tests never overwrite the workspace's `target/matrix`.
#[expect(
    clippy::disallowed_methods,
    reason = "tests run the CLI as a user would"
)]
pub fn xtask_cmd(dir: &Path, args: &[&str]) -> std::process::Command {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut cmd = std::process::Command::new(cargo);
    cmd.arg("xtask")
        .args(args)
        .current_dir(dir)
        .env(NO_CACHE, "1");
    if args.first() == Some(&"matrix") && !args.contains(&"--out") && !args.contains(&"--plan") {
        let config = args
            .iter()
            .position(|a| *a == "--config")
            .and_then(|i| args.get(i + 1));
        let out = match config.map(|c| Path::new(c).parent().unwrap_or(Path::new("."))) {
            Some(scenario) if scenario.starts_with(root().join("target/e2e")) => {
                scenario.join("out")
            }
            _ => root()
                .join("target/e2e")
                .join(format!("repository-{}", std::process::id()))
                .join("out"),
        };
        cmd.arg("--out").arg(out);
    }
    cmd
}

/// Runs `cargo xtask matrix --config CONFIG ARGS` from the repository.
pub fn run_matrix(config: &Path, args: &[&str]) -> Output {
    let mut all = vec!["matrix", "--config", config.to_str().expect("a UTF-8 path")];
    all.extend_from_slice(args);
    xtask_command(&root(), &all)
}

/// Runs `cargo xtask ARGS` in `dir` and returns what it printed.
pub fn xtask_command(dir: &Path, args: &[&str]) -> Output {
    xtask_cmd(dir, args).output().expect("cargo runs")
}

/// Writes a scenario's matrix file inside the workspace's target folder (so that cargo finds
/// the workspace from it) and returns its path. `{root}` in `text` is the repository.
pub fn scenario(name: &str, text: &str) -> PathBuf {
    // Scenarios of test runs that are over are removed (their pid is gone).
    if let Ok(entries) = std::fs::read_dir(root().join("target/e2e")) {
        for entry in entries.flatten() {
            let file_name = entry.file_name();
            let dir = file_name.to_string_lossy();
            let pid = dir.rsplit('-').next().and_then(|p| p.parse::<u32>().ok());
            if pid.is_some_and(|p| {
                p != std::process::id() && !Path::new(&format!("/proc/{p}")).exists()
            }) {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
    let dir = root()
        .join("target/e2e")
        .join(format!("{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("matrix.toml");
    std::fs::write(&path, text.replace("{root}", &root().display().to_string())).unwrap();
    path
}

/// The repository's matrix with `from` replaced by `to`, as a scenario.
pub fn variant(name: &str, replacements: &[(&str, &str)]) -> PathBuf {
    let mut text = std::fs::read_to_string(root().join("matrix.toml")).unwrap();
    for (from, to) in replacements {
        assert!(text.contains(from), "matrix.toml has no `{from}`");
        text = text.replacen(from, to, 1);
    }
    // Suite folders stay those of the repository; the snapshots are a copy of its baselines,
    // so that a scenario's pending or accepted snapshots never touch the repository.
    let text = text
        .replace("path = \"fixtures/", "path = \"{root}/fixtures/")
        .replace("seed = \"fixtures/", "seed = \"{root}/fixtures/")
        .replace(
            "inputs = [\"fixtures/client-tests\", \"cell\", \"Cargo.lock\"]",
            "inputs = [\"{root}/fixtures/client-tests\", \"{root}/cell\", \"{root}/Cargo.lock\"]",
        )
        .replace(
            "dir = \"fixtures/deploy-server/snapshots\"",
            "dir = \"snapshots\"",
        );
    let config = scenario(name, &text);
    copy_snapshots(&config.parent().unwrap().join("snapshots"));
    config
}

/// Copies the files of `from` into `to` (one level of folders, as suites and seeds have).
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        let kind = std::fs::symlink_metadata(entry.path()).unwrap().file_type();
        if kind.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(entry.path()).unwrap(), &target).unwrap();
        } else if kind.is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Copies the repository's committed snapshots into `to` (emptied first).
pub fn copy_snapshots(to: &Path) {
    let _ = std::fs::remove_dir_all(to);
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(root().join("fixtures/deploy-server/snapshots")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

/// What the harness could have left behind: live server, Wine and podman processes, and
/// containers and pods carrying the harness's label.
pub fn leftovers() -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let path = entry.path();
        let Ok(stat) = std::fs::read_to_string(path.join("stat")) else {
            continue;
        };
        let state = stat[stat.rfind(')').unwrap() + 2..].chars().next();
        if state == Some('Z') {
            continue;
        }
        let cmdline = std::fs::read(path.join("cmdline"))
            .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
            .unwrap_or_default();
        let watched = [
            "deploy-server",
            "wineserver",
            "wine-preloader",
            "wine64-preloader",
            "conmon",
            "podman run",
        ];
        if watched.iter().any(|w| cmdline.contains(w)) && !cmdline.contains("cargo") {
            found.push(format!("process {}: {}", path.display(), cmdline.trim()));
        }
    }
    // Labelled containers of both engines, and the pods of `runtime = "pod"`.
    let listings: [(&str, &str, &[&str]); 3] = [
        ("podman", "container", &["ps", "-a"]),
        ("docker", "container", &["ps", "-a"]),
        ("podman", "pod", &["pod", "ps"]),
    ];
    for (engine, what, command) in listings {
        let format = if what == "pod" {
            "{{.Name}}"
        } else {
            "{{.Names}}"
        };
        let mut args = command.to_vec();
        args.extend(["--filter", "label=io.port-harness", "--format", format]);
        found.extend(
            engine_output(engine, &args)
                .lines()
                .filter(|l| !l.is_empty())
                .map(|l| format!("{engine} {what} {l}")),
        );
    }
    found
}

/// Waits up to `secs` for `leftovers()` to be empty (Wine's server exits a moment after the
/// last program) and returns what is still there.
pub fn leftovers_after(secs: u64) -> Vec<String> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        let left = leftovers();
        if left.is_empty() || std::time::Instant::now() > deadline {
            return left;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

/// What a container engine prints; nothing when it is not installed or not running.
#[expect(
    clippy::disallowed_methods,
    reason = "tests look at the engines as a user would"
)]
pub fn engine_output(engine: &str, args: &[&str]) -> String {
    std::process::Command::new(engine)
        .args(args)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}

/// Stdout and stderr of an output, for assertion messages.
pub fn text(out: &Output) -> String {
    format!(
        "exit: {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A finished `cargo xtask matrix` (or `report`) run with `--format json`: its exit code,
/// the results it printed (the same as its `results.json`), its progress events, and the
/// whole output for assertion messages.
#[derive(Debug)]
pub struct Run {
    /// The exit code.
    pub code: Option<i32>,
    /// The results, or `Null` when the run printed none (an error before results).
    pub results: serde_json::Value,
    /// The progress events, in order.
    pub events: Vec<serde_json::Value>,
    /// Everything it printed.
    pub text: String,
}

impl Run {
    /// Reads a finished command's output.
    pub fn of(out: &Output) -> Run {
        let stderr = String::from_utf8_lossy(&out.stderr);
        Run {
            code: out.status.code(),
            results: serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null),
            events: stderr
                .lines()
                .filter_map(|l| serde_json::from_str(l).ok())
                .collect(),
            text: text(out),
        }
    }

    /// The events of one kind (`server-ready`, `job-finished`, ...).
    pub fn events_of(&self, kind: &str) -> Vec<&serde_json::Value> {
        self.events.iter().filter(|e| e["event"] == kind).collect()
    }

    /// The verdict: `go` or `no-go`.
    pub fn verdict(&self) -> &str {
        self.results["verdict"].as_str().unwrap_or("(none)")
    }

    /// The job `suite@cell`.
    pub fn job(&self, id: &str) -> &serde_json::Value {
        self.results["jobs"]
            .as_array()
            .and_then(|jobs| {
                jobs.iter()
                    .find(|j| format!("{}@{}", j["suite"], j["cell"]).replace('"', "") == id)
            })
            .unwrap_or_else(|| panic!("no job {id} in the results:\n{}", self.text))
    }

    /// The run of case `case` of `suite` on `cell`.
    pub fn case(&self, suite: &str, case: &str, cell: &str) -> &serde_json::Value {
        self.results["runs"]
            .as_array()
            .and_then(|runs| {
                runs.iter()
                    .find(|r| r["suite"] == suite && r["case"] == case && r["cell"] == cell)
            })
            .unwrap_or_else(|| panic!("no run of {suite}/{case} on {cell}:\n{}", self.text))
    }

    /// `(suite, case, step, cell, acceptance status)` of every divergence.
    pub fn divergences(&self) -> Vec<(String, String, String, String, String)> {
        self.results["comparison"]["divergences"]
            .as_array()
            .map(|ds| {
                ds.iter()
                    .map(|d| {
                        let s = |k: &str| d[k].as_str().unwrap_or("").to_owned();
                        (
                            s("suite"),
                            s("case"),
                            s("step"),
                            s("cell"),
                            d["acceptance"]["status"].as_str().unwrap_or("").to_owned(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Runs `cargo xtask matrix --config CONFIG --format json ARGS` from the repository.
pub fn matrix_json(config: &Path, args: &[&str]) -> Run {
    let mut all = vec![
        "matrix",
        "--config",
        config.to_str().expect("a UTF-8 path"),
        "--format",
        "json",
    ];
    all.extend_from_slice(args);
    Run::of(&xtask_command(&root(), &all))
}

/// Runs `cargo xtask ARGS --format json` in the repository.
pub fn xtask_json(args: &[&str]) -> Run {
    let mut all = args.to_vec();
    all.extend_from_slice(&["--format", "json"]);
    Run::of(&xtask_command(&root(), &all))
}

/// The `results.json` of an output folder.
pub fn results_in(dir: &Path) -> serde_json::Value {
    let path = dir.join("results.json");
    serde_json::from_str(
        &std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .unwrap()
}

/// A Python package from PyPI (whose importable module is `module`), installed once into the
/// target folder; returns the folder to put on PYTHONPATH.
pub fn python_path(package: &str, module: &str) -> PathBuf {
    let dir = root().join("target/tools/python");
    if !dir.join(module).exists() {
        let out = command("python3")
            .args(["-m", "pip", "install", "--quiet", "--target"])
            .arg(&dir)
            .arg(package)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "pip install {package}: {}",
            text(&out)
        );
    }
    dir
}

/// Chromium from Debian, installed when missing (as root), else the command that installs it.
pub fn chromium() -> PathBuf {
    if let Ok(path) = which::which("chromium") {
        return path;
    }
    // A fresh machine may have no package lists yet.
    let _ = command("apt-get").args(["update", "-qq"]).output();
    let out = command("apt-get")
        .args(["install", "-y", "-qq", "chromium"])
        .env("DEBIAN_FRONTEND", "noninteractive")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "chromium is missing; install it with: apt-get update && apt-get install -y chromium\n{}",
        text(&out)
    );
    which::which("chromium").unwrap()
}

/// The DOM headless Chromium builds from the page at `file`, as text.
pub fn chromium_dom(file: &Path) -> String {
    let profile = tempfile::tempdir().unwrap();
    let dom = command(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("file://{}", file.display()))
        .output()
        .unwrap();
    assert!(dom.status.success(), "{}", text(&dom));
    String::from_utf8_lossy(&dom.stdout).into_owned()
}

/// The lines `child` writes to its piped standard error, as they come, read on a thread of
/// their own (so that a chatty child never blocks on a full pipe).
pub fn stderr_lines(child: &mut std::process::Child) -> std::sync::mpsc::Receiver<String> {
    use std::io::BufRead;
    let stderr = child.stderr.take().expect("standard error is piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(line);
        }
    });
    rx
}

/// `program ARGS` as on a new machine of this kind: in a private mount namespace whose
/// `/usr`, `/etc` and `/var` are copy-on-write overlays of this machine's, with podman
/// purged there and docker's client pointed at a daemon that does not exist (a new machine
/// ships a `docker` client with no daemon, and no podman). What runs in it may install
/// packages; they land in the overlays, which go when it ends. The container store stays
/// this machine's, so that the base image need not be built again. Needs root.
#[expect(
    clippy::disallowed_methods,
    reason = "tests set up the machine a user would have"
)]
pub fn on_a_new_machine(
    program: &str,
    args: &[&str],
) -> (std::process::Command, tempfile::TempDir) {
    let layers = tempfile::Builder::new()
        .prefix("new-machine-")
        .tempdir_in("/tmp")
        .unwrap();
    let setup = r#"
        set -eu
        layers="$1"; shift
        mkdir -p "$layers/containers"
        mount --bind /var/lib/containers "$layers/containers"
        for d in usr etc var; do
            mkdir -p "$layers/$d/upper" "$layers/$d/work"
            mount -t overlay overlay \
                -o "lowerdir=/$d,upperdir=$layers/$d/upper,workdir=$layers/$d/work" "/$d"
        done
        mount --bind "$layers/containers" /var/lib/containers
        if dpkg -s podman >/dev/null 2>&1; then dpkg --purge podman >/dev/null 2>&1; fi
        exec "$@"
    "#;
    let mut cmd = std::process::Command::new("unshare");
    cmd.args([
        "--mount",
        "--propagation",
        "private",
        "--",
        "bash",
        "-c",
        setup,
        "bash",
    ])
    .arg(layers.path())
    .arg(program)
    .args(args)
    .env("DOCKER_HOST", "unix:///run/no-docker-daemon-here.sock")
    .env(NO_CACHE, "1");
    (cmd, layers)
}

/// Each failing testcase of the JUnit file `file` as junitparser (PyPI) reads it: (its name,
/// its failure's or error's message).
pub fn junit_failure_messages(file: &Path) -> Vec<(String, String)> {
    let script = r#"
import sys, json
from junitparser import JUnitXml, Failure, Error
out = []
for suite in JUnitXml.fromfile(sys.argv[1]):
    for case in suite:
        for r in case.result:
            if isinstance(r, (Failure, Error)):
                out.append([case.name, r.message or ""])
print(json.dumps(out))
"#;
    let read = command("python3")
        .env("PYTHONPATH", python_path("junitparser", "junitparser"))
        .args(["-c", script])
        .arg(file)
        .output()
        .unwrap();
    assert!(read.status.success(), "{}", text(&read));
    serde_json::from_slice(&read.stdout).unwrap()
}

/// Opens `file` in headless Chromium in a window of `width` x `height`, once it has loaded
/// evaluates each of `expressions` (JavaScript, through the DevTools protocol: the page
/// itself has no script) and saves a screenshot of the first screen to `shot`; returns each
/// expression's value.
pub fn chromium_layout(
    file: &Path,
    (width, height): (u32, u32),
    expressions: &[&str],
    shot: &Path,
) -> Vec<serde_json::Value> {
    let script = r#"
import base64, json, os, shutil, subprocess, sys, tempfile, threading, time, urllib.request
import websocket
chromium, url, size, shot = sys.argv[1:5]
expressions = json.loads(sys.argv[5])
profile = tempfile.mkdtemp(prefix="chromium-profile-")
p = subprocess.Popen([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
    "--hide-scrollbars", "--window-size=" + size, "--remote-debugging-port=0",
    "--user-data-dir=" + profile, "about:blank"], stderr=subprocess.PIPE, text=True,
    env=dict(os.environ, TMPDIR=profile))
browser = None
for line in p.stderr:
    if "DevTools listening on " in line:
        browser = line.split("listening on ", 1)[1].strip()
        break
threading.Thread(target=lambda: [None for _ in p.stderr], daemon=True).start()
port = browser.split(":")[2].split("/")[0]
try:
    for _ in range(100):
        pages = [t for t in json.load(urllib.request.urlopen("http://127.0.0.1:%s/json" % port)) if t["type"] == "page"]
        if pages:
            break
        time.sleep(0.1)
    ws = websocket.create_connection(pages[0]["webSocketDebuggerUrl"], suppress_origin=True)
    ids = iter(range(1, 1000))
    def call(method, **params):
        i = next(ids)
        ws.send(json.dumps({"id": i, "method": method, "params": params}))
        while True:
            reply = json.loads(ws.recv())
            if reply.get("id") == i:
                return reply["result"]
    def value(expression):
        return call("Runtime.evaluate", expression=expression, returnByValue=True)["result"].get("value")
    call("Page.navigate", url=url)
    for _ in range(200):
        if value("location.href") == url and value("document.readyState") == "complete":
            break
        time.sleep(0.05)
    else:
        sys.exit("the page did not load: " + str(value("location.href")))
    out = [value(e) for e in expressions]
    data = call("Page.captureScreenshot", format="png")["data"]
    open(shot, "wb").write(base64.b64decode(data))
    print(json.dumps(out))
finally:
    # Its profile goes, with what it keeps in its temporary folder (the profile too).
    p.terminate()
    try:
        p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    shutil.rmtree(profile, ignore_errors=True)
"#;
    let out = command("python3")
        .env("PYTHONPATH", python_path("websocket-client", "websocket"))
        .args(["-c", script])
        .arg(chromium())
        .arg(format!("file://{}", file.display()))
        .arg(format!("{width},{height}"))
        .arg(shot)
        .arg(serde_json::to_string(expressions).unwrap())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out)))
}
