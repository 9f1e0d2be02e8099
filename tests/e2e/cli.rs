//! The command line as a user runs it: `cargo xtask matrix --plan` on this repository, with
//! its exit codes and its JSON.

use std::path::{Path, PathBuf};
use std::process::Output;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

/// Runs the xtask binary that cargo built for this test run.
pub fn xtask(args: &[&str]) -> Output {
    matrix_tests::xtask_command(&root(), args)
}

#[test]
fn plan_of_this_repository_runs_agnostic_suites_once_on_debian() {
    let out = xtask(&["matrix", "--plan", "--format", "json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let cells: Vec<&str> = plan["cells"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(cells, ["windows", "windows-2025", "debian"]);
    let jobs = plan["jobs"].as_array().unwrap();
    for job in jobs {
        assert!(job["suite"].is_string() && job["cell"].is_string() && job["scope"].is_string());
        if job["scope"] == "agnostic" {
            assert_eq!(job["cell"], "debian", "{job}");
        }
    }
    let agnostic = jobs.iter().filter(|j| j["scope"] == "agnostic").count();
    let suites = plan["suites"].as_array().unwrap().len();
    let per_target = suites
        - plan["suites"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["scope"] == "agnostic")
            .count();
    assert_eq!(jobs.len(), agnostic + cells.len() * per_target);
    assert_eq!(plan["totals"]["runs"], jobs.len());
    assert_eq!(plan["totals"]["naive"], cells.len() * suites);
}

#[test]
fn plan_table_shows_the_share_saved() {
    let out = xtask(&["matrix", "--plan"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("debian (primary)"), "{text}");
    let summary = regex::Regex::new(
        r"(\d+) cells, (\d+) suites: (\d+) suite runs instead of (\d+) \((\d+) saved, [\d.]+%\)",
    )
    .unwrap();
    let caps = summary
        .captures(&text)
        .unwrap_or_else(|| panic!("no summary in\n{text}"));
    let n = |i: usize| caps[i].parse::<usize>().unwrap();
    assert_eq!(n(1), 3, "{text}");
    assert_eq!(n(4), n(1) * n(2));
    assert_eq!(n(5), n(4) - n(3));
}

#[test]
fn bad_config_and_selection_exit_with_2_and_say_where() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("matrix.toml");
    let text = std::fs::read_to_string(root().join("matrix.toml"))
        .unwrap()
        .replace("runtime = \"windows\"", "runtime = \"wyne\"");
    std::fs::write(&bad, &text).unwrap();
    // Where the bad value is: its line, and its column counted in characters from 1.
    let (line, column) = text
        .lines()
        .enumerate()
        .find_map(|(i, l)| l.find("\"wyne\"").map(|c| (i + 1, c + 1)))
        .unwrap();
    let out = xtask(&["matrix", "--plan", "--config", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "matrix.toml:{line}:{column}: unknown runtime `wyne`"
        )),
        "{err}"
    );

    let out = xtask(&["matrix", "--plan", "--cell", "macos"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown cell `macos`"));

    let out = xtask(&["matrix", "--plan", "--config", "/nonexistent/matrix.toml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read /nonexistent/matrix.toml"));
}

#[test]
fn shards_of_the_cli_partition_the_plan() {
    let mut all = Vec::new();
    for i in 1..=3 {
        let shard = format!("{i}/3");
        let out = xtask(&["matrix", "--plan", "--format", "json", "--shard", &shard]);
        assert!(out.status.success());
        let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        for job in plan["jobs"].as_array().unwrap() {
            all.push(format!("{}@{}", job["suite"], job["cell"]));
        }
    }
    let whole = xtask(&["matrix", "--plan", "--format", "json"]);
    let plan: serde_json::Value = serde_json::from_slice(&whole.stdout).unwrap();
    let mut expected: Vec<String> = plan["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| format!("{}@{}", j["suite"], j["cell"]))
        .collect();
    expected.sort();
    all.sort();
    assert_eq!(all, expected);
}
