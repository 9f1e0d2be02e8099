//! A verdict a release can be signed on, as users meet it: a partial run is compared across
//! cells too and says it is not a sign-off; `--accept` never hides a divergence; a first run
//! is PENDING with its new snapshots and nothing else; a merge refuses shards of another
//! matrix; broken suite files are reported, located, before anything is built; and
//! cargo-insta, run in a clean clone of this repository, finds and accepts what the harness
//! left pending. Every fact is read from results.json, the event stream, or the files.

use std::path::{Path, PathBuf};

use matrix_tests::{
    chromium_dom, command, matrix_json, python_path, results_in, root, serial, text, variant,
    xtask_command,
};

/// The repository's matrix with the Windows target's projects listed in creation order: a
/// Windows-only behaviour change, as a port can bring.
fn windows_only_change(name: &str) -> PathBuf {
    variant(
        name,
        &[(
            "version = \"server-2022\"\n",
            "version = \"server-2022\"\nenv = { DEPLOY_PROJECT_ORDER = \"created\" }\n",
        )],
    )
}

/// The one divergence of a run, as (suite/case/step@cell, acceptance, against).
fn only_divergence(run: &matrix_tests::Run) -> (String, String, String) {
    let all = run.results["comparison"]["divergences"].as_array().unwrap();
    let failing: Vec<_> = all
        .iter()
        .filter(|d| d["acceptance"]["status"] != "accepted")
        .collect();
    assert_eq!(failing.len(), 1, "{}", run.text);
    let d = failing[0];
    (
        format!(
            "{}/{}/{}@{}",
            d["suite"].as_str().unwrap(),
            d["case"].as_str().unwrap(),
            d["step"].as_str().unwrap(),
            d["cell"].as_str().unwrap()
        ),
        d["acceptance"]["status"].as_str().unwrap().to_owned(),
        d["against"].as_str().unwrap().to_owned(),
    )
}

#[test]
fn a_cell_run_alone_is_compared_with_the_primary_and_accept_does_not_hide_its_divergence() {
    let _serial = serial();
    let config = windows_only_change("windows-alone");
    let snapshots = config.parent().unwrap().join("snapshots");
    let baseline = snapshots.join("projects__list-sorted.list@windows.snap");
    let committed = std::fs::read_to_string(&baseline).unwrap();

    let accept = matrix_json(
        &config,
        &["--cell", "windows", "--suite", "projects", "--accept"],
    );
    assert_eq!(accept.code, Some(1), "{}", accept.text);
    assert_eq!(accept.verdict(), "no-go");
    let expected = (
        "projects/list-sorted/list@windows".to_owned(),
        "unaccepted".to_owned(),
        "baseline".to_owned(),
    );
    assert_eq!(
        only_divergence(&accept),
        expected,
        "compared with debian's baselines"
    );
    assert_eq!(
        accept.results["held_back"],
        serde_json::json!(["projects__list-sorted.list@windows"]),
        "the accept held the diverging snapshot back"
    );
    assert_eq!(
        std::fs::read_to_string(&baseline).unwrap(),
        committed,
        "the Windows-only behaviour did not become the Windows baseline"
    );
    assert!(
        snapshots
            .join("projects__list-sorted.list@windows.snap.new")
            .is_file(),
        "it waits for review instead"
    );
    assert_eq!(accept.results["scope"]["kind"], "selection");
    assert_eq!(accept.results["scope"]["sign_off"], false);

    let again = matrix_json(&config, &["--cell", "windows", "--suite", "projects"]);
    assert_eq!(again.code, Some(1), "{}", again.text);
    assert_eq!(only_divergence(&again), expected);
    let diff = again.results["comparison"]["divergences"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["case"] == "list-sorted")
        .unwrap()["diff"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        diff.starts_with("--- projects__list-sorted.list@debian.snap (committed)\n"),
        "{diff}"
    );
}

