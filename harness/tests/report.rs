//! Reports of a fixed set of results: `results.json`, `junit.xml` and `report.md` are
//! snapshotted, so that any change to what CI systems and people read is reviewed.

use std::path::Path;
use std::time::Duration;

use harness::matrix::Scope;
use harness::outcome::{JobResult, Observation, Outcome};
use harness::plan::{Selection, plan};
use harness::provision::Provenance;
use harness::snapfile::{self, SnapFile};
use harness::suite::CaseResult;

const MATRIX: &str = r#"
primary = "debian"
[server]
package = "deploy-server"
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
[[suite]]
name = "contract"
kind = "http"
path = "suites/contract"
scope = "agnostic"
[[suite]]
name = "tasks"
kind = "http"
path = "suites/tasks"
scope = "per-target"
[[divergence]]
suite = "tasks"
case = "echo"
cells = ["windows"]
reason = "cmd.exe ends lines with CRLF"
"#;

fn case(name: &str, failure: Option<&str>) -> CaseResult {
    CaseResult {
        name: name.into(),
        passed: failure.is_none(),
        failure: failure.map(str::to_owned),
        duration: Duration::from_millis(12),
        ..CaseResult::default()
    }
}

fn job(
    suite: &str,
    cell: &str,
    scope: Scope,
    cases: Vec<CaseResult>,
    error: Option<&str>,
) -> JobResult {
    JobResult {
        suite: suite.into(),
        cell: cell.into(),
        scope,
        audit: false,
        cases,
        error: error.map(str::to_owned),
        leaked: Vec::new(),
        duration: Duration::from_millis(1500),
        phases: Default::default(),
        cached: None,
    }
}

fn obs(suite: &str, case: &str, cell: &str, scope: Scope, text: &str) -> Observation {
    Observation {
        suite: suite.into(),
        case: case.into(),
        step: "1".into(),
        cell: cell.into(),
        scope,
        audit: false,
        source: format!("suites/{suite}/{case}.toml"),
        expression: "POST /tasks".into(),
        text: text.into(),
    }
}

