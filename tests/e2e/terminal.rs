//! The terminal as people see it, on a real run of the sample with one unaccepted divergence:
//! in a pseudo-terminal (a live status line with counts and an ETA, colours, and a screen
//! that ends as the plain lines), piped as in CI (plain lines, no escape codes), quiet
//! (failures and the summary only) and verbose (commands and addresses). The summary's
//! command for a divergence is run and shows it.

use std::path::Path;

use matrix_tests::{command, copy_tree, root, serial, variant, xtask_cmd};

const ACCEPTED: &str = "[[divergence]]\nsuite = \"packages\"\ncase = \"download-other-case\"\ncells = [\"windows\", \"windows-2025\"]\nreason = \"Windows file names are case-insensitive: widget finds the package uploaded as Widget\"\n";

/// What a run printed (stderr, then stdout) with times, paths and machine details filtered.
fn filtered(text: &str, scenario: &Path) -> String {
    let text = text
        .replace(&scenario.display().to_string(), "[SCENARIO]")
        .replace(&root().display().to_string(), "[ROOT]");
    let time = regex::Regex::new(r"\[ *\d+\.\ds\]").unwrap();
    let took = regex::Regex::new(r"in \d+\.\ds").unwrap();
    // What ran a cell (versions, an image id) up to its Windows version, which stays.
    let how =
        regex::Regex::new(r"(emulated|container|native) \((?:[^;()\n]|\([^()\n]*\))*").unwrap();
    let text = time.replace_all(&text, "[TIME]");
    let text = took.replace_all(&text, "in [TIME]");
    let text = how.replace_all(&text, "$1 ([HOW]");
    // Trailing blanks are invisible on a terminal; cargo's own lines (`cargo xtask` is
    // `cargo run`) say how long cargo took.
    let cargo = regex::Regex::new(r"^\s+(Finished|Running|Compiling|Blocking) ").unwrap();
    text.lines()
        .filter(|l| !cargo.is_match(l))
        .map(|l| format!("{}\n", l.trim_end()))
        .collect()
}

fn args<'a>(config: &'a str, out: &'a str, more: &[&'a str]) -> Vec<&'a str> {
    let mut all = vec![
        "matrix", "--config", config, "--suite", "packages", "--suite", "platform", "-j", "1",
        "--out", out,
    ];
    all.extend_from_slice(more);
    all
}

/// Runs `cargo xtask ARGS` with pipes; returns (code, stderr + stdout).
fn piped(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
    let mut cmd = xtask_cmd(&root(), args);
    cmd.envs(env.iter().copied())
        .stdin(std::process::Stdio::null());
    let output = cmd.output().expect("cargo runs");
    (
        output.status.code(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stderr),
            String::from_utf8_lossy(&output.stdout)
        ),
    )
}

/// Runs `cargo xtask ARGS` in a pseudo-terminal of 400 columns (util-linux `script`); returns
/// (code, the bytes the terminal received).
fn in_terminal(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, Vec<u8>) {
    in_terminal_of(args, env, (400, 50))
}

/// [`in_terminal`] in a terminal of (columns, rows).
fn in_terminal_of(
    args: &[&str],
    env: &[(&str, &str)],
    (cols, rows): (u16, u16),
) -> (Option<i32>, Vec<u8>) {
    let cmd = xtask_cmd(&root(), args);
    let mut line = vec![cmd.get_program().to_string_lossy().into_owned()];
    line.extend(cmd.get_args().map(|a| a.to_string_lossy().into_owned()));
    let output = command("script")
        .args(["--quiet", "--return", "--command"])
        .arg(format!(
            "stty cols {cols} rows {rows}; exec {}",
            shell_words::join(&line)
        ))
        .arg("/dev/null")
        .current_dir(root())
        .env_remove("NO_COLOR")
        .envs(env.iter().copied())
        .stdin(std::process::Stdio::null())
        .output()
        .expect("script runs");
    (output.status.code(), output.stdout)
}

/// The text a terminal shows after `bytes` (tall enough that nothing scrolls away).
fn screen(bytes: &[u8]) -> String {
    let mut parser = vt100::Parser::new(
        std::num::NonZero::new(1000).unwrap(),
        std::num::NonZero::new(400).unwrap(),
        0,
    );
    parser.process(bytes);
    // Row by row: a line as wide as the terminal wraps, and is still a line of its own.
    let mut text: String = parser
        .screen()
        .rows(0, 400)
        .map(|l| format!("{}\n", l.trim_end()))
        .collect();
    while text.ends_with("\n\n") {
        text.pop();
    }
    text
}

