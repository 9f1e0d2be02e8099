//! JUnit XML for CI test reporters (Jenkins, GitLab, GitHub): a testsuite per suite and cell
//! (`suite@cell`), a testcase per case, properties naming the cell and the scope. Agnostic
//! suites appear once, on the cell that ran them; a divergence is a failure whose message is
//! the diff; an accepted divergence passes, with its reason in the case's output.

use junit_report::{
    Duration as JDuration, OffsetDateTime, ReportBuilder, TestCase, TestSuiteBuilder,
};

use super::{Results, Status};
use crate::plan::scope_name;

fn duration(d: std::time::Duration) -> JDuration {
    JDuration::milliseconds(d.as_millis() as i64)
}

fn escape_attr(s: &str) -> String {
    html_escape::encode_double_quoted_attribute(s).into_owned()
}

/// The report of every cell, or of `cell` alone.
pub fn render(results: &Results, cell: Option<&str>) -> String {
    let started = humantime::parse_rfc3339(&results.provenance.started)
        .map(OffsetDateTime::from)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let mut report = ReportBuilder::new();
    let mut properties = Vec::new();
    for job in &results.jobs {
        if cell.is_some_and(|c| c != job.cell) {
            continue;
        }
        let name = format!("{}@{}", job.suite, job.cell);
        let mut suite = TestSuiteBuilder::new(&name);
        suite.set_timestamp(started);
        for run in results
            .runs
            .iter()
            .filter(|r| r.suite == job.suite && r.cell == job.cell)
        {
            let detail = run.detail.clone().unwrap_or_default();
            let mut case = match run.status {
                Status::Passed => TestCase::success(&run.case, duration(run.duration)),
                Status::Accepted => {
                    let mut c = TestCase::success(&run.case, duration(run.duration));
                    c.set_system_out(&format!("accepted divergence: {detail}"));
                    c
                }
                Status::Failed => {
                    TestCase::failure(&run.case, duration(run.duration), "failure", &detail)
                }
                Status::Diverged => {
                    TestCase::failure(&run.case, duration(run.duration), "divergence", &detail)
                }
                Status::Error => {
                    TestCase::error(&run.case, duration(run.duration), "error", &detail)
                }
            };
            case.set_classname(&format!("{}.{}", job.suite, job.cell));
            suite.add_testcase(case);
        }
        let mut built = suite.build();
        built.hostname = results.provenance.host.clone();
        report.add_testsuite(built);
        properties.push((name, job.cell.clone(), scope_name(job.scope), job.audit));
    }
    let mut xml = Vec::new();
    report
        .build()
        .write_xml(&mut xml)
        .expect("writing XML to memory does not fail");
    let mut xml = String::from_utf8(xml).expect("junit-report writes UTF-8");
    // junit-report has no testsuite properties; they go right after each opening tag, which
    // it writes as `<testsuite id=".." name="NAME" ...>` with the name escaped.
    for (name, cell, scope, audit) in properties {
        let marker = format!("name=\"{}\"", escape_attr(&name));
        let Some(at) = xml.find(&marker) else {
            continue;
        };
        let Some(close) = xml[at..].find('>') else {
            continue;
        };
        let insert_at = at + close + 1;
        if xml[..insert_at].ends_with("/>") {
            continue;
        }
        let props = format!(
            "<properties><property name=\"cell\" value=\"{}\"/><property name=\"scope\" value=\"{scope}\"/>{}</properties>",
            escape_attr(&cell),
            if audit {
                "<property name=\"audit\" value=\"true\"/>"
            } else {
                ""
            }
        );
        xml.insert_str(insert_at, &props);
    }
    xml
}
