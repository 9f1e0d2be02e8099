//! `--explore` on the sample server with no `http` suite at all: the generated probes find
//! its Windows port differences as classes, each led by its smallest request; a matrix of
//! two Linux cells yields no finding; the same seed gives the same findings.

use std::path::PathBuf;

use matrix_tests::{root, scenario, serial, text, xtask_command};

/// The repository's matrix with every suite and ledger entry removed (one command suite
/// that does nothing keeps the matrix whole), and `targets` in place of its targets when
/// given.
fn without_cases(name: &str, targets: Option<&str>) -> PathBuf {
    let full = std::fs::read_to_string(root().join("matrix.toml")).unwrap();
    let mut head = full[..full.find("[[suite]]").unwrap()].to_owned();
    if let Some(targets) = targets {
        let start = head.find("[[target]]").unwrap();
        let end = head.find("[snapshots]").unwrap();
        head.replace_range(start..end, targets);
    }
    let text = head
        .replace("seed = \"fixtures/", "seed = \"{root}/fixtures/")
        .replace(
            "dir = \"fixtures/deploy-server/snapshots\"",
            "dir = \"snapshots\"",
        )
        + "[[suite]]\nname = \"nothing\"\nkind = \"command\"\ncommand = [\"true\"]\nscope = \"agnostic\"\n";
    scenario(name, &text)
}

fn explore(config: &std::path::Path, args: &[&str]) -> (Option<i32>, serde_json::Value, String) {
    let out = config
        .parent()
        .unwrap()
        .join(format!("out-{}", args.join("-")));
    let mut all = vec![
        "matrix",
        "--config",
        config.to_str().unwrap(),
        "--explore",
        "--format",
        "json",
        "--out",
        out.to_str().unwrap(),
    ];
    all.extend_from_slice(args);
    let run = xtask_command(&root(), &all);
    let results: serde_json::Value = serde_json::from_slice(&run.stdout)
        .unwrap_or_else(|e| panic!("results on stdout ({e}):\n{}", text(&run)));
    let found = results["explored"].clone();
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("explore.json")).unwrap()).unwrap();
    assert_eq!(
        found, written,
        "explore.json holds results.json's `explored`"
    );
    assert_eq!(
        results,
        matrix_tests::results_in(&out),
        "results.json holds what was printed"
    );
    // Unknown findings make the run NO-GO, with a reason that says so.
    let unknown = found["classes"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["findings"].as_array().unwrap())
        .filter(|f| f["known"].is_null())
        .count();
    let reasons = results["reasons"].to_string();
    assert_eq!(
        reasons.contains("findings of --explore that the ledger does not accept"),
        unknown > 0,
        "{reasons}"
    );
    if unknown > 0 {
        assert_eq!(results["verdict"], "no-go");
    }
    (run.status.code(), found, text(&run))
}

fn class<'a>(found: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    found["classes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["class"] == name)
        .unwrap_or_else(|| panic!("no class {name} in {found:#}"))
}