#[test]
fn reports_of_fixed_results() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("matrix.toml");
    let matrix = harness::matrix::parse(&file, MATRIX, harness::runtime::kinds()).unwrap();
    let p = plan(&matrix, &Selection::default()).unwrap();
    // Baselines as committed: everything but the `env` case's.
    let store = dir.path().join("snapshots");
    std::fs::create_dir_all(&store).unwrap();
    let observations = vec![
        obs(
            "contract",
            "errors",
            "debian",
            Scope::Agnostic,
            "status: 404\n",
        ),
        obs(
            "tasks",
            "echo",
            "debian",
            Scope::PerTarget,
            "stdout: hi\\n\n",
        ),
        obs(
            "tasks",
            "echo",
            "windows",
            Scope::PerTarget,
            "stdout: hi\\r\\n\n",
        ),
        obs(
            "tasks",
            "env",
            "debian",
            Scope::PerTarget,
            "stdout: /root\n",
        ),
        obs(
            "tasks",
            "env",
            "windows",
            Scope::PerTarget,
            "stdout: <script>alert(1)</script>\n",
        ),
    ];
    for o in &observations[..3] {
        let snap = SnapFile {
            source: o.source.clone(),
            expression: o.expression.clone(),
            content: o.text.clone(),
        };
        harness::persist::write_atomic(
            &snapfile::path(&store, &o.name()).unwrap(),
            &snapfile::render(&snap),
        )
        .unwrap();
    }
    let jobs = vec![
        job(
            "tasks",
            "windows",
            Scope::PerTarget,
            vec![
                case("echo", None),
                case("env", None),
                case("exit", Some("step `1`: expected status 200, got 500")),
            ],
            None,
        ),
        // Reused from an earlier run with the same inputs.
        harness::outcome::JobResult {
            cached: Some(harness::outcome::Cached {
                run: "2026-11-21T09:30:00Z".into(),
                commit: Some("fedcba9876543210".into()),
                key: "c0ffee".into(),
                saved: Duration::from_millis(2300),
            }),
            duration: Duration::ZERO,
            ..job(
                "contract",
                "debian",
                Scope::Agnostic,
                vec![case("errors", None)],
                None,
            )
        },
        job(
            "tasks",
            "debian",
            Scope::PerTarget,
            vec![case("echo", None), case("env", None), case("exit", None)],
            None,
        ),
    ];
    let outcome = Outcome {
        jobs,
        observations,
        provenance: Provenance {
            commit: Some("0123456789abcdef".into()),
            rustc: Some("rustc 1.95.0".into()),
            cargo: Some("cargo 1.95.0".into()),
            wine: Some("wine-8.0".into()),
            engines: vec!["podman version 4.3.1".into()],
            images: vec!["debian:bookworm-slim sha256:00e8".into()],
            host: "Linux ci 6.1 x86_64".into(),
            started: "2026-11-22T12:00:00Z".into(),
            shards: Vec::new(),
            inputs: harness::provision::Inputs {
                harness: "0.1.0".into(),
                matrix_sha256: "5e1f".into(),
                suites_sha256: "a11c".into(),
            },
            cells: [
                (
                    "windows",
                    harness::provision::provenance::ExecutionKind::Emulated,
                    "wine-8.0",
                ),
                (
                    "debian",
                    harness::provision::provenance::ExecutionKind::Container,
                    "podman version 4.3.1, debian:bookworm-slim sha256:00e8",
                ),
            ]
            .into_iter()
            .map(|(cell, kind, by)| {
                (
                    cell.to_owned(),
                    harness::provision::provenance::Execution {
                        kind,
                        by: by.to_owned(),
                        windows: (cell == "windows").then(|| "Windows Server 2022".to_owned()),
                        reported: (cell == "windows").then(|| "win10".to_owned()),
                        unpinned: false,
                    },
                )
            })
            .collect(),
        },
        duration: Duration::from_secs(42),
        prepare: Duration::from_secs(3),
    };
    let mut results = harness::run::conclude(
        &matrix,
        harness::run::Ending {
            plan: p.clone(),
            planned: p.planned.clone(),
            outcome,
            noise: Vec::new(),
            noise_cell: None,
            merged: None,
            logs: Default::default(),
            interrupted: false,
            explored: None,
        },
        false,
        &dir.path().join("out"),
    )
    .unwrap();
    // Two new snapshots (the env case's) are pending, not baselines.
    assert_eq!(results.written.len(), 2);
    assert!(
        results
            .written
            .iter()
            .all(|w| w.to_string_lossy().ends_with(".snap.new"))
    );
    results.written = results
        .written
        .iter()
        .map(|w| Path::new(w.file_name().unwrap()).to_owned())
        .collect();
    insta::assert_snapshot!(
        "results.json",
        serde_json::to_string_pretty(&results).unwrap()
    );
    insta::assert_snapshot!("junit.xml", harness::render::junit::render(&results, None));
    insta::assert_snapshot!("report.md", harness::render::markdown::render(&results));
    // What needs action ends the terminal's summary, right above the verdict; what was
    // accepted comes first, one line per reason.
    let summary = harness::render::terminal::summary(
        &results,
        Path::new("out"),
        &harness::render::terminal::Style {
            verbosity: harness::render::progress::Verbosity::Normal,
            palette: harness::render::colour::Palette::new(false),
            show_args: String::new(),
        },
    );
    let at = |needle: &str| {
        summary
            .find(needle)
            .unwrap_or_else(|| panic!("no `{needle}` in:\n{summary}"))
    };
    assert!(
        at("failed (") > at("new snapshots, not yet baselines"),
        "{summary}"
    );
    assert!(at("unaccepted divergences (") > at("failed ("), "{summary}");
    assert!(
        at("verdict: ") > at("unaccepted divergences ("),
        "{summary}"
    );
    let html = harness::render::html::render(&results);
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "server text is escaped in the HTML"
    );
    assert!(
        !html.contains("<script>"),
        "no script element reaches the HTML"
    );
    // The grid comes before any diff, and each of its squares links to an anchor the page
    // has: the finding of its suite and cell, or its row of jobs.
    let grid = html.find(r#"<table id="grid">"#).expect("a grid");
    assert!(
        grid < html.find(r#"<pre class="diff">"#).expect("a diff"),
        "{html}"
    );
    let links: Vec<&str> = regex::Regex::new(
        r##"<td class="[a-z]+" data-suite="[^"]+" data-cell="[^"]+"><a href="#([^"]+)">"##,
    )
    .unwrap()
    .captures_iter(&html)
    .map(|c| c.get(1).unwrap().as_str())
    .collect();
    assert!(links.len() >= 3, "{html}");
    for link in links {
        assert!(
            html.contains(&format!(r#"id="{link}""#)),
            "no anchor {link}:\n{html}"
        );
    }
    // A second Windows cell that answered exactly as the first shares its grid column; one
    // answer apart, it has a column of its own.
    let with_twin = |differs: bool| {
        let mut v = serde_json::to_value(&results).unwrap();
        let twin = |x: &mut serde_json::Value| {
            if x["cell"] == "windows" {
                let mut copy = x.clone();
                copy["cell"] = "windows-2".into();
                Some(copy)
            } else {
                None
            }
        };
        for key in ["jobs", "runs", "observations"] {
            let list = v[key].as_array_mut().unwrap();
            let copies: Vec<_> = list.iter_mut().filter_map(twin).collect();
            list.extend(copies);
        }
        if differs {
            let observations = v["observations"].as_array_mut().unwrap();
            let last = observations
                .iter_mut()
                .rev()
                .find(|o| o["cell"] == "windows-2")
                .unwrap();
            last["text"] = "something else".into();
        }
        let cells = v["plan"]["cells"].as_array_mut().unwrap();
        let mut cell = cells
            .iter()
            .find(|c| c["name"] == "windows")
            .unwrap()
            .clone();
        cell["name"] = "windows-2".into();
        cells.insert(1, cell);
        let twin: harness::verdict::Results = serde_json::from_value(v).unwrap();
        harness::render::view::grid_columns(&twin)
            .0
            .into_iter()
            .map(|c| c.name)
            .collect::<Vec<_>>()
    };
    assert_eq!(with_twin(false), ["windows, windows-2", "debian (primary)"]);
    assert_eq!(
        with_twin(true),
        ["windows", "windows-2", "debian (primary)"]
    );
    // report.md names what needs action before anything else.
    let md = harness::render::markdown::render(&results);
    let action = md
        .find("## Needs action")
        .expect("a table of what needs action");
    assert!(action < md.find("## Cells").unwrap(), "{md}");
    assert!(
        md[action..].contains("| failed | tasks/exit | windows |"),
        "{md}"
    );
}
