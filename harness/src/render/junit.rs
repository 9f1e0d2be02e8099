//! JUnit XML for CI test reporters (Jenkins, GitLab, GitHub), written with quick-junit: a
//! testsuite per suite and cell (`suite@cell`) with properties naming the cell, the suite's
//! scope, how it ran (native, emulated, container), the verdict, what the run covered and
//! whether it signs off, and the commit; a testcase per case. Agnostic suites appear once, on
//! the cell that ran them; a divergence is a failure whose body (and output) is the diff; a
//! snapshot that differs from its baseline fails its case the same way; a case its test
//! command skipped is `<skipped>`; an accepted divergence passes, with its reason in the
//! case's output. A last testsuite of the combined report, `verdict`, holds one testcase for
//! the run's verdict: a
//! failure for NO-GO (whatever made it one: an interrupted run, a snapshot that could not be
//! written, an unaccepted finding of `--explore`, an empty plan), skipped for PENDING, so that
//! a verdict that is not GO never reads as green. quick-junit escapes text and drops what
//! XML 1.0 cannot hold.

use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};

use super::view::{pending_baselines, verdict_word};
use crate::verdict::{BaselineChange, Results, Status, Verdict};

/// The report of every cell, or of `cell` alone.
pub fn render(results: &Results, cell: Option<&str>) -> String {
    let started = chrono::DateTime::parse_from_rfc3339(&results.provenance.started).ok();
    let (_, changed) = pending_baselines(results);
    let mut report = Report::new("port-harness");
    for job in &results.jobs {
        if cell.is_some_and(|c| c != job.cell) {
            continue;
        }
        let mut suite = TestSuite::new(job.id().to_string());
        if let Some(started) = started {
            suite.set_timestamp(started);
        }
        suite.set_time(job.duration);
        suite
            .extra
            .insert("hostname".into(), results.provenance.host.as_str().into());
        suite.add_property(Property::new("cell", job.cell.as_str()));
        if let Some(execution) = results.provenance.cells.get(&job.cell) {
            suite.add_property(Property::new("execution", execution.line()));
        }
        suite.add_property(Property::new("scope", job.scope.as_str()));
        suite.add_property(Property::new("verdict", verdict_word(results.verdict)));
        suite.add_property(Property::new("run-scope", results.scope.line()));
        suite.add_property(Property::new(
            "sign-off",
            if results.signed_off() {
                "true"
            } else {
                "false"
            },
        ));
        if let Some(commit) = &results.provenance.commit {
            suite.add_property(Property::new("commit", commit.as_str()));
        }
        if job.audit {
            suite.add_property(Property::new("audit", "true"));
        }
        // A reused result says where it came from.
        if let Some(cached) = &job.cached {
            suite.add_property(Property::new("cached-from", cached.run.as_str()));
            if let Some(commit) = &cached.commit {
                suite.add_property(Property::new("cached-commit", commit.as_str()));
            }
            suite.add_property(Property::new("cache-key", cached.key.as_str()));
        }
        for run in results
            .runs
            .iter()
            .filter(|r| r.suite == job.suite && r.cell == job.cell)
        {
            let mut detail = run.detail.clone().unwrap_or_default();
            // A snapshot that differs from its committed baseline makes the verdict NO-GO:
            // its case fails here too, with the diff, so that CI shows what the verdict says.
            let changed: Vec<&BaselineChange> = run
                .snapshots
                .iter()
                .filter_map(|name| changed.iter().find(|b| &b.name == name).copied())
                .collect();
            let failure = |kind: NonSuccessKind, message: &str, body: &str| {
                let mut status = TestCaseStatus::non_success(kind);
                status.set_message(message).set_description(body);
                status
            };
            let status = match run.status {
                Status::Passed | Status::Accepted if !changed.is_empty() => {
                    detail = changed
                        .iter()
                        .map(|b| b.diff.as_str())
                        .collect::<Vec<_>>()
                        .join("\n");
                    failure(
                        NonSuccessKind::Failure,
                        &headline("differs from its committed baseline", first_change(&detail)),
                        &detail,
                    )
                }
                Status::Passed | Status::Accepted => TestCaseStatus::success(),
                Status::Skipped => {
                    let mut status = TestCaseStatus::skipped();
                    if !detail.is_empty() {
                        status.set_message(detail.as_str());
                    }
                    status
                }
                Status::Failed => failure(
                    NonSuccessKind::Failure,
                    &headline("failed", detail.lines().next()),
                    &detail,
                ),
                Status::Diverged => failure(
                    NonSuccessKind::Failure,
                    &headline(
                        &format!("differs from {}, unaccepted", results.plan.primary),
                        // The one line that says what differs, or the first changed line.
                        results
                            .comparison
                            .failing()
                            .find(|d| {
                                d.suite == run.suite && d.case == run.case && d.cell == run.cell
                            })
                            .map(|d| d.gist.as_str())
                            .filter(|g| !g.is_empty())
                            .or_else(|| first_change(&detail)),
                    ),
                    &detail,
                ),
                Status::Error => failure(
                    NonSuccessKind::Error,
                    &headline("could not run", detail.lines().next()),
                    &detail,
                ),
            };
            let mut case = TestCase::new(run.case.as_str(), status);
            case.set_classname(format!("{}.{}", job.suite, job.cell));
            case.set_time(run.duration);
            match run.status {
                Status::Accepted => {
                    case.set_system_out(format!("accepted divergence: {detail}"));
                }
                // CI viewers that show only the output get the diff or the failure there too.
                _ if !detail.is_empty() && run.status != Status::Skipped => {
                    case.set_system_out(detail.as_str());
                }
                _ => {}
            }
            suite.add_test_case(case);
        }
        report.add_test_suite(suite);
    }
    // The verdict is the whole run's: in the combined report, not in each cell's cut of it.
    if cell.is_none() {
        report.add_test_suite(verdict_suite(results));
    }
    report
        .to_string()
        .expect("serializing a report to memory does not fail")
}

