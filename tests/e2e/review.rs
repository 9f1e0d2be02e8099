//! The reviewer's tools on real runs: `show` prints a real divergence's requests and both
//! raw responses; `accept` turns a NO-GO into GO and keeps the matrix's comments, and refuses
//! what did not diverge; `--case` runs single cases; and JUnit counts skipped cases and a
//! baseline-only NO-GO as an independent reader sees them.

use matrix_tests::{command, python_path, results_in, root, serial, text, variant, xtask_command};

const ACCEPTED: &str = "[[divergence]]\nsuite = \"packages\"\ncase = \"download-other-case\"\ncells = [\"windows\", \"windows-2025\"]\nreason = \"Windows file names are case-insensitive: widget finds the package uploaded as Widget\"\n";

#[test]
fn show_prints_a_divergence_and_accept_turns_it_go_keeping_the_comments() {
    let _serial = serial();
    // The sample's matrix without its acceptance of one real divergence.
    let config = variant("review", &[(ACCEPTED, "")]);
    let cfg = config.to_str().unwrap();
    let out = config.parent().unwrap().join("out");
    let out_arg = out.to_str().unwrap();
    let matrix_args = [
        "matrix", "--config", cfg, "--suite", "packages", "--out", out_arg,
    ];
    let first = xtask_command(&root(), &matrix_args);
    assert_eq!(first.status.code(), Some(1), "{}", text(&first));
    let r = results_in(&out);
    let open: Vec<_> = r["comparison"]["divergences"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["acceptance"]["status"] == "unaccepted")
        .map(|d| {
            format!(
                "{}/{}@{}",
                d["suite"].as_str().unwrap(),
                d["case"].as_str().unwrap(),
                d["cell"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        open,
        [
            "packages/download-other-case@windows",
            "packages/download-other-case@windows-2025"
        ],
        "{r}"
    );

    // `show`: the request, and each cell's raw answer (Windows finds the package whatever
    // the case, Debian does not), with the divergence marked as not accepted.
    let shown = xtask_command(
        &root(),
        &[
            "show",
            "packages/download-other-case",
            "--config",
            cfg,
            "--out",
            out_arg,
            "--color",
            "never",
        ],
    );
    assert_eq!(shown.status.code(), Some(0), "{}", text(&shown));
    let stdout = String::from_utf8_lossy(&shown.stdout);
    for expected in [
        "PUT /packages/Widget/1.0",
        "GET /packages/widget/1.0",
        "HTTP 200",
        "HTTP 404",
        "no package `widget` version `1.0`",
        "NOT ACCEPTED",
        "[applied] the harness's own",
    ] {
        assert!(
            stdout.contains(expected),
            "`{expected}` is not in:\n{stdout}"
        );
    }
    assert!(
        !stdout.contains('\u{1b}'),
        "--color never has no escape codes"
    );
    // A case that is not in the run is an error that names the cases there are.
    let missing = xtask_command(
        &root(),
        &[
            "show",
            "packages/no-such-case",
            "--config",
            cfg,
            "--out",
            out_arg,
        ],
    );
    assert_eq!(missing.status.code(), Some(2), "{}", text(&missing));
    assert!(
        text(&missing).contains("download-other-case"),
        "{}",
        text(&missing)
    );

    // `accept` refuses what did not diverge, and leaves the file as it was.
    let before = std::fs::read_to_string(&config).unwrap();
    let refused = xtask_command(
        &root(),
        &[
            "accept",
            "packages/list",
            "--cell",
            "windows",
            "--reason",
            "no",
            "--config",
            cfg,
            "--out",
            out_arg,
        ],
    );
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
    assert!(
        text(&refused).contains("did not diverge"),
        "{}",
        text(&refused)
    );
    assert_eq!(std::fs::read_to_string(&config).unwrap(), before);

    // It accepts what did, keeping every line of the file, and the run is GO.
    let accepted = xtask_command(
        &root(),
        &[
            "accept",
            "packages/download-other-case",
            "--reason",
            "Windows file names are case-insensitive",
            "--expires",
            "2099-01-31",
            "--config",
            cfg,
            "--out",
            out_arg,
        ],
    );
    assert_eq!(accepted.status.code(), Some(0), "{}", text(&accepted));
    let after = std::fs::read_to_string(&config).unwrap();
    for line in before.lines() {
        assert!(after.contains(line), "lost `{line}`");
    }
    assert!(after.contains("case = \"download-other-case\""), "{after}");
    assert!(
        after.contains("cells = [\"windows\", \"windows-2025\"]"),
        "every cell where it diverged: {after}"
    );
    assert!(after.contains("expires = 2099-01-31"), "{after}");
    // Run twice, it refuses to write the same acceptance again, naming the first.
    let twice = xtask_command(
        &root(),
        &[
            "accept",
            "packages/download-other-case",
            "--reason",
            "again",
            "--config",
            cfg,
            "--out",
            out_arg,
        ],
    );
    assert_eq!(twice.status.code(), Some(2), "{}", text(&twice));
    assert!(
        text(&twice).contains("is accepted already, at "),
        "{}",
        text(&twice)
    );
    assert_eq!(std::fs::read_to_string(&config).unwrap(), after);
    let second = xtask_command(&root(), &matrix_args);
    assert_eq!(second.status.code(), Some(0), "{}", text(&second));
    let r = results_in(&out);
    assert_eq!(r["verdict"], "go");
    let d = r["comparison"]["divergences"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["case"] == "download-other-case")
        .unwrap()
        .clone();
    assert_eq!(
        d["acceptance"],
        serde_json::json!({"status": "accepted", "reason": "Windows file names are case-insensitive"}),
        "{d}"
    );
}

#[test]
fn case_runs_single_cases_and_is_no_sign_off() {
    let _serial = serial();
    let config = variant("single-case", &[]);
    let cfg = config.to_str().unwrap();
    let out = config.parent().unwrap().join("out");
    let run = xtask_command(
        &root(),
        &[
            "matrix",
            "--config",
            cfg,
            "--case",
            "packages/download-*",
            "--case",
            "health-ok",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(run.status.code(), Some(0), "{}", text(&run));
    let r = results_in(&out);
    let ran: std::collections::BTreeSet<String> = r["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            format!(
                "{}/{}",
                x["suite"].as_str().unwrap(),
                x["case"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        ran.into_iter().collect::<Vec<_>>(),
        ["health/health-ok", "packages/download-other-case"],
        "{r}"
    );
    assert_eq!(r["scope"]["sign_off"], false);
    assert!(
        r["scope"]["text"]
            .as_str()
            .unwrap()
            .contains("cases packages/download-*, health-ok"),
        "{}",
        r["scope"]
    );
    // The ledger's entries for cases that did not run are not stale.
    assert_eq!(r["comparison"]["stale"], serde_json::json!([]), "{r}");
    // A pattern that selects nothing is an error before anything is built.
    let none = xtask_command(
        &root(),
        &[
            "matrix",
            "--config",
            cfg,
            "--case",
            "packages/nothing-*",
            "--plan",
        ],
    );
    assert_eq!(none.status.code(), Some(2), "{}", text(&none));
    assert!(text(&none).contains("selects no case"), "{}", text(&none));
}

#[test]
fn junit_counts_skipped_cases_and_a_baseline_only_no_go_as_failures() {
    let _serial = serial();
    // A command suite whose own JUnit skips a case, and a committed baseline that no longer
    // matches what the server answers.
    let skips = r#"
[[suite]]
name = "skips"
kind = "command"
command = ["sh", "-c", "printf '<testsuites><testsuite name=\"s\"><testcase name=\"runs\"/><testcase name=\"later\"><skipped message=\"not yet\"/></testcase></testsuite></testsuites>' > \"$HARNESS_JUNIT\""]
scope = "agnostic"
junit = true

# The differences between Windows and Linux that are real and intended."#;
    let config = variant(
        "junit-counts",
        &[(
            "\n# The differences between Windows and Linux that are real and intended.",
            skips,
        )],
    );
    let snap = config
        .parent()
        .unwrap()
        .join("snapshots/health__health-ok.1@debian.snap");
    let committed = std::fs::read_to_string(&snap).unwrap();
    std::fs::write(&snap, committed.replace("\"ok\"", "\"fine\"")).unwrap();
    let out = config.parent().unwrap().join("out");
    let run = xtask_command(
        &root(),
        &[
            "matrix",
            "--config",
            config.to_str().unwrap(),
            "--cell",
            "debian",
            "--suite",
            "health",
            "--suite",
            "skips",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(run.status.code(), Some(1), "{}", text(&run));
    let r = results_in(&out);
    assert_eq!(r["verdict"], "no-go");
    let statuses: Vec<String> = r["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            format!(
                "{}/{}:{}",
                x["suite"].as_str().unwrap(),
                x["case"].as_str().unwrap(),
                x["status"].as_str().unwrap()
            )
        })
        .collect();
    assert!(
        statuses.contains(&"skips/later:skipped".to_owned()),
        "{statuses:?}"
    );
    let script = r#"
import sys, json
from junitparser import JUnitXml, Failure, Error, Skipped
xml = JUnitXml.fromfile(sys.argv[1])
cases, failures, skipped, bodies = 0, 0, 0, []
for suite in xml:
    for case in suite:
        cases += 1
        for r in case.result:
            if isinstance(r, (Failure, Error)):
                failures += 1
                bodies.append(r.text or "")
            if isinstance(r, Skipped):
                skipped += 1
print(json.dumps({"cases": cases, "failures": failures, "skipped": skipped, "bodies": bodies}))
"#;
    let read = command("python3")
        .env("PYTHONPATH", python_path("junitparser", "junitparser"))
        .args(["-c", script])
        .arg(out.join("junit.xml"))
        .output()
        .unwrap();
    assert!(read.status.success(), "{}", text(&read));
    let read: serde_json::Value = serde_json::from_slice(&read.stdout).unwrap();
    // A testcase per run, and the verdict's.
    assert_eq!(
        read["cases"],
        r["runs"].as_array().unwrap().len() + 1,
        "{read}"
    );
    assert_eq!(read["skipped"], 1, "{read}");
    // The one case whose snapshot left its baseline fails, with the diff as its body; so
    // does the verdict, a NO-GO, with its reasons.
    assert_eq!(read["failures"], 2, "{read}");
    let body = read["bodies"][0].as_str().unwrap();
    assert!(
        body.contains("-  \"status\": \"fine\"") && body.contains("+  \"status\": \"ok\""),
        "{body}"
    );
    let verdict = read["bodies"][1].as_str().unwrap();
    assert!(
        verdict.contains("1 snapshot differs from its committed baseline"),
        "{verdict}"
    );
}

/// The names of the pending snapshots in `dir`.
fn pending_in(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter_map(|e| {
            e.file_name()
                .to_str()?
                .strip_suffix(".snap.new")
                .map(str::to_owned)
        })
        .collect();
    names.sort();
    names
}

#[test]
fn review_walks_the_pending_snapshots_in_any_layout_and_accept_all_makes_the_run_go() {
    let _serial = serial();
    // A snapshot folder in no package (cargo-insta would not find it), emptied: the first
    // run of a suite is PENDING.
    let config = variant("review-pending", &[]);
    let snapshots = config.parent().unwrap().join("snapshots");
    std::fs::remove_dir_all(&snapshots).unwrap();
    let cfg = config.to_str().unwrap();
    let run = |expected: i32| {
        let out = xtask_command(
            &root(),
            &[
                "matrix",
                "--config",
                cfg,
                "--suite",
                "health",
                "--suite",
                "api-contract",
            ],
        );
        assert_eq!(out.status.code(), Some(expected), "{}", text(&out));
    };
    run(4);
    let pending = pending_in(&snapshots);
    assert!(pending.len() >= 3, "{pending:?}");
    // One answer a line: accept the first, reject the second, skip the third, quit.
    let mut review = matrix_tests::xtask_cmd(&root(), &["review", "--config", cfg]);
    let mut child = review
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), b"a\nr\ns\nq\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        shown.contains(&format!("[1/{}] {}", pending.len(), pending[0])),
        "{shown}"
    );
    assert!(
        shown.contains("(no baseline)") && shown.contains("+status: "),
        "{shown}"
    );
    assert!(snapshots.join(format!("{}.snap", pending[0])).is_file());
    assert!(!snapshots.join(format!("{}.snap", pending[1])).exists());
    assert_eq!(
        pending_in(&snapshots),
        pending[2..].to_vec(),
        "skipped and unseen stay pending"
    );
    // A script accepts them all; the rejected one comes back with the next run first.
    run(4);
    let all = xtask_command(&root(), &["review", "--config", cfg, "--accept-all"]);
    assert_eq!(all.status.code(), Some(0), "{}", text(&all));
    assert_eq!(pending_in(&snapshots), Vec::<String>::new());
    run(0);
}

#[test]
fn a_glob_accepts_every_case_it_names_as_one_entry_and_the_reports_name_it() {
    let _serial = serial();
    // The sample's matrix without its two acceptances of the packages suite: four
    // divergences, two cases on two cells.
    let both = "[[divergence]]\nsuite = \"packages\"\ncase = \"names-differing-in-case\"\ncells = [\"windows\", \"windows-2025\"]\nreason = \"Windows file names are case-insensitive: Tool and tool are one package folder, so the second upload replaces the first\"\n\n";
    let config = variant("review-glob", &[(ACCEPTED, ""), (both, "")]);
    let cfg = config.to_str().unwrap();
    let out = config.parent().unwrap().join("out");
    let out_arg = out.to_str().unwrap();
    let matrix_args = [
        "matrix", "--config", cfg, "--suite", "packages", "--out", out_arg,
    ];
    let first = xtask_command(&root(), &matrix_args);
    assert_eq!(first.status.code(), Some(1), "{}", text(&first));
    let open = |r: &serde_json::Value| {
        r["comparison"]["divergences"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["acceptance"]["status"] != "accepted")
            .count()
    };
    assert_eq!(open(&results_in(&out)), 4);
    // A glob that names no case that ran is refused.
    let none = xtask_command(
        &root(),
        &[
            "accept",
            "packages/zz*",
            "--reason",
            "r",
            "--config",
            cfg,
            "--out",
            out_arg,
        ],
    );
    assert_eq!(none.status.code(), Some(2), "{}", text(&none));
    assert!(
        text(&none).contains("names no case that ran"),
        "{}",
        text(&none)
    );
    // One command, one entry.
    let accepted = xtask_command(
        &root(),
        &[
            "accept",
            "packages/*",
            "--reason",
            "Windows file names are case-insensitive",
            "--config",
            cfg,
            "--out",
            out_arg,
        ],
    );
    assert_eq!(accepted.status.code(), Some(0), "{}", text(&accepted));
    let ledger = std::fs::read_to_string(&config).unwrap();
    assert_eq!(ledger.matches("case = \"*\"").count(), 1, "{ledger}");
    let line = ledger.lines().position(|l| l == "case = \"*\"").unwrap() + 1;
    let second = xtask_command(&root(), &matrix_args);
    assert_eq!(second.status.code(), Some(0), "{}", text(&second));
    let r = results_in(&out);
    assert_eq!(r["verdict"], "go");
    assert_eq!(open(&r), 0);
    // Each divergence says which entry accepted it, in results.json and the reports.
    let entry = format!("packages/* at matrix.toml:{line}");
    for d in r["comparison"]["divergences"].as_array().unwrap() {
        assert_eq!(d["acceptance"]["by"], entry.as_str(), "{d}");
    }
    let markdown = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        markdown.contains(&format!("accepted by {}", entry.replace('*', "\\*"))),
        "{markdown}"
    );
}