#[test]
fn one_shard_is_go_but_says_it_is_not_a_sign_off_everywhere() {
    let _serial = serial();
    let out = tempfile::tempdir().unwrap();
    let run = xtask_command(
        &root(),
        &[
            "matrix",
            "--suite",
            "platform",
            "--shard",
            "2/2",
            "--out",
            out.path().to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    let run = matrix_tests::Run::of(&run);
    assert_eq!(run.code, Some(0), "{}", run.text);
    let results = results_in(out.path());
    assert_eq!(results["verdict"], "go");
    assert_eq!(
        results["scope"],
        serde_json::json!({"kind": "shard", "sign_off": false, "text": "shard 2 of 2 of a selection (suites platform)"})
    );
    // JUnit, read by junitparser: every testsuite says it does not sign off.
    let script = r#"
import sys, json
from junitparser import JUnitXml
props = set()
for suite in JUnitXml.fromfile(sys.argv[1]):
    for p in suite.properties():
        if p.name in ("sign-off", "run-scope", "verdict"):
            props.add((p.name, p.value))
print(json.dumps(sorted(props)))
"#;
    let read = command("python3")
        .env("PYTHONPATH", python_path("junitparser", "junitparser"))
        .args(["-c", script])
        .arg(out.path().join("junit.xml"))
        .output()
        .unwrap();
    assert!(read.status.success(), "{}", text(&read));
    let props: serde_json::Value = serde_json::from_slice(&read.stdout).unwrap();
    assert_eq!(
        props,
        serde_json::json!([
            [
                "run-scope",
                "shard 2 of 2 of a selection (suites platform): not a sign-off"
            ],
            ["sign-off", "false"],
            ["verdict", "GO"]
        ])
    );
    let markdown = std::fs::read_to_string(out.path().join("report.md")).unwrap();
    assert!(
        markdown.starts_with("# Release sign-off: GO (shard 2 of 2 of a selection (suites platform): not a sign-off)\n\n**Not a sign-off**"),
        "{markdown}"
    );
    let dom = chromium_dom(&out.path().join("report.html"));
    assert!(
        dom.contains(r#"<p id="not-a-sign-off"><strong>Not a sign-off</strong>"#),
        "{dom}"
    );
}

#[test]
fn a_merge_refuses_shards_of_another_matrix_file() {
    let _serial = serial();
    let base = tempfile::tempdir().unwrap();
    // The same matrix but for a comment: another file, so another sign-off.
    let other = variant(
        "other-matrix",
        &[("# The compatibility matrix", "# Another matrix")],
    );
    let first = base.path().join("shard-1");
    let second = base.path().join("shard-2");
    let repo = root().join("matrix.toml");
    for (config, shard, out) in [(&repo, "1/2", &first), (&other, "2/2", &second)] {
        let run = matrix_json(
            config,
            &[
                "--suite",
                "platform",
                "--shard",
                shard,
                "--out",
                out.to_str().unwrap(),
            ],
        );
        assert!(out.join("results.json").is_file(), "{}", run.text);
    }
    let merged = base.path().join("merged");
    let out = xtask_command(
        &root(),
        &[
            "report",
            "--out",
            merged.to_str().unwrap(),
            "--merge",
            first.to_str().unwrap(),
            second.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "{} ran with a different matrix file than this merge",
            second.display()
        )),
        "{err}"
    );
    assert!(!err.contains(&format!("{} ran", first.display())), "{err}");
    assert!(!merged.join("results.json").exists(), "nothing is written");
}

#[test]
fn a_first_run_is_pending_with_its_new_snapshots_and_no_divergence() {
    let _serial = serial();
    let config = variant("first-run", &[]);
    let snapshots = config.parent().unwrap().join("snapshots");
    let _ = std::fs::remove_dir_all(&snapshots);
    std::fs::create_dir_all(&snapshots).unwrap();
    let run = matrix_json(&config, &["--suite", "platform", "--suite", "tasks"]);
    assert_eq!(
        run.code,
        Some(4),
        "PENDING has its own exit code:\n{}",
        run.text
    );
    assert_eq!(run.verdict(), "pending");
    let divergences = run.divergences();
    assert!(
        divergences.iter().all(|d| d.4 == "accepted"),
        "only the intended differences: {divergences:?}"
    );
    let observations = run.results["observations"].as_array().unwrap().len();
    let baseline = run.results["comparison"]["baseline"].as_array().unwrap();
    assert_eq!(baseline.len(), observations, "every snapshot is new");
    assert!(baseline.iter().all(|b| b["state"] == "new"));
    let pending = std::fs::read_dir(&snapshots)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .to_string_lossy()
                .ends_with(".snap.new")
        })
        .count();
    assert_eq!(pending, observations, "each new snapshot waits for review");
    let reasons = run.results["reasons"].as_array().unwrap();
    assert_eq!(reasons.len(), 1, "{reasons:?}");
    assert!(
        reasons[0]
            .as_str()
            .unwrap()
            .starts_with(&format!("{observations} new snapshots await review")),
        "{reasons:?}"
    );
}

