//! Everything a port can change, seen on real Wine and podman through the sample's `files`
//! suite: WebDAV methods, a redirect as sent, an ETag captured from a header and sent back,
//! Last-Modified from the seed's fixed time, symlinks kept in the data dir, and the server's
//! log and data dir compared across cells; a pasted noise rule that makes the noise check
//! clean; and the audit's candidates in a matrix with no agnostic suite.

use matrix_tests::{Run, matrix_json, root, serial, variant};

/// The observation text of `suite/case` step `step` on `cell`.
fn observed<'a>(run: &'a Run, case: &str, step: &str, cell: &str) -> &'a str {
    run.results["observations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["case"] == case && o["step"] == step && o["cell"] == cell)
        .unwrap_or_else(|| panic!("no observation {case}.{step}@{cell}:\n{}", run.text))["text"]
        .as_str()
        .unwrap()
}

#[test]
fn any_method_redirects_header_captures_fixed_times_and_symlinks_on_real_runtimes() {
    let _serial = serial();
    let out = tempfile::tempdir().unwrap();
    let run = matrix_json(
        &root().join("matrix.toml"),
        &["--suite", "files", "--out", out.path().to_str().unwrap()],
    );
    assert_eq!(run.code, Some(0), "{}", run.text);
    for cell in ["windows", "debian"] {
        // PROPFIND and MKCOL reach the server and answer as WebDAV does.
        assert!(observed(&run, "webdav-round-trip", "mkcol", cell).starts_with("status: 201\n"));
        assert!(
            observed(&run, "webdav-round-trip", "mkcol-again", cell).starts_with("status: 405\n")
        );
        let propfind = observed(&run, "webdav-round-trip", "propfind", cell);
        assert!(propfind.starts_with("status: 207\n"), "{propfind}");
        assert!(
            propfind.contains("<d:href>/files/docs/guide.txt</d:href>"),
            "{propfind}"
        );
        // The 302 after an upload is seen as sent, with where it points.
        let upload = observed(&run, "upload-redirects", "upload", cell);
        assert!(
            upload.starts_with("status: 302\n")
                && upload.contains("location: /files/notes/today.txt\n"),
            "{upload}"
        );
        // The ETag, captured from a header and sent back, gives 304; Last-Modified is the
        // seed's fixed time.
        let get = observed(&run, "etag-if-none-match", "get", cell);
        assert!(
            get.contains("last-modified: Thu, 01 Jan 2026 00:00:00 GMT\n"),
            "{get}"
        );
        assert!(get.contains("etag: \"13-"), "{get}");
        assert!(
            observed(&run, "etag-if-none-match", "conditional", cell).starts_with("status: 304\n")
        );
        // The seed's symlinks are symlinks in the data dir.
        let tree = observed(&run, "symlinks", "+data-dir", cell);
        assert!(tree.contains("l files/current -> readme.md\n"), "{tree}");
        assert!(tree.contains("l files/manual -> docs\n"), "{tree}");
    }
    assert_eq!(
        observed(&run, "etag-if-none-match", "get", "windows"),
        observed(&run, "etag-if-none-match", "get", "debian"),
        "an mtime-derived answer is the same on every cell"
    );
}

#[test]
fn a_log_divergence_and_a_data_dir_divergence_are_found_with_readable_diffs() {
    let _serial = serial();
    let config = variant(
        "evidence",
        &[
            (
                "[[divergence]]\nsuite = \"files\"\ncase = \"write-name-case\"\n",
                "[[divergence]]\nsuite = \"files\"\ncase = \"webdav-round-trip\"\n",
            ),
            (
                "[[divergence]]\nsuite = \"files\"\ncase = \"+log\"\n",
                "[[divergence]]\nsuite = \"files\"\ncase = \"missing-file\"\n",
            ),
        ],
    );
    let run = matrix_json(&config, &["--suite", "files"]);
    assert_eq!(run.code, Some(1), "{}", run.text);
    let divergences = run.results["comparison"]["divergences"].as_array().unwrap();
    let diff = |case: &str, step: &str| {
        let d = divergences
            .iter()
            .find(|d| d["case"] == case && d["step"] == step)
            .unwrap_or_else(|| panic!("no divergence {case}.{step}:\n{}", run.text));
        assert_eq!(d["acceptance"]["status"], "unaccepted");
        d["diff"].as_str().unwrap().to_owned()
    };
    let log = diff("+log", "server");
    assert!(
        log.contains("-files: missing.txt: No such file or directory (os error 2)\n"),
        "{log}"
    );
    assert!(
        log.contains("+files: missing.txt: File not found. (os error 2)\n"),
        "{log}"
    );
    assert!(
        log.contains("listening on [addr], data in [data_dir]"),
        "what the harness injected is named:\n{log}"
    );
    let tree = diff("write-name-case", "+data-dir");
    assert!(tree.contains("-f files/README.MD 11 bytes"), "{tree}");
    assert!(tree.contains("+f files/readme.md 11 bytes"), "{tree}");
}

