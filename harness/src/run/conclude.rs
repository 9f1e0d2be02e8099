//! Where a run and a merge of shards both end: the baselines read, the observations judged,
//! and the snapshots the judgement calls for written.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::errors::{Error, Result};
use crate::matrix::Matrix;
use crate::outcome::Outcome;
use crate::persist;
use crate::plan::Plan;
use crate::verdict::{self, Judge, Noise, Results};

/// What a run (or a merge) hands to the judgement.
#[derive(Debug)]
pub struct Ending {
    /// The plan run (for a merge: the whole plan).
    pub plan: Plan,
    /// The ids of every job of the whole plan.
    pub planned: Vec<String>,
    /// What was observed.
    pub outcome: Outcome,
    /// Noise findings.
    pub noise: Vec<Noise>,
    /// With `--noise-check`: the cell that ran twice.
    pub noise_cell: Option<String>,
    /// For a merge: how many shards.
    pub merged: Option<usize>,
    /// Each cell's log folder relative to the output folder, when not `logs/<cell>` (a merge
    /// links the shards' own).
    pub logs: BTreeMap<String, String>,
    /// Whether the run was interrupted: what finished is judged, no snapshot is written.
    pub interrupted: bool,
    /// With `--explore`: what the generated probes found.
    pub explored: Option<crate::verdict::explore::Explored>,
}

/// Today's date as `YYYY-MM-DD` (UTC), for divergence expiry.
pub(super) fn today() -> String {
    let now = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    now[..10].to_owned()
}

/// Judges what was observed against the committed baselines, writes the results into `out`,
/// then the snapshots the judgement calls for (so that a failed snapshot write loses nothing
/// else), then the reports.
pub fn conclude(matrix: &Matrix, ending: Ending, accept: bool, out: &Path) -> Result<Results> {
    let dir = &matrix.snapshot_dir;
    let (baselines, unreadable) =
        persist::snapshots::baselines(dir, &ending.outcome.observations, &matrix.primary);
    let mut results = verdict::judge(Judge {
        matrix,
        plan: ending.plan,
        planned: ending.planned,
        outcome: ending.outcome,
        noise: ending.noise,
        baselines: &baselines,
        today: &today(),
        accept,
        noise_cell: ending.noise_cell,
        merged: ending.merged,
        logs: ending.logs,
        interrupted: ending.interrupted,
        explored: ending.explored,
    });
    results.record_file_errors(unreadable);
    persist::results::write(&results, out)?;
    if !results.interrupted {
        let written = persist::snapshots::write(dir, &results);
        results.written = written.files;
        results.record_file_errors(written.errors);
    }
    crate::render::write_all(&results, out)?;
    Ok(results)
}

/// Merges the results in `dirs` (the output folders of shards) into the results of the
/// whole plan, to be written into `out`: each cell's logs stay in its shard's folder, linked
/// from `out`.
pub fn merge(matrix: &Matrix, dirs: &[PathBuf], out: &Path, accept: bool) -> Result<Results> {
    // The merge writes its results where it reads none: an output folder that is a shard's
    // would replace that shard.
    let same = |a: &Path, b: &Path| match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => std::path::absolute(a).ok() == std::path::absolute(b).ok(),
    };
    if let Some(input) = dirs.iter().find(|d| same(d, out)) {
        return Err(Error::Selection(format!(
            "--out {} is one of the shards it merges ({}): expected a folder of its own for the merge",
            out.display(),
            input.display()
        )));
    }
    let _claim = persist::claim(out)?;
    let shards = dirs
        .iter()
        .map(|d| Ok((d.clone(), persist::results::read(d)?)))
        .collect::<Result<Vec<_>>>()?;
    let expected = crate::provision::Inputs {
        harness: env!("CARGO_PKG_VERSION").to_owned(),
        matrix_sha256: matrix.sha256(),
        suites_sha256: super::validate(matrix)?.suites_sha256,
    };
    let merged = verdict::merge::combine(&shards, &expected)?;
    let absolute = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_owned());
    let from = absolute(out);
    let mut logs = BTreeMap::new();
    for (dir, shard) in &shards {
        for job in &shard.jobs {
            let folder = absolute(&dir.join("logs").join(&job.cell));
            let link = pathdiff::diff_paths(&folder, &from).unwrap_or(folder);
            logs.insert(job.cell.clone(), link.to_string_lossy().replace('\\', "/"));
        }
    }
    conclude(
        matrix,
        Ending {
            plan: merged.plan,
            planned: merged.planned,
            outcome: merged.outcome,
            noise: merged.noise,
            noise_cell: None,
            merged: Some(shards.len()),
            logs,
            interrupted: shards.iter().any(|(_, r)| r.interrupted),
            // Explorations are a run's own: a merge of shards carries none.
            explored: None,
        },
        accept,
        out,
    )
}
