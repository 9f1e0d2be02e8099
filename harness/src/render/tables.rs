//! Tables for the terminal: the plan (suites by cells, with the share of runs saved) and the
//! doctor's prerequisites.

use std::collections::HashMap;
use std::path::Path;

use comfy_table::{ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};

use crate::matrix::Scope;
use crate::plan::{Job, Plan};
use crate::provision::Check;

/// The plan as a table of suites by cells, with a summary line.
pub fn plan(p: &Plan) -> String {
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED);
    let mut header = vec!["suite".to_owned(), "kind".to_owned(), "scope".to_owned()];
    header.extend(p.cells.iter().map(|c| {
        if c.primary {
            format!("{} (primary)", c.name)
        } else {
            c.name.clone()
        }
    }));
    table.set_header(header);
    let by_id: HashMap<(&str, &str), &Job> = p
        .jobs
        .iter()
        .map(|j| ((j.suite.as_str(), j.cell.as_str()), j))
        .collect();
    for suite in &p.suites {
        let mut row = vec![
            suite.name.clone(),
            suite.kind.as_str().to_owned(),
            suite.scope.as_str().to_owned(),
        ];
        for cell in &p.cells {
            let job = by_id.get(&(suite.name.as_str(), cell.name.as_str()));
            row.push(
                match job {
                    Some(j) if j.audit => "audit",
                    Some(j) if j.scope == Scope::Agnostic => "once",
                    Some(_) => "run",
                    None => "-",
                }
                .to_owned(),
            );
        }
        table.add_row(row);
    }
    let t = &p.totals;
    let mut out = table.to_string();
    out.push_str(&format!(
        "\n{} cells, {} suites: {} suite runs instead of {} ({} saved, {:.1}%)",
        t.cells, t.suites, t.runs, t.naive, t.saved, t.saved_percent
    ));
    if let Some(shard) = p.shard {
        out.push_str(&format!(
            "\nshard {shard}: {} of the {} runs",
            t.shard_runs, t.runs
        ));
    }
    for note in &p.notes {
        out.push_str(&format!("\nnote: {note}"));
    }
    out.push('\n');
    out
}

/// The doctor's table: every prerequisite, its state and its fix, its cells wrapped to fit
/// `width` columns (a terminal's own width when `None` and standard output is one).
pub fn doctor(checks: &[Check], cache: &Path, width: Option<u16>) -> String {
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED);
    table.set_content_arrangement(ContentArrangement::Dynamic);
    if let Some(width) = width {
        table.set_width(width);
    }
    table.set_header(["", "prerequisite", "state", "fix"]);
    for c in checks {
        table.add_row([
            match (c.ok, c.optional) {
                (true, _) => "ok",
                (false, true) => "(optional)",
                (false, false) => "--",
            }
            .to_owned(),
            c.what.clone(),
            c.detail.clone(),
            c.fix.clone().unwrap_or_default(),
        ]);
    }
    format!("{table}\ncache: {}\n", cache.display())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_doctor_s_table_fits_the_width_it_is_given() {
        let long = "a detail that goes on and on about where the prefixes are kept, ".repeat(3);
        let checks = [
            Check {
                what: "wine prefix pool reporting win10 (4 slots)".into(),
                ok: false,
                optional: false,
                detail: long.clone(),
                fix: Some(format!("cargo xtask matrix # {long}")),
            },
            Check {
                what: "podman".into(),
                ok: true,
                optional: false,
                detail: "podman version 4.3.1".into(),
                fix: None,
            },
        ];
        for width in [80u16, 120] {
            let table = doctor(&checks, Path::new("/cache"), Some(width));
            for line in table.lines() {
                assert!(
                    line.chars().count() <= usize::from(width),
                    "{width}: {line}\n{table}"
                );
            }
            assert!(table.contains("podman version 4.3.1"), "{table}");
        }
    }
}
