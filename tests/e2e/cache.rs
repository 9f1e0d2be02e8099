//! The result cache on the sample's whole matrix: an unchanged re-run reuses every job and
//! its results equal the full run's, a changed case file reruns only its suite's jobs, a
//! failure is never reused, a corrupt entry is a miss, and `--no-cache` runs everything.
//! Real builds, Wine and podman; the results read from results.json and the JUnit through
//! junitparser.

use std::path::{Path, PathBuf};

use matrix_tests::{
    NO_CACHE, Run, command, copy_tree, leftovers_after, python_path, root, serial, text, variant,
    xtask_cmd,
};

/// `cargo xtask matrix --config CONFIG --format json ARGS` with the result cache on, as a
/// user runs it.
fn cached_run(config: &Path, args: &[&str]) -> Run {
    traced_run(config, args, None)
}

/// A run as `cached_run`, with `traced`'s folder first on PATH when given.
fn traced_run(config: &Path, args: &[&str], traced: Option<&Wineserver>) -> Run {
    let mut all = vec![
        "matrix",
        "--config",
        config.to_str().unwrap(),
        "--format",
        "json",
    ];
    all.extend_from_slice(args);
    let mut cmd = xtask_cmd(&root(), &all);
    cmd.env_remove(NO_CACHE);
    if let Some(traced) = traced {
        let path = std::env::var("PATH").unwrap_or_default();
        cmd.env("PATH", format!("{}:{path}", traced.dir.path().display()));
    }
    Run::of(&cmd.output().expect("cargo runs"))
}

/// A `wineserver` first on PATH that notes its arguments and runs the real one: which
/// wineservers a run starts.
struct Wineserver {
    dir: tempfile::TempDir,
}

impl Wineserver {
    fn new() -> Wineserver {
        let real = which::which("wineserver").expect("Wine is provisioned by the full run");
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("wineserver");
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\necho \"$*\" >> '{}'\nexec '{}' \"$@\"\n",
                dir.path().join("calls").display(),
                real.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        Wineserver { dir }
    }

    /// The arguments of each call since the last, which it forgets.
    fn calls(&self) -> Vec<String> {
        let file = self.dir.path().join("calls");
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        let _ = std::fs::remove_file(&file);
        text.lines().map(str::to_owned).collect()
    }
}

