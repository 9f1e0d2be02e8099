//! What the terminal sees: progress lines from run events, the summary, the doctor's table.

use std::fmt::Write;
use std::path::Path;

use harness::events::{Provision, RunEvent};
use harness::provision::Check;
use harness::run::RunResult;
use tokio::sync::mpsc::UnboundedReceiver;

/// Prints events as they come, to stderr (stdout is for results).
pub async fn events(mut rx: UnboundedReceiver<RunEvent>, json: bool) {
    while let Some(event) = rx.recv().await {
        if json {
            eprintln!("{}", serde_json::json!({ "event": format!("{event:?}") }));
        } else {
            eprintln!("{}", line(&event));
        }
    }
}

fn secs(d: std::time::Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}

fn line(event: &RunEvent) -> String {
    match event {
        RunEvent::Provisioning { what } => format!("provision  {what}"),
        RunEvent::Prerequisite {
            what,
            state,
            detail,
        } => format!(
            "provision  {what}: {} ({detail})",
            match state {
                Provision::Present => "ready, nothing to do",
                Provision::Provisioned => "provisioned now",
            }
        ),
        RunEvent::BuildStarted { command } => format!("build      {command}"),
        RunEvent::BuildFinished {
            build,
            result,
            duration,
        } => match result {
            Ok(path) => format!("build      {build}: built in {} -> {path}", secs(*duration)),
            Err(why) => format!(
                "build      {build}: FAILED after {}\n{why}",
                secs(*duration)
            ),
        },
        RunEvent::ServerStarting {
            cell,
            suite,
            command,
        } => {
            format!("{cell:<10} {suite}: starting the server: {command}")
        }
        RunEvent::ServerReady {
            cell,
            base_url,
            after,
        } => {
            format!(
                "{cell:<10} server ready after {} at {base_url}",
                secs(*after)
            )
        }
        RunEvent::ServerStopped { cell, forced, log } => format!(
            "{cell:<10} server stopped{} (log: {log})",
            if *forced { " by force" } else { "" }
        ),
        RunEvent::JobFinished {
            suite,
            cell,
            passed,
            failures,
            duration,
        } => {
            let mut s = format!(
                "{cell:<10} {suite}: {passed} passed, {} failed in {}",
                failures.len(),
                secs(*duration)
            );
            for f in failures {
                let _ = write!(s, "\n  FAILED {}", f.replace('\n', "\n    "));
            }
            s
        }
        RunEvent::JobError { suite, cell, error } => {
            format!(
                "{cell:<10} {suite}: ERROR {}",
                error.replace('\n', "\n    ")
            )
        }
    }
}

/// The closing summary.
pub fn summary(result: &RunResult, out: &Path) -> String {
    let cases: usize = result.jobs.iter().map(|j| j.cases.len()).sum();
    let passed: usize = result
        .jobs
        .iter()
        .flat_map(|j| &j.cases)
        .filter(|c| c.passed)
        .count();
    let errors = result.jobs.iter().filter(|j| j.error.is_some()).count();
    format!(
        "\n{} jobs, {cases} cases: {passed} passed, {} failed, {errors} jobs in error, in {}\n{}\nlogs: {}\n",
        result.jobs.len(),
        cases - passed,
        secs(result.duration),
        if result.passed() {
            "verdict: GO"
        } else {
            "verdict: NO-GO"
        },
        out.join("logs").display()
    )
}

/// The doctor's table.
pub fn doctor(checks: &[Check], cache: &Path) -> String {
    use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED);
    table.set_header(["", "prerequisite", "state", "fix"]);
    for c in checks {
        table.add_row([
            if c.ok { "ok" } else { "--" }.to_owned(),
            c.what.clone(),
            c.detail.clone(),
            c.fix.clone().unwrap_or_default(),
        ]);
    }
    format!("{table}\ncache: {}\n", cache.display())
}
