//! Renderers: what people and CI systems read of the results. Each takes the results (through
//! the shared [`view`] model) and returns text; none does I/O of its own. [`write_all`] writes
//! `results.json` and every report file through `persist`, and [`REPORTS`] is the one list of
//! report files: a new report is one file here and one line there.

pub mod colour;
pub mod escape;
pub mod explore;
pub mod groups;
pub mod html;
pub mod junit;
pub mod markdown;
pub mod progress;
pub mod review;
pub mod show;
pub mod tables;
pub mod terminal;
pub mod timeline;
pub mod view;

use std::path::{Path, PathBuf};

use crate::errors::Result;
use crate::persist;
use crate::verdict::Results;

/// A report file: its name in the output folder, and how it is rendered.
pub struct Report {
    /// The file name, relative to the output folder.
    pub file: &'static str,
    /// The renderer.
    pub render: fn(&Results) -> String,
}

/// Every report written into a run's output folder, besides `results.json` and the per-cell
/// JUnit files.
pub const REPORTS: &[Report] = &[
    Report {
        file: "junit.xml",
        render: |r| junit::render(r, None),
    },
    Report {
        file: "report.md",
        render: markdown::render,
    },
    Report {
        file: "report.html",
        render: html::render,
    },
];

/// Writes `results.json`, [`REPORTS`] and `junit/<cell>.xml` into `out`, each atomically.
/// Returns the files written.
pub fn write_all(results: &Results, out: &Path) -> Result<Vec<PathBuf>> {
    let mut files = vec![persist::results::write(results, out)?];
    let mut put = |name: &str, text: String| -> Result<()> {
        let path = out.join(name);
        persist::write_atomic(&path, &text)?;
        files.push(path);
        Ok(())
    };
    for report in REPORTS {
        put(report.file, (report.render)(results))?;
    }
    for cell in &results.plan.cells {
        if results.runs.iter().any(|r| r.cell == cell.name) {
            put(
                &format!("junit/{}.xml", cell.name),
                junit::render(results, Some(&cell.name)),
            )?;
        }
    }
    Ok(files)
}