/// Each job as `suite@cell` with the run its result was reused from (`None`: it ran).
fn sources(run: &Run) -> Vec<(String, Option<String>)> {
    run.results["jobs"]
        .as_array()
        .unwrap_or_else(|| panic!("no jobs:\n{}", run.text))
        .iter()
        .map(|j| {
            (
                format!(
                    "{}@{}",
                    j["suite"].as_str().unwrap(),
                    j["cell"].as_str().unwrap()
                ),
                j["cached"]["run"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

/// results.json without what differs between two runs of the same work: timings, the
/// provenance (its start) and the cached marks.
fn comparable(mut value: serde_json::Value) -> serde_json::Value {
    fn strip(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(map) => {
                map.retain(|k, _| !k.ends_with("_ms") && k != "phases" && k != "cached");
                map.values_mut().for_each(strip);
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    value.as_object_mut().unwrap().remove("provenance");
    strip(&mut value);
    value
}

/// The JUnit testsuites' properties as junitparser reads them: (testsuite, name, value).
fn junit_properties(file: &Path) -> Vec<(String, String, String)> {
    let script = r#"
import sys, json
from junitparser import JUnitXml
out = []
for suite in JUnitXml.fromfile(sys.argv[1]):
    for p in suite.properties():
        out.append([suite.name, p.name, p.value])
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

/// The sample's matrix with its `projects` suite copied into the scenario, so that the test
/// can change a case file.
fn scenario() -> (PathBuf, PathBuf) {
    let config = variant(
        "cache",
        &[("path = \"fixtures/suites/projects\"", "path = \"projects\"")],
    );
    let projects = config.parent().unwrap().join("projects");
    copy_tree(&root().join("fixtures/suites/projects"), &projects);
    (config, projects)
}

#[test]
fn an_unchanged_rerun_reuses_every_job_and_a_changed_case_file_reruns_only_its_suite() {
    let _serial = serial();
    let (config, projects) = scenario();
    let out = config.parent().unwrap().join("out");

    // The full run, every job run (and its passed results kept).
    let full = cached_run(&config, &["--no-cache"]);
    assert_eq!(full.verdict(), "go", "{}", full.text);
    let jobs = sources(&full);
    assert_eq!(jobs.len(), 20, "{}", full.text);
    assert!(jobs.iter().all(|(_, from)| from.is_none()), "{jobs:?}");
    let full_results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap();
    let started = full.results["provenance"]["started"]
        .as_str()
        .unwrap()
        .to_owned();

    // Unchanged: nothing runs, every result is the full run's, and it still signs off.
    let wineserver = Wineserver::new();
    let again = traced_run(&config, &[], Some(&wineserver));
    assert_eq!(again.verdict(), "go", "{}", again.text);
    assert_eq!(again.results["scope"]["sign_off"], true, "{}", again.text);
    let reused = sources(&again);
    assert!(
        reused
            .iter()
            .all(|(_, from)| from.as_deref() == Some(started.as_str())),
        "every job reused from the full run of {started}: {reused:?}"
    );
    assert!(again.events_of("job-started").is_empty(), "{}", again.text);
    // No Wine job runs, so no wineserver starts (Wine's runtimes warm up only for jobs).
    assert_eq!(wineserver.calls(), Vec::<String>::new());
    let left = leftovers_after(10);
    assert!(left.is_empty(), "left after a run of cached jobs: {left:?}");
    let cached_event = again.events_of("jobs-cached");
    assert_eq!(cached_event.len(), 1, "{}", again.text);
    assert_eq!(cached_event[0]["jobs"].as_array().unwrap().len(), 20);
    let again_results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap();
    assert_eq!(
        comparable(again_results),
        comparable(full_results),
        "a cached re-run's results.json differs from the full run's beyond timings and marks"
    );
    // Its evidence is the source run's: the exchanges are there for `show`.
    let exchange = again.job("projects@debian")["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "rename")
        .and_then(|c| c["exchange_log"].as_str())
        .expect("the case notes its exchanges")
        .to_owned();
    assert!(
        out.join("logs/debian").join(&exchange).is_file(),
        "{exchange}"
    );
    // JUnit, as a CI reads it, says where each result came from.
    let props = junit_properties(&out.join("junit.xml"));
    let from: Vec<_> = props
        .iter()
        .filter(|(_, name, _)| name == "cached-from")
        .collect();
    assert_eq!(from.len(), 20, "{props:?}");
    assert!(from.iter().all(|(_, _, value)| *value == started));
    assert!(
        props.contains(&("verdict".into(), "cached-jobs".into(), "20".into())),
        "{props:?}"
    );

    // One case file of one suite changes: only that suite's jobs run.
    let case = projects.join("rename.toml");
    let original = std::fs::read_to_string(&case).unwrap();
    // A stamp no earlier run wrote: the store outlives test runs, and a change it already
    // holds a passed result for is rightly not run again.
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    std::fs::write(&case, format!("{original}\n# reviewed {stamp}\n")).unwrap();
    let changed = traced_run(&config, &[], Some(&wineserver));
    assert_eq!(changed.verdict(), "go", "{}", changed.text);
    // The Windows cells' projects jobs run: their slots' wineservers start, and stop.
    let calls = wineserver.calls();
    assert!(calls.iter().any(|c| c == "-p"), "{calls:?}");
    for (job, from) in sources(&changed) {
        assert_eq!(
            from.is_none(),
            job.starts_with("projects@"),
            "{job}: only the projects suite's jobs run ({from:?})"
        );
    }

    // A failing job is never reused: changed to fail, it fails on the next run too. (The
    // selection builds both targets, as the full run did: a build of the Linux target
    // alone links a binary whose bytes differ, which is another key.)
    std::fs::write(&case, original.replacen("status = 200", "status = 299", 1)).unwrap();
    for _ in 0..2 {
        let failing = cached_run(&config, &["--suite", "projects"]);
        assert_eq!(failing.verdict(), "no-go", "{}", failing.text);
        assert!(
            failing.job("projects@debian")["cached"].is_null(),
            "{}",
            failing.text
        );
    }
    // Back as it was: the result of the passed run with those bytes comes back.
    std::fs::write(&case, &original).unwrap();
    let restored = cached_run(&config, &["--suite", "projects"]);
    assert_eq!(restored.verdict(), "go", "{}", restored.text);
    assert_eq!(
        restored.job("projects@debian")["cached"]["run"].as_str(),
        Some(started.as_str()),
        "{}",
        restored.text
    );

    // A corrupt entry is a miss: the job runs and the run stands.
    let key = restored.job("projects@debian")["cached"]["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let entry = harness::provision::cache_dir()
        .join("results")
        .join(&key)
        .join("result.json");
    assert!(entry.is_file(), "{}", entry.display());
    std::fs::write(&entry, "{ half an entry").unwrap();
    let corrupt = cached_run(&config, &["--suite", "projects"]);
    assert_eq!(corrupt.verdict(), "go", "{}", corrupt.text);
    assert!(
        corrupt.job("projects@debian")["cached"].is_null(),
        "{}",
        corrupt.text
    );

    // --no-cache runs everything, whatever is stored.
    let everything = cached_run(&config, &["--no-cache", "--cell", "debian"]);
    assert_eq!(everything.verdict(), "go", "{}", everything.text);
    assert!(
        sources(&everything).iter().all(|(_, from)| from.is_none()),
        "{}",
        everything.text
    );
}
