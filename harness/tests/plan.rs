//! The planner, table-driven: each case is a matrix and a selection, and its plan table is
//! snapshotted. Shards are checked to partition the plan for N = 1..8.

use std::collections::BTreeSet;
use std::path::Path;

use harness::plan::{Selection, plan};

const BASE: &str = r#"
primary = "debian"

[server]
package = "srv"
args = ["--listen", "{addr}"]

[server.ready]
http = "/health"

[[target]]
name = "windows"
triple = "x86_64-pc-windows-gnu"
runtime = "windows"

[[target]]
name = "debian"
triple = "x86_64-unknown-linux-gnu"
runtime = "container"
image = "debian:bookworm-slim"

[[target]]
name = "local"
triple = "x86_64-unknown-linux-gnu"
runtime = "host"

[[suite]]
name = "contract"
kind = "http"
path = "suites/contract"
scope = "agnostic"

[[suite]]
name = "validation"
kind = "http"
path = "suites/validation"
scope = "agnostic"

[[suite]]
name = "storage"
kind = "http"
path = "suites/storage"
scope = "per-target"

[[suite]]
name = "shell"
kind = "command"
command = ["pytest", "tests/shell"]
scope = "per-target"
targets = ["windows", "debian"]
"#;

const AXES: &str = r#"
[[axis]]
name = "profile"
values = ["debug", "release"]

[[axis]]
name = "store"
values = ["fs", "memory"]

[[exclude]]
target = "local"
profile = "release"

[[exclude]]
target = "windows"
store = "memory"

[[include]]
target = "local"
profile = "release"
store = "sqlite"
"#;

fn matrix(extra: &str, primary: &str) -> harness::Matrix {
    let text = format!("{BASE}{extra}")
        .replace("primary = \"debian\"", &format!("primary = \"{primary}\""));
    harness::matrix::parse(Path::new("matrix.toml"), &text, harness::runtime::kinds()).unwrap()
}

fn selection(args: &str) -> Selection {
    let mut s = Selection::default();
    let mut words = args.split_whitespace();
    while let Some(flag) = words.next() {
        match flag {
            "--cell" => s.cells.push(words.next().unwrap().to_owned()),
            "--suite" => s.suites.push(words.next().unwrap().to_owned()),
            "--shard" => s.shard = Some(words.next().unwrap().parse().unwrap()),
            "--audit" => s.audit = true,
            other => panic!("unknown flag {other}"),
        }
    }
    s
}

fn check(name: &str, extra: &str, primary: &str, args: &str) {
    let m = matrix(extra, primary);
    let p = plan(&m, &selection(args)).unwrap();
    let jobs: Vec<String> = p.jobs.iter().map(|j| j.id().to_string()).collect();
    insta::assert_snapshot!(
        name,
        format!(
            "$ --plan {args}\n{}jobs: {}",
            harness::render::tables::plan(&p),
            jobs.join(" ")
        )
    );
}

#[test]
fn plans() {
    check("targets_only", "", "debian", "");
    check("agnostic_once_on_primary", "", "local", "");
    check("axes_with_include_and_exclude", AXES, "debian-debug-fs", "");
    check(
        "cell_filter_by_target",
        AXES,
        "debian-debug-fs",
        "--cell windows",
    );
    check(
        "cell_filter_with_primary",
        "",
        "debian",
        "--cell debian --cell local",
    );
    check(
        "suite_filter",
        "",
        "debian",
        "--suite storage --suite contract",
    );
    check("audit_runs_agnostic_everywhere", "", "debian", "--audit");
    check("shard_2_of_3", AXES, "debian-debug-fs", "--shard 2/3");
}

#[test]
fn agnostic_suites_are_planned_exactly_once_on_the_primary_cell() {
    let m = matrix(AXES, "local-debug-fs");
    let p = plan(&m, &Selection::default()).unwrap();
    for suite in ["contract", "validation"] {
        let cells: Vec<&str> = p
            .jobs
            .iter()
            .filter(|j| j.suite == suite)
            .map(|j| j.cell.as_str())
            .collect();
        assert_eq!(cells, ["local-debug-fs"], "{suite}");
    }
    assert_eq!(p.totals.naive, p.totals.cells * p.totals.suites);
    assert_eq!(p.totals.saved, p.totals.naive - p.totals.runs);
}

#[test]
fn shards_partition_the_plan_for_every_n() {
    let m = matrix(AXES, "debian-debug-fs");
    let whole = plan(&m, &Selection::default()).unwrap();
    let whole_ids: Vec<String> = whole.jobs.iter().map(|j| j.id().to_string()).collect();
    assert!(
        whole_ids.len() > 8,
        "the plan must be larger than the largest N"
    );
    for n in 1..=8 {
        let mut seen = Vec::new();
        let mut sizes = Vec::new();
        for i in 1..=n {
            let part = plan(&m, &selection(&format!("--shard {i}/{n}"))).unwrap();
            assert_eq!(part.totals.runs, whole.totals.runs);
            sizes.push(part.jobs.len());
            seen.extend(part.jobs.iter().map(|j| j.id().to_string()));
        }
        let unique: BTreeSet<&String> = seen.iter().collect();
        assert_eq!(unique.len(), seen.len(), "N={n}: a job is in two shards");
        // The shards, in order, are the plan cut in contiguous parts: together they are the
        // whole job list in its order, not just the same set.
        assert_eq!(
            seen, whole_ids,
            "N={n}: shards are not contiguous parts of the plan"
        );
        let (min, max) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
        assert!(max - min <= 1, "N={n}: unbalanced shards {sizes:?}");
        // Another CI machine reads the matrix on its own and must cut the same shard.
        let elsewhere = matrix(AXES, "debian-debug-fs");
        for i in 1..=n {
            let shard = format!("--shard {i}/{n}");
            assert_eq!(
                plan(&elsewhere, &selection(&shard)).unwrap().jobs,
                plan(&m, &selection(&shard)).unwrap().jobs,
                "N={n}: shard {i} differs between two readings of the matrix"
            );
        }
    }
}

#[test]
fn unknown_selections_are_usage_errors() {
    let m = matrix("", "debian");
    for args in ["--cell macos", "--suite nope"] {
        let err = plan(&m, &selection(args)).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        insta::assert_snapshot!(
            args.replace(' ', "_").trim_start_matches('-').to_owned(),
            err.to_string()
        );
    }
    for bad in ["0/3", "4/3", "1", "a/b", "1/0"] {
        assert!(bad.parse::<harness::plan::Shard>().is_err(), "{bad}");
    }
}
