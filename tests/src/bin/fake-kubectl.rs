//! A stand-in for `kubectl` and a one-node cluster on this machine, for the end-to-end test
//! of pods in a cluster (no cluster runs where the tests run). A pod is a folder under
//! `$FAKE_KUBECTL_STATE/pods/<name>` whose subfolders are its volumes; `port-forward` runs the
//! pod's server on this machine (its command and arguments from the manifest, its volumes'
//! paths mapped to those folders, listening on the forwarded port) and `logs --follow` reads
//! what it writes. Every call is recorded in `$FAKE_KUBECTL_STATE/calls.log`.

use std::io::{Read, Seek, Write};
use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};
use std::time::Duration;

/// A program the stand-in cluster runs: `tar` in a pod, `kill` of a pod's server, the
/// server itself.
#[expect(
    clippy::disallowed_methods,
    reason = "the stand-in cluster runs its pods' programs itself"
)]
fn program(name: impl AsRef<std::ffi::OsStr>) -> Command {
    Command::new(name)
}

fn state() -> PathBuf {
    PathBuf::from(std::env::var("FAKE_KUBECTL_STATE").expect("FAKE_KUBECTL_STATE is set"))
}

fn pod(name: &str) -> PathBuf {
    state().join("pods").join(name.trim_start_matches("pod/"))
}

/// `path` inside pod `name`: its volume's folder.
fn inside(name: &str, path: &str) -> PathBuf {
    pod(name).join(path.trim_start_matches('/'))
}

fn gone(name: &str) -> bool {
    pod(name).join("deleted").exists()
}

fn manifest(name: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(pod(name).join("manifest.yaml")).expect("applied");
    serde_yaml_ng::from_str(&text).expect("a manifest")
}