#[test]
fn the_terminal_is_live_on_a_tty_plain_in_ci_and_its_summary_says_how_to_show_each_finding() {
    let _serial = serial();
    let config = variant("terminal", &[(ACCEPTED, "")]);
    let cfg = config.to_str().unwrap();
    let dir = config.parent().unwrap();
    let out = dir.join("out");
    let out_arg = out.to_str().unwrap();
    // A first run records the jobs' durations, from which the next runs estimate what is left.
    let (code, warm) = piped(&args(cfg, out_arg, &[]), &[]);
    assert_eq!(code, Some(1), "{warm}");

    // CI: plain lines, no escape code at all, one line per job in plan order, the divergence
    // first in the summary with the command that shows it.
    let (code, plain) = piped(&args(cfg, out_arg, &[]), &[("CI", "true")]);
    assert_eq!(code, Some(1), "{plain}");
    assert!(!plain.contains('\u{1b}'), "{plain}");
    let plain = filtered(&plain, dir);
    insta::assert_snapshot!("plain", plain);

    // A terminal: the status line counted the jobs and gave an ETA while they ran, lines and
    // the verdict are coloured, and when the run ends the screen holds exactly the plain text.
    let (code, raw) = in_terminal(&args(cfg, out_arg, &[]), &[]);
    assert_eq!(code, Some(1), "{}", String::from_utf8_lossy(&raw));
    let raw_text = String::from_utf8_lossy(&raw);
    let status =
        regex::Regex::new(r"jobs [0-5]/6(, \d failed)?; running \S+ \S+; ETA \d+\.\ds").unwrap();
    let unstyled = regex::Regex::new("\u{1b}\\[[0-9;]*m")
        .unwrap()
        .replace_all(&raw_text, "");
    assert!(
        status.is_match(&unstyled),
        "no live status line: {raw_text:?}"
    );
    assert!(
        raw_text.contains("\u{1b}[1m\u{1b}[32m        PASS\u{1b}[0m"),
        "PASS is not green: {raw_text:?}"
    );
    assert!(
        raw_text.contains("\u{1b}[1m\u{1b}[31mNO-GO"),
        "the verdict is not red: {raw_text:?}"
    );
    let seen = filtered(&screen(&raw), dir);
    assert_eq!(
        seen, plain,
        "the terminal ends showing other text than CI's"
    );
    insta::assert_snapshot!("terminal", seen);

    // NO_COLOR: no colour on a terminal (the status line still redraws); `--color always`
    // colours a pipe.
    let (_, no_color) = in_terminal(&args(cfg, out_arg, &[]), &[("NO_COLOR", "1")]);
    let no_color = String::from_utf8_lossy(&no_color);
    assert!(no_color.contains("\u{1b}[2K"), "{no_color:?}");
    assert!(
        !regex::Regex::new("\u{1b}\\[[0-9;]*m")
            .unwrap()
            .is_match(&no_color),
        "{no_color:?}"
    );
    let (_, coloured) = piped(&args(cfg, out_arg, &["--color", "always"]), &[]);
    assert!(coloured.contains("\u{1b}[32m"), "{coloured}");

    // Quiet: no line for jobs that passed; the summary still leads with the divergence.
    let (code, quiet) = piped(&args(cfg, out_arg, &["-q"]), &[]);
    assert_eq!(code, Some(1), "{quiet}");
    let summary = filtered(&quiet, dir);
    assert!(!quiet.contains("PASS"), "{quiet}");
    assert!(!quiet.contains("\naccepted divergences ("), "{quiet}");
    assert!(
        summary
            .trim_start()
            .starts_with("unaccepted divergences (2):"),
        "{summary}"
    );

    // Verbose: how each server was started and where it answered.
    let (_, verbose) = piped(&args(cfg, out_arg, &["-v"]), &[]);
    for expected in ["START", "ready after", "at http://", "STOPPED", "BUILD"] {
        assert!(verbose.contains(expected), "no `{expected}`: {verbose}");
    }

    // The command the summary gives for the divergence shows it.
    let show_line = quiet
        .lines()
        .find_map(|l| l.trim().strip_prefix("show: cargo xtask "))
        .expect("the summary gives a show command");
    let words = shell_words::split(show_line).unwrap();
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    let shown = xtask_cmd(&root(), &words).output().unwrap();
    assert_eq!(shown.status.code(), Some(0), "{shown:?}");
    let shown = String::from_utf8_lossy(&shown.stdout);
    assert!(
        shown.contains("GET /packages/widget/1.0") && shown.contains("NOT ACCEPTED"),
        "{shown}"
    );
}