/// A failure's message, which CI systems show as its title: what happened, and the line
/// that says how (the first changed line of a diff, the first line of a failure), short.
fn headline(what: &str, how: Option<&str>) -> String {
    match how.map(str::trim).filter(|l| !l.is_empty()) {
        Some(line) => {
            let line: String = line.chars().take(160).collect();
            format!("{what}: {line}")
        }
        None => what.to_owned(),
    }
}

/// The first line a unified diff changes (`-` or `+`, its file headers aside).
fn first_change(diff: &str) -> Option<&str> {
    diff.lines().find(|l| {
        (l.starts_with('-') || l.starts_with('+')) && !l.starts_with("---") && !l.starts_with("+++")
    })
}

/// The verdict as a testsuite of one testcase.
fn verdict_suite(results: &Results) -> TestSuite {
    let mut suite = TestSuite::new("verdict");
    suite.add_property(Property::new("verdict", verdict_word(results.verdict)));
    suite.add_property(Property::new("run-scope", results.scope.line()));
    suite.add_property(Property::new(
        "sign-off",
        if results.signed_off() {
            "true"
        } else {
            "false"
        },
    ));
    let cached = results.jobs.iter().filter(|j| j.cached.is_some()).count();
    suite.add_property(Property::new("cached-jobs", cached.to_string()));
    let reasons = results.reasons.join("\n");
    let status = match results.verdict {
        Verdict::Go => TestCaseStatus::success(),
        Verdict::Pending => {
            let mut status = TestCaseStatus::skipped();
            status.set_message(format!("PENDING: {reasons}"));
            status
        }
        Verdict::NoGo => {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
            status
                .set_message(format!("NO-GO ({})", results.scope.line()))
                .set_description(reasons.as_str());
            status
        }
    };
    let mut case = TestCase::new(
        format!(
            "{} ({})",
            verdict_word(results.verdict),
            results.scope.line()
        ),
        status,
    );
    case.set_classname("verdict");
    suite.add_test_case(case);
    suite
}
