//! The parsers of everything the harness reads (`matrix.toml`, case files, `.snap` baselines,
//! a command's JUnit XML, a shard's `results.json`) under fuzzing by property tests: any
//! text, and random edits of valid documents, gives a value or an error, never a panic. The
//! budget is fixed (`CASES` inputs per parser, and per seed document), so CI runs it in
//! seconds; `PROPTEST_CASES` raises it for a longer hunt.

use std::path::Path;

use proptest::prelude::*;

const CASES: u32 = 1500;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap()
}

/// One edit of a document: at a position (scaled to its length), delete some characters,
/// insert a text, or repeat a slice.
#[derive(Debug, Clone)]
enum Edit {
    Delete(u16, u8),
    Insert(u16, String),
    Repeat(u16, u8),
}

fn edits() -> impl Strategy<Value = Vec<Edit>> {
    let insert = prop_oneof![
        "[\\[\\]{}=\"'.,#\\\\\n :a-z0-9_-]{0,8}",
        any::<String>(),
        Just("\u{0}".to_owned()),
        Just("[[".to_owned()),
        Just("\"\"\"".to_owned()),
        Just("</".to_owned()),
        Just("---\n".to_owned()),
    ];
    prop::collection::vec(
        prop_oneof![
            (any::<u16>(), any::<u8>()).prop_map(|(at, n)| Edit::Delete(at, n)),
            (any::<u16>(), insert).prop_map(|(at, s)| Edit::Insert(at, s)),
            (any::<u16>(), any::<u8>()).prop_map(|(at, n)| Edit::Repeat(at, n)),
        ],
        1..6,
    )
}

/// `text` with `edits` applied, at character boundaries.
fn edited(text: &str, edits: &[Edit]) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for edit in edits {
        let at = |p: u16| usize::from(p) * (chars.len() + 1) / (usize::from(u16::MAX) + 1);
        match edit {
            Edit::Delete(p, n) => {
                let start = at(*p);
                let end = (start + usize::from(*n) % 40).min(chars.len());
                chars.drain(start..end);
            }
            Edit::Insert(p, s) => {
                let start = at(*p);
                chars.splice(start..start, s.chars());
            }
            Edit::Repeat(p, n) => {
                let start = at(*p);
                let end = (start + usize::from(*n) % 60).min(chars.len());
                let slice: Vec<char> = chars[start..end].to_vec();
                chars.splice(end..end, slice);
            }
        }
    }
    chars.into_iter().collect()
}

fn matrix(text: &str) {
    let _ = harness::matrix::parse(Path::new("matrix.toml"), text, harness::runtime::kinds());
}

fn case(text: &str) {
    let _ = harness::suite::http::case::parse(Path::new("case.toml"), text);
}

fn snap(text: &str) {
    let _ = harness::snapfile::parse(text);
}

fn junit(text: &str) {
    let _ = harness::suite::junit::parse(text);
}

fn results(text: &str) {
    let _ = harness::persist::results::parse(text);
}

const JUNIT: &str = r#"<?xml version="1.0"?>
<testsuites><testsuite name="api" tests="3">
<testcase classname="api" name="health" time="0.25"/>
<testcase name="upload" time="1.5"><failure message="expected 201">got 500</failure></testcase>
<testcase name="later"><skipped/></testcase>
</testsuite></testsuites>"#;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn any_text_is_a_value_or_an_error(text in any::<String>()) {
        matrix(&text);
        case(&text);
        snap(&text);
        junit(&text);
        results(&text);
    }

    #[test]
    fn edited_matrices_are_values_or_errors(e in edits()) {
        matrix(&edited(&read("matrix.toml"), &e));
    }

    #[test]
    fn edited_case_files_are_values_or_errors(e in edits()) {
        case(&edited(&read("fixtures/suites/projects/create-and-get.toml"), &e));
    }

    #[test]
    fn edited_baselines_are_values_or_errors(e in edits()) {
        snap(&edited(&read("fixtures/deploy-server/snapshots/platform__info.1@windows.snap"), &e));
    }

    #[test]
    fn edited_junit_is_a_value_or_an_error(e in edits()) {
        junit(&edited(JUNIT, &e));
    }

    #[test]
    fn edited_results_are_values_or_errors(e in edits()) {
        let seed = read("harness/tests/snapshots/report__results.json.snap");
        results(&edited(seed.splitn(3, "---\n").nth(2).unwrap(), &e));
    }
}

#[test]
fn the_seed_documents_parse() {
    // The edits start from valid documents, so that they reach past the first syntax check.
    harness::matrix::parse(
        Path::new("matrix.toml"),
        &read("matrix.toml"),
        harness::runtime::kinds(),
    )
    .unwrap();
    harness::suite::http::case::parse(
        &root().join("fixtures/suites/projects/create-and-get.toml"),
        &read("fixtures/suites/projects/create-and-get.toml"),
    )
    .unwrap();
    assert!(
        harness::snapfile::parse(&read(
            "fixtures/deploy-server/snapshots/platform__info.1@windows.snap"
        ))
        .is_some()
    );
    // A passed, a failed and a skipped case.
    assert_eq!(harness::suite::junit::parse(JUNIT).unwrap().len(), 3);
    let results = read("harness/tests/snapshots/report__results.json.snap");
    harness::persist::results::parse(results.splitn(3, "---\n").nth(2).unwrap()).unwrap();
}
