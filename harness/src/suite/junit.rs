//! Reading the JUnit XML a command suite writes: one case per `<testcase>`, failed when it has
//! a `<failure>` or `<error>`, skipped when it has `<skipped>` (with its message). The common dialects (Jenkins, pytest,
//! cargo-nextest, Maven Surefire, .NET's JUnit logger) all share this much.

use std::path::Path;
use std::time::Duration;

use super::CaseResult;
use crate::errors::{Error, Result};

/// The cases of a JUnit file.
pub fn read(path: &Path) -> Result<Vec<CaseResult>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    parse(&text)
        .map_err(|why| Error::io(path, std::io::Error::other(format!("not JUnit XML: {why}"))))
}

/// Parses JUnit XML text.
pub fn parse(text: &str) -> std::result::Result<Vec<CaseResult>, String> {
    let doc = roxmltree::Document::parse(text).map_err(|e| e.to_string())?;
    let root = doc.root_element();
    if !matches!(root.tag_name().name(), "testsuites" | "testsuite") {
        return Err(format!(
            "the root element is <{}>, expected <testsuites> or <testsuite>",
            root.tag_name().name()
        ));
    }
    let mut cases = Vec::new();
    for case in root.descendants().filter(|n| n.has_tag_name("testcase")) {
        let name = case.attribute("name").unwrap_or("unnamed");
        let name = match case.attribute("classname") {
            Some(class) if !class.is_empty() => format!("{class}::{name}"),
            _ => name.to_owned(),
        };
        let skipped = case.children().find(|c| c.has_tag_name("skipped"));
        let problem = case
            .children()
            .find(|c| c.has_tag_name("failure") || c.has_tag_name("error"));
        let failure = problem.map(|p| {
            let message = p.attribute("message").unwrap_or("");
            let body = p.text().unwrap_or("").trim();
            [message, body]
                .iter()
                .filter(|s| !s.is_empty())
                .copied()
                .collect::<Vec<_>>()
                .join("\n")
        });
        // A time that is not a finite, non-negative number of seconds (`inf`, `NaN`, `-1`,
        // text) is no time at all.
        let duration = case
            .attribute("time")
            .and_then(|t| t.trim().parse::<f64>().ok())
            .and_then(|s| Duration::try_from_secs_f64(s).ok())
            .unwrap_or_default();
        let failure = failure.or_else(|| {
            skipped.map(|s| {
                s.attribute("message")
                    .or(s.text())
                    .unwrap_or("")
                    .trim()
                    .to_owned()
            })
        });
        cases.push(CaseResult {
            name,
            passed: problem.is_none(),
            skipped: skipped.is_some() && problem.is_none(),
            failure,
            duration,
            ..CaseResult::default()
        });
    }
    Ok(cases)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cases_failures_and_skips() {
        let xml = r#"<?xml version="1.0"?>
<testsuites>
  <testsuite name="api" tests="4">
    <testcase classname="api" name="health" time="0.25"/>
    <testcase classname="api" name="upload" time="1.5">
      <failure message="expected 201">got 500</failure>
    </testcase>
    <testcase name="broken"><error message="panicked"/></testcase>
    <testcase name="later"><skipped/></testcase>
  </testsuite>
</testsuites>"#;
        let cases = parse(xml).unwrap();
        let summary: Vec<(String, bool, bool, Option<String>)> = cases
            .iter()
            .map(|c| (c.name.clone(), c.passed, c.skipped, c.failure.clone()))
            .collect();
        assert_eq!(
            summary,
            [
                ("api::health".to_owned(), true, false, None),
                (
                    "api::upload".to_owned(),
                    false,
                    false,
                    Some("expected 201\ngot 500".to_owned())
                ),
                (
                    "broken".to_owned(),
                    false,
                    false,
                    Some("panicked".to_owned())
                ),
                ("later".to_owned(), true, true, Some(String::new())),
            ]
        );
        assert_eq!(cases[1].duration, Duration::from_millis(1500));
    }

    #[test]
    fn a_time_that_is_no_duration_is_zero_not_a_panic() {
        for time in ["inf", "-inf", "NaN", "-1", "1e400", "soon", ""] {
            let xml = format!(r#"<testsuite><testcase name="t" time="{time}"/></testsuite>"#);
            assert_eq!(parse(&xml).unwrap()[0].duration, Duration::ZERO, "{time}");
        }
    }

    #[test]
    fn not_junit_is_an_error() {
        assert!(
            parse("<html/>")
                .unwrap_err()
                .contains("expected <testsuites>")
        );
        assert!(parse("not xml").is_err());
    }
}