#[test]
fn broken_suite_files_are_reported_with_their_positions_before_anything_is_built() {
    let _serial = serial();
    let config = variant(
        "broken-suites",
        &[
            (
                "path = \"fixtures/suites/health\"",
                "path = \"suites/health\"",
            ),
            (
                "[[divergence]]\nsuite = \"tasks\"\ncase = \"echo\"\n",
                "[[divergence]]\nsuite = \"tasks\"\ncase = \"ecko\"\n",
            ),
        ],
    );
    let suite = config.parent().unwrap().join("suites/health");
    std::fs::create_dir_all(&suite).unwrap();
    std::fs::write(
        suite.join("elsewhere.toml"),
        "[[step]]\nmethod = \"GET\"\npath = \"@other-host/health\"\n",
    )
    .unwrap();
    std::fs::write(
        suite.join("twice.toml"),
        "[[step]]\nname = \"get\"\nmethod = \"GET\"\npath = \"/health\"\n\n[[step]]\nname = \"get\"\nmethod = \"GET\"\npath = \"/health/${id}\"\n",
    )
    .unwrap();
    let start = std::time::Instant::now();
    let run = matrix_json(&config, &[]);
    let took = start.elapsed();
    assert_eq!(run.code, Some(2), "{}", run.text);
    let err = run.text.clone();
    for expected in [
        format!(
            "{}:3:8: path `@other-host/health` does not start with `/`",
            suite.join("elsewhere.toml").display()
        ),
        format!(
            "{}:7:8: two steps are named `get`",
            suite.join("twice.toml").display()
        ),
        format!(
            "{}:9:8: `${{id}}` is used before a step captures it",
            suite.join("twice.toml").display()
        ),
        "divergence names case `ecko`, which suite `tasks` does not have".to_owned(),
    ] {
        assert!(err.contains(&expected), "missing `{expected}` in\n{err}");
    }
    let ledger_line = std::fs::read_to_string(&config)
        .unwrap()
        .lines()
        .position(|l| l == "case = \"ecko\"")
        .unwrap()
        + 1;
    assert!(
        err.contains(&format!(
            "matrix.toml:{ledger_line}:8: divergence names case `ecko`"
        )),
        "{err}"
    );
    assert!(
        run.events.is_empty(),
        "nothing was provisioned, built or launched: {:?}",
        run.events
    );
    println!("found the problems in {took:?}, cargo's start included");
}

/// cargo-insta from crates.io: on PATH, or installed into the target folder once.
pub fn cargo_insta() -> PathBuf {
    if let Ok(path) = which::which("cargo-insta") {
        return path;
    }
    let tools = root().join("target/tools");
    let bin = tools.join("bin/cargo-insta");
    if !bin.is_file() {
        let out = command(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args(["install", "cargo-insta", "--locked", "--root"])
            .arg(&tools)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "cargo install cargo-insta: {}",
            text(&out)
        );
    }
    bin
}

/// A clean clone of this repository's committed tree, built in a target folder kept between
/// test runs.
fn clean_clone() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let clone = dir.path().join("repo");
    let out = command("git")
        .args(["clone", "--quiet", "--no-hardlinks"])
        .arg(root())
        .arg(&clone)
        .output()
        .unwrap();
    assert!(out.status.success(), "git clone: {}", text(&out));
    (dir, clone)
}

/// Runs `cargo ARGS` in the clone, with cargo-insta on PATH as a user installs it.
fn in_clone(clone: &Path, args: &[&str]) -> std::process::Output {
    let insta = cargo_insta();
    let path = std::env::join_paths(std::iter::once(insta.parent().unwrap().to_owned()).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .unwrap();
    command("cargo")
        .args(args)
        .current_dir(clone)
        .env("PATH", path)
        .env("CARGO_TARGET_DIR", root().join("target/clone-target"))
        .env_remove("CARGO")
        .output()
        .unwrap()
}

#[test]
fn cargo_insta_in_a_clean_clone_lists_and_accepts_the_harness_pending_snapshot() {
    let _serial = serial();
    let (_keep, clone) = clean_clone();
    let snapshots = clone.join("fixtures/deploy-server/snapshots");
    let name = "platform__health.1@debian";
    std::fs::remove_file(snapshots.join(format!("{name}.snap"))).unwrap();
    let out = tempfile::tempdir().unwrap();
    let matrix = |accept: bool| {
        let mut args = vec!["xtask", "matrix", "--cell", "debian", "--suite", "platform"];
        args.extend(["--out", out.path().to_str().unwrap()]);
        if accept {
            args.push("--accept");
        }
        in_clone(&clone, &args)
    };
    let first = matrix(false);
    assert_eq!(
        first.status.code(),
        Some(4),
        "a new snapshot is pending:\n{}",
        text(&first)
    );
    assert!(snapshots.join(format!("{name}.snap.new")).is_file());

    let listed = in_clone(&clone, &["insta", "pending-snapshots"]);
    assert!(listed.status.success(), "{}", text(&listed));
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(
        listed.contains(&format!("fixtures/deploy-server/snapshots/{name}.snap")),
        "cargo insta finds it from the repository's root:\n{listed}"
    );
    let accepted = in_clone(&clone, &["insta", "accept"]);
    assert!(accepted.status.success(), "{}", text(&accepted));
    assert!(snapshots.join(format!("{name}.snap")).is_file());
    assert!(!snapshots.join(format!("{name}.snap.new")).exists());

    let second = matrix(false);
    assert_eq!(
        second.status.code(),
        Some(0),
        "the accepted snapshot matches:\n{}",
        text(&second)
    );
    let results = results_in(out.path());
    assert_eq!(results["comparison"]["baseline"], serde_json::json!([]));
    assert_eq!(
        results["scope"]["sign_off"], false,
        "one cell is not a sign-off"
    );
}