fn fail(message: &str) -> ExitCode {
    eprintln!("{message}");
    ExitCode::FAILURE
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    std::fs::create_dir_all(state().join("pods")).expect("state folder");
    let mut log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(state().join("calls.log"))
        .expect("calls log");
    writeln!(log, "{}", serde_json::to_string(&args).unwrap()).unwrap();
    let mut rest = Vec::new();
    let mut words = args.iter();
    while let Some(word) = words.next() {
        if word == "--context" || word == "--namespace" {
            words.next();
        } else {
            rest.push(word.as_str());
        }
    }
    let after = |flag: &str| {
        rest.iter()
            .position(|w| *w == flag)
            .and_then(|i| rest.get(i + 1))
            .copied()
            .unwrap_or_default()
    };
    match rest.as_slice() {
        ["config", ..] => println!("kind-ci"),
        ["version", ..] => println!(
            r#"{{"clientVersion": {{"gitVersion": "v1.32.4"}}, "serverVersion": {{"gitVersion": "v1.31.0-fake"}}}}"#
        ),
        ["apply", ..] => {
            let text = std::fs::read_to_string(after("--filename")).expect("a manifest file");
            let value: serde_json::Value = serde_yaml_ng::from_str(&text).expect("YAML");
            let name = value["metadata"]["name"]
                .as_str()
                .expect("a name")
                .to_owned();
            for volume in ["opt/server", "data", "staging"] {
                std::fs::create_dir_all(inside(&name, volume)).unwrap();
            }
            std::fs::write(pod(&name).join("manifest.yaml"), text).unwrap();
            println!("pod/{name} created");
        }
        ["get", "pods", ..] => {
            let mut names: Vec<_> = std::fs::read_dir(state().join("pods"))
                .unwrap()
                .filter_map(|e| Some(e.ok()?.file_name().to_string_lossy().into_owned()))
                .collect();
            names.sort();
            for name in names.iter().filter(|n| !gone(n)) {
                let pid = &manifest(name)["metadata"]["labels"]["io.port-harness.pid"];
                println!("{name} {}", pid.as_str().unwrap_or_default());
            }
        }
        ["get", "pod", name, ..] => {
            if gone(name) || !pod(name).is_dir() {
                return fail(&format!(
                    "Error from server (NotFound): pods \"{name}\" not found"
                ));
            }
            let exit = std::fs::read_to_string(pod(name).join("exit")).ok();
            if after("--output").starts_with("jsonpath=") {
                print!("{}", exit.unwrap_or_default().trim());
                return ExitCode::SUCCESS;
            }
            let staged = inside(name, "/staging/done").exists();
            let init = if staged {
                serde_json::json!({"terminated": {"exitCode": 0}})
            } else {
                serde_json::json!({"running": {"startedAt": "now"}})
            };
            let server = match (&exit, staged) {
                (Some(code), _) => {
                    serde_json::json!({"terminated": {"exitCode": code.trim().parse::<i64>().unwrap_or(-1)}})
                }
                (None, true) => serde_json::json!({"running": {"startedAt": "now"}}),
                (None, false) => serde_json::json!({"waiting": {"reason": "PodInitializing"}}),
            };
            println!(
                "{}",
                serde_json::json!({"status": {"phase": "Running",
                    "initContainerStatuses": [{"name": "stage", "state": init}],
                    "containerStatuses": [{"name": "server", "state": server}]}})
            );
        }
        ["exec", ..] => {
            let name = rest[1..]
                .iter()
                .find(|w| !w.starts_with('-'))
                .copied()
                .unwrap_or_default();
            let command: Vec<String> = rest
                .iter()
                .skip_while(|w| **w != "--")
                .skip(1)
                .map(|w| (*w).to_owned())
                .collect();
            match command.first().map(String::as_str) {
                Some("touch") => {
                    std::fs::write(inside(name, &command[1]), "").unwrap();
                }
                Some("tar") => {
                    let mut command = command;
                    let at = command.iter().position(|w| w == "-C").unwrap() + 1;
                    command[at] = inside(name, &command[at]).to_string_lossy().into_owned();
                    let status = program("tar").args(&command[1..]).status().unwrap();
                    if !status.success() {
                        return ExitCode::FAILURE;
                    }
                }
                _ => return fail(&format!("fake kubectl: cannot exec {command:?}")),
            }
        }
        ["port-forward", .., target, ports] => return serve(target, ports),
        ["logs", ..] => return follow(after("--follow")),
        ["delete", "pod", name, ..] => {
            if pod(name).is_dir() {
                std::fs::write(pod(name).join("deleted"), "").unwrap();
                if let Ok(pid) = std::fs::read_to_string(pod(name).join("pid")) {
                    let _ = program("kill").arg(pid.trim()).status();
                }
                for _ in 0..100 {
                    if pod(name).join("exit").exists() {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        }
        _ => return fail(&format!("fake kubectl: unknown command {rest:?}")),
    }
    ExitCode::SUCCESS
}

/// The pod's server on this machine, listening on the forwarded port of 127.0.0.1: its
/// volumes' paths are the pod's folders; its output goes to the pod's log.
fn serve(target: &str, ports: &str) -> ExitCode {
    let name = target.trim_start_matches("pod/");
    let port = ports.split(':').next().unwrap_or_default();
    let spec = &manifest(name)["spec"]["containers"][0];
    let map = |word: &str| {
        let word = word.replace("0.0.0.0:", "127.0.0.1:");
        for volume in ["/opt/server", "/data"] {
            if let Some(rest) = word.strip_prefix(volume) {
                return format!("{}{rest}", inside(name, volume).display());
            }
        }
        word
    };
    let exe = map(spec["command"][0].as_str().unwrap());
    let args: Vec<String> = spec["args"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| map(a.as_str().unwrap()))
        .collect();
    assert!(
        args.iter().any(|a| a.contains(&format!(":{port}"))),
        "the server listens on the forwarded port {port}: {args:?}"
    );
    let log = std::fs::File::create(pod(name).join("server.log")).unwrap();
    let mut command = program(exe);
    command
        .args(&args)
        .current_dir(inside(name, "/data"))
        .env_clear()
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log);
    // What a container runtime gives a container's process when its image does not: the
    // home of the image's user (root).
    command.env("HOME", "/root");
    for var in spec["env"].as_array().into_iter().flatten() {
        command.env(
            var["name"].as_str().unwrap(),
            var["value"].as_str().unwrap_or_default(),
        );
    }
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) => {
            std::fs::write(pod(name).join("exit"), "127").unwrap();
            return fail(&format!("the pod's server could not start: {e}"));
        }
    };
    std::fs::write(pod(name).join("pid"), child.id().to_string()).unwrap();
    let status = child.wait().unwrap();
    let code = status.code().unwrap_or(143);
    std::fs::write(pod(name).join("exit"), code.to_string()).unwrap();
    ExitCode::SUCCESS
}

/// The pod's log as it grows, until its server has exited or the pod is deleted.
fn follow(target: &str) -> ExitCode {
    let name = target.trim_start_matches("pod/");
    let path = pod(name).join("server.log");
    let mut offset = 0u64;
    let mut out = std::io::stdout();
    loop {
        let ended = gone(name) || pod(name).join("exit").exists();
        if let Ok(mut file) = std::fs::File::open(&path) {
            let _ = file.seek(std::io::SeekFrom::Start(offset));
            let mut more = Vec::new();
            let _ = file.read_to_end(&mut more);
            offset += more.len() as u64;
            let _ = out.write_all(&more);
            let _ = out.flush();
        }
        if ended {
            return ExitCode::SUCCESS;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