#[test]
fn explore_finds_the_sample_s_port_differences_by_class_with_no_case_written() {
    let _serial = serial();
    let config = without_cases("explore", None);
    let (code, found, log) = explore(&config, &[]);
    assert_eq!(code, Some(1), "findings exit 1:\n{log}");
    // The reports have the findings too, smallest request of each class first.
    let out = config.parent().unwrap().join("out-");
    let markdown = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(markdown.contains("## Explored"), "{markdown}");
    assert!(
        markdown.contains("| separators | GET /files/docs%5CTODO.txt | windows, windows-2025 |"),
        "{markdown}"
    );
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(
        html.contains("<section id=\"explored\">"),
        "the HTML has the section"
    );
    // Every finding is listed there, each with every cell's answer, in a class that is
    // open because its findings are unknown.
    let total: usize = found["classes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["findings"].as_array().unwrap().len())
        .sum();
    assert_eq!(html.matches("<tr class=\"finding\"").count(), total);
    assert_eq!(
        html.matches("<pre class=\"answer\">").count(),
        total * 3,
        "an answer per cell"
    );
    assert!(
        html.contains("<details class=\"findings\" data-class=\"case-sensitivity\" open>"),
        "{html}"
    );
    assert_eq!(
        found["cells"],
        serde_json::json!(["debian", "windows", "windows-2025"])
    );
    assert!(found["errors"].as_object().unwrap().is_empty(), "{found:#}");
    // Case: the seed's folder in capitals is the folder on Windows only (the routes
    // themselves are case-sensitive everywhere: `/FILES` is no finding).
    let case = class(&found, "case-sensitivity");
    let smallest = &case["findings"][0];
    assert_eq!(smallest["request"], "GET /files/DOCS", "{case:#}");
    assert_eq!(
        smallest["cells"],
        serde_json::json!(["windows", "windows-2025"])
    );
    assert!(
        smallest["answers"]["debian"]
            .as_str()
            .unwrap()
            .starts_with("status: 404"),
        "{smallest:#}"
    );
    assert!(
        smallest["answers"]["windows"]
            .as_str()
            .unwrap()
            .starts_with("status: 200"),
        "{smallest:#}"
    );
    // Listing order: the seed's docs folder as NTFS orders it (case aside) on Windows, by
    // bytes on Debian; asked for with and without the trailing slash.
    let ordering = class(&found, "ordering");
    let requests: Vec<&str> = ordering["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["request"].as_str().unwrap())
        .collect();
    assert!(
        requests.contains(&"GET /files/docs") && requests.contains(&"GET /files/docs/"),
        "{ordering:#}"
    );
    let listing = &ordering["findings"][0]["answers"];
    let (debian, windows) = (
        listing["debian"].as_str().unwrap(),
        listing["windows"].as_str().unwrap(),
    );
    assert!(
        debian.find("TODO.txt").unwrap() < debian.find("guide.txt").unwrap(),
        "{debian}"
    );
    assert!(
        windows.find("guide.txt").unwrap() < windows.find("TODO.txt").unwrap(),
        "{windows}"
    );
    // Links: the listing of the seed's folder reports its links as links on Debian only.
    let links = class(&found, "symlinks");
    assert_eq!(links["findings"][0]["request"], "GET /files", "{links:#}");
    assert!(
        links["findings"][0]["answers"]["debian"]
            .as_str()
            .unwrap()
            .contains("current\tlink to file"),
        "{links:#}"
    );
    // An OS error text, in the log of a probe both platforms answer 404: one class, whatever
    // mutation (an 8.3 name among them) produced it.
    let error_text = class(&found, "error-text");
    let short = error_text["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["mutation"] == "short-names")
        .unwrap_or_else(|| panic!("{error_text:#}"));
    assert!(
        short["answers"]["debian"]
            .as_str()
            .unwrap()
            .contains("No such file or directory (os error 2)"),
        "{short:#}"
    );
    assert!(
        !short["answers"]["windows"]
            .as_str()
            .unwrap()
            .contains("No such file or directory"),
        "{short:#}"
    );
    // No finding under two labels, and each label means what differs: a status for the
    // mutation classes, the same status for the others.
    let mut probes = std::collections::BTreeSet::new();
    for class in found["classes"].as_array().unwrap() {
        let name = class["class"].as_str().unwrap();
        for f in class["findings"].as_array().unwrap() {
            assert!(
                probes.insert(f["probe"].as_str().unwrap().to_owned()),
                "{f:#}"
            );
            let statuses: std::collections::BTreeSet<&str> = f["answers"]
                .as_object()
                .unwrap()
                .values()
                .map(|a| a.as_str().unwrap().lines().next().unwrap())
                .collect();
            let by_status = [
                "base",
                "case-sensitivity",
                "separators",
                "traversal",
                "trailing-characters",
                "reserved-names",
                "encoding",
                "long-names",
                "short-names",
            ]
            .contains(&name);
            // (A link may differ either way: in a listing, or in a status through it.)
            if name != "symlinks" {
                assert_eq!(statuses.len() > 1, by_status, "{name}: {f:#}");
            }
            if by_status {
                assert_eq!(f["mutation"], name, "{f:#}");
            }
        }
    }
    // Separators: `\` reaches the seeded file through its folder on Windows only.
    let separators = class(&found, "separators");
    let smallest = &separators["findings"][0];
    assert_eq!(
        smallest["request"], "GET /files/docs%5CTODO.txt",
        "{separators:#}"
    );
    assert!(
        smallest["answers"]["windows"]
            .as_str()
            .unwrap()
            .contains("Write the porting notes."),
        "{smallest:#}"
    );
    // Each class's findings are smallest first, and no committed case covers them.
    for class in found["classes"].as_array().unwrap() {
        let lengths: Vec<usize> = class["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["request"].as_str().unwrap().len())
            .collect();
        assert!(lengths.windows(2).all(|w| w[0] <= w[1]), "{class:#}");
        assert!(class["findings"][0]["covered_by"].is_null());
    }

    // `explore --save` turns the separator finding into a committed case (and its suite into
    // the matrix), and an ordinary run of it reproduces the divergence.
    let probe = smallest["probe"].as_str().unwrap().to_owned();
    let out = config.parent().unwrap().join("out-");
    let saved = xtask_command(
        &root(),
        &[
            "explore",
            "--save",
            &probe,
            "--config",
            config.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(saved.status.code(), Some(0), "{}", text(&saved));
    let case = config
        .parent()
        .unwrap()
        .join(format!("explored/{probe}.toml"));
    let written = std::fs::read_to_string(&case).unwrap();
    assert!(
        written.contains("path = \"/files/docs%5CTODO.txt\""),
        "{written}"
    );
    let matrix_text = std::fs::read_to_string(&config).unwrap();
    assert!(matrix_text.contains("name = \"explored\""), "{matrix_text}");
    let run = matrix_tests::matrix_json(&config, &["--suite", "explored"]);
    assert_eq!(run.code, Some(1), "{}", run.text);
    let diverged: Vec<_> = run
        .divergences()
        .into_iter()
        .filter(|d| d.0 == "explored" && d.1 == probe && d.4 == "unaccepted")
        .map(|d| d.3)
        .collect();
    assert_eq!(diverged, ["windows", "windows-2025"], "{}", run.text);

    // Accepted in the ledger, the same finding is known to the next exploration.
    let reason = "Windows reads \\ as a separator";
    let accepted = xtask_command(
        &root(),
        &[
            "accept",
            &format!("explored/{probe}"),
            "--reason",
            reason,
            "--config",
            config.to_str().unwrap(),
            "--out",
            config.parent().unwrap().join("out").to_str().unwrap(),
        ],
    );
    assert_eq!(accepted.status.code(), Some(0), "{}", text(&accepted));
    // (The saved request is now a base of its own, as every suite's request is.)
    let (_, again, log) = explore(&config, &["--explore-seed", "0"]);
    let known = again["classes"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["findings"].as_array().unwrap())
        .find(|f| f["request"] == "GET /files/docs%5CTODO.txt")
        .unwrap_or_else(|| panic!("{again:#}"));
    assert_eq!(known["covered_by"], format!("explored/{probe}"), "{log}");
    assert_eq!(known["known"], reason, "{log}");

    // Writes, each in a fresh data dir: the same answer, but on Windows the upload under
    // the name in capitals replaced the seeded file, as the data dir's tree shows.
    let (_, written, log) = explore(
        &config,
        &["--explore-writes", "--cell", "windows", "--cell", "debian"],
    );
    let overwrite = class(&written, "stored-names")["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["request"] == "PUT /files/README.MD")
        .unwrap_or_else(|| panic!("{written:#}"))
        .clone();
    let answer = |cell: &str| overwrite["answers"][cell].as_str().unwrap().to_owned();
    assert!(
        answer("debian").contains("f files/README.MD 21 bytes"),
        "{log}"
    );
    assert!(
        answer("debian").contains("f files/readme.md 19 bytes"),
        "{log}"
    );
    assert!(
        answer("windows").contains("f files/readme.md 21 bytes"),
        "{log}"
    );
    assert!(!answer("windows").contains("README.MD 21 bytes"), "{log}");
    assert!(
        written["classes"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|c| c["findings"].as_array().unwrap())
            .map(|f| f["request"].as_str().unwrap())
            .filter(|r| r.starts_with("PUT "))
            .all(|r| !r.contains("..")),
        "no write climbs out of its data dir"
    );
}

#[test]
fn explore_finds_nothing_between_two_linux_cells_and_the_same_seed_finds_the_same() {
    let _serial = serial();
    let config = without_cases(
        "explore-linux",
        Some(
            "[[target]]\nname = \"debian\"\ntriple = \"x86_64-unknown-linux-gnu\"\nruntime = \"container\"\nimage = \"debian:bookworm-slim\"\n\n[[target]]\nname = \"linux\"\ntriple = \"x86_64-unknown-linux-gnu\"\nruntime = \"host\"\n\n",
        ),
    );
    let (code, found, log) = explore(&config, &[]);
    assert_eq!(code, Some(0), "{log}");
    assert_eq!(found["cells"], serde_json::json!(["debian", "linux"]));
    assert_eq!(found["classes"], serde_json::json!([]), "{found:#}");
    let probes = found["probes"].as_u64().unwrap();
    assert!(probes > 50, "{found:#}");
    assert_eq!(
        found["answered"],
        serde_json::json!({"debian": probes, "linux": probes})
    );
    // A time budget stops the probes early, and says how far each cell got.
    let (_, hurried, log) = explore(&config, &["--explore-time", "1ms"]);
    for cell in ["debian", "linux"] {
        let answered = hurried["answered"][cell].as_u64().unwrap();
        assert!(
            answered < probes,
            "{cell} answered {answered} of {probes}: {log}"
        );
    }

    let sample = without_cases("explore-seeded", None);
    let args = [
        "--cell",
        "windows",
        "--cell",
        "debian",
        "--explore-seed",
        "5",
        "--explore-budget",
        "60",
    ];
    let (first_code, first, _) = explore(&sample, &args);
    let again: Vec<&str> = args.iter().copied().chain(["-j", "1"]).collect();
    let (second_code, second, _) = explore(&sample, &again);
    assert_eq!(first_code, Some(1));
    assert_eq!(second_code, first_code);
    assert_eq!(first["probes"], 60);
    assert_eq!(
        first["classes"], second["classes"],
        "the same seed, the same findings"
    );
}

#[test]
fn explore_probes_the_paths_an_openapi_document_or_a_har_recording_names() {
    let _serial = serial();
    let cells = ["--cell", "windows", "--cell", "debian"];
    let info = |found: &serde_json::Value, request: &str| {
        found["classes"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|c| c["findings"].as_array().unwrap())
            .any(|f| f["request"] == request)
    };
    // Neither the seed nor a suite names /info: it is not probed.
    let plain = without_cases("explore-plain", None);
    let (_, found, _) = explore(&plain, &cells);
    assert!(!info(&found, "GET /info"), "{found:#}");

    // The OpenAPI document the matrix names does (its parameterized paths do not).
    let config = without_cases("explore-openapi", None);
    let dir = config.parent().unwrap();
    std::fs::write(
        dir.join("openapi.yaml"),
        "openapi: 3.0.0\npaths:\n  /info:\n    get: {}\n  /projects/{id}:\n    get: {}\n",
    )
    .unwrap();
    server_setting(&config, "openapi = \"openapi.yaml\"");
    let (_, found, log) = explore(&config, &cells);
    assert!(info(&found, "GET /info"), "{log}");

    // So does a HAR recording given on the command line.
    let har = dir.join("session.har");
    std::fs::write(
        &har,
        r#"{"log": {"entries": [{"request": {"method": "GET", "url": "http://127.0.0.1:1/info?verbose=1"}}]}}"#,
    )
    .unwrap();
    let mut with_har = cells.to_vec();
    with_har.extend(["--explore-har", har.to_str().unwrap()]);
    let (_, found, log) = explore(&plain, &with_har);
    assert!(info(&found, "GET /info?verbose=1"), "its query kept: {log}");

    // A document that is none is an error that points at the matrix's line.
    std::fs::write(dir.join("openapi.yaml"), "[1, 2]\n").unwrap();
    let broken = xtask_command(
        &root(),
        &[
            "matrix",
            "--config",
            config.to_str().unwrap(),
            "--explore",
            "--out",
            dir.join("out-broken").to_str().unwrap(),
        ],
    );
    assert_eq!(broken.status.code(), Some(2), "{}", text(&broken));
    assert!(
        text(&broken).contains("matrix.toml:") && text(&broken).contains("no `paths` object"),
        "{}",
        text(&broken)
    );
}

#[test]
fn a_whole_class_of_findings_is_accepted_by_one_command_and_the_next_exploration_is_go() {
    let _serial = serial();
    let config = without_cases("explore-accept", None);
    let dir = config.parent().unwrap();
    let seed = ["--explore-seed", "3"];
    let (code, found, log) = explore(&config, &seed);
    assert_eq!(code, Some(1), "{log}");
    let out = dir.join(format!("out-{}", seed.join("-")));
    let out_arg = out.to_str().unwrap();
    let classes: Vec<(String, usize)> = found["classes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["class"].as_str().unwrap().to_owned(),
                c["findings"].as_array().unwrap().len(),
            )
        })
        .collect();
    let findings: usize = classes.iter().map(|(_, n)| n).sum();
    eprintln!("findings by class: {classes:?}");
    assert!(findings >= 10, "{classes:?}");
    // One command per class accepts every finding of it, as one ledger entry that names the
    // class; cells as a list, as CI scripts pass them.
    for (class, _) in &classes {
        let accepted = xtask_command(
            &root(),
            &[
                "accept",
                "--explore-class",
                class,
                "--cells",
                "windows,windows-2025",
                "--reason",
                &format!("Windows answers {class} otherwise"),
                "--config",
                config.to_str().unwrap(),
                "--out",
                out_arg,
            ],
        );
        assert_eq!(accepted.status.code(), Some(0), "{}", text(&accepted));
    }
    let ledger = std::fs::read_to_string(&config).unwrap();
    assert_eq!(
        ledger.matches("explore = ").count(),
        classes.len(),
        "{ledger}"
    );
    // A second time is refused, and the ledger is left as it was.
    let (class, _) = &classes[0];
    let again = xtask_command(
        &root(),
        &[
            "accept",
            "--explore-class",
            class,
            "--reason",
            "once more",
            "--config",
            config.to_str().unwrap(),
            "--out",
            out_arg,
        ],
    );
    assert_eq!(again.status.code(), Some(2), "{}", text(&again));
    assert!(
        text(&again).contains("accepted already"),
        "{}",
        text(&again)
    );
    assert_eq!(std::fs::read_to_string(&config).unwrap(), ledger);
    // An unknown class is named as such, with the classes there are.
    let unknown = xtask_command(
        &root(),
        &[
            "accept",
            "--explore-class",
            "casing",
            "--reason",
            "r",
            "--config",
            config.to_str().unwrap(),
        ],
    );
    assert_eq!(unknown.status.code(), Some(2), "{}", text(&unknown));
    assert!(
        text(&unknown).contains("case-sensitivity"),
        "{}",
        text(&unknown)
    );

    // The same exploration again: every finding is known, by the entry of its class; GO.
    let (code, again, log) = explore(&config, &seed);
    assert_eq!(code, Some(0), "{log}");
    let known: Vec<&str> = again["classes"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["findings"].as_array().unwrap())
        .map(|f| f["known"].as_str().unwrap_or("UNKNOWN"))
        .collect();
    assert_eq!(known.len(), findings, "{again:#}");
    assert!(
        known.iter().all(|k| k.contains("(by explore class ")),
        "{known:?}"
    );
}

/// The fault server's file server on two host cells, `a` (the primary) and `b`, with a seed
/// of files and folders and `extra` TOML appended to the matrix; no suite but a health case.
fn fault_explore(name: &str, extra: &str) -> PathBuf {
    let config = crate::faults::fault_matrix(
        name,
        &["a", "b"],
        &[("health", "[[step]]\nmethod = \"GET\"\npath = \"/health\"\n")],
        extra,
    );
    let dir = config.parent().unwrap();
    let seed = dir.join("seed/files");
    let _ = std::fs::remove_dir_all(dir.join("seed"));
    std::fs::create_dir_all(seed.join("docs")).unwrap();
    std::fs::write(seed.join("report.txt"), "the report\n").unwrap();
    std::fs::write(seed.join("docs/notes.txt"), "the notes\n").unwrap();
    server_setting(&config, "seed = \"seed\"");
    config
}

/// Adds `line` to the `[server]` table of the matrix `config`.
fn server_setting(config: &std::path::Path, line: &str) {
    let text = std::fs::read_to_string(config).unwrap();
    std::fs::write(
        config,
        text.replacen("[server]\n", &format!("[server]\n{line}\n"), 1),
    )
    .unwrap();
}

/// Gives the matrix `config` an OpenAPI document that describes `POST /upload` as a
/// multipart form with the file field `document`.
fn describe_uploads(config: &std::path::Path) {
    std::fs::write(
        config.parent().unwrap().join("openapi.yaml"),
        UPLOAD_OPENAPI,
    )
    .unwrap();
    server_setting(config, "openapi = \"openapi.yaml\"");
}

fn findings_of(found: &serde_json::Value) -> Vec<&serde_json::Value> {
    found["classes"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["findings"].as_array().unwrap())
        .collect()
}

#[test]
fn a_server_whose_cells_differ_only_in_the_text_of_a_404_gives_one_class() {
    let _serial = serial();
    let config = fault_explore("explore-404-text", "");
    crate::faults::cell_env(
        &config,
        "b",
        &[(
            "FAULT_NOT_FOUND",
            "The system cannot find the file specified.",
        )],
    );
    let (code, found, log) = explore(&config, &[]);
    assert_eq!(code, Some(1), "{log}");
    let classes: Vec<&str> = found["classes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["class"].as_str().unwrap())
        .collect();
    assert_eq!(classes, ["error-text"], "{found:#}");
    // Produced by many mutations, filed under none of them.
    let findings = findings_of(&found);
    let mutations: std::collections::BTreeSet<&str> = findings
        .iter()
        .map(|f| f["mutation"].as_str().unwrap())
        .collect();
    assert!(mutations.len() >= 4, "{mutations:?}");
    for f in &findings {
        let a = f["answers"]["a"].as_str().unwrap();
        let b = f["answers"]["b"].as_str().unwrap();
        assert!(
            a.starts_with("status: 404") && a.contains("not found"),
            "{f:#}"
        );
        assert!(
            b.starts_with("status: 404") && b.contains("cannot find"),
            "{f:#}"
        );
    }
    // The one class leads with its smallest request, which the terminal names too.
    let first = found["classes"][0]["findings"][0]["request"]
        .as_str()
        .unwrap();
    assert!(
        findings
            .iter()
            .all(|f| f["request"].as_str().unwrap().len() >= first.len())
    );
}

const UPLOAD_OPENAPI: &str = "openapi: 3.0.0\npaths:\n  /upload:\n    post:\n      requestBody:\n        content:\n          multipart/form-data:\n            schema:\n              type: object\n              properties:\n                document:\n                  type: string\n                  format: binary\n";

#[test]
fn a_server_that_takes_uploads_only_as_multipart_forms_gets_write_probes_as_forms() {
    let _serial = serial();
    let config = fault_explore("explore-multipart", "");
    crate::faults::cell_env(&config, "b", &[("FAULT_UPLOAD_NAMES", "lower")]);
    // Without a description of its uploads, writes are PUTs, which it refuses alike: no
    // stored name differs.
    let budget = ["--explore-writes", "--explore-budget", "60"];
    let (_, found, log) = explore(&config, &budget);
    assert!(
        found["classes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["class"] != "stored-names"),
        "{log}"
    );
    assert!(
        findings_of(&found)
            .iter()
            .all(|f| !f["request"].as_str().unwrap().starts_with("POST")),
        "{log}"
    );
    // The OpenAPI document says it takes multipart forms at /upload: the writes are forms,
    // and the name stored in lower case on `b` is a finding of its own class.
    let dir = config.parent().unwrap();
    describe_uploads(&config);
    let (code, found, log) = explore(&config, &budget);
    assert_eq!(code, Some(1), "{log}");
    assert!(found["probes"].as_u64().unwrap() <= 60, "{found:#}");
    for cell in ["a", "b"] {
        assert!(found["answered"][cell].as_u64().unwrap() <= 60, "{found:#}");
    }
    let stored = class(&found, "stored-names");
    let upload = stored["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["request"] == "POST /upload (document \"REPORT.TXT\")")
        .unwrap_or_else(|| panic!("{stored:#}"));
    assert_eq!(upload["mutation"], "case-sensitivity");
    assert_eq!(upload["upload"]["file_name"], "REPORT.TXT");
    let answer = |cell: &str| upload["answers"][cell].as_str().unwrap().to_owned();
    assert!(
        answer("a").contains("f files/REPORT.TXT "),
        "{}",
        answer("a")
    );
    assert!(!answer("b").contains("REPORT.TXT"), "{}", answer("b"));
    assert!(answer("b").starts_with("status: 201"), "{}", answer("b"));
    assert!(
        findings_of(&found)
            .iter()
            .all(|f| !f["request"].as_str().unwrap().starts_with("PUT ")),
        "no PUT where the server takes forms"
    );
    // Saved as a case, the finding sends the same form.
    let saved = xtask_command(
        &root(),
        &[
            "explore",
            "--save",
            upload["probe"].as_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
            "--out",
            dir.join(format!("out-{}", budget.join("-")))
                .to_str()
                .unwrap(),
        ],
    );
    assert_eq!(saved.status.code(), Some(0), "{}", text(&saved));
    let case = std::fs::read_to_string(dir.join(format!(
        "explored/{}.toml",
        upload["probe"].as_str().unwrap()
    )))
    .unwrap();
    assert!(
        case.contains("upload = { field = \"document\", name = \"REPORT.TXT\""),
        "{case}"
    );
    // With no document, a page of the server's with an upload form says the same: the
    // reads bring it back, and the writes are that form's.
    std::fs::write(
        &config,
        std::fs::read_to_string(&config)
            .unwrap()
            .replacen("openapi = \"openapi.yaml\"\n", "", 1),
    )
    .unwrap();
    std::fs::write(
        dir.join("seed/files/index.html"),
        "<!doctype html><html><body><h1>Files</h1>\n<form action=\"/upload\" method=\"post\" enctype=\"multipart/form-data\">\n<input type=\"file\" name=\"document\"><button>Upload</button></form></body></html>\n",
    )
    .unwrap();
    let (_, from_page, log) = explore(&config, &budget);
    assert!(
        class(&from_page, "stored-names")["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["request"] == "POST /upload (document \"REPORT.TXT\")"),
        "{log}"
    );
}

#[test]
fn the_time_bound_holds_for_reads_and_writes_together() {
    let _serial = serial();
    let config = fault_explore("explore-time", "\n[limits]\nrequest_timeout = \"2s\"\n");
    for cell in ["a", "b"] {
        crate::faults::cell_env(&config, cell, &[("FAULT_DELAY_MS", "250")]);
    }
    describe_uploads(&config);
    // Unbounded, the reads alone would take over 100 s; bounded at 3 s, no probe starts and
    // no write's server is launched after it: the whole run (builds, the health suite and
    // the comparison included) ends within the bound, one probe, one request timeout and
    // the run's own few seconds.
    let started = std::time::Instant::now();
    let (_, found, log) = explore(
        &config,
        &[
            "--explore-writes",
            "--explore-time",
            "3s",
            "--explore-budget",
            "800",
        ],
    );
    let took = started.elapsed();
    let probes = found["probes"].as_u64().unwrap();
    assert!(probes > 60, "{found:#}");
    for cell in ["a", "b"] {
        let answered = found["answered"][cell].as_u64().unwrap();
        assert!(
            answered * 2 < probes,
            "{cell}: {answered} of {probes}: {log}"
        );
    }
    assert!(
        took < std::time::Duration::from_secs_f64(3.0 + 0.25 + 2.0 + 6.0),
        "the run took {took:?} with --explore-time 3s: {log}"
    );
}