#[test]
fn a_pasted_text_noise_rule_makes_the_noise_check_clean() {
    let _serial = serial();
    let noisy = [(
        "env = { RUST_LOG = \"info\" }",
        "env = { RUST_LOG = \"info\", DEPLOY_NOISE = \"1\" }",
    )];
    let config = variant("text-noise", &noisy);
    let args = ["--cell", "debian", "--suite", "files", "--noise-check"];
    let first = matrix_json(&config, &args);
    let noise = first.results["noise"].as_array().unwrap();
    let listing = noise
        .iter()
        .find(|n| n["case"] == "symlinks" && n["step"] == "listing")
        .unwrap_or_else(|| panic!("the listing's time is noise:\n{}", first.text));
    let suggestion = listing["suggestion"].as_str().unwrap();
    assert!(
        suggestion.starts_with("[[normalize.filter]]\nregex = '"),
        "{suggestion}"
    );
    assert!(
        suggestion.contains("replace = \"[timestamp]\""),
        "{suggestion}"
    );
    // Pasted as the suggestion says, the rule removes the noise.
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push('\n');
    text.push_str(suggestion);
    text.push('\n');
    std::fs::write(&config, text).unwrap();
    let second = matrix_json(&config, &args);
    let left: Vec<String> = second.results["noise"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["case"] == "symlinks")
        .map(|n| n["diff"].to_string())
        .collect();
    assert!(left.is_empty(), "still noisy: {left:?}\n{}", second.text);
}

#[test]
fn the_audit_lists_candidates_in_a_matrix_with_no_agnostic_suite() {
    let _serial = serial();
    let config = variant(
        "no-agnostic",
        &[
            (
                "path = \"fixtures/suites/health\"\nscope = \"agnostic\"",
                "path = \"fixtures/suites/health\"\nscope = \"per-target\"",
            ),
            (
                "path = \"fixtures/suites/api-contract\"\nscope = \"agnostic\"",
                "path = \"fixtures/suites/api-contract\"\nscope = \"per-target\"",
            ),
        ],
    );
    let run = matrix_json(
        &config,
        &[
            "--suite", "health", "--suite", "platform", "--audit", "--accept",
        ],
    );
    let candidates = run.results["comparison"]["agnostic_candidates"].clone();
    assert_eq!(
        candidates,
        serde_json::json!(["health"]),
        "health behaves the same everywhere, platform does not:\n{}",
        run.text
    );
}

#[test]
fn a_server_that_colours_its_log_does_not_diverge_from_one_that_does_not() {
    let _serial = serial();
    // The same server on two cells; one colours its log lines, as many servers do on a
    // terminal. Colour is not a behaviour: the log snapshots are equal, unless the matrix
    // asks to keep escapes.
    for (keep, diverges) in [("", false), ("\n[normalize]\nlog_escapes = false\n", true)] {
        let config = super::faults::fault_matrix(
            "coloured-log",
            &["plain", "coloured"],
            &[("health", "[[step]]\nmethod = \"GET\"\npath = \"/health\"\n")],
            &format!("log = true\n{keep}"),
        );
        let text = std::fs::read_to_string(&config).unwrap().replacen(
            "FAULT_VARIANT = \"coloured\"",
            "FAULT_VARIANT = \"coloured\", FAULT_COLOUR = \"1\"",
            1,
        );
        std::fs::write(&config, text).unwrap();
        let run = matrix_json(&config, &[]);
        let coloured = observed(&run, "+log", "server", "coloured");
        let log_diverges = run
            .divergences()
            .iter()
            .any(|(_, case, _, cell, _)| case == "+log" && cell == "coloured");
        assert_eq!(log_diverges, diverges, "keep = {keep:?}:\n{}", run.text);
        assert_eq!(
            coloured.contains('\u{1b}'),
            diverges,
            "keep = {keep:?}: {coloured:?}"
        );
        assert!(
            coloured.contains("request \"GET /health HTTP/1.1\" 200"),
            "{coloured}"
        );
    }
}