#[test]
fn a_no_go_run_ends_a_40_line_terminal_with_every_failure_once_and_the_verdict() {
    let _serial = serial();
    // Three cases that fail on every cell (two wrong statuses, one wrong body), beside the
    // sample's six accepted divergences.
    let config = variant(
        "three-failures",
        &[
            (
                "path = \"fixtures/suites/platform\"",
                "path = \"suites/platform\"",
            ),
            (
                "path = \"fixtures/suites/packages\"",
                "path = \"suites/packages\"",
            ),
        ],
    );
    let dir = config.parent().unwrap();
    for suite in ["platform", "packages"] {
        copy_tree(
            &root().join("fixtures/suites").join(suite),
            &dir.join("suites").join(suite),
        );
    }
    let edit = |file: &str, from: &str, to: &str| {
        let path = dir.join("suites").join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "{file} has no {from}");
        std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
    };
    edit("platform/health.toml", "status = 200", "status = 418");
    edit(
        "platform/data-dir-isolated.toml",
        "status = 200",
        "status = 418",
    );
    edit(
        "packages/overwrite.toml",
        "status = 200, body = \"second!\"",
        "status = 200, body = \"third!\"",
    );
    let out = dir.join("out");
    let (code, raw) = in_terminal_of(
        &args(config.to_str().unwrap(), out.to_str().unwrap(), &[]),
        &[],
        (200, 40),
    );
    assert_eq!(code, Some(1), "{}", String::from_utf8_lossy(&raw));
    // What a 40-line terminal shows when the run is over: its last 15 lines hold each
    // failure once, with every cell it failed on, and the verdict; nothing accepted.
    let mut parser = vt100::Parser::new(
        std::num::NonZero::new(40).unwrap(),
        std::num::NonZero::new(200).unwrap(),
        0,
    );
    parser.process(&raw);
    let rows: Vec<String> = parser
        .screen()
        .rows(0, 200)
        .map(|l| l.trim_end().to_owned())
        .collect();
    let end = rows.iter().rposition(|l| !l.is_empty()).unwrap();
    let last = rows[end.saturating_sub(14)..=end].join("\n");
    for case in [
        "platform/health",
        "platform/data-dir-isolated",
        "packages/overwrite",
    ] {
        let fails = regex::Regex::new(&format!(
            "FAIL windows, windows-2025, debian {case} \\(on every cell that ran it: not a platform difference\\)"
        ))
        .unwrap();
        assert_eq!(
            fails.find_iter(&last).count(),
            1,
            "{case} once, in:\n{last}"
        );
    }
    assert!(last.contains("verdict: NO-GO"), "{last}");
    for accepted in [
        "accepted divergences",
        "case-insensitive",
        "the platform itself",
    ] {
        assert!(!last.contains(accepted), "{last}");
    }
    assert!(last.contains("expected status 418, got 200"), "{last}");
    // The run's results say the same: nine failed cases, every divergence accepted.
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap();
    let failed = results["runs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == "failed")
        .count();
    assert_eq!(failed, 9, "{results}");
    // report.md names them in its first 20 lines, each with its cells and show command.
    let markdown = std::fs::read_to_string(out.join("report.md")).unwrap();
    let head: String = markdown.lines().take(20).collect::<Vec<_>>().join("\n");
    for case in [
        "platform/health",
        "platform/data-dir-isolated",
        "packages/overwrite",
    ] {
        let row = head
            .lines()
            .find(|l| l.starts_with(&format!("| failed | {case} |")))
            .unwrap_or_else(|| panic!("no row for {case} in:\n{head}"));
        assert!(row.contains("windows, windows-2025, debian"), "{row}");
        assert!(
            row.contains(&format!("show {case} --cell windows")),
            "{row}"
        );
    }
    // JUnit's failure messages say what failed, differently per case (read by junitparser).
    let messages = matrix_tests::junit_failure_messages(&out.join("junit.xml"));
    let of = |case: &str| {
        messages
            .iter()
            .filter(|(name, _)| name == case)
            .map(|(_, m)| m.clone())
            .collect::<Vec<_>>()
    };
    assert!(
        of("health")
            .iter()
            .all(|m| m.contains("expected status 418, got 200")),
        "{messages:?}"
    );
    assert!(
        of("overwrite")
            .iter()
            .all(|m| m.contains("expected the body")),
        "{messages:?}"
    );
    assert_eq!(of("health").len(), 3, "{messages:?}");
}
